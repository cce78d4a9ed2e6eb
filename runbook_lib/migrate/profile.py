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
from dataclasses import dataclass, field
from pathlib import Path

from ..core import files
from ..core.errors import MigrationError
from ..core.i18n import t
from ..core.identifiers import quote_ident
from . import bad_values, type_inference
from .bad_values import ACTIONS, BadValues
from .scan import Scan
from .schema import Plan, TablePlan
from .source import ForeignKey, connect_ro
from .validity import (
    UTF8_PROBLEM,
    VALIDITY,
    column_predicate,
    null_predicate,
    null_problem,
    predicate,
    problem,
    textual,
    utf8_predicate,
)

__all__ = ["profile", "start", "collect", "Profile", "BadValues", "predicate", "TableFilter",
           "VALIDITY", "fail_error", "Pending", "start_references"]

q = quote_ident


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
    overrides: dict = field(default_factory=dict)  # the run's type_overrides (for the fixes)
    types: str = "data"
    language: str | None = None
    deferred: list[str] = field(default_factory=list)  # tables checked as they are copied

    @property
    def blocking(self) -> bool:
        """Under `fail`, any bad value stops the stage before the first COPY."""
        return bool(self.bad) and self.policy == "fail"

    def error(self, note: str = "") -> MigrationError:
        """The MigrationError that lists the bad values by primary key, and the fixes."""
        return bad_values.error(self.bad, note, self.overrides, self.types, self.language)

    def listing(self) -> list[dict]:
        """The bad values for the manifest (English text; the action as its key too)."""
        return [{"table": b.table, "column": b.column, "type": b.target_type,
                 "problem": t(b.problem, "en"), "rows": b.count, "action": b.action,
                 "what happens": t(ACTIONS[b.action], "en")} for b in self.bad]

    def frame(self, language: str | None = None):
        import pandas as pd

        return pd.DataFrame([{"table": b.table, "column": b.column, "type": b.target_type,
                              "problem": b.what(language), "rows": b.count,
                              "examples (key, value)": b.examples[:5],
                              "what happens": t(ACTIONS[b.action], language)}
                             for b in self.bad],
                            columns=["table", "column", "type", "problem", "rows",
                                     "examples (key, value)", "what happens"])

    def _repr_html_(self) -> str:
        """What was found, in the notebook's language (`i18n.current()`)."""
        from ..core.display import escape, frame_html

        if not self.bad:
            later = (" " + t(SHOWN["deferred"], n=len(self.deferred),
                             tables=", ".join(self.deferred[:8]))) if self.deferred else ""
            return f"<p>{escape(t(SHOWN['none']) + later)}</p>"
        head = t(SHOWN[self.policy], folder=self.quarantine_dir) if self.policy in SHOWN else ""
        fixes = ""
        if self.blocking:
            lines = bad_values.fixes(self.bad, self.overrides, self.types)
            text = "\n".join(f"{line}    # {what}" for line, what in lines)
            fixes = (f"<p>{escape(t(bad_values.TEXT['intro']))}</p>"
                     f"<pre><code class='language-yaml'>{escape(text)}</code></pre>")
        return (f"<p><b>on_bad_value: {escape(self.policy)}</b> — {escape(head)}</p>"
                + frame_html(self.frame()) + fixes)


SHOWN = {
    "none": {"en": "No bad values: every value fits its target type.",
             "ko": "잘못된 값 없음: 모든 값이 대상 타입에 맞습니다."},
    "deferred": {"en": "The values of {n} table(s) ({tables}) are checked as they are copied, "
                       "as strictly: a value that does not fit stops the copy, the target is "
                       "emptied, and the rows are listed here before anything is copied again.",
                 "ko": "{n}개 테이블({tables})의 값은 복사하면서 똑같이 엄격하게 검사합니다: 맞지 "
                       "않는 값이 있으면 복사를 멈추고 대상을 비운 뒤, 다시 복사하기 전에 그 행들을 "
                       "여기에 보여 줍니다."},
    "fail": {"en": "nothing will be copied: fix these rows in the source, or add one of the "
                   "lines below to the profile.",
             "ko": "아무것도 복사하지 않습니다: 원본에서 이 행들을 고치거나, 아래 줄 중 하나를 "
                   "프로필에 넣으세요."},
    "null": {"en": "these values load as NULL (rows that cannot take NULL are quarantined).",
             "ko": "이 값들은 NULL로 적재됩니다 (NULL을 담을 수 없는 행은 격리됩니다)."},
    "quarantine": {"en": "these rows are set aside in {folder}.",
                   "ko": "이 행들은 {folder}에 따로 보관됩니다."},
}


def conditions(tp: TablePlan) -> dict[tuple, str]:
    """Every predicate of a table, SQL true when fine: ("column", name) the value fits its
    type, ("null", name) a NOT NULL column holds a value, ("fk", i) the reference exists."""
    out: dict[tuple, str] = {}
    for c in tp.columns:
        if c.identity:
            continue
        out[("column", c.source_name)] = column_predicate(c)
        if c.notnull:
            out[("null", c.source_name)] = null_predicate(c)
        if textual(c):
            out[("utf8", c.source_name)] = utf8_predicate(c)
    for i, fk in enumerate(tp.source.foreign_keys):
        out[("fk", i)] = fk_predicate(tp.source_name, fk)
    return out


def references(tp: TablePlan) -> dict[tuple, str]:
    """The foreign-key predicates of a table (`conditions`' ("fk", i) entries)."""
    return {k: c for k, c in conditions(tp).items() if k[0] == "fk"}


def _key_sql(tp: TablePlan, by_rowid: bool) -> str:
    if tp.source.primary_key and not by_rowid:
        return ", ".join(q(c) for c in tp.source.primary_key)
    return "'rowid ' || rowid" if not tp.source.without_rowid else "NULL"


def _examples(conn, tp: TablePlan, cond: str, shown: str, by_rowid: bool = False) -> list:
    sql = (f"SELECT {_key_sql(tp, by_rowid)}, {shown} FROM {q(tp.source_name)} "
           f"WHERE NOT {cond} LIMIT 10")
    return [(r[:-1] if len(r) > 2 else r[0], _short(r[-1])) for r in conn.execute(sql)]


def _short(value):
    if isinstance(value, str) and len(value) > 40:
        return value[:40] + "…"
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def _lenient(raw: bytes) -> str:
    """Text as Python reads it, invalid UTF-8 shown as \\x escapes instead of an error."""
    return raw.decode("utf-8", "backslashreplace")


@dataclass
class Pending:
    """Scans started on the planned types (and their ladders, `type_inference`); `collect`
    re-checks columns whose type changed. The counts are read once."""

    scan: Scan
    planned: dict[str, dict[tuple, str]]
    _counts: dict | None = None
    references: bool = False  # only the foreign keys (`start_references`)

    def counts(self) -> dict[str, dict[tuple, int]]:
        if self._counts is None:
            self._counts = self.scan.counts()
        return self._counts


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
            out[("guess", col.source_name, guess)] = predicate(col.source_name, guess)
    return out


def start(snapshot: str | Path, plan: Plan, workers: int = 1, django: bool = False,
          overrides: dict | None = None) -> Pending:
    """Start every table's scan in the background (e.g. while `migrate` builds the schema);
    with `django`, also the predicates of the types `migrate` will likely choose; else each
    column's ladder of wider types (counted only in a table that has bad values)."""
    scan, planned = Scan(snapshot, workers), {}
    for tp in plan.tables:
        conds = {k: c for k, c in conditions(tp).items() if k[0] != "utf8"}
        conds.update(django_guesses(tp) if django else {})
        utf8 = [c for c in tp.columns if not c.identity and textual(c)]  # others: ASCII forms
        ladders = {} if django else type_inference.candidates(tp, overrides or {})
        planned[tp.source_name] = {**conds, **ladders,
                                   **{("utf8", c.source_name): utf8_predicate(c) for c in utf8}}
        scan.submit(tp.source_name, conds, tp.source.rows, not tp.source.without_rowid,
                    extra=ladders, utf8={("utf8", c.source_name): c.source_name for c in utf8})
    return Pending(scan, planned)


def start_references(snapshot: str | Path, plan: Plan, workers: int = 1) -> Pending:
    """Only the foreign keys of every table (what a copy checked as it goes does not see),
    started now in the background."""
    scan, planned = Scan(snapshot, workers), {}
    for tp in plan.tables:
        conds = planned[tp.source_name] = references(tp)
        scan.submit(tp.source_name, conds, tp.source.rows, not tp.source.without_rowid)
    return Pending(scan, planned, references=True)


def collect(pending: Pending, plan: Plan, workers: int = 1) -> dict[str, dict[tuple, int]]:
    """Failing rows per table and predicate, for the types the plan holds now: a predicate
    already scanned (planned, guessed or on a ladder) is not scanned again. Ladder counts
    ("type" keys) are kept: they name the fixes."""
    counts = pending.counts()
    again = Scan(pending.scan.snapshot, workers)
    out: dict[str, dict[tuple, int]] = {}
    for tp in plan.tables:
        before, have = pending.planned.get(tp.source_name, {}), counts.get(tp.source_name, {})
        known = {sql: have[k] for k, sql in before.items() if k in have}
        now = conditions(tp)
        out[tp.source_name] = {k: known[c] for k, c in now.items() if c in known}
        out[tp.source_name].update({k: n for k, n in have.items() if k[0] in ("type", "blobs")})
        changed = {k: c for k, c in now.items() if c not in known}
        again.submit(tp.source_name, changed, tp.source.rows, not tp.source.without_rowid)
    for table, per in again.counts().items():
        out[table].update(per)
    return out


def _bad_column(conn, tp: TablePlan, key: tuple, n: int, cond: str,
                counts: dict) -> BadValues:
    col = tp.column(key[1])
    pk = key[1] in tp.source.primary_key
    if key[0] == "null":
        return BadValues(tp.name, col.name, col.target_type, null_problem(pk), n,
                         _examples(conn, tp, cond, q(key[1]), by_rowid=pk), "null",
                         tp.source_name, nullable=False, key=pk)
    found = type_inference.fits(tp, counts, key[1])
    if key[0] == "utf8":
        found = ("bytea", "bytea")  # keeps the text's bytes exactly
    auto = key[0] == "column" and bool(type_inference.fits(tp, counts, key[1], auto=True))
    return BadValues(tp.name, col.name, col.target_type,
                     UTF8_PROBLEM if key[0] == "utf8" else problem(col), n,
                     _examples(conn, tp, cond, q(key[1])), key[0], tp.source_name,
                     found[0] if found else "", auto, nullable=not col.notnull, key=pk)


def _scan_table(conn, tp: TablePlan, counts: dict[tuple, int]) -> list[BadValues]:
    bad = []
    conds = conditions(tp)
    for key, n in counts.items():
        if not n or key not in conds:
            continue
        if key[0] in ("column", "null", "utf8"):
            bad.append(_bad_column(conn, tp, key, n, conds[key], counts))
            continue
        fk = tp.source.foreign_keys[key[1]]
        cols = [tp.column(c) for c in fk.columns]
        what = {lang: text.format(parent=fk.ref_table)
                for lang, text in bad_values.TEXT["dangling"].items()}
        bad.append(BadValues(tp.name, ", ".join(c.name for c in cols), f"→ {fk.ref_table}",
                             what, n, _examples(conn, tp, conds[key],
                                                ", ".join(map(q, fk.columns))),
                             "fk", tp.source_name, nullable=not any(c.notnull for c in cols)))
    return bad


def fail_error(bad: list[BadValues], note: str = "", language: str | None = None) -> \
        MigrationError:
    """The error of on_bad_value: fail, listing the offending rows by primary key."""
    return bad_values.error(bad, note, language=language)


def _filter(tp: TablePlan, bad: list[BadValues], policy: str) -> TableFilter:
    """The load's treatment of one table's bad values; each BadValues learns its action."""
    flt = TableFilter()
    conds = conditions(tp)
    fk_of = {", ".join(tp.column(c).name for c in fk.columns): i
             for i, fk in enumerate(tp.source.foreign_keys)}
    for b in bad:
        if b.kind == "fk":
            i = fk_of[b.column]
            cond, cols = conds[("fk", i)], list(tp.source.foreign_keys[i].columns)
        else:
            source = next(c.source_name for c in tp.columns if c.name == b.column)
            cond, cols = conds[(b.kind, source)], [source]
        if policy == "null" and b.nullable:
            b.action = "null"
            for c in cols:
                flt.null_columns[c] = " AND ".join(filter(None, [flt.null_columns.get(c), cond]))
        else:
            b.action = ("quarantine" if policy == "quarantine" else
                        "quarantine_key" if b.key else "quarantine_notnull")
            flt.keep.append(cond)
    return flt


def _cell(value):
    """A quarantined value in the CSV file: NULL as \\N, a blob as hex."""
    if value is None:
        return "\\N"
    return value.hex() if isinstance(value, bytes) else value


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
            out.writerow([tp.source_name, *map(_cell, row)])


def profile(snapshot: str | Path, plan: Plan, policy: str, run_dir: str | Path,
            workers: int = 1, pending: Pending | None = None, settings=None) -> Profile:
    """Find every bad value before the copy and apply the policy.

    `pending` are scans started earlier (`start`); columns whose type changed since (Django's
    types bound after `migrate`) are scanned again. Under `fail` nothing is filtered: the
    returned profile is `blocking` when anything is bad, and the load refuses to start.
    `settings` gives the fixes the run's language, type_overrides and types.
    """
    counts = collect(pending or start(snapshot, plan, workers, django=bool(
        settings is not None and settings.schema == "django"), overrides=getattr(
        settings, "type_overrides", None)), plan, workers)
    conn = connect_ro(snapshot)
    conn.text_factory = _lenient
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
        extra = ({"overrides": dict(settings.type_overrides), "types": settings.types,
                  "language": settings.language} if settings is not None else {})
        return Profile(bad_all, filters, str(folder) if taken else "", policy, **extra)
    finally:
        conn.close()


def dangling(snapshot: str | Path, plan: Plan, table: str) -> None:
    """Raise the listing of one table's dangling references (after PostgreSQL refused a FK)."""
    tp = next(t for t in plan.tables if t.name == table)
    scan = Scan(snapshot)
    scan.submit(tp.source_name, references(tp), tp.source.rows, not tp.source.without_rowid)
    conn = connect_ro(snapshot)
    conn.text_factory = _lenient
    try:
        bad = _scan_table(conn, tp, scan.counts().get(tp.source_name, {}))
    finally:
        conn.close()
    raise fail_error(bad)
