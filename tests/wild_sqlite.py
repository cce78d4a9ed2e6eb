"""SQLite files from the wild, built by code, and an independent check of a migrated table.

Each builder writes a small file with what real files hold: declarations that lie, values
PostgreSQL cannot hold, FTS and R-tree tables, GeoPackage geometry, a custom collation, names
over 63 bytes. `same_rows` compares every source row with the target as multisets, reading
both sides itself (SQLite text as bytes, PostgreSQL's own types) and normalising each value
by the PostgreSQL type the target column has: it shares no code with the runbook's copy or
its validation.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import psycopg2
from edge_cases import _make as build  # noqa: F401 - re-exported: a SQLite file from a script


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def source_rows(path: Path, table: str, columns: list[str],
                where: Callable[[dict], bool] | None = None) -> list[dict]:
    """Every row of a SQLite table as {column: value}, text as bytes (valid UTF-8 or not),
    the rowid under "rowid" too."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.text_factory = bytes
    try:
        cur = conn.execute(f"SELECT rowid, {', '.join(map(q, columns))} FROM {q(table)}")
        out = [dict(zip(["rowid", *columns], r, strict=True)) for r in cur]
    finally:
        conn.close()
    return [r for r in out if where is None or where(r)]


def target_types(conn, table: str) -> dict[str, str]:
    with conn.cursor() as cur:
        cur.execute("SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                    "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                    (q(table),))
        return dict(cur.fetchall())


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return repr(value) if isinstance(value, float) else str(value)


def norm(value, pg_type: str):
    """A value of either side in one form for the PostgreSQL type of the target column."""
    if value is None:
        return None
    t = pg_type.lower()
    if t in ("bigint", "integer", "smallint"):
        return int(value)
    if t in ("double precision", "real"):
        return ("float", repr(float(_text(value) if isinstance(value, bytes) else value)))
    if t.startswith("numeric"):
        return Decimal(_text(value))
    if t == "bytea":
        return bytes(value) if not isinstance(value, str) else value.encode()
    if t == "json":
        return _text(value)  # json keeps the text: the same characters
    if t == "jsonb":
        return json.dumps(json.loads(_text(value)), sort_keys=True)
    if t == "date":
        return value.isoformat() if isinstance(value, date) else _text(value)
    if t.startswith("timestamp"):  # naive SQLite text is UTC (source_timezone's default)
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(
            _text(value).replace("Z", "+00:00"))
        if "with time zone" in t and moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp() if moment.tzinfo else moment.isoformat()
    if t.startswith("time"):
        return value.isoformat() if isinstance(value, time) else _text(value)
    if t == "boolean":
        return value if isinstance(value, bool) else _text(value).lower() in ("1", "t", "true")
    return _text(value)


def target_rows(settings, table: str, columns: list[str]) -> tuple[list[tuple], dict]:
    """(rows, column types) of a PostgreSQL table; json read as its text."""
    conn = psycopg2.connect(host=settings.db_host, port=settings.db_port,
                            dbname=settings.db_name, user=settings.db_user,
                            password=settings.password.reveal())
    try:
        types = target_types(conn, table)
        exprs = [f"{q(c)}::text" if types[c] == "json" else q(c) for c in columns]
        with conn.cursor() as cur:
            cur.execute(f"SELECT {', '.join(exprs)} FROM {q(table)}")
            return cur.fetchall(), types
    finally:
        conn.close()


def same_rows(settings, path: Path, source_table: str, table: str, columns: list[tuple[str, str]],
              expected: Callable[[dict], dict | None] = lambda r: r) -> int:
    """Every source row (through `expected`: the row as it should arrive, None if set aside)
    equals the target's rows as multisets. `columns`: (source name, target name)."""
    got, types = target_rows(settings, table, [t for _, t in columns])
    want = []
    for row in source_rows(path, source_table, [s for s, _ in columns]):
        row = expected(dict(row))
        if row is not None:
            want.append(tuple(norm(row[s], types[t]) for s, t in columns))
    have = [tuple(norm(v, types[t]) for v, (_, t) in zip(r, columns, strict=True)) for r in got]
    assert Counter(want) == Counter(have), (table, Counter(want) - Counter(have),
                                            Counter(have) - Counter(want))
    return len(have)
