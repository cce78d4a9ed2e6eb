"""Which rows changed between two snapshots of the SQLite file, key by key.

Within the key ranges whose digests differ, the new snapshot and the previous one are joined on
the primary key in SQLite itself (both attached read-only to an in-memory database): a row is
changed when any column's value or storage class differs (`IS NOT`, `typeof`), inserted or
deleted when only one side has its key. Only those rows are then staged and applied.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..core import sqlite_quirks
from ..core.identifiers import quote_ident
from ..core.sqlite_file import ro_uri
from .sync_apply import between

q = quote_ident


def open_pair(new: Path, old: Path) -> sqlite3.Connection:
    """An in-memory database with the new snapshot attached as `n`, the previous one as `o`."""
    conn = sqlite3.connect(":memory:", uri=True, check_same_thread=False)
    conn.execute("ATTACH DATABASE ? AS n", (ro_uri(new),))
    conn.execute("ATTACH DATABASE ? AS o", (ro_uri(old),))
    return sqlite_quirks.prepare(conn)


def changed(conn: sqlite3.Connection, table: str, key: str, columns: list[str],
            ranges: list[tuple]) -> tuple[list[int], list[int]]:
    """(keys inserted or changed in the new snapshot, keys deleted from it) within `ranges`."""
    t, k = q(table), q(key)
    differs = " OR ".join(f"a.{q(c)} IS NOT b.{q(c)} OR typeof(a.{q(c)}) != typeof(b.{q(c)})"
                          for c in columns if c != key) or "0"
    new_rows = (f"SELECT a.{k} FROM n.{t} a LEFT JOIN o.{t} b ON b.{k} = a.{k} "
                f"WHERE {between(f'a.{k}', ranges)} AND (b.{k} IS NULL OR {differs})")
    gone = (f"SELECT b.{k} FROM o.{t} b WHERE {between(f'b.{k}', ranges)} AND NOT EXISTS "
            f"(SELECT 1 FROM n.{t} a WHERE a.{k} = b.{k})")
    return ([r[0] for r in conn.execute(new_rows)], [r[0] for r in conn.execute(gone)])
