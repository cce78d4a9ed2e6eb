"""One run folder, one run: the lock, the kernels' private runtime folder, partial files.

`lock(folder)` holds an exclusive `flock` on `<run folder>/.run.lock` for the whole run; a
second `runbook run` on the same folder stops at once, naming the first (pid, user, host,
start, command). The kernel dies with its holder, so a killed run leaves no stale lock.

`kernel_runtime()` is a fresh private folder (mkdtemp, 0700) for the kernels' connection
files and IPC sockets, removed when the run ends: never `notebooks/`, where two runs from
one checkout used to share `kernel-ipc-N` sockets and cross-connect their kernels.

`remove_partial(folder, before)` clears what a stage that ran out of disk was writing
(`before`: the folder's `inventory` when the stage started; the source is never touched).
"""

from __future__ import annotations

import contextlib
import getpass
import itertools
import json
import os
import shutil
import socket
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ..core import files
from ..core.errors import RunbookError
from ..core.i18n import fill
from ..core.secrets import scrub

LOCK_NAME = ".run.lock"
KEPT = {LOCK_NAME, "manifest.json", "summary.json"}  # the run's state, written atomically


class RunFolderBusy(RunbookError):
    """Another `runbook run` is using this run folder."""


ERRORS = {
    "busy": {"en": "The run folder {folder} is in use by another runbook run: {who}. Two runs "
                   "in one folder would overwrite each other's snapshot, manifest and notebooks.",
             "ko": "실행 폴더 {folder}을(를) 다른 runbook 실행이 쓰고 있습니다: {who}. 한 폴더에서 "
                   "두 실행이 돌면 서로의 스냅샷, 매니페스트, 노트북을 덮어씁니다."},
    "busy_fix": {"en": "Wait for that run to finish, or stop it (kill {pid}); or give this run "
                       "its own folder (leave out --run-dir, or --run-dir runs/<new name>).",
                 "ko": "그 실행이 끝날 때까지 기다리거나 멈추세요(kill {pid}). 또는 이 실행에 다른 "
                       "폴더를 주세요(--run-dir을 빼거나 --run-dir runs/<새 이름>)."},
    "holder": {"en": "pid {pid} (user {user} on {host}, started {started}: {command})",
               "ko": "pid {pid} (사용자 {user}, 호스트 {host}, 시작 {started}: {command})"},
    "someone": {"en": "another process", "ko": "다른 프로세스"},
}


def _holder(fd: int) -> dict:
    try:
        return json.loads(os.pread(fd, 4096, 0).decode("utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def _busy(folder: Path, holder: dict) -> RunFolderBusy:
    who = fill(ERRORS["holder"], **{key: scrub(str(holder.get(key, "?"))) for key in
                                    ("pid", "user", "host", "started", "command")}
               ) if holder else ERRORS["someone"]
    return RunFolderBusy(ERRORS["busy"], ERRORS["busy_fix"], folder=str(folder), who=who,
                         pid=str(holder.get("pid", "PID")))


@contextlib.contextmanager
def lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold the run folder's lock for the duration of the block (or raise RunFolderBusy)."""
    import fcntl

    path = Path(folder) / LOCK_NAME
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, files.FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(Path(folder), _holder(fd)) from None
        me = {"pid": os.getpid(), "user": getpass.getuser(), "host": socket.gethostname(),
              "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "command": " ".join(["runbook", *sys.argv[1:]])[:500]}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock


RUNTIME_PREFIX = "runbook-kernels-"


@contextlib.contextmanager
def kernel_runtime() -> Iterator[Path]:
    """A private folder (0700, unpredictable name) for this run's kernel files; removed after.
    Folders left by killed runs of this user are removed first."""
    remove_stale_runtimes()
    folder = Path(tempfile.mkdtemp(prefix=RUNTIME_PREFIX))
    (folder / "runner.pid").write_text(str(os.getpid()))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_stale_runtimes() -> list[Path]:
    """Runtime folders of this user whose runner is gone (killed runs): removed."""
    import psutil

    removed = []
    for folder in Path(tempfile.gettempdir()).glob(RUNTIME_PREFIX + "*"):
        try:
            info = folder.lstat()
            pid = int((folder / "runner.pid").read_text())
        except (OSError, ValueError):
            continue
        if (stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
                and not psutil.pid_exists(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def kernel_manager(runtime: Path):
    """A kernel manager class whose kernels talk over unix sockets (IPC, not loopback TCP:
    other local users cannot connect to a kernel holding the passwords) kept in `runtime`."""
    from jupyter_client.manager import AsyncKernelManager

    numbers = itertools.count(1)

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs) -> None:
            n = next(numbers)
            kwargs.setdefault("connection_file", str(runtime / f"kernel-{n}.json"))
            kwargs.setdefault("ip", str(runtime / f"k{n}"))  # sockets k<n>-1 … k<n>-5
            super().__init__(transport="ipc", **kwargs)

    return IPCKernelManager


def inventory(folder: str | os.PathLike) -> set[tuple[str, int]]:
    """(path, inode) of every file in the run folder: what existed before a stage."""
    out = set()
    for path in Path(folder).rglob("*"):
        with contextlib.suppress(OSError):
            out.add((str(path), path.lstat().st_ino))
    return out


def remove_partial(folder: str | os.PathLike, before: set[tuple[str, int]],
                   protect: list[str | os.PathLike] = ()) -> list[str]:
    """Remove the files a failed stage created in the run folder (a stage that ran out of
    disk leaves half-written snapshots and dumps). Files that existed before the stage, the
    run's state files, a notebook written whole and anything in `protect` (the source
    database and its journals) are kept."""
    base = Path(folder)
    kept = {str(Path(p).resolve()) for p in protect}
    kept |= {k + suffix for k in list(kept) for suffix in ("-wal", "-shm", "-journal")}
    removed = []
    for path in sorted(base.rglob("*"), reverse=True):
        try:
            info = path.lstat()
        except OSError:
            continue
        if (str(path), info.st_ino) in before or str(path.resolve()) in kept:
            continue
        if path.name in KEPT and path.parent == base:
            continue
        if stat.S_ISDIR(info.st_mode):
            with contextlib.suppress(OSError):
                path.rmdir()  # only once empty
            continue
        if not _complete_notebook(path):
            path.unlink(missing_ok=True)
            removed.append(str(path.relative_to(base)))
    return sorted(removed)


def _complete_notebook(path: Path) -> bool:
    """An executed notebook that was written whole: the record of the failure, kept."""
    if path.suffix != ".ipynb" or path.is_symlink():
        return False
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True


__all__ = ["LOCK_NAME", "RunFolderBusy", "lock", "kernel_runtime", "remove_stale_runtimes",
           "kernel_manager", "inventory", "remove_partial"]
