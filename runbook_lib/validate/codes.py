"""Canonical codes: every compared value as text that both sides produce identically, in bulk.

A chunk digest (`digest`) is the md5 of one column's codes in key order. PostgreSQL builds them
in SQL (`pg_code`); the SQLite side builds them from Arrow batches with vectorised kernels
(`arrow_codes`), or value by value from the canonical values of `values` (`py_code`: the
reference, used wherever a batch does not have the plain form the kernels expect). A code is
the text PostgreSQL itself prints for the value (`::text`, jsonb's own output) or the bytes
it sends (`int8send`, `float8send`, `timestamp_send`), so no conversion on the PostgreSQL side
can differ from the SQLite side's reading unnoticed, and it is self-delimiting:

- `term`: the text and a `,` (the text never holds one); NULL is `N,`;
- `len`: the text's length in UTF-8 bytes, `:`, the text (any text); NULL is `N`;
- `bin8`: byte 1 and the value's 8 bytes as PostgreSQL sends them (an int8, a float8's bits,
  a timestamp's µs since 2000); NULL is 9 zero bytes;
- `char`: one character (a boolean's 0/1); NULL is `N`.

The fixed-width kinds (`bin8`, `char`) are digested together as bytes (PostgreSQL: `bytea`),
the others as text; no hex step on either side. A value the SQLite side cannot read as the
column's type is `?` (as many as the kind's width), which PostgreSQL never produces where a
code starts. So, with the row counts of a chunk equal, equal streams mean equal values.
Whatever has no exact code (a row path reason) is decided by `values` row by row.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import partial

import numpy as np

from ..core.django_models import sqlite_decimal
from ..core.identifiers import quote_literal
from . import values
from .json_canonical import decimal_text, jsonb_text

VERSION = 2  # of the codes: digests recorded under another version are not compared
BAD = "?"  # a value SQLite holds that the column's class cannot read; fixed width below
WIDTH = {"bin8": 9, "char": 1}  # kinds whose codes all have one width (digested as bytes)
BINARY = {"bin8"}  # kinds whose codes are bytes, not text
DIGIT = (ord("0"), ord("9"))

# class → (kind, PostgreSQL text or bytes of the value; {c} is the quoted column)
PG_TEXT: dict[str, tuple[str, str]] = {
    "int": ("bin8", "int8send({c}::int8)"),
    "interval": ("bin8", "int8send((extract(epoch from {c}) * 1000000)::bigint)"),
    "float": ("bin8", "float8send({c}::float8)"),
    "numeric": ("term", "CASE WHEN strpos({c}::text, '.') > 0 THEN "
                        "rtrim(rtrim({c}::text, '0'), '.') ELSE {c}::text END"),
    "bool": ("char", "{c}::boolean"),
    "text": ("len", "{c}::text"), "other": ("len", "{c}::text"), "bpchar": ("len", "{c}::text"),
    "json": ("len", "{c}::jsonb::text"),
    "uuid": ("term", "replace({c}::text, '-', '')"),
    "timestamptz": ("bin8", "timestamptz_send({c})"),
    "timestamp": ("bin8", "timestamp_send({c})"),
    "date": ("term", "{c}::text"), "time": ("term", "{c}::text"),
    "bytes": ("term", "encode({c}, 'hex')"),
    "inet": ("term", "family({c}) || '/' || masklen({c}) || '/' || "
                     "encode(substring(inet_send({c}::inet) from 5), 'hex')"),
}
NULL = {"term": "N,", "len": "N", "bin8": bytes(9), "char": "N"}
# PostgreSQL session settings the texts above assume
SESSION = ("SET TimeZone TO 'UTC'", "SET DateStyle TO 'ISO, MDY'",
           "SET IntervalStyle TO 'postgres'", "SET jit TO off")


def base(klass: str) -> str:
    """The class whose code a parameterised class uses (djdecimal:2:10 → numeric)."""
    if klass.startswith("djdecimal:"):
        return "numeric"
    if klass.startswith("wallclock:"):
        return "timestamp"
    return klass


def kind(klass: str) -> str:
    return PG_TEXT[base(klass)][0]


def fixed(klass: str) -> bool:
    """Are this class's codes of one width (digested as bytes, in the row's fixed group)?"""
    return kind(klass) in WIDTH


def pg_code(klass: str, quoted: str) -> str:
    """SQL giving one value's code (never NULL) on the PostgreSQL side: text, or bytea for the
    fixed-width kinds (`fixed`)."""
    k, text = PG_TEXT[base(klass)]
    if klass.startswith("wallclock:"):
        quoted = f"({quoted} AT TIME ZONE {quote_literal(klass[10:])})"
    value = text.format(c=quoted)
    if k == "bin8":
        return f"coalesce(decode('01', 'hex') || {value}, decode('{NULL[k].hex()}', 'hex'))"
    if k == "char":  # a boolean: '0', '1' or 'N' as one byte
        return (f"coalesce(CASE {value} WHEN true THEN '1' WHEN false THEN '0' END::bytea, "
                f"'N'::bytea)")
    code = {"term": f"{value} || ','", "len": f"octet_length({value}) || ':' || {value}"}[k]
    return f"coalesce({code}, {quote_literal(NULL[k])})"


# -- one value at a time (the reference) -----------------------------------------------------
PG_EPOCH = datetime(2000, 1, 1)


def _stamp_bytes(text: str) -> bytes:
    """A canonical 'YYYY-MM-DD HH:MM:SS.ffffff' as PostgreSQL sends it: µs since 2000, int8."""
    return struct.pack(">q", (datetime.fromisoformat(text) - PG_EPOCH) // values.US)


def _trim_fraction(text: str) -> str:
    """'2024-01-01 08:30:00.120000' → '2024-01-01 08:30:00.12' (PostgreSQL's spelling)."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def _time_text(micros: int) -> str:
    seconds, us = divmod(micros, 1_000_000)
    text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{us:06d}"
    return _trim_fraction(text)


def _inet_text(found: tuple) -> str:
    _, version, address, prefix = found
    return f"{version}/{prefix}/{address.to_bytes(4 if version == 4 else 16, 'big').hex()}"


TEXT_OF: dict[str, Callable] = {  # canonical value (values.source_converter) → its text/bytes
    "int": partial(struct.pack, ">q"), "interval": partial(struct.pack, ">q"),
    "numeric": str, "bool": str, "text": str, "other": str,
    "bpchar": str, "uuid": lambda v: f"{v:032x}", "bytes": bytes.hex,
    "timestamptz": _stamp_bytes, "timestamp": _stamp_bytes,
    "date": lambda v: date.fromordinal(v + values.EPOCH_DAY).isoformat(), "time": _time_text,
    "inet": _inet_text, "float": partial(struct.pack, ">d"),
}


def _octets(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def bad(klass: str) -> str | bytes:
    """The code of an unreadable value: `?` (as many as the kind's width)."""
    found = BAD * WIDTH.get(kind(klass), 1)
    return found.encode() if kind(klass) in BINARY else found


def py_code(klass: str, canonical) -> str | bytes:
    """The code of one canonical value (what `values.source_converter(klass)` returns): bytes
    for the `BINARY` kinds, else text."""
    k = kind(klass)
    if canonical is None:
        return NULL[k]
    if isinstance(canonical, tuple) and canonical[:1] == ("unreadable",):
        return bad(klass)
    try:
        text = TEXT_OF[base(klass)](canonical)
    except (TypeError, ValueError, OverflowError, AttributeError, struct.error):
        return bad(klass)
    if k == "bin8":
        return b"\x01" + text
    return {"term": f"{text},", "len": f"{_octets(text)}:{text}"}.get(k, text)


def json_code(raw) -> str:
    """The code of a raw SQLite JSON value: jsonb's own text of it (`jsonb_text`)."""
    if raw is None:
        return "N"
    text = jsonb_text(raw) if isinstance(raw, str) else None
    return BAD if text is None else f"{_octets(text)}:{text}"


def value_code(klass: str, zone) -> Callable:
    """Function: one raw SQLite value → its code, through `values` (the reference)."""
    if base(klass) == "json":
        return json_code
    if base(klass) == "numeric":
        return partial(decimal_code, klass)
    canonical = values.source_converter(klass, zone) or (lambda v: v)
    return lambda v: py_code(klass, canonical(v))


def decimal_code(klass: str, raw) -> str:
    """Code of a raw SQLite number in a numeric column (`values` semantics, one value)."""
    if raw is None:
        return "N,"
    if klass.startswith("djdecimal:"):
        _, places, digits = klass.split(":")
        read = sqlite_decimal(raw, int(places), int(digits))
        return f"{decimal_text(read)}," if isinstance(read, Decimal) else BAD
    found = values.source_converter("numeric")(raw)
    return f"{found}," if isinstance(found, str) else BAD


# -- codes of a batch --------------------------------------------------------------------------
@dataclass
class Codes:
    """One column's codes for a batch of rows: bytes plus each row's start offset."""

    data: bytes | memoryview
    offsets: np.ndarray  # n + 1 byte offsets into data

    def piece(self, start: int, end: int) -> memoryview:
        return memoryview(self.data)[int(self.offsets[start]):int(self.offsets[end])]

    @classmethod
    def fixed(cls, data: bytes, n: int, width: int) -> Codes:
        return cls(data, np.arange(n + 1, dtype=np.int64) * width)

    def matrix(self, width: int) -> np.ndarray:
        """The codes as an (n, width) array (every code is `width` bytes long)."""
        n = len(self.offsets) - 1
        if not np.array_equal(np.diff(self.offsets), np.full(n, width)):
            raise ValueError("codes of different widths")
        start = int(self.offsets[0])
        return np.frombuffer(self.data, np.uint8, n * width, start).reshape(n, width)

    @classmethod
    def rows(cls, columns: list[Codes], widths: list[int]) -> Codes:
        """Fixed-width codes of several columns, row by row (one digest for them all)."""
        if len(columns) == 1:
            return columns[0]
        joined = np.hstack([c.matrix(w) for c, w in zip(columns, widths, strict=True)])
        return cls.fixed(joined.tobytes(), joined.shape[0], sum(widths))

    @classmethod
    def arrow(cls, array) -> Codes:
        """A string array without nulls: its value bytes and offsets, no copy."""
        _, offsets, data = array.buffers()
        offs = np.frombuffer(offsets, np.int32, len(array) + 1, array.offset * 4)
        return cls(data if data is not None else b"", offs.astype(np.int64))


def _pa():
    import pyarrow as pa
    import pyarrow.compute as pc

    return pa, pc


def _nulls(array) -> np.ndarray | None:
    return array.is_null().to_numpy(zero_copy_only=False) if array.null_count else None


def _bin8(numbers: np.ndarray, nulls: np.ndarray | None) -> Codes:
    """8-byte numbers as PostgreSQL sends them (big-endian) after byte 1; NULL: 9 zero bytes."""
    n = len(numbers)
    out = np.empty((n, 9), np.uint8)
    out[:, 0] = 1
    out[:, 1:] = np.ascontiguousarray(numbers, numbers.dtype.newbyteorder(">")
                                      ).view(np.uint8).reshape(n, 8)
    if nulls is not None:
        out[nulls] = 0
    return Codes.fixed(out.tobytes(), n, 9)


def _coded(array, code: Callable, binary: bool = False):
    """A string (or, `binary`, bytes) array: code(value) for each value, each distinct value
    coded once; NULLs stay NULL."""
    pa, _ = _pa()
    encoded = array.dictionary_encode()
    table = pa.array([code(v) for v in encoded.dictionary.to_pylist()],
                     pa.binary() if binary else pa.string())
    return table.take(encoded.indices)


def distinct_codes(klass: str, array, zone) -> Codes:
    """Codes value by value (`value_code`), each distinct value once; NULLs vectorised."""
    _, pc = _pa()
    coded = _coded(array, value_code(klass, zone), kind(klass) in BINARY)
    return Codes.arrow(pc.fill_null(coded, NULL[kind(klass)]))


def numeric_codes(klass: str, integers, reals) -> Codes:
    """A numeric column read as two typed columns (whole numbers, the rest): its codes."""
    _, pc = _pa()
    code = partial(decimal_code, klass)
    merged = pc.if_else(integers.is_valid(), _coded(integers, code), _coded(reals, code))
    return Codes.arrow(pc.fill_null(merged, "N,"))


def _int_codes(array) -> Codes | None:
    pa, _ = _pa()
    if array.type != pa.int64():
        return None
    return _bin8(array.fill_null(0).to_numpy(), _nulls(array))


def _float_codes(array) -> Codes | None:
    pa, _ = _pa()
    if array.type not in (pa.float64(), pa.int64()):
        return None
    numbers = array.cast(pa.float64(), safe=False).fill_null(0.0).to_numpy()
    return _bin8(numbers, _nulls(array))


def _bool_codes(array) -> Codes | None:
    pa, pc = _pa()
    if array.type not in (pa.int64(), pa.float64()):
        return None
    bits = pc.cast(pc.not_equal(array, 0), pa.int8()).cast(pa.string())
    return Codes.arrow(pc.fill_null(bits, "N"))


def _text_codes(array, strip: bool = False) -> Codes | None:
    pa, pc = _pa()
    if array.type != pa.string():
        return None
    if strip:
        array = pc.utf8_rtrim(array, characters=" ")
    length = pc.cast(pc.binary_length(array), pa.string())
    return Codes.arrow(pc.fill_null(pc.binary_join_element_wise(length, array, ":"), "N"))


def _terminated(array) -> Codes:
    pa, pc = _pa()
    return Codes.arrow(pc.fill_null(pc.binary_join_element_wise(array, "", ","), "N,"))


def _uuid_codes(array) -> Codes | None:
    pa, pc = _pa()
    if array.type != pa.string():
        return None
    hexed = pc.utf8_lower(pc.replace_substring(array, "-", ""))
    if pc.all(pc.match_substring_regex(hexed, "^[0-9a-f]{32}$")).as_py() is False:
        return None
    return _terminated(hexed)


STAMP = b"0000-00-00 00:00:00.000000"  # the form Django writes; 0: a digit
TIME = b"00:00:00.000000"
DATE = b"0000-00-00"
MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)


def _fixed(array, template: bytes, short: int):
    """(chars as an (n, width) uint8 array, NULL mask, the array padded) of strings in the
    template's form, those of `short` characters padded with the template's zeros (a time
    without its fraction); None if any value has another form."""
    pa, pc = _pa()
    if array.type != pa.string():
        return None
    n, width = len(array), len(template)
    lengths = pc.binary_length(array).fill_null(width).to_numpy()
    if not np.isin(lengths, (short, width)).all():
        return None
    if short != width and (lengths == short).any():
        array = pc.if_else(pc.equal(pc.binary_length(array), short),
                           pc.binary_join_element_wise(array, template[short:].decode(), ""),
                           array)
    nulls = _nulls(array)
    fixed = Codes.arrow(array.fill_null(template.decode().replace("0", "1")))
    if not np.array_equal(fixed.offsets - fixed.offsets[0], np.arange(n + 1) * width):
        return None
    chars = np.frombuffer(fixed.data, np.uint8, n * width, int(fixed.offsets[0]))
    chars = chars.reshape(n, width)
    form = np.frombuffer(template, np.uint8)
    digit = form == ord("0")
    low, high = np.where(digit, DIGIT[0], form), np.where(digit, DIGIT[1], form)
    if not ((chars >= low) & (chars <= high)).all():
        return None
    return chars, nulls, array


def _number(d: np.ndarray, start: int, size: int) -> np.ndarray:
    out = d[:, start].astype(np.int64)
    for i in range(start + 1, start + size):
        out *= 10
        out += d[:, i]
    return out


def _stamp_codes(array) -> Codes | None:
    """Django's 'YYYY-MM-DD HH:MM:SS[.ffffff]' text as PostgreSQL sends the same timestamp
    (µs since 2000-01-01 as int8); None unless every value is a real date and time."""
    found = _fixed(array, STAMP, 19)
    if found is None:
        return None
    chars, nulls, _ = found
    d = chars - np.uint8(DIGIT[0])
    year, month, day = _number(d, 0, 4), _number(d, 5, 2), _number(d, 8, 2)
    hour, minute, second = _number(d, 11, 2), _number(d, 14, 2), _number(d, 17, 2)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    days_in = MONTH_DAYS[np.clip(month, 0, 12)] + ((month == 2) & leap)
    if not ((year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= days_in)
            & (hour <= 23) & (minute <= 59) & (second <= 59)).all():
        return None
    y = year - (month <= 2)  # days from the civil date (H. Hinnant's algorithm)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468 - 10957
    micros = ((days * 24 + hour) * 60 + minute) * 60 + second
    return _bin8(micros * 1_000_000 + _number(d, 20, 6), nulls)


def _text_form_codes(array, template: bytes, short: int) -> Codes | None:
    """Dates and times in Django's form, as PostgreSQL prints them (the fraction's trailing
    zeros cut, and its point when nothing is left)."""
    _, pc = _pa()
    found = _fixed(array, template, short)
    if found is None:
        return None
    array = found[2]
    if short != len(template):
        array = pc.replace_substring_regex(pc.replace_substring_regex(array, "0+$", ""),
                                           "[.]$", "")
    return _terminated(array)


def arrow_codes(klass: str, array, zone_is_utc: bool = True) -> Codes | None:
    """Vectorised codes of an Arrow column, or None when this batch is not in the plain form
    (then `distinct_codes` decides value by value)."""
    b = base(klass)
    if b in ("int", "interval"):
        return _int_codes(array)
    if b == "float":
        return _float_codes(array)
    if b == "bool":
        return _bool_codes(array)
    if b in ("text", "other", "bpchar"):
        return _text_codes(array, strip=b == "bpchar")
    if b == "uuid":
        return _uuid_codes(array)
    if b == "timestamp" or (b == "timestamptz" and zone_is_utc):
        return _stamp_codes(array)
    if b == "date":
        return _text_form_codes(array, DATE, 10)
    if b == "time":
        return _text_form_codes(array, TIME, 8)
    return None


def column_codes(klass: str, arrays: list, zone) -> tuple[Codes, bool]:
    """(codes of one column of a batch, True if they were made value by value)."""
    if base(klass) == "numeric":
        return numeric_codes(klass, *arrays), True
    found = arrow_codes(klass, arrays[0], zone is values.UTC)
    if found is not None:
        return found, False
    return distinct_codes(klass, arrays[0], zone), True


__all__ = ["PG_TEXT", "SESSION", "Codes", "arrow_codes", "column_codes", "distinct_codes",
           "py_code", "pg_code", "json_code", "value_code", "kind", "base", "bad", "fixed",
           "WIDTH", "VERSION"]
