"""Row-by-row content comparison of one table: SQLite snapshot vs PostgreSQL target.

Both sides stream canonical rows in primary-key order (`stream`). For an integer key
each side first reduces its rows to one digest per key chunk, in its own process for a large
table (both cores); only chunks whose digests differ are read again and merged row by row.
Other keys are merged row by row directly: equal runs are skipped a slice at a time,
differences are counted as missing / extra / changed rows. A table without a primary key is
compared as a multiset, in passes that bound the memory it needs.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from math import ceil

from . import digest, stream
from .stream import Column, TableSpec

WINDOW = 256  # rows compared per fast-path slice
PARALLEL_MIN_ROWS = 50_000
MULTISET_PASS_ROWS = 500_000
MAX_RANGES = 200  # differing chunks re-read selectively; more: the whole table row by row


@dataclass
class RowDiff:
    """Counts of differing rows and the first few keys (or rows, for a multiset) that differ."""

    source_rows: int = 0
    target_rows: int = 0
    missing: int = 0
    extra: int = 0
    changed: int = 0
    nulled: int = 0  # changed rows whose differing target values are all NULL
    changed_columns: Counter = field(default_factory=Counter)
    samples: list[tuple[str, tuple]] = field(default_factory=list)
    method: dict = field(default_factory=dict)  # how the table was compared (validation.json)
    digests: object = None  # digest.Difference when compared by key-range digests

    @property
    def differences(self) -> int:
        return self.missing + self.extra + self.changed


class OrderBroken(Exception):
    """A side did not arrive in key order (e.g. mixed types in a SQLite key column)."""


class _Side:
    """A stream of batches read as one sequence of rows."""

    def __init__(self, batches: Iterator[list[tuple]], key: int) -> None:
        self.batches, self.key = batches, key
        self.rows: list[tuple] = []
        self.i = 0
        self.count = 0
        self.last: tuple | None = None

    def ready(self) -> bool:
        if self.i < len(self.rows):
            return True
        for batch in self.batches:
            if batch:
                self.count += len(batch)
                self.rows, self.i = batch, 0
                return True
        self.rows, self.i = [], 0
        return False

    def take(self) -> tuple:
        row = self.rows[self.i]
        self.i += 1
        key = row[:self.key]
        if self.last is not None and key <= self.last:
            raise OrderBroken(key)
        self.last = key
        return row


def _record(diff: RowDiff, kind: str, key: tuple, limit: int) -> None:
    setattr(diff, kind, getattr(diff, kind) + 1)
    if len(diff.samples) < limit:
        diff.samples.append((kind, key))


def _step(src: _Side, tgt: _Side, diff: RowDiff, spec: TableSpec, limit: int) -> None:
    """Advance one row on one or both sides, recording what differs."""
    k = spec.key
    a, b = src.rows[src.i][:k], tgt.rows[tgt.i][:k]
    if a < b:
        _record(diff, "missing", src.take()[:k], limit)
    elif b < a:
        _record(diff, "extra", tgt.take()[:k], limit)
    else:
        left, right = src.take(), tgt.take()
        if left != right:
            _record(diff, "changed", a, limit)
            differ = [(c.name, y) for c, x, y in zip(spec.columns, left, right, strict=True)
                      if x != y]
            diff.changed_columns.update(name for name, _ in differ)
            diff.nulled += all(y is None for _, y in differ)


def merge(source: Iterator[list[tuple]], target: Iterator[list[tuple]], spec: TableSpec,
          limit: int = 5) -> RowDiff:
    """Compare two key-ordered streams of canonical rows."""
    src, tgt, diff = _Side(source, spec.key), _Side(target, spec.key), RowDiff()
    while src.ready() and tgt.ready():
        n = min(WINDOW, len(src.rows) - src.i, len(tgt.rows) - tgt.i)
        if src.rows[src.i:src.i + n] == tgt.rows[tgt.i:tgt.i + n]:
            src.i += n
            tgt.i += n
            src.last = tgt.last = src.rows[src.i - 1][:spec.key]
            continue
        for _ in range(n):
            if not (src.ready() and tgt.ready()):
                break
            try:
                _step(src, tgt, diff, spec, limit)
            except TypeError as exc:  # keys of different types cannot be ordered
                raise OrderBroken(str(exc)) from None
    while src.ready():
        _record(diff, "missing", src.take()[:spec.key], limit)
    while tgt.ready():
        _record(diff, "extra", tgt.take()[:spec.key], limit)
    diff.source_rows, diff.target_rows = src.count, tgt.count
    return diff


def multiset(sides, spec: TableSpec, rows: int, limit: int = 5) -> RowDiff:
    """Compare as multisets of rows (no usable key), in passes of bounded memory."""
    passes = max(1, ceil(rows / MULTISET_PASS_ROWS))
    diff = RowDiff()
    for p in range(passes):
        balance: Counter = Counter()
        streams = sides(ordered=False)
        for sign, side in zip((1, -1), streams, strict=True):
            for batch in side:
                if sign == 1 and p == 0:
                    diff.source_rows += len(batch)
                elif p == 0:
                    diff.target_rows += len(batch)
                if passes > 1:
                    batch = [r for r in batch if zlib.crc32(repr(r).encode()) % passes == p]
                if sign == 1:
                    balance.update(batch)
                else:
                    balance.subtract(batch)
        for row, n in balance.items():
            for _ in range(abs(n)):
                _record(diff, "missing" if n > 0 else "extra", row, limit)
    return diff


def _sides(snapshot: str, connect_kwargs: dict, spec: TableSpec, rows: int,
           ordered: bool = True, ranges=None) -> list[Iterator]:
    pair = ((stream.source_batches, (snapshot, spec, ordered, ranges)),
            (stream.target_batches, (connect_kwargs, spec, ordered, ranges)))
    if rows >= PARALLEL_MIN_ROWS:
        return stream.parallel(*pair)
    return [make(*args) for make, args in pair]


def _digest_sides(snapshot: str, connect_kwargs: dict, spec: TableSpec,
                  rows: int) -> tuple[list[Iterator], list[Iterator]]:
    """Chunk digests of each side; a large table: two processes per side (key halves)."""
    if rows < PARALLEL_MIN_ROWS:
        return ([stream.source_digests(snapshot, spec)],
                [stream.target_digests(connect_kwargs, spec)])
    parts = stream.halves(snapshot, spec)
    jobs = [(stream.source_digests, (snapshot, spec, r)) for r in parts] + \
        [(stream.target_digests, (connect_kwargs, spec, r)) for r in parts]
    streams = stream.parallel(*jobs, bounded=False)
    return streams[:len(parts)], streams[len(parts):]


def differing_chunks(source: list[Iterator], target: list[Iterator]) -> tuple[list, int, int]:
    """Chunks whose (rows, digest) differ, and the row count of each side."""
    left = {c: (n, d) for batch in chain(*source) for c, n, d in batch}
    right = {c: (n, d) for batch in chain(*target) for c, n, d in batch}
    chunks = sorted(c for c in left.keys() | right.keys() if left.get(c) != right.get(c))
    return chunks, sum(n for n, _ in left.values()), sum(n for n, _ in right.values())


def ranges_of(chunks: list[int]) -> list[tuple[int, int]]:
    """Consecutive chunks joined into half-open key ranges."""
    out: list[tuple[int, int]] = []
    for c in chunks:
        lo, hi = c * stream.CHUNK, (c + 1) * stream.CHUNK
        if out and out[-1][1] == lo:
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def _by_digest(snapshot: str, connect_kwargs: dict, spec: TableSpec, rows: int,
               limit: int) -> RowDiff:
    chunks, left, right = differing_chunks(*_digest_sides(snapshot, connect_kwargs, spec, rows))
    if not chunks:
        return RowDiff(source_rows=left, target_rows=right)
    ranges = ranges_of(chunks)
    if len(ranges) > MAX_RANGES:
        return merge(*_sides(snapshot, connect_kwargs, spec, rows), spec, limit)
    diff = merge(*_sides(snapshot, connect_kwargs, spec, 0, ranges=ranges), spec, limit)
    diff.source_rows, diff.target_rows = left, right
    return diff


def by_digests(snapshot: str, connect_kwargs: dict, spec: TableSpec, limit: int,
               found: digest.Difference) -> RowDiff:
    """The digests' verdict: equal chunks are done; differing ones are read row by row."""
    method = {"path": "digests", "differing_chunks": found.chunks,
              "value_by_value": found.python_columns}
    if not found.ranges:
        return RowDiff(source_rows=found.source_rows, target_rows=found.target_rows,
                       method=method)
    if len(found.ranges) > MAX_RANGES:
        diff = merge(*_sides(snapshot, connect_kwargs, spec, found.source_rows), spec, limit)
    else:
        diff = merge(*_sides(snapshot, connect_kwargs, spec, 0, ranges=found.ranges), spec,
                     limit)
    diff.source_rows, diff.target_rows = found.source_rows, found.target_rows
    diff.method = method
    return diff


def compare(snapshot: str, connect_kwargs: dict, spec: TableSpec, expected_rows: int,
            limit: int = 5, sessions: digest.Sessions | None = None, hasher=None) -> RowDiff:
    """Compare one table's full content (or its sample share); both cores for large tables.

    With `sessions`, a full comparison of a table with an integer key is done by key-range
    digests (`digest`); a table they cannot describe exactly is compared row by row, and the
    reason is kept in the result's `method`; the digests are kept in its `digests` (with
    `hasher`, the snapshot's row hashes in them: `row_hash`)."""

    def sides(ordered: bool = True):
        return _sides(snapshot, connect_kwargs, spec, expected_rows, ordered=ordered)

    reason = None
    if sessions is not None and spec.sample >= 1.0:
        try:
            found = digest.differing(snapshot, sessions, spec, expected_rows, hasher)
            diff = by_digests(snapshot, connect_kwargs, spec, limit, found)
            diff.digests = found
            return diff
        except digest.Unfit as exc:
            reason = exc
    diff = _rows(snapshot, connect_kwargs, spec, expected_rows, limit, sides)
    diff.method = {"path": "rows", "reason": str(reason) if reason else "",
                   "reason_i18n": reason.text if reason else {}}
    return diff


def _rows(snapshot: str, connect_kwargs: dict, spec: TableSpec, expected_rows: int, limit: int,
          sides) -> RowDiff:
    if spec.key == 0:
        return multiset(sides, spec, expected_rows, limit)
    try:
        if spec.integer_key:
            try:
                return _by_digest(snapshot, connect_kwargs, spec, expected_rows, limit)
            except (RuntimeError, TypeError):  # a key that is no integer after all
                pass
        return merge(*sides(), spec, limit)
    except OrderBroken:
        return multiset(sides, spec, expected_rows, limit)


__all__ = ["Column", "TableSpec", "RowDiff", "compare", "merge", "multiset",
           "differing_chunks", "ranges_of", "by_digests"]
