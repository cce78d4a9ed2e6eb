"""COPY engine: SQLite rows → PostgreSQL `COPY FROM STDIN`, streamed.

A table whose column types all have an exact binary form goes through Arrow and binary COPY
(`transfer_binary`: C from end to end); any other table, or one that path fails on, through
the text encoder below. Rows are encoded to COPY text by generated per-table code: NULL is
`\\N`, floats are `repr` (shortest round-trip, bit-exact), bytea is hex. Only a string that
is not printable or holds a backslash is escaped (`str.isprintable()` runs in C); no pass
over the whole chunk but one search for a NUL (the profile refuses them; a safety net).
Large tables are split by rowid range across worker processes (two cores: two encoders while
the server parses), each slice in its own transaction; memory is bounded by the chunk size.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
import queue as queue_mod
import sys
import time
from dataclasses import asdict, dataclass, field
from functools import partial

import psycopg2
import psycopg2.errors

from ..core.django_models import sqlite_decimal
from ..core.errors import RunbookError
from ..core.i18n import t
from . import django_values, load_checks, transfer_binary
from .profile import TableFilter, q
from .schema import Plan, TablePlan
from .source import connect_ro, rowid_range
from .wording import ERRORS, REASONS

__all__ = ["BadRows", "Unchecked", "Job", "jobs_for", "run_jobs", "encoder", "Summary",
           "CHUNK_ROWS", "checked_as_copied"]

CHUNK_ROWS = 2_000  # ~140 KB of COPY text: 5-10 % less CPU than 10,000 rows (cache)
SPLIT_MIN_ROWS = 100_000
ARROW = True  # binary fast path (transfer_binary) for the tables it fits; False: text only
NUL = "\x00"  # PostgreSQL text can never hold it


class BadRows(RunbookError, RuntimeError):
    """A slice held values that do not fit (a NUL byte, or PostgreSQL refused one)."""


class Unchecked(RunbookError, RuntimeError):
    """A copy whose values were checked as they went stopped (`load_checks`): the caller
    empties the target and loads again after the full value profile."""


@dataclass
class Job:
    """One COPY: a table, or one rowid slice of a large table."""

    table: str
    source_table: str
    columns: list[str]
    select: str
    kinds: list[str]
    params: tuple = ()
    slice_no: int = 0
    expected: int = 0
    truncate: bool = False  # whole table in one job: TRUNCATE it in the COPY's transaction
    arrow_select: str = ""  # the binary path's SELECT ("": the table takes the text path)
    arrow_types: list[tuple[str, str]] = field(default_factory=list)  # Arrow: read, sent
    why_text: str = ""  # why the binary path does not fit this table
    decimals: list[tuple[int, int, int]] = field(default_factory=list)  # Django DecimalFields:
    # (column index, places, max digits), loaded as Django's SQLite backend reads them
    strict: bool = False  # values checked as copied (`load_checks`): no text path to fall to
    checks: list[tuple[str, ...]] = field(default_factory=list)  # per column, in Arrow


@dataclass
class Summary:
    table: str
    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0
    slices: int = 0
    path: str = ""  # "binary", or "text" with the reason the binary path did not fit

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _bytea(value) -> str:
    if isinstance(value, (bytes, memoryview)):
        return "\\\\x" + bytes(value).hex()  # COPY text: the backslash itself escaped
    raise BadRows(ERRORS["bytea_not_blob"])


def _escape(value: str) -> str:
    """COPY text escape of one string (only for the rare value that needs it)."""
    for char, escaped in ESCAPES:
        if char in value:
            value = value.replace(char, escaped)
    return value


ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def _field(i: int, kind: str) -> str:
    """The f-string field of column i: a str that is printable and holds no backslash (nearly
    all of them) goes through as is; any other str is escaped; ints and floats (repr) too."""
    c = f"c{i}"
    if kind == "b":
        value = f"B({c})"
    else:
        value = f"{c} if {c}.__class__ is not str or {c}.isprintable() and BS not in {c} else E({c})"
    return "{" + (value if kind == "v" else f"NN if {c} is None else {value}") + "}"


def encoder(kinds: list[str]):
    """Compiled function rows → COPY text; kinds: 'v' never NULL, 'n' nullable, 'b' bytea."""
    names = [f"c{i}" for i in range(len(kinds))]
    target = names[0] + "," if len(names) == 1 else ", ".join(names)
    body = "\\t".join(_field(i, k) for i, k in enumerate(kinds)) + "\\n"
    code = f"def enc(rows):\n    return ''.join([f'{body}' for {target} in rows])\n"
    scope = {"NN": "\\N", "B": _bytea, "E": _escape, "BS": "\\"}
    exec(compile(code, "<copy-encoder>", "exec"), scope)  # noqa: S102 - generated from kinds
    return scope["enc"]


class Encoder:
    """Rows → COPY text: one f-string per row. `str.isprintable()` (C) picks the few strings
    that hold a tab, newline, CR or other control character; those and the ones holding a
    backslash are escaped; the rest, and every number, go through untouched. `decimals`:
    columns read as Django's SQLite backend reads a DecimalField."""

    def __init__(self, kinds: list[str], decimals=()) -> None:
        self.encode = encoder(kinds)
        self.fixes = [(i, partial(sqlite_decimal, places=p, digits=d)) for i, p, d in decimals]

    def __call__(self, rows: list) -> str:
        if self.fixes:
            rows = [list(r) for r in rows]
            for row in rows:
                for i, fix in self.fixes:
                    row[i] = fix(row[i])
        text = self.encode(rows)
        if NUL in text:
            raise BadRows(ERRORS["nul_byte"])
        return text


class ChunkReader:
    """File-like object for `copy_expert`: each read() returns the next encoded chunk."""

    def __init__(self, cursor, encode, report) -> None:
        self.cursor, self.encode, self.report = cursor, encode, report
        self.rows = self.bytes = 0
        self.error: BadRows | None = None

    def read(self, _size: int = -1) -> bytes:
        rows = self.cursor.fetchmany(CHUNK_ROWS)
        if not rows:
            return b""
        try:
            data = self.encode(rows).encode("utf-8")
        except BadRows as exc:
            self.error = exc
            raise
        self.rows += len(rows)
        self.bytes += len(data)
        self.report(len(rows))
        return data



def _kind(tp: TablePlan, col, nulled: bool) -> str:
    if col.target_type == "bytea":
        return "b"
    return "n" if nulled or not col.notnull else "v"


def _exprs(tp: TablePlan, flt: TableFilter) -> list[str]:
    """The SELECT expression of each column: NULL where the profile's filter says so, in the
    form PostgreSQL reads as the Django field's value (django_values)."""
    exprs = []
    for col in tp.columns:
        c = q(col.source_name)
        if col.target_type == "bytea":  # text too, as its exact bytes (valid UTF-8 or not)
            c = f"CAST({c} AS BLOB)"
        cond = flt.null_columns.get(col.source_name)
        exprs.append(django_values.copy_expression(col, f"CASE WHEN {cond} THEN {c} END"
                                                   if cond else c))
    return exprs


def _decimals(tp: TablePlan) -> list[tuple[int, int, int]]:
    return [(i, *found) for i, col in enumerate(tp.columns)
            if (found := django_values.decimal_field(col))]


def _where(flt: TableFilter, where: list[str]) -> str:
    return " AND ".join(w for w in [*where, flt.where] if w)


def _select(tp: TablePlan, flt: TableFilter, where: list[str]) -> str:
    cond = _where(flt, where)
    tail = f" WHERE {cond}" if cond else ""
    return f"SELECT {', '.join(_exprs(tp, flt))} FROM {q(tp.source_name)}{tail}"


def _arrow(job: Job, tp: TablePlan, flt: TableFilter, where: list[str],
           timezone: str, strict: bool = False) -> Job:
    """Fill in the job's binary-path SELECT, or why the table cannot take that path;
    `strict`: with the checks of values checked as copied (`load_checks`)."""
    if any(d > 15 for _, _, d in job.decimals):  # Django reads 15 digits; Arrow would keep 17
        job.why_text = t(REASONS["decimal_digits"])
        return job
    if job.params:  # rowid bounds are ints: written into the SQL, the ADBC statement has none
        where = [w.replace("?", str(int(v)), 1) for w, v in zip(where, job.params, strict=True)]
    flag = load_checks.flag_sql(tp) if strict else ""
    try:
        job.arrow_select, job.arrow_types = transfer_binary.arrow_select(
            tp.source_name, tp.columns, _exprs(tp, flt), _where(flt, where), timezone, flag)
    except transfer_binary.Unavailable as exc:
        job.why_text = str(exc)
        return job
    if strict:
        job.strict, job.checks = True, load_checks.column_checks(tp)
    return job


def checked_as_copied(plan: Plan, timezone: str) -> set[str]:
    """The tables (source names) whose values the binary copy can check as it goes, so that
    the value profile need not read them first (`load_checks`)."""
    if not ARROW:
        return set()
    out = set()
    for tp in plan.tables:
        if not load_checks.qualifies(tp):
            continue
        job = _arrow(Job(tp.name, tp.source_name, [], "", [], decimals=_decimals(tp)), tp,
                     TableFilter(), [], timezone, strict=True)
        if job.strict:
            out.add(tp.source_name)
    return out


def _ranges(conn, tp: TablePlan, parts: int) -> list[tuple[int, int]]:
    lo, hi = rowid_range(conn, tp.source_name)
    step = (hi - lo) // parts + 1
    return [(lo + i * step, lo + (i + 1) * step) for i in range(parts)]


def jobs_for(snapshot: str, plan: Plan, filters: dict[str, TableFilter],
             workers: int, timezone: str = "UTC", strict: frozenset | set = frozenset()) \
        -> list[Job]:
    """The COPY jobs, largest first; big rowid tables split into `workers` slices; each with
    its binary-path SELECT when the table fits that path; the tables in `strict` with the
    checks of values checked as copied."""
    conn = connect_ro(snapshot)
    jobs = []
    try:
        for tp in plan.tables:
            flt = filters.get(tp.source_name, TableFilter())
            kinds = [_kind(tp, c, c.source_name in flt.null_columns) for c in tp.columns]
            cols = [c.name for c in tp.columns]
            expected = tp.source.rows - flt.quarantined
            split = (workers > 1 and tp.source.rows >= SPLIT_MIN_ROWS
                     and not tp.source.without_rowid)
            if not split:
                job = Job(tp.name, tp.source_name, cols, _select(tp, flt, []), kinds,
                          expected=expected, truncate=True, decimals=_decimals(tp))
                jobs.append(_arrow(job, tp, flt, [], timezone, tp.source_name in strict))
                continue
            where = ["rowid >= ?", "rowid < ?"]
            sql = _select(tp, flt, where)
            for i, rng in enumerate(_ranges(conn, tp, workers)):
                job = Job(tp.name, tp.source_name, cols, sql, kinds, rng, i, expected=expected,
                          decimals=_decimals(tp))
                jobs.append(_arrow(job, tp, flt, where, timezone, tp.source_name in strict))
    finally:
        conn.close()
    return sorted(jobs, key=lambda j: -plan.table(j.source_table).source.rows)


# -- running jobs ------------------------------------------------------------------------------
_STATE: dict = {}


def _init(snapshot: str, connect_kwargs: dict, timezone: str, progress) -> None:
    _STATE.update(snapshot=snapshot, kwargs=connect_kwargs, tz=timezone, progress=progress)
    if multiprocessing.parent_process() is not None:
        multiprocessing.util.Finalize(None, _close, exitpriority=10)


def _report(table: str, rows: int) -> None:
    sink = _STATE.get("progress")
    if sink is None:
        return
    if callable(sink):
        sink(table, rows)
    else:
        sink.put((table, rows))


def _connections():
    """This process's SQLite and PostgreSQL connections, opened once (logins cost)."""
    if "pg" not in _STATE:
        pg = psycopg2.connect(**_STATE["kwargs"])
        with pg.cursor() as cur:
            cur.execute("SET TIME ZONE %s", (_STATE["tz"],))
            cur.execute("SET synchronous_commit TO off")
        pg.commit()
        _STATE.update(pg=pg, src=connect_ro(_STATE["snapshot"]))
    return _STATE["src"], _STATE["pg"]


def _arrow_connections():
    """This process's ADBC connections for the binary path, opened once."""
    if "arrow_pg" not in _STATE:
        try:
            _STATE["arrow_src"] = transfer_binary.connect_source(_STATE["snapshot"])
            _STATE["arrow_pg"] = transfer_binary.connect_target(_STATE["kwargs"])
        except Exception as exc:  # noqa: BLE001 - any failure here: the text path copies it
            _close(("arrow_pg", "arrow_src"))
            why = transfer_binary.reason(exc)
            raise transfer_binary.Unavailable("{reason}", reason=why) from None
    return _STATE["arrow_src"], _STATE["arrow_pg"]


def _close(keys=("pg", "src", "arrow_pg", "arrow_src")) -> None:
    for key in keys:
        if key in _STATE:
            try:
                _STATE.pop(key).close()
            except Exception:  # noqa: BLE001,S110 - closing a connection that already broke
                pass


def _truncate(pg, table: str) -> None:
    """TRUNCATE the (empty) table in the COPY's transaction: a new file, so with
    `wal_level = minimal` PostgreSQL writes no WAL for the rows (it syncs the file at commit).
    A table still referenced by a foreign key cannot be truncated: then the COPY is logged."""
    try:
        with pg.cursor() as cur:
            cur.execute(f"TRUNCATE ONLY {q(table)}")
    except psycopg2.errors.FeatureNotSupported:
        pg.rollback()


def run_job(job: Job) -> dict:
    """Run one COPY in its own transaction, through Arrow when the job allows it, else (or
    when that fails) as text; return rows, bytes, seconds and the path taken."""
    began = time.perf_counter()
    why = job.why_text or ("" if ARROW else t(REASONS["binary_off"]))
    if job.arrow_select and ARROW:
        sent = [0]

        def report(rows: int) -> None:
            sent[0] += rows
            _report(job.table, rows)

        try:
            rows, size = transfer_binary.copy(*_arrow_connections(), job, report)
            return {"table": job.table, "rows": rows, "bytes": size, "path": "binary",
                    "seconds": time.perf_counter() - began, "slice": job.slice_no}
        except transfer_binary.Unavailable as exc:
            if job.strict:  # rolled back; the load starts over after the full profile
                raise Unchecked(REASONS["refused"], column=job.table,
                                what=exc.texts[0]) from None
            why = t(REASONS["binary_failed"], reason=exc.message)
            _close(("arrow_pg", "arrow_src"))  # reopened by the next job
            if sent[0]:
                _report(job.table, -sent[0])  # rolled back: the progress starts over
    return {**_copy_text(job), "seconds": time.perf_counter() - began, "why_text": why}


def _copy_text(job: Job) -> dict:
    """The text path: rows encoded in Python, `COPY … FROM STDIN` in text format."""
    src, pg = _connections()
    if job.truncate:
        _truncate(pg, job.table)
    reader = ChunkReader(src.execute(job.select, job.params), Encoder(job.kinds, job.decimals),
                         lambda n: _report(job.table, n))
    try:
        with pg.cursor() as cur:
            cols = ", ".join(q(c) for c in job.columns)
            cur.copy_expert(f"COPY {q(job.table)} ({cols}) FROM STDIN", reader, size=1 << 20)
        pg.commit()
    except psycopg2.Error as exc:
        pg.rollback()
        if reader.error:
            why = reader.error.texts[0]
            raise BadRows("{table}: {error}", table=job.table, error=why) from None
        if isinstance(exc, psycopg2.DataError):
            raise BadRows(ERRORS["refused_value"], table=job.table,
                          detail=str(exc).strip().splitlines()[0]) from None
        raise
    except BadRows as exc:
        pg.rollback()
        raise BadRows("{table}: {error}", table=job.table, error=exc.texts[0]) from None
    except BaseException:
        pg.rollback()
        raise
    return {"table": job.table, "rows": reader.rows, "bytes": reader.bytes, "path": "text",
            "slice": job.slice_no}


def _context():
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return multiprocessing.get_context(method)


def run_jobs(jobs: list[Job], snapshot: str, connect_kwargs: dict, timezone: str,
             workers: int, progress=None) -> list[dict]:
    """Run the jobs, in `workers` processes when more than one; progress(table, rows)."""
    if workers <= 1 or len(jobs) == 1:
        _init(snapshot, connect_kwargs, timezone, progress)
        try:
            return [run_job(j) for j in jobs]
        finally:
            _close()
            _STATE.clear()
    ctx = _context()
    channel = ctx.Queue() if progress else None
    with ctx.Pool(min(workers, len(jobs), os.cpu_count() or 1) or 1, _init,
                  (snapshot, connect_kwargs, timezone, channel)) as pool:
        pending = pool.map_async(run_job, jobs, chunksize=1)
        while not pending.ready():
            _drain(channel, progress, 0.1)
        _drain(channel, progress, 0)
        results = pending.get()
        pool.close()
        pool.join()
        return results


def _drain(channel, progress, wait: float) -> None:
    if channel is None:
        time.sleep(wait)
        return
    try:
        while True:
            progress(*channel.get(timeout=wait) if wait else channel.get_nowait())
    except queue_mod.Empty:
        return


def summarise(results: list[dict]) -> list[Summary]:
    """Per-table totals of the slices (seconds: the longest slice)."""
    out: dict[str, Summary] = {}
    for r in results:
        s = out.setdefault(r["table"], Summary(r["table"]))
        s.rows += r["rows"]
        s.bytes += r["bytes"]
        s.seconds = max(s.seconds, r["seconds"])
        s.slices += 1
        path = r.get("path", "text")
        path = f"text ({r['why_text']})" if path == "text" and r.get("why_text") else path
        s.path = path if not s.path or path.startswith("text") else s.path
    return list(out.values())


def summary_frame(summaries: list[Summary], total_seconds: float):
    import pandas as pd

    rows = [{**asdict(s), "rows/s": round(s.rate)} for s in summaries]
    frame = pd.DataFrame(rows, columns=["table", "rows", "bytes", "seconds", "slices", "rows/s",
                                        "path"])
    total = {"table": "TOTAL", "rows": frame["rows"].sum(), "bytes": frame["bytes"].sum(),
             "seconds": round(total_seconds, 2), "slices": frame["slices"].sum(), "path": "",
             "rows/s": round(frame["rows"].sum() / total_seconds) if total_seconds else 0}
    return pd.concat([frame, pd.DataFrame([total])], ignore_index=True).round({"seconds": 2})

