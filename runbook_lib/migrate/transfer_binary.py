"""Fast path of the COPY engine: SQLite → Arrow → PostgreSQL binary `COPY`, all in C.

The ADBC SQLite driver reads rows into Arrow batches and the ADBC PostgreSQL driver sends
them with `COPY … (FORMAT binary)`: no Python object per value, no text to escape, and
PostgreSQL parses nothing (a float or a timestamp arrives as its eight bytes). For the
sample's measurements this is ~40 % less CPU than the text encoder (benchmarks/README.md).

Binary COPY converts nothing, so a table takes this path only when every column's PostgreSQL
type has an exact rule in `RULES` (or is numeric(p,s), see `rule_for`) and its SQLite values
are known to be of one storage class: the profile has checked each value against its target
type before the load, a text-like target also needs a TEXT-affinity source column (elsewhere
a number could be stored as a number, which the driver would render as text its own way),
and a `timestamp with time zone` needs naive values in UTC. The driver infers each column's
Arrow type from its first rows, so the SELECT starts with a witness row of the right storage
classes (then dropped): a column that begins with NULLs is not read as int64. Any other
table, and any error on this path (a timestamp Arrow cannot parse exactly, say), is copied
by the text encoder in `transfer`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from ..core.errors import RunbookError
from ..core.identifiers import quote_ident as q
from ..core.sqlite_file import affinity, ro_uri
from . import load_checks
from .wording import REASONS

__all__ = ["RULES", "Unavailable", "arrow_select", "copy", "prewarm"]

BATCH_ROWS = 16_384  # Arrow batch: ~1 MB for the sample's measurements


class Unavailable(RunbookError, RuntimeError):
    """This table (or this attempt) cannot take the binary path; the text path copies it."""


@dataclass(frozen=True)
class Rule:
    """How one PostgreSQL type is read from SQLite and sent in binary.

    witness: SQLite literal of the storage class the driver must infer; read: the Arrow type
    the driver then yields; sql: the SELECT expression; send: the Arrow type sent (its
    binary form is the PostgreSQL type's); text_only: needs a TEXT-affinity source column.
    """

    witness: str
    read: str
    send: str
    sql: str = "{c}"
    text_only: bool = False
    utc_only: bool = False


# uuid: Django's 32 hex digits or the canonical 8-4-4-4-12 form (what PostgreSQL reads the
# same way) become the 16 bytes; any other spelling becomes an empty blob, which the cast
# to 16 bytes refuses, so that table falls over to text and PostgreSQL decides.
_UUID = ("CASE WHEN {c} IS NULL THEN NULL WHEN length({c}) = 32 OR (length({c}) = 36 "
         "AND substr({c}, 9, 1) = '-' AND substr({c}, 14, 1) = '-' AND substr({c}, 19, 1) = '-' "
         "AND substr({c}, 24, 1) = '-') THEN coalesce(unhex(replace({c}, '-', '')), x'') "
         "ELSE x'' END")

RULES: dict[str, Rule] = {
    "bigint": Rule("0", "int64", "int64"),
    "integer": Rule("0", "int64", "int32"),
    "smallint": Rule("0", "int64", "int16"),
    "double precision": Rule("0.0", "double", "double", "CAST({c} AS REAL)"),
    "boolean": Rule("0", "int64", "bool"),  # 0/1; text words ('true') fail over to text
    "text": Rule("''", "string", "string", text_only=True),
    "character varying": Rule("''", "string", "string", text_only=True),
    "json": Rule("''", "string", "string", text_only=True),
    "jsonb": Rule("''", "string", "jsonb", text_only=True),  # version byte 1, then the text
    "bytea": Rule("x''", "binary", "binary"),
    "uuid": Rule("x''", "binary", "uuid", _UUID),
    "date": Rule("''", "string", "date32"),
    "timestamp without time zone": Rule("''", "string", "timestamp"),
    "timestamp with time zone": Rule("''", "string", "timestamp", utc_only=True),
}
_UTC = {"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Zulu"}


def rule_for(target_type: str) -> Rule | None:
    """The rule of a formatted PostgreSQL type; varchar(n) is varchar (its length is checked
    by the profile and again by PostgreSQL's binary input).

    numeric(p,s): the value is read as a double (exact: the profile bounds it below
    10^(p-s) ≤ 10^15 < 2^53), written by Arrow with the shortest digits that round-trip (as
    `repr` does for the text path) and cast to decimal128(p,s), which refuses to drop a
    digit: a value with more decimals than s (PostgreSQL would round it) fails over to text."""
    t = target_type.lower().strip()
    if m := re.fullmatch(r"numeric\((\d+),(\d+)\)", t):
        p, s = int(m.group(1)), int(m.group(2))
        return Rule("0.0", "double", f"decimal:{p}:{s}", "CAST({c} AS REAL)") \
            if p <= 38 and p - s <= 15 else None
    return RULES.get(re.sub(r"^(character varying|varchar)\(\d+\)$", "character varying", t))


def arrow_select(table: str, columns, exprs: list[str], where: str,
                 timezone: str, flag: str = "") -> tuple[str, list[tuple[str, str]]]:
    """(SELECT with its witness row, (Arrow type read, Arrow type sent) per column) for one
    job; Unavailable with the reason when a column has no exact binary form. `columns` are
    ColumnPlans, `exprs` their SQLite expressions (with the profile's NULL filters), `where`
    the job's condition. `flag` (values checked as copied, `load_checks`): the SQL of a last
    column, 1 for a row the profile would refuse; a double is then read as stored, so that
    the driver refuses text instead of SQLite's CAST turning it into a number."""
    witness, select, types = ["1"], ["0"], []
    for col, expr in zip(columns, exprs, strict=True):
        rule = rule_for(col.target_type)
        if rule is None:
            raise Unavailable(REASONS["no_rule"], column=col.name, type=col.target_type)
        if rule.text_only and affinity(col.source_type) != "TEXT":
            raise Unavailable(REASONS["numbers_as_numbers"], column=col.name,
                              declared=col.source_type or REASONS["untyped"])
        if getattr(col, "validity", "") == "double words":  # CAST('NaN' AS REAL) is 0.0
            raise Unavailable(REASONS["nan_text"], column=col.name)
        if rule.utc_only and timezone not in _UTC:
            raise Unavailable(REASONS["naive_timestamps"], column=col.name, zone=timezone)
        witness.append(rule.witness)
        select.append(expr if flag and rule.read == rule.send == "double" else
                       rule.sql.format(c=expr))
        types.append((rule.read, rule.send))
    if flag:
        witness.append("0")
        select.append(flag)
    tail = f" WHERE {where}" if where else ""
    sql = (f"SELECT {', '.join(witness)} UNION ALL "
           f"SELECT {', '.join(select)} FROM {q(table)}{tail}")
    return sql, types


def _import() -> None:
    import adbc_driver_postgresql.dbapi  # noqa: F401
    import adbc_driver_sqlite.dbapi  # noqa: F401
    import pyarrow.compute  # noqa: F401


def prewarm() -> threading.Thread:
    """Import Arrow and the ADBC drivers in a thread now (~0.3 s of CPU), so the forked COPY
    workers inherit them instead of each importing them; join it before forking."""
    thread = threading.Thread(target=_import, name="arrow-import", daemon=True)
    thread.start()
    return thread


# -- in the worker process ---------------------------------------------------------------------
def _arrow_type(name: str):
    import pyarrow as pa

    if name.startswith("decimal:"):
        _, p, s = name.split(":")
        return pa.decimal128(int(p), int(s))
    return {"int64": pa.int64(), "int32": pa.int32(), "int16": pa.int16(),
            "double": pa.float64(), "bool": pa.bool_(), "string": pa.string(),
            "binary": pa.binary(), "jsonb": pa.binary(), "uuid": pa.binary(16),
            "date32": pa.date32(),
            "timestamp": pa.timestamp("us")}[name]


def _convert(array, send: str):
    """One column of a batch to the Arrow type whose binary COPY form PostgreSQL reads."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if send == "jsonb":
        return pc.binary_join_element_wise(pa.scalar(b"\x01"), array.cast(pa.binary()), b"")
    if send.startswith("decimal:"):  # shortest round-trip digits, then exactly those
        return array.cast(pa.string()).cast(_arrow_type(send))
    return array.cast(_arrow_type(send))  # safe cast: an overflow or a bad date raises


class Batches:
    """The job's batches, converted; counts rows and bytes, reports progress per batch.
    `checks` (values checked as copied): each batch is checked first (`load_checks`)."""

    def __init__(self, reader, names: list[str], types: list[tuple[str, str]], report,
                 checks: list | None = None) -> None:
        self.reader, self.names, self.types, self.report = reader, names, types, report
        self.checks = checks
        self.rows = self.bytes = 0

    def schema(self):
        import pyarrow as pa

        return pa.schema([(n, _arrow_type(sent)) for n, (_, sent) in zip(self.names, self.types,
                                                                         strict=True)])

    def _column(self, batch, i: int):
        """Column i, converted; Unavailable if the driver read another type than planned
        (it widens a column that holds several storage classes)."""
        array = batch.column(i + 1)
        read, sent = self.types[i]
        if array.type != _arrow_type(read):
            raise Unavailable(REASONS["read_as"], column=self.names[i], got=str(array.type),
                              wanted=read)
        return _convert(array, sent)

    def __iter__(self):
        import pyarrow as pa

        first = True
        for batch in self.reader:
            if first:
                if not batch.num_rows or batch.column(0)[0].as_py() != 1:
                    raise Unavailable(REASONS["witness"])
                batch, first = batch.slice(1), False
            if not batch.num_rows:
                continue
            if self.checks is not None:
                load_checks.check_batch(batch, self.names, self.checks, len(self.types) + 1)
            arrays = [self._column(batch, i) for i in range(len(self.types))]
            out = pa.RecordBatch.from_arrays(arrays, names=self.names)
            self.rows += out.num_rows
            self.bytes += out.nbytes
            self.report(out.num_rows)
            yield out


def connect_source(snapshot: str):
    """ADBC SQLite connection to the snapshot, read-only."""
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    return adbc_sqlite.connect(ro_uri(snapshot))


def connect_target(connect_kwargs: dict):
    """ADBC PostgreSQL connection (libpq keyword string; the password never leaves it)."""
    import adbc_driver_postgresql.dbapi as adbc_pg
    from psycopg2.extensions import make_dsn

    conn = adbc_pg.connect(make_dsn(**{k: str(v) for k, v in connect_kwargs.items()}))
    with conn.cursor() as cur:
        cur.execute("SET synchronous_commit TO off")
    conn.commit()
    return conn


def copy(src, pg, job, report) -> tuple[int, int]:
    """One job through Arrow in one transaction: (rows, bytes). Unavailable (rolled back)
    on any failure, with the reason; the caller then copies the job as text."""
    import pyarrow as pa

    cur = src.cursor()
    try:
        cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
        cur.execute(job.arrow_select)
        batches = Batches(cur.fetch_record_batch(), job.columns, job.arrow_types, report,
                          job.checks if job.strict else None)
        with pg.cursor() as out:
            if job.truncate:
                _truncate(pg, out, job.table)
            reader = pa.RecordBatchReader.from_batches(batches.schema(), iter(batches))
            out.adbc_ingest(job.table, reader, mode="append")
        pg.commit()
        return batches.rows, batches.bytes
    except Exception as exc:  # noqa: BLE001 - every failure falls back to the text path
        _rollback(pg)
        raise Unavailable("{reason}", reason=reason(exc)) from None
    finally:
        cur.close()


def reason(exc: BaseException) -> str:
    """First line of an error, secrets masked (it is shown in the load summary)."""
    from ..core.secrets import scrub

    text = str(exc).strip()
    return scrub(text.splitlines()[0] if text else type(exc).__name__)


def _truncate(pg, cur, table: str) -> None:
    """TRUNCATE in the COPY's transaction (see transfer._truncate); a table still referenced
    by a foreign key cannot be: then the COPY is logged as usual."""
    try:
        cur.execute(f"TRUNCATE ONLY {q(table)}")
    except Exception:  # noqa: BLE001 - FeatureNotSupported under ADBC's own class names
        pg.rollback()


def _rollback(pg) -> None:
    try:
        pg.rollback()
    except Exception:  # noqa: BLE001,S110 - a broken connection: the text path reconnects
        pass
