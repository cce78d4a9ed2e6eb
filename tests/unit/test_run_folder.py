"""The run folder's lock, the kernels' runtime folder, privacy of new folders, partial files
(issue 13 classes 4, 9, 10; issue 16 point 8). The end-to-end side is tests/e2e/test_run_safety.
"""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from runbook_lib.app import run_folder, runner
from runbook_lib.core import files, paths

HOLD = """
import sys, time
from runbook_lib.app import run_folder
with run_folder.lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(600)
"""


def holder(folder: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_run_on_a_locked_folder_stops_naming_the_first(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNBOOK_HOME", str(Path(__file__).resolve().parents[2]))
    proc = holder(tmp_path)
    try:
        with pytest.raises(run_folder.RunFolderBusy) as err:
            runner.run("parameters/training.yaml", only="00", run_dir=str(tmp_path))
        assert f"pid {proc.pid}" in err.value.message and "in use" in err.value.message
        assert f"kill {proc.pid}" in err.value.hint and "--run-dir" in err.value.hint
        assert not (tmp_path / "summary.json").exists()  # nothing of the first was touched
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with run_folder.lock(tmp_path):  # a killed holder leaves no stale lock
        pass


def test_lock_file_is_private_and_never_followed(tmp_path):
    with run_folder.lock(tmp_path) as lock:
        assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    (tmp_path / "other").mkdir()
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "other" / run_folder.LOCK_NAME).symlink_to(victim)
    with pytest.raises(OSError) as err, run_folder.lock(tmp_path / "other"):
        pass
    assert err.value.errno == errno.ELOOP and victim.read_text() == "keep"


def test_kernel_runtime_is_private_per_run_and_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / (run_folder.RUNTIME_PREFIX + "old")
    stale.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (stale / "runner.pid").write_text(dead)
    with run_folder.kernel_runtime() as one, run_folder.kernel_runtime() as two:
        assert one != two and one.parent == tmp_path and not stale.exists()
        assert stat.S_IMODE(one.stat().st_mode) == 0o700
        manager = run_folder.kernel_manager(one)()
        assert manager.transport == "ipc"
        assert Path(manager.connection_file).parent == one and manager.ip.startswith(str(one))
    assert not one.exists() and not two.exists()


def test_each_kernel_of_a_run_gets_its_own_files(tmp_path):
    cls = run_folder.kernel_manager(tmp_path)
    first, second = cls(), cls()
    assert first.connection_file != second.connection_file and first.ip != second.ip
    assert len(f"{second.ip}-5") < 100  # unix socket paths are limited to ~107 bytes


def test_new_run_folders_are_private_and_runs_is_tightened(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path))
    (tmp_path / "runs").mkdir(mode=0o755)
    (tmp_path / "runs").chmod(0o755)
    old = os.umask(0o022)
    try:
        folder = paths.make_run_dir(tmp_path / "runs" / "r1")
        assert os.umask(0o022) == 0o077  # this process (and its kernels) now write privately
    finally:
        os.umask(old)
    for path in (tmp_path / "runs", folder):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    (tmp_path / "link").symlink_to(tmp_path / "runs")
    with pytest.raises(files.UnsafePathError, match="symbolic link"):
        paths.make_run_dir(tmp_path / "link")


def test_settings_make_the_run_folder_private(make_settings, tmp_path):
    old = os.umask(0o022)
    try:
        settings = make_settings(run_dir=str(tmp_path / "fresh" / "run"))
        assert os.umask(0o022) == 0o077
    finally:
        os.umask(old)
    assert stat.S_IMODE(Path(settings.run_dir).stat().st_mode) == 0o700


def test_partial_files_of_a_failed_stage_are_removed_never_the_source(tmp_path):
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "kept.csv").write_text("older")
    source = tmp_path / "db.sqlite3"  # a source inside the run folder, written meanwhile
    source.write_bytes(b"live")
    before = run_folder.inventory(tmp_path)
    (tmp_path / "kept.csv").write_text("rewritten in place: it existed before")
    source.write_bytes(b"live, still being written")
    Path(f"{source}-wal").write_bytes(b"wal")
    (tmp_path / "manifest.json").unlink()
    (tmp_path / "manifest.json").write_text('{"new": 1}')
    (tmp_path / "snapshot.sqlite3").write_bytes(b"half")
    (tmp_path / "03_migrate.ipynb").write_text('{"cells": []}')
    (tmp_path / "04_validate.ipynb").write_text('{"cells": [')  # cut short
    (tmp_path / "backups").mkdir()
    (tmp_path / "backups" / "db.dump").write_bytes(b"half")
    removed = run_folder.remove_partial(tmp_path, before, protect=[source])
    assert removed == ["04_validate.ipynb", "backups/db.dump", "snapshot.sqlite3"]
    assert {p.name for p in tmp_path.iterdir()} == {"manifest.json", "kept.csv",
                                                    "03_migrate.ipynb", "db.sqlite3",
                                                    "db.sqlite3-wal"}


def test_disk_full_is_recognised():
    assert files.is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert files.is_disk_full(OSError(errno.EFBIG, "File too large"))
    assert files.is_disk_full(sqlite3.OperationalError("database or disk is full"))
    assert files.is_disk_full("SourceError: No room for the snapshot: [Errno 28] No space "
                              "left on device")
    assert not files.is_disk_full(OSError(errno.EACCES, "Permission denied"))


def test_snapshot_on_a_full_disk_leaves_nothing(tmp_path):
    """A file-size limit (EFBIG) stands in for a full disk here; the end-to-end test uses a
    real small filesystem when it can mount one."""
    src = tmp_path / "src.sqlite3"
    conn = sqlite3.connect(src)
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [("x" * 1000,)] * 2000)
    conn.commit()
    conn.close()
    code = f"""
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
from runbook_lib.core.errors import SourceError
from runbook_lib.migrate import source
try:
    source.snapshot({str(src)!r}, {str(tmp_path / 'run')!r})
except SourceError as exc:
    print(exc.message)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "No room for the snapshot" in done.stdout, done.stdout + done.stderr
    assert not list((tmp_path / "run").glob("snapshot*"))
