"""`runbook run --resume`, `--from`, killed runs marked killed, and `runbook history`.

Real `runbook run` processes over three small real notebooks (papermill, a real kernel) in a
throwaway project: stage 02 fails, waits or passes as a marker file says, so a run can fail,
be killed mid-stage with SIGKILL, and be resumed.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from multiprocessing import get_context
from pathlib import Path

import pytest
from workspace import end_session

from runbook_lib.app import history, notebook_tools
from runbook_lib.app import summary as run_summary

SECRET = 'Hist"Secret\\' + "9f3a7c"  # a quote and a backslash: JSON escapes both

STAGE = """
from pathlib import Path
from runbook_lib.core import manifest

with open(Path(run_dir) / "ran-{stem}", "a") as fh:
    fh.write("x")
manifest.record_stage(run_dir, "{stem}", "ok")
"""
GATE = """
import os
import time
from pathlib import Path

gate = Path(os.environ["RUNBOOK_HOME"]) / "gate"
while gate.read_text() == "wait":
    time.sleep(0.1)
assert gate.read_text() == "pass", "the gate is closed: " + gate.read_text()
"""


@pytest.fixture
def home(tmp_path):
    (tmp_path / "parameters").mkdir()
    (tmp_path / "parameters" / "t.yaml").write_text(
        "target: server\ndjango_project: ''\nsqlite_path: source.sqlite3\n")
    (tmp_path / "source.sqlite3").write_bytes(b"")
    books = tmp_path / "notebooks"
    books.mkdir()
    for stem in ("01_first", "02_gate", "03_last"):
        cells = [("md", f"# {stem}"), ("parameters", "")]
        if stem == "02_gate":
            cells.append(("code", GATE))
        cells.append(("code", STAGE.format(stem=stem)))
        notebook_tools.save(notebook_tools.build(cells), books / f"{stem}.ipynb")
    (tmp_path / "gate").write_text("fail")
    return tmp_path


def env_for(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "RUNBOOK_"))}
    return {**env, "RUNBOOK_HOME": str(home), "DB_PASSWORD": SECRET}


def runbook(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runbook_lib.app.cli", *args], cwd=home,
                          env=env_for(home), capture_output=True, text=True, timeout=300)


def start(home: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "runbook_lib.app.cli", *args], cwd=home,
                            env=env_for(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def summary_of(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def statuses(folder: Path) -> dict:
    return {s["stage"]: s["status"] for s in summary_of(folder)["stages"]}


def ran(folder: Path, stem: str) -> int:
    file = folder / f"ran-{stem}"
    return len(file.read_text()) if file.exists() else 0


def wait_for(check, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, "timed out"
        time.sleep(0.1)


def test_failed_run_resumes_from_the_failed_stage(home):
    done = runbook(home, "run", "--params", "parameters/t.yaml", "--run-dir", "runs/r1")
    folder = home / "runs" / "r1"
    assert done.returncode == 1 and "runbook run --resume" in done.stdout
    assert statuses(folder) == {"01": "ok", "02": "failed"}
    (home / "gate").write_text("pass")
    again = runbook(home, "run", "--resume")  # the latest failed run
    assert again.returncode == 0, again.stdout + again.stderr
    assert "resuming run r1 (failed) from 02" in again.stdout
    assert statuses(folder) == {"01": "ok", "02": "ok", "03": "ok"}
    assert (ran(folder, "01_first"), ran(folder, "02_gate"), ran(folder, "03_last")) == (1, 1, 1)
    summary = summary_of(folder)
    assert summary["status"] == "ok" and summary["attempt"] == 2
    assert summary["resumed"][0]["from"] == "02_gate"
    assert (folder / "report.html").is_file()
    nothing = runbook(home, "run", "--resume", "runs/r1")
    assert nothing.returncode == 2 and "nothing to resume" in nothing.stderr
    rerun = runbook(home, "run", "--resume", "r1", "--from", "03")  # a bare run id
    assert rerun.returncode == 0 and ran(folder, "03_last") == 2 and ran(folder, "01_first") == 1


def test_from_starts_a_new_run_there(home):
    (home / "gate").write_text("pass")
    done = runbook(home, "run", "--params", "parameters/t.yaml", "--from", "02",
                   "--run-dir", "runs/late")
    assert done.returncode == 0, done.stdout + done.stderr
    assert statuses(home / "runs" / "late") == {"02": "ok", "03": "ok"}
    bad = runbook(home, "run", "--params", "parameters/t.yaml", "--from", "07")
    assert bad.returncode == 2 and "--from 07" in bad.stderr and "Known stages" in bad.stderr


def test_killed_run_is_marked_killed_and_resumed(home):
    (home / "gate").write_text("wait")
    proc = start(home, "run", "--params", "parameters/t.yaml", "--run-dir", "runs/k")
    folder = home / "runs" / "k"
    try:
        wait_for(lambda: (folder / "summary.json").exists() and
                 statuses(folder).get("02") == "running")
        refused = runbook(home, "run", "--resume", "runs/k")
        assert refused.returncode == 2 and "still running" in refused.stderr
        os.kill(proc.pid, signal.SIGKILL)  # the runner only, as `kill -9 <pid>` would
        proc.wait(timeout=30)
    finally:
        end_session(proc, None)  # the kernel exits with its runner; anything left is killed
    assert summary_of(folder)["status"] == "running"  # nobody has looked yet
    listed = runbook(home, "history")
    assert listed.returncode == 0
    assert summary_of(folder)["status"] == "killed"
    assert statuses(folder) == {"01": "ok", "02": "killed"}
    assert "killed" in [line.split()[6] for line in listed.stdout.splitlines()[2:]]
    (home / "gate").write_text("pass")
    again = runbook(home, "run", "--resume")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "(killed) from 02" in again.stdout
    assert statuses(folder) == {"01": "ok", "02": "ok", "03": "ok"}
    rows = [json.loads(line) for line in runbook(home, "history", "--json").stdout.splitlines()]
    attempts = [(r["run_id"], r["attempt"], r["outcome"]) for r in rows]
    assert attempts == [("k", 1, "killed"), ("k", 2, "ok")]


def test_history_records_who_what_and_how_it_ended(home):
    (home / "gate").write_text("pass")
    done = runbook(home, "run", "--params", "parameters/t.yaml", "--run-dir", "runs/h",
                   "-p", f"source_timezone={SECRET}", "--only", "01")
    assert done.returncode == 0, done.stdout + done.stderr
    file = home / ".runbook" / "history.jsonl"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    text = file.read_text()
    escaped = json.dumps(SECRET)[1:-1]
    for written in (text, (home / "runs/h/summary.json").read_text()):
        assert SECRET not in written and escaped not in written
    lines = [json.loads(x) for x in text.splitlines()]
    assert [x["event"] for x in lines] == ["start", "end"]
    end = lines[-1]
    assert end["outcome"] == "ok" and end["profile"] == "parameters/t.yaml"
    assert end["user"] and end["host"] and end["parameters"]["target"] == "server"
    assert end["parameters"]["source_timezone"] == "********"
    assert end["stages"][0]["stage"] == "01" and end["stages"][0]["duration_s"] > 0
    assert end["report"] == str(home / "runs/h/report.html")
    table = runbook(home, "history").stdout.splitlines()
    assert table[0].split() == history.COLUMNS and "h" in table[2].split()


def test_history_table_escapes_terminal_control_characters(home, monkeypatch):
    monkeypatch.setenv("RUNBOOK_HOME", str(home))
    history.append({"run_id": "evil\x1b]0;pwned\x07", "attempt": 1, "outcome": "ok",
                    "profile": "p\x1b[2J.yaml", "stages": [], "user": "u", "host": "h"})
    out = runbook(home, "history").stdout
    assert "\x1b" not in out and "\\x1b[2J" in out and "\\x07" in out


def _append_many(home: str, n: int) -> None:
    os.environ["RUNBOOK_HOME"] = home
    for i in range(n):
        history.append({"run_id": f"r{os.getpid()}-{i}", "pad": "x" * 5000})


def test_concurrent_appends_never_tear_lines(home, monkeypatch):
    monkeypatch.setenv("RUNBOOK_HOME", str(home))
    ctx = get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(home), 150)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    raw = (home / ".runbook" / "history.jsonl").read_text().splitlines()
    assert len(raw) == 450 and all(json.loads(line)["pad"] == "x" * 5000 for line in raw)
    with open(home / ".runbook" / "history.jsonl", "a") as fh:
        fh.write('{"run_id": "torn", "att')  # a crash mid-line
    assert len(history.read()) == 450


def test_alive_tells_a_reused_pid_apart():
    marks = run_summary.process_marks()
    assert run_summary.alive(marks)
    assert not run_summary.alive({**marks, "pid_started": marks["pid_started"] - 100})
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert not run_summary.alive({"pid": gone.pid, "pid_started": 0})


def test_resume_refuses_mixed_arguments_and_needs_params(home):
    both = runbook(home, "run", "--resume", "--params", "parameters/t.yaml")
    assert both.returncode == 2 and "--resume continues a run" in both.stderr
    none = runbook(home, "run", "--resume")
    assert none.returncode == 2 and "No failed or killed run" in none.stderr


def test_mistyped_sqlite_path_stops_the_run_before_anything_is_written(home):
    done = runbook(home, "run", "--params", "parameters/t.yaml", "-p",
                   "sqlite_path=source.sqlite")
    assert done.returncode == 2
    assert "source.sqlite does not exist" in done.stderr
    assert str(home / "source.sqlite3") in done.stderr and "Nothing was written" in done.stderr
    assert not (home / "runs").exists() and not (home / "source.sqlite").exists()
