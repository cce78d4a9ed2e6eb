"""django_python: which interpreter runs the project, and what never leaks into it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from runbook_lib import migrate
from runbook_lib.core import django_project
from runbook_lib.core.errors import ConfigError, MigrationError
from runbook_lib.migrate.django_names import pg_name
from runbook_lib.migrate.django_values import gaps


def fake_venv(folder: Path) -> Path:
    """A virtualenv's layout (pyvenv.cfg, bin/python) pointing at this interpreter."""
    (folder / "bin").mkdir(parents=True)
    (folder / "pyvenv.cfg").write_text(f"home = {Path(sys.executable).parent}\n")
    (folder / "bin" / "python").symlink_to(sys.executable)
    return folder / "bin" / "python"


def project(tmp_path: Path) -> Path:
    folder = tmp_path / "backend"
    folder.mkdir()
    (folder / "manage.py").write_text("")
    return folder


def test_detects_the_guides_backend_venv_then_one_level_up(make_settings, tmp_path):
    backend = project(tmp_path)
    settings = make_settings(django_project=str(backend))
    assert django_project.interpreter(settings) == Path(sys.executable)
    assert django_project.detected_from(settings) == "runbook"
    above = fake_venv(tmp_path / ".venv")
    assert django_project.interpreter(settings) == above
    beside = fake_venv(backend / "venv")  # beside manage.py wins
    assert django_project.interpreter(settings) == beside
    assert django_project.detected_from(settings) == "venv"
    assert django_project.pip_command(settings) == f"{beside} -m pip"  # no bin/pip in it


def test_django_python_given_as_file_or_venv_folder_or_refused(make_settings, tmp_path):
    backend = project(tmp_path)
    python = fake_venv(tmp_path / "elsewhere")
    for given in (python, tmp_path / "elsewhere"):
        settings = make_settings(django_project=str(backend), django_python=str(given))
        assert django_project.interpreter(settings) == python
    settings = make_settings(django_project=str(backend), django_python=str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="django_python"):
        django_project.interpreter(settings)


def test_the_runbooks_own_packages_never_reach_the_project(make_settings, tmp_path,
                                                          monkeypatch):
    backend = project(tmp_path)
    own = str(Path(sys.prefix) / "lib")
    checkout = str(Path(django_project.__file__).resolve().parents[2])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([own, checkout, str(tmp_path / "src")]))
    monkeypatch.setenv("PYTHONHOME", "/nowhere")
    settings = make_settings(django_project=str(backend))
    env = django_project.environment(settings)
    entries = env["PYTHONPATH"].split(os.pathsep)
    assert own not in entries and checkout not in entries and str(tmp_path / "src") in entries
    assert "PYTHONHOME" not in env and "VIRTUAL_ENV" not in env


def test_a_failed_import_names_the_install_command(make_settings, tmp_path):
    backend = project(tmp_path)
    (backend.parent / "requirements.txt").write_text("Django\n")
    settings = make_settings(django_project=str(backend))
    done = subprocess.CompletedProcess(["x"], 1, "", "Traceback...\nModuleNotFoundError: No "
                                       "module named 'rest_framework'\n")
    with pytest.raises(django_project.ManageError) as caught:
        django_project.checked(settings, done, ("migrate",))
    assert f"pip install -r {backend.parent / 'requirements.txt'}`" in caught.value.hint
    driver = django_project.install_hint(settings, "psycopg2")
    assert "pip install psycopg2-binary python-dotenv`" in driver


def test_a_django_database_copied_as_plain_sqlite_is_called_out(make_settings, tmp_path,
                                                               monkeypatch):
    source = tmp_path / "db.sqlite3"
    conn = sqlite3.connect(source)
    conn.execute("CREATE TABLE django_migrations (id integer PRIMARY KEY, app text)")
    conn.close()
    settings = make_settings(sqlite_path=str(source), dry_run=True)
    assert settings.schema == "sqlite" and not settings.schema_given
    with pytest.warns(UserWarning, match="django_project"):
        migrate.run(settings, progress=False)
    monkeypatch.setenv("RUNBOOK_BATCH", "1")
    with pytest.raises(MigrationError, match="django_migrations") as caught:
        migrate.run(settings, progress=False)
    assert "set django_project" in caught.value.hint.lower() or "django_project" in \
        caught.value.hint
    chosen = make_settings(sqlite_path=str(source), dry_run=True, schema="sqlite")
    with warnings.catch_warnings(record=True):  # chosen explicitly: a warning, not an error
        assert migrate.run(chosen, progress=False).dry_run


def test_postgresql_keeps_the_first_63_bytes_of_a_name():
    assert pg_name("a" * 63) == "a" * 63
    assert pg_name("b" * 70) == "b" * 63
    assert pg_name("가" * 30) == "가" * 21  # 3-byte characters: whole ones only


def test_daylight_saving_gaps_of_a_zone():
    new_york = gaps("America/New_York")
    assert ("2021-03-14 02:00:00", "2021-03-14 03:00:00") in new_york
    assert not [g for g in new_york if g[0].startswith("2021-11")]  # a fold is no gap
    assert gaps("Asia/Seoul")[-1] == ("1988-05-08 02:00:00", "1988-05-08 03:00:00")
    assert gaps("UTC") == ()
