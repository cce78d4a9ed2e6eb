"""Which SQLite values a PostgreSQL type holds exactly: one SQL predicate per type family.

SQLite evaluates the predicates itself (the value profile, `profile`/`scan`). NULL always
fits here; NOT NULL is its own check (`null_predicate`), so a NULL in a key is named as such.
A family's problem text says what a value that fails it is. Besides the families of the
PostgreSQL types, a plan may hold a column to a stricter or wider family (`ColumnPlan.validity`,
set by `schema` and `type_inference`): `blob` (a declared BLOB holds blobs only), `bytea`
(blobs and text, the text as its UTF-8 bytes), `double words` (NaN and ±Infinity spelled as
text, which PostgreSQL reads), `jsonb exact` (no duplicate keys, which jsonb would drop).
"""

from __future__ import annotations

import re

from ..core.i18n import Text
from ..core.identifiers import quote_ident
from ..core.sqlite_quirks import UTF8_OK
from . import django_values

__all__ = ["VALIDITY", "family", "predicate", "column_predicate", "null_predicate", "problem",
           "null_problem", "utf8_predicate", "UTF8_PROBLEM", "TEXTUAL"]

q = quote_ident
_BOOL_WORDS = "'t','f','true','false','y','n','yes','no','on','off','1','0'"
_NO_NUL = "instr(CAST({c} AS BLOB), x'00') = 0"
_TEXTISH = "typeof({c}) != 'blob' AND " + _NO_NUL
# `instr` stops at the first '-' (cheap, unlike a GLOB of [0-9] classes); julianday() then
# parses YYYY-MM-DD digits and refuses 'now', bare times and julian day numbers. SQLite takes
# any day up to 31 ('2024-02-30' rolls over to March 1st), so the day must exist in its
# month (plain arithmetic, several times cheaper than formatting the date again); there is
# no year 0 in PostgreSQL.
_YEAR = "CAST(substr({c}, 1, 4) AS INTEGER)"
_LAST_DAY = (f"CASE WHEN substr({{c}}, 6, 2) IN ('04','06','09','11') THEN '30' "
             f"WHEN substr({{c}}, 6, 2) != '02' THEN '31' "
             f"WHEN {_YEAR} % 4 = 0 AND ({_YEAR} % 100 != 0 OR {_YEAR} % 400 = 0) THEN '29' "
             f"ELSE '28' END")
_DATE = ("typeof({c})='text' AND instr({c}, '-') = 5 AND substr({c}, 1, 4) != '0000' AND "
         f"(substr({{c}}, 9, 2) <= '28' OR substr({{c}}, 9, 2) <= {_LAST_DAY})")
_JSON = "typeof({c}) IN ('text','integer') AND json_valid({c})"
_NO_JSON_NUL = "instr({c}, '\\u0000') = 0"
_NO_DUPLICATE_KEYS = ("NOT EXISTS (SELECT 1 FROM json_tree(CASE WHEN json_valid({c}) THEN {c} "
                      "ELSE 'null' END) GROUP BY parent, key HAVING count(*) > 1)")
_FLOAT_WORDS = ("'nan','infinity','+infinity','-infinity','inf','+inf','-inf'")


def _t(en: str, ko: str) -> Text:
    return {"en": en, "ko": ko}


# family: (SQL predicate over {c}, what a value that fails it is). NULL is always valid here.
VALIDITY: dict[str, tuple[str, Text]] = {
    "smallint": ("typeof({c})='integer' AND {c} BETWEEN -32768 AND 32767",
                 _t("not an integer, or out of smallint range",
                    "정수가 아니거나 smallint 범위를 벗어남")),
    "integer": ("typeof({c})='integer' AND {c} BETWEEN -2147483648 AND 2147483647",
                _t("not an integer, or out of integer range", "정수가 아니거나 integer 범위를 벗어남")),
    "bigint": ("typeof({c})='integer'", _t("not an integer", "정수가 아님")),
    "double precision": ("typeof({c})='real' OR (typeof({c})='integer' "
                         "AND {c} BETWEEN -9007199254740992 AND 9007199254740992)",
                         _t("not a number (or an integer a double cannot hold exactly)",
                            "숫자가 아님 (또는 double이 정확히 담지 못하는 정수)")),
    "double words": ("typeof({c})='real' OR (typeof({c})='integer' "
                     "AND {c} BETWEEN -9007199254740992 AND 9007199254740992) OR (typeof({c})='text' AND "
                     f"lower(trim({{c}})) IN ({_FLOAT_WORDS}))",
                     _t("not a number, NaN or Infinity", "숫자, NaN, Infinity가 아님")),
    "real": ("typeof({c}) IN ('real','integer')", _t("not a number", "숫자가 아님")),
    "numeric": ("typeof({c}) IN ('integer','real') AND {c} > -{limit} AND {c} < {limit}",
                _t("not a number, infinite, or too many digits",
                   "숫자가 아니거나 무한대이거나 자릿수가 너무 많음")),
    "boolean": (f"(typeof({{c}})='integer' AND {{c}} IN (0,1)) OR "
                f"(typeof({{c}})='text' AND lower({{c}}) IN ({_BOOL_WORDS}))",
                _t("not a boolean", "불리언이 아님")),
    "timestamp": (_DATE + " AND julianday({c}) IS NOT NULL",
                  _t("not an ISO date-time PostgreSQL can hold (an impossible date such as "
                     "2024-02-30 or year 0000, or another format)",
                     "PostgreSQL이 담을 수 있는 ISO 날짜-시간이 아님 (2024-02-30이나 0000년 같은 "
                     "없는 날짜, 또는 다른 형식)")),
    "date": (_DATE + " AND length({c}) = 10 AND julianday({c}) IS NOT NULL",
             _t("not an ISO date PostgreSQL can hold (an impossible date such as 2024-02-30 "
                "or year 0000, or another format)",
                "PostgreSQL이 담을 수 있는 ISO 날짜가 아님 (2024-02-30이나 0000년 같은 없는 날짜, "
                "또는 다른 형식)")),
    "time": ("typeof({c})='text' AND instr({c}, ':') = 3 AND time({c}) IS NOT NULL",
             _t("not an ISO time", "ISO 시각이 아님")),
    "varchar": (_TEXTISH + " AND length({c}) <= {n}",
                _t("too long, a blob, or holds NUL bytes", "너무 길거나, blob이거나, NUL 바이트가 있음")),
    "text": (_TEXTISH, _t("a blob, or holds NUL bytes (PostgreSQL text cannot hold them)",
                          "blob이거나 NUL 바이트가 있음 (PostgreSQL text에 담을 수 없음)")),
    "bytea": ("typeof({c}) IN ('blob','text')",
              _t("a number (bytea holds blobs and text)", "숫자임 (bytea는 blob과 텍스트만 담음)")),
    "blob": ("typeof({c})='blob'", _t("not a blob", "blob이 아님")),
    "json": (_JSON, _t("not valid JSON", "올바른 JSON이 아님")),
    "jsonb": (_JSON + " AND " + _NO_JSON_NUL,
              _t("not valid JSON, or holds \\u0000 (jsonb cannot)",
                 "올바른 JSON이 아니거나 \\u0000이 있음 (jsonb에 담을 수 없음)")),
    "jsonb exact": (_JSON + " AND " + _NO_JSON_NUL + " AND " + _NO_DUPLICATE_KEYS,
                    _t("not valid JSON, holds \\u0000, or repeats a key (jsonb keeps only the "
                       "last)",
                       "올바른 JSON이 아니거나, \\u0000이 있거나, 키가 반복됨 (jsonb는 마지막 것만 "
                       "남김)")),
    "uuid": ("typeof({c})='text' AND length(replace({c},'-','')) = 32 AND "
             "replace({c},'-','') NOT GLOB '*[^0-9a-fA-F]*'", _t("not a UUID", "UUID가 아님")),
    "interval": ("typeof({c})='integer'",
                 _t("not a whole number of microseconds (DurationField)",
                    "마이크로초 단위 정수가 아님 (DurationField)")),
    "inet": ("typeof({c})='text' AND length({c}) BETWEEN 2 AND 50 AND "
             "{c} NOT GLOB '*[^0-9a-fA-F:./]*'", _t("not an IP address", "IP 주소가 아님")),
}


def family(target_type: str) -> tuple[str, dict]:
    """Validity family of a PostgreSQL type name, with its parameters."""
    t = target_type.lower().strip()
    if m := re.fullmatch(r"numeric\s*\((\d+)(?:\s*,\s*(\d+))?\)", t):
        return "numeric", {"limit": f"1e{int(m.group(1)) - int(m.group(2) or 0)}"}
    if t.startswith("numeric") or t == "decimal":
        return "numeric", {"limit": "1e300"}
    if m := re.fullmatch(r"(character varying|varchar|character|char)\s*\((\d+)\)", t):
        return "varchar", {"n": m.group(2)}
    for prefix, fam in (("timestamp", "timestamp"), ("time", "time"), ("jsonb", "jsonb"),
                        ("json", "json"), ("int8", "bigint"), ("int4", "integer"),
                        ("int2", "smallint"), ("float8", "double precision"), ("bool", "boolean")):
        if t.startswith(prefix):
            return fam, {}
    return (t if t in VALIDITY else "text"), {}


def predicate(column: str, target_type: str, notnull: bool = False, extra: str = "",
              validity: str = "") -> str:
    """SQL (SQLite) that is 1 when the column's value fits the target type (NULL fits unless
    `notnull`); `extra` is one more condition a value must meet; `validity` a family that
    replaces the type's own (its parameters, varchar's length, stay the type's)."""
    fam, params = family(target_type)
    c = q(column)
    fits = VALIDITY[validity or fam][0].format(c=c, **params) + (f" AND ({extra})" if extra
                                                                 else "")
    return f"({c} IS NOT NULL AND ({fits}))" if notnull else f"({c} IS NULL OR ({fits}))"


def column_predicate(col) -> str:
    """The value predicate of one planned column (NULL fits: see `null_predicate`)."""
    return predicate(col.source_name, col.target_type, False,
                     django_values.gap_condition(col, q(col.source_name)), col.validity)


def null_predicate(col) -> str:
    """True when a NOT NULL column's value is there."""
    return f"({q(col.source_name)} IS NOT NULL)"


def problem(col) -> Text:
    """What a bad value of this column is (for the listing)."""
    special = django_values.problem(col)
    if special:
        return {"en": special, "ko": special}
    return VALIDITY[col.validity or family(col.target_type)[0]][1]


def null_problem(key: bool) -> Text:
    if key:
        return _t("NULL in the primary key (PostgreSQL keys cannot be NULL)",
                  "기본 키에 NULL (PostgreSQL의 키는 NULL일 수 없음)")
    return _t("NULL in a NOT NULL column", "NOT NULL 열에 NULL")


# families whose values reach PostgreSQL as text: they must be valid UTF-8 (the others accept
# only ASCII forms: digits, hex, words)
TEXTUAL = ("text", "varchar", "json", "jsonb", "jsonb exact")
UTF8_PROBLEM = _t("not valid UTF-8 (PostgreSQL text cannot hold it; often cp949 or latin-1 "
                  "bytes)",
                  "올바른 UTF-8이 아님 (PostgreSQL text에 담을 수 없음; 흔히 cp949나 latin-1 바이트)")


def utf8_predicate(col) -> str:
    """True when the column's value is not text, or is text of valid UTF-8."""
    return UTF8_OK.format(c=q(col.source_name))


def textual(col) -> bool:
    return (col.validity or family(col.target_type)[0]) in TEXTUAL
