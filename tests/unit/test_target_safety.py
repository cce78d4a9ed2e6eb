"""Issue 13, classes 7 and 10: a good target is never destroyed by a run that cannot finish,
and a second run never takes a live one for dead.

Class 7: with `if_exists: replace`, a corrupt source page, a name_map that gives two tables
one name, type_overrides naming a missing column or an unknown type, and bad values under
`on_bad_value: fail` all stop the run before the target is touched: the same tables (same
OIDs, not re-created) with the same rows.
Class 10: a migration stuck mid-COPY in another process holds the target's advisory lock; a
second migration and a validation stop at once, naming it, and its tables stay; once it is
killed, the next run redoes it.
"""

from __future__ import annotations

import socket
import sqlite3
import sys
from pathlib import Path

import pytest

from runbook_lib import migrate, validate
from runbook_lib.core import target_lock
from runbook_lib.core.errors import RunbookError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from edge_cases import kill, stuck_migration  # noqa: E402

SOURCE = """
CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
CREATE INDEX t_v ON t (v);
CREATE TABLE u (id INTEGER PRIMARY KEY, n INTEGER, t_id INTEGER REFERENCES t(id));
"""


def build(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.executescript(SOURCE)
        conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"value{i:04d}") for i in range(100)])
        conn.executemany("INSERT INTO u VALUES (?, ?, ?)", [(i, i * 10, i) for i in range(50)])
    conn.close()
    return path


def corrupt_index(path: Path) -> None:
    """A page of index t_v rewritten: the rows read fine, PRAGMA integrity_check fails."""
    with sqlite3.connect(path) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 't_v'").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    page = slice(4096 * (root - 1), 4096 * root)
    at = data[page].rfind(b"value0099") + page.start
    data[at:at + 9] = b"value9999"
    path.write_bytes(bytes(data))


def oids(pg, dbname: str) -> dict:
    """Every public table's OID: a dropped and re-created table gets a new one."""
    return dict(pg.execute("SELECT relname, oid FROM pg_class WHERE relkind = 'r' AND "
                           "relnamespace = 'public'::regnamespace", dbname))


def state(pg, dbname: str) -> dict:
    """Every public table's OID and rows."""
    return {name: (oid, sorted(pg.execute(f'SELECT * FROM "{name}"', dbname)))
            for name, oid in oids(pg, dbname).items()}


FAULTS = ["corrupt_page", "name_map", "override_column", "override_type", "bad_values"]


@pytest.mark.parametrize("fault", FAULTS)
def test_replace_touches_nothing_when_the_run_cannot_finish(fresh_db, pg, fault):
    build(fresh_db.sqlite_file)
    assert migrate.run(fresh_db, progress=False).completed
    before = state(pg, fresh_db.db_name)
    assert set(before) == {"t", "u"} and len(before["t"][1]) == 100
    with sqlite3.connect(fresh_db.sqlite_file) as conn:  # the source moved on: 5 more rows
        conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"new{i}") for i in range(100, 105)])
    conn.close()
    if fault == "corrupt_page":
        corrupt_index(fresh_db.sqlite_file)
    elif fault == "name_map":
        fresh_db.name_map = {"u": "t"}
    elif fault == "override_column":
        fresh_db.type_overrides = {"t.nope": "text"}
    elif fault == "override_type":
        fresh_db.type_overrides = {"t.v": "varchr(80)"}
    else:  # kept a bad value by types: declared (types: data would make the column text)
        fresh_db.types = "declared"
        with sqlite3.connect(fresh_db.sqlite_file) as conn:
            conn.execute("UPDATE u SET n = 'not a number' WHERE id = 7")
        conn.close()
    fresh_db.if_exists = "replace"
    with pytest.raises(RunbookError) as err:
        migrate.run(fresh_db, progress=False)
    assert "Nothing was" in str(err.value) or fault == "corrupt_page", err.value
    assert state(pg, fresh_db.db_name) == before  # same tables (not re-created), same rows


@pytest.mark.parametrize("text", ["text); DROP TABLE t; --", "text' || '", "int4 $$x$$"])
def test_type_overrides_are_type_names_only(tmp_path, make_settings, text):
    path = build(tmp_path / "s.sqlite3")
    with pytest.raises(RunbookError, match="not a type name"):
        migrate.schema.plan(migrate.source.introspect(path),
                            make_settings(type_overrides={"t.v": text}))


def test_a_second_run_stops_and_names_the_live_one(fresh_db, pg, tmp_path, monkeypatch):
    build(fresh_db.sqlite_file)
    monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=5000")  # a run that waited on a table lock
    # would fail after 5 s instead of hanging: it must stop before asking for one
    child = stuck_migration(pg, fresh_db, tmp_path / "first-run")
    try:
        tables = oids(pg, fresh_db.db_name)  # (its rows are locked by the COPY)
        fresh_db.if_exists = "replace"
        for attempt in (lambda: migrate.run(fresh_db, progress=False),
                        lambda: validate.run(fresh_db)):
            with pytest.raises(target_lock.TargetBusy) as err:
                attempt()
            text = str(err.value)
            assert "run first-run-" in text and f"process {child.pid}" in text
            assert f"host {socket.gethostname()}" in text and "started 20" in text
        assert oids(pg, fresh_db.db_name) == tables  # the live run's tables were not dropped
        assert child.poll() is None  # and it is still copying
    finally:
        kill(child, pg, fresh_db.db_name)
    result = migrate.run(fresh_db, progress=False)
    assert result.completed and any("did not finish" in n for n in result.notes)
    assert validate.run(fresh_db).ok


def test_validations_share_the_target_a_migration_does_not(fresh_db, tmp_path):
    """Shared locks side by side; a migration beside a validation stops, naming it."""
    build(fresh_db.sqlite_file)
    assert migrate.run(fresh_db, progress=False).completed
    first = target_lock.TargetLock(fresh_db, "val-a", "validation", shared=True).acquire()
    try:
        assert validate.run(fresh_db).ok  # a second validation runs beside the first
        with pytest.raises(target_lock.TargetBusy, match="runbook validation val-a"):
            migrate.run(fresh_db, progress=False)
    finally:
        first.release()
    fresh_db.if_exists = "replace"
    assert migrate.run(fresh_db, progress=False).completed


def test_a_notebook_run_again_from_the_top_takes_its_own_lock_over(fresh_db):
    """In one kernel, a Migration left half-way (a cell failed) does not lock out the next."""
    build(fresh_db.sqlite_file)
    first = migrate.Migration(fresh_db, progress=False)
    for step in (first.take_snapshot, first.introspect, first.make_plan, first.prepare_target):
        step()
    result = migrate.run(fresh_db, progress=False)
    assert result.completed and any("did not finish" in n for n in result.notes)
    assert first._lock is None or first._lock.conn is None
