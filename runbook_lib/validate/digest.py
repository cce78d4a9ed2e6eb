"""Primary-key range digests: one table compared chunk by chunk, each side hashing its own values.

The integer key space is cut into chunks of about ROWS_PER_CHUNK rows (`Chunking`, from the
source's min, max and row count). For every chunk and column, PostgreSQL computes the md5 of the
column's canonical codes in key order (`codes.pg_code`), in parallel sessions (`Sessions`), one
LATERAL index range scan per chunk; meanwhile one pass reads the SQLite snapshot through
Arrow (ADBC), builds the same codes with vectorised kernels (`codes.arrow_codes`, value by value
where a batch is not in the plain form) and hashes them. Chunks whose row count or any column's
digest differ are the ranges to read row by row (`rows`). Nothing but digests crosses the wire.

`compare` is what validation uses; `differing` is the reusable core (catch-up sync reads the
changed key ranges from it). A table the digests cannot describe exactly (no integer key, a
column whose SQLite values are not of one storage class, keys out of order, a target that is
not UTF-8) raises `Unfit` with the reason, and is compared row by row instead.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from math import ceil

import numpy as np
import psycopg2

from ..core.i18n import LANGUAGES, Text, fill, t
from ..core.identifiers import quote_ident
from ..core.sqlite_file import affinity, ro_uri
from ..core.sqlite_quirks import open_ro
from . import codes, row_hash, values
from .stream import TableSpec

ROWS_PER_CHUNK = 2_000
BATCH_ROWS = 65_536
PARALLEL_MIN_ROWS = 200_000  # from here the SQLite side is read in SOURCE_PARTS threads
SOURCE_PARTS = 2  # threads
RANGES_PER_THREAD = 2  # key ranges per thread: a thread that finishes early takes the next
MAX_SPAN = 2 ** 62  # key spans beyond this could overflow int64 chunk arithmetic
# a chunk's rows read in key order by an index scan, so its ordered aggregates need no sort
# (a bitmap scan reads them in heap order and every aggregate then sorts them again)
PLANNER = ("SET enable_bitmapscan TO off",)


class Unfit(Exception):
    """This table cannot be compared by digests; `text` says why (en/ko), `detail` is the
    underlying error if any (a driver's own words, or a Text from `DETAILS`)."""

    def __init__(self, reason: str, detail: Text | str = "") -> None:
        self.reason, self.detail = reason, detail
        super().__init__(self.text["en"])

    @property
    def text(self) -> dict:
        return {lang: REASONS[self.reason][lang]
                + (f" ({t(self.detail, lang)})" if self.detail else "") for lang in LANGUAGES}


REASONS = {
    "key": {"en": "the primary key is not one integer column",
            "ko": "기본 키가 정수 열 하나가 아닙니다"},
    "key_values": {"en": "the key holds NULLs or values that are not integers, or spans too "
                         "wide a range",
                   "ko": "키에 NULL이나 정수가 아닌 값이 있거나 범위가 너무 넓습니다"},
    "order": {"en": "the SQLite rows did not come in key order",
              "ko": "SQLite 행이 키 순서로 오지 않았습니다"},
    "storage": {"en": "the SQLite values of a column are not all of one storage class",
                "ko": "한 열의 SQLite 값들이 같은 저장 형식이 아닙니다"},
    "encoding": {"en": "the SQLite file or the target database is not UTF-8",
                 "ko": "SQLite 파일 또는 대상 데이터베이스가 UTF-8이 아닙니다"},
    "target": {"en": "PostgreSQL could not digest the table",
               "ko": "PostgreSQL이 테이블의 요약값을 계산하지 못했습니다"},
}
DETAILS = {
    "witness": {"en": "no witness row first", "ko": "기준 행(witness row)이 맨 앞에 없음"},
    "read_as": {"en": "{column}: read as {type}", "ko": "{column}: {type}(으)로 읽힘"},
    "real_in_text": {"en": "{column}: a real number in a text column",
                     "ko": "{column}: 텍스트 열에 실수 값이 있음"},
}


@dataclass(frozen=True)
class Chunking:
    """Chunks of `width` key values from `low`: chunk i holds keys [low + i·width, low +
    (i+1)·width), 0 ≤ i < count; chunk -1 every key below, chunk `count` every key above."""

    low: int
    width: int
    count: int

    def bounds(self, chunk: int) -> tuple[int | None, int | None]:
        if chunk < 0:
            return None, self.low
        if chunk >= self.count:
            return self.low + self.count * self.width, None
        return self.low + chunk * self.width, self.low + (chunk + 1) * self.width

    def ranges(self, chunks: list[int]) -> list[tuple[int | None, int | None]]:
        """Half-open key ranges covering `chunks`, neighbours joined."""
        out: list[list] = []
        for c in sorted(chunks):
            lo, hi = self.bounds(c)
            if out and out[-1][1] == lo:
                out[-1][1] = hi
            else:
                out.append([lo, hi])
        return [tuple(r) for r in out]


@dataclass
class Digests:
    """chunk → (rows, md5 hex per column group), and the columns coded value by value."""

    chunks: dict[int, tuple[int, tuple[str, ...]]] = field(default_factory=dict)
    python_columns: set[str] = field(default_factory=set)
    row_hashes: object = None  # row_hash.RowHashes when asked for (`source_digests(hasher=)`)
    reused: int = 0  # chunks taken from the previous snapshot's digests (`catchup`), not read

    @property
    def rows(self) -> int:
        return sum(n for n, _ in self.chunks.values())


@dataclass
class Difference:
    """What the digests found: differing chunks as key ranges, the rows on each side, the
    columns whose SQLite values were coded value by value."""

    ranges: list[tuple[int | None, int | None]]
    chunks: int
    source_rows: int
    target_rows: int
    python_columns: list[str]
    cut: Chunking | None = None  # the chunking compared
    source: Digests | None = None  # the snapshot's digests (a catch-up sync's starting point)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def threads(rows: int) -> int:
    """Threads reading a snapshot table of `rows` rows (`source_digests`' `parts`)."""
    return SOURCE_PARTS if rows >= PARALLEL_MIN_ROWS else 1


# -- chunking ----------------------------------------------------------------------------------
def chunking(src, spec: TableSpec, rows: int) -> Chunking:
    """Chunks of ~ROWS_PER_CHUNK rows over the source's keys (`src`: sqlite3 connection)."""
    key, table = quote_ident(spec.columns[0].source_name), quote_ident(spec.source_table)
    low, high = src.execute(f"SELECT (SELECT {key} FROM {table} ORDER BY {key} LIMIT 1), "
                            f"(SELECT {key} FROM {table} ORDER BY {key} DESC LIMIT 1)").fetchone()
    if low is None and high is None:
        return Chunking(0, 1, 0)
    if not (type(low) is int and type(high) is int) or high - low >= MAX_SPAN:
        raise Unfit("key_values")
    span = high - low + 1
    width = max(1, ceil(span * ROWS_PER_CHUNK / max(rows, 1)))
    return Chunking(low, width, ceil(span / width))


# -- PostgreSQL side ---------------------------------------------------------------------------
class Sessions:
    """Read-only PostgreSQL sessions for digest queries, opened once per validation run."""

    def __init__(self, connect_kwargs: dict, workers: int = 2) -> None:
        self.kwargs, self.workers = connect_kwargs, max(1, workers)
        self.idle: queue.SimpleQueue = queue.SimpleQueue()
        self.opened: list = []
        self.lock = threading.Lock()
        self.utf8 = True

    def _open(self):
        conn = psycopg2.connect(**self.kwargs)
        conn.set_session(readonly=True, autocommit=True)
        with conn.cursor() as cur:
            cur.execute("SHOW server_encoding")
            encoding = cur.fetchone()[0]
            for sql in codes.SESSION + PLANNER:
                cur.execute(sql)
        self.utf8 = encoding.upper() in ("UTF8", "UTF-8")
        with self.lock:
            self.opened.append(conn)
        return conn

    def run(self, sql: str, params) -> list[tuple]:
        """Rows of one query in an idle session; Unfit if PostgreSQL refused it (a value its
        cast refuses, a key range past bigint)."""
        try:
            conn = self.idle.get_nowait()
        except queue.Empty:
            conn = self._open()
        try:
            if not self.utf8:
                raise Unfit("encoding")
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        except psycopg2.Error as exc:
            raise Unfit("target", _first_line(exc)) from None
        finally:
            self.idle.put(conn)

    def close(self) -> None:
        for conn in self.opened:
            conn.close()
        self.opened.clear()


def groups(spec: TableSpec) -> list[list[int]]:
    """Columns digested together: every fixed-width one in one group (their codes row by row,
    as bytes: one aggregate, one md5), each other alone."""
    fixed = [i for i, c in enumerate(spec.columns) if codes.fixed(c.klass)]
    rest = [[i] for i, c in enumerate(spec.columns) if not codes.fixed(c.klass)]
    return ([fixed] if fixed else []) + rest


def group_codes(spec: TableSpec) -> list[str]:
    """SQL of each group's codes of one row (`groups`): bytea for the fixed group, else text."""
    return [" || ".join(codes.pg_code(spec.columns[i].klass, quote_ident(spec.columns[i].name))
                        for i in group) for group in groups(spec)]


def _aggregates(spec: TableSpec) -> str:
    key = quote_ident(spec.columns[0].name)
    out = []
    for code, group in zip(group_codes(spec), groups(spec), strict=True):
        empty = "''::bytea" if codes.fixed(spec.columns[group[0]].klass) else "''"
        out.append(f"md5(string_agg({code}, {empty} ORDER BY {key}))")
    return ", ".join(out)


def _table(spec: TableSpec) -> str:
    return f"{quote_ident(spec.schema)}.{quote_ident(spec.table)} AS t"


def lateral_sql(spec: TableSpec) -> str:
    """Per chunk of [first, last]: rows and column digests, one index range scan each."""
    key = quote_ident(spec.columns[0].name)
    return (f"SELECT runbook_g.b, x.* FROM generate_series(%(first)s::bigint, %(last)s::bigint)"
            f" AS runbook_g(b), LATERAL (SELECT count(*), {_aggregates(spec)} FROM "
            f"{_table(spec)} WHERE {key} >= %(low)s::bigint + runbook_g.b * %(width)s::bigint "
            f"AND {key} < %(low)s::bigint + (runbook_g.b + 1) * %(width)s::bigint) x")


def outside_sql(spec: TableSpec, below: bool) -> str:
    """Rows and digests of the keys below the first chunk (or from the end of the last)."""
    key = quote_ident(spec.columns[0].name)
    cond = f"{key} < %(low)s::bigint" if below else \
        f"{key} >= %(low)s::bigint + %(count)s::bigint * %(width)s::bigint"
    return f"SELECT count(*), {_aggregates(spec)} FROM {_table(spec)} WHERE {cond}"


def grouped_sql(spec: TableSpec) -> str:
    """Every chunk in one scan and sort (a target without an index on the key)."""
    key = quote_ident(spec.columns[0].name)
    bucket = (f"CASE WHEN {key} < %(low)s::bigint THEN -1 WHEN {key} >= %(low)s::bigint + "
              f"%(count)s::bigint * %(width)s::bigint THEN %(count)s::bigint ELSE "
              f"({key} - %(low)s::bigint) / %(width)s::bigint END")
    return f"SELECT {bucket}, count(*), {_aggregates(spec)} FROM {_table(spec)} GROUP BY 1"


KEY_INDEXED = """
SELECT EXISTS (SELECT 1 FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = x.indkey[0]
               WHERE n.nspname = %s AND c.relname = %s AND a.attname = %s
                 AND x.indpred IS NULL AND x.indexprs IS NULL AND x.indisvalid)
"""


def target_digests(sessions: Sessions, spec: TableSpec, cut: Chunking) -> Digests:
    """The target's chunk digests, the chunks shared out among the sessions."""
    params = {"low": cut.low, "width": cut.width, "count": cut.count}
    indexed = sessions.run(KEY_INDEXED, (spec.schema, spec.table, spec.columns[0].name))[0][0]
    if not indexed:
        found = sessions.run(grouped_sql(spec), params)
    else:
        parts = min(sessions.workers, max(1, cut.count // 8))
        step = ceil(cut.count / parts) if cut.count else 0
        jobs = [(lateral_sql(spec), {**params, "first": i * step,
                                     "last": min(cut.count, (i + 1) * step) - 1})
                for i in range(parts) if i * step < cut.count]
        with ThreadPoolExecutor(max(1, len(jobs))) as pool:
            found = [r for rows in pool.map(lambda j: sessions.run(*j), jobs) for r in rows]
        found += _edges(sessions, spec, params, cut)
    out = Digests()
    for chunk, n, *digests in found:
        if n:
            out.chunks[int(chunk)] = (n, tuple(digests))
    return out


def _edges(sessions: Sessions, spec: TableSpec, params: dict, cut: Chunking) -> list[tuple]:
    below = sessions.run(outside_sql(spec, True), params)[0]
    above = sessions.run(outside_sql(spec, False), params)[0]
    return [(-1, *below), (cut.count, *above)]


# -- SQLite side -------------------------------------------------------------------------------
WITNESS = {"int": "0", "interval": "0", "bool": "0", "float": "0.0", "bytes": "x''"}
ARROW_TYPE = {"0": "int64", "0.0": "double", "''": "string", "x''": "binary"}
REAL_FLAG = "CASE WHEN typeof({c}) = 'real' THEN 1 END"


def _reads(klass: str, declared: str) -> list[tuple[str, str]]:
    """(SELECT expression, witness) of one column's reads. A numeric one is read as two typed
    columns (whole numbers exactly, the rest as reals), since Arrow would widen one into the
    other. A text-like one whose declared type lets SQLite keep a real as a real gets a flag
    column too: Arrow would render such a real as text its own way (6 digits)."""
    b = codes.base(klass)
    if b == "numeric":
        return [("CASE WHEN typeof({c}) = 'integer' THEN {c} END", "0"),
                ("CASE WHEN typeof({c}) != 'integer' THEN {c} END", "0.0")]
    witness = WITNESS.get(b, "''")
    if witness == "''" and affinity(declared) != "TEXT":
        return [("{c}", witness), (REAL_FLAG, "0")]
    return [("{c}", witness)]


def source_sql(spec: TableSpec, declared: dict[str, str] | None = None,
               keys: tuple[int | None, int | None] = (None, None),
               among: list[int] | None = None) -> str:
    """The snapshot's rows with keys in [low, high) (None: open) and, with `among`, among these
    keys, in key order, after a witness row of the expected storage classes (the reader infers
    each column's type from its first rows)."""
    witness, select = ["1"], ["0"]
    for col in spec.columns:
        for expr, lit in _reads(col.klass, (declared or {}).get(col.source_name, "")):
            witness.append(lit)
            select.append(expr.format(c=quote_ident(col.source_name)))
    key = quote_ident(spec.columns[0].source_name)
    bounds = [f"{key} {op} {int(v)}" for op, v in ((">=", keys[0]), ("<", keys[1]))
              if v is not None]
    if among is not None:
        bounds.append(f"{key} IN ({', '.join(str(int(k)) for k in among) or 'NULL'})")
    where = f" WHERE {' AND '.join(bounds)}" if bounds else ""
    return (f"SELECT {', '.join(witness)} UNION ALL SELECT * FROM (SELECT {', '.join(select)} "
            f"FROM {quote_ident(spec.source_table)}{where} ORDER BY {key})")


def declared_types(src, table: str) -> dict[str, str]:
    return {r[1]: r[2] or "" for r in src.execute(f"PRAGMA table_info({quote_ident(table)})")}


class _Chunks:
    """Running md5s of the chunk being read; finished chunks go to `out`."""

    def __init__(self, width: int, out: Digests) -> None:
        self.width, self.out = width, out
        self.current: int | None = None
        self.rows = 0
        self.hashes: list = []
        self.hasher = None  # row_hash.Hasher: row hashes too

    def add(self, chunk: int, rows: int, pieces) -> None:
        if chunk != self.current:
            self.close()
            self.current, self.rows = chunk, 0
            self.hashes = [hashlib.md5() for _ in range(self.width)]  # noqa: S324 - not security
        self.rows += rows
        for h, piece in zip(self.hashes, pieces, strict=True):
            h.update(piece)

    def close(self) -> None:
        if self.current is not None and self.rows:
            self.out.chunks[self.current] = (self.rows, tuple(h.hexdigest() for h in self.hashes))
        self.current = None


def _column_codes(col, arrays: list, zone, out: Digests) -> codes.Codes:
    found, one_by_one = codes.column_codes(col.klass, arrays, zone)
    if one_by_one:
        out.python_columns.add(col.name)
    return found


def source_digests(snapshot: str, spec: TableSpec, cut: Chunking,
                   declared: dict[str, str] | None = None, parts: int = 1,
                   hasher: row_hash.Hasher | None = None,
                   ranges: list[tuple[int | None, int | None]] | None = None) -> Digests:
    """The snapshot's chunk digests: one pass through Arrow batches, in `parts` threads (key
    ranges of whole chunks; the reader, Arrow and md5 release the GIL). With `hasher`, every
    row's hash too (`row_hashes`). `ranges` (key ranges of whole chunks, ascending): only
    these are read."""
    workers = max(1, min(parts, len(ranges) if ranges is not None else cut.count))
    if ranges is None:
        parts = 1 if workers == 1 else max(1, min(workers * RANGES_PER_THREAD, cut.count))
        step = ceil(cut.count / parts) if cut.count else 0
        ranges = [(None if i == 0 else cut.bounds(i * step)[0],
                   None if i == parts - 1 else cut.bounds((i + 1) * step)[0])
                  for i in range(parts)]
    if workers == 1:
        found = [_source_part(snapshot, spec, cut, declared, r, hasher) for r in ranges]
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="digest") as pool:
            found = list(pool.map(lambda r: _source_part(snapshot, spec, cut, declared, r,
                                                         hasher), ranges))
    out = Digests()
    for one in found:
        out.chunks.update(one.chunks)
        out.python_columns |= one.python_columns
    if hasher is not None:
        out.row_hashes = row_hash.RowHashes.join([p for one in found for p in one.row_hashes],
                                                 hasher.seed)
    return out


def _source_part(snapshot: str, spec: TableSpec, cut: Chunking, declared: dict | None,
                 keys: tuple[int | None, int | None], hasher=None) -> Digests:
    zone = values.zone_of(spec.zone)
    reads = [_reads(c.klass, (declared or {}).get(c.source_name, "")) for c in spec.columns]
    out = Digests(row_hashes=[] if hasher is not None else None)
    chunks = _Chunks(len(groups(spec)), out)
    chunks.hasher = hasher
    last = None
    for batch in batches(snapshot, source_sql(spec, declared, keys)):
        last = _batch(batch, spec, reads, cut, zone, chunks, out, last)
    chunks.close()
    return out


def batches(snapshot: str, sql: str):
    """The Arrow batches of `sql` (a `source_sql`) over the snapshot, its witness row removed."""
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    conn = adbc_sqlite.connect(ro_uri(snapshot))
    try:
        cur = conn.cursor()
        try:
            cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
            try:
                cur.execute(sql)
                reader = cur.fetch_record_batch()
            except Exception as exc:  # noqa: BLE001 - the driver's own error classes
                raise Unfit("storage", _first_line(exc)) from None
            first = True
            for batch in _read(reader):
                if first:
                    if not batch.num_rows or batch.column(0)[0].as_py() != 1:
                        raise Unfit("order", DETAILS["witness"])
                    batch, first = batch.slice(1), False
                if batch.num_rows:
                    yield batch
        finally:
            cur.close()
    finally:
        conn.close()


def _read(reader):
    """The reader's batches; a value of another storage class than the column's first ones,
    or text that is not UTF-8, ends the digest (the table is then compared row by row)."""
    batches = iter(reader)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - the driver's own error classes
            raise Unfit("storage", _first_line(exc)) from None
        yield batch


def _batch(batch, spec: TableSpec, reads: list, cut: Chunking, zone, chunks: _Chunks,
           out: Digests, last: int | None) -> int:
    keys, digested = batch_codes(batch, spec, reads, zone, out, last)
    ids = (keys - cut.low) // cut.width
    if chunks.hasher is not None:
        out.row_hashes.append((keys, chunks.hasher.hash(digested)))
    starts = np.concatenate(([0], np.flatnonzero(np.diff(ids)) + 1, [len(ids)]))
    for s, e in zip(starts[:-1], starts[1:], strict=True):
        chunks.add(int(ids[s]), int(e - s), [c.piece(s, e) for c in digested])
    return int(keys[-1])


def batch_codes(batch, spec: TableSpec, reads: list, zone, out: Digests, last: int | None
                ) -> tuple[np.ndarray, list[codes.Codes]]:
    """One batch's keys (ascending, after `last`) and its codes per column group (`groups`)."""
    import pyarrow as pa

    key = batch.column(1)
    if key.type != pa.int64() or key.null_count:
        raise Unfit("key_values")
    keys = key.to_numpy()
    if (last is not None and keys[0] <= last) or (len(keys) > 1 and (np.diff(keys) <= 0).any()):
        raise Unfit("order")
    columns, at = [], 1
    for col, parts in zip(spec.columns, reads, strict=True):
        arrays = []
        for (expr, witness), array in zip(parts, batch.columns[at:at + len(parts)], strict=True):
            if str(array.type) != ARROW_TYPE[witness]:  # the reader widened mixed values
                raise Unfit("storage", fill(DETAILS["read_as"], column=col.source_name,
                                            type=str(array.type)))
            if expr == REAL_FLAG:
                if array.null_count < len(array):
                    raise Unfit("storage", fill(DETAILS["real_in_text"],
                                                column=col.source_name))
            else:
                arrays.append(array)
        columns.append(_column_codes(col, arrays, zone, out))
        at += len(parts)
    return keys, [codes.Codes.rows([columns[i] for i in group],
                                   [codes.WIDTH.get(codes.kind(spec.columns[i].klass), 0)
                                    for i in group]) for group in groups(spec)]


# -- both ---------------------------------------------------------------------------------------
def differing(snapshot: str, sessions: Sessions, spec: TableSpec, rows: int,
              hasher: row_hash.Hasher | None = None) -> Difference:
    """Digest both sides of one table (SQLite here, PostgreSQL in the sessions meanwhile) and
    return the differing chunks as key ranges (with `hasher`, the snapshot's row hashes too).
    Unfit if the table cannot be digested exactly."""

    if not spec.integer_key:
        raise Unfit("key")
    src = open_ro(snapshot)
    try:
        if src.execute("PRAGMA encoding").fetchone()[0] != "UTF-8":
            raise Unfit("encoding")
        cut = chunking(src, spec, rows)
        declared = declared_types(src, spec.source_table)
    finally:
        src.close()
    with ThreadPoolExecutor(1) as pool:
        target = pool.submit(target_digests, sessions, spec, cut)
        try:
            source = source_digests(snapshot, spec, cut, declared, threads(rows), hasher)
        finally:
            found = target.result()
    return _difference(source, found, spec, cut)


def _difference(source: Digests, target: Digests, spec: TableSpec, cut: Chunking) -> Difference:
    chunks = [c for c in source.chunks.keys() | target.chunks.keys()
              if source.chunks.get(c) != target.chunks.get(c)]
    return Difference(cut.ranges(chunks), len(chunks), source.rows, target.rows,
                      sorted(source.python_columns), cut, source)


__all__ = ["Chunking", "Digests", "Difference", "Sessions", "Unfit", "chunking", "differing",
           "source_digests", "target_digests", "ROWS_PER_CHUNK"]
