"""SQLite-only structures: what of them is data to copy, and what is derived.

- An FTS3/4/5 table that keeps its own text is copied as a plain table of its content (its
  `rowid` first, as the key), with a follow-up on PostgreSQL full-text search.
- An R-tree that holds its own coordinates is copied the same way (`id` and coordinates).
- Derived data is not copied and is listed (stage 03's follow-ups, stage 04's `derived`
  verdict): the shadow tables of FTS and R-tree (their index structure), an external-content
  or contentless FTS table (an index of other rows), a GeoPackage spatial index
  (`rtree_<table>_<column>`), and `sqlite_stat*` (the planner's statistics).
- Any other virtual table needs a module SQLite may not have: it is listed as not copied.

The module and its options are read from the SQLite lexer's tokens (`sql_translate`), never
executed anywhere.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from ..core.i18n import Text
from ..core.identifiers import quote_ident
from .sql_translate import Untranslatable, sqlite_tokens

__all__ = ["Virtual", "parse", "FULLTEXT", "RTREE", "derived_entry", "KINDS", "fulltext_note",
           "not_copied"]

FULLTEXT = ("fts3", "fts4", "fts5")
RTREE = ("rtree", "rtree_i32")
KINDS: dict[str, Text] = {
    "fulltext": {"en": "full-text index", "ko": "전문 검색 인덱스"},
    "rtree": {"en": "R-tree index", "ko": "R-tree 인덱스"},
    "spatial": {"en": "GeoPackage spatial index", "ko": "GeoPackage 공간 인덱스"},
    "statistics": {"en": "query planner statistics", "ko": "쿼리 플래너 통계"},
}
REBUILD: dict[str, Text] = {
    "fulltext": {"en": "a tsvector column with a GIN index (see the full-text follow-up)",
                 "ko": "GIN 인덱스를 단 tsvector 열 (전문 검색 후속 작업 참고)"},
    "rtree": {"en": "its rows are copied from {owner}; index them with GiST (box, cube or "
                    "PostGIS) if needed",
              "ko": "행은 {owner}에서 복사됨; 필요하면 GiST(box, cube, PostGIS)로 인덱스하세요"},
    "spatial": {"en": "CREATE INDEX … USING gist on the geometry once it is PostGIS geometry",
                "ko": "geometry를 PostGIS geometry로 바꾼 뒤 CREATE INDEX … USING gist"},
    "statistics": {"en": "ANALYZE (stage 03 runs it after the load)",
                   "ko": "ANALYZE (03단계가 적재 후 실행함)"},
}


@dataclass
class Virtual:
    """A virtual table: its module, its options (name=value arguments) and its columns."""

    name: str
    module: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def external(self) -> bool:
        """FTS whose text lives elsewhere (content='t') or nowhere (content='')."""
        return self.module in FULLTEXT and "content" in self.options

    @property
    def copied(self) -> bool:
        """Whether its rows are data to copy as a plain table."""
        return (self.module in FULLTEXT and not self.external) or self.module in RTREE


def _name(tok) -> str:
    return tok.name if tok.kind in ("ident", "string") else tok.text


def parse(name: str, sql: str) -> Virtual:
    """Module and options of `CREATE VIRTUAL TABLE … USING module(args)`."""
    try:
        tokens = [t for t in sqlite_tokens(sql or "") if t.kind not in ("space", "comment")]
    except Untranslatable:
        return Virtual(name, "")
    at = next((i for i, t in enumerate(tokens) if t.word("USING")), None)
    if at is None or at + 1 >= len(tokens):
        return Virtual(name, "")
    found = Virtual(name, _name(tokens[at + 1]).lower())
    args, current = [], []
    for tok in tokens[at + 2:]:
        if tok.kind == "comma" and tok.depth == 1:
            args.append(current)
            current = []
        elif tok.depth >= 1:
            current.append(tok)
    args.append(current)
    for arg in args:
        if len(arg) == 3 and arg[1].text == "=":
            found.options[_name(arg[0]).lower()] = _name(arg[2])
    return found


def spatial_owner(name: str, tables: dict[str, list[str]]) -> str | None:
    """The `table.column` a GeoPackage spatial index `rtree_<table>_<column>` indexes."""
    if not name.lower().startswith("rtree_"):
        return None
    rest = name[6:]
    for table, columns in tables.items():
        for column in columns:
            if rest == f"{table}_{column}":
                return f"{table}.{column}"
    return None


def derived_entry(conn: sqlite3.Connection, name: str, kind: str, owner: str = "") -> dict:
    """A table not copied because it is derived, as the manifest lists it."""
    try:
        rows = conn.execute(f"SELECT count(*) FROM {quote_ident(name)}").fetchone()[0]
    except sqlite3.DatabaseError:  # a module this SQLite lacks
        rows = None
    rebuild = {k: v.format(owner=owner or name) for k, v in REBUILD[kind].items()}
    return {"table": name, "source_table": name, "source_rows": rows, "kind": kind,
            "what": dict(KINDS[kind]), "rebuild": rebuild, "owner": owner}


def fulltext_note(table: str, columns: list[str]) -> Text:
    """How to search the copied FTS content in PostgreSQL (a follow-up's text)."""
    text = " || ' ' || ".join(f"coalesce({quote_ident(c)}::text, '')" for c in columns) or "''"
    sql = (f"ALTER TABLE {quote_ident(table)} ADD COLUMN search tsvector GENERATED ALWAYS AS "
           f"(to_tsvector('simple', {text})) STORED; CREATE INDEX ON {quote_ident(table)} "
           f"USING gin (search); -- query: WHERE search @@ websearch_to_tsquery('simple', '…')")
    return {"en": f"SQLite full-text table copied as a plain table of its text (rowid kept); "
                  f"its index is not copied. To search it in PostgreSQL: {sql}",
            "ko": f"SQLite 전문 검색 테이블을 텍스트의 일반 테이블로 복사했습니다 (rowid 유지); "
                  f"인덱스는 복사하지 않았습니다. PostgreSQL에서 검색하려면: {sql}"}


NOT_COPIED = {"en": "not copied: {what} (derived data); on PostgreSQL: {rebuild}",
              "ko": "복사하지 않음: {what} (파생 데이터); PostgreSQL에서는: {rebuild}"}


def not_copied(entry: dict) -> Text:
    """What happens to one derived table (a row of notebook 03's drift table)."""
    return {lang: NOT_COPIED[lang].format(what=entry["what"][lang],
                                          rebuild=entry["rebuild"][lang]) for lang in NOT_COPIED}
