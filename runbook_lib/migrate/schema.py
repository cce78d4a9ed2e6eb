"""The target schema: type-mapping rules (a data table, pgloader-style) and the DDL plan.

`plan(source_schema, settings)` maps every table and column, refuses identifiers PostgreSQL
would truncate, orders the load by foreign keys and writes the DDL. Keys, indexes and
foreign keys are post-load steps (`Step`): building them after the COPY is ~6x faster.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from ..core.errors import MigrationError
from ..core.identifiers import MAX_BYTES, quote_ident, too_long
from .source import Index, SourceSchema, Table

__all__ = ["TYPE_RULES", "Rule", "Plan", "TablePlan", "ColumnPlan", "Step", "plan", "map_type",
           "rules_frame"]


@dataclass(frozen=True)
class Rule:
    """Declared SQLite type (regex, case-insensitive, whole string) → PostgreSQL type."""

    name: str
    pattern: str
    target: str
    note: str
    rowid_alias_only: bool = False


TYPE_RULES: list[Rule] = [
    Rule("rowid key", r"INTEGER", "bigint", "INTEGER PRIMARY KEY (the rowid) → bigint identity, "
         "set past max(id) and sqlite_sequence", rowid_alias_only=True),
    Rule("boolean", r"BOOL(EAN)?", "boolean", "0/1, 't'/'f', 'true'/'false', 'yes'/'no'"),
    Rule("json", r"JSONB?", "jsonb", "checked with json_valid() before the load"),
    Rule("uuid", r"UUID", "uuid", "32 or 36 hex digits"),
    Rule("timestamp", r"(DATETIME|TIMESTAMP)(\s*\(\d\))?( WITH(OUT)? TIME ZONE)?",
         "timestamp with time zone", "naive text read in source_timezone (the session's zone)"),
    Rule("date", r"DATE", "date", "ISO 8601 text"),
    Rule("time", r"TIME", "time", "ISO 8601 text"),
    Rule("small integer", r"(SMALLINT|INT2|TINYINT)(\s*\(\d+\))?( UNSIGNED)?", "smallint",
         "range -32768..32767 checked"),
    Rule("integer", r".*INT.*", "bigint", "SQLite integers are 64-bit: bigint holds every one"),
    Rule("float", r".*(REAL|FLOA|DOUB).*", "double precision",
         "8 bytes, bit-exact (pgloader's `real` loses precision)"),
    Rule("decimal(p,s)", r"(DECIMAL|NUMERIC)\s*\(\s*(?P<p>\d+)\s*,\s*(?P<s>\d+)\s*\)",
         "numeric({p},{s})", "range checked: |x| < 10^(p-s)"),
    Rule("decimal(p)", r"(DECIMAL|NUMERIC)\s*\(\s*(?P<p>\d+)\s*\)", "numeric({p})",
         "range checked"),
    Rule("numeric", r"DECIMAL|NUMERIC|MONEY", "numeric", "exact, any precision"),
    Rule("varchar(n)", r"(N?VARCHAR|CHARACTER VARYING|VARYING CHARACTER|N?CHAR|CHARACTER|"
         r"NATIVE CHARACTER)\s*\(\s*(?P<n>\d+)\s*\)", "varchar({n})",
         "length checked (SQLite never enforced it); char(n) is not blank-padded"),
    Rule("text", r".*(CHAR|CLOB|TEXT|STRING).*", "text", "NUL bytes are refused by PostgreSQL"),
    Rule("blob", r"BLOB|BYTEA|(VAR)?BINARY.*", "bytea", "hex-encoded in COPY"),
    Rule("no type", r"", "text", "no declared type (any value): text"),
    Rule("other", r".*", "text", "unknown declared type: text; override in type_overrides"),
]
_COMPILED = [(r, re.compile(r.pattern, re.IGNORECASE)) for r in TYPE_RULES]


@dataclass
class ColumnPlan:
    name: str
    source_name: str
    source_type: str
    target_type: str
    rule: str
    notnull: bool
    identity: bool = False
    field: dict | None = None  # schema: django: the Django field behind it (what the app reads)


@dataclass
class TablePlan:
    source: Table
    name: str
    columns: list[ColumnPlan]
    primary_key: list[str]

    @property
    def source_name(self) -> str:
        return self.source.name

    def column(self, source_name: str) -> ColumnPlan:
        return next(c for c in self.columns if c.source_name == source_name)


@dataclass(frozen=True)
class Step:
    """One post-load statement; kind: index, constraint, fk, validate, optional."""

    kind: str
    table: str
    name: str
    sql: str


@dataclass
class Plan:
    tables: list[TablePlan]
    create: list[str]
    steps: list[Step]
    load_order: list[str]
    cycles: list[str]
    followups: list[dict] = field(default_factory=list)
    strategy: str = "sqlite"

    def table(self, source_name: str) -> TablePlan:
        return next(t for t in self.tables if t.source_name == source_name)

    @property
    def ddl(self) -> str:
        return ";\n\n".join(self.create + [s.sql for s in self.steps]) + ";\n"

    @property
    def mapping(self):
        import pandas as pd

        rows = [{"table": t.name, "column": c.name, "sqlite type": c.source_type or "(none)",
                 "postgresql type": c.target_type + (" identity" if c.identity else ""),
                 "not null": c.notnull, "rule": c.rule} for t in self.tables for c in t.columns]
        return pd.DataFrame(rows)


def rules_frame():
    """The type-mapping rules as a table (the user's documentation)."""
    import pandas as pd

    return pd.DataFrame([{"rule": r.name, "sqlite declared type": r.pattern or "(empty)",
                          "postgresql": r.target, "note": r.note} for r in TYPE_RULES])


def map_type(declared: str, rowid_alias: bool = False) -> tuple[str, str]:
    """(PostgreSQL type, rule name) for a declared SQLite type; first matching rule wins."""
    text = " ".join(declared.split())
    for rule, regex in _COMPILED:
        if rule.rowid_alias_only and not rowid_alias:
            continue
        found = regex.fullmatch(text)
        if found:
            return rule.target.format(**found.groupdict()), rule.name
    raise AssertionError("the last rule matches everything")


def suggest(name: str) -> str:
    """A short, stable replacement for an over-long identifier."""
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    head = name.encode()[:50].decode(errors="ignore")
    return f"{head}_{digest}"


def _rename(name: str, name_map: dict, long: list[str]) -> str:
    new = name_map.get(name, name)
    if too_long(new):
        long.append(new)
    return new


def _table_plan(table: Table, settings, long: list[str]) -> TablePlan:
    cols = []
    alias = table.rowid_alias
    for col in table.columns:
        target, rule = map_type(col.declared_type, col.name == alias)
        override = settings.type_overrides.get(f"{table.name}.{col.name}")
        if override:
            target, rule = override, "override"
        cols.append(ColumnPlan(_rename(col.name, settings.name_map, long), col.name,
                               col.declared_type, target, rule,
                               col.notnull or col.name in table.primary_key,
                               identity=col.name == alias))
    name = _rename(table.name, settings.name_map, long)
    pk = [next(c.name for c in cols if c.source_name == k) for k in table.primary_key]
    return TablePlan(table, name, cols, pk)


def load_order(tables: list[Table]) -> tuple[list[str], list[str]]:
    """Parents before children; tables in a foreign-key cycle are listed (FKs come after)."""
    deps = {t.name: {fk.ref_table for fk in t.foreign_keys if fk.ref_table != t.name}
            for t in tables}
    order, done = [], set()
    while len(done) < len(deps):
        ready = sorted(n for n, d in deps.items() if n not in done and d <= done | {n})
        ready = ready or sorted(n for n in deps if n not in done)[:1]
        order.extend(ready)
        done.update(ready)
    return order, sorted(n for n in deps if _reaches(n, deps))


def _reaches(start: str, deps: dict[str, set[str]]) -> bool:
    """Whether `start` is in a foreign-key cycle (self-references excluded)."""
    stack, seen = list(deps[start]), set()
    while stack:
        node = stack.pop()
        if node == start:
            return True
        if node not in seen and node in deps:
            seen.add(node)
            stack.extend(deps[node])
    return False


def create_table(tp: TablePlan) -> str:
    lines = []
    for c in tp.columns:
        ident = " GENERATED BY DEFAULT AS IDENTITY" if c.identity else ""
        null = " NOT NULL" if c.notnull else ""
        lines.append(f"    {quote_ident(c.name)} {c.target_type}{ident}{null}")
    return f"CREATE TABLE {quote_ident(tp.name)} (\n" + ",\n".join(lines) + "\n)"


def short_name(*parts: str) -> str:
    """PostgreSQL-style constraint name, shortened with a hash when over 63 bytes."""
    name = "_".join(parts)
    return name if not too_long(name) else suggest(name)


def _index_cols(tp: TablePlan, index: Index) -> str:
    desc = index.descending or (False,) * len(index.columns)
    return ", ".join(quote_ident(tp.column(c).name) + (" DESC" if d else "")
                     for c, d in zip(index.columns, desc, strict=True))


def _index_steps(tp: TablePlan, index: Index, names: dict) -> list[Step]:
    t = quote_ident(tp.name)
    if index.expression or index.partial:
        rest = re.search(r"\bON\s+(\"(?:[^\"]|\"\")+\"|\[[^\]]+\]|`[^`]+`|\S+?)\s*(\(.*)$",
                         index.sql or "", re.IGNORECASE | re.DOTALL)
        unique = "UNIQUE " if index.unique else ""
        sql = (f"CREATE {unique}INDEX {quote_ident(names.get(index.name, index.name))} ON {t} "
               f"{rest.group(2)}" if rest else f"-- {index.sql}")
        return [Step("optional", tp.name, index.name, sql)]
    if index.origin == "u":
        name = short_name(tp.name, *[tp.column(c).name for c in index.columns], "key")
        return [Step("index", tp.name, name,
                     f"CREATE UNIQUE INDEX {quote_ident(name)} ON {t} ({_index_cols(tp, index)})"),
                Step("constraint", tp.name, name, f"ALTER TABLE {t} ADD CONSTRAINT "
                     f"{quote_ident(name)} UNIQUE USING INDEX {quote_ident(name)}")]
    if index.origin == "pk":
        return []
    name = names.get(index.name, index.name)
    unique = "UNIQUE " if index.unique else ""
    return [Step("index", tp.name, name, f"CREATE {unique}INDEX {quote_ident(name)} ON {t} "
                                         f"({_index_cols(tp, index)})")]


def _fk_steps(tp: TablePlan, plan_of: dict, deferred: bool) -> list[Step]:
    steps = []
    for fk in tp.source.foreign_keys:
        parent = plan_of.get(fk.ref_table)
        if parent is None:
            continue
        cols = [tp.column(c).name for c in fk.columns]
        refs = [parent.column(c).name for c in fk.ref_columns]
        name = short_name(tp.name, *cols, "fkey")
        actions = "".join(f" ON {what} {act}" for what, act in
                          (("DELETE", fk.on_delete), ("UPDATE", fk.on_update))
                          if act and act.upper() != "NO ACTION")
        later = " DEFERRABLE INITIALLY DEFERRED" if deferred else ""
        t = quote_ident(tp.name)
        steps.append(Step("fk", tp.name, name, f"ALTER TABLE {t} ADD CONSTRAINT {quote_ident(name)} "
                          f"FOREIGN KEY ({', '.join(map(quote_ident, cols))}) REFERENCES "
                          f"{quote_ident(parent.name)} ({', '.join(map(quote_ident, refs))})"
                          f"{actions}{later} NOT VALID"))
        steps.append(Step("validate", tp.name, name,
                          f"ALTER TABLE {t} VALIDATE CONSTRAINT {quote_ident(name)}"))
    return steps


def table_steps(tp: TablePlan, plan_of: dict, names: dict) -> list[Step]:
    """Primary key, unique constraints, indexes and foreign keys of one table (sqlite)."""
    t = quote_ident(tp.name)
    steps = []
    if tp.primary_key:
        pk = short_name(tp.name, "pkey")
        cols = ", ".join(map(quote_ident, tp.primary_key))
        steps += [Step("index", tp.name, pk, f"CREATE UNIQUE INDEX {quote_ident(pk)} ON {t} "
                                             f"({cols})"),
                  Step("constraint", tp.name, pk, f"ALTER TABLE {t} ADD CONSTRAINT "
                       f"{quote_ident(pk)} PRIMARY KEY USING INDEX {quote_ident(pk)}")]
    for index in tp.source.indexes:
        steps += _index_steps(tp, index, names)
    deferred = "DEFERRABLE INITIALLY DEFERRED" in tp.source.sql.upper()
    return steps + _fk_steps(tp, plan_of, deferred)


_LITERAL = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|'([^']|'')*'|NULL|TRUE|FALSE|"
                      r"CURRENT_(TIMESTAMP|DATE|TIME)", re.IGNORECASE)


def _defaults(tp: TablePlan) -> tuple[list[Step], list[dict]]:
    steps, manual = [], []
    for col in tp.source.columns:
        if col.hidden in (2, 3):
            manual.append({"table": tp.name, "kind": "generated column", "name": col.name,
                           "sqlite_sql": tp.source.sql,
                           "todo": "loaded as a plain column; re-create it as GENERATED ALWAYS "
                                   "AS (...) STORED if needed"})
        if col.default is None or col.hidden:
            continue
        value = col.default.strip()
        if _LITERAL.fullmatch(value) and not value.upper().startswith("CURRENT"):
            value = value if value.startswith("'") else f"'{value}'"
        elif not _LITERAL.fullmatch(value):
            manual.append({"table": tp.name, "kind": "default", "name": col.name,
                           "sqlite_sql": col.default, "todo": "translate this default"})
            continue
        steps.append(Step("optional", tp.name, f"default {col.name}",
                          f"ALTER TABLE {quote_ident(tp.name)} ALTER COLUMN "
                          f"{quote_ident(tp.column(col.name).name)} SET DEFAULT {value}"))
    return steps, manual


def _view_steps(schema: SourceSchema, settings, long: list[str]) -> list[Step]:
    steps = []
    for name, sql in sorted(schema.views.items()):
        body = re.search(r"\bAS\s+(.*)$", sql, re.IGNORECASE | re.DOTALL)
        vname = _rename(name, settings.name_map, long)
        steps.append(Step("optional", vname, f"view {name}", f"CREATE VIEW {quote_ident(vname)} "
                          f"AS {body.group(1).strip().rstrip(';')}" if body else f"-- {sql}"))
    return steps


def refuse_long(long: list[str]) -> None:
    if not long:
        return
    pairs = ", ".join(f'"{n}": "{suggest(n)}"' for n in sorted(set(long)))
    raise MigrationError(f"{len(set(long))} identifier(s) are longer than PostgreSQL's "
                         f"{MAX_BYTES} bytes and would be silently truncated: "
                         f"{', '.join(sorted(set(long)))}.",
                         f"Map them to shorter names with the name_map parameter, e.g. "
                         f"name_map: {{{pairs}}} (and rename them in your models).")


def plan(source_schema: SourceSchema, settings) -> Plan:
    """Map types and names, order the load and write the DDL + post-load steps."""
    long: list[str] = []
    tables = [_table_plan(t, settings, long) for t in source_schema.tables]
    names = {i.name: _rename(i.name, settings.name_map, long)
             for t in source_schema.tables for i in t.indexes if i.origin == "c"}
    views = _view_steps(source_schema, settings, long)
    if settings.schema != "django":  # Django names its tables itself (django_names)
        refuse_long(long)
    plan_of = {tp.source_name: tp for tp in tables}
    order, cycles = load_order(source_schema.tables)
    steps, manual = [], []
    for tp in tables:
        defaults, todo = _defaults(tp)
        steps += table_steps(tp, plan_of, names) + defaults
        manual += todo
    manual += [{"table": "", "kind": "trigger", "name": n, "sqlite_sql": s,
                "todo": "rewrite as a PL/pgSQL trigger function"}
               for n, s in sorted(source_schema.triggers.items())]
    manual += [{"table": n, "kind": "virtual table", "name": n, "sqlite_sql": s,
                "todo": "not copied (e.g. FTS): use PostgreSQL full-text search"}
               for n, s in sorted(source_schema.skipped.items())]
    ordered = sorted(tables, key=lambda tp: order.index(tp.source_name))
    return Plan(ordered, [create_table(tp) for tp in ordered], steps + views,
                [plan_of[n].name for n in order], cycles, manual, settings.schema)
