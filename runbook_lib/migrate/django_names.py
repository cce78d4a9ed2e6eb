"""schema: django — the SQLite file reconciled with the schema the project's `migrate` built.

Names come from the project's own Django: a model's table is `_meta.db_table` on each backend
(Django shortens names over 63 characters on PostgreSQL only), a column is the one PostgreSQL
holds for the SQLite column (PostgreSQL cuts a name over 63 bytes). Nothing Django generates
is refused or needs a name_map. Before any row is copied, the two schemas are compared:

- a table on one side only is listed with what happens to it (a SQLite-only table is created
  from its SQLite definition and copied; a PostgreSQL-only one stays as `migrate` left it);
- backend-specific derived data (a search index: FTS5 virtual and shadow tables and their
  triggers on SQLite, `tsvector` columns on PostgreSQL) is not copied: it is listed as
  derived, with the command that rebuilds it where the app is known;
- a column on one side only is listed; one that would lose values or could not be loaded
  stops the run;
- every copied column takes PostgreSQL's type and NOT NULL, and the Django field behind it
  (what the application reads), so the value profile checks each value against them.
"""

from __future__ import annotations

import html
import sqlite3
from dataclasses import dataclass, field

from ..core.display import frame_html
from ..core.django_models import ProjectModels
from ..core.errors import MigrationError
from ..core.i18n import Text, fill, t
from ..core.identifiers import MAX_BYTES, quote_ident
from .schema import Plan, TablePlan
from .wording import ERRORS, joined

__all__ = ["Drift", "reconcile", "pg_name", "table_map", "catalogue", "REBUILD",
           "DERIVED_TYPES"]

DERIVED_TYPES = ("tsvector", "tsquery")  # search data PostgreSQL derives from other columns
DERIVED_KINDS = ("SearchVectorField",)
# app label → the command that rebuilds its derived data on PostgreSQL
REBUILD = {
    "wagtailsearch": "python manage.py update_index",
    "modelsearch": "python manage.py rebuild_modelsearch_index",
    "haystack": "python manage.py rebuild_index",
    "watson": "python manage.py buildwatson",
}
NO_COMMAND = "refill it with the code that maintains it (its management command or signals)"
NO_COMMAND_KO = "그 데이터를 관리하는 코드(관리 명령이나 시그널)로 다시 채우세요"

_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> ''
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""


SIDES = {"SQLite only": {"en": "SQLite only", "ko": "SQLite에만 있음"},
         "PostgreSQL only": {"en": "PostgreSQL only", "ko": "PostgreSQL에만 있음"},
         "renamed": {"en": "renamed", "ko": "이름 바뀜"},
         "derived": {"en": "derived", "ko": "파생 데이터"}}
MATCH = {"en": "The SQLite file and Django's PostgreSQL schema match.",
         "ko": "SQLite 파일과 Django의 PostgreSQL 스키마가 일치합니다."}


@dataclass
class Drift:
    """What differs between the SQLite file and the schema `migrate` built."""

    rows: list[dict] = field(default_factory=list)  # side, table, column, what happens (Text)
    derived: list[dict] = field(default_factory=list)  # table, source_table, rows, rebuild
    blocking: list[Text] = field(default_factory=list)

    def add(self, side: str, table: str, column: str, happens: Text) -> None:
        self.rows.append({"side": side, "table": table, "column": column,
                          "what happens": happens})

    def listing(self, language: str | None = None) -> str:
        """Every difference but Django's own renames, one `side: table.column → what` each."""
        return "; ".join(f"{t(SIDES[r['side']], language)}: {r['table']}"
                         f"{'.' + r['column'] if r['column'] else ''} → "
                         f"{t(r['what happens'], language)}"
                         for r in self.rows if r["side"] != "renamed")

    def frame(self, language: str | None = None):
        import pandas as pd

        return pd.DataFrame([{**r, "side": t(SIDES[r["side"]], language),
                              "what happens": t(r["what happens"], language)}
                             for r in self.rows],
                            columns=["side", "table", "column", "what happens"])

    def _repr_html_(self) -> str:
        if not self.rows:
            return f"<p>{html.escape(t(MATCH))}</p>"
        return frame_html(self.frame())


_CATALOGUE = """
SELECT 'index', i.indexname::text, i.tablename::text FROM pg_indexes i
WHERE i.schemaname = current_schema()
UNION ALL
SELECT 'constraint', c.conname::text, cl.relname::text FROM pg_constraint c
JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
WHERE n.nspname = current_schema()
"""


def catalogue(conn) -> dict:
    """What Django's `migrate` just built, read from PostgreSQL's catalogue before anything
    else touches it: index and constraint names per table, every column's type. Stage 04
    compares the target with it (VA011)."""
    out: dict = {"indexes": {}, "constraints": {}, "types": {}}
    with conn.cursor() as cur:
        cur.execute(_CATALOGUE)
        for kind, name, table in cur.fetchall():
            out["indexes" if kind == "index" else "constraints"][name] = table
    for table, columns in target_columns(conn).items():
        out["types"][table] = {c: kind for c, (kind, _, _) in columns.items()}
    return out


def pg_name(name: str) -> str:
    """The name PostgreSQL keeps for an identifier: its first 63 bytes, whole characters."""
    raw = name.encode()
    if len(raw) <= MAX_BYTES:
        return name
    return raw[:MAX_BYTES].decode("utf-8", errors="ignore")


def table_map(pg: ProjectModels, sqlite: ProjectModels | None) -> dict[str, str]:
    """SQLite table → PostgreSQL table, for every model whose table Django names differently
    on the two backends (only tables with names over 63 characters)."""
    if sqlite is None:
        return {}
    theirs = pg.by_label()
    return {m.table: theirs[m.label].table for m in sqlite.models
            if m.label in theirs and theirs[m.label].table != m.table}


def target_columns(conn) -> dict[str, dict[str, tuple[str, bool, bool]]]:
    """table → column → (type, NOT NULL, has a default/identity) in the target schema."""
    out: dict[str, dict] = {}
    with conn.cursor() as cur:
        cur.execute(_COLUMNS)
        for table, column, kind, notnull, default in cur.fetchall():
            out.setdefault(table, {})[column] = (kind, notnull, default)
    return out


def _values(snapshot: str, table: str, column: str) -> int:
    conn = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)
    try:
        q = quote_ident
        return conn.execute(f"SELECT count(*) FROM {q(table)} WHERE {q(column)} IS NOT NULL"
                            ).fetchone()[0]
    finally:
        conn.close()


def _rebuild(app: str) -> str:
    return REBUILD.get(app, NO_COMMAND)


def _derived_type(kind: str) -> bool:
    return kind.split("(")[0] in DERIVED_TYPES


def _is_derived(columns: dict, model) -> bool:
    """A whole table of derived data: the search index of a known search app (its rows are
    built from other tables). Elsewhere only the search-vector columns are derived."""
    kinds = {f["kind"] for f in model.fields} if model else set()
    vectors = any(_derived_type(t) for t, _, _ in columns.values()) or \
        bool(kinds & set(DERIVED_KINDS))
    return vectors and model is not None and model.app in REBUILD


def _derive(plan: Plan, drift: Drift, tp: TablePlan, app: str) -> None:
    command = _rebuild(app)
    drift.derived.append({"table": tp.name, "source_table": tp.source_name,
                          "source_rows": tp.source.rows, "rebuild": command})
    drift.add("derived", tp.name, "", {
        "en": f"search index built by PostgreSQL: not copied ({tp.source.rows} SQLite rows); "
              f"rebuild it: {command}",
        "ko": f"PostgreSQL이 만드는 검색 인덱스: 복사하지 않음 (SQLite 행 {tp.source.rows}개); "
              f"다시 만드는 명령: {command}"})


def _columns(drift: Drift, tp: TablePlan, have: dict, model, snapshot: str,
             zone: str | None) -> None:
    """Bind each copied column to its PostgreSQL column, type, NOT NULL and Django field."""
    kept = []
    for col in tp.columns:
        name = col.name if col.name in have else pg_name(col.name)
        if name not in have:
            values = _values(snapshot, tp.source_name, col.source_name)
            if values:
                drift.blocking.append(fill(ERRORS["drift_values"], n=values,
                                           column=f"{tp.source_name}.{col.source_name}"))
                drift.add("SQLite only", tp.name, col.source_name, {
                    "en": f"{values} value(s) PostgreSQL has no column for: stops the run",
                    "ko": f"PostgreSQL에 열이 없는 값 {values}개: 실행을 멈춤"})
            else:
                drift.add("SQLite only", tp.name, col.source_name, {
                    "en": "holds only NULLs: not copied (the PostgreSQL table has no such column)",
                    "ko": "NULL만 있음: 복사하지 않음 (PostgreSQL 테이블에 그런 열이 없음)"})
            continue
        if _derived_type(have[name][0]):
            continue  # a search vector PostgreSQL computes: listed below, never cast
        if name != col.name:
            drift.add("renamed", tp.name, name, {
                "en": f"SQLite column {col.source_name}: PostgreSQL keeps the first 63 bytes of "
                      "a name",
                "ko": f"SQLite 열 {col.source_name}: PostgreSQL은 이름의 처음 63바이트만 씀"})
        col.name = name
        col.target_type, notnull, _ = have[name]
        col.notnull = notnull
        found = model.column(col.source_name) if model else None
        col.field = dict(found or {}, zone=zone) if found else None
        kept.append(col)
    tp.columns = kept
    mine = {c.name for c in kept}
    for name, (kind, notnull, default) in have.items():
        if name in mine:
            continue
        if _derived_type(kind) and not (notnull and not default):
            drift.add("derived", tp.name, name, {
                "en": f"{kind}: a search vector PostgreSQL builds, not copied (left "
                      f"{'to its default' if default else 'NULL'}); {NO_COMMAND}",
                "ko": f"{kind}: PostgreSQL이 만드는 검색 벡터, 복사하지 않음 "
                      f"({'기본값' if default else 'NULL'}으로 둠); {NO_COMMAND_KO}"})
            continue
        if notnull and not default:
            drift.blocking.append(fill(ERRORS["drift_not_null"], column=f"{tp.name}.{name}"))
            drift.add("PostgreSQL only", tp.name, name, {
                "en": f"{kind} NOT NULL without a default and no SQLite column: no row could be "
                      "loaded; stops the run",
                "ko": f"{kind} NOT NULL, 기본값도 SQLite 열도 없음: 어떤 행도 적재할 수 없으므로 "
                      "실행을 멈춤"})
        else:
            drift.add("PostgreSQL only", tp.name, name, {
                "en": f"{kind}: left {'to its default' if default else 'NULL'} (no SQLite column)",
                "ko": f"{kind}: {'기본값' if default else 'NULL'}으로 둠 (SQLite 열 없음)"})


def reconcile(plan: Plan, conn, snapshot: str, pg: ProjectModels,
              sqlite: ProjectModels | None) -> Drift:
    """Rename the plan to Django's PostgreSQL names, set aside derived tables, bind every
    column to the target; the drift listing. Tables missing on PostgreSQL keep their SQLite
    plan (the caller creates them). Raises MigrationError for drift that would lose data."""
    drift, renamed = Drift(), table_map(pg, sqlite)
    have = target_columns(conn)
    models = pg.by_table()
    zone = None if pg.use_tz else pg.time_zone
    keep, create = [], []
    for tp, ddl in zip(plan.tables, plan.create, strict=True):
        tp.name = renamed.get(tp.source_name, tp.source_name)
        if tp.name != tp.source_name:
            drift.add("renamed", tp.name, "", {
                "en": f"SQLite table {tp.source_name}: Django's PostgreSQL name (over 63 "
                      "characters on SQLite)",
                "ko": f"SQLite 테이블 {tp.source_name}: Django가 PostgreSQL에서 쓰는 이름 "
                      "(SQLite에서는 63자 초과)"})
        model = models.get(tp.name)
        if tp.name not in have:
            drift.add("SQLite only", tp.name, "", {
                "en": "no Django migration creates it on PostgreSQL: created from its SQLite "
                      "definition and copied",
                "ko": "PostgreSQL에서 이것을 만드는 Django 마이그레이션이 없음: SQLite 정의대로 "
                      "만들고 복사함"})
        elif _is_derived(have[tp.name], model):
            _derive(plan, drift, tp, model.app if model else "")
            continue
        else:
            _columns(drift, tp, have[tp.name], model, snapshot, zone)
        keep.append(tp)
        create.append(ddl)
    plan.tables, plan.create = keep, create
    plan.load_order = [renamed.get(n, n) for n in plan.load_order
                       if any(t.name == renamed.get(n, n) for t in keep)]
    _derived_followups(plan, drift)
    mine = {tp.name for tp in keep} | {d["table"] for d in drift.derived}
    for table in sorted(set(have) - mine):
        if table in models:
            drift.add("PostgreSQL only", table, "", {
                "en": "no SQLite table: left as migrate made it (a model the SQLite database "
                      "never had, or PostgreSQL-only)",
                "ko": "SQLite 테이블 없음: migrate가 만든 그대로 둠 (SQLite 데이터베이스에 없던 "
                      "모델이거나 PostgreSQL 전용)"})
    if drift.blocking:
        raise MigrationError(ERRORS["drift"], ERRORS["drift_fix"],
                             items=joined(drift.blocking[:10]))
    return drift


def _derived_followups(plan: Plan, drift: Drift) -> None:
    """SQLite's own search machinery (FTS virtual tables and the triggers that fill them) is
    derived data in schema: django: listed as such, not as work to carry over by hand."""
    if not drift.derived:
        return
    commands = sorted({d["rebuild"] for d in drift.derived})
    sources = tuple(d["source_table"] for d in drift.derived)
    virtual = {i["name"] for i in plan.followups
               if i["kind"] == "virtual table" and i["name"].startswith(sources)}
    kept = []
    for item in plan.followups:
        if item["name"] in virtual or (item["kind"] == "trigger" and any(
                v in (item.get("sqlite_sql") or "") for v in virtual)):
            item = {**item, "kind": f"derived {item['kind']}",
                    "todo": "SQLite's search index: not copied; PostgreSQL's is rebuilt by "
                            + " / ".join(commands)}
        kept.append(item)
    plan.followups = kept
