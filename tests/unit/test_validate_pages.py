"""Two snapshots compared page by page (`validate.pages`): a chunk called unchanged holds the
same rows in both files.

Real SQLite files changed through SQLite itself; every claim checked independently by reading
the chunk's rows from both files with plain `sqlite3` queries. Attacks: values continued on
overflow pages changed behind an unchanged leaf, pages freed and reused, VACUUM, files that
cannot be compared (page size, auto-vacuum, WAL, garbage), a cycle in the tree, a leaf whose
keys lie outside its bounds.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from pathlib import Path

import pytest

from runbook_lib.validate import pages
from runbook_lib.validate.digest import Chunking

ROWS, WIDTH = 6000, 100  # ids 2, 4, …, 12000: room for inserts between them


def build(path: Path, page_size: int = 4096, vacuum: str = "NONE", rows: int = ROWS) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA page_size = {page_size}")
    conn.execute(f"PRAGMA auto_vacuum = {vacuum}")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b REAL)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)",
                     [(2 * i, f"row {i} " + "x" * (i % 40), i / 3) for i in range(1, rows + 1)])
    conn.commit()
    conn.close()
    return path


def pair(tmp_path: Path, **kwargs) -> tuple[Path, Path]:
    old = build(tmp_path / "old.sqlite3", **kwargs)
    new = tmp_path / "new.sqlite3"
    shutil.copyfile(old, new)
    return old, new


def change(path: Path, *statements, params=()) -> None:
    conn = sqlite3.connect(path)
    for sql in statements:
        conn.execute(sql, params) if params else conn.execute(sql)
    conn.commit()
    conn.close()


def cut_of(*paths: Path) -> Chunking:
    top = max(sqlite3.connect(p).execute("SELECT max(id) FROM t").fetchone()[0] or 0
              for p in paths)
    return Chunking(0, WIDTH, top // WIDTH + 1)


def rows(path: Path, cut: Chunking, chunk: int) -> list:
    low, high = cut.bounds(chunk)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT id, a, b FROM t WHERE id >= ? AND id < ? ORDER BY id",
                            (-2 ** 63 if low is None else low,
                             2 ** 63 - 1 if high is None else high)).fetchall()
    finally:
        conn.close()


def clean(old: Path, new: Path, table: str = "t", key: str = "id") -> tuple[set, Chunking]:
    cut = cut_of(old, new)
    compared = pages.compare(old, new)
    try:
        found = pages.clean_chunks(compared, table, key, cut)
    finally:
        if compared is not None:
            compared.close()
    return found, cut


def assert_really_clean(old: Path, new: Path, found: set, cut: Chunking) -> None:
    for chunk in found:
        assert rows(old, cut, chunk) == rows(new, cut, chunk), f"chunk {chunk} called clean"


def chunks_of(*ids: int) -> set[int]:
    return {i // WIDTH for i in ids}


@pytest.mark.parametrize("seed", range(5))
def test_random_changes_never_hide_in_a_chunk_called_clean(tmp_path, seed):
    old, new = pair(tmp_path)
    rng = random.Random(seed)
    conn = sqlite3.connect(new)
    touched = set()
    base = rng.randrange(2, 9000)  # the application works near one place …
    for _ in range(40):
        i = base + rng.randrange(0, 800)
        what = rng.randrange(5)
        if what == 0:  # same size: SQLite overwrites the cell in place
            conn.execute("UPDATE t SET b = b + 1 WHERE id = ?", (i,))
        elif what == 1:  # grows: the cell moves, the page may split
            conn.execute("UPDATE t SET a = a || ? WHERE id = ?", ("y" * rng.randrange(50), i))
        elif what == 2:
            conn.execute("DELETE FROM t WHERE id = ?", (i,))
        elif what == 3:  # between existing keys
            conn.execute("INSERT OR REPLACE INTO t VALUES (?, 'new', 1.5)", (i | 1,))
        else:
            conn.execute("UPDATE t SET id = ? WHERE id = ?", (i | 1, i))
        touched |= {i, i | 1}
    conn.execute("INSERT INTO t VALUES (20001, 'at the end', 0)")  # … and appends
    conn.commit()
    conn.close()
    found, cut = clean(old, new)
    assert found, "nothing found unchanged: the comparison was not exercised"
    assert not found & chunks_of(*touched, 20001)
    assert_really_clean(old, new, found, cut)


def test_pages_freed_and_reused_and_rows_put_back(tmp_path):
    old, new = pair(tmp_path)
    change(new, "CREATE TEMP TABLE keep AS SELECT * FROM t WHERE id BETWEEN 3000 AND 5000",
           "DELETE FROM t WHERE id BETWEEN 3000 AND 5000",
           "INSERT INTO t SELECT * FROM keep WHERE id % 4 = 0",  # back on reused pages
           "UPDATE t SET a = 'other' WHERE id = 4000")
    found, cut = clean(old, new)
    assert found and not found & chunks_of(*range(3000, 5001))
    assert_really_clean(old, new, found, cut)


def test_vacuum_moves_every_page_and_nothing_is_trusted_wrongly(tmp_path):
    old, new = pair(tmp_path)
    change(new, "DELETE FROM t WHERE id < 6000")
    conn = sqlite3.connect(new)
    conn.execute("VACUUM")
    conn.close()
    found, cut = clean(old, new)
    assert not found & chunks_of(*range(0, 6000))
    assert_really_clean(old, new, found, cut)


def test_a_change_behind_an_unchanged_leaf_turns_the_comparison_off(tmp_path):
    """A long value continues on overflow pages; changing its end in place leaves its leaf
    byte for byte as it was. Such a changed page outside every tree stops the comparison."""
    old = build(tmp_path / "old.sqlite3")
    change(old, "UPDATE t SET a = ? WHERE id = 5000", params=("z" * 20000,))
    new = tmp_path / "new.sqlite3"
    shutil.copyfile(old, new)
    change(new, "UPDATE t SET a = ? WHERE id = 5000", params=("z" * 19999 + "!",))
    files = [pages._open(old), pages._open(new)]
    try:
        changed = pages._changed(*files)
        pages._placed(files[1])
        leaf = next(p for p, low, high in files[1].leaves["t"]
                    if (low is None or low < 5000) and (high is None or 5000 <= high))
        assert changed and leaf not in changed  # the leaf alone would have said "unchanged"
    finally:
        for f in files:
            f.data.close()
    assert pages.compare(old, new) is None
    found, _ = clean(old, new)
    assert found == set()


@pytest.mark.parametrize("case", ["page size", "auto-vacuum", "wal", "garbage", "truncated"])
def test_files_that_cannot_be_compared_page_by_page(tmp_path, case):
    old, new = pair(tmp_path, **({"vacuum": "FULL"} if case == "auto-vacuum" else {}))
    if case == "page size":
        new.unlink()
        build(new, page_size=8192)
    elif case == "wal":
        Path(f"{new}-wal").write_bytes(b"\0" * 32)
    elif case == "garbage":
        new.write_bytes(b"not a database" * 1000)
    elif case == "truncated":
        with open(new, "r+b") as handle:
            handle.truncate(4096 * 3 + 100)
    assert pages.compare(old, new) is None


@pytest.mark.parametrize("damage", ["cycle", "cells", "child"])
def test_a_damaged_tree_is_refused_without_hanging(tmp_path, damage):
    old, new = pair(tmp_path)
    change(new, "UPDATE t SET b = -1 WHERE id = 100")
    root = sqlite3.connect(new).execute(
        "SELECT rootpage FROM sqlite_master WHERE name = 't'").fetchone()[0]
    at, value = {"cycle": (8, root.to_bytes(4, "big")),  # its right-most child: itself
                 "cells": (3, (65535).to_bytes(2, "big")),  # more cells than the page holds
                 "child": (8, (10 ** 9).to_bytes(4, "big"))}[damage]  # past the file's end
    with open(new, "r+b") as handle:
        handle.seek((root - 1) * 4096 + at)
        handle.write(value)
    assert pages.compare(old, new) is None


def test_a_table_only_one_file_has_is_not_compared(tmp_path):
    old, new = pair(tmp_path)
    change(new, "CREATE TABLE extra (id INTEGER PRIMARY KEY)", "INSERT INTO extra VALUES (1)")
    compared = pages.compare(old, new)
    try:
        assert compared is not None
        assert pages.clean_chunks(compared, "extra", "id", Chunking(0, 10, 1)) == set()
        assert pages.clean_chunks(compared, "t", "id", cut_of(old, new))  # the rest still is
    finally:
        compared.close()


def test_a_leaf_with_keys_outside_its_bounds_is_not_trusted(tmp_path):
    old, new = pair(tmp_path)
    change(new, "UPDATE t SET b = -1 WHERE id = 6000")
    files = [pages._open(new)]
    try:
        pages._placed(files[0])
        leaf, low, high = next(x for x in files[0].leaves["t"]
                               if x[1] is not None and x[1] < 6000 <= x[2])
        start = (leaf - 1) * 4096
        cell = start + int.from_bytes(files[0].data[start + 8:start + 10], "big")
        _, at = pages._varint(files[0].data, cell, start + 4096)  # the payload size
        length = pages._varint(files[0].data, at, start + 4096)[1] - at
    finally:
        files[0].data.close()
    assert length == 2  # a two-byte varint: rewrite it as another two-byte key, far away
    far = 12000
    with open(new, "r+b") as handle:
        handle.seek(at)
        handle.write(bytes([0x80 | (far >> 7), far & 0x7F]))
    found, _ = clean(old, new)
    assert found == set()


@pytest.mark.parametrize("ddl", [
    "CREATE TABLE k (id INTEGER, v TEXT, PRIMARY KEY (id)) WITHOUT ROWID",
    "CREATE TABLE k (id BIGINT PRIMARY KEY, v TEXT)",
    "CREATE TABLE k (id INTEGER PRIMARY KEY DESC, v TEXT)",
])
def test_only_a_table_keyed_by_its_rowid_is_compared(tmp_path, ddl):
    old = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(old)
    conn.execute(ddl)
    conn.executemany("INSERT INTO k VALUES (?, ?)", [(i, "v" * 50) for i in range(3000)])
    conn.commit()
    conn.close()
    new = tmp_path / "new.sqlite3"
    shutil.copyfile(old, new)
    change(new, "UPDATE k SET v = 'changed' WHERE id = 2999")
    compared = pages.compare(old, new)
    try:
        assert pages.clean_chunks(compared, "k", "id", Chunking(0, 100, 30)) == set()
    finally:
        if compared is not None:
            compared.close()


def test_identical_files_are_clean_everywhere(tmp_path):
    old, new = pair(tmp_path)
    found, cut = clean(old, new)
    assert found == set(range(-1, cut.count + 1))


def test_a_leaf_left_behind_on_the_freelist_is_not_taken_for_the_table(tmp_path):
    """The table dropped and made again (as Django's SQLite schema editor remakes tables),
    its old leaves left on the freelist byte for byte: they are not the table's rows any more."""
    new, old = pair(tmp_path)  # `new` holds the rows, `old` the table made again, empty
    conn = sqlite3.connect(old)
    conn.execute("PRAGMA secure_delete = OFF")
    conn.execute("DROP TABLE t")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b REAL)")
    conn.commit()
    conn.close()
    found, cut = clean(old, new)
    assert not found & chunks_of(*range(2, 2 * ROWS + 1, 2))
    assert_really_clean(old, new, found, cut)
