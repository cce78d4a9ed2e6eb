"""Ten real concurrent writers, each on its own connection, released together per round.

SQLite allows one writer at a time: a writer that finds the file locked gets "database is
locked" at once (timeout 0 here), so each such hit is counted as a lock wait and retried
until Django's default 5-second timeout would have given up (then it counts as an error).
PostgreSQL writers insert different rows and do not block each other (MVCC, row locks).
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from pathlib import Path

from ..core import db

GIVE_UP_S = 5.0  # Django's default SQLite timeout
RETRY_SLEEP_S = 0.001


def _sqlite_write(conn: sqlite3.Connection, insert: str, row: list) -> tuple[int, int]:
    waits, end = 0, time.perf_counter() + GIVE_UP_S
    while True:
        try:
            conn.execute(insert, row)
            conn.commit()
            return waits, 0
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            conn.rollback()
            waits += 1
            if time.perf_counter() > end:
                return waits, 1
            time.sleep(RETRY_SLEEP_S)


def _pg_write(conn, insert: str, row: list) -> tuple[int, int]:
    import psycopg2.errors as pgerr

    try:
        with conn.cursor() as cur:
            cur.execute(insert, row)
        return 0, 0
    except (pgerr.LockNotAvailable, pgerr.SerializationFailure, pgerr.DeadlockDetected):
        return 1, 1


class Ids:
    """Fresh primary-key values above everything in the table, shared by all writers."""

    def __init__(self, start: int) -> None:
        self._count = itertools.count(start)
        self._lock = threading.Lock()

    def take(self, n: int = 1) -> list[int]:
        with self._lock:
            return [next(self._count) for _ in range(n)]


class WriterPool:
    """`n` threads with one connection each; `round()` lets all of them write one row."""

    def __init__(self, engine: str, target, insert: str, template: list, ids, n: int) -> None:
        self.engine, self.insert, self.template, self.ids = engine, insert, template, ids
        self.conns = [self._connect(engine, target) for _ in range(n)]
        self.start = threading.Barrier(n + 1)
        self.done = threading.Barrier(n + 1)
        self.results: list[tuple[int, int]] = [(0, 0)] * n
        self.failure: BaseException | None = None
        self.stopping = False
        self.threads = [threading.Thread(target=self._loop, args=(i,), daemon=True)
                        for i in range(n)]
        for thread in self.threads:
            thread.start()

    @staticmethod
    def _connect(engine: str, target):
        if engine == "sqlite":
            conn = sqlite3.connect(Path(target), timeout=0, check_same_thread=False)
            conn.execute("PRAGMA foreign_keys = ON")
            return conn
        return db.connect(target, autocommit=True)

    def _loop(self, index: int) -> None:
        write = _sqlite_write if self.engine == "sqlite" else _pg_write
        while True:
            self.start.wait()
            if self.stopping:
                return
            try:
                row = [self.ids.take()[0], *self.template]
                self.results[index] = write(self.conns[index], self.insert, row)
            except BaseException as exc:  # re-raised in the main thread by round()
                self.failure = exc
            self.done.wait()

    def round(self) -> tuple[int, int]:
        """All writers insert one row at once; returns (lock waits, errors) of the round."""
        self.start.wait()
        self.done.wait()
        if self.failure is not None:
            raise self.failure
        return (sum(r[0] for r in self.results), sum(r[1] for r in self.results))

    def close(self) -> None:
        self.stopping = True
        self.start.wait(timeout=10)
        for thread in self.threads:
            thread.join(timeout=10)
        for conn in self.conns:
            conn.close()

    def __enter__(self) -> WriterPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["GIVE_UP_S", "RETRY_SLEEP_S", "Ids", "WriterPool"]
