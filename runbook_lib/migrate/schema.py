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
from ..core.i18n import t
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
    note: dict  # {"en", "ko"}
    rowid_alias_only: bool = False


TYPE_RULES: list[Rule] = [
    Rule("rowid key", r"INTEGER", "bigint", {"en": "INTEGER PRIMARY KEY (the rowid) → bigint identity, set past max(id) and "
               "sqlite_sequence",
         "ko": "INTEGER PRIMARY KEY(rowid) → bigint identity, max(id)와 sqlite_sequence "
               "다음 값부터 시작"}, rowid_alias_only=True),
    Rule("boolean", r"BOOL(EAN)?", "boolean", {"en": "0/1, 't'/'f', 'true'/'false', 'yes'/'no'",
                                            "ko": "0/1, 't'/'f', 'true'/'false', 'yes'/'no' 값"}),
    Rule("json", r"JSONB?", "jsonb", {"en": "checked with json_valid() before the load",
                                   "ko": "적재 전에 json_valid()로 확인"}),
    Rule("uuid", r"UUID", "uuid", {"en": "32 or 36 hex digits", "ko": "16진수 32자 또는 36자"}),
    Rule("timestamp", r"(DATETIME|TIMESTAMP)(\s*\(\d\))?( WITH(OUT)? TIME ZONE)?",
         "timestamp with time zone",
         {"en": "naive text read in source_timezone (the session's zone)",
          "ko": "시간대 없는 텍스트는 source_timezone(세션의 시간대) 기준으로 읽음"}),
    Rule("date", r"DATE", "date", {"en": "ISO 8601 text", "ko": "ISO 8601 텍스트"}),
    Rule("time", r"TIME", "time", {"en": "ISO 8601 text", "ko": "ISO 8601 텍스트"}),
    Rule("small integer", r"(SMALLINT|INT2|TINYINT)(\s*\(\d+\))?( UNSIGNED)?", "smallint",
         {"en": "range -32768..32767 checked", "ko": "범위 -32768..32767 확인"}),
    Rule("integer", r".*INT.*", "bigint", {"en": "SQLite integers are 64-bit: bigint holds every one",
          "ko": "SQLite 정수는 64비트이므로 bigint에 모두 들어감"}),
    Rule("float", r".*(REAL|FLOA|DOUB).*", "double precision",
         {"en": "8 bytes, bit-exact (pgloader's `real` loses precision)",
          "ko": "8바이트, 비트 단위로 정확 (pgloader의 `real`은 정밀도를 잃음)"}),
    Rule("decimal(p,s)", r"(DECIMAL|NUMERIC)\s*\(\s*(?P<p>\d+)\s*,\s*(?P<s>\d+)\s*\)",
         "numeric({p},{s})", {"en": "range checked: |x| < 10^(p-s)",
                             "ko": "범위 확인: |x| < 10^(p-s)"}),
    Rule("decimal(p)", r"(DECIMAL|NUMERIC)\s*\(\s*(?P<p>\d+)\s*\)", "numeric({p})",
         {"en": "range checked", "ko": "범위 확인"}),
    Rule("numeric", r"DECIMAL|NUMERIC|MONEY", "numeric", {"en": "exact, any precision",
                                                          "ko": "정확, 정밀도 제한 없음"}),
    Rule("varchar(n)", r"(N?VARCHAR|CHARACTER VARYING|VARYING CHARACTER|N?CHAR|CHARACTER|"
         r"NATIVE CHARACTER)\s*\(\s*(?P<n>\d+)\s*\)", "varchar({n})",
         {"en": "length checked (SQLite never enforced it); char(n) is not blank-padded",
          "ko": "길이 확인 (SQLite는 검사하지 않음); char(n)은 공백으로 채우지 않음"}),
    Rule("text", r".*(CHAR|CLOB|TEXT|STRING).*", "text", {"en": "NUL bytes are refused by PostgreSQL",
                                                              "ko": "PostgreSQL은 NUL 바이트를 거부함"}),
    Rule("blob", r"BLOB|BYTEA|(VAR)?BINARY.*", "bytea", {"en": "hex-encoded in COPY",
                                                           "ko": "COPY에서 16진수로 인코딩"}),
    Rule("no type", r"", "text", {"en": "no declared type (any value): text",
                                    "ko": "선언된 타입 없음 (어떤 값이든): text"}),
    Rule("other", r".*", "text", {"en": "unknown declared type: text; override in type_overrides",
                                  "ko": "알 수 없는 선언 타입: text; type_overrides로 재정의"}),
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

    def ddl_view(self, language: str | None = None):
        """The DDL as a code block; behind a fold when `schema: django` builds the tables."""
        from IPython.display import HTML

        from ..core.display import escape

        code = f"<pre><code class='language-sql'>{escape(self.ddl)}</code></pre>"
        if self.strategy == "sqlite":
            return HTML(code)
        summary = t(PLAN_TEXT["folded"], language, n=len(self.create))
        return HTML(f"<details><summary>{escape(summary)}</summary>{code}</details>")

    def order_view(self, language: str | None = None):
        """The load order and the tables in foreign-key cycles, as two sentences."""
        from IPython.display import Markdown

        none = t(PLAN_TEXT["none"], language)
        order = " → ".join(f"`{name}`" for name in self.load_order) or none
        cycles = ", ".join(f"`{name}`" for name in self.cycles) or none
        return Markdown(t(PLAN_TEXT["order"], language, order=order, cycles=cycles))

    @property
    def mapping(self):
        import pandas as pd

        rows = [{"table": t.name, "column": c.name, "sqlite type": c.source_type or "(none)",
                 "postgresql type": c.target_type + (" identity" if c.identity else ""),
                 "not null": c.notnull, "rule": c.rule} for t in self.tables for c in t.columns]
        return pd.DataFrame(rows)


PLAN_TEXT = {
    "folded": {"en": "DDL that schema: sqlite would run ({n} tables): not used in this run, "
                     "where Django's migrate builds the tables (open to compare)",
               "ko": "schema: sqlite일 때 실행할 DDL (테이블 {n}개): 이번 실행에서는 Django의 "
                     "migrate가 테이블을 만들므로 쓰지 않음 (펼쳐서 비교)"},
    "order": {"en": "**Load order:** {order}\n\n**Tables in a foreign-key cycle:** {cycles}",
              "ko": "**적재 순서:** {order}\n\n**외래 키 순환에 속한 테이블:** {cycles}"},
    "none": {"en": "none", "ko": "없음"},
}


def rules_frame(language: str | None = None):
    """The type-mapping rules as a table (the user's documentation)."""
    import pandas as pd

    empty = t({"en": "(empty)", "ko": "(없음)"}, language)
    return pd.DataFrame([{"rule": r.name, "sqlite declared type": r.pattern or empty,
                          "postgresql": r.target, "note": t(r.note, language)}
                         for r in TYPE_RULES])


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
