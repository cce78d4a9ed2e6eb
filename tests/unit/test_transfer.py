"""COPY engine on every edge case: row-by-row equality, fresh ids, sequences, workers."""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg2
import pytest

from runbook_lib import migrate
from runbook_lib.core import db, manifest
from runbook_lib.migrate import transfer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from edge_cases import CLEAN_CASES, EDGE_CASES, assert_table_equal  # noqa: E402


def migrate_case(settings, name: str, **changes):
    EDGE_CASES[name](settings.sqlite_file)
    for key, value in changes.items():
        setattr(settings, key, value)
    result = migrate.run(settings, progress=False)
    assert result.completed
    return result


def check_all(settings, result) -> None:
    with db.connection(settings) as conn:
        for entry in result.section["tables"]:
            assert assert_table_equal(conn, result.section["snapshot"], entry,
                                      result.section["source_timezone"]) == entry["source_rows"]


@pytest.mark.parametrize("name", CLEAN_CASES)
def test_edge_case_round_trip(fresh_db, name):
    result = migrate_case(fresh_db, name)
    check_all(fresh_db, result)
    for entry in result.section["tables"]:
        assert entry["loaded_rows"] == entry["source_rows"] and entry["quarantined"] == 0


def test_split_across_workers(fresh_db, monkeypatch):
    """Slices by rowid range in two processes load every row exactly once."""
    monkeypatch.setattr(transfer, "SPLIT_MIN_ROWS", 5)
    result = migrate_case(fresh_db, "tricky_text", workers=2)
    check_all(fresh_db, result)


def next_id(settings, table: str, column: str = "id", values: str = "") -> int:
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute(f'INSERT INTO "{table}" {values or "DEFAULT VALUES"} RETURNING "{column}"')
        return cur.fetchone()[0]


def test_sequences_past_max_and_sqlite_sequence(fresh_db):
    migrate_case(fresh_db, "autoincrement_gaps")
    assert next_id(fresh_db, "item") == 51  # sqlite_sequence was 50, max(id) is 9
    assert next_id(fresh_db, "plain") == 101
    fresh = fresh_db
    migrate_case(fresh, "empty_tables", if_exists="replace")
    assert next_id(fresh, "gone") == 3 and next_id(fresh, "nothing") == 1


def test_constraints_and_indexes_after_load(fresh_db):
    result = migrate_case(fresh_db, "foreign_keys")
    with db.connection(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT conname, contype, convalidated FROM pg_constraint "
                    "WHERE connamespace = 'public'::regnamespace AND contype <> 'n' ORDER BY 1")
        cons = cur.fetchall()
        assert {c[1] for c in cons} == {"p", "f"} and all(c[2] for c in cons)
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'member'")
        assert "member_team" in {r[0] for r in cur.fetchall()}
        with pytest.raises(psycopg2.errors.ForeignKeyViolation):
            cur.execute("INSERT INTO employee (name, manager_id) VALUES ('x', 999)")
    assert result.section["manual_followups"] == []


def test_views_triggers_become_followups(fresh_db):
    result = migrate_case(fresh_db, "views_triggers")
    kinds = {f["kind"] for f in result.section["manual_followups"]}
    assert {"trigger", "generated column"} <= kinds
    with db.connection(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT email FROM active_accounts")
        assert cur.fetchall() == [("a@x",)]
        cur.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'account'")
        assert cur.fetchone()[0] >= 3  # pkey, partial, expression


def test_wal_commits_and_source_untouched(fresh_db):
    path = fresh_db.sqlite_file
    EDGE_CASES["wal_pending"](path)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    result = migrate.run(fresh_db, progress=False)
    assert result.section["tables"][0]["loaded_rows"] == 5
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_manifest_section(fresh_db):
    migrate_case(fresh_db, "keys")
    section = manifest.read(fresh_db.run_dir)["migration"]
    assert section["completed"] and section["schema"] == "sqlite"
    worid = next(t for t in section["tables"] if t["table"] == "worid")
    assert worid["primary_key"] == ["k"]
    assert {c["target_type"] for c in worid["columns"]} == {"text", "bigint"}


def test_naive_timestamps_read_in_source_timezone(fresh_db):
    """USE_TZ = False projects store local time: the session zone makes it the same instant."""
    result = migrate_case(fresh_db, "all_types", source_timezone="Asia/Tokyo")
    assert result.section["source_timezone"] == "Asia/Tokyo"
    with db.connection(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute("SELECT dt::text, ts::text FROM typed WHERE id = 1")
        assert cur.fetchone() == ("2024-03-01 03:34:56.123456+00", "2024-02-29 16:02:03+00")
    check_all(fresh_db, result)


def test_single_worker_in_process(fresh_db):
    result = migrate_case(fresh_db, "identifiers", workers=1)
    check_all(fresh_db, result)
    assert next_id(fresh_db, "user") == 3


def test_encoder_escapes_whole_chunks():
    """Tabs, newlines, CR, backslashes, the literal \\N, NULL and bytea, without per-value code."""
    enc = transfer.Encoder(["v", "n", "b", "n"])
    rows = [(1, "a\tb", b"\x00\xff", 1.5), (2, None, None, None), (3, "\\N", b"", -0.0),
            (4, "x\r\ny\\", b"\\", float("inf"))]
    assert enc(rows) == ("1\ta\\tb\t\\\\x00ff\t1.5\n2\t\\N\t\\N\t\\N\n3\t\\\\N\t\\\\x\t-0.0\n"
                         "4\tx\\r\\ny\\\\\t\\\\x5c\tinf\n")
    with pytest.raises(transfer.BadRows, match="NUL"):
        enc([(5, "nul\x00inside", b"", 0.0)])
