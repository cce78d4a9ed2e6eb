"""Row-by-row content comparison of one table: SQLite snapshot vs PostgreSQL target.

Both sides stream their rows in primary-key order (SQLite `fetchmany`, a server-side named
cursor on PostgreSQL), converted to canonical values (`validate_values`), and are merged:
equal runs are skipped a slice at a time, differences are counted as missing / extra /
changed rows. Large tables read each side in its own process (both cores). A table without a
primary key is compared as a multiset, in passes that bound the memory it needs.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from math import ceil

import psycopg2

from . import validate_values as values
from .identifiers import quote_ident

BATCH = 10_000
WINDOW = 256  # rows compared per fast-path slice
PARALLEL_MIN_ROWS = 50_000
MULTISET_PASS_ROWS = 500_000
SAMPLE_BUCKETS = 1000


@dataclass(frozen=True)
class Column:
    """One compared column: target name, source name, comparison class."""

    name: str
    source_name: str
    klass: str


@dataclass(frozen=True)
class TableSpec:
    """What to compare: the table on both sides, its key (first columns) and its columns."""

    table: str
    source_table: str
    schema: str
    key: int  # the first `key` columns are the primary key
    columns: tuple[Column, ...]
    zone: str = ""
    sample: float = 1.0  # share of rows compared (integer single-column key only)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass
class RowDiff:
    """Counts of differing rows and the first few keys (or rows, for a multiset) that differ."""

    source_rows: int = 0
    target_rows: int = 0
    missing: int = 0
    extra: int = 0
    changed: int = 0
    changed_columns: Counter = field(default_factory=Counter)
    samples: list[tuple[str, tuple]] = field(default_factory=list)

    @property
    def differences(self) -> int:
        return self.missing + self.extra + self.changed


class OrderBroken(Exception):
    """A side did not arrive in key order (e.g. mixed types in a SQLite key column)."""


def _sample_where(spec: TableSpec, quoted_key: str) -> str:
    if spec.sample >= 1.0 or spec.key != 1 or spec.columns[0].klass != "int":
        return ""
    share = max(1, round(spec.sample * SAMPLE_BUCKETS))  # 37 spreads neighbouring ids apart
    return f" WHERE abs({quoted_key}) % {SAMPLE_BUCKETS} * 37 % {SAMPLE_BUCKETS} < {share}"


def source_sql(spec: TableSpec, ordered: bool = True) -> str:
    cols = [quote_ident(c.source_name) for c in spec.columns]
    order = f" ORDER BY {', '.join(cols[:spec.key])}" if ordered and spec.key else ""
    where = _sample_where(spec, cols[0]) if spec.key else ""
    return f"SELECT {', '.join(cols)} FROM {quote_ident(spec.source_table)}{where}{order}"


def target_sql(spec: TableSpec, ordered: bool = True) -> str:
    cols = [quote_ident(c.name) for c in spec.columns]
    exprs = [values.pg_expression(c.klass, q) for c, q in zip(spec.columns, cols, strict=True)]
    keys = [q + (' COLLATE "C"' if c.klass in ("text", "bpchar") else "")
            for c, q in zip(spec.columns[:spec.key], cols, strict=False)]
    order = f" ORDER BY {', '.join(keys)}" if ordered and spec.key else ""
    where = _sample_where(spec, cols[0]) if spec.key else ""
    table = f"{quote_ident(spec.schema)}.{quote_ident(spec.table)}"
    return f"SELECT {', '.join(exprs)} FROM {table}{where}{order}"


def open_source(path: str) -> sqlite3.Connection:
    """The snapshot, read-only: the source is never written."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)


def source_batches(path: str, spec: TableSpec, ordered: bool = True) -> Iterator[list[tuple]]:
    """Canonical source rows, in key order, BATCH at a time."""
    zone = values.zone_of(spec.zone)
    conv = [(i, f) for i, c in enumerate(spec.columns)
            if (f := values.source_converter(c.klass, zone)) is not None]
    conn = open_source(path)
    try:
        cur = conn.execute(source_sql(spec, ordered))
        while batch := cur.fetchmany(BATCH):
            yield values.convert_batch(batch, conv)
    finally:
        conn.close()


def target_batches(connect_kwargs: dict, spec: TableSpec,
                   ordered: bool = True) -> Iterator[list[tuple]]:
    """Canonical target rows, in key order, through a server-side cursor."""
    conv = [(i, f) for i, c in enumerate(spec.columns)
            if (f := values.target_converter(c.klass)) is not None]
    conn = psycopg2.connect(**connect_kwargs)
    try:
        conn.set_session(readonly=True)
        with conn.cursor(name="runbook_validate") as cur:
            cur.itersize = BATCH
            cur.execute(target_sql(spec, ordered))
            while batch := cur.fetchmany(BATCH):
                yield values.convert_batch(batch, conv)
    finally:
        conn.close()


def _pump(make, args, queue) -> None:
    """Worker process: push one side's batches into the queue, then None (or an error)."""
    try:
        for batch in make(*args):
            queue.put(batch)
        queue.put(None)
    except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


def _drain(queue, process) -> Iterator[list[tuple]]:
    """The worker's batches; a worker left behind (comparison abandoned) is stopped."""
    try:
        while (item := queue.get()) is not None:
            if isinstance(item, tuple):
                raise RuntimeError(item[1])
            yield item
        process.join()
    finally:
        if process.is_alive():
            process.terminate()
            process.join()


def parallel(*sides: tuple) -> list[Iterator[list[tuple]]]:
    """Run each (function, args) side in its own process; iterate their batches here."""
    ctx = multiprocessing.get_context("fork" if "fork" in
                                      multiprocessing.get_all_start_methods() else "spawn")
    streams = []
    for make, args in sides:
        queue = ctx.Queue(maxsize=4)
        proc = ctx.Process(target=_pump, args=(make, args, queue), daemon=True)
        proc.start()
        streams.append(_drain(queue, proc))
    return streams


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
            diff.changed_columns.update(c.name for c, x, y in
                                        zip(spec.columns, left, right, strict=True) if x != y)


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
        for sign, stream in zip((1, -1), streams, strict=True):
            for batch in stream:
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


def compare(snapshot: str, connect_kwargs: dict, spec: TableSpec, expected_rows: int,
            limit: int = 5) -> RowDiff:
    """Compare one table's full content (or its sample share); both cores for large tables."""

    def sides(ordered: bool = True):
        pair = ((source_batches, (snapshot, spec, ordered)),
                (target_batches, (connect_kwargs, spec, ordered)))
        if expected_rows >= PARALLEL_MIN_ROWS:
            return parallel(*pair)
        return [make(*args) for make, args in pair]

    if spec.key == 0:
        return multiset(sides, spec, expected_rows, limit)
    try:
        return merge(*sides(), spec, limit)
    except OrderBroken:
        return multiset(sides, spec, expected_rows, limit)


__all__ = ["Column", "TableSpec", "RowDiff", "compare", "merge", "source_sql", "target_sql",
           "open_source"]
