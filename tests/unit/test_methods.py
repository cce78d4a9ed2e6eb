"""The guide's methods A (loaddata) and B (pgloader), and method C (schema only)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runbook_lib import migrate
from runbook_lib.core import db
from runbook_lib.core.errors import MigrationError
from runbook_lib.migrate import methods, stage_checks
from runbook_lib.prepare import demo

ROWS = 300


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spc") / "db.sqlite3"
    demo.build(path, rows=ROWS)
    return path


def django(settings, sample: Path, method: str):
    settings.sqlite_path, settings.django_project = str(sample), "examples/spc_backend"
    settings.schema, settings.method = "django", method
    return settings


def counts_match(result) -> None:
    assert result.completed
    for entry in result.section["tables"]:
        assert entry["loaded_rows"] == entry["source_rows"], entry["table"]


def test_loaddata_warns_and_loads(fresh_db, sample):
    settings = django(fresh_db, sample, "loaddata")
    with pytest.warns(UserWarning, match="milliseconds"):
        result = migrate.run(settings, progress=False)
    counts_match(result)
    assert (Path(settings.run_dir) / "dumpdata.json").is_file()
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM spc_qualitymeasurement "
                    "WHERE extract(microseconds FROM measured_at)::int % 1000 <> 0")
        assert cur.fetchone()[0] == 0  # the known defect: timestamps cut to milliseconds


def test_pgloader_missing_says_how_to_install(fresh_db, sample, monkeypatch):
    monkeypatch.setattr(methods.shutil, "which", lambda name: None)
    with pytest.raises(MigrationError, match="not installed") as err:
        migrate.run(django(fresh_db, sample, "pgloader"), progress=False)
    assert "apt-get install -y pgloader" in err.value.hint


@pytest.mark.skipif(shutil.which("pgloader") is None, reason="pgloader not installed "
                    "(apt-get install -y pgloader)")
def test_pgloader_into_django_schema(fresh_db, sample):
    settings = django(fresh_db, sample, "pgloader")
    result = migrate.run(settings, progress=False)
    counts_match(result)
    text = (Path(settings.run_dir) / "pgloader.load").read_text()
    assert "data only" in text and "timezone TO 'UTC'" in text
    assert settings.password.reveal() not in text  # the password stays in the environment
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                    "WHERE attrelid = 'spc_qualitymeasurement'::regclass AND attname = 'value'")
        assert cur.fetchone()[0] == "double precision"  # Django's type, not pgloader's real


def test_schema_only(fresh_db, sample):
    settings = django(fresh_db, sample, "copy")
    settings.data = False
    m = migrate.Migration(settings, progress=False)
    for step in (m.take_snapshot, m.introspect, m.make_plan, m.prepare_target):
        step()
    assert m.check_values()[0].startswith("skipped") and m.load()[0].startswith("skipped")
    m.finish()
    assert m.result().completed
    assert {r.id: r.status for r in stage_checks(m)}["MG003"] == "skip"
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM spc_qualitymeasurement")
        assert cur.fetchone()[0] == 0
