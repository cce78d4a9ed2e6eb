"""Canonical values: both sides of a column read into one comparable form, by the TARGET type.

A faithful copy gives equal canonical values; any changed value gives a different one: an
integer, a float (compared as the 8-byte double PostgreSQL holds: a column narrowed to `real`
differs), text (a trailing space counts), a timestamp (integer microseconds since the epoch,
naive SQLite text read in the source time zone), a boolean, bytes, a JSON value (jsonb
semantics: key order and number spelling do not matter, values do).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_NAIVE = datetime(1970, 1, 1)
EPOCH_DAY = date(1970, 1, 1).toordinal()
US = timedelta(microseconds=1)
TRUE_TEXT = {"1", "t", "true", "y", "yes", "on"}
FALSE_TEXT = {"0", "f", "false", "n", "no", "off"}
MICROS = "(extract(epoch from {c}) * 1000000)::bigint"

# target type (format_type spelling, without modifiers) → class
CLASSES = {
    "smallint": "int", "integer": "int", "bigint": "int", "oid": "int",
    "real": "float", "double precision": "float", "numeric": "numeric",
    "boolean": "bool", "bytea": "bytes", "json": "json", "jsonb": "json", "uuid": "uuid",
    "timestamp with time zone": "timestamptz", "timestamp without time zone": "timestamp",
    "date": "date", "time without time zone": "time", "interval": "interval",
    "character varying": "text", "text": "text", "character": "bpchar", "citext": "text",
}
# class → SQL expression read on the PostgreSQL side ({c} is the quoted column)
PG_EXPRESSIONS = {
    "float": "{c}::float8", "timestamptz": MICROS, "timestamp": MICROS, "time": MICROS,
    "interval": MICROS, "date": "({c} - DATE '1970-01-01')", "json": "{c}::text",
    "uuid": "{c}::text", "other": "{c}::text",
}


def type_class(pg_type: str) -> str:
    """The comparison class of a PostgreSQL type as format_type() spells it."""
    base = pg_type.split("(")[0].strip()
    if base.startswith("timestamp"):
        base = "timestamp with time zone" if "with time zone" in pg_type else \
            "timestamp without time zone"
    elif base.startswith("time") and "with time zone" not in pg_type:
        base = "time without time zone"
    return CLASSES.get(base, "other")


def pg_expression(klass: str, quoted: str) -> str:
    return PG_EXPRESSIONS.get(klass, "{c}").format(c=quoted)


def _bad(value) -> tuple:
    """A value that cannot be read as the target type: never equal to a good one."""
    return ("unreadable", repr(value))


def _int(v):
    if v is None or type(v) is int:
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    try:
        return int(str(v).strip())
    except ValueError:
        return _bad(v)


def _float(v):
    if v is None or type(v) is float:
        return v
    try:
        return float(v)
    except (TypeError, ValueError):
        return _bad(v)


def _numeric(v):
    if v is None:
        return None
    try:
        return Decimal(repr(v) if isinstance(v, float) else str(v).strip())
    except InvalidOperation:
        return _bad(v)


def _text(v):
    if v is None or type(v) is str:
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return repr(v) if isinstance(v, float) else str(v)


def _bpchar(v):
    v = _text(v)
    return v.rstrip(" ") if isinstance(v, str) else v


def _bool(v):
    if v is None or type(v) is bool:
        return v
    if isinstance(v, (int, float)):
        return bool(v)
    text = str(v).strip().lower()
    return True if text in TRUE_TEXT else False if text in FALSE_TEXT else _bad(v)


def _bytes(v):
    if v is None or type(v) is bytes:
        return v
    if isinstance(v, memoryview):
        return v.tobytes()
    return v.encode("utf-8") if isinstance(v, str) else _bad(v)


def _json_canon(x):
    if isinstance(x, dict):
        return ("{",) + tuple(sorted((k, _json_canon(v)) for k, v in x.items()))
    if isinstance(x, list):
        return ("[",) + tuple(_json_canon(v) for v in x)
    if isinstance(x, Decimal):
        return x.normalize() if x.is_finite() else x
    return x


def _json(v):
    if v is None:
        return None
    try:
        parsed = json.loads(v, parse_float=Decimal, parse_int=Decimal)
    except (TypeError, ValueError):
        return _bad(v)
    return ("json", _json_canon(parsed))


def _uuid(v):
    if v is None:
        return None
    try:
        return uuid.UUID(bytes=v).int if isinstance(v, bytes) else uuid.UUID(str(v)).int
    except ValueError:
        return _bad(v)


def _stamp(v, zone, aware: bool):
    """Microseconds since the epoch; naive text is read in `zone` (aware) or as is (naive)."""
    if v is None or type(v) is int:
        return v
    if isinstance(v, float):
        return round(v * 1_000_000)
    try:
        dt = datetime.fromisoformat(str(v).strip())
    except ValueError:
        return _bad(v)
    if not aware:
        return (dt.replace(tzinfo=None) - EPOCH_NAIVE) // US
    if dt.tzinfo is None:
        if zone is UTC:
            return (dt - EPOCH_NAIVE) // US
        dt = dt.replace(tzinfo=zone)
    return (dt - EPOCH) // US


def _date(v):
    if v is None or type(v) is int:
        return v
    try:
        return datetime.fromisoformat(str(v).strip()).date().toordinal() - EPOCH_DAY
    except ValueError:
        return _bad(v)


def _time(v):
    if v is None or type(v) is int:
        return v
    try:
        t = time.fromisoformat(str(v).strip())
    except ValueError:
        return _bad(v)
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def zone_of(name: str):
    """The source time zone (UTC when empty)."""
    return UTC if name in ("", "UTC", "Etc/UTC") else ZoneInfo(name)


def source_converter(klass: str, zone=UTC) -> Callable | None:
    """Function turning a SQLite value into the canonical form of `klass` (None: as is)."""
    return {
        "int": _int, "float": _float, "numeric": _numeric, "text": _text, "bpchar": _bpchar,
        "bool": _bool, "bytes": _bytes, "json": _json, "uuid": _uuid, "date": _date,
        "time": _time, "interval": _int, "other": _text,
        "timestamptz": partial(_stamp, zone=zone, aware=True),
        "timestamp": partial(_stamp, zone=zone, aware=False),
    }.get(klass)


def target_converter(klass: str) -> Callable | None:
    """Function turning what psycopg2 returns for `pg_expression` into the canonical form."""
    return {"numeric": _numeric, "bytes": _bytes, "json": _json, "uuid": _uuid,
            "bpchar": _bpchar}.get(klass)


def convert_batch(rows: list[tuple], converters: list[tuple[int, Callable]]) -> list[tuple]:
    """Apply the per-column converters to a batch, column-wise (fast: map in C)."""
    if not converters or not rows:
        return rows
    columns = list(zip(*rows, strict=True))
    for index, func in converters:
        columns[index] = list(map(func, columns[index]))
    return list(zip(*columns, strict=True))


__all__ = ["type_class", "pg_expression", "source_converter", "target_converter",
           "convert_batch", "zone_of"]
