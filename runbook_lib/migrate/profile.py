"""Bad values: SQLite's dynamic typing lets any value into any column; find them before COPY.

Each target type has a validity predicate, evaluated by SQLite itself (one aggregate scan per
table, all predicates at once, foreign keys included). The scans start while the target schema
is built (`start`), so they cost no wall time. The policy `on_bad_value` then decides: `fail`
lists the rows by primary key and nothing is copied, `null` loads NULL instead, `quarantine`
writes the rows to `quarantine/<file>.csv`: one private file per table, its name made safe
from the table's (`files.safe_name`), the table's real name in its first column, and the
table → file mapping kept in the manifest (`quarantine_file` of each table).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..core import files
from ..core.errors import MigrationError
from ..core.i18n import t
from ..core.identifiers import quote_ident
from . import django_values
from .scan import Scan
from .schema import Plan, TablePlan
from .source import ForeignKey, connect_ro

__all__ = ["profile", "start", "collect", "Profile", "BadValues", "predicate", "TableFilter",
           "VALIDITY", "fail_error"]

_BOOL_WORDS = "'t','f','true','false','y','n','yes','no','on','off','1','0'"
_NO_NUL = "instr(CAST({c} AS BLOB), x'00') = 0"
_TEXTISH = "typeof({c}) != 'blob' AND " + _NO_NUL
# `instr` stops at the first '-' (cheap, unlike a GLOB of [0-9] classes); julianday() then
# parses YYYY-MM-DD digits and refuses 'now', bare times and julian day numbers.
_DATE = "typeof({c})='text' AND instr({c}, '-') = 5"

# family: (SQL predicate over {c}, what a bad value is). NULL is always valid here.
VALIDITY: dict[str, tuple[str, str]] = {
    "smallint": ("typeof({c})='integer' AND {c} BETWEEN -32768 AND 32767",
                 "not an integer, or out of smallint range"),
    "integer": ("typeof({c})='integer' AND {c} BETWEEN -2147483648 AND 2147483647",
                "not an integer, or out of integer range"),
    "bigint": ("typeof({c})='integer'", "not an integer"),
    "double precision": ("typeof({c})='real' OR (typeof({c})='integer' "
                         "AND abs({c}) <= 9007199254740992)", "not a number"),
    "real": ("typeof({c}) IN ('real','integer')", "not a number"),
    "numeric": ("typeof({c}) IN ('integer','real') AND abs({c}) < {limit}",
                "not a number, infinite, or too many digits"),
    "boolean": (f"(typeof({{c}})='integer' AND {{c}} IN (0,1)) OR "
                f"(typeof({{c}})='text' AND lower({{c}}) IN ({_BOOL_WORDS}))", "not a boolean"),
    "timestamp": (_DATE + " AND julianday({c}) IS NOT NULL", "not an ISO date-time"),
    "date": (_DATE + " AND length({c}) = 10 AND date({c}) IS {c}", "not an ISO date"),
    "time": ("typeof({c})='text' AND instr({c}, ':') = 3 AND time({c}) IS NOT NULL",
             "not an ISO time"),
    "varchar": (_TEXTISH + " AND length({c}) <= {n}", "too long, a blob, or holds NUL bytes"),
    "text": (_TEXTISH, "a blob, or holds NUL bytes (PostgreSQL text cannot)"),
    "bytea": ("typeof({c})='blob'", "not a blob"),
    "json": ("typeof({c}) IN ('text','integer') AND json_valid({c}) AND "
             "instr({c}, '\\u0000') = 0", "not valid JSON"),
    "uuid": ("typeof({c})='text' AND length(replace({c},'-','')) = 32 AND "
             "replace({c},'-','') NOT GLOB '*[^0-9a-fA-F]*'", "not a UUID"),
    "interval": ("typeof({c})='integer'", "not a whole number of microseconds (DurationField)"),
    "inet": ("typeof({c})='text' AND length({c}) BETWEEN 2 AND 50 AND "
             "{c} NOT GLOB '*[^0-9a-fA-F:./]*'", "not an IP address"),
}


q = quote_ident


def family(target_type: str) -> tuple[str, dict]:
    """Validity family of a PostgreSQL type name, with its parameters."""
    t = target_type.lower().strip()
    if m := re.fullmatch(r"numeric\s*\((\d+)(?:\s*,\s*(\d+))?\)", t):
        return "numeric", {"limit": f"1e{int(m.group(1)) - int(m.group(2) or 0)}"}
    if t.startswith("numeric") or t == "decimal":
        return "numeric", {"limit": "1e300"}
    if m := re.fullmatch(r"(character varying|varchar|character|char)\s*\((\d+)\)", t):
        return "varchar", {"n": m.group(2)}
    for prefix, fam in (("timestamp", "timestamp"), ("time", "time"), ("jsonb", "json"),
                        ("json", "json"), ("int8", "bigint"), ("int4", "integer"),
                        ("int2", "smallint"), ("float8", "double precision"), ("bool", "boolean")):
        if t.startswith(prefix):
            return fam, {}
    return (t if t in VALIDITY else "text"), {}


def predicate(column: str, target_type: str, notnull: bool = False, extra: str = "") -> str:
    """SQL (SQLite) that is 1 when the column's value fits the target type (NULL fits unless
    the target column is NOT NULL); `extra` is one more condition a value must meet."""
    fam, params = family(target_type)
    c = q(column)
    fits = VALIDITY[fam][0].format(c=c, **params) + (f" AND ({extra})" if extra else "")
    return f"({c} IS NOT NULL AND ({fits}))" if notnull else f"({c} IS NULL OR ({fits}))"


def column_predicate(col) -> str:
    """The predicate of one planned column: its target type, NOT NULL and Django field."""
    return predicate(col.source_name, col.target_type, col.notnull,
                     django_values.gap_condition(col, q(col.source_name)))


def problem(col) -> str:
    """What a bad value of this column is (for the listing)."""
    text = django_values.problem(col) or VALIDITY[family(col.target_type)[0]][1]
    return f"NULL in a NOT NULL column, or {text}" if col.notnull else text


def fk_predicate(table: str, fk: ForeignKey) -> str:
    """SQL that is 1 when the row's reference exists (or is NULL), as SQLite would check it."""
    nulls = " OR ".join(f"{q(table)}.{q(c)} IS NULL" for c in fk.columns)
    if fk.ref_rowid:  # a lookup in the parent's rowid, not a correlated subquery per row (4× faster)
        return (f"({nulls} OR {q(table)}.{q(fk.columns[0])} IN "
                f"(SELECT {q(fk.ref_columns[0])} FROM {q(fk.ref_table)}))")
    match = " AND ".join(f"p.{q(r)} = {q(table)}.{q(c)}"
                         for c, r in zip(fk.columns, fk.ref_columns, strict=True))
    return f"({nulls} OR EXISTS (SELECT 1 FROM {q(fk.ref_table)} p WHERE {match}))"


@dataclass
class BadValues:
    table: str
    column: str
    target_type: str
    problem: str
    count: int
    examples: list = field(default_factory=list)


@dataclass
class TableFilter:
    """How the load SELECT treats one table's bad values."""

    null_columns: dict[str, str] = field(default_factory=dict)  # column → predicate
    keep: list[str] = field(default_factory=list)  # row predicates; others are quarantined
    quarantined: int = 0
    file: str = ""  # the quarantine file's name inside the quarantine folder

    @property
    def where(self) -> str:
        return " AND ".join(self.keep)


@dataclass
class Profile:
    bad: list[BadValues]
    filters: dict[str, TableFilter]
    quarantine_dir: str = ""
    policy: str = "fail"

    @property
    def blocking(self) -> bool:
        """Under `fail`, any bad value stops the stage before the first COPY."""
        return bool(self.bad) and self.policy == "fail"

    def error(self, note: str = "") -> MigrationError:
        """The MigrationError that lists the bad values by primary key."""
        return fail_error(self.bad, note)

    def frame(self):
        import pandas as pd

        return pd.DataFrame([{"table": b.table, "column": b.column, "type": b.target_type,
                              "problem": b.problem, "rows": b.count,
                              "examples (key, value)": b.examples[:5]} for b in self.bad],
                            columns=["table", "column", "type", "problem", "rows",
                                     "examples (key, value)"])

    def _repr_html_(self) -> str:
        """What was found, in the notebook's language (`i18n.current()`)."""
        from ..core.display import escape, frame_html

        if not self.bad:
            return f"<p>{escape(t(SHOWN['none']))}</p>"
        head = t(SHOWN[self.policy], folder=self.quarantine_dir) if self.policy in SHOWN else ""
        return (f"<p><b>on_bad_value: {escape(self.policy)}</b> — {escape(head)}</p>"
                + frame_html(self.frame()))


SHOWN = {
    "none": {"en": "No bad values: every value fits its target type.",
             "ko": "잘못된 값 없음: 모든 값이 대상 타입에 맞습니다."},
    "fail": {"en": "nothing will be copied: fix these rows in the source, or choose "
                   "on_bad_value: null or quarantine.",
             "ko": "아무것도 복사하지 않습니다: 원본에서 이 행들을 고치거나 on_bad_value: null 또는 "
                   "quarantine을 고르세요."},
    "null": {"en": "these values load as NULL.", "ko": "이 값들은 NULL로 적재됩니다."},
    "quarantine": {"en": "these rows are set aside in {folder}.",
                   "ko": "이 행들은 {folder}에 따로 보관됩니다."},
}


def conditions(tp: TablePlan) -> dict[tuple, str]:
    """Every predicate of a table: ("column", name) and ("fk", i) → SQL true when fine."""
    out: dict[tuple, str] = {("column", c.source_name): column_predicate(c)
                             for c in tp.columns if not c.identity}
    for i, fk in enumerate(tp.source.foreign_keys):
        out[("fk", i)] = fk_predicate(tp.source_name, fk)
    return out


def _key_sql(tp: TablePlan) -> str:
    if tp.source.primary_key:
        return ", ".join(q(c) for c in tp.source.primary_key)
    return "rowid" if not tp.source.without_rowid else "NULL"


def _examples(conn, tp: TablePlan, cond: str, shown: str) -> list:
    sql = f"SELECT {_key_sql(tp)}, {shown} FROM {q(tp.source_name)} WHERE NOT {cond} LIMIT 10"
    return [(r[:-1] if len(r) > 2 else r[0], _short(r[-1])) for r in conn.execute(sql)]


def _short(value):
    if isinstance(value, str) and len(value) > 40:
        return value[:40] + "…"
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


@dataclass
class Pending:
    """Scans started on the planned types; `collect` re-checks columns whose type changed."""

    scan: Scan
    planned: dict[str, dict[tuple, str]]


def django_guesses(tp: TablePlan) -> dict[tuple, str]:
    """Predicates for the PostgreSQL types Django's `migrate` will likely give columns the
    SQLite plan maps otherwise (IntegerField → integer, JSONField → jsonb, UUIDField → uuid),
    scanned with the others so that `collect` need not read the table again."""
    out, sql = {}, tp.source.sql.lower()
    for col in tp.columns:
        declared = col.source_type.strip().lower()
        json = f'json_valid("{col.source_name.lower()}")' in sql
        guess = ("integer" if declared in ("integer", "integer unsigned") and not col.identity
                 else "jsonb" if json else "uuid" if declared == "char(32)" else None)
        if guess and guess != col.target_type:
            out[("guess", col.source_name, guess)] = predicate(col.source_name, guess,
                                                               col.notnull)
    return out


def start(snapshot: str | Path, plan: Plan, workers: int = 1, django: bool = False) -> Pending:
    """Start every table's scan in the background (e.g. while `migrate` builds the schema);
    with `django`, also the predicates of the types `migrate` will likely choose."""
    scan, planned = Scan(snapshot, workers), {}
    for tp in plan.tables:
        planned[tp.source_name] = {**conditions(tp), **(django_guesses(tp) if django else {})}
        scan.submit(tp.source_name, planned[tp.source_name], tp.source.rows,
                    not tp.source.without_rowid)
    return Pending(scan, planned)


def collect(pending: Pending, plan: Plan, workers: int = 1) -> dict[str, dict[tuple, int]]:
    """Failing rows per table and predicate, for the types the plan holds now: a predicate
    already scanned (planned or guessed) is not scanned again."""
    counts = pending.scan.counts()
    again = Scan(pending.scan.snapshot, workers)
    for tp in plan.tables:
        before, have = pending.planned.get(tp.source_name, {}), counts.get(tp.source_name, {})
        known = {sql: have.get(k, 0) for k, sql in before.items()}
        now = conditions(tp)
        counts[tp.source_name] = {k: known[c] for k, c in now.items() if c in known}
        changed = {k: c for k, c in now.items() if c not in known}
        again.submit(tp.source_name, changed, tp.source.rows, not tp.source.without_rowid)
    for table, per in again.counts().items():
        counts[table].update(per)
    return counts


def _scan_table(conn, tp: TablePlan, counts: dict[tuple, int]) -> list[BadValues]:
    bad = []
    conds = conditions(tp)
    for key, n in counts.items():
        if not n:
            continue
        if key[0] == "column":
            col = tp.column(key[1])
            bad.append(BadValues(tp.name, key[1], col.target_type, problem(col), n,
                                 _examples(conn, tp, conds[key], q(key[1]))))
            continue
        fk = tp.source.foreign_keys[key[1]]
        bad.append(BadValues(tp.name, ", ".join(fk.columns), f"→ {fk.ref_table}",
                             f"dangling reference (no {fk.ref_table} row)", n,
                             _examples(conn, tp, conds[key], ", ".join(map(q, fk.columns)))))
    return bad


def fail_error(bad: list[BadValues], note: str = "") -> MigrationError:
    """The error of on_bad_value: fail, listing the offending rows by primary key."""
    lines = "; ".join(f"{b.table}.{b.column} ({b.target_type}): {b.count} row(s) {b.problem}, "
                      f"e.g. key→value {b.examples[:3]}" for b in bad[:10])
    return MigrationError(f"{sum(b.count for b in bad)} value(s) do not fit the planned "
                          f"PostgreSQL types: {lines}.{' ' + note if note else ''}",
                          "Fix those rows in the source, or set on_bad_value: null (load NULL) "
                          "or quarantine (set the rows aside in runs/<run_id>/quarantine/), or "
                          "change the type with type_overrides: {'table.column': 'text'}.")


def _filter(tp: TablePlan, bad: list[BadValues], policy: str) -> TableFilter:
    flt = TableFilter()
    conds = conditions(tp)
    fk_of = {", ".join(fk.columns): i for i, fk in enumerate(tp.source.foreign_keys)}
    for b in bad:
        i = fk_of.get(b.column) if b.target_type.startswith("→") else None
        cond = conds[("fk", i)] if i is not None else conds[("column", b.column)]
        cols = list(tp.source.foreign_keys[i].columns) if i is not None else [b.column]
        nullable = not any(tp.column(c).notnull for c in cols)
        if policy == "null" and nullable:
            for c in cols:
                flt.null_columns[c] = " AND ".join(filter(None, [flt.null_columns.get(c), cond]))
        else:
            flt.keep.append(cond)
    return flt


def _quarantine(conn, tp: TablePlan, flt: TableFilter, folder: Path, taken: set[str]) -> None:
    """The table's bad rows into a new private file named safely (never after the table)."""
    files.private_dir(folder)
    flt.file = files.safe_name(tp.name, taken, ".csv")
    cur = conn.execute(f"SELECT * FROM {q(tp.source_name)} WHERE NOT ({flt.where})")
    names = [d[0] for d in cur.description]
    with files.create_private(files.inside(folder, flt.file), replace=True, newline="",
                              encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow([files.QUARANTINE_TABLE, *names])
        for row in cur:
            flt.quarantined += 1
            out.writerow([tp.source_name, *("\\N" if v is None else
                                            (v.hex() if isinstance(v, bytes) else v)
                                            for v in row)])


def profile(snapshot: str | Path, plan: Plan, policy: str, run_dir: str | Path,
            workers: int = 1, pending: Pending | None = None) -> Profile:
    """Find every bad value before the copy and apply the policy.

    `pending` are scans started earlier (`start`); columns whose type changed since (Django's
    types bound after `migrate`) are scanned again. Under `fail` nothing is filtered: the
    returned profile is `blocking` when anything is bad, and the load refuses to start.
    """
    counts = collect(pending or start(snapshot, plan, workers), plan, workers)
    conn = connect_ro(snapshot)
    try:
        bad_all, filters = [], {}
        folder, taken = Path(run_dir) / "quarantine", set()
        for tp in plan.tables:
            bad = _scan_table(conn, tp, counts.get(tp.source_name, {}))
            bad_all += bad
            filters[tp.source_name] = (_filter(tp, bad, policy) if bad and policy != "fail"
                                       else TableFilter())
        for tp in plan.tables:
            if filters[tp.source_name].keep:
                _quarantine(conn, tp, filters[tp.source_name], folder, taken)
        return Profile(bad_all, filters, str(folder) if taken else "", policy)
    finally:
        conn.close()


def dangling(snapshot: str | Path, plan: Plan, table: str) -> None:
    """Raise the listing of one table's dangling references (after PostgreSQL refused a FK)."""
    tp = next(t for t in plan.tables if t.name == table)
    scan = Scan(snapshot)
    scan.submit(tp.source_name, {k: c for k, c in conditions(tp).items() if k[0] == "fk"},
                tp.source.rows, not tp.source.without_rowid)
    conn = connect_ro(snapshot)
    try:
        bad = _scan_table(conn, tp, scan.counts().get(tp.source_name, {}))
    finally:
        conn.close()
    raise fail_error(bad)
