"""A throwaway runbook workspace (notebooks, parameters, examples) with its own server port."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from workspace import copy_project

from runbook_lib.core import server

KNOWN_APP_PASSWORD = "AppPw-" + secrets.token_hex(6)
KNOWN_ADMIN_PASSWORD = "AdmPw-" + secrets.token_hex(6)


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


@pytest.fixture(scope="session")
def full_run(tmp_path_factory):
    """One complete training run with known passwords: (workspace, completed process)."""
    ws = make_workspace(tmp_path_factory.mktemp("e2e"), DB_PASSWORD=KNOWN_APP_PASSWORD,
                        PGADMIN_PASSWORD=KNOWN_ADMIN_PASSWORD)
    try:
        done = ws.run(run_dir="runs/full")
        yield ws, done
    finally:
        ws.destroy()
