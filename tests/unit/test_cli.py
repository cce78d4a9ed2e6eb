"""The `runbook` command: every subcommand documented, errors as one message with the fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runbook_lib.app import cli
from runbook_lib.core import server

ROOT = Path(__file__).resolve().parents[2]


def runbook(*args: str, env: dict | None = None, cwd: Path = ROOT, timeout: float = 120):
    return subprocess.run([sys.executable, "-m", "runbook_lib.app.cli", *args], cwd=cwd,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)


def test_help_lists_every_command():
    done = runbook("--help")
    assert done.returncode == 0
    for name in cli.COMMANDS:
        assert name in done.stdout


def test_every_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for name in cli.COMMANDS:
        assert f"runbook {name}" in readme, name


def test_run_requires_params():
    done = runbook("run")
    assert done.returncode == 2 and "--params" in done.stderr


def test_runbook_error_is_one_message_with_fix_exit_2():
    done = runbook("run", "--params", "parameters/does-not-exist.yaml")
    assert done.returncode == 2
    assert done.stderr.startswith("error: Parameters file") and "\nFix: " in done.stderr
    assert "Traceback" not in done.stderr


def test_errors_speak_the_language_the_command_asks_for(capsys):
    assert cli.main(["run", "--params", "parameters/nope.yaml", "-p", "language=ko"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("오류: ") and "\n해결 방법: " in err and "Fix:" not in err


def test_main_returns_2_on_runbook_errors(capsys):
    assert cli.main(["run", "--params", "parameters/nope.yaml", "-p", "db_port=1"]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.fixture
def home(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "parameters").mkdir()
    port = server.free_port()
    (tmp_path / "parameters" / "t.yaml").write_text(f"target: embedded\ndb_port: {port}\n")
    env = {"RUNBOOK_HOME": str(tmp_path), "PGADMIN_PASSWORD": "cli-admin-pw",
           "DB_PASSWORD": "cli-app-pw"}
    yield tmp_path, port, env
    server.EmbeddedServer(tmp_path / ".runbook" / "pg").destroy()


def test_server_start_status_stop(home):
    path, port, env = home
    down = runbook("server", "status", "--params", "parameters/t.yaml", env=env, cwd=path)
    assert down.returncode == 0 and "running:   no" in down.stdout
    up = runbook("server", "start", "--params", "parameters/t.yaml", env=env, cwd=path)
    assert up.returncode == 0, up.stderr
    for word in ("running:   yes", f"port:      {port}", "version:   PostgreSQL 18",
                 str(path / ".runbook" / "pg"), "spc_user:********@localhost"):
        assert word in up.stdout, up.stdout
    assert "cli-admin-pw" not in up.stdout + up.stderr
    stop = runbook("server", "stop", "--params", "parameters/t.yaml", env=env, cwd=path)
    assert stop.returncode == 0 and "running:   no" in stop.stdout
