"""Both schema strategies on the sample SPC backend: equal content, Django's names, fresh ids."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runbook_lib import migrate
from runbook_lib.core import db, django_project
from runbook_lib.prepare import demo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from edge_cases import assert_table_equal  # noqa: E402

ROWS = 1500


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spc") / "db.sqlite3"
    demo.build(path, rows=ROWS)
    return path


def configure(settings, sample: Path, strategy: str):
    settings.sqlite_path = str(sample)
    settings.django_project = "examples/spc_backend"
    settings.schema = strategy
    return settings


def check_content(settings, result) -> None:
    section = result.section
    assert section["completed"] and section["source_timezone"] == "UTC"
    with db.connection(settings) as conn:
        for entry in section["tables"]:
            assert entry["loaded_rows"] == entry["source_rows"]
            assert_table_equal(conn, section["snapshot"], entry, section["source_timezone"])


def orm_insert(settings) -> tuple[int, int]:
    code = ("from apps.spc.models import Product, QualityMeasurement as Q; "
            "p = Product.objects.create(product_code='NEW-1', product_name='n', usl=1, lsl=0, "
            "target=0.5, unit='mm'); "
            "m = Q.objects.create(product=p, sample_group=1, value=0.5, "
            "measured_at='2024-01-01T00:00:00Z', operator='t'); print(p.id, m.id)")
    out = django_project.manage(settings, "shell", "-c", code).stdout.strip().splitlines()[-1].split()
    return int(out[0]), int(out[1])


def test_django_strategy(fresh_db, sample):
    settings = configure(fresh_db, sample, "django")
    result = migrate.run(settings, progress=False)
    check_content(settings, result)
    measurements = next(t for t in result.section["tables"]
                        if t["table"] == "spc_qualitymeasurement")
    assert measurements["source_rows"] == ROWS
    types = {c["name"]: c["target_type"] for c in measurements["columns"]}
    assert types["value"] == "double precision" and types["extra"] == "jsonb"
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'spc_product'")
        names = {r[0] for r in cur.fetchall()}
        cur.execute("SELECT max(id) FROM spc_product")
        top = cur.fetchone()[0]
    assert any(n.startswith("spc_product_product_c") for n in names)  # Django's own names
    product_id, _ = orm_insert(settings)
    assert product_id == top + 1
    django_project.manage(settings, "migrate", "--check")  # nothing left to apply


def test_sqlite_strategy_and_rerun(fresh_db, sample):
    settings = configure(fresh_db, sample, "sqlite")
    result = migrate.run(settings, progress=False)
    check_content(settings, result)
    settings.if_exists = "fail"
    with pytest.raises(Exception, match="already holds data"):
        migrate.run(settings, progress=False)
    settings.if_exists = "replace"
    check_content(settings, migrate.run(settings, progress=False))


def _tables(settings) -> list[str]:
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return sorted(r[0] for r in cur.fetchall())


def test_migrate_started_ahead_runs_once_or_not_at_all(fresh_db, sample):
    """`migrate` starts up (Python, django.setup) while the snapshot is taken; it runs only
    when the schema step says so, and a run stopped before that leaves the target untouched."""
    settings = configure(fresh_db, sample, "django")
    m = migrate.Migration(settings, progress=False)
    m.take_snapshot()
    ahead = m._ahead.proc
    m.close()  # e.g. introspection failed: the waiting process exits, migrating nothing
    assert ahead.wait(timeout=30) == 0 and _tables(settings) == []
    m = migrate.Migration(settings, progress=False)  # a notebook left open between cells:
    m.take_snapshot()                                  # a fresh migrate, not the stale one
    stale = m._ahead.proc
    m._ahead.started -= django_project.Ahead.FRESH_SECONDS
    for step in (m.introspect, m.make_plan, m.prepare_target):
        step()
    assert stale.wait(timeout=30) == 0 and "django_migrations" in _tables(settings)
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    settings.sqlite_path = str(Path(settings.run_dir) / "missing.sqlite3")
    with pytest.raises(Exception, match="missing.sqlite3"):
        migrate.run(settings, progress=False)
    assert _tables(settings) == []


def test_migrate_ahead_reports_failures_like_manage(fresh_db, sample):
    settings = configure(fresh_db, sample, "django")
    with pytest.raises(django_project.ManageError, match="migrate no_such_app failed.*no_such_app"):
        django_project.Ahead(settings, "migrate", "no_such_app").run()
    ahead = django_project.Ahead(settings, "migrate", "--noinput")
    assert "Applying spc.0001" in ahead.run().stdout
    assert "django_migrations" in _tables(settings)


def test_schema_is_built_with_lazy_commits_only(fresh_db, sample):
    """migrate's session skips the WAL flush wait; every other manage.py session does not."""
    settings = configure(fresh_db, sample, "django")
    code = ("from django.db import connection; cur = connection.cursor(); "
            "cur.execute('SHOW synchronous_commit'); print(cur.fetchone()[0])")
    assert [django_project.manage(settings, "shell", "-c", code, lazy_commit=lazy).stdout.split()[-1]
            for lazy in (True, False)] == ["off", "on"]
