"""Reading one table's canonical rows from each side, in key order, in worker processes.

SQLite is read with `fetchmany`, PostgreSQL through a server-side named cursor, BATCH rows at
a time, each converted to canonical values (`values`). For an integer key, a side can
instead reduce its rows to one digest per key chunk (`key // CHUNK`): the parent then compares
a few thousand digests rather than millions of rows, and re-reads only chunks that differ.
"""

from __future__ import annotations

import gc
import hashlib
import marshal
import multiprocessing
import sqlite3
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg2

from ..core.identifiers import quote_ident
from ..core.sqlite_quirks import open_ro
from . import values

BATCH = 10_000
CHUNK = 2_000  # key values per digest
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

    @property
    def integer_key(self) -> bool:
        return self.key == 1 and self.columns[0].klass == "int"


Ranges = list[tuple[int | None, int | None]]  # half-open key ranges [low, high); None: open


def _between(key: str, low: int | None, high: int | None) -> str:
    bounds = ([f"{key} >= {int(low)}"] if low is not None else []) + \
        ([f"{key} < {int(high)}"] if high is not None else [])
    return "(" + " AND ".join(bounds or ["TRUE"]) + ")"


def _where(spec: TableSpec, key: str, ranges: Ranges | None) -> str:
    parts = []
    if spec.sample < 1.0 and spec.integer_key:
        share = max(1, round(spec.sample * SAMPLE_BUCKETS))  # 37 spreads neighbouring ids
        parts.append(f"abs({key}) % {SAMPLE_BUCKETS} * 37 % {SAMPLE_BUCKETS} < {share}")
    if ranges:
        parts.append("(" + " OR ".join(_between(key, lo, hi) for lo, hi in ranges) + ")")
    return " WHERE " + " AND ".join(parts) if parts else ""


def source_sql(spec: TableSpec, ordered: bool = True, ranges: Ranges | None = None) -> str:
    cols = [quote_ident(c.source_name) for c in spec.columns]
    exprs = [values.sqlite_expression(c.klass, q)
             for c, q in zip(spec.columns, cols, strict=True)]
    order = f" ORDER BY {', '.join(cols[:spec.key])}" if ordered and spec.key else ""
    return (f"SELECT {', '.join(exprs)} FROM {quote_ident(spec.source_table)}"
            f"{_where(spec, cols[0], ranges)}{order}")


def target_sql(spec: TableSpec, ordered: bool = True, ranges: Ranges | None = None) -> str:
    cols = [quote_ident(c.name) for c in spec.columns]
    exprs = [values.pg_expression(c.klass, q) for c, q in zip(spec.columns, cols, strict=True)]
    keys = [q + (' COLLATE "C"' if c.klass in ("text", "bpchar") else "")
            for c, q in zip(spec.columns[:spec.key], cols, strict=False)]
    order = f" ORDER BY {', '.join(keys)}" if ordered and spec.key else ""
    table = f"{quote_ident(spec.schema)}.{quote_ident(spec.table)}"
    return f"SELECT {', '.join(exprs)} FROM {table}{_where(spec, cols[0], ranges)}{order}"


def lenient(raw: bytes) -> str:
    """Text that is not UTF-8, read anyway (stage 03 nulled or set aside such values): its
    bad bytes as \\x escapes, printable in the report."""
    return raw.decode("utf-8", "backslashreplace")


def source_batches(path: str, spec: TableSpec, ordered: bool = True,
                   ranges: Ranges | None = None) -> Iterator[list[tuple]]:
    """Canonical source rows, in key order, BATCH at a time. Text that is not UTF-8 (set
    aside or nulled by stage 03) stops SQLite's fast decoding: the rest of the rows are then
    read again, from where they stopped, decoded leniently."""
    plan = values.converters([c.klass for c in spec.columns], "source",
                             values.zone_of(spec.zone))
    conn = open_ro(path)
    done, sql = 0, source_sql(spec, ordered, ranges)
    try:
        try:
            cur = conn.execute(sql)
            while batch := cur.fetchmany(BATCH):
                yield values.convert_batch(batch, plan)
                done += len(batch)
        except sqlite3.OperationalError as exc:
            if "decode" not in str(exc):
                raise
            conn.text_factory = lenient
            cur = conn.execute(f"{sql} LIMIT -1 OFFSET {done}")
            while batch := cur.fetchmany(BATCH):
                yield values.convert_batch(batch, plan)
    finally:
        conn.close()


def target_batches(connect_kwargs: dict, spec: TableSpec, ordered: bool = True,
                   ranges: Ranges | None = None) -> Iterator[list[tuple]]:
    """Canonical target rows, in key order, through a server-side cursor."""
    plan = values.converters([c.klass for c in spec.columns], "target")
    conn = psycopg2.connect(**connect_kwargs)
    try:
        conn.set_session(readonly=True)
        with conn.cursor(name="runbook_validate") as cur:
            cur.itersize = BATCH
            cur.execute(target_sql(spec, ordered, ranges))
            while batch := cur.fetchmany(BATCH):
                yield values.convert_batch(batch, plan)
    finally:
        conn.close()


def _digest(rows: list[tuple]) -> bytes:
    """Digest of canonical rows; equal rows give equal bytes (marshal v2 keeps no references)."""
    return hashlib.blake2b(marshal.dumps(rows, 2), digest_size=16).digest()


def chunk_digests(batches: Iterator[list[tuple]]) -> Iterator[list[tuple[int, int, bytes]]]:
    """(chunk, rows, digest) per CHUNK of integer key values, from key-ordered batches."""
    held: list[tuple] = []
    current = None
    for batch in batches:
        keys = [r[0] for r in batch]
        out, start = [], 0
        while start < len(batch):
            chunk = keys[start] // CHUNK
            end = bisect_left(keys, (chunk + 1) * CHUNK, start)
            if chunk != current and held:
                out.append((current, len(held), _digest(held)))
                held = []
            held += batch[start:end]
            current, start = chunk, end
        yield out
    if held:
        yield [(current, len(held), _digest(held))]


def source_digests(path: str, spec: TableSpec, ranges: Ranges | None = None) -> Iterator[list]:
    return chunk_digests(source_batches(path, spec, True, ranges))


def target_digests(connect_kwargs: dict, spec: TableSpec,
                   ranges: Ranges | None = None) -> Iterator[list]:
    return chunk_digests(target_batches(connect_kwargs, spec, True, ranges))


def halves(path: str, spec: TableSpec) -> list[Ranges | None]:
    """The integer key space cut in two at a chunk boundary (one worker per half and side)."""
    conn = open_ro(path)
    try:
        key = quote_ident(spec.columns[0].source_name)
        low, high = conn.execute(f"SELECT min({key}), max({key}) FROM "
                                 f"{quote_ident(spec.source_table)}").fetchone()
    finally:
        conn.close()
    if not (isinstance(low, int) and isinstance(high, int)) or high - low < 2 * CHUNK:
        return [None]
    middle = (low + high) // 2 // CHUNK * CHUNK
    return [[(None, middle)], [(middle, None)]]


def _pump(make, args, queue) -> None:
    """Worker process: push one side's batches into the queue, then None (or an error)."""
    gc.disable()  # millions of short-lived row tuples and no cycles: collection only costs time
    try:
        for batch in make(*args):
            queue.put(batch)
        queue.put(None)
    except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


def _drain(queue, process) -> Iterator[list]:
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


def parallel(*sides: tuple, bounded: bool = True) -> list[Iterator[list]]:
    """Run each (function, args) side in its own process; iterate their batches here.

    `bounded` queues hold a few batches (the parent reads the sides in step); digests are
    small, so their queues are unbounded and no worker waits for the parent.
    """
    ctx = multiprocessing.get_context("fork" if "fork" in
                                      multiprocessing.get_all_start_methods() else "spawn")
    streams = []
    for make, args in sides:
        queue = ctx.Queue(maxsize=4 if bounded else 0)
        proc = ctx.Process(target=_pump, args=(make, args, queue), daemon=True)
        proc.start()
        streams.append(_drain(queue, proc))
    return streams


__all__ = ["Column", "TableSpec", "source_sql", "target_sql", "source_batches",
           "target_batches", "chunk_digests", "source_digests", "target_digests", "parallel",
           "halves"]
