"""What a catch-up sync reads from the validator: a table's comparison spec and its digests.

`spec_of` describes one migrated table the way validation compares it (the target's types,
the Django field recorded by stage 03, the primary key first). `chunk_digests` digests a
snapshot and the target over one key chunking (`digest`): the sync compares the new snapshot
with the previous one (what changed in SQLite) and the target with the previous snapshot (what
changed in PostgreSQL), and reads only the differing key ranges.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from math import ceil

import numpy as np

from ..core.identifiers import quote_ident
from ..core.sqlite_quirks import open_ro
from . import codes, digest, pages, row_hash, values
from .stream import Column, TableSpec

__all__ = ["spec_of", "chunk_digests", "compare_pages", "changed_ranges", "changed_chunks", "record",
           "target_chunks", "fingerprint", "row_hashes", "rows_differ", "row_codes",
           "previous_row_hashes", "save_row_hashes", "changed_keys"]


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
    src = open_ro(snapshot)
    try:
        if src.execute("PRAGMA encoding").fetchone()[0] != "UTF-8":
            raise digest.Unfit("encoding")
        return digest.chunking(src, spec, rows), digest.declared_types(src, spec.source_table)
    finally:
        src.close()


def fingerprint(spec: TableSpec) -> list:
    """What a recorded digest depends on: the columns, their comparison classes and the
    codes' version."""
    return [[c.name, c.source_name, c.klass] for c in spec.columns] + [spec.zone,
                                                                        codes.VERSION]


def record(cut: digest.Chunking, found: digest.Digests, spec: TableSpec,
           target_equal: bool = False) -> dict:
    """A snapshot's digests as JSON, for the next sync (its `previous`); `target_equal`: the
    target was proven to hold exactly these digests."""
    return {"cut": [cut.low, cut.width, cut.count], "spec": fingerprint(spec),
            "rows": found.rows, "target_equal": target_equal,
            "chunks": {str(c): [n, list(d)] for c, (n, d) in found.chunks.items()}}


def _recorded(cached: dict | None, spec: TableSpec):
    if not cached or cached.get("spec") != fingerprint(spec):
        return None, None
    found = digest.Digests({int(c): (n, tuple(d)) for c, (n, d) in cached["chunks"].items()})
    return digest.Chunking(*cached["cut"]), found


def _keys(snapshot: str, spec: TableSpec) -> tuple[int | None, int | None]:
    key, table = quote_ident(spec.columns[0].source_name), quote_ident(spec.source_table)
    src = open_ro(snapshot)
    try:
        return src.execute(f"SELECT (SELECT {key} FROM {table} ORDER BY {key} LIMIT 1), "
                           f"(SELECT {key} FROM {table} ORDER BY {key} DESC LIMIT 1)").fetchone()
    finally:
        src.close()


def _widen(cut: digest.Chunking, before: digest.Digests, low, high):
    """The recorded chunking grown by whole chunks to cover the new snapshot's keys (the
    source side numbers every chunk, the target lumps keys outside into chunks -1 and
    `count`): the recorded chunks keep their bounds, renumbered when it grew downwards."""
    if not (type(low) is int and type(high) is int):
        return cut, before
    shift = max(0, ceil((cut.low - low) / cut.width))
    start = cut.low - shift * cut.width
    count = max(cut.count + shift, ceil((high - start + 1) / cut.width))
    if count - shift > cut.count + 4 * max(cut.count, 1):  # grew past 4×: chunked afresh
        return None, None
    moved = digest.Digests({c + shift: v for c, v in before.chunks.items()})
    return digest.Chunking(start, cut.width, count), moved


REUSE_LEAST = 0.25  # fewer chunks unchanged page by page than this share: all are read
REUSE_RUNS = 256  # more separate key ranges to read than this: all are read


def _runs(chunks: list[int], longest: int) -> list[tuple[int, int]]:
    """Consecutive chunk numbers as (first, last) runs of at most `longest` chunks (the
    digest threads share them out)."""
    out: list[tuple[int, int]] = []
    for c in chunks:
        if out and out[-1][1] == c - 1 and c - out[-1][0] < longest:
            out[-1] = (out[-1][0], c)
        else:
            out.append((c, c))
    return out


def _reusing(new: str, spec: TableSpec, cut: digest.Chunking, declared: dict, parts: int,
             hasher, before: digest.Digests, previous_rows, clean: set[int]):
    """The new snapshot's digests (and row hashes) with the `clean` chunks, unchanged page by
    page (`pages`), taken from the previous snapshot's and only the others read; None when
    they lie in too many separate ranges."""
    todo = [c for c in range(-1, cut.count + 1) if c not in clean]
    runs = _runs(todo, ceil(len(todo) / (parts * digest.RANGES_PER_THREAD)))
    if len(runs) > REUSE_RUNS:
        return None
    ranges = [(cut.bounds(a)[0], cut.bounds(b)[1]) for a, b in runs]
    now = digest.source_digests(new, spec, cut, declared, parts, hasher, ranges)
    now.chunks.update({c: before.chunks[c] for c in clean if c in before.chunks})
    now.reused = sum(1 for c in clean if 0 <= c < cut.count)
    if hasher is not None:
        now.row_hashes = _merged(cut, clean, previous_rows, now.row_hashes)
    return now


def _merged(cut: digest.Chunking, clean: set[int], previous, read):
    """Row hashes in key order: the previous snapshot's in the `clean` chunks, those `read`
    elsewhere (both sorted by key; a stretch of chunks is a key range, sliced by bisection)."""
    keys, hashes, first = [], [], -1
    for c in range(-1, cut.count + 1):
        if c == cut.count or (c in clean) != (c + 1 in clean):
            src = previous if c in clean else read
            low, high = cut.bounds(first)[0], cut.bounds(c)[1]
            a = 0 if low is None else int(np.searchsorted(src.keys, low))
            b = len(src.keys) if high is None else int(np.searchsorted(src.keys, high))
            keys.append(src.keys[a:b])
            hashes.append(src.hashes[a:b])
            first = c + 1
    return row_hash.RowHashes(np.concatenate(keys), np.concatenate(hashes), read.seed)


def _new_digests(new: str, spec: TableSpec, cut: digest.Chunking, declared: dict, parts: int,
                 hasher, before: digest.Digests | None, previous_rows, compared):
    """The new snapshot's digests: the chunks `pages` finds unchanged since the previous
    snapshot taken from its recorded digests and row hashes, the others read."""
    if before is not None and compared is not None and (hasher is None
                                                        or previous_rows is not None):
        clean = pages.clean_chunks(compared, spec.source_table, spec.columns[0].source_name,
                                   cut, REUSE_LEAST)
        found = _reusing(new, spec, cut, declared, parts, hasher, before, previous_rows,
                         clean) if clean else None
        if found is not None:
            return found
    return digest.source_digests(new, spec, cut, declared, parts, hasher)


def chunk_digests(new: str, previous: str, sessions: digest.Sessions, spec: TableSpec,
                  rows: int, cached: dict | None = None,
                  target_unchanged: Callable[[], bool] | None = None, hasher=None,
                  previous_rows=None, compared: pages.Compared | None = None
                  ) -> tuple[digest.Chunking, list[digest.Digests], bool]:
    """The chunking and, over it, the digests of the new snapshot, the previous snapshot and
    the target (PostgreSQL's computed meanwhile). `cached`: the previous snapshot's digests as
    the last sync recorded them (`record`): its chunking is kept (grown to the new keys) and
    the previous snapshot is not read again; then `target_unchanged` (does the target hold
    exactly that snapshot, nothing written to it since?) is asked once the new snapshot is
    read, and the target is read only if it says no. With
    `hasher` (`row_hash`), the new snapshot's row hashes too, and the previous one's when it is
    read. With `compared` (`pages.compare` of the two snapshots) and the previous snapshot's
    recorded digests (and row hashes, `previous_rows`, if `hasher`), chunks unchanged page by
    page are not read. The third value: was the previous snapshot read? Raises `digest.Unfit`
    when the table cannot be digested exactly."""
    if not spec.integer_key:
        raise digest.Unfit("key")
    cut, before = _recorded(cached, spec)
    fresh, declared = _cut(new, spec, rows)
    if cut is not None:
        cut, before = _widen(cut, before, *_keys(new, spec))
    read = before is None
    if cut is None and fresh.count == 0:  # emptied: chunk the keys it had, as the target does
        fresh = _cut(previous, spec, rows)[0]
    cut = cut or fresh
    parts = digest.threads(rows)
    if before is not None and target_unchanged is not None:
        now = _new_digests(new, spec, cut, declared, parts, hasher, before, previous_rows,
                           compared)
        if target_unchanged():
            return cut, [now, before, before], read
        return cut, [now, before, digest.target_digests(sessions, spec, cut)], read
    with ThreadPoolExecutor(2) as pool:
        target = pool.submit(digest.target_digests, sessions, spec, cut)
        try:
            now = digest.source_digests(new, spec, cut, declared, parts, hasher)
        finally:
            found = target.result()
    if before is None:
        _, declared_before = _cut(previous, spec, rows)
        before = digest.source_digests(previous, spec, cut, declared_before, parts, hasher)
    return cut, [now, before, found], read


def row_hashes(snapshot: str, spec: TableSpec, cut: digest.Chunking, rows: int, hasher):
    """A snapshot's row hashes (`row_hash`), read in the digest pass of `cut`."""
    _, declared = _cut(snapshot, spec, rows)
    return digest.source_digests(snapshot, spec, cut, declared, digest.threads(rows),
                                 hasher).row_hashes


def _declared(snapshot: str, spec: TableSpec) -> dict:
    src = open_ro(snapshot)
    try:
        return digest.declared_types(src, spec.source_table)
    finally:
        src.close()


def rows_differ(snapshot: str, sessions: digest.Sessions, spec: TableSpec, keys: list[int],
                mine: dict | None = None) -> list[int]:
    """The keys whose row differs between the snapshot and the target, code by code
    (`row_proof`; `mine`: the snapshot's side, `row_codes`, if computed beforehand)."""
    from . import row_proof

    return row_proof.differing_keys(snapshot, sessions, spec, _declared(snapshot, spec), keys,
                                    mine)


def row_codes(snapshot: str, spec: TableSpec, keys: list[int]) -> dict:
    """The snapshot's side of `rows_differ` (key → codes), e.g. while PostgreSQL is busy."""
    from . import row_proof

    return row_proof.snapshot_codes(snapshot, spec, _declared(snapshot, spec), keys)


def previous_row_hashes(snapshot: str, name: str = row_hash.FILE, seed: int | None = None):
    """spec → (the row hashes the last sync (or, `name`, stage 04: `handover`) recorded beside
    `snapshot` for this table, or None; the hasher for the new snapshot: the recorded seed, so
    the two compare). With `seed`, a file recorded under another seed is not used."""
    meta, data = row_hash.load(snapshot, name)
    seeds = {v.get("seed") for v in (meta.get("tables") or {}).values()}
    if seed is not None and seeds != {seed}:
        meta, data, seeds = {}, None, set()
    seed = seeds.pop() if len(seeds) == 1 else row_hash.new_seed()
    hasher = row_hash.Hasher(seed)

    def one(spec: TableSpec):
        found = row_hash.recorded(meta, data, spec.table, fingerprint(spec)) if data else None
        return (found if found is not None and found.seed == seed else None), hasher
    return one


def save_row_hashes(folder, snapshot: str, tables: dict, name: str = row_hash.FILE) -> None:
    """Record the row hashes of `snapshot` (table → (spec, RowHashes)) beside it (`folder`)."""
    from pathlib import Path

    row_hash.save(Path(folder) / name, snapshot,
                  {name: (fingerprint(spec), found) for name, (spec, found) in tables.items()})


changed_keys = row_hash.changes
compare_pages = pages.compare


def changed_chunks(a: digest.Digests, b: digest.Digests) -> list[int]:
    """The chunks whose rows or digests differ."""
    return sorted(c for c in a.chunks.keys() | b.chunks.keys()
                  if a.chunks.get(c) != b.chunks.get(c))


def changed_ranges(cut: digest.Chunking, a: digest.Digests, b: digest.Digests) -> list[tuple]:
    """Key ranges [low, high) (None: open) of the chunks whose rows or digests differ."""
    return cut.ranges(changed_chunks(a, b))


def target_chunks(sessions: digest.Sessions, spec: TableSpec, cut: digest.Chunking,
                  chunks: list[int]) -> digest.Digests:
    """The target's digests of some chunks only (the proof after a sync applied them)."""
    if len(chunks) * 4 > cut.count:  # most of the table: every chunk, in parallel sessions
        every = digest.target_digests(sessions, spec, cut)
        return digest.Digests({c: v for c, v in every.chunks.items() if c in set(chunks)})
    params = {"low": cut.low, "width": cut.width, "count": cut.count}
    inner = sorted(c for c in chunks if 0 <= c < cut.count)
    runs: list[list[int]] = []
    for c in inner:
        if runs and runs[-1][1] == c - 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    found = [r for first, last in runs
             for r in sessions.run(digest.lateral_sql(spec), {**params, "first": first,
                                                              "last": last})]
    if -1 in chunks:
        found.append((-1, *sessions.run(digest.outside_sql(spec, True), params)[0]))
    if cut.count in chunks:
        found.append((cut.count, *sessions.run(digest.outside_sql(spec, False), params)[0]))
    out = digest.Digests()
    for chunk, n, *digests in found:
        if n:
            out.chunks[int(chunk)] = (n, tuple(digests))
    return out
