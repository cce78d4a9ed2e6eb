"""The target database as the migration sees it: existing tables, run bookkeeping, types.

Each migration run is recorded in `runbook_migration.runs` (a schema of its own, out of
Django's way; `core.state` keeps it) when it starts and completed at the end. A run killed
midway leaves an unfinished record: the next run sees it and loads those tables again from
scratch, so a table is never silently partial and never holds duplicated rows; stage 04 says
the migration is unfinished instead of listing differences.
"""

from __future__ import annotations

import psycopg2

from ..core import state
from ..core.errors import MigrationError
from ..core.identifiers import quote_ident
from .wording import ERRORS

__all__ = ["existing_tables", "unfinished_runs", "start_run", "finish_run", "column_types",
           "empty", "drop", "truncate", "refuse_non_empty", "check_types", "foreign_relations"]


def existing_tables(conn) -> dict[str, bool]:
    """Tables of the current schema → whether they hold at least one row."""
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        names = [r[0] for r in cur.fetchall()]
        out = {}
        for name in names:
            cur.execute(f"SELECT EXISTS (SELECT 1 FROM {quote_ident(name)})")
            out[name] = cur.fetchone()[0]
    return out


def unfinished_runs(conn) -> list[tuple[str, list[str]]]:
    return state.unfinished(conn)


def start_run(conn, run_id: str, tables: list[str], section: dict | None = None) -> None:
    """Forget unfinished runs (they are being redone) and record this one as started."""
    state.start(conn, run_id, tables, section)


def finish_run(conn, run_id: str, section: dict | None = None, sha256: str = "") -> None:
    """The record completed: section, snapshot checksum, quarantined rows (`core.state`)."""
    state.finish(conn, run_id, section or {"completed": True}, sha256)


def column_types(conn, table: str) -> dict[str, str]:
    """Column → formatted PostgreSQL type of one table."""
    with conn.cursor() as cur:
        cur.execute("SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                    "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped "
                    "ORDER BY a.attnum", (quote_ident(table),))
        return dict(cur.fetchall())


def drop(conn, tables: list[str]) -> None:
    if tables:
        with conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS " + ", ".join(map(quote_ident, tables))
                        + " CASCADE")


def truncate(conn, tables: list[str]) -> None:
    if tables:
        with conn.cursor() as cur:
            cur.execute("TRUNCATE " + ", ".join(map(quote_ident, tables))
                        + " RESTART IDENTITY CASCADE")


def empty(conn, tables: list[str]) -> list[str]:
    """Those of `tables` that hold rows now."""
    have = existing_tables(conn)
    return [t for t in tables if have.get(t)]


def refuse_non_empty(tables: list[str], dsn: str) -> None:
    shown = ", ".join(tables[:20]) + (" …" if len(tables) > 20 else "")
    raise MigrationError(ERRORS["target_not_empty"], ERRORS["target_not_empty_fix"], dsn=dsn,
                         n=len(tables), tables=shown)


def check_types(conn, overrides: dict[str, str]) -> None:
    """Every type of type_overrides is one the server knows (checked before any change)."""
    unknown = []
    with conn.cursor() as cur:
        for column, spelling in sorted(overrides.items()):
            try:
                cur.execute("SELECT to_regtype(%s)", (spelling,))
                known = cur.fetchone()[0] is not None
            except psycopg2.Error:
                known = False
            if not known:
                unknown.append(f"{column}: {spelling!r}")
    if unknown:
        raise MigrationError(ERRORS["unknown_types"], ERRORS["unknown_types_fix"],
                             types=", ".join(unknown))


_FOREIGN = """
SELECT c.relname FROM pg_class c
WHERE c.relnamespace = current_schema()::regnamespace
  AND c.relkind IN ('r', 'p', 'v', 'm', 'i', 'I', 'S', 'f', 'c')
  AND NOT (c.relkind IN ('r', 'p') AND c.relname = ANY(%(ours)s))
  AND NOT EXISTS (SELECT 1 FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid
                  WHERE x.indexrelid = c.oid AND t.relname = ANY(%(ours)s)
                    AND t.relnamespace = c.relnamespace)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                    AND d.deptype IN ('a', 'i') AND t.relname = ANY(%(ours)s)
                    AND t.relnamespace = c.relnamespace)
  AND NOT EXISTS (SELECT 1 FROM pg_rewrite r
                  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                  JOIN pg_class t ON t.oid = d.refobjid
                  WHERE r.ev_class = c.oid AND t.relname = ANY(%(ours)s)
                    AND t.relnamespace = c.relnamespace AND t.oid <> c.oid)
"""


def foreign_relations(conn, ours: list[str]) -> set[str]:
    """Names in the schema that are not the migration's: neither its tables nor what goes
    with them (their indexes, sequences, the views that read them)."""
    with conn.cursor() as cur:
        cur.execute(_FOREIGN, {"ours": ours})
        return {r[0] for r in cur.fetchall()}
