"""Which key chunks of a table two snapshots of one SQLite file hold byte for byte alike.

Both snapshots are copies of one live file made by SQLite's backup API, which copies pages as
they are, so what the application did not touch keeps its page number and its bytes. A
table's rows live in the leaf pages of its b-tree, and the keys of the interior pages bound
every leaf (the keys under a child are at most its divider and above the divider before it).
A leaf that is byte-identical in both files and a leaf of the same table's tree in both holds
the same rows with the same values. So a chunk of keys that meets only such leaves, in both
trees, holds the same rows in both snapshots: the digests and row hashes recorded for the
previous snapshot stand for the new one, and a catch-up sync does not read that chunk again.

A value too long for its leaf continues on overflow pages, which belong to no tree: a changed
overflow page could hide behind an unchanged leaf. So any changed page that is not, in both
files, a page of some b-tree, a freelist page or the lock-byte page (an overflow page, or one
that cannot be placed) turns the comparison off for every table. So does anything unusual: two
page sizes, reserved bytes, another text encoding than UTF-8, auto-vacuum, a WAL file beside a
snapshot, a page that does not parse. The caller then reads every chunk, as without it.
"""

from __future__ import annotations

import mmap
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from struct import error as StructError
from struct import unpack_from

import numpy as np

from ..core.identifiers import quote_ident
from ..core.sqlite_quirks import open_ro

__all__ = ["Compared", "compare", "clean_chunks", "Odd"]

MAGIC = b"SQLite format 3\x00"
INTERIOR_TABLE, LEAF_TABLE, INTERIOR_INDEX, LEAF_INDEX = 0x05, 0x0D, 0x02, 0x0A
BLOCK = 1 << 24  # bytes compared at once


class Odd(Exception):
    """The two files cannot be compared page by page."""


@dataclass
class _File:
    path: Path
    data: mmap.mmap
    size: int  # page size
    pages: int
    roots: dict[str, int]  # table or index name → root page
    rowid_keys: dict[str, str]  # table → its INTEGER PRIMARY KEY column, the b-tree's own key
    leaves: dict[str, list] = field(default_factory=dict)  # rowid table → its leaves (`_walk`)

    def begin(self, number: int) -> int:
        """Offset of the page."""
        if not 1 <= number <= self.pages:
            raise Odd(f"page {number} outside the file")
        return (number - 1) * self.size

    def start(self, number: int) -> int:
        """Offset of the page's b-tree header (page 1 begins with the file header)."""
        return self.begin(number) + (100 if number == 1 else 0)

    def u16(self, at: int) -> int:
        return int.from_bytes(self.data[at:at + 2], "big")

    def u32(self, at: int) -> int:
        return int.from_bytes(self.data[at:at + 4], "big")


@dataclass
class Compared:
    """Two snapshots, page by page: the pages that differ and each file's table trees."""

    old: _File
    new: _File
    changed: set[int]

    def close(self) -> None:
        for f in (self.old, self.new):
            try:
                f.data.close()
            except (BufferError, ValueError):  # a view still held: freed with the object
                pass


def _varint(buf, at: int, end: int) -> tuple[int, int]:
    value = 0
    for i in range(9):
        if at + i >= end:
            raise Odd("varint past the page")
        byte = buf[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    raise Odd("varint")  # pragma: no cover - the loop returns


def _signed(value: int) -> int:
    """A rowid: 64-bit two's complement."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _open(path: Path) -> _File:
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size:
        raise Odd("a WAL file beside the snapshot")
    with open(path, "rb") as handle:
        data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    head = data[:100]
    size = int.from_bytes(head[16:18], "big")
    size = 65536 if size == 1 else size
    if (head[:16] != MAGIC or size < 512 or size & (size - 1) or head[20]
            or int.from_bytes(head[52:56], "big") or int.from_bytes(head[56:60], "big") != 1
            or len(data) % size):
        data.close()
        raise Odd("header")
    src = open_ro(path)
    try:
        roots = {name: int(root) for name, root in src.execute(
            "SELECT name, rootpage FROM sqlite_master WHERE rootpage > 0")}
        keys = {name: key for (name,) in src.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND rootpage > 0").fetchall()
            if (key := _rowid_key(src, name))}
    finally:
        src.close()
    return _File(path, data, size, len(data) // size, roots, keys)


def _changed(old: _File, new: _File) -> set[int]:
    """Page numbers whose bytes differ (pages only one file has included)."""
    common = min(old.pages, new.pages)
    out: set[int] = set(range(common + 1, max(old.pages, new.pages) + 1))
    per = max(1, BLOCK // old.size)
    words = old.size // 8
    a = np.frombuffer(old.data, np.uint64, count=common * words).reshape(common, words)
    b = np.frombuffer(new.data, np.uint64, count=common * words).reshape(common, words)
    for first in range(0, common, per):
        differ = (a[first:first + per] != b[first:first + per]).any(axis=1)
        out.update((np.flatnonzero(differ) + first + 1).tolist())
    del a, b
    return out


def _walk(f: _File, root: int) -> tuple[set[int], list | None]:
    """The pages of one b-tree and, for a rowid table's, its leaves as (page, low, high):
    every key of the leaf is > low and ≤ high (None: unbounded); None for an index's."""
    data, seen, leaves, kinds = f.data, {root}, [], set()
    stack = [(root, None, None)]
    while stack:
        number, low, high = stack.pop()
        at = f.start(number)
        kind = data[at]
        kinds.add(kind in (INTERIOR_TABLE, LEAF_TABLE))
        if kind == LEAF_TABLE:  # a root that is a leaf
            leaves.append((number, low, high))
            continue
        if kind == LEAF_INDEX:
            continue
        if kind not in (INTERIOR_TABLE, INTERIOR_INDEX):
            raise Odd(f"page {number} of kind {kind}")
        page = f.begin(number)
        cells = f.u16(at + 3)
        if 12 + 2 * cells > f.size:
            raise Odd("too many cells")
        before = low
        for i, offset in enumerate(unpack_from(f">{cells}H", data, at + 12)):
            cell = page + offset
            if offset + 4 > f.size:
                raise Odd("cell past the page")
            key = _signed(_varint(data, cell + 4, page + f.size)[0]) \
                if kind == INTERIOR_TABLE else None
            _child(f, unpack_from(">I", data, cell)[0], before, key, seen, leaves, stack,
                   kinds)
            before = key
        _child(f, f.u32(at + 8), before, high, seen, leaves, stack, kinds)
    if len(kinds) > 1:
        raise Odd("a tree of tables and indexes")
    return seen, (leaves if kinds == {True} else None)


def _child(f: _File, number: int, low, high, seen: set, leaves: list, stack: list,
           kinds: set) -> None:
    """A child page: a leaf noted at once, an interior page walked later."""
    if not 2 <= number <= f.pages or number in seen:
        raise Odd(f"child page {number}")
    seen.add(number)
    kind = f.data[(number - 1) * f.size]
    if kind == LEAF_TABLE:
        leaves.append((number, low, high))
    elif kind != LEAF_INDEX:
        stack.append((number, low, high))
        return
    kinds.add(kind == LEAF_TABLE)


def _freelist(f: _File) -> set[int]:
    trunk, total = f.u32(32), f.u32(36)
    out: set[int] = set()
    while trunk:
        if trunk in out or len(out) > total:
            raise Odd("freelist")
        out.add(trunk)
        at = f.start(trunk)
        count = f.u32(at + 4)
        if 8 + 4 * count > f.size:
            raise Odd("freelist trunk")
        out.update(f.u32(at + 8 + 4 * i) for i in range(count))
        trunk = f.u32(at)
    return out


def _placed(f: _File) -> set[int]:
    """Every page of the file that is a b-tree page, a freelist page or the lock-byte page;
    the rowid tables' leaves kept (`_File.leaves`)."""
    out = _walk(f, 1)[0]  # sqlite_master
    for name, root in f.roots.items():
        pages, leaves = _walk(f, root)
        out |= pages
        if leaves is not None:
            f.leaves[name] = leaves
    out |= _freelist(f)
    out.add(1 + (1 << 30) // f.size)  # the lock-byte page (never used)
    return out


def compare(old: Path, new: Path) -> Compared | None:
    """The two snapshots compared page by page, or None if they cannot be (see the module)."""
    files: list[_File] = []
    try:
        files = [_open(Path(old)), _open(Path(new))]
        if files[0].size != files[1].size:
            raise Odd("page sizes")
        changed = _changed(*files)
        for f in files:
            unplaced = {n for n in changed if n <= f.pages} - _placed(f)
            if unplaced:
                raise Odd(f"{len(unplaced)} changed page(s) outside every b-tree")
        return Compared(files[0], files[1], changed)
    except (Odd, OSError, ValueError, IndexError, StructError, sqlite3.Error):
        for f in files:
            f.data.close()
        return None


def _rowid_key(src: sqlite3.Connection, table: str) -> str | None:
    """The table's INTEGER PRIMARY KEY column if it is the rowid (not WITHOUT ROWID, not
    `INTEGER PRIMARY KEY DESC`: those have an index of origin 'pk'), else None."""
    pk = [r for r in src.execute(f"PRAGMA table_info({quote_ident(table)})") if r[5]]
    indexed = src.execute("SELECT count(*) FROM pragma_index_list(?) WHERE origin = 'pk'",
                          (table,)).fetchone()[0]
    return pk[0][1] if (len(pk) == 1 and (pk[0][2] or "").upper() == "INTEGER"
                        and not indexed) else None


def _leaves(f: _File, table: str) -> list:
    if table not in f.leaves:
        raise Odd("not a rowid table of this file")
    return f.leaves[table]


def _keys_inside(f: _File, number: int, low: int | None, high: int | None) -> None:
    """The leaf's first and last keys (its cells are in key order) are in (low, high]: the
    interior pages bound it as they should. SQLite's integrity_check reports a file where
    they do not."""
    at = f.start(number)
    page = f.begin(number)
    cells = f.u16(at + 3)
    for i in {0, cells - 1} if cells else ():
        cell = page + f.u16(at + 8 + 2 * i)
        key = _signed(_varint(f.data, _varint(f.data, cell, page + f.size)[1],
                              page + f.size)[0])
        if (low is not None and key <= low) or (high is not None and key > high):
            raise Odd(f"key {key} outside its leaf's bounds")


def clean_chunks(compared: Compared | None, table: str, key: str, cut,
                 least: float = 0.0) -> set[int]:
    """The chunks of `cut` (a `digest.Chunking`, chunks -1 … count) whose rows are the same in
    both snapshots; empty when the table cannot be compared so, or when fewer than `least`
    of the chunks are."""
    if compared is None:
        return set()
    try:
        if not compared.new.rowid_keys.get(table) == compared.old.rowid_keys.get(table) == key:
            return set()
        new, old = _leaves(compared.new, table), _leaves(compared.old, table)
        pages_new, pages_old = {p for p, _, _ in new}, {p for p, _, _ in old}
        changed = [(f, page, low, high)
                   for f, leaves, other in ((compared.new, new, pages_old),
                                            (compared.old, old, pages_new))
                   for page, low, high in leaves
                   if page in compared.changed or page not in other]
        marks = np.zeros(cut.count + 3, np.int64)  # +1 where a dirty stretch starts, -1 after
        if changed:
            first = [-1 if low is None else _chunk(cut, low + 1) for _, _, low, _ in changed]
            last = [cut.count if high is None else _chunk(cut, high) for *_, high in changed]
            np.add.at(marks, np.asarray(first) + 1, 1)
            np.add.at(marks, np.asarray(last) + 2, -1)
        dirty = np.cumsum(marks)[:-1] > 0  # index 0: chunk -1
        clean = {int(c) - 1 for c in np.flatnonzero(~dirty)}
        if not clean or len(clean) < least * len(dirty):
            return set()
        for f, page, low, high in changed:  # only they bound what must be read
            _keys_inside(f, page, low, high)
        return clean
    except (Odd, ValueError, IndexError, StructError, sqlite3.Error):
        return set()


def _chunk(cut, key: int) -> int:
    return min(max((key - cut.low) // cut.width, -1), cut.count)
