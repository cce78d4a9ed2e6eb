"""The cutover procedure around the catch-up sync, and the write-downtime window it measures.

Sync while the application runs (`catch_up`, as often as needed until a sync is small) → stop
writes (`stop_writes`: the clock starts; in training it stops the drill's writer) → final sync
and its proof → switch the settings → start the application on PostgreSQL (`app_up`: the clock
stops). The window is kept in the manifest's `cutover.window`, so every cell can be re-run.

The training drill (`start_writer`): a writer process plays the SPC application, adding and
correcting quality measurements in the SQLite file while the first sync runs. It runs only
in a training setup (`run_drills: true`, the embedded server, the sample SPC schema), never on
a user's own database.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core import manifest
from ..core.display import Notes, Pairs
from ..core.i18n import t

__all__ = ["Writer", "start_writer", "catch_up", "stop_writes", "app_up", "TEXT", "WRITER"]

TEXT = {
    "no_drill": {"en": "No drill writer: your own application is the writer (the drill runs "
                       "only with run_drills: true on the embedded server and the sample SPC "
                       "database).",
                 "ko": "훈련용 쓰기 프로세스 없음: 여러분의 애플리케이션이 쓰기를 합니다 (훈련은 "
                       "run_drills: true, 내장 서버, 샘플 SPC 데이터베이스에서만 실행됩니다)."},
    "writer": {"en": "The drill's writer (process {pid}) adds and corrects SPC measurements in "
                     "{path} while the sync runs.",
               "ko": "훈련용 쓰기 프로세스({pid})가 동기화하는 동안 {path}에 SPC 측정값을 추가하고 "
                     "고칩니다."},
    "skipped": {"en": "No sync: {why}", "ko": "동기화 안 함: {why}"},
    "stopped": {"en": "writes stopped at {at}", "ko": "쓰기 중지 시각 {at}"},
    "written": {"en": "the drill's writer wrote {n} transaction(s) before it was stopped",
                "ko": "훈련용 쓰기 프로세스가 멈추기 전에 트랜잭션 {n}개를 썼습니다"},
    "no_window": {"en": "The downtime clock was not started: run the \"Stop writes\" cell first.",
                  "ko": "다운타임 시계가 시작되지 않았습니다: 먼저 \"쓰기 중지\" 셀을 실행하세요."},
    "downtime": {"en": "write downtime", "ko": "쓰기 중단 시간"},
    "from": {"en": "writes stopped", "ko": "쓰기 중지"},
    "to": {"en": "application up on PostgreSQL", "ko": "PostgreSQL로 애플리케이션 가동"},
    "final": {"en": "final sync (with its proof)", "ko": "마지막 동기화 (증명 포함)"},
    "seconds": {"en": "{s:.1f} s", "ko": "{s:.1f}초"},
}

# The drill's writer: the SPC application adding a measurement and correcting an older one,
# one transaction at a time, until it is stopped (SIGTERM); it then prints how many it wrote.
WRITER = """
import signal, sqlite3, sys, time
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
conn = sqlite3.connect(sys.argv[1], timeout=30)
n = 0
while not stop:
    with conn:
        conn.execute("INSERT INTO spc_qualitymeasurement (sample_group, value, measured_at, "
                     "operator, note, is_out_of_spec, extra, product_id) SELECT sample_group + 1, "
                     "value + 0.001, strftime('%Y-%m-%d %H:%M:%f', 'now'), 'drill', "
                     "'drill writer', is_out_of_spec, extra, product_id FROM "
                     "spc_qualitymeasurement ORDER BY id DESC LIMIT 1")
        conn.execute("UPDATE spc_qualitymeasurement SET value = value + 0.0001, note = 'corrected' "
                     "WHERE id = (SELECT max(id) - 17 FROM spc_qualitymeasurement)")
    n += 1
    time.sleep(0.02)
print(n, flush=True)
"""


@dataclass
class Writer:
    """The drill's writer process (or none: `process` is None)."""

    path: str = ""
    process: subprocess.Popen | None = None
    written: int = 0
    notes: list = field(default_factory=list)

    def stop(self) -> int:
        """Stop it (SIGTERM, it finishes its transaction); the transactions it wrote."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            out, _ = self.process.communicate(timeout=60)
            self.written = int(out.split()[-1]) if out.split() else 0
        return self.written

    def _repr_html_(self) -> str:
        return Notes(self.notes)._repr_html_()


def _drill_allowed(settings) -> bool:
    if not (settings.run_drills and settings.target == "embedded"):
        return False
    try:
        conn = sqlite3.connect(f"file:{Path(settings.sqlite_file)}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT count(*) FROM sqlite_master WHERE name = "
                                "'spc_qualitymeasurement'").fetchone()[0] == 1
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def start_writer(settings) -> Writer:
    """Start the drill's writer on the sample SQLite file (training only; else none)."""
    lang = settings.language
    if not _drill_allowed(settings):
        return Writer(notes=[t(TEXT["no_drill"], lang)])
    path = str(settings.sqlite_file)
    process = subprocess.Popen([sys.executable, "-c", WRITER, path], stdout=subprocess.PIPE,
                               text=True, start_new_session=True)
    time.sleep(0.3)  # a few measurements are written before the first sync starts
    return Writer(path, process, notes=[t(TEXT["writer"], lang, pid=process.pid, path=path)])


def catch_up(settings, overwrite: bool = False):
    """A catch-up sync (`sync.sync`); a note instead when this run migrated nothing."""
    from .sync import TEXT as SYNC
    from .sync import sync

    section = manifest.read(settings.run_dir).get("migration") or {}
    if not section.get("completed"):
        why = t(SYNC["no_migration"], settings.language, run_dir=settings.run_dir)
        return Notes([t(TEXT["skipped"], settings.language, why=why)])
    return sync(settings, overwrite)


def stop_writes(settings, writer: Writer | None = None) -> Pairs:
    """Start the downtime clock (the application's writes are stopped now); in training, stop
    the drill's writer."""
    lang = settings.language
    now = time.time()
    window = {"stopped_at": now, "stopped": time.strftime("%Y-%m-%d %H:%M:%S",
                                                          time.localtime(now))}
    notes = [t(TEXT["stopped"], lang, at=window["stopped"])]
    if writer is not None and writer.process is not None:
        window["drill_transactions"] = writer.stop()
        notes.append(t(TEXT["written"], lang, n=window["drill_transactions"]))
    section = manifest.read(settings.run_dir).get("cutover", {})
    manifest.update(settings.run_dir, "cutover", {**section, "window": window})
    return Notes(notes)


def app_up(settings, final=None) -> Pairs:
    """Stop the clock: the application answers on PostgreSQL. The window, and the final sync's
    share of it."""
    lang = settings.language
    section = manifest.read(settings.run_dir).get("cutover", {})
    window = dict(section.get("window") or {})
    if not window.get("stopped_at"):
        return Notes([t(TEXT["no_window"], lang)])
    now = time.time()
    window.update(up_at=now, downtime_s=round(now - window["stopped_at"], 2))
    if final is not None and hasattr(final, "seconds"):
        window["final_sync_s"] = round(final.seconds, 2)
    manifest.update(settings.run_dir, "cutover", {**section, "window": window})
    rows = {t(TEXT["from"], lang): window["stopped"],
            t(TEXT["to"], lang): time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))}
    if "final_sync_s" in window:
        rows[t(TEXT["final"], lang)] = t(TEXT["seconds"], lang, s=window["final_sync_s"])
    rows[t(TEXT["downtime"], lang)] = t(TEXT["seconds"], lang, s=window["downtime_s"])
    return Pairs(rows)
