"""A throwaway copy of the project's runnable parts for tests that run whole stages.

`make_workspace(base)` gives a `Workspace` whose `run(...)` calls `runbook run` inside it on
its own embedded server port.

Notebooks, profiles and the sample Django project, without any SQLite data, `.env` or
caches, so every run builds the sample itself, as on a fresh clone.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from runbook_lib.core import server

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("notebooks", "parameters", "examples")


def _ignore(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if ".sqlite3" in n or n in ("__pycache__", ".env")}


def copy_project(dest: Path) -> Path:
    """Copy PARTS of the checkout into `dest` (created if needed); return `dest`."""
    for part in PARTS:
        shutil.copytree(ROOT / part, dest / part, ignore=_ignore)
    return dest


@dataclass
class Workspace:
    """A copy of the project's runnable parts; `run(...)` calls `runbook run` inside it."""

    path: Path
    port: int
    env: dict

    def runbook(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "runbook_lib.app.cli", *args], cwd=self.path,
                              env=self.env, capture_output=True, text=True, timeout=timeout)

    def run(self, *args: str, run_dir: str | None = None, **kw) -> subprocess.CompletedProcess:
        extra = ["--run-dir", run_dir] if run_dir else []
        return self.runbook("run", "--params", "parameters/training.yaml",
                            "-p", f"db_port={self.port}", *extra, *args, **kw)

    def destroy(self) -> None:
        server.EmbeddedServer(self.path / ".runbook" / "pg").destroy()


def make_workspace(base: Path, **env: str) -> Workspace:
    copy_project(base)
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("DB_", "PGADMIN", "RUNBOOK_", "PG"))}
    environ.update(RUNBOOK_HOME=str(base), XDG_RUNTIME_DIR=os.environ.get("XDG_RUNTIME_DIR",
                                                                          "/tmp"), **env)
    return Workspace(base, server.free_port(), environ)


def end_session(proc: subprocess.Popen, first: int | None = signal.SIGTERM,
                grace: float = 20) -> None:
    """Stop a process started with `start_new_session=True` and all of its session: send
    `first` to the group (None: it was killed already; its children end by themselves), wait
    up to `grace` seconds, then SIGKILL whatever is left."""
    if first is not None and proc.poll() is None:
        os.killpg(proc.pid, first)
    deadline = time.time() + grace
    while time.time() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
