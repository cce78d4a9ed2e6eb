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
import sqlite3
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


ORM_WRITES = (
    # the application goes on writing through its own models while the target catches up
    """
from customer_accounts.models import User
from waffle.models import Flag, Switch
u = User.objects.get(username="user03")
u.first_name = "바뀐 이름"
u.save()
User.objects.create_user("late01", "late01@example.com", "pw", country="JP")
Switch.objects.filter(name="maintenance").update(active=True)
""",
    """
from customer_accounts.models import User
from waffle.models import Flag, Sample
User.objects.filter(username="user04").delete()
User.objects.create_user("late02", "late02@example.com", "pw", country="DE", last_name="Ünal")
Sample.objects.filter(name="beta").update(note="샘플")
""",
)


def rowid_keyed(path: Path, table: str) -> bool:
    """Django declared the table's one key `integer` (SQLite's rowid), not `bigint`
    (a parent link) or another type."""
    conn = sqlite3.connect(path)
    try:
        keys = [r[2] for r in conn.execute("SELECT * FROM pragma_table_info(?)", (table,))
                if r[5]]
    finally:
        conn.close()
    return [k.lower() for k in keys] == ["integer"]


def test_catch_up_syncs_carry_what_the_application_writes_through_its_orm(
        corpus, fresh_db, make_settings, tmp_path):
    """The corpus migrated and proven (stage 04 leaves its digests and row hashes), then two
    rounds of writes through the project's own ORM on the live SQLite file, each followed by a
    sync. Later syncs compare the two snapshots page by page and leave the untouched tables
    unread. The oracle is the project's ORM reading both databases."""
    from runbook_lib.cutover.sync import sync

    folder, source, _ = corpus
    live = tmp_path / "live.sqlite3"
    live.write_bytes(source.read_bytes())
    settings = make_settings(db_name=fresh_db.db_name, db_user=fresh_db.db_user,
                             django_project=str(folder), sqlite_path=str(live),
                             django_settings="corpus_site.settings", cutover_by_sync=True)
    notebook03(settings)
    assert validate.run(settings).ok
    for script in ORM_WRITES:
        django_project.manage(settings, "shell", "-c", script, database="sqlite",
                              sqlite_path=live)
        report = sync(settings)
        assert report.changes >= 3 and not report.unproven, report.summary()
        untouched = [x for x in report.tables if x.method == "digests" and x.chunks
                     and not x.changes and rowid_keyed(live, x.table)]
        assert len(untouched) > 20 and all(x.reused == x.chunks for x in untouched), \
            [(x.table, x.reused, x.chunks) for x in untouched if x.reused != x.chunks]
    before = oracle(settings, "dump", database="sqlite", sqlite_path=live)
    after = oracle(settings, "dump")
    assert not differences(before, after, skip=DERIVED)
    assert "late02" in json.dumps(after["customer_accounts.User"]["rows"], ensure_ascii=False)
