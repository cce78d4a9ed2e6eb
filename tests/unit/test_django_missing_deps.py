"""A project whose interpreter lacks its dependencies: one clear message naming the command,
and that command, applied, makes the run pass.

tests/projects/smallshop needs django-countries (and psycopg2 for PostgreSQL). Its venv/ (made
here, beside manage.py, as the guide's backend/venv) holds Django only. Stage 01 names the two
commands; stage 03 stops with the project's missing module and the same command. The commands
are run as printed; stage 01 is then clean and the migration passes validation.
"""

from __future__ import annotations

import re
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from runbook_lib import migrate, validate
from runbook_lib.core import diagnose, django_project
from runbook_lib.cutover import checks as cutover_checks
from runbook_lib.cutover.checks import CutoverError
from runbook_lib.prepare import project_env

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from django_projects import copy_project, fresh_venv  # noqa: E402


def command(hint: str) -> list[str]:
    """The command between backticks in a fix text."""
    return shlex.split(re.search(r"`([^`]+)`", hint).group(1))


def test_missing_dependencies_name_the_command_and_it_works(fresh_db, make_settings, tmp_path):
    project = copy_project("smallshop", tmp_path)
    python = fresh_venv(project / "venv", "Django==4.2.30")
    source = tmp_path / "shop.sqlite3"
    conn = sqlite3.connect(source)  # any SQLite file: the project fails before reading it
    conn.execute("CREATE TABLE shop_store (id integer PRIMARY KEY, name varchar(50))")
    conn.close()
    settings = make_settings(db_name=fresh_db.db_name, db_user=fresh_db.db_user,
                             django_project=str(project), sqlite_path=str(source),
                             django_settings="shop_site.settings")
    assert django_project.interpreter(settings) == python

    checks = {c.id: c for c in project_env.check_project(settings)}
    assert checks["PG013"].status == checks["PG014"].status == "ok"
    pip = project / "venv" / "bin" / "pip"
    assert checks["PG015"].status == "fail"
    assert f"`{pip} install psycopg2-binary python-dotenv`" in checks["PG015"].hint
    assert checks["PG016"].status == "fail" and "django_countries" in checks["PG016"].message
    assert f"`{pip} install -r {project / 'requirements.txt'}`" in checks["PG016"].hint

    with pytest.raises(django_project.ManageError) as caught:
        migrate.run(settings, progress=False)
    error = caught.value
    assert "No module named 'django_countries'" in error.message and str(python) in error.message
    assert f"`{pip} install -r {project / 'requirements.txt'}`" in error.hint
    assert diagnose.explain(error, settings).problem_id == "DX030"  # not DX000
    with pytest.raises(CutoverError) as loads:  # stage 06: the settings need the driver
        cutover_checks._settings_load(settings)
    assert f"`{pip} install psycopg2-binary python-dotenv`" in loads.value.hint

    for check in ("PG015", "PG016"):  # the fixes, applied as printed
        subprocess.run(command(checks[check].hint), check=True, capture_output=True,
                       timeout=600)
    assert {c.status for c in project_env.check_project(settings)} == {"ok"}

    source.unlink()
    django_project.manage(settings, "migrate", "--noinput", database="sqlite",
                          sqlite_path=source)
    django_project.manage(settings, "shell", "-c", "import datetime as d; from shop.models "
                          "import Store; [Store.objects.create(name=f's{i}', country='KR', "
                          "opened=d.datetime(2024, 1, i + 1, tzinfo=d.timezone.utc)) "
                          "for i in range(5)]", database="sqlite", sqlite_path=source)
    assert migrate.run(settings, progress=False).completed
    assert validate.run(settings).ok
