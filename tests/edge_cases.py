"""Edge-case SQLite files built by code (no committed binaries), shared by the test suites.

`EDGE_CASES = {name: builder}`; `builder(path)` writes a SQLite file at `path`. Every case
here migrates cleanly with `on_bad_value: fail`, except `bad_values` and `dangling` (which
need `null` or `quarantine`). `rows(path, table)` reads a table back in key order.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

BIG_TEXT = "가나다라마바사" * 50_000  # ~1 MB of UTF-8


def _make(path: Path, script: str, rows: dict[str, list[tuple]] | None = None,
          collations: tuple[str, ...] = ()) -> Path:
    """A SQLite file from a script and rows (custom collations, case-insensitive, registered
    while writing: a file another program wrote)."""
    path = Path(path)
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    for name in collations:
        conn.create_collation(name, lambda a, b: (a.lower() > b.lower()) - (a.lower() < b.lower()))
    conn.executescript(script)
    for table, values in (rows or {}).items():
        marks = ", ".join("?" * len(values[0]))
        conn.executemany(f'INSERT INTO "{table}" VALUES ({marks})', values)
    conn.commit()
    conn.close()
    return path


def all_types(path: Path) -> Path:
    """Every declared type family, and no declared type at all."""
    script = """CREATE TABLE typed (id INTEGER PRIMARY KEY, i INT, bi BIGINT, si SMALLINT,
        ti TINYINT, b BOOLEAN, r REAL, d DOUBLE, f FLOAT, n NUMERIC, dec DECIMAL(10,2),
        vc VARCHAR(20), ch CHAR(5), t TEXT, cl CLOB, bl BLOB, dt DATETIME, da DATE, tm TIME,
        ts TIMESTAMP, js JSON, u UUID, anything, odd STRING, money MONEY);"""
    rows = [(1, 1, 2**40, -5, 3, 1, 1.5, 2.25, -0.125, 7, 12.34, "short", "abc", "text",
             "clob", b"\x00\x01\xff", "2024-03-01 12:34:56.123456", "2024-03-01", "23:59:59",
             "2024-03-01T01:02:03", '{"a": [1, 2]}', "a1b2c3d4e5f60718293a4b5c6d7e8f90",
             "free", "odd", 9.5),
            (2,) + (None,) * 24,
            (3, 0, -(2**40), 32767, -128, 0, 1e-300, 1e300, 3.0, 0.5, -99999999.99, "",
             "", "", "", b"", "1970-01-01 00:00:00", "1970-01-01", "00:00:00",
             "2038-01-19 03:14:08", "[]", "00000000-0000-0000-0000-000000000000", 42, "x", 0)]
    return _make(path, script, {"typed": rows})


def tricky_text(path: Path) -> Path:
    """Emoji, Korean, 1 MB text, '' vs NULL, backslashes, tabs, newlines, quotes, literal \\N."""
    values = ["", None, "\\", "\\N", "\\\\N", "a\tb", "line1\nline2", "cr\rlf\r\n",
              "quote ' \" `", "emoji 😀🎉", "한국어 텍스트", BIG_TEXT, "None", "NULL", "\\x00",
              "trailing space ", " ", "tab\t\\t", "ends with backslash\\", "🇰🇷\u200d"]
    script = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, tag VARCHAR(30));"
    rows = [(i, v, v if v is None or len(v) <= 30 else "long") for i, v in enumerate(values, 1)]
    return _make(path, script, {"notes": rows})


def numbers(path: Path) -> Path:
    """int64 extremes, ±inf, -0.0, subnormals, values that 15 digits would not round-trip."""
    script = "CREATE TABLE nums (id INTEGER PRIMARY KEY, big INTEGER, x REAL, y DOUBLE);"
    floats = [0.1 + 0.2, float("inf"), float("-inf"), -0.0, 5e-324, 1.7976931348623157e308,
              2.0**-1074 * 3, 1 / 3, 123456789.12345679, 1e16 + 2]
    ints = [2**63 - 1, -(2**63), 0, -1, 2**53 + 1, 1, 2, 3, 4, 5]
    rows = [(i, a, x, -x) for i, (a, x) in enumerate(zip(ints, floats, strict=True), 1)]
    return _make(path, script, {"nums": rows})


def identifiers(path: Path) -> Path:
    """Reserved words, mixed case, spaces, dashes and unicode as table and column names."""
    script = """CREATE TABLE "user" (id INTEGER PRIMARY KEY, "select" TEXT, "From" TEXT);
        CREATE TABLE "order" (id INTEGER PRIMARY KEY, "user" INTEGER REFERENCES "user"(id),
            "group" TEXT);
        CREATE TABLE "group" ("MixedCase" INTEGER PRIMARY KEY, "col with space" TEXT);
        CREATE TABLE "dash-name" ("a-b" INTEGER, "열 이름" TEXT);
        CREATE TABLE "한글 테이블" ("이름" TEXT PRIMARY KEY, "값" REAL);
        CREATE INDEX "idx user-From" ON "user" ("From");"""
    return _make(path, script, {
        "user": [(1, "s1", "f1"), (2, "s2", None)],
        "order": [(1, 1, "g"), (2, 2, None)],
        "group": [(7, "x y")],
        "dash-name": [(1, "가"), (None, None)],
        "한글 테이블": [("키", 1.25), ("두번째", None)]})


def keys(path: Path) -> Path:
    """No primary key, composite primary key, WITHOUT ROWID, unique constraints."""
    script = """CREATE TABLE nopk (a INTEGER, b TEXT);
        CREATE TABLE composite (x INTEGER, y TEXT, v REAL, PRIMARY KEY (x, y));
        CREATE TABLE worid (k TEXT PRIMARY KEY, v INTEGER UNIQUE) WITHOUT ROWID;
        CREATE TABLE uniq (id INTEGER PRIMARY KEY, code TEXT UNIQUE, a INT, b INT,
            UNIQUE (a, b));"""
    return _make(path, script, {
        "nopk": [(1, "a"), (1, "a"), (None, None)],
        "composite": [(1, "a", 0.5), (1, "b", 1.5), (2, "a", None)],
        "worid": [("k1", 1), ("k2", None), ("k0", 3)],
        "uniq": [(1, "c1", 1, 1), (2, None, 1, None), (3, None, 1, None)]})


def autoincrement_gaps(path: Path) -> Path:
    """AUTOINCREMENT with gaps; sqlite_sequence ahead of max(id) after deleting the last rows."""
    path = _make(path, "CREATE TABLE item (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);"
                       "CREATE TABLE plain (id INTEGER PRIMARY KEY, name TEXT);")
    conn = sqlite3.connect(path)
    conn.executemany("INSERT INTO item (id, name) VALUES (?, ?)",
                     [(1, "a"), (2, "b"), (5, "e"), (9, "i"), (10, "j"), (50, "x")])
    conn.execute("DELETE FROM item WHERE id >= 10")
    conn.executemany("INSERT INTO plain (id, name) VALUES (?, ?)", [(3, "c"), (100, "z")])
    conn.commit()
    conn.close()
    return path


def foreign_keys(path: Path) -> Path:
    """Self-referencing and cyclic foreign keys, ON DELETE actions."""
    script = """PRAGMA foreign_keys = ON;
        CREATE TABLE employee (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
            manager_id INTEGER REFERENCES employee(id) ON DELETE SET NULL);
        CREATE TABLE team (id INTEGER PRIMARY KEY, lead_id INTEGER REFERENCES member(id)
            DEFERRABLE INITIALLY DEFERRED);
        CREATE TABLE member (id INTEGER PRIMARY KEY, team_id INTEGER NOT NULL
            REFERENCES team(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED);
        CREATE INDEX member_team ON member(team_id);"""
    path = _make(path, script)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = ON")
    with conn:
        conn.executemany("INSERT INTO employee VALUES (?, ?, ?)",
                         [(1, "boss", None), (2, "mid", 1), (3, "dev", 2)])
        conn.executemany("INSERT INTO team VALUES (?, ?)", [(1, 10), (2, None)])
        conn.executemany("INSERT INTO member VALUES (?, ?)", [(10, 1), (11, 1), (12, 2)])
    conn.close()
    return path


def dangling(path: Path) -> Path:
    """References to missing rows, written with foreign_keys=OFF (SQLite's default)."""
    script = """CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id),
            note TEXT);"""
    return _make(path, script, {"parent": [(1, "p1"), (2, "p2")],
                                "child": [(1, 1, "ok"), (2, 99, "dangling"), (3, None, "null"),
                                          (4, 2, "ok"), (5, 42, "dangling too")]})


def bad_values(path: Path) -> Path:
    """Dynamic-typing violations: text in INTEGER, mixed dates, odd booleans, NUL, long text."""
    script = """CREATE TABLE reading (id INTEGER PRIMARY KEY, qty INTEGER, small SMALLINT,
        flag BOOLEAN, at DATETIME, label VARCHAR(5), body TEXT, price DECIMAL(5,2),
        doc JSON);"""
    good = (1, 10, 1, 1, "2024-01-01 00:00:00", "ok", "fine", 1.5, '{"a": 1}')
    rows = [good,
            (2, "abc", 1, "true", "2024-01-02", "ok", "fine", 2.5, "[1]"),
            (3, 3, 70000, 1, "01/02/2024", "ok", "fine", 3.5, "{}"),
            (4, 4, 1, 2, "2024-01-04 10:00:00", "toolong", "nul\x00byte", 4.5, "1"),
            (5, 5.5, 1, "t", 1700000000, "ok", "fine", 12345.0, "not json"),
            (6, None, None, None, None, None, None, None, None)]
    return _make(path, script, {"reading": rows})


def views_triggers(path: Path) -> Path:
    """A view, a trigger, a partial index, an expression index and a generated column."""
    script = """CREATE TABLE account (id INTEGER PRIMARY KEY, email TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1, balance REAL DEFAULT 0.0,
            created TEXT DEFAULT CURRENT_TIMESTAMP,
            doubled REAL GENERATED ALWAYS AS (balance * 2) STORED);
        CREATE TABLE audit (id INTEGER PRIMARY KEY, account_id INTEGER, at TEXT);
        CREATE VIEW active_accounts AS SELECT id, email FROM account WHERE active = 1;
        CREATE TRIGGER account_audit AFTER INSERT ON account BEGIN
            INSERT INTO audit (account_id, at) VALUES (new.id, 'now'); END;
        CREATE INDEX account_active ON account (email) WHERE active = 1;
        CREATE INDEX account_lower ON account (lower(email));"""
    path = _make(path, script)
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany("INSERT INTO account (id, email, active, balance, created) "
                         "VALUES (?, ?, ?, ?, ?)",
                         [(1, "a@x", 1, 10.5, "2024-01-01 00:00:00"),
                          (2, "b@x", 0, 0.25, "2024-01-02 00:00:00")])
    conn.close()
    return path


def wal_pending(path: Path) -> Path:
    """A WAL database whose last committed rows are only in the -wal file."""
    path = Path(path)
    work = path.with_name(path.stem + ".build" + path.suffix)
    for p in (work, path):
        for suffix in ("", "-wal", "-shm"):
            Path(str(p) + suffix).unlink(missing_ok=True)
    conn = sqlite3.connect(work)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE event (id INTEGER PRIMARY KEY, what TEXT)")
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.executemany("INSERT INTO event VALUES (?, ?)", [(i, f"in wal {i}") for i in range(1, 6)])
    conn.commit()
    shutil.copyfile(work, path)
    shutil.copyfile(str(work) + "-wal", str(path) + "-wal")
    conn.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(work) + suffix).unlink(missing_ok=True)
    return path


def empty_tables(path: Path) -> Path:
    """Tables with no rows (and one AUTOINCREMENT table that once had rows)."""
    path = _make(path, "CREATE TABLE [nothing] (id INTEGER PRIMARY KEY, v TEXT);"
                       "CREATE TABLE gone (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);")
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO gone (v) VALUES ('x'), ('y')")
        conn.execute("DELETE FROM gone")
    conn.close()
    return path


EDGE_CASES: dict[str, Callable[[Path], Path]] = {
    "all_types": all_types, "tricky_text": tricky_text, "numbers": numbers,
    "identifiers": identifiers, "keys": keys, "autoincrement_gaps": autoincrement_gaps,
    "foreign_keys": foreign_keys, "dangling": dangling, "bad_values": bad_values,
    "views_triggers": views_triggers, "wal_pending": wal_pending, "empty_tables": empty_tables,
}
CLEAN_CASES = [n for n in EDGE_CASES if n not in ("bad_values", "dangling")]


def rows(path: str | Path, table: str) -> list[tuple]:
    """Every row of a table in a stable order (primary key, else all columns)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cur = conn.execute(f'SELECT * FROM "{table}"')
        return sorted(cur.fetchall(), key=_sort_key)
    finally:
        conn.close()


def _sort_key(row: tuple) -> tuple:
    return tuple((v is None, type(v).__name__, v if v is not None else 0) for v in row)


# -- comparing a migrated table with its source, value by value ------------------------------
def _bits(x) -> bytes:
    import struct

    return struct.pack(">d", float(x))


def _when(value, zone: str):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))


def normalize(value, target_type: str, zone: str = "UTC"):
    """A source or target value in a form both sides share for the given PostgreSQL type."""
    import json
    import uuid
    from datetime import date, datetime, time
    from decimal import Decimal

    t = target_type.lower()
    if value is None:
        return None
    if t == "boolean":
        return value if isinstance(value, bool) else str(value).lower() in ("1", "t", "true",
                                                                             "y", "yes", "on")
    if t.startswith("timestamp"):
        return (value if isinstance(value, datetime) else _when(value, zone)).timestamp()
    if t == "date":
        return value if isinstance(value, date) else date.fromisoformat(value)
    if t.startswith("time"):
        return value if isinstance(value, time) else time.fromisoformat(value)
    if t in ("double precision", "real"):
        return _bits(value)
    if t.startswith("numeric"):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    if t in ("bigint", "integer", "smallint"):
        return int(value)
    if t == "bytea":
        return bytes(value)
    if t.startswith("json"):
        return json.dumps(json.loads(value) if isinstance(value, str) else value, sort_keys=True)
    if t == "uuid":
        return uuid.UUID(str(value))
    return value if isinstance(value, str) else str(value)


def assert_table_equal(pg_conn, sqlite_path, entry: dict, zone: str = "UTC",
                       skip_source_rows: set | None = None) -> int:
    """Row-by-row equality of one manifest table entry; returns the rows compared."""
    cols = entry["columns"]
    quoted = ", ".join('"' + c["source_name"].replace('"', '""') + '"' for c in cols)
    conn = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        src = conn.execute(f'SELECT {quoted} FROM "{entry["source_table"]}"').fetchall()
    finally:
        conn.close()
    with pg_conn.cursor() as cur:
        names = ", ".join('"' + c["name"].replace('"', '""') + '"' for c in cols)
        cur.execute(f'SELECT {names} FROM "{entry["table"]}"')
        tgt = cur.fetchall()
    types = [c["target_type"] for c in cols]

    def norm(rows):
        return sorted((tuple(normalize(v, t, zone) for v, t in zip(r, types, strict=True))
                       for r in rows), key=_sort_key)

    left = norm([r for r in src if not skip_source_rows or r[0] not in skip_source_rows])
    right = norm(tgt)
    assert len(left) == len(right), (entry["table"], len(left), len(right))
    for a, b in zip(left, right, strict=True):
        assert a == b, (entry["table"], a, b)
    return len(right)


# -- a migration stuck mid-COPY in another process (killed runs, concurrent runs) -------------
STUCK = """
import sys, time
from runbook_lib import migrate
from runbook_lib.core.config import load_settings
from runbook_lib.migrate import transfer, transfer_binary
slow = transfer.ChunkReader.read
def read(self, size=-1):
    data = slow(self, size)
    if self.rows and data:
        time.sleep(120)  # stuck mid-COPY until killed
    return data
transfer.ChunkReader.read = read
transfer.CHUNK_ROWS = 5
batches = transfer_binary.Batches.__iter__
def stuck(self):
    for batch in batches(self):
        yield batch
        time.sleep(120)  # the binary path stuck mid-COPY too
transfer_binary.Batches.__iter__ = stuck
transfer_binary.BATCH_ROWS = 2
settings = load_settings(target="server", db_host="localhost", db_port=int(sys.argv[1]),
                         db_name=sys.argv[2], db_user=sys.argv[2], run_dir=sys.argv[3],
                         sqlite_path=sys.argv[4], django_project="", workers=1)
migrate.run(settings, progress=False)
"""


def stuck_migration(pg, settings, run_dir: Path) -> subprocess.Popen:
    """A migration of `settings` in a child process (its own session), once it is copying."""
    child = subprocess.Popen([sys.executable, "-c", STUCK, str(pg.port), settings.db_name,
                              str(run_dir), str(settings.sqlite_file)], start_new_session=True)
    for _ in range(300):
        if pg.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%' AND "
                      "state = 'active'", settings.db_name)[0][0]:
            return child
        time.sleep(0.1)
    child.kill()
    raise AssertionError("the child never reached COPY")


def kill(child: subprocess.Popen, pg, dbname: str) -> None:
    """SIGKILL the child's process group; wait until the server has ended its sessions (and
    with them the target's advisory lock)."""
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    for _ in range(100):
        if not pg.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'",
                          dbname)[0][0]:
            return
        time.sleep(0.1)
