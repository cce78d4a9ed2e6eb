"""Finding what a sync must carry, table by table, and proving it afterwards.

Per table with one integer key: digests of the new snapshot, the previous one (recorded by the
last sync, else read) and the target over the same key chunks (`validate.chunk_digests`). The
chunks where the snapshots differ are narrowed to keys by joining the two snapshots in SQLite
(`sync_keys`); the chunks where the target differs from the previous snapshot are checked row by
row for writes made on PostgreSQL. Other tables are compared whole. After the commit, the
target's digests of the applied chunks are computed again and compared with the new snapshot's:
with the unchanged chunks (equal before), every chunk of the table is then proven equal by the
canonical codes validation uses.
"""

from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from ..core import db
from ..validate import (
    DigestSessions,
    Unfit,
    changed_chunks,
    chunk_digests,
    digest_record,
    spec_of,
    target_chunks,
)
from . import sync_keys

__all__ = ["Work", "find", "prove"]


@dataclass
class Work:
    """One table: how it is compared, what to stage and delete, what to check for divergence."""

    entry: dict
    spec: object
    method: str = "digests"  # digests | whole | multiset
    reason: dict = field(default_factory=dict)
    keys: list[int] | None = None  # keys to stage from the new snapshot (None: every row)
    gone: list[int] = field(default_factory=list)  # keys deleted from the source
    check: list | None = None  # key ranges where the target differs from the previous snapshot
    cut: object = None
    now: object = None  # the new snapshot's digests
    applied: list[int] = field(default_factory=list)  # chunks the sync changes
    checked_chunks: list[int] = field(default_factory=list)
    result: object = None  # the TableSync the sync reports
    seconds: dict = field(default_factory=dict)  # digests, narrowing

    @property
    def table(self) -> str:
        return self.entry["table"]

    @property
    def busy(self) -> bool:
        """Anything to stage, delete or check?"""
        return self.keys is None or bool(self.keys or self.gone or self.check)


def _one(pair, new: Path, old: Path, sessions, entry: dict, spec, rows: int,
         cached: dict | None) -> Work:
    work = Work(entry, spec)
    began = time.perf_counter()
    if not spec.key:
        work.method = "multiset"
        return work
    try:
        cut, (now, before, target) = chunk_digests(str(new), str(old), sessions, spec, rows,
                                                   cached)
    except Unfit as exc:
        work.method, work.reason = "whole", exc.text
        return work
    work.cut, work.now = cut, now
    work.seconds["digests"] = time.perf_counter() - began
    work.applied = changed_chunks(now, before)
    work.checked_chunks = changed_chunks(target, before)
    work.check = cut.ranges(work.checked_chunks)
    key = spec.columns[0].source_name
    if work.applied:
        columns = [c.source_name for c in spec.columns]
        work.keys, work.gone = sync_keys.changed(pair, spec.source_table, key, columns,
                                                 cut.ranges(work.applied))
    else:
        work.keys = []
    work.seconds["narrowing"] = time.perf_counter() - began - work.seconds["digests"]
    return work


def find(settings, new: Path, old: Path, section: dict, types: dict, rows: dict, where: str,
         cached: dict) -> list[Work]:
    """Every migrated table's work, in the migration's load order."""
    zone = section.get("source_timezone") or settings.source_timezone or "UTC"
    specs = [(e, spec_of(e, types[e["table"]], where, zone)) for e in section["tables"]]
    with closing(DigestSessions(db.connect_kwargs(settings), settings.workers)) as sessions, \
            closing(sync_keys.open_pair(new, old)) as pair:
        return [_one(pair, new, old, sessions, e, s, rows[e["source_table"]],
                     cached.get(e["table"])) for e, s in specs]


def prove(settings, works: list[Work], overwrite: bool) -> tuple[dict, list[str]]:
    """After the commit: the target's digests of the changed chunks against the new snapshot's.
    Returns the digests to record for the next sync and the tables whose chunks still differ
    (values `on_bad_value` turned NULL or set aside, or a write during the sync)."""
    recorded, differ = {}, []
    with closing(DigestSessions(db.connect_kwargs(settings), settings.workers)) as sessions:
        for w in works:
            if w.method != "digests":
                continue
            chunks = sorted(set(w.applied) | (set(w.checked_chunks) if overwrite else set()))
            after = target_chunks(sessions, w.spec, w.cut, chunks) if chunks else None
            same = after is None or all(after.chunks.get(c) == w.now.chunks.get(c)
                                        for c in chunks)
            unchanged = set(w.checked_chunks) - set(chunks)  # target ≠ snapshot there already
            if not same or unchanged:
                differ.append(w.table)
            recorded[w.table] = digest_record(w.cut, w.now, w.spec)
    return recorded, differ
