"""Snapshot and introspection of SQLite files built by the tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runbook_lib.core.errors import SourceError
from runbook_lib.migrate import source

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from edge_cases import EDGE_CASES, rows  # noqa: E402


def test_missing_not_sqlite_and_encrypted(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        source.snapshot(tmp_path / "nope.sqlite3", tmp_path)
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a database")
    with pytest.raises(SourceError, match="not a SQLite 3 database"):
        source.snapshot(text, tmp_path)
    sealed = tmp_path / "sealed.db"
    sealed.write_bytes(bytes(range(256)) * 16)  # what SQLCipher's first page looks like
    with pytest.raises(SourceError, match="encrypted"):
        source.snapshot(sealed, tmp_path)


def test_snapshot_includes_wal_and_leaves_source_alone(tmp_path):
    path = EDGE_CASES["wal_pending"](tmp_path / "live.sqlite3")
    wal = Path(str(path) + "-wal")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (path, wal)}
    snap = source.snapshot(path, tmp_path / "run")
    assert len(rows(snap, "event")) == 5
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (path, wal)} == before
    assert not Path(str(snap) + "-wal").exists()


def test_introspection_of_keys_and_sequences(tmp_path):
    schema = source.introspect(EDGE_CASES["keys"](tmp_path / "k.sqlite3"))
    worid = schema.table("worid")
    assert worid.without_rowid and worid.primary_key == ["k"] and worid.rowid_alias is None
    assert schema.table("composite").primary_key == ["x", "y"]
    assert schema.table("nopk").primary_key == []
    assert {i.origin for i in schema.table("uniq").indexes} == {"u"}
    auto = source.introspect(EDGE_CASES["autoincrement_gaps"](tmp_path / "a.sqlite3"))
    item = auto.table("item")
    assert item.autoincrement and item.sequence == 50 and item.rowid_alias == "id"


def test_introspection_of_fks_views_triggers(tmp_path):
    schema = source.introspect(EDGE_CASES["foreign_keys"](tmp_path / "f.sqlite3"))
    fk = schema.table("employee").foreign_keys[0]
    assert (fk.columns, fk.ref_table, fk.ref_columns, fk.on_delete) == \
        (("manager_id",), "employee", ("id",), "SET NULL")
    other = source.introspect(EDGE_CASES["views_triggers"](tmp_path / "v.sqlite3"))
    assert list(other.views) == ["active_accounts"] and list(other.triggers) == ["account_audit"]
    account = other.table("account")
    assert account.column("doubled").hidden == 3
    kinds = {i.name: (i.partial, i.expression) for i in account.indexes}
    assert kinds == {"account_active": (True, False), "account_lower": (False, True)}


def test_corrupt_file_fails_integrity_check(tmp_path):
    import sqlite3

    path = tmp_path / "broken.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        conn.execute("CREATE INDEX t_v ON t (v)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x" * 50) for i in range(2000)])
    conn.close()
    data = bytearray(path.read_bytes())
    for page in range(2, 6):  # invalid b-tree page types
        data[4096 * page] = 0x00
    path.write_bytes(bytes(data))
    with pytest.raises(SourceError, match="integrity_check|malformed|Cannot read"):
        source.snapshot(path, tmp_path / "run")


def test_background_check_reports_in_the_parent(tmp_path):
    """The integrity check runs in a child process; its verdict is raised where it is awaited."""
    import sqlite3

    good = tmp_path / "good.sqlite3"
    with sqlite3.connect(good) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    conn.close()
    check = source.BackgroundCheck(good)
    check.result()
    check.result()  # awaited again (post-load, then the verdict table): same answer
    bad = tmp_path / "bad.sqlite3"
    data = bytearray(good.read_bytes())
    data[4096] = 0x00  # the table's root page is no b-tree page any more
    bad.write_bytes(bytes(data))
    check = source.BackgroundCheck(bad)
    for _ in range(2):
        with pytest.raises(SourceError, match="integrity_check"):
            check.result()


@pytest.mark.parametrize("child_type", ["INTEGER", "TEXT", "", "REAL", "BLOB", "TEXT COLLATE NOCASE"])
def test_rowid_reference_check_finds_what_sqlite_finds(tmp_path, child_type):
    """The fast form of the dangling-reference predicate (IN the parent's rowid) flags exactly
    the rows SQLite's own PRAGMA foreign_key_check reports, for values of every storage class
    and spelling; a reference to another column keeps the correlated form."""
    import sqlite3

    from runbook_lib.migrate.profile import fk_predicate

    path = tmp_path / "refs.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(f"""
        CREATE TABLE Parent (ID INTEGER PRIMARY KEY, code TEXT UNIQUE COLLATE NOCASE);
        CREATE TABLE child (id INTEGER PRIMARY KEY, p {child_type} REFERENCES parent(id),
                            c TEXT REFERENCES parent(code));""")
    conn.executemany("INSERT INTO Parent VALUES (?, ?)", [(1, "a"), (2, "B"), (-3, None)])
    values = [1, "1", 1.0, 2.5, "abc", b"\x01", 99, None, " 1", "1.0", -3, "-3", 2**62, "0x1"]
    conn.executemany("INSERT INTO child (p, c) VALUES (?, ?)",
                     [(v, c) for v in values for c in ("a", "A", "b", "z", None)])
    conn.commit()
    column = {r[0]: r[3] for r in conn.execute("PRAGMA foreign_key_list(child)")}
    expected = {"p": set(), "c": set()}
    for _, rowid, _, fkid in conn.execute("PRAGMA foreign_key_check(child)"):
        expected[column[fkid]].add(rowid)
    assert expected["p"] and expected["c"]
    table = source.introspect(path).table("child")
    by_column = {fk.columns[0]: fk for fk in table.foreign_keys}
    assert by_column["p"].ref_rowid and not by_column["c"].ref_rowid
    for name, fk in by_column.items():
        sql = fk_predicate("child", fk)
        assert ("EXISTS" not in sql) == fk.ref_rowid
        found = {r[0] for r in conn.execute(f"SELECT id FROM child WHERE NOT {sql}")}
        assert found == expected[name], (fk, sql)
    conn.close()
