"""One run at a time per target database: a PostgreSQL advisory lock held for the run.

A migration holds the lock exclusively from the moment it touches the target until it is
finished (or fails); a validation holds it shared, so validations may run side by side but
never beside a migration. The lock belongs to a session the run keeps open: a run that is
killed releases it with its connection, so "unfinished" in the bookkeeping then truly means
dead. A second run does not wait: it stops at once with `TargetBusy`, naming the first (run
id, host, process id, start time), and has changed nothing.

Who holds it is read from `pg_locks` (visible to every role) and the holder's
`application_name`, plus the row a migration writes into `runbook_migration.holders`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading

import psycopg2

from . import db
from .errors import RunbookError
from .i18n import LANGUAGES, fill, t

__all__ = ["TargetBusy", "TargetLock", "KEY"]

KEY = (0x52554E42, 0x4C4F434B)  # "RUNB", "LOCK": the two int4 keys of the advisory lock
STATE = "runbook_migration"
_HELD: dict[tuple, TargetLock] = {}  # this process's locks, by database and kind of run
_GUARD = threading.Lock()

HOLDERS = f"""
SELECT l.pid, a.application_name, a.backend_start, h.run_id, h.host, h.pid, h.started
FROM pg_locks l
LEFT JOIN pg_stat_activity a ON a.pid = l.pid
LEFT JOIN {{holders}} h ON h.backend_pid = l.pid
WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database
                                                WHERE datname = current_database())
  AND l.classid = {KEY[0]} AND l.objid = {KEY[1]} AND l.objsubid = 2 AND l.granted
  AND l.pid <> pg_backend_pid()
ORDER BY a.backend_start
"""


class TargetBusy(RunbookError):
    """Another run holds the target database."""


ERRORS = {
    "busy": {"en": "Another run is working on the database {database}: {who}. This {what} "
                   "stopped before changing anything.",
             "ko": "다른 실행이 데이터베이스 {database}에서 작업 중입니다: {who}. 이 {what} "
                   "작업은 아무것도 바꾸기 전에 멈췄습니다."},
    "busy_fix": {"en": "Wait until that run has finished (or stop it: its tables are then "
                       "redone by the next migration), then run this stage again.",
                 "ko": "그 실행이 끝날 때까지 기다리거나(멈추면 그 테이블은 다음 마이그레이션이 "
                       "다시 만듭니다) 이 단계를 다시 실행하세요."},
    "run": {"en": "run {run_id} on host {host}, process {pid}, started {started}",
            "ko": "실행 {run_id} (호스트 {host}, 프로세스 {pid}, 시작 {started})"},
    "session": {"en": "{app} (server process {backend})",
                "ko": "{app} (서버 프로세스 {backend})"},
    "session_since": {"en": "{app} (server process {backend}, connected {since})",
                      "ko": "{app} (서버 프로세스 {backend}, 접속 {since})"},
    "a_session": {"en": "a session", "ko": "세션 하나"},
    "another": {"en": "another session", "ko": "다른 세션"},
    "migration": {"en": "migration", "ko": "마이그레이션"},
    "validation": {"en": "validation", "ko": "검증"},
}


def _describe(row) -> dict[str, str]:
    backend, app, backend_start, run_id, host, pid, started = row
    if run_id:
        return fill(ERRORS["run"], run_id=run_id, host=host, pid=pid,
                    started=f"{started:%Y-%m-%d %H:%M:%S%z}")
    since = f"{backend_start:%Y-%m-%d %H:%M:%S}" if backend_start else ""
    apps = {lang: app or t(ERRORS["a_session"], lang) for lang in LANGUAGES}
    return {lang: t(ERRORS["session_since" if since else "session"], lang, app=apps[lang],
                    backend=backend, since=since) for lang in LANGUAGES}


class TargetLock:
    """The advisory lock of one run on one target database (`shared` for validation)."""

    def __init__(self, settings, run_id: str, what: str = "migration", shared: bool = False,
                 dbname: str | None = None) -> None:
        self.settings, self.run_id, self.what = settings, run_id, what
        self.shared, self.dbname = shared, dbname
        self.conn = None
        self.key = (settings.db_host, str(settings.db_port), dbname or settings.db_name, what)

    def acquire(self) -> TargetLock:
        """Take the lock or raise TargetBusy (nothing changed); a lock an earlier run of the
        same kind in this process left (a notebook run again from the top) is handed over."""
        if self.conn is not None:
            return self
        with _GUARD:  # shared locks never block each other: only a migration's is handed over
            earlier = None if self.shared else _HELD.pop(self.key, None)
        if earlier is not None and earlier is not self:
            earlier.release()
        conn = db.connect(self.settings, dbname=self.dbname, autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT set_config('application_name', %s, false)",
                            (f"runbook {self.what} {self.run_id}"[:63],))
                fn = "pg_try_advisory_lock_shared" if self.shared else "pg_try_advisory_lock"
                cur.execute(f"SELECT {fn}(%s, %s)", KEY)
                if not cur.fetchone()[0]:
                    raise self._busy(cur)
                if not self.shared:
                    self._record(cur)
        except BaseException:
            conn.close()
            raise
        self.conn = conn
        if not self.shared:
            with _GUARD:
                _HELD[self.key] = self
        return self

    def _record(self, cur) -> None:
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {STATE}")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {STATE}.holders (backend_pid integer PRIMARY "
                    "KEY, run_id text NOT NULL, host text NOT NULL, pid integer NOT NULL, "
                    "started timestamptz NOT NULL DEFAULT now())")
        cur.execute(f"DELETE FROM {STATE}.holders WHERE backend_pid = pg_backend_pid() OR "
                    "backend_pid NOT IN (SELECT pid FROM pg_stat_activity)")
        cur.execute(f"INSERT INTO {STATE}.holders (backend_pid, run_id, host, pid) "
                    "VALUES (pg_backend_pid(), %s, %s, %s)",
                    (self.run_id, socket.gethostname(), os.getpid()))

    def _busy(self, cur) -> TargetBusy:
        cur.execute("SELECT to_regclass(%s)", (f"{STATE}.holders",))
        table = (f"{STATE}.holders" if cur.fetchone()[0] else
                 "(SELECT NULL::int AS backend_pid, NULL AS run_id, NULL AS host, "
                 "NULL::int AS pid, NULL::timestamptz AS started)")
        cur.execute(HOLDERS.format(holders=table))
        rows = cur.fetchall()
        described = [_describe(r) for r in rows] or [ERRORS["another"]]
        who = {lang: "; ".join(d[lang] for d in described) for lang in LANGUAGES}
        return TargetBusy(ERRORS["busy"], ERRORS["busy_fix"], who=who,
                          database=self.dbname or self.settings.db_name,
                          what=ERRORS.get(self.what, self.what))

    def release(self) -> None:
        conn, self.conn = self.conn, None
        with _GUARD:
            if _HELD.get(self.key) is self:
                del _HELD[self.key]
        if conn is not None and not conn.closed:
            with contextlib.suppress(psycopg2.Error), conn.cursor() as cur:
                if not self.shared:  # the lock itself goes with the session below
                    cur.execute(f"DELETE FROM {STATE}.holders WHERE backend_pid = "
                                "pg_backend_pid()")
            conn.close()

    def __enter__(self) -> TargetLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
