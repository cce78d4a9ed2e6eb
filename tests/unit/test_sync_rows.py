"""Catch-up sync when changes are scattered over every key chunk (issue 19, the fast path).

Row hashes (`validate.row_hash`) narrow the differing chunks to keys; the rows written are
proven by re-reading them code by code (`validate.row_proof`). Every content check here is
independent of those: the live file and the target compared as sorted multisets
(`edge_cases.assert_table_equal`), stage 04's validation, and plain Python over raw rows.
"""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import numpy as np
import pytest
import test_sync
from test_sync import PARENTS, assert_same, counts, write

from runbook_lib import validate
from runbook_lib.core import db, manifest, state
from runbook_lib.cutover.sync import sync
from runbook_lib.validate import catchup, digest, row_hash
from runbook_lib.validate.stream import Column, TableSpec

CHUNK = digest.ROWS_PER_CHUNK
migrated = test_sync.migrated  # the fixture: stage 03 done on a WAL-mode source


def scattered(live, salt: int) -> None:
    """Every kind of change, at least one in every key chunk of `parent`."""
    steps = []
    for low in range(1, PARENTS, CHUNK):
        i = low + salt
        steps += [f"UPDATE parent SET name = name || 'x' WHERE id = {i + 1}",
                  f"UPDATE parent SET price = price * 3 WHERE id = {i + 2}",
                  f"UPDATE parent SET qty = qty - 1 WHERE id = {i + 3}",
                  f"UPDATE parent SET ok = 1 - ok WHERE id = {i + 4}",
                  f"UPDATE parent SET at = '2030-01-01 00:00:00.5' WHERE id = {i + 5}",
                  f"UPDATE parent SET data = x'0102' WHERE id = {i + 6}",
                  f"UPDATE parent SET doc = '{{\"k\": [1, 2.5]}}' WHERE id = {i + 7}",
                  f"UPDATE parent SET amount = 0.01 WHERE id = {i + 8}",
                  f"UPDATE parent SET price = NULL WHERE id = {i + 9}",
                  f"DELETE FROM child WHERE parent_id = {i + 10}",
                  f"DELETE FROM parent WHERE id = {i + 10}",
                  f"UPDATE child SET parent_id = {i + 1} WHERE id = {1 + (i % 2999)}"]
    steps += [f"INSERT INTO parent (id, name) VALUES ({PARENTS + 50 + salt}, 'new')",
              f"UPDATE parent SET id = {PARENTS + 900 + salt} WHERE id = {20 + salt}",  # key
              f"UPDATE child SET parent_id = {PARENTS + 900 + salt} WHERE parent_id = {20 + salt}",
              "INSERT INTO tags VALUES ('x', 1)", "DELETE FROM tags WHERE name = 'y'",
              "DELETE FROM scratch"]
    write(live, *steps)


def by_table(report) -> dict:
    return {x.table: x for x in report.tables}


def test_scattered_changes_are_narrowed_by_row_hashes_and_proven_row_by_row(migrated):
    live = migrated.sqlite_path
    scattered(live, 0)
    first = sync(migrated)
    parent = by_table(first)["parent"]
    assert parent.narrowed == "row hashes"  # most chunks changed: no join of the snapshots
    assert parent.proved == "rows"
    chunks = -(-PARENTS // CHUNK)
    assert (parent.inserted, parent.updated, parent.deleted) == (2, 9 * chunks, chunks + 1)
    assert counts(first)["scratch"] == (0, 0, 30) and counts(first)["tags"] == (1, 0, 1)
    assert not first.unproven and "parent" in first.proven
    assert assert_same(migrated) > 0
    assert validate.run(migrated).ok
    # the next sync compares with the row hashes this one recorded (private, beside it)
    recorded = Path(first.snapshot).with_name(row_hash.FILE)
    assert stat.S_IMODE(recorded.stat().st_mode) == 0o600
    scattered(live, 1000)
    second = sync(migrated)
    parent = by_table(second)["parent"]
    assert parent.narrowed == "row hashes" and not parent.target_read
    assert parent.updated == 9 * chunks and not second.unproven
    assert assert_same(migrated) > 0
    assert validate.run(migrated).ok
    assert sync(migrated).changes == 0


def test_without_recorded_row_hashes_a_few_changed_chunks_join_the_snapshots(migrated):
    write(migrated.sqlite_path, "UPDATE parent SET name = 'first' WHERE id = 5")
    first = sync(migrated)  # reads the migration's snapshot: its row hashes come with it
    assert by_table(first)["parent"].narrowed == "row hashes"
    Path(first.snapshot).with_name(row_hash.FILE).unlink()  # as after an older runbook's sync
    write(migrated.sqlite_path, "UPDATE parent SET name = 'only' WHERE id = 7")
    parent = by_table(sync(migrated))["parent"]
    assert parent.narrowed == "join" and parent.proved == "rows" and parent.updated == 1
    assert assert_same(migrated) > 0
    write(migrated.sqlite_path, "UPDATE parent SET name = 'again' WHERE id = 9")
    parent = by_table(sync(migrated))["parent"]  # the join's sync recorded row hashes again
    assert parent.narrowed == "row hashes" and parent.updated == 1
    assert assert_same(migrated) > 0


SPEC = TableSpec("t", "t", "public", 1, (Column("id", "id", "int"), Column("a", "a", "text"),
                                         Column("b", "b", "float"), Column("c", "c", "json")),
                 "UTC")


def _file(path, rows) -> str:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b REAL, c TEXT)")
    conn.executemany("INSERT INTO t VALUES (?,?,?,?)", rows)
    conn.commit()
    conn.close()
    return str(path)


def _hashes(path: str, seed: int) -> row_hash.RowHashes:
    cut, _ = catchup._cut(path, SPEC, 5000)
    return catchup.row_hashes(path, SPEC, cut, 5000, row_hash.Hasher(seed))


def test_row_hashes_tell_exactly_the_changed_rows(tmp_path):
    rng = np.random.default_rng(7)
    rows = [(i, f"t{i}" * int(rng.integers(0, 5)) or None, float(rng.normal()),
             '{"a": 1}' if i % 3 else None) for i in range(1, 5001)]
    changed = dict((r[0], r) for r in rows)
    for i in rng.choice(np.arange(1, 5001), 300, replace=False).tolist():
        kind = i % 5
        if kind == 0:
            del changed[i]
        elif kind == 1:
            changed[i] = (i, (changed[i][1] or "") + "é", changed[i][2], changed[i][3])
        elif kind == 2:
            changed[i] = (i, changed[i][1], changed[i][2] + 1e-12, changed[i][3])
        elif kind == 3:
            changed[i] = (i, changed[i][1], changed[i][2], '{"a": 2}')
        else:
            changed[i] = (i, None if changed[i][1] else "", changed[i][2], changed[i][3])
    for i in range(6000, 6020):
        changed[i] = (i, "new", 0.0, None)
    old = _file(tmp_path / "old.sqlite3", rows)
    new = _file(tmp_path / "new.sqlite3", list(changed.values()))
    seed = row_hash.new_seed()
    keys, gone = row_hash.changes(_hashes(old, seed), _hashes(new, seed))
    before = {r[0]: r for r in rows}  # independent: the raw rows compared in Python
    expect = sorted(k for k, r in changed.items() if before.get(k) != r)
    assert sorted(keys) == expect and len(expect) > 200
    assert sorted(gone) == sorted(before.keys() - changed.keys())
    again = row_hash.changes(_hashes(new, seed), _hashes(new, seed))
    assert again == ([], [])
    ranges = [(None, 40), (700, 701), (1200, 3000), (4990, None)]  # each stretch on its own
    inside = [k for k in range(7000) if any((lo is None or k >= lo) and (hi is None or k < hi)
                                            for lo, hi in ranges)]
    keys, gone = row_hash.changes(_hashes(old, seed), _hashes(new, seed), ranges)
    assert keys == [k for k in inside if k in set(expect)]
    assert gone == [k for k in inside if k in before.keys() - changed.keys()]
    with pytest.raises(ValueError):
        row_hash.changes(_hashes(old, seed), _hashes(new, seed + 1))


def test_the_row_proof_names_rows_the_target_lacks_or_holds_otherwise(migrated, pg):
    assert sync(migrated).changes == 0
    pg.execute("UPDATE parent SET name = 'pg' WHERE id = 11; "
               "DELETE FROM child WHERE parent_id = 12; "
               "DELETE FROM parent WHERE id = 12; "
               "INSERT INTO parent (id, name) VALUES (99999, 'extra')", migrated.db_name)
    snapshot = state.current(migrated).snapshot
    section = manifest.read(migrated.run_dir)["migration"]
    entry = next(e for e in section["tables"] if e["table"] == "parent")
    with db.connection(migrated) as conn, conn.cursor() as cur:
        cur.execute("SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                    "WHERE a.attrelid = 'parent'::regclass AND a.attnum > 0")
        types = dict(cur.fetchall())
        cur.execute("SELECT current_schema()")
        schema = cur.fetchone()[0]
    spec = validate.spec_of(entry, types, schema, "UTC")
    sessions = validate.DigestSessions(db.connect_kwargs(migrated), 2)
    try:
        found = validate.rows_differ(snapshot, sessions, spec, [10, 11, 12, 13, 99999, 123456])
    finally:
        sessions.close()
    assert found == [11, 12, 99999]



UNIQUE_SCHEMA = """
PRAGMA journal_mode=WAL;
CREATE TABLE person (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT);
CREATE TABLE note (id INTEGER PRIMARY KEY, person_id INTEGER REFERENCES person(id), body TEXT);
CREATE TABLE account (id INTEGER PRIMARY KEY, login TEXT NOT NULL UNIQUE);
CREATE TABLE login_event (id INTEGER PRIMARY KEY,
    account_id INTEGER REFERENCES account(id) ON DELETE CASCADE);
"""


@pytest.fixture
def unique_source(fresh_db, tmp_path):
    from runbook_lib import migrate

    path = tmp_path / "unique.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(UNIQUE_SCHEMA)
    conn.executemany("INSERT INTO person VALUES (?,?,?)",
                     [(i, f"u{i}@example.org", f"n{i}") for i in range(1, 101)])
    conn.executemany("INSERT INTO note VALUES (?,?,?)", [(i, i, f"b{i}") for i in range(1, 51)])
    conn.executemany("INSERT INTO account VALUES (?,?)", [(i, f"l{i}") for i in range(1, 21)])
    conn.executemany("INSERT INTO login_event VALUES (?,?)", [(i, i) for i in range(1, 21)])
    conn.commit()
    conn.close()
    fresh_db.sqlite_path, fresh_db.schema = str(path), "sqlite"
    assert migrate.run(fresh_db, progress=False).completed
    return fresh_db


def test_rows_swapping_unique_values_are_applied(unique_source):
    live = unique_source.sqlite_path
    write(live, "UPDATE person SET email = 'tmp' WHERE id = 1",  # 1 and 2 swap, 3 → 4 → 5 → 3
          "UPDATE person SET email = 'u1@example.org' WHERE id = 2",
          "UPDATE person SET email = 'u2@example.org' WHERE id = 1",
          "UPDATE person SET email = 'x' WHERE id = 3",
          "UPDATE person SET email = 'u3@example.org' WHERE id = 5",
          "UPDATE person SET email = 'u5@example.org' WHERE id = 4",
          "UPDATE person SET email = 'u4@example.org' WHERE id = 3",
          "UPDATE person SET name = 'plain' WHERE id = 9",
          "INSERT INTO person VALUES (500, 'new@example.org', 'new')")
    report = sync(unique_source)
    assert counts(report)["person"] == (1, 6, 0)
    assert assert_same(unique_source) > 0  # notes still point at their people
    assert validate.run(unique_source).ok
    assert sync(unique_source).changes == 0


def test_swapped_unique_values_under_a_cascading_key_stop_with_sy008(unique_source):
    from runbook_lib.cutover.sync import SyncError

    live = unique_source.sqlite_path
    write(live, "UPDATE account SET login = 'tmp' WHERE id = 1",
          "UPDATE account SET login = 'l1' WHERE id = 2",
          "UPDATE account SET login = 'l2' WHERE id = 1")
    with db.connection(unique_source) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, login FROM account ORDER BY id")
        before = cur.fetchall()
    for language in ("en", "ko"):
        unique_source.language = language
        with pytest.raises(SyncError) as err:
            sync(unique_source)
        assert "SY008" in str(err.value) and "account" in str(err.value)
        assert "03" in err.value.hint
    with db.connection(unique_source) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, login FROM account ORDER BY id")
        assert cur.fetchall() == before  # nothing changed
        cur.execute("SELECT count(*) FROM login_event")
        assert cur.fetchone()[0] == 20
    from runbook_lib import migrate  # the hint applied: stage 03 (if_exists: replace), 04

    unique_source.if_exists = "replace"
    assert migrate.run(unique_source, progress=False).completed
    assert assert_same(unique_source) > 0
    assert validate.run(unique_source).ok
    assert sync(unique_source).changes == 0


def test_a_damaged_row_hash_file_is_not_used(migrated):
    write(migrated.sqlite_path, "UPDATE parent SET name = 'a' WHERE id = 3")
    first = sync(migrated)
    Path(first.snapshot).with_name(row_hash.FILE).write_bytes(b"PK\x03\x04 not a zip")
    write(migrated.sqlite_path, "UPDATE parent SET name = 'b' WHERE id = 4")
    parent = by_table(sync(migrated))["parent"]
    assert parent.narrowed == "join" and parent.updated == 1
    assert assert_same(migrated) > 0


def test_the_vectorised_row_hash_is_the_documented_sum():
    """Σ byte·W(position) + length·W(-1) mod 2⁶⁴, computed in plain Python as the reference,
    for rows of any length (empty ones too) and for a fixed-width group."""
    from runbook_lib.validate import codes

    rng = np.random.default_rng(3)
    hasher = row_hash.Hasher(99)
    for trial in range(24):
        n = int(rng.integers(1, 40))
        lengths = np.full(n, 16) if trial % 3 == 0 else rng.integers(trial % 2, 30, n)
        offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64) + 5
        data = b"\0" * 5 + rng.integers(0, 256, int(lengths.sum()), dtype=np.uint8).tobytes()
        found = hasher._group(0, codes.Codes(data, offsets))
        w = [int(x) for x in hasher._weights(0, int(lengths.max()))]
        expect = [(sum(b * w[j + 1] for j, b in enumerate(data[offsets[i]:offsets[i + 1]]))
                   + int(lengths[i]) * w[0]) % 2 ** 64 for i in range(n)]
        assert [int(x) for x in found] == expect


def test_a_write_on_postgresql_during_the_sync_leaves_the_table_unproven(migrated, pg,
                                                                          monkeypatch):
    import importlib

    sync_module = importlib.import_module("runbook_lib.cutover.sync")  # the module, not sync()
    scattered(migrated.sqlite_path, 0)
    original = sync_module.threshold

    def meanwhile(settings):  # after the sync's commit, before its proof
        pg.execute("UPDATE parent SET qty = 5 WHERE id = 19990; "  # a row the sync left alone
                   "DELETE FROM child WHERE id = 2998", migrated.db_name)
        return original(settings)

    monkeypatch.setattr(sync_module, "threshold", meanwhile)
    report = sync(migrated)
    tables = by_table(report)
    assert tables["parent"].proved == "rows" and tables["child"].proved == "rows"
    assert {"parent", "child"} <= set(report.unproven)
    monkeypatch.setattr(sync_module, "threshold", original)
    from runbook_lib.cutover.sync import SyncError

    with pytest.raises(SyncError) as err:  # the next sync reads the target and names them
        sync(migrated)
    assert "SY003" in str(err.value)
    assert (19990,) in err.value.rows["parent"] and (2998,) in err.value.rows["child"]
