"""After the COPY: keys, unique constraints, indexes, validated foreign keys, sequences, ANALYZE.

Index builds run in parallel (one connection per worker thread). For the Django strategy the
definitions `migrate` created are captured from the catalogue (`pg_get_indexdef`,
`pg_get_constraintdef`), dropped before the load and re-created afterwards with the same
names, so a later Django `RemoveIndex` still finds its index.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg2

from ..core.errors import MigrationError
from ..core.i18n import t
from ..core.identifiers import quote_ident
from .schema import Plan, Step
from .wording import ERRORS

__all__ = ["capture", "apply", "set_sequences", "REFUSED"]

REFUSED = {"en": "PostgreSQL refused the translation {sql}: {error}",
           "ko": "PostgreSQL이 변환한 문장 {sql} 을(를) 거부했습니다: {error}"}

_CONSTRAINTS = """
SELECT cl.relname, c.conname, c.contype, pg_get_constraintdef(c.oid), ix.relname,
       pg_get_indexdef(c.conindid), c.condeferrable
FROM pg_constraint c
JOIN pg_class cl ON cl.oid = c.conrelid
JOIN pg_namespace n ON n.oid = cl.relnamespace
LEFT JOIN pg_class ix ON ix.oid = c.conindid
WHERE n.nspname = current_schema() AND c.contype IN ('p', 'u', 'f')
  AND (cl.relname = ANY(%(t)s) OR c.confrelid IN (
       SELECT oid FROM pg_class WHERE relname = ANY(%(t)s) AND relnamespace = n.oid))
ORDER BY cl.relname, c.conname
"""
_INDEXES = """
SELECT t.relname, i.relname, pg_get_indexdef(x.indexrelid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = current_schema() AND t.relname = ANY(%(t)s)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid
                  AND c.conrelid = x.indrelid AND c.contype IN ('p', 'u', 'x'))
ORDER BY t.relname, i.relname
"""


def _constraint_steps(table, name, kind, definition, index, indexdef, deferrable) -> list[Step]:
    t, n = quote_ident(table), quote_ident(name)
    if kind == "f":
        return [Step("fk", table, name, f"ALTER TABLE {t} ADD CONSTRAINT {n} {definition} "
                                        "NOT VALID"),
                Step("validate", table, name, f"ALTER TABLE {t} VALIDATE CONSTRAINT {n}")]
    if deferrable or not indexdef:
        return [Step("constraint", table, name, f"ALTER TABLE {t} ADD CONSTRAINT {n} {definition}")]
    what = "PRIMARY KEY" if kind == "p" else "UNIQUE"
    return [Step("index", table, index, indexdef),
            Step("constraint", table, name, f"ALTER TABLE {t} ADD CONSTRAINT {n} {what} "
                                            f"USING INDEX {quote_ident(index)}")]


def capture(conn, tables: list[str]) -> tuple[list[str], list[Step]]:
    """Drop statements and re-create steps for the keys, indexes and FKs of `tables`."""
    with conn.cursor() as cur:
        cur.execute(_CONSTRAINTS, {"t": tables})
        cons = cur.fetchall()
        cur.execute(_INDEXES, {"t": tables})
        idx = cur.fetchall()
    drops, steps = [], []
    for kind in ("f", "p", "u"):
        for row in (r for r in cons if r[2] == kind and (kind == "f" or r[0] in tables)):
            drops.append(f"ALTER TABLE {quote_ident(row[0])} DROP CONSTRAINT {quote_ident(row[1])}")
            steps += _constraint_steps(*row)
    for table, name, definition in idx:
        drops.append(f"DROP INDEX {quote_ident(name)}")
        steps.append(Step("index", table, name, definition))
    order = {"index": 0, "constraint": 1, "fk": 2, "validate": 3}
    return drops, sorted(steps, key=lambda s: order[s.kind])


class Sessions:
    """Autocommit connections kept for the whole post-load and shared by its worker threads
    (a SCRAM login and a backend start cost ~0.05 s each).

    With several sessions, each index build runs in one process: PostgreSQL's parallel
    build (a leader and two helpers per index, then a merge) on top of our sessions took
    20-30 % more CPU and wall time for the sample's three big indexes on two cores."""

    def __init__(self, connect, workers: int = 1) -> None:
        self.connect = connect
        self.workers = workers
        self.idle: queue.SimpleQueue = queue.SimpleQueue()
        self.opened: list = []
        self.lock = threading.Lock()

    def _open(self):
        conn = self.connect()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SET maintenance_work_mem TO '256MB'")
            if self.workers > 1:
                cur.execute("SET max_parallel_maintenance_workers TO 0")
        with self.lock:
            self.opened.append(conn)
        return conn

    def execute(self, sql: str) -> None:
        try:
            conn = self.idle.get_nowait()
        except queue.Empty:
            conn = self._open()
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            self.idle.put(conn)

    def parallel(self, statements: list[str], workers: int) -> None:
        if len(statements) <= 1 or workers <= 1:
            for sql in statements:
                self.execute(sql)
            return
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(self.execute, statements))

    def close(self) -> None:
        for conn in self.opened:
            conn.close()


class DanglingReferences(MigrationError):
    """A foreign key does not hold after the load (the source ran with foreign_keys=OFF)."""

    table = ""


def _dangling(error: psycopg2.Error, step: Step) -> MigrationError:
    exc = DanglingReferences(ERRORS["dangling"], ERRORS["dangling_fix"], name=step.name,
                             table=step.table, detail=str(error).strip().splitlines()[0])
    exc.table = step.table
    return exc


def apply(connect, steps: list[Step], workers: int = 2, sizes: dict[str, int] | None = None,
          analyze: list[str] = (), language: str = "en") -> list[dict]:
    """Run the post-load steps, then ANALYZE the `analyze` tables; failed optional steps come
    back as manual follow-ups. `sizes` (rows per table) starts the biggest index builds first."""
    sessions = Sessions(connect, workers)
    try:
        manual = _apply(sessions, steps, workers, sizes or {}, language)
        sessions.parallel([f"ANALYZE {quote_ident(t)}" for t in analyze], workers)
        return manual
    finally:
        sessions.close()


def _apply(sessions: Sessions, steps: list[Step], workers: int, sizes: dict[str, int],
           language: str = "en") -> list[dict]:
    # one session more than cores: an uneven last index does not leave a core idle
    indexes = sorted((s for s in steps if s.kind == "index"), key=lambda s: -sizes.get(s.table, 0))
    sessions.parallel([s.sql for s in indexes], workers + 1 if workers > 1 else 1)
    for step in (s for s in steps if s.kind in ("constraint", "fk")):
        sessions.execute(step.sql)
    try:
        sessions.parallel([s.sql for s in steps if s.kind == "validate"], workers)
    except psycopg2.errors.ForeignKeyViolation as exc:
        step = next(s for s in steps if s.kind == "validate" and s.name in str(exc))
        raise _dangling(exc, step) from None
    manual = []
    for step in (s for s in steps if s.kind == "optional"):
        try:
            sessions.execute(step.sql)
        except psycopg2.Error as exc:
            manual.append({"table": step.table, "kind": step.label or step.kind,
                           "name": step.name, "sqlite_sql": step.source or step.sql,
                           "todo": t(REFUSED, language, sql=step.sql,
                                     error=str(exc).strip().splitlines()[0])})
    return manual


_SERIALS = """
SELECT column_name FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = %s
  AND (is_identity = 'YES' OR column_default LIKE 'nextval(%%')
"""


def set_sequences(conn, plan: Plan) -> list[dict]:
    """Every identity/serial sequence set past max(column) and past sqlite_sequence."""
    out = []
    with conn.cursor() as cur:
        for tp in plan.tables:
            cur.execute(_SERIALS, (tp.name,))
            for (col,) in cur.fetchall():
                cur.execute(f"SELECT max({quote_ident(col)}) FROM {quote_ident(tp.name)}")
                top = cur.fetchone()[0] or 0
                pk = tp.primary_key == [col]
                floor = (tp.source.sequence or 0) if pk else 0
                value = max(int(top), int(floor))
                cur.execute("SELECT setval(pg_get_serial_sequence(%s, %s), %s, %s)",
                            (quote_ident(tp.name), col, max(value, 1), value > 0))
                out.append({"table": tp.name, "column": col, "max": top,
                            "sqlite_sequence": tp.source.sequence, "next": value + 1})
    return out
