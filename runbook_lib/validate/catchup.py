"""What a catch-up sync reads from the validator: a table's comparison spec and its digests.

`spec_of` describes one migrated table the way validation compares it (the target's types,
the Django field recorded by stage 03, the primary key first). `chunk_digests` digests a
snapshot and the target over one key chunking (`digest`): the sync compares the new snapshot
with the previous one (what changed in SQLite) and the target with the previous snapshot (what
changed in PostgreSQL), and reads only the differing key ranges.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

from ..core.sqlite_file import ro_uri
from . import digest, values
from .stream import Column, TableSpec

__all__ = ["spec_of", "chunk_digests", "changed_ranges"]


def spec_of(entry: dict, types: dict[str, str], schema: str, zone: str) -> TableSpec:
    """The comparison spec of a migrated table (`entry`: the manifest's table record, `types`:
    the target's column → type now)."""
    cols = [Column(c["name"], c.get("source_name", c["name"]),
                   values.field_class(values.type_class(types.get(c["name"], "text")),
                                      c.get("field")))
            for c in entry["columns"]]
    pk = list(entry.get("primary_key") or [])
    key = [c for name in pk for c in cols if c.name == name]
    if len(key) != len(pk):
        key = []
    rest = [c for c in cols if c not in key]
    return TableSpec(entry["table"], entry["source_table"], schema, len(key),
                     tuple(key + rest), zone)


def _cut(snapshot: str, spec: TableSpec, rows: int):
    src = sqlite3.connect(ro_uri(snapshot), uri=True)
    try:
        if src.execute("PRAGMA encoding").fetchone()[0] != "UTF-8":
            raise digest.Unfit("encoding")
        return digest.chunking(src, spec, rows), digest.declared_types(src, spec.source_table)
    finally:
        src.close()


def chunk_digests(new: str, previous: str, sessions: digest.Sessions, spec: TableSpec,
                  rows: int) -> tuple[digest.Chunking, list[digest.Digests]]:
    """The chunking of the new snapshot's keys and, over it, the digests of the new snapshot,
    the previous snapshot and the target (PostgreSQL's computed meanwhile). Raises
    `digest.Unfit` when the table cannot be digested exactly."""
    if not spec.integer_key:
        raise digest.Unfit("key")
    cut, declared = _cut(new, spec, rows)
    _, declared_before = _cut(previous, spec, rows)
    parts = digest.SOURCE_PARTS if rows >= digest.PARALLEL_MIN_ROWS else 1
    with ThreadPoolExecutor(2) as pool:
        target = pool.submit(digest.target_digests, sessions, spec, cut)
        before = pool.submit(digest.source_digests, previous, spec, cut, declared_before, 1)
        try:
            now = digest.source_digests(new, spec, cut, declared, parts)
        finally:
            found = [before.result(), target.result()]
    return cut, [now, *found]


def changed_ranges(cut: digest.Chunking, a: digest.Digests, b: digest.Digests) -> list[tuple]:
    """Key ranges [low, high) (None: open) of the chunks whose rows or digests differ."""
    chunks = [c for c in a.chunks.keys() | b.chunks.keys() if a.chunks.get(c) != b.chunks.get(c)]
    return cut.ranges(chunks)
