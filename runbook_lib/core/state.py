"""The migration's record, kept with the target (schema `runbook_migration`), the run folder's
manifest holding a copy.

Stage 03 records each migration when it starts (unfinished: its name map and type plan) and
completes it at the end: the snapshot's sha256, the quarantined rows themselves (the CSV files'
bytes), the tables with their counts. A stage run later, in another run folder or in the lab,
reads the latest record with `current(settings)`, so it validates against the migration that
filled the target and can say which one; a killed migration is seen as unfinished. The
validation verdict is added to the record, for the cut-over stage of a later run.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg2

from . import db, files, manifest
from .errors import ConnectError, RunbookError
from .i18n import t

STATE = "runbook_migration"
CHUNK = 8 << 20  # quarantine files are stored in parts of 8 MB (bytea)
_RUNS = (f"CREATE TABLE IF NOT EXISTS {STATE}.runs (run_id text PRIMARY KEY, "
         "started_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz, "
         "tables text[] NOT NULL DEFAULT '{}')")
_COLUMNS = ("record jsonb", "snapshot_sha256 text", "validation jsonb")
_QUARANTINE = (f"CREATE TABLE IF NOT EXISTS {STATE}.quarantine (run_id text NOT NULL, "
               "table_name text NOT NULL, part integer NOT NULL, data bytea NOT NULL, "
               "PRIMARY KEY (run_id, table_name, part))")


TEXT = {
    "describe": {"en": "migration {run} ({when}), snapshot {snapshot}{sha}, {where}",
                 "ko": "마이그레이션 {run} ({when}), 스냅샷 {snapshot}{sha}, {where}"},
    "started": {"en": "started {at}", "ko": "시작 {at}"},
    "finished": {"en": ", finished {at}", "ko": ", 완료 {at}"},
    "unfinished": {"en": ", unfinished", "ko": ", 끝나지 않음"},
    "target": {"en": "recorded in the target", "ko": "대상 데이터베이스에 기록됨"},
    "manifest": {"en": "recorded in this run's manifest", "ko": "이번 실행의 매니페스트에 기록됨"},
}


@dataclass
class Record:
    """One migration as recorded: where from (`target` or `manifest`), and what it did."""

    run_id: str
    section: dict  # the manifest's `migration` section: tables, name map, type plan, ...
    started: str = ""
    finished: str = ""
    snapshot_sha256: str = ""
    validation: dict | None = None
    origin: str = "target"

    @property
    def completed(self) -> bool:
        return bool(self.finished) and bool(self.section.get("completed"))

    @property
    def snapshot(self) -> str:
        return self.section.get("snapshot") or ""

    def describe(self, language: str | None = None) -> str:
        """'migration <id> (started …, finished …), snapshot <path> (sha256 <12>…), …'."""
        say = {k: t(v, language) for k, v in TEXT.items() if "{" not in v["en"]}
        when = t(TEXT["started"], language, at=self.started) + (
            t(TEXT["finished"], language, at=self.finished) if self.finished
            else say["unfinished"])
        sha = f" (sha256 {self.snapshot_sha256[:12]}…)" if self.snapshot_sha256 else ""
        return t(TEXT["describe"], language, run=self.run_id, when=when, snapshot=self.snapshot,
                 sha=sha, where=say["target" if self.origin == "target" else "manifest"])

    def as_dict(self) -> dict:
        return {"run_id": self.run_id, "started": self.started, "finished": self.finished,
                "snapshot": self.snapshot, "snapshot_sha256": self.snapshot_sha256,
                "completed": self.completed, "origin": self.origin}


MEMO_AGE_NS = 1_000_000_000  # a file written this recently is hashed again next time


def _identity(path: Path) -> list[int]:
    st = os.stat(path)
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _memo(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _remembered(path: Path, identity: list[int]) -> str | None:
    memo = _memo(path)
    try:
        found = None if memo.is_symlink() else json.loads(memo.read_text(encoding="utf-8"))
        if found["identity"] == identity and re.fullmatch(r"[0-9a-f]{64}", found["sha256"]):
            return found["sha256"]
    except (OSError, ValueError, TypeError, KeyError):
        pass
    return None


def sha256(path: str | Path) -> str:
    """A file's SHA-256 (hex): a record names its snapshot by it.

    Remembered beside the file (`<name>.sha256`, private) with the file's identity: device,
    inode, size, mtime and ctime in ns. While that identity holds, the file is not read again:
    writing to it or replacing it changes its ctime or its inode, and no program can set a
    ctime back. A file changed less than a second before it was read (the clock that stamps
    files is coarse) is not remembered."""
    path = Path(path)
    identity = _identity(path)
    known = _remembered(path, identity)
    if known:
        return known
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    if _identity(path) == identity and time.time_ns() - identity[3] > MEMO_AGE_NS:
        with contextlib.suppress(OSError, RunbookError):
            files.write_private(_memo(path), json.dumps({"identity": identity,
                                                         "sha256": digest}))
    return digest


def _ensure(cur) -> None:
    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {STATE}")
    cur.execute(_RUNS)
    for column in _COLUMNS:  # records of older runbooks had none of these
        cur.execute(f"ALTER TABLE {STATE}.runs ADD COLUMN IF NOT EXISTS {column}")
    cur.execute(_QUARANTINE)


def _exists(cur, table: str = "runs") -> bool:
    cur.execute("SELECT to_regclass(%s)", (f"{STATE}.{table}",))
    return cur.fetchone()[0] is not None


def unfinished(conn) -> list[tuple[str, list[str]]]:
    """(run id, tables) of the migrations that started and never finished."""
    with conn.cursor() as cur:
        if not _exists(cur):
            return []
        cur.execute(f"SELECT run_id, tables FROM {STATE}.runs WHERE finished_at IS NULL "
                    "ORDER BY started_at")
        return [(r[0], list(r[1])) for r in cur.fetchall()]


def start(conn, run_id: str, tables: list[str], section: dict | None = None) -> None:
    """Forget unfinished runs (they are being redone) and record this one as started."""
    with conn.cursor() as cur:
        _ensure(cur)
        cur.execute(f"DELETE FROM {STATE}.runs WHERE finished_at IS NULL OR run_id = %s",
                    (run_id,))
        cur.execute(f"INSERT INTO {STATE}.runs (run_id, tables, record) VALUES (%s, %s, %s)",
                    (run_id, tables, _json(section or {})))


def _json(value: dict) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def quarantine_files(section: dict) -> dict[str, Path]:
    """table → the CSV file stage 03 wrote its quarantined rows to (the manifest's
    `quarantine_file`, which must stay inside the quarantine folder)."""
    folder = section.get("quarantine_dir") or ""
    return {t["table"]: files.inside(folder, t["quarantine_file"])
            for t in section.get("tables") or []
            if t.get("quarantined") and t.get("quarantine_file") and folder}


def finish(conn, run_id: str, section: dict, sha256: str = "") -> None:
    """Complete the record in one transaction: the section, the snapshot's checksum and the
    quarantined rows (only the latest migration's are kept: the older ones' tables are gone)."""
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        _ensure(cur)
        _store_quarantine(cur, run_id, section)
        cur.execute(f"UPDATE {STATE}.runs SET finished_at = now(), record = %s, "
                    "snapshot_sha256 = %s WHERE run_id = %s", (_json(section), sha256, run_id))
        cur.execute("COMMIT")


def _store_quarantine(cur, run_id: str, section: dict) -> None:
    cur.execute(f"DELETE FROM {STATE}.quarantine")
    for table, file in quarantine_files(section).items():
        if not file.is_file() or file.is_symlink():
            continue
        with files.open_nofollow(file, "rb") as fh:
            for part, data in enumerate(iter(lambda fh=fh: fh.read(CHUNK), b"")):
                cur.execute(f"INSERT INTO {STATE}.quarantine VALUES (%s, %s, %s, %s)",
                            (run_id, table, part, psycopg2.Binary(data)))


def resnapshot(cur, run_id: str, section: dict, sha256: str) -> None:
    """A catch-up sync brought the target to a newer snapshot: the record now names it (its
    path, checksum, counts and quarantined rows), in the sync's own transaction (`cur`); the
    last stage 04 verdict, about the older snapshot, is dropped."""
    _ensure(cur)
    _store_quarantine(cur, run_id, section)
    cur.execute(f"UPDATE {STATE}.runs SET record = %s, snapshot_sha256 = %s, validation = NULL "
                "WHERE run_id = %s", (_json(section), sha256, run_id))


def _stamp(moment: datetime | None) -> str:
    return moment.astimezone().isoformat(timespec="seconds") if moment else ""


def latest(conn) -> Record | None:
    """The migration the target holds now: the last one started (finished or not)."""
    with conn.cursor() as cur:
        if not _exists(cur):
            return None
        cur.execute("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) "
                    "AND attnum > 0 AND NOT attisdropped", (f"{STATE}.runs",))
        have = {r[0] for r in cur.fetchall()}
        extra = [c.split()[0] if c.split()[0] in have else f"NULL AS {c.split()[0]}"
                 for c in _COLUMNS]
        cur.execute(f"SELECT run_id, started_at, finished_at, {', '.join(extra)} "
                    f"FROM {STATE}.runs ORDER BY started_at DESC LIMIT 1")
        row = cur.fetchone()
    if row is None:
        return None
    run_id, started, finished, record, sha, validation = row
    section = record or {"completed": finished is not None}
    return Record(run_id, section, _stamp(started), _stamp(finished), sha or "", validation)


def quarantine_rows(conn, run_id: str, table: str) -> list[list[str]] | None:
    """The quarantined rows of `table` as CSV rows (header first), or None if not stored."""
    with conn.cursor() as cur:
        if not _exists(cur, "quarantine"):
            return None
        cur.execute(f"SELECT data FROM {STATE}.quarantine WHERE run_id = %s AND "
                    "table_name = %s ORDER BY part", (run_id, table))
        parts = [bytes(r[0]) for r in cur.fetchall()]
    if not parts:
        return None
    return files.csv_rows(io.StringIO(b"".join(parts).decode("utf-8"), newline=""))


def record_validation(settings, run_id: str, verdict: dict) -> bool:
    """Add stage 04's verdict to the record (False when the role may not write there)."""
    try:
        with db.connection(settings) as conn, conn.cursor() as cur:
            if not _exists(cur):
                return False
            cur.execute(f"UPDATE {STATE}.runs SET validation = %s WHERE run_id = %s",
                        (_json(verdict), run_id))
            return cur.rowcount == 1
    except (psycopg2.Error, ConnectError):
        return False


def from_manifest(run_dir: str | Path) -> Record | None:
    """The copy in a run folder (a migration recorded before the target kept records)."""
    section = manifest.read(run_dir).get("migration")
    if not section:
        return None
    return Record(section.get("run_id") or "", section, section.get("started") or "",
                  section.get("finished") or ("-" if section.get("completed") else ""),
                  section.get("snapshot_sha256") or "", origin="manifest")


def current(settings) -> Record | None:
    """The migration the target holds (its record copied into this run's manifest), else the
    run folder's own record; None when no migration was recorded anywhere."""
    try:
        with db.connection(settings) as conn:
            conn.set_session(readonly=True)
            found = latest(conn)
    except (ConnectError, psycopg2.Error):
        found = None  # the stage's own connection will say why
    if found is None:
        return from_manifest(settings.run_dir)
    copy = {**found.section, "run_id": found.run_id, "started": found.started,
            "finished": found.finished, "snapshot_sha256": found.snapshot_sha256}
    if manifest.read(settings.run_dir).get("migration") != copy:
        manifest.update(settings.run_dir, "migration", copy)
    return found


__all__ = ["STATE", "Record", "unfinished", "start", "finish", "latest", "quarantine_files",
           "quarantine_rows", "record_validation", "from_manifest", "current", "sha256",
           "resnapshot"]
