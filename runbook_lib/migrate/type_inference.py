"""`types: data` (schema: sqlite): where a declared type lies, the plan follows the values.

SQLite lets any value into any column: text in an INTEGER, blobs in a TEXT, 'NaN' in a REAL,
geometry blobs in a column declared POINT. For each planned column the value profile also
counts, for a ladder of wider types, the values each would not hold (`candidates`: scanned
only where the planned type fails, in the same pass that counts the bad rows). `decide` then
takes the first, so the narrowest, type of the ladder that holds every value exactly; each
decision is a row of the plan with its reason and count (`Decision`), and `type_overrides`
still wins. A value that no type of its ladder holds stays a bad value for `on_bad_value`.

What is a lie of the declaration, and what is a bad value: a value of another kind than
declared (text or a blob in a number column, a blob in a text column) or beyond the declared
size (70000 in a SMALLINT, 20 characters in a VARCHAR(5)) makes the column wider; a value of
the declared kind that PostgreSQL cannot hold (an impossible date, NUL or invalid UTF-8 in
text, invalid JSON, NULL in a key) is a bad value. Dates and times therefore have no ladder.
`types: declared` keeps every declared type: the ladders are still scanned, for the hint.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..core.i18n import Text, t
from ..core.identifiers import quote_ident
from .scan import Scan
from .validity import column_predicate, family, predicate

__all__ = ["LADDERS", "Decision", "candidates", "decide", "apply", "frame", "fits",
           "REASONS", "untouched"]

# planned validity family → wider (target type, validity family), narrowest first. The data
# chooses among the first ones by itself; those after `HINT_ONLY` only name a fix (text
# holds an impossible date exactly, but the column was meant to hold dates).
_BYTES = ("bytea", "bytea")
_TEXT = ("text", "text")
LADDERS: dict[str, list[tuple[str, str]]] = {
    "smallint": [("integer", ""), ("bigint", ""), ("double precision", ""), _TEXT, _BYTES],
    "integer": [("bigint", ""), ("double precision", ""), _TEXT, _BYTES],
    "bigint": [("double precision", ""), _TEXT, _BYTES],
    "double precision": [("double precision", "double words"), _TEXT, _BYTES],
    "real": [("double precision", ""), ("double precision", "double words"), _TEXT, _BYTES],
    "numeric": [("numeric", ""), _TEXT, _BYTES],
    "varchar": [_TEXT, _BYTES],
    "text": [_BYTES],
    "blob": [_BYTES],
    "jsonb exact": [("json", ""), _TEXT, _BYTES],
    "jsonb": [("json", ""), _TEXT, _BYTES],
    "json": [_TEXT, _BYTES],
    "boolean": [_TEXT, _BYTES],
    "uuid": [_TEXT, _BYTES],
    "timestamp": [_TEXT, _BYTES],
    "date": [_TEXT, _BYTES],
    "time": [_TEXT, _BYTES],
}
HINT_ONLY = {"jsonb exact": _TEXT, "jsonb": _TEXT, "json": _TEXT, "boolean": _TEXT,
             "uuid": _TEXT, "timestamp": _TEXT, "date": _TEXT, "time": _TEXT}
REASONS: dict[str, Text] = {
    "wider": {"en": "{n} value(s) beyond {planned}", "ko": "{planned}를 넘는 값 {n}개"},
    "double precision": {"en": "{n} value(s) are reals", "ko": "실수 값 {n}개"},
    "double words": {"en": "{n} value(s) are NaN or ±Infinity written as text (PostgreSQL "
                           "reads them)",
                     "ko": "텍스트로 쓴 NaN 또는 ±Infinity 값 {n}개 (PostgreSQL이 읽을 수 있음)"},
    "text": {"en": "{n} value(s) are not {planned}: text holds every value",
             "ko": "{planned}가 아닌 값 {n}개: text는 모든 값을 담음"},
    "bytea": {"en": "{n} value(s) are blobs or not text PostgreSQL can hold: bytea keeps "
                    "every value's bytes (text as its UTF-8)",
              "ko": "blob이거나 PostgreSQL 텍스트로 담을 수 없는 값 {n}개: bytea는 모든 값의 "
                    "바이트를 그대로 담음 (텍스트는 UTF-8로)"},
    "text as bytes": {"en": "{n} value(s) are text in a BLOB column: bytea keeps them as their "
                            "UTF-8 bytes",
                      "ko": "BLOB 열에 든 텍스트 값 {n}개: bytea는 UTF-8 바이트로 담음"},
    "json": {"en": "{n} value(s) repeat a key or hold \\u0000, which jsonb would not keep: "
                   "json keeps the text",
             "ko": "키가 반복되거나 \\u0000이 있는 값 {n}개 (jsonb는 보존하지 못함): json은 텍스트를 "
                   "그대로 담음"},
}


@dataclass
class Decision:
    """One column whose type follows its values instead of its declaration."""

    table: str  # source names
    column: str
    declared: str
    planned: str
    target_type: str
    validity: str
    reason: str  # key of REASONS
    rows: int  # values the planned type would not hold

    def text(self, language: str | None = None) -> str:
        return t(REASONS[self.reason], language, n=self.rows, planned=self.planned)


def _family(col) -> str:
    return col.validity or family(col.target_type)[0]


def eligible(col, overrides: dict, table: str) -> bool:
    """A column the data may re-type: not the rowid key, not overridden."""
    return not col.identity and f"{table}.{col.source_name}" not in overrides


def candidates(tp, overrides: dict) -> dict[tuple, str]:
    """("type", column, target, validity) → predicate, for every eligible column's ladder."""
    out = {}
    for col in tp.columns:
        if not eligible(col, overrides, tp.source_name):
            continue
        for target, validity in LADDERS.get(_family(col), []):
            key = ("type", col.source_name, target, validity)
            out[key] = predicate(col.source_name, target, False, "", validity)
        out[("blobs", col.source_name)] = f"(typeof({quote_ident(col.source_name)}) != 'blob')"
    return out


# families whose predicate is cheap, or whose failure may choose a type by itself (jsonb →
# json): the cheap scan (`untouched`) tests them in full. Any other family's values choose
# another type only by a blob (bytea) or a varchar's length: the cheap scan tests just that.
_IN_FULL = {"smallint", "integer", "bigint", "double precision", "double words", "real",
            "numeric", "bytea", "blob", "json", "jsonb", "jsonb exact"}


def class_predicate(col) -> str:
    """SQL true when this value cannot make `decide` choose another type for its column."""
    fam = _family(col)
    if fam in _IN_FULL:
        return column_predicate(col)
    c = quote_ident(col.source_name)
    size = f" AND length({c}) <= {family(col.target_type)[1]['n']}" if fam == "varchar" else ""
    return f"({c} IS NULL OR (typeof({c}) != 'blob'{size}))"


def untouched(snapshot, plan, workers: int = 1, overrides: dict | None = None) -> set[str]:
    """The tables (source names) where no value can make `decide` choose another type: one
    scan of storage classes and sizes, a fraction of the value profile's cost (whose other
    findings are bad values, which the copy checks as it goes: `load_checks`)."""
    scan = Scan(snapshot, workers)
    for tp in plan.tables:
        conds = {("class", c.source_name): class_predicate(c) for c in tp.columns
                 if eligible(c, overrides or {}, tp.source_name)}
        scan.submit(tp.source_name, conds, tp.source.rows, not tp.source.without_rowid)
    counts = scan.counts()
    return {tp.source_name for tp in plan.tables
            if not any(counts.get(tp.source_name, {}).values())}


def fits(tp, counts: dict[tuple, int], column: str,
         auto: bool = False) -> tuple[str, str] | None:
    """The first (type, validity) of a column's ladder that holds every scanned value. `auto`
    (the data choosing by itself): bytea only for a column that holds a blob (or was declared
    BLOB), so that NUL or invalid UTF-8 in text stays a bad value rather than turning the
    column to bytes, and never a type that only names a fix (`HINT_ONLY`)."""
    col = tp.column(column)
    family_ = _family(col)
    no_blob = counts.get(("blobs", column), 0) == 0 and family_ != "blob"
    ladder = LADDERS.get(family_, [])
    for target, validity in ladder:
        if counts.get(("type", column, target, validity), 1):
            continue
        if auto and ((no_blob and target == "bytea")
                     or HINT_ONLY.get(family_) == (target, validity)):
            continue
        return target, validity
    return None


def _reason(target: str, validity: str, planned_family: str) -> str:
    if planned_family == "blob":
        return "text as bytes"
    if validity in ("double words", "bytea"):
        return validity
    if target in ("text", "json"):
        return target
    if target == "double precision" and planned_family != "real":
        return "double precision"
    return "wider"


def decide(plan, counts: dict[str, dict[tuple, int]], overrides: dict) -> list[Decision]:
    """Columns whose planned type fails some value and a wider type holds them all."""
    out = []
    for tp in plan.tables:
        have = counts.get(tp.source_name, {})
        for col in tp.columns:
            bad = have.get(("column", col.source_name), 0)
            if not bad or not eligible(col, overrides, tp.source_name):
                continue
            found = fits(tp, have, col.source_name, auto=True)
            if found:
                out.append(Decision(tp.source_name, col.source_name, col.source_type,
                                    col.target_type, found[0], found[1],
                                    _reason(*found, _family(col)), bad))
    return out


def apply(plan, decisions: list[Decision]) -> None:
    """Set the decided types on the plan (again after the plan was made anew)."""
    for d in decisions:
        tp = next((x for x in plan.tables if x.source_name == d.table), None)
        if tp is None:
            continue
        col = tp.column(d.column)
        col.target_type, col.validity, col.rule = d.target_type, d.validity, "values"
        col.why = {lang: REASONS[d.reason][lang].format(n=d.rows, planned=d.planned)
                   for lang in REASONS[d.reason]}
    from .schema import create_table

    plan.decisions = list(decisions)
    plan.create = [create_table(tp) for tp in plan.tables]


def frame(decisions: list[Decision], language: str | None = None):
    """The decisions as a table: table, column, declared, planned → chosen type, why, rows."""
    import pandas as pd

    return pd.DataFrame([{"table": d.table, "column": d.column, "sqlite type": d.declared,
                          "by declaration": d.planned, "postgresql type": d.target_type,
                          "why": d.text(language), "rows": d.rows} for d in decisions],
                        columns=["table", "column", "sqlite type", "by declaration",
                                 "postgresql type", "why", "rows"])


def as_dicts(decisions: list[Decision]) -> list[dict]:
    return [asdict(d) for d in decisions]
