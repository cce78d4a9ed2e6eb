"""Post-load steps derived from the SQLite file's own SQL text (schema: sqlite).

Views, expression and partial indexes, column DEFAULTs and CHECK constraints are regenerated
for PostgreSQL by `sql_translate` (a syntax tree, never the text); generated columns are
loaded as plain columns and listed with their translated expression. Whatever is not
translated becomes a manual follow-up with the SQLite text and the reason: nothing of it is
sent to the server. Every step is `optional`: PostgreSQL refusing one (a function that
behaves otherwise, rows a CHECK rejects) lists it as a follow-up too.
"""

from __future__ import annotations

import re

from ..core.i18n import t
from ..core.identifiers import quote_ident, too_long
from . import sql_translate as sql
from .names import Names, short_name, suggest
from .step import Step

__all__ = ["followup", "index_steps", "default_steps", "check_steps", "generated_followups",
           "view_steps", "sqlite_only_followups", "TEXT", "TABLE_KINDS"]

TABLE_KINDS = ("index", "default", "check", "table definition")  # what Django's migrate owns
TEXT = {
    "not_translated": {"en": "not translated ({why}); re-create it by hand in PostgreSQL if "
                             "needed",
                       "ko": "변환하지 않았습니다 ({why}); 필요하면 PostgreSQL에서 직접 다시 만드세요"},
    "generated": {"en": "loaded as a plain column; to compute it again: {sql}",
                  "ko": "일반 열로 적재했습니다; 다시 계산되게 하려면: {sql}"},
    "generated_plain": {"en": "loaded as a plain column; not translated ({why})",
                        "ko": "일반 열로 적재했습니다; 변환하지 않았습니다 ({why})"},
    "no_expression": {"en": "its expression was not found", "ko": "표현식을 찾지 못했습니다"},
    "table_definition": {"en": "CHECKs and generated columns not read ({why}); re-create them "
                               "by hand if needed",
                         "ko": "CHECK와 생성 열을 읽지 못했습니다 ({why}); 필요하면 직접 다시 만드세요"},
    "trigger": {"en": "rewrite as a PL/pgSQL trigger function",
                "ko": "PL/pgSQL 트리거 함수로 다시 작성하세요"},
    "virtual": {"en": "not copied: a virtual table of a SQLite extension module; re-create its "
                      "data in PostgreSQL if the application needs it",
                "ko": "복사하지 않았습니다: SQLite 확장 모듈의 가상 테이블입니다. 애플리케이션에 필요하면 "
                      "PostgreSQL에서 그 데이터를 다시 만드세요"},
    "rtree": {"en": "SQLite R-tree copied as a plain table of its coordinates (its index is "
                    "not copied); for spatial queries index them with GiST (box, cube or "
                    "PostGIS)",
              "ko": "SQLite R-tree를 좌표의 일반 테이블로 복사했습니다 (인덱스는 복사하지 않음); 공간 "
                    "질의에는 GiST(box, cube, PostGIS)로 인덱스하세요"},
    "geometry": {"en": "geometry kept as its SQLite blob (GeoPackage or SpatiaLite binary) in "
                       "bytea, byte for byte; for PostGIS geometry convert it (e.g. ogr2ogr)",
                 "ko": "geometry를 SQLite blob(GeoPackage 또는 SpatiaLite 바이너리) 그대로 bytea에 "
                       "보존했습니다; PostGIS geometry로 쓰려면 변환하세요 (예: ogr2ogr)"},
    "collation": {"en": "collation {name} is not known here: its columns were read and "
                        "compared as binary (code point order); ordering and equality rules "
                        "are not carried. Tables using it: {tables}. In PostgreSQL choose a "
                        "collation (ICU) or citext / lower() where the rules matter",
                  "ko": "콜레이션 {name}을(를) 여기서 알 수 없습니다: 그 열은 바이너리(코드 포인트 순서)로 "
                        "읽고 비교했으며 정렬·동등 규칙은 옮기지 않았습니다. 사용하는 테이블: {tables}. "
                        "규칙이 중요하면 PostgreSQL에서 콜레이션(ICU)이나 citext / lower()를 고르세요"},
}


def followup(table: str, kind: str, name: str, sqlite_sql: str, todo: str) -> dict:
    """A manual follow-up (the plan's `followups`, notebook 03's table)."""
    return {"table": table, "kind": kind, "name": name, "sqlite_sql": sqlite_sql, "todo": todo}


def _not_translated(exc: sql.Untranslatable, language: str) -> str:
    return t(TEXT["not_translated"], language, why=exc.message_in(language))


def _columns(tp) -> sql.Rename:
    return sql.renamer({c.source_name: c.name for c in tp.columns})


def index_steps(tp, index, name: str, language: str = "en") -> tuple[list[Step], list[dict]]:
    """An expression or partial index, regenerated; else a follow-up."""
    try:
        items, where = sql.index(index.sql or "", _columns(tp))
    except sql.Untranslatable as exc:
        return [], [followup(tp.name, "index", index.name, index.sql or "",
                             _not_translated(exc, language))]
    unique = "UNIQUE " if index.unique else ""
    pred = f" WHERE {where}" if where else ""
    return [Step("optional", tp.name, name, f"CREATE {unique}INDEX {quote_ident(name)} ON "
                 f"{quote_ident(tp.name)} ({', '.join(items)}){pred}", "index",
                 index.sql or "")], []


def default_steps(tp, language: str = "en") -> tuple[list[Step], list[dict]]:
    """Column DEFAULTs (SQLite's text from PRAGMA table_xinfo), regenerated."""
    steps, manual = [], []
    for col in tp.source.columns:
        if col.default is None or col.hidden:
            continue
        try:
            value = sql.default(col.default)
        except sql.Untranslatable as exc:
            manual.append(followup(tp.name, "default", col.name, col.default,
                                   _not_translated(exc, language)))
            continue
        steps.append(Step("optional", tp.name, col.name,
                          f"ALTER TABLE {quote_ident(tp.name)} ALTER COLUMN "
                          f"{quote_ident(tp.column(col.name).name)} SET DEFAULT {value}",
                          "default", col.default))
    return steps, manual


def _json_check(text: str, tp, column: str | None) -> bool:
    """Django's `JSON_VALID("c") OR "c" IS NULL` on a column planned as json/jsonb: the type
    itself enforces it."""
    found = re.fullmatch(r'\(*\s*json_valid\s*\(\s*"?([^"()]+)"?\s*\)\s*(or\s+"?\1"?\s+is\s+'
                         r'null\s*)?\)*', " ".join(sql.without_comments(text).split()), re.I)
    col = found and next((c for c in tp.columns if c.source_name.lower() == found[1].lower()),
                         None)
    return bool(col) and col.target_type.startswith("json") and column in (None, col.source_name)


def check_steps(tp, names: Names, parts: sql.TableParts,
                language: str = "en") -> tuple[list[Step], list[dict]]:
    """CHECK constraints of the table, regenerated, each under a unique name."""
    steps, manual = [], []
    for given, column, text in parts.checks:
        shown = given or (f"{column} check" if column else "table check")
        if _json_check(text, tp, column):
            continue
        try:
            expr = sql.expression(text, _columns(tp))
        except sql.Untranslatable as exc:
            manual.append(followup(tp.name, "check", shown, f"CHECK ({text})",
                                   _not_translated(exc, language)))
            continue
        known = column and any(c.source_name == column for c in tp.columns)
        wanted = given or short_name(tp.name, *([tp.column(column).name] if known else []),
                                     "check")
        name = names.constraint(wanted if not too_long(wanted) else suggest(wanted), "check",
                                tp.name)
        steps.append(Step("optional", tp.name, name, f"ALTER TABLE {quote_ident(tp.name)} ADD "
                          f"CONSTRAINT {quote_ident(name)} CHECK ({expr})", "check",
                          f"CHECK ({text})"))
    return steps, manual


def generated_followups(tp, parts: sql.TableParts, language: str = "en") -> list[dict]:
    """Generated columns are loaded as plain columns: the expression to re-create them."""
    out = []
    for col in tp.source.columns:
        if col.hidden not in (2, 3):
            continue
        text = next((t for c, t in parts.generated.items() if c.lower() == col.name.lower()),
                    None)
        try:
            expr = sql.expression(text, _columns(tp)) if text is not None else None
        except sql.Untranslatable as exc:
            expr, why = None, exc.message_in(language)
        else:
            why = t(TEXT["no_expression"], language)
        target = tp.column(col.name)
        todo = (t(TEXT["generated"], language, sql=f"ALTER TABLE {quote_ident(tp.name)} DROP "
                  f"COLUMN {quote_ident(target.name)}, ADD COLUMN {quote_ident(target.name)} "
                  f"{target.target_type} GENERATED ALWAYS AS ({expr}) STORED")
                if expr else t(TEXT["generated_plain"], language, why=why))
        out.append(followup(tp.name, "generated column", col.name, text or tp.source.sql, todo))
    return out


def _ordered(views: dict[str, sql.View]) -> list[str]:
    """Views after the views they read."""
    order: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in order or name in path:
            return
        for dep in sorted(views[name].reads & views.keys()):
            visit(dep, path + (name,))
        order.append(name)

    for name in sorted(views):
        visit(name, ())
    return order


def view_steps(source_views: dict[str, str], targets: dict[str, str], columns: sql.Rename,
               tables: sql.Rename, language: str = "en") -> tuple[list[Step], list[dict]]:
    """Views (source name → CREATE VIEW text; `targets`: source → target name), regenerated
    and ordered so a view comes after those it reads."""
    made, texts, manual = {}, {}, []
    for name, text in sorted(source_views.items()):
        texts[targets[name]] = text
        try:
            made[targets[name]] = sql.view(text, columns, tables)
        except sql.Untranslatable as exc:
            manual.append(followup(targets[name], "view", name, text,
                                   _not_translated(exc, language)))
    steps = []
    for vname in _ordered(made):
        v = made[vname]
        cols = f" ({', '.join(map(quote_ident, v.columns))})" if v.columns else ""
        steps.append(Step("optional", vname, vname,
                          f"CREATE VIEW {quote_ident(vname)}{cols} AS {v.sql}", "view",
                          texts[vname]))
    return steps, manual


def sqlite_only_followups(tables, collations: list[str], language: str = "en") -> list[dict]:
    """What a plain copy of SQLite-only structures leaves to do: full-text search and R-tree
    tables copied as their content, geometry blobs, collations read as binary."""
    from ..core.sqlite_quirks import collations_in
    from .sqlite_only import fulltext_note

    out = []
    for tp in tables:
        kind = tp.source.kind
        if kind == "fulltext":
            cols = [c.name for c in tp.columns if c.source_name.lower() != "rowid"]
            out.append(followup(tp.name, "full-text search", tp.source_name, tp.source.sql,
                                t(fulltext_note(tp.name, cols), language)))
        elif kind == "rtree":
            out.append(followup(tp.name, "R-tree", tp.source_name, tp.source.sql,
                                t(TEXT["rtree"], language)))
        for col in tp.columns:
            if col.rule == "geometry":
                out.append(followup(tp.name, "geometry", col.source_name, col.source_type,
                                    t(TEXT["geometry"], language)))
    for name in collations:
        users = sorted(tp.name for tp in tables if name in collations_in(tp.source.sql)
                       or any(name in collations_in(i.sql or "") for i in tp.source.indexes))
        out.append(followup(", ".join(users), "collation", name, f"COLLATE {name}",
                            t(TEXT["collation"], language, name=name,
                              tables=", ".join(users) or "-")))
    return out
