"""What a SQLite file from the wild needs before it can be read: its custom collations and
a UTF-8 check.

A file written by another program may declare a collation that program registered itself
(`unicase`, `localized`, ICU names): without it SQLite refuses every statement that touches
the column ("no such collation sequence"), even `PRAGMA integrity_check`. `prepare` registers
each collation the schema names and SQLite does not know as a plain binary (code point)
comparison: rows read the same, only their ordering rules are not carried, which the plan
says (`unknown_collations`).

SQLite stores any bytes as TEXT; PostgreSQL only takes valid UTF-8. SQL has no test for it, so
`prepare` also registers `runbook_utf8(blob, …)`: 1 when every argument is NULL or valid UTF-8
bytes (`UTF8_OK`: the SQL of one column). The value profile counts such text through Arrow
(`migrate.utf8_scan`), faster; the SQL serves its fallback and the copy's filters.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from .sqlite_file import ro_uri

__all__ = ["open_ro", "prepare", "unknown_collations", "collations_in", "UTF8_OK", "BUILTIN_COLLATIONS"]

BUILTIN_COLLATIONS = {"binary", "nocase", "rtrim"}
_COLLATE = re.compile(r"""\bCOLLATE\s+("(?:[^"]|"")+"|'(?:[^']|'')+'|\[[^\]]+\]|`(?:[^`]|``)+`|
                          [^\s(),;'"`\[\]]+)""", re.I | re.X)
# SQL (SQLite) true when {c} is not text, or is text of valid UTF-8
UTF8_OK = "(typeof({c}) != 'text' OR runbook_utf8(CAST({c} AS BLOB)))"


def _unquote(token: str) -> str:
    if token[0] in "\"'`":
        return token[1:-1].replace(token[0] * 2, token[0])
    return token[1:-1] if token[0] == "[" else token


def collations_in(sql: str) -> set[str]:
    """Collation names a piece of SQLite DDL uses (a name only: never executed anywhere)."""
    return {_unquote(m.group(1)) for m in _COLLATE.finditer(sql or "")}


def unknown_collations(conn: sqlite3.Connection) -> list[str]:
    """Collations the schema names that SQLite does not provide itself, sorted."""
    names: set[str] = set()
    for (schema,) in conn.execute("SELECT name FROM pragma_database_list").fetchall():
        master = f'"{schema.replace(chr(34), chr(34) * 2)}".sqlite_master'
        for (sql,) in conn.execute(f"SELECT sql FROM {master} WHERE sql IS NOT NULL"):
            names |= collations_in(sql)
    return sorted(n for n in names if n.lower() not in BUILTIN_COLLATIONS)


def _binary(a: str, b: str) -> int:
    return (a > b) - (a < b)  # code point order: the order of the UTF-8 bytes


def _utf8(*values) -> int:
    for value in values:
        if value is None or value.isascii():
            continue
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            return 0
    return 1


def open_ro(path: str | Path) -> sqlite3.Connection:
    """Open a SQLite file read-only (never written, not even a checkpoint), prepared."""
    return prepare(sqlite3.connect(ro_uri(path), uri=True, check_same_thread=False))


def prepare(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Register the schema's unknown collations (binary) and `runbook_utf8`; return conn."""
    conn.create_function("runbook_utf8", -1, _utf8, deterministic=True)
    try:
        names = unknown_collations(conn)
    except sqlite3.DatabaseError:  # not a database (yet): the caller's own check says so
        return conn
    for name in names:
        conn.create_collation(name, _binary)
    return conn
