"""Validation on real migrations: every edge case migrated faithfully passes; loaddata is caught."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from runbook_lib import migrate, validate
from runbook_lib.core import db
from runbook_lib.core.errors import ValidationFailed
from runbook_lib.prepare import demo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from edge_cases import CLEAN_CASES, EDGE_CASES  # noqa: E402


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spc") / "db.sqlite3"
    demo.build(path, rows=300)
    return path


def edge_settings(settings, case: str, **params):
    EDGE_CASES[case](Path(settings.sqlite_path))
    settings.schema = "sqlite"
    for name, value in params.items():
        setattr(settings, name, value)
    return settings


def django_settings(settings, sample: Path, method: str):
    settings.sqlite_path, settings.django_project = str(sample), "examples/spc_backend"
    settings.schema, settings.method = "django", method
    return settings


@pytest.mark.parametrize("case", CLEAN_CASES)
def test_faithful_migration_of_every_edge_case_passes(fresh_db, case):
    settings = edge_settings(fresh_db, case)
    migrate.run(settings, progress=False)
    report = validate.run(settings)
    assert report.ok, report.summary()
    assert {c.status for c in report.checks} <= {"ok", "skip"}


@pytest.mark.parametrize("case, policy", [("bad_values", "quarantine"), ("dangling", "quarantine"),
                                          ("bad_values", "null"), ("dangling", "null")])
def test_quarantined_rows_are_expected_differences(fresh_db, case, policy):
    settings = edge_settings(fresh_db, case, on_bad_value=policy)
    result = migrate.run(settings, progress=False)
    held = sum(t["quarantined"] for t in result.section["tables"])
    report = validate.run(settings)
    assert report.ok, report.summary()
    va009 = next(c for c in report.checks if c.id == "VA009")
    assert va009.status == ("warn" if held else "ok")


def test_sample_copy_passes_with_the_guides_step4(fresh_db, sample):
    settings = django_settings(fresh_db, sample, "copy")
    migrate.run(settings, progress=False)
    report = validate.run(settings)
    assert report.ok, report.summary()
    assert report.guide is not None and set(report.guide.status) == {"ok"}
    assert list(report.guide["target (Django ORM)"]) == list(report.guide.target)
    assert report.guide.iloc[0].source == report.guide.iloc[0].target > 0
    assert next(c for c in report.checks if c.id == "VA011").status == "ok"


def test_django_schema_differences_are_caught(fresh_db, sample):
    """Against what Django's migrate creates: a PostgreSQL-only index, a column's type."""
    settings = django_settings(fresh_db, sample, "copy")
    migrate.run(settings, progress=False)
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE "
                    "'spc_product_product_code_%%_like'")
        like = cur.fetchone()[0]
        cur.execute(f'DROP INDEX "{like}"')
        cur.execute("ALTER TABLE spc_qualitymeasurement ALTER COLUMN operator TYPE text")
    report = validate.run(settings)
    va007 = next(c for c in report.checks if c.id == "VA007")
    va008 = next(c for c in report.checks if c.id == "VA008")
    assert va007.status == "fail" and like in va007.message
    assert va008.status == "fail" and "Django" in va008.message
    assert next(c for c in report.checks if c.id == "VA011").status == "fail"


def test_loaddata_result_is_caught(fresh_db, sample, monkeypatch):
    settings = django_settings(fresh_db, sample, "loaddata")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        migrate.run(settings, progress=False)
    report = validate.run(settings)
    assert not report.ok
    v = next(v for v in report.tables if v.table == "spc_qualitymeasurement")
    assert v.verdict == "mismatch" and "measured_at" in v.changed_columns
    assert v.source_rows == v.target_rows  # the counts the guide checks are equal
    sample_rows = v.samples
    assert list(sample_rows.columns)[:2] == ["id", "difference"]
    assert "measured_at (source)" in sample_rows.columns
    monkeypatch.setenv("RUNBOOK_BATCH", "1")
    with pytest.raises(ValidationFailed, match="spc_qualitymeasurement"):
        validate.run(settings)


@pytest.mark.skipif(shutil.which("pgloader") is None,
                    reason="pgloader not installed (apt-get install -y pgloader)")
def test_pgloader_through_the_runbook_passes(fresh_db, sample):
    """method: pgloader loads data only into the planned schema: nothing is lost."""
    settings = django_settings(fresh_db, sample, "pgloader")
    settings.schema = "sqlite"
    migrate.run(settings, progress=False)
    report = validate.run(settings)
    assert report.ok, report.summary()


@pytest.mark.skipif(shutil.which("pgloader") is None,
                    reason="pgloader not installed (apt-get install -y pgloader)")
def test_pgloader_defaults_are_caught(fresh_db, sample):
    """The guide's method B as users run it: pgloader's own casting, no runbook plan."""
    settings = fresh_db
    settings.sqlite_path = str(sample)
    url = (f"postgresql://{settings.db_user}@{settings.db_host}:{settings.db_port}/"
           f"{settings.db_name}")
    env = {**os.environ, "PGPASSWORD": settings.password.reveal()}
    subprocess.run([shutil.which("pgloader"), f"sqlite://{sample}", url], env=env,
                   capture_output=True, timeout=600, check=False)
    report = validate.run(settings)
    assert not report.ok
    v = next(v for v in report.tables if v.table == "spc_qualitymeasurement")
    assert "value" in v.changed_columns, v.detail()  # REAL narrowed to 4-byte real
    failed = {c.id for c in report.checks if c.status == "fail"}
    assert "VA006" in failed and "NOT NULL" in next(c.message for c in report.checks
                                                    if c.id == "VA006")
    guide = next(c for c in report.checks if c.id == "VA010")
    assert guide.status == "ok"  # the guide's own step 4 would have passed this copy


def test_validation_json_holds_plain_values(fresh_db, sample):
    settings = django_settings(fresh_db, sample, "copy")
    migrate.run(settings, progress=False)
    validate.run(settings)
    saved = json.loads((settings.run_path / "validation.json").read_text())
    assert saved["ok"] and isinstance(saved["guide"][0]["source"], int)
