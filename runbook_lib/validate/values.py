"""Canonical values: both sides of a column read into one comparable form, by the TARGET type.

A faithful copy gives equal canonical values; any changed value gives a different one: an
integer, a float (compared as the 8-byte double PostgreSQL holds: a column narrowed to `real`
differs), text (a trailing space counts), a timestamp (integer microseconds since the epoch,
naive SQLite text read in the source time zone), a boolean, bytes, a JSON value (jsonb
semantics: key order and number spelling do not matter, values do).
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from operator import itemgetter
from zoneinfo import ZoneInfo

from ..core.django_models import sqlite_decimal
from ..core.identifiers import quote_literal
from .json_canonical import canonical as json_canonical
from .json_canonical import decimal_text

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_NAIVE = datetime(1970, 1, 1)
EPOCH_DAY = date(1970, 1, 1).toordinal()
US = timedelta(microseconds=1)
TRUE_TEXT = {"1", "t", "true", "y", "yes", "on"}
FALSE_TEXT = {"0", "f", "false", "n", "no", "off"}
MICROS = "(extract(epoch from {c}) * 1000000)::bigint"
STAMP_TEXT = "to_char({c}, 'YYYY-MM-DD HH24:MI:SS.US')"
# Django's naive UTC text, which is already the canonical spelling of a timestamp
DJANGO_STAMPS = re.compile(r"(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\n)*"
                           r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")

# target type (format_type spelling, without modifiers) → class
CLASSES = {
    "smallint": "int", "integer": "int", "bigint": "int", "oid": "int",
    "real": "float", "double precision": "float", "numeric": "numeric",
    "boolean": "bool", "bytea": "bytes", "json": "json", "jsonb": "json", "uuid": "uuid",
    "timestamp with time zone": "timestamptz", "timestamp without time zone": "timestamp",
    "date": "date", "time without time zone": "time", "interval": "interval",
    "character varying": "text", "text": "text", "character": "bpchar", "citext": "text",
    "inet": "inet", "cidr": "inet",
}
# class → SQL expression read on the PostgreSQL side ({c} is the quoted column)
PG_EXPRESSIONS = {
    "float": "{c}::float8", "bool": "{c}::int", "time": MICROS,
    "timestamptz": STAMP_TEXT.format(c="{c} AT TIME ZONE 'UTC'"), "timestamp": STAMP_TEXT,
    "interval": MICROS, "date": "({c} - DATE '1970-01-01')", "json": "{c}::text",
    "uuid": "{c}::text", "inet": "{c}::text", "other": "{c}::text",
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


def field_class(klass: str, field: dict | None) -> str:
    """The comparison class of a column whose Django field the migration recorded: what the
    application reads. DecimalField: Django's SQLite reading (15 significant digits, then the
    field's places); DateTimeField with USE_TZ = False: wall-clock time in TIME_ZONE."""
    field = field or {}
    kind = field.get("kind")
    if kind == "DecimalField" and klass == "numeric" and field.get("places") is not None:
        return f"djdecimal:{int(field['places'])}:{int(field.get('digits') or 38)}"
    if kind == "DateTimeField" and klass == "timestamptz" and field.get("zone"):
        return f"wallclock:{field['zone']}"
    return klass


def pg_expression(klass: str, quoted: str) -> str:
    if klass.startswith("wallclock:"):
        return STAMP_TEXT.format(c=f"{quoted} AT TIME ZONE {quote_literal(klass[10:])}")
    if klass.startswith("djdecimal:"):
        return quoted
    return PG_EXPRESSIONS.get(klass, "{c}").format(c=quoted)


SQLITE_EXPRESSIONS = {
    "bool": "CASE WHEN typeof({c}) IN ('integer', 'real') THEN {c} != 0 ELSE {c} END",
    "bytes": "CAST({c} AS BLOB)",  # text in a bytea column: its exact bytes, UTF-8 or not
}


def sqlite_expression(klass: str, quoted: str) -> str:
    """What SQLite selects for a column: canonical already where SQL makes it so cheaply."""
    return SQLITE_EXPRESSIONS.get(klass, "{c}").format(c=quoted)


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


NAN = float("nan")  # the one NaN: equal rows hold the same object, so tuples compare equal


def _float(v):
    if v is None:
        return v
    try:
        v = v if type(v) is float else float(v)  # 'NaN', 'Infinity' text as PostgreSQL reads it
    except (TypeError, ValueError):
        return _bad(v)
    return NAN if v != v else v


def _no_nan(column: list) -> bool:
    """Floats (or NULL) without a NaN: their sum, in C, is NaN only if one is."""
    if not _types_within({float, NONE}, column):
        return False
    total = sum(filter(None, column))
    return total == total


def _numeric(v):
    if v is None:
        return None
    try:
        return decimal_text(Decimal(repr(v) if isinstance(v, float) else str(v).strip()))
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
    """Booleans compare as 0/1 (what SQLite holds; PostgreSQL is read as boolean::int)."""
    if v is None:
        return v
    if isinstance(v, (bool, int, float)):
        return int(bool(v))
    text = str(v).strip().lower()
    return 1 if text in TRUE_TEXT else 0 if text in FALSE_TEXT else _bad(v)


def _bytes(v):
    if v is None or type(v) is bytes:
        return v
    if isinstance(v, memoryview):
        return v.tobytes()
    return v.encode("utf-8") if isinstance(v, str) else _bad(v)


def _json(v):
    """jsonb semantics, any depth (parsed without recursion)."""
    if v is None:
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return ("json", decimal_text(Decimal(repr(v) if isinstance(v, float) else v)))
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    try:
        return ("json", json_canonical(v))
    except (TypeError, ValueError):
        return _bad(v)


def _uuid(v):
    if v is None:
        return None
    try:
        return uuid.UUID(bytes=v).int if isinstance(v, bytes) else uuid.UUID(str(v)).int
    except ValueError:
        return _bad(v)


def _stamp(v, zone, aware: bool):
    """'YYYY-MM-DD HH:MM:SS.ffffff' in UTC; naive text is read in `zone` (aware) or as is."""
    if v is None:
        return v
    try:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            dt = EPOCH + timedelta(microseconds=round(v * 1_000_000))  # unix seconds
        else:
            dt = datetime.fromisoformat(str(v).strip())
    except (ValueError, OverflowError):
        return _bad(v)
    if not aware:
        dt = dt.replace(tzinfo=None)
    elif dt.tzinfo is None and zone is not UTC:
        dt = dt.replace(tzinfo=zone).astimezone(UTC)
    elif dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    return dt.replace(tzinfo=None).isoformat(" ", "microseconds")


def _inet(v):
    """An address by meaning: 192.0.2.1 is inet 192.0.2.1/32; IPv6 in any spelling."""
    if v is None:
        return None
    try:
        found = ipaddress.ip_interface(str(v).strip())
    except ValueError:
        return _bad(v)
    return ("inet", found.version, int(found.ip), found.network.prefixlen)


def _djdecimal(v, places: int, digits: int):
    """A SQLite DecimalField value as Django reads it, as exact text."""
    if v is None:
        return None
    read = sqlite_decimal(v, places, digits)
    return decimal_text(read) if isinstance(read, Decimal) else _bad(v)


def _wallclock(v, zone):
    """A naive SQLite date-time as the application reads it with USE_TZ = False: the text's
    own wall-clock time; an explicit offset is moved into TIME_ZONE."""
    if v is None:
        return None
    try:
        dt = datetime.fromisoformat(str(v).strip())
    except ValueError:
        return _bad(v)
    if dt.tzinfo is not None:
        dt = dt.astimezone(zone).replace(tzinfo=None)
    return dt.isoformat(" ", "microseconds")


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
    if klass.startswith("djdecimal:"):
        _, places, digits = klass.split(":")
        return partial(_djdecimal, places=int(places), digits=int(digits))
    if klass.startswith("wallclock:"):
        return partial(_wallclock, zone=ZoneInfo(klass[10:]))
    return {
        "int": _int, "float": _float, "numeric": _numeric, "text": _text, "bpchar": _bpchar,
        "bool": _bool, "bytes": _bytes, "json": _json, "uuid": _uuid, "date": _date,
        "time": _time, "interval": _int, "other": _text, "inet": _inet,
        "timestamptz": partial(_stamp, zone=zone, aware=True),
        "timestamp": partial(_stamp, zone=zone, aware=False),
    }.get(klass)


def target_converter(klass: str) -> Callable | None:
    """Function turning what psycopg2 returns for `pg_expression` into the canonical form."""
    if klass.startswith("djdecimal:"):
        return _numeric
    return {"numeric": _numeric, "bytes": _bytes, "json": _json, "uuid": _uuid,
            "bpchar": _bpchar, "inet": _inet, "float": _float}.get(klass)


NONE = type(None)
# class → value types already canonical (a batch column holding only these is left as is)
CANONICAL_TYPES = {"int": {int, NONE}, "float": {float, NONE}, "text": {str, NONE},
                   "other": {str, NONE}, "bytes": {bytes, NONE}, "bool": {int, NONE},
                   "date": {int, NONE},
                   "time": {int, NONE}, "interval": {int, NONE}}
Converter = tuple[int, Callable, Callable]


def _types_within(types: set, column: list) -> bool:
    return set(map(type, column)) <= types


def _django_utc_text(column: list) -> bool:
    """True when every value is Django's naive UTC text (one regex over the batch, in C)."""
    return set(map(type, column)) == {str} and bool(DJANGO_STAMPS.fullmatch("\n".join(column)))


def converters(klasses: list[str], side: str, zone=UTC) -> list[Converter]:
    """(column index, function, test that a batch column is canonical already) per column."""
    out = []
    for i, klass in enumerate(klasses):
        func = source_converter(klass, zone) if side == "source" else target_converter(klass)
        if func is None:
            continue
        if klass.startswith("wallclock:") or klass in ("timestamptz", "timestamp") and (
                zone is UTC or klass == "timestamp"):
            out.append((i, func, _django_utc_text))
        elif klass == "float":
            out.append((i, func, _no_nan))
        else:
            out.append((i, func, partial(_types_within, CANONICAL_TYPES.get(klass, set()))))
    return out


def convert_batch(rows: list[tuple], plan: list[Converter]) -> list[tuple]:
    """Apply the per-column converters to a batch; columns already canonical are left alone.

    Type checks, extraction and `map` run in C; rows are rebuilt only when a column changed.
    """
    if not plan or not rows:
        return rows
    changed = {}
    for index, func, canonical in plan:
        column = list(map(itemgetter(index), rows))
        if not canonical(column):
            changed[index] = list(map(func, column))
    if not changed:
        return rows
    width = len(rows[0])
    return list(zip(*[changed[i] if i in changed else map(itemgetter(i), rows)
                      for i in range(width)]))


__all__ = ["type_class", "field_class", "pg_expression", "source_converter", "target_converter",
           "converters", "convert_batch", "zone_of", "decimal_text", "sqlite_expression"]
