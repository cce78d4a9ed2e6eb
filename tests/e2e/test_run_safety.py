"""A real run is private, alone in its folder, and survives a full disk (issue 13 classes
4, 8, 9, 10; issue 16 point 8).

- Every file with user data is 0600 in 0700 folders, and a second local user (a system user
  created here) cannot read one of them, though it can read a world-readable file beside.
- A second `runbook run` on the same run folder stops at once, naming the first.
- Kernel connection files and sockets live in a private per-run folder, removed at the end;
  two runs from one checkout at the same time both pass (they used to share
  `notebooks/kernel-ipc-N` and cross-connect).
- A source file named like markup stays text in the executed notebook's HTML.
- A full disk under the run folder: a clear diagnosis, a summary.json, no partial snapshot.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow
ROOT = os.geteuid() == 0


def private_tree(folder: Path) -> list[str]:
    """Paths under `folder` that a group or other user could read, write or enter."""
    loose = []
    for path in [folder, *folder.rglob("*")]:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode) or stat.S_ISSOCK(info.st_mode):
            continue  # a socket is reached through its folder, which is private
        if stat.S_IMODE(info.st_mode) & 0o077:
            loose.append(f"{path.relative_to(folder.parent)} {stat.S_IMODE(info.st_mode):o}")
    return loose


def test_run_folder_and_runbook_state_are_private(full_run):
    ws, done = full_run
    assert done.returncode == 0, done.stdout[-3000:]
    run = ws.path / "runs" / "full"
    kinds = {p.suffix for p in run.rglob("*") if p.is_file()}
    assert {".ipynb", ".html", ".json", ".sqlite3", ".dump"} <= kinds, kinds
    assert private_tree(ws.path / "runs") == []
    state = ws.path / ".runbook"
    mode = stat.S_IMODE(state.stat().st_mode)
    if ROOT:  # the embedded server's group may pass through, nobody else
        assert mode == 0o710 and state.stat().st_gid == pwd.getpwnam("embedded_postgres").pw_gid
    else:
        assert mode == 0o700
    inside = [p for p in state.iterdir() if p.name != "pg"]
    assert all(private_tree(p) == [] for p in inside), [private_tree(p) for p in inside]
    assert stat.S_IMODE((state / "pg").stat().st_mode) == 0o700


@contextmanager
def local_user():
    """A throwaway system user, removed afterwards."""
    name = "rbprobe" + uuid.uuid4().hex[:6]
    made = subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                           "/usr/sbin/nologin", name], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot create a system user: {made.stderr.strip()}")
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], capture_output=True)


@contextmanager
def traversable(path: Path):
    """Let others pass through the folders above `path` (as a home folder 0755 does), so
    only the runbook's own modes stand between the other user and the data."""
    changed = []
    for folder in [path, *path.parents]:
        mode = stat.S_IMODE(folder.stat().st_mode)
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)
            changed.append((folder, mode))
    try:
        yield
    finally:
        for folder, mode in changed:
            folder.chmod(mode)


def as_user(user: str, *argv: str) -> subprocess.CompletedProcess:
    done = subprocess.run(["runuser", "-u", user, "--", *argv], capture_output=True,
                          timeout=60)  # bytes: what it reads may be a SQLite file
    return subprocess.CompletedProcess(done.args, done.returncode,
                                       done.stdout.decode(errors="replace"),
                                       done.stderr.decode(errors="replace"))


@pytest.mark.skipif(not ROOT or not shutil.which("runuser"),
                    reason="simulating a second local user needs root (useradd, runuser)")
def test_a_second_local_user_cannot_read_the_data(full_run):
    ws, _ = full_run
    run = ws.path / "runs" / "full"
    data = [run / "snapshot.sqlite3", run / "manifest.json", run / "summary.json",
            run / "report.html", run / "03_migrate.ipynb", run / "03_migrate.html",
            *[p for p in [ws.path / ".runbook" / "secrets.env"] if p.exists()],
            *[p for p in run.rglob("validation*.json")], *[p for p in run.rglob("*.dump")],
            *[p for p in run.rglob("*.json") if "backups" in p.parts]]
    assert all(p.is_file() for p in data), [str(p) for p in data if not p.is_file()]
    control = ws.path / "world-readable.txt"
    control.write_text("anyone may read this\n")
    control.chmod(0o644)
    with local_user() as user, traversable(ws.path):
        seen = as_user(user, "cat", str(control))
        assert seen.returncode == 0 and "anyone" in seen.stdout, seen.stderr  # harness works
        for path in data:
            tried = as_user(user, "cat", str(path))
            assert tried.returncode != 0 and "Permission denied" in tried.stderr, path
        listing = as_user(user, "ls", str(run))
        assert listing.returncode != 0 and "Permission denied" in listing.stderr
    control.unlink()


def test_markup_in_the_source_name_stays_text_in_the_notebook_html(full_run):
    ws, _ = full_run
    done = ws.run("--only", "00", "-p", "sqlite_path=<img src=x onerror=alert(1)>.sqlite3",
                  run_dir="runs/markup")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    page = (ws.path / "runs/markup/00_start_here.html").read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    live = re.search(r"<img\b[^>]*onerror", page, re.I)  # nbconvert reorders attributes
    assert not live, page[live.start() - 200:live.end() + 100]


def lock_holder(folder: Path, timeout: float = 60) -> dict:
    lock = folder / ".run.lock"
    end = time.time() + timeout
    while time.time() < end:
        if lock.is_file() and lock.read_text().strip():
            return json.loads(lock.read_text())
        time.sleep(0.1)
    raise AssertionError("the first run never took the lock")


def kernel_files(proc: psutil.Process) -> list[Path]:
    """The connection files of the kernels this runner started (`-f FILE`)."""
    found = []
    for child in proc.children(recursive=True):
        try:
            argv = child.cmdline()
        except psutil.Error:
            continue
        if "-f" in argv and "ipykernel" in " ".join(argv):
            found.append(Path(argv[argv.index("-f") + 1]))
    return found


def test_concurrent_runs_keep_their_kernels_apart_and_one_run_per_folder(full_run):
    """Two runs from one checkout at once both pass, each with its own private kernel
    folder (removed after); a third on the first one's folder stops, naming it."""
    ws, _ = full_run
    before = set((ws.path / "notebooks").iterdir())
    argv = [sys.executable, "-m", "runbook_lib.app.cli", "run", "--params",
            "parameters/training.yaml", "-p", f"db_port={ws.port}", "--only", "00,01"]
    runs = [subprocess.Popen([*argv, "--run-dir", f"runs/side-{i}"], cwd=ws.path, env=ws.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in (1, 2)]
    holder = lock_holder(ws.path / "runs" / "side-1")
    assert holder["pid"] == runs[0].pid and holder["command"].startswith("runbook run")
    third = ws.run("--only", "00", run_dir="runs/side-1")
    assert third.returncode == 2
    assert "in use by another runbook run" in third.stderr
    assert f"pid {runs[0].pid}" in third.stderr and "--run-dir" in third.stderr
    seen: dict[int, set[Path]] = {0: set(), 1: set()}
    while any(r.poll() is None for r in runs):
        for i, r in enumerate(runs):
            try:
                seen[i] |= set(kernel_files(psutil.Process(r.pid)))
            except psutil.Error:
                pass
        for files in seen.values():
            for f in files:
                if f.parent.exists():  # 0700 (jupyter may add the sticky bit)
                    assert stat.S_IMODE(f.parent.stat().st_mode) & 0o777 == 0o700
        time.sleep(0.2)
    outputs = [r.communicate() for r in runs]
    for r, (out, err) in zip(runs, outputs, strict=True):
        assert r.returncode == 0, out[-2000:] + err[-2000:]
    assert seen[0] and seen[1], seen
    folders = [{f.parent for f in seen[i]} for i in (0, 1)]
    assert len(folders[0]) == 1 and len(folders[1]) == 1 and folders[0] != folders[1]
    for group in folders:
        folder = next(iter(group))
        assert not folder.exists()  # removed at the end of the run
        assert ws.path not in folder.parents
    assert set((ws.path / "notebooks").iterdir()) == before  # no kernel-ipc-N left there
    again = ws.run("--only", "00", run_dir="runs/side-1")  # the lock went with its run
    assert again.returncode == 0, again.stdout[-2000:]


def small_disk(tmp_path_factory) -> tuple[Path, str]:
    """A 640 KiB filesystem (tmpfs, as root); else a file-size limit (EFBIG), said so."""
    mount = tmp_path_factory.mktemp("full")
    if ROOT and shutil.which("mount"):
        made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=640k,mode=0700", "tmpfs",
                               str(mount)], capture_output=True, text=True)
        if made.returncode == 0:
            return mount, "tmpfs"
    return mount, "rlimit"


def test_full_disk_gives_a_diagnosis_a_summary_and_no_partial_files(full_run,
                                                                     tmp_path_factory):
    ws, _ = full_run
    sample = ws.path / "examples/spc_backend/db.sqlite3"
    assert sample.stat().st_size > 1024 * 1024  # the snapshot cannot fit in 640 KiB
    folder, how = small_disk(tmp_path_factory)

    def limit() -> None:  # the fallback: writes past 640 KiB fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (640 * 1024, 640 * 1024))

    try:
        done = subprocess.run(
            [sys.executable, "-m", "runbook_lib.app.cli", "run", "--params",
             "parameters/training.yaml", "-p", f"db_port={ws.port}", "--only", "03",
             "--run-dir", str(folder)], cwd=ws.path, env=ws.env, capture_output=True,
            text=True, timeout=900, preexec_fn=limit if how == "rlimit" else None)
        assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
        assert "Traceback" not in done.stdout + done.stderr
        assert "Diagnosis [DX029]" in done.stdout and "Free space on the disk" in done.stdout
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["status"] == "failed"
        assert summary["stages"][0]["diagnosis"]["problem"] == "DX029"
        assert not (folder / "snapshot.sqlite3").exists()
        assert not list(folder.glob("snapshot*")), how
    finally:
        if how == "tmpfs":
            subprocess.run(["umount", str(folder)], capture_output=True)
