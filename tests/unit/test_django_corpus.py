"""A real-world project in its own virtualenv, migrated with the defaults.

tests/projects/corpus: Django 4.2 LTS with wagtail (FTS5 search index on SQLite, tsvector on
PostgreSQL), django-mptt, django-treebeard, django-polymorphic, django-import-export,
django-celery-beat, django-otp, django-oauth-toolkit, django-waffle, django-constance,
django-money, django-countries, djangorestframework (authtoken), django-simple-history,
django-guardian, django-taggit, django-allauth and django-reversion; a custom user model in an
app with a long name and a model whose generated names pass 63 characters. Its virtualenv is
built by the test once and cached under ~/.cache/runbook-tests (keyed by requirements.txt);
the project finds it as `venv/` beside manage.py, as a user's project would. The oracle is
the project's own ORM.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import pytest

from runbook_lib import validate
from runbook_lib.core import django_project
from runbook_lib.core.config import load_settings
from runbook_lib.prepare import project_env

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from django_projects import (  # noqa: E402
    PROJECTS,
    copy_project,
    differences,
    notebook03,
    oracle,
    venv,
)

APPS = ("wagtail", "mptt", "treebeard", "polymorphic", "import_export", "django_celery_beat",
        "django_otp", "oauth2_provider", "waffle", "constance", "djmoney", "django_countries",
        "rest_framework", "simple_history", "guardian", "taggit", "allauth", "reversion")
DERIVED = ("wagtailsearch.IndexEntry", "wagtailsearch.SQLiteFTSIndexEntry")
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The project (with its venv beside manage.py) and its SQLite database, built once."""
    began = time.perf_counter()
    python = venv(PROJECTS / "corpus" / "requirements.txt")
    TIMINGS["virtualenv (cached after the first build)"] = time.perf_counter() - began
    folder = copy_project("corpus", tmp_path_factory.mktemp("corpus"))
    (folder / "venv").symlink_to(python.parent.parent)
    source = folder.parent / "db.sqlite3"
    settings = load_settings(target="server", django_project=str(folder), sqlite_path=str(source),
                             django_settings="corpus_site.settings",
                             run_dir=str(folder.parent / "build"))
    began = time.perf_counter()
    django_project.manage(settings, "migrate", "--noinput", database="sqlite",
                          sqlite_path=source)
    django_project.manage(settings, "shell", "-c", (folder / "fill.py").read_text(),
                          database="sqlite", sqlite_path=source)
    TIMINGS["SQLite source: migrate + fill"] = time.perf_counter() - began
    return folder, source, python


def test_corpus_migrates_with_the_defaults(corpus, fresh_db, make_settings):
    folder, source, python = corpus
    assert not [m for m in APPS if importlib.util.find_spec(m)], "the runbook's venv has them"
    settings = make_settings(db_name=fresh_db.db_name, db_user=fresh_db.db_user,
                             django_project=str(folder), sqlite_path=str(source),
                             django_settings="corpus_site.settings")
    assert (settings.schema, settings.on_bad_value, settings.django_python) == \
        ("django", "fail", "")
    assert django_project.interpreter(settings) == folder / "venv" / "bin" / "python"
    assert django_project.detected_from(settings) == "venv"
    stage01 = project_env.check_project(settings)
    assert {c.id: c.status for c in stage01} == dict.fromkeys(project_env.IDS, "ok"), stage01
    assert "Django 4.2" in stage01[1].message

    began = time.perf_counter()
    m, checks = notebook03(settings)
    TIMINGS["stage 03 (Django's migrate on PostgreSQL + copy)"] = time.perf_counter() - began
    statuses = {c.id: c.status for c in checks}
    assert statuses == {**dict.fromkeys(statuses, "ok"), "MG006": "warn", "MG008": "warn"}
    drift = m.drift.rows
    renamed = {r["table"] for r in drift if r["side"] == "renamed"}
    assert len(renamed) == 2 and all(len(n) == 63 for n in renamed)  # Django's own names
    assert m.drift.derived == [{"table": "wagtailsearch_indexentry",
                                "source_table": "wagtailsearch_indexentry",
                                "source_rows": m.drift.derived[0]["source_rows"],
                                "rebuild": "python manage.py update_index"}]
    assert all(i["kind"].startswith("derived") for i in m.manual), m.manual

    began = time.perf_counter()
    report = validate.run(settings)
    TIMINGS["stage 04 (full validation)"] = time.perf_counter() - began
    assert report.ok, report.summary()
    by_id = {c.id: c for c in report.checks}
    assert by_id["VA012"].status == "warn" and "update_index" in by_id["VA012"].message
    assert {c.status for i, c in by_id.items() if i != "VA012"} <= {"ok", "skip"}, report.checks

    began = time.perf_counter()
    before = oracle(settings, "dump", database="sqlite", sqlite_path=source)
    after = oracle(settings, "dump")
    assert not differences(before, after, skip=DERIVED)
    rows = {label: len(v["rows"]) for label, v in before.items() if v["rows"]}
    inserted = oracle(settings, "insert")
    assert set(rows) - set(DERIVED) <= set(inserted)
    assert all(v["ok"] for v in inserted.values()), {k: v for k, v in inserted.items()
                                                     if not v["ok"]}
    TIMINGS["ORM oracle (two dumps, inserts)"] = time.perf_counter() - began
    assert "no issues" in django_project.manage(settings, "check", "--database",
                                                "default").stdout
    django_project.manage(settings, "migrate", "--check")

    django_project.manage(settings, "update_index")  # the rebuild command stage 03 names
    rebuilt = oracle(settings, "dump")["wagtailsearch.IndexEntry"]
    key = ("content_type_id", "object_id")
    entries = [{f: r[before[DERIVED[0]]["fields"].index(f)][1] for f in key}
               for r in before[DERIVED[0]]["rows"]]
    assert entries and set(map(json.dumps, entries)) <= {  # every entry SQLite's index had
        json.dumps({f: r[rebuilt["fields"].index(f)][1] for f in key}) for r in rebuilt["rows"]}
    summary = {"rows per model": rows, "seconds": {k: round(v, 1) for k, v in TIMINGS.items()}}
    out = Path(os.environ.get("RUNBOOK_CORPUS_SUMMARY", settings.run_dir)) / "corpus.json"
    out.write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))
