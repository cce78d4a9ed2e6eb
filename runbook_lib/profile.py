"""Bad values: SQLite's dynamic typing lets any value into any column; find them before COPY.

Each target type has a validity predicate, evaluated by SQLite itself (one aggregate scan per
table). The policy `on_bad_value` then decides: `fail` lists the rows by primary key,
`null` loads NULL instead, `quarantine` writes the rows to `quarantine/<table>.csv`.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import MigrationError
from .schema import Plan, TablePlan
from .source import ForeignKey, connect_ro

SPLIT_MIN_ROWS = 100_000

__all__ = ["profile", "Profile", "BadValues", "predicate", "TableFilter", "VALIDITY"]

_BOOL_WORDS = "'t','f','true','false','y','n','yes','no','on','off','1','0'"
_NO_NUL = "instr(CAST({c} AS BLOB), x'00') = 0"
_TEXTISH = "typeof({c}) != 'blob' AND " + _NO_NUL
_DATE = "typeof({c})='text' AND {c} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'"

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
    "date": (_DATE + " AND length({c}) = 10 AND date({c}) = {c}", "not an ISO date"),
    "time": ("typeof({c})='text' AND {c} GLOB '[0-9][0-9]:[0-9][0-9]*' AND time({c}) IS NOT NULL",
             "not an ISO time"),
    "varchar": (_TEXTISH + " AND length({c}) <= {n}", "too long, a blob, or holds NUL bytes"),
    "text": (_TEXTISH, "a blob, or holds NUL bytes (PostgreSQL text cannot)"),
    "bytea": ("typeof({c})='blob'", "not a blob"),
    "json": ("typeof({c}) IN ('text','integer') AND json_valid({c}) AND "
             "instr({c}, '\\u0000') = 0", "not valid JSON"),
    "uuid": ("typeof({c})='text' AND length(replace({c},'-','')) = 32 AND "
             "replace({c},'-','') NOT GLOB '*[^0-9a-fA-F]*'", "not a UUID"),
}


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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


def predicate(column: str, target_type: str) -> str:
    """SQL (SQLite) that is 1 when the column's value fits the target type (NULL fits)."""
    fam, params = family(target_type)
    c = q(column)
    return f"({c} IS NULL OR ({VALIDITY[fam][0].format(c=c, **params)}))"


def fk_predicate(table: str, fk: ForeignKey) -> str:
    """SQL that is 1 when the row's reference exists (or is NULL), as SQLite would check it."""
    nulls = " OR ".join(f"{q(table)}.{q(c)} IS NULL" for c in fk.columns)
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
    guard: list[str] = field(default_factory=list)  # under `fail`: checked during the copy

    @property
    def where(self) -> str:
        return " AND ".join(self.keep + self.guard)


@dataclass
class Profile:
    bad: list[BadValues]
    filters: dict[str, TableFilter]
    quarantine_dir: str = ""
    during_copy: bool = False

    def frame(self):
        import pandas as pd

        return pd.DataFrame([{"table": b.table, "column": b.column, "type": b.target_type,
                              "problem": b.problem, "rows": b.count,
                              "examples (key, value)": b.examples[:5]} for b in self.bad],
                            columns=["table", "column", "type", "problem", "rows",
                                     "examples (key, value)"])

    def _repr_html_(self) -> str:
        if self.during_copy:
            return ("<p>on_bad_value: fail — every value is checked during the copy, in the same "
                    "scan (SQLite type guards, NUL bytes, and PostgreSQL's own input checks): a "
                    "table with a bad value is never committed and the stage stops listing the "
                    "rows by primary key.</p>")
        if not self.bad:
            return "<p>No bad values: every value fits its target type.</p>"
        return self.frame().to_html()


# Under `fail`, only what PostgreSQL would accept silently is guarded in the copy's SELECT;
# everything else (text in an integer, bad dates, JSON, lengths, ranges) PostgreSQL refuses.
GUARDS: dict[str, str] = {
    "double precision": "NOT (typeof({c})='integer' AND abs({c}) > 9007199254740992)",
    "bytea": "typeof({c}) = 'blob'",
    "numeric": "", "bigint": "", "integer": "", "smallint": "", "boolean": "",  # refused by PG
}


def guards(tp: TablePlan) -> list[str]:
    """Row predicates that keep values PostgreSQL would misread out of the copy."""
    out = []
    for col in tp.columns:
        if col.identity:
            continue
        c = q(col.source_name)
        rule = GUARDS.get(family(col.target_type)[0], "typeof({c}) != 'blob'")
        if rule:
            out.append(f"({c} IS NULL OR {rule.format(c=c)})")
    return out


def _checks(tp: TablePlan) -> dict[str, str]:
    out = {}
    for col in tp.columns:
        if col.identity:
            continue
        out[col.source_name] = predicate(col.source_name, col.target_type)
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


def _conditions(tp: TablePlan, fks_too: bool = True) -> tuple[dict[str, str], list]:
    """Column predicates, and FK predicates (skipped under `fail`: PostgreSQL's VALIDATE
    checks them after the load, and `dangling()` then lists the rows)."""
    fks = [(fk, fk_predicate(tp.source_name, fk)) for fk in tp.source.foreign_keys]
    return _checks(tp), fks if fks_too else []


def _scans(conn, plan: Plan, workers: int, fks_too: bool) -> list[tuple[str, str, tuple]]:
    """(table, aggregate SQL, params): one per table, or per rowid slice of a large table."""
    out = []
    for tp in plan.tables:
        checks, fks = _conditions(tp, fks_too)
        conds = list(checks.values()) + [p for _, p in fks]
        if not conds or tp.source.rows == 0:
            continue
        sql = f"SELECT {', '.join(f'sum(NOT {c})' for c in conds)} FROM {q(tp.source_name)}"
        if workers < 2 or tp.source.rows < SPLIT_MIN_ROWS or tp.source.without_rowid:
            out.append((tp.source_name, sql, ()))
            continue
        lo, hi = conn.execute(f"SELECT min(rowid), max(rowid) FROM {q(tp.source_name)}").fetchone()
        step = (hi - lo) // workers + 1
        out += [(tp.source_name, sql + " WHERE rowid >= ? AND rowid < ?",
                 (lo + i * step, lo + (i + 1) * step)) for i in range(workers)]
    return out


def _count(task: tuple[str, str, str, tuple]) -> tuple[str, list[int]]:
    snapshot, table, sql, params = task
    conn = connect_ro(snapshot)
    try:
        return table, [n or 0 for n in conn.execute(sql, params).fetchone()]
    finally:
        conn.close()


def _run_scans(snapshot: str, tasks: list, workers: int) -> dict[str, list[int]]:
    """Sum the slices' counts per table; slices run in `workers` processes."""
    args = [(str(snapshot), *t) for t in tasks]
    if workers > 1 and len(args) > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(min(workers, len(args))) as pool:
            results = pool.map(_count, args, chunksize=1)
    else:
        results = [_count(a) for a in args]
    totals: dict[str, list[int]] = {}
    for table, counts in results:
        old = totals.get(table)
        totals[table] = counts if old is None else [a + b for a, b in zip(old, counts, strict=True)]
    return totals


def _scan_table(conn, tp: TablePlan, counts: list[int] | None,
                fks_too: bool = True) -> list[BadValues]:
    checks, fks = _conditions(tp, fks_too)
    if not counts:
        return []
    bad = []
    for (col, cond), n in zip(checks.items(), counts, strict=False):
        if n:
            ctype = tp.column(col).target_type
            bad.append(BadValues(tp.name, col, ctype, VALIDITY[family(ctype)[0]][1], n,
                                 _examples(conn, tp, cond, q(col))))
    for (fk, cond), n in zip(fks, counts[len(checks):], strict=True):
        if n:
            cols = ", ".join(fk.columns)
            bad.append(BadValues(tp.name, cols, f"→ {fk.ref_table}", "dangling reference "
                                 f"(no {fk.ref_table} row)", n,
                                 _examples(conn, tp, cond, ", ".join(map(q, fk.columns)))))
    return bad


def _fail(bad: list[BadValues]) -> None:
    lines = "; ".join(f"{b.table}.{b.column} ({b.target_type}): {b.count} row(s) {b.problem}, "
                      f"e.g. key→value {b.examples[:3]}" for b in bad[:10])
    raise MigrationError(f"{sum(b.count for b in bad)} value(s) do not fit the planned "
                         f"PostgreSQL types: {lines}.",
                         "Fix those rows in the source, or set on_bad_value: null (load NULL) "
                         "or quarantine (set the rows aside in runs/<run_id>/quarantine/), or "
                         "change the type with type_overrides: {'table.column': 'text'}.")


def _filter(tp: TablePlan, bad: list[BadValues], policy: str) -> TableFilter:
    flt = TableFilter()
    checks = _checks(tp)
    fk_of = {", ".join(fk.columns): fk for fk in tp.source.foreign_keys}
    for b in bad:
        fk = fk_of.get(b.column) if b.target_type.startswith("→") else None
        cond = fk_predicate(tp.source_name, fk) if fk else checks[b.column]
        cols = list(fk.columns) if fk else [b.column]
        nullable = not any(tp.column(c).notnull for c in cols)
        if policy == "null" and nullable:
            for c in cols:
                flt.null_columns[c] = " AND ".join(filter(None, [flt.null_columns.get(c), cond]))
        else:
            flt.keep.append(cond)
    return flt


def _quarantine(conn, tp: TablePlan, flt: TableFilter, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    cur = conn.execute(f"SELECT * FROM {q(tp.source_name)} WHERE NOT ({flt.where})")
    names = [d[0] for d in cur.description]
    with open(folder / f"{tp.name}.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(names)
        for row in cur:
            flt.quarantined += 1
            out.writerow(["\\N" if v is None else (v.hex() if isinstance(v, bytes) else v)
                          for v in row])


def profile(snapshot: str | Path, plan: Plan, policy: str, run_dir: str | Path,
            workers: int = 1, full: bool = False) -> Profile:
    """Find every bad value; apply the policy (raises MigrationError when it is `fail`).

    Under `fail` (unless `full`), the scan is folded into the copy itself: guards in its
    SELECT, NUL bytes in its encoder and PostgreSQL's input checks; a failure runs the full
    profile to list the rows. `null` and `quarantine` need the full scan first.
    """
    if policy == "fail" and not full:
        return Profile([], {tp.source_name: TableFilter(guard=guards(tp)) for tp in plan.tables},
                       during_copy=True)
    conn = connect_ro(snapshot)
    try:
        fks_too = policy != "fail"
        totals = _run_scans(str(snapshot), _scans(conn, plan, workers, fks_too), workers)
        bad_all, filters = [], {}
        folder = Path(run_dir) / "quarantine"
        for tp in plan.tables:
            bad = _scan_table(conn, tp, totals.get(tp.source_name), fks_too)
            bad_all += bad
            filters[tp.source_name] = _filter(tp, bad, policy) if bad else TableFilter()
        if bad_all and policy == "fail":
            _fail(bad_all)
        for tp in plan.tables:
            if filters[tp.source_name].keep:
                _quarantine(conn, tp, filters[tp.source_name], folder)
        return Profile(bad_all, filters, str(folder) if folder.exists() else "")
    finally:
        conn.close()


def dangling(snapshot: str | Path, plan: Plan, table: str) -> None:
    """Raise the listing of one table's dangling references (after PostgreSQL refused a FK)."""
    conn = connect_ro(snapshot)
    try:
        tp = next(t for t in plan.tables if t.name == table)
        _, fks = _conditions(tp)
        sql = f"SELECT {', '.join(f'sum(NOT {c})' for _, c in fks)} FROM {q(tp.source_name)}"
        bad = _scan_table(conn, tp, [0] * len(_checks(tp)) + list(conn.execute(sql).fetchone()))
    finally:
        conn.close()
    _fail([b for b in bad if b.count])
