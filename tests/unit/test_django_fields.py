"""Every Django field type, migrated with the defaults, proven by the project's own ORM.

tests/projects/alltypes holds one model per kind of key and relation and one with every
field type, filled through the ORM with edge values (fill.py). It runs in the runbook's own
interpreter (Django 5.x; the corpus test covers 4.2 LTS). The oracle is the app itself: every
model read back through the ORM from SQLite and from PostgreSQL is equal field by field, and
a new object of every model inserts on PostgreSQL.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runbook_lib import migrate, validate
from runbook_lib.core import db, django_project
from runbook_lib.core.errors import MigrationError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from django_projects import PROJECTS, differences, notebook03, oracle  # noqa: E402

PROJECT = PROJECTS / "alltypes"
LONG = "a_legacy_column_name_deliberately_longer_than_postgresql_sixty_three_bytes"


@pytest.fixture
def project(fresh_db, make_settings):
    """Settings of the alltypes project on a fresh database: every other parameter default."""
    def make(module: str):
        return make_settings(db_name=fresh_db.db_name, db_user=fresh_db.db_user,
                             django_project=str(PROJECT),
                             django_settings=f"alltypes_site.{module}")
    return make


def build(settings, gap: bool = False, monkeypatch=None):
    """The project's SQLite database: its own migrate, then fill.py through the ORM."""
    source = Path(settings.sqlite_path)
    django_project.manage(settings, "migrate", "--noinput", database="sqlite",
                          sqlite_path=source)
    if gap:
        monkeypatch.setenv("RUNBOOK_FILL_GAP", "1")
    django_project.manage(settings, "shell", "-c", (PROJECT / "fill.py").read_text(),
                          database="sqlite", sqlite_path=source)
    return settings


@pytest.mark.parametrize("module", ["settings_tz", "settings_naive"])
def test_every_field_type_migrates_with_the_defaults(project, module):
    settings = build(project(module))
    assert settings.schema == "django" and settings.on_bad_value == "fail"
    m, checks = notebook03(settings)
    result = m.result()
    assert result.completed
    assert {c.id for c in checks if c.status != "ok"} == {"MG008"}, checks
    drift = {(r["side"], r["table"], r["column"]) for r in result.section["drift"]}
    assert drift == {("renamed", "fieldzoo_everything", LONG.encode()[:63].decode()),
                     ("derived", "fieldzoo_document", "search")}  # PostgreSQL's cut; a vector
    assert "search vector" in next(c for c in checks if c.id == "MG008").message
    report = validate.run(settings)
    assert report.ok, report.summary()
    assert {c.status for c in report.checks} <= {"ok", "skip"}, report.checks

    source = oracle(settings, "dump", database="sqlite", sqlite_path=settings.sqlite_path)
    target = oracle(settings, "dump")
    assert source["fieldzoo.Everything"]["rows"] and not differences(source, target)
    inserted = oracle(settings, "insert")
    assert {m for m in source if source[m]["rows"]} <= set(inserted)
    assert all(v["ok"] for v in inserted.values()), inserted
    assert "no issues" in django_project.manage(settings, "check", "--database",
                                                "default").stdout
    django_project.manage(settings, "migrate", "--check")  # nothing left to apply


def test_stage04_compares_what_the_application_reads(project):
    """A changed duration, address or wall-clock time is caught; the same values pass."""
    settings = build(project("settings_naive"))
    migrate.run(settings, progress=False)
    assert validate.run(settings).ok
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute("UPDATE fieldzoo_everything SET span = span + interval '1 microsecond', "
                    "address = '192.0.2.2' WHERE slug = 'min'")
        cur.execute("UPDATE fieldzoo_everything SET moment = moment + interval '1 hour' "
                    "WHERE slug = 'fold'")  # the same instant read in New York differs
        cur.execute("UPDATE fieldzoo_document SET address = '::ffff:192.0.2.99' "
                    "WHERE title = 'doc 0'")  # a UUID primary key: shown by its UUID
    report = validate.run(settings)
    everything = next(v for v in report.tables if v.table == "fieldzoo_everything")
    assert set(everything.changed_columns) == {"span", "address", "moment"}
    documents = next(v for v in report.tables if v.table == "fieldzoo_document")
    assert documents.changed == 1 and "-" in str(documents.samples.iloc[0]["id"])


def test_a_time_in_a_dst_gap_is_a_bad_value(project, monkeypatch):
    """USE_TZ = False: 2021-03-14 02:30 does not exist in New York; PostgreSQL would keep
    03:30. Listed by primary key under `fail`; with `null` it loads as NULL, and validation
    accounts for it."""
    settings = build(project("settings_naive"), gap=True, monkeypatch=monkeypatch)
    with pytest.raises(MigrationError) as caught:
        migrate.run(settings, progress=False)
    assert "fieldzoo_everything.moment" in caught.value.message
    assert "daylight-saving gap" in caught.value.message and "(6, '2021-03-14 02:30:00')" \
        in caught.value.message
    settings.on_bad_value, settings.if_exists = "null", "replace"
    migrate.run(settings, progress=False)
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT moment FROM fieldzoo_everything WHERE slug = 'gap'")
        assert cur.fetchone()[0] is None
    assert validate.run(settings).ok


def test_not_null_on_postgresql_with_nulls_in_sqlite_is_a_bad_value(project):
    """Drift: a column NULL in SQLite but NOT NULL in the schema migrate builds (here made so
    by hand in SQLite's copy of the data): listed by key, never a raw NotNullViolation."""
    import sqlite3

    settings = build(project("settings_tz"))
    conn = sqlite3.connect(settings.sqlite_path)
    conn.executescript("PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = replace(sql, "
                       "'\"text\" text NOT NULL', '\"text\" text') WHERE name = "
                       "'fieldzoo_everything'; PRAGMA writable_schema = OFF;")
    conn.commit()
    conn.close()
    conn = sqlite3.connect(settings.sqlite_path)  # the edited schema is read anew
    conn.execute("UPDATE fieldzoo_everything SET text = NULL WHERE slug = 'fold'")
    conn.commit()
    conn.close()
    with pytest.raises(MigrationError, match=r"fieldzoo_everything\.text .*NULL in a NOT NULL "
                                             r"column.*\(5, None\)"):
        migrate.run(settings, progress=False)
    settings.on_bad_value, settings.if_exists = "quarantine", "replace"
    result = migrate.run(settings, progress=False)
    table = next(t for t in result.section["tables"] if t["table"] == "fieldzoo_everything")
    assert table["quarantined"] == 1 and table["loaded_rows"] == table["source_rows"] - 1
