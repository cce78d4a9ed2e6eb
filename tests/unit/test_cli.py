"""The `runbook` command: every subcommand documented, errors as one message with the fix."""

from __future__ import annotations

import os
import socket
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


def test_server_port_is_chosen_once_and_remembered(tmp_path):
    """`runbook server start --port N` remembers N: a later start, status, run or notebook
    without db_port finds the server there; each hint, applied, works."""
    from runbook_lib.core import port_memory

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "parameters").mkdir()
    (tmp_path / "parameters" / "t.yaml").write_text("target: embedded\n")  # no db_port
    env = {"RUNBOOK_HOME": str(tmp_path), "PGADMIN_PASSWORD": "cli-admin-pw",
           "DB_PASSWORD": "cli-app-pw", "DB_PORT": ""}
    first, second = server.free_port(), server.free_port()
    taken = socket.socket()
    taken.bind(("127.0.0.1", first))
    taken.listen()
    try:
        refused = runbook("server", "start", "--params", "parameters/t.yaml", "--port",
                          str(first), env=env, cwd=tmp_path)
        assert refused.returncode == 2 and "already taken" in refused.stderr
        hint = refused.stderr.split("Fix: ", 1)[1]
        suggested = int(hint.split("runbook server start --port ", 1)[1].split("`")[0])
        up = runbook("server", "start", "--params", "parameters/t.yaml", "--port",
                     str(suggested), env=env, cwd=tmp_path)  # the hint, applied
        assert up.returncode == 0, up.stderr
        assert port_memory.read(tmp_path / ".runbook") == suggested
        again = runbook("server", "status", "--params", "parameters/t.yaml", env=env,
                        cwd=tmp_path)
        assert f"port:      {suggested}" in again.stdout and "running:   yes" in again.stdout
        other = runbook("server", "start", "--params", "parameters/t.yaml", "-p",
                        f"db_port={second}", env=env, cwd=tmp_path)
        assert other.returncode == 2 and f"already runs on port {suggested}" in other.stderr
        assert "runbook server stop" in other.stderr and f"--port {second}" in other.stderr
        stop = runbook("server", "stop", "--params", "parameters/t.yaml", env=env, cwd=tmp_path)
        assert stop.returncode == 0
        moved = runbook("server", "start", "--params", "parameters/t.yaml", "--port",
                        str(second), env=env, cwd=tmp_path)
        assert moved.returncode == 0 and f"port:      {second}" in moved.stdout
        assert port_memory.read(tmp_path / ".runbook") == second
    finally:
        taken.close()
        server.EmbeddedServer(tmp_path / ".runbook" / "pg").destroy()


def test_settings_read_the_remembered_port(tmp_path, monkeypatch):
    from runbook_lib.core import port_memory
    from runbook_lib.core.config import EMBEDDED_PORT, load_settings

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "parameters").mkdir()
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path))
    monkeypatch.delenv("DB_PORT", raising=False)
    assert load_settings(target="embedded").db_port == EMBEDDED_PORT  # never started yet
    port_memory.write(36999)
    assert load_settings(target="embedded").db_port == 36999  # a plain run
    assert load_settings({"db_port": 0, "target": "embedded"}).db_port == 36999  # a notebook
    assert load_settings(target="embedded", db_port=40001).db_port == 40001  # explicit wins
    assert load_settings(target="server").db_port == 5432  # another server: not this one
    monkeypatch.setenv("DB_PORT", "6000")
    assert load_settings(target="embedded").db_port == 36999  # where the server is
    (tmp_path / ".runbook" / "server.json").write_text("{not json")
    assert load_settings(target="embedded").db_port == 6000
    training = (ROOT / "parameters" / "training.yaml").read_text()
    assert "db_port: 0 " in training  # the training profile does not pin the port


def test_make_lab_passes_lab_args_and_allows_root():
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    done = subprocess.run(["make", "--no-print-directory", "-n", "lab",
                           "LAB_ARGS=--no-browser --port 8899"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    command = next(line for line in done.stdout.splitlines() if "jupyter lab" in line)
    assert command.endswith("--no-browser --port 8899") and "jupyter lab notebooks/" in command
    assert ("--allow-root" in command) == (os.geteuid() == 0)


def test_make_lab_starts_with_lab_args(tmp_path):
    """`make lab` really starts (as root too) with a port, a token and --no-browser."""
    import secrets
    import time
    import urllib.request

    from workspace import end_session

    if not (ROOT / ".venv" / ".installed").is_file():
        pytest.skip("make lab runs the project's .venv, which `make test` builds")
    port, token = server.free_port(), secrets.token_hex(8)
    args = f"--no-browser --port {port} --IdentityProvider.token={token} --ServerApp.ip=127.0.0.1"
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    env.update(JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    proc = subprocess.Popen(["make", "lab", f"LAB_ARGS={args}"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        deadline, answer = time.time() + 90, None
        while time.time() < deadline and proc.poll() is None and answer is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}",
                                            timeout=2) as response:
                    answer = response.status
            except OSError:
                time.sleep(0.5)
        assert answer == 200, proc.stdout.read() if proc.poll() is not None else "no answer"
    finally:
        end_session(proc)


def test_a_subcommand_imports_only_its_own_module():
    """`runbook run` does not pay for importing the catch-up sync or the drills (issue 17);
    each subcommand's options are there once it is chosen."""
    script = ("import sys\nfrom runbook_lib.app import cli\n"
              "args = cli.build_parser().parse_args(['run', '--params', 'p.yaml', '--only', '03'])\n"
              "print(args.only, args._module.__name__,\n"
              "      sorted(m for m in ('runbook_lib.cutover', 'runbook_lib.troubleshoot',\n"
              "                         'runbook_lib.app.training') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert done.stdout.split() == ["03", "runbook_lib.app.runner", "[]"]
    sync = runbook("sync", "--help")
    assert sync.returncode == 0 and "--overwrite" in sync.stdout
    missing = runbook("sync")  # its options are parsed: its required --params is asked for
    assert missing.returncode == 2 and "--params" in missing.stderr
