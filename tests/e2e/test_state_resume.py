"""State outlives a run: `--only 02,03` with quarantine, then `--only 04` in a new run folder
warns with the quarantine accounted; a run killed mid-migration is said unfinished by stage 04
and completed by `--resume`; `runbook history` lists every attempt.

One throwaway workspace (the training profile, its own embedded server, 2,000 sample rows, two
of them with a value SQLite accepted and PostgreSQL refuses).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import psycopg2
import pytest
from workspace import end_session

from .conftest import KNOWN_ADMIN_PASSWORD, KNOWN_APP_PASSWORD, make_workspace

pytestmark = pytest.mark.slow
BAD_IDS = (5, 6)


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    ws = make_workspace(tmp_path_factory.mktemp("state"), DB_PASSWORD=KNOWN_APP_PASSWORD,
                        PGADMIN_PASSWORD=KNOWN_ADMIN_PASSWORD)
    try:
        built = ws.runbook("demo-data", "--rows", "2000")
        assert built.returncode == 0, built.stderr
        with sqlite3.connect(ws.path / "examples/spc_backend/db.sqlite3") as conn:
            conn.executemany("UPDATE spc_qualitymeasurement SET value = 'n/a' WHERE id = ?",
                             [(i,) for i in BAD_IDS])
        conn.close()
        yield ws
    finally:
        ws.destroy()


def summary(ws, run: str) -> dict:
    return json.loads((ws.path / "runs" / run / "summary.json").read_text())


def stages(ws, run: str) -> dict:
    return {s["stage"]: s["status"] for s in summary(ws, run)["stages"]}


def target(ws, sql: str) -> list:
    conn = psycopg2.connect(host="localhost", port=ws.port, user="spc_user", dbname="spc_db",
                            password=KNOWN_APP_PASSWORD)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def test_validation_in_a_new_run_folder_accounts_the_quarantine(ws):
    first = ws.run("--only", "02,03", "-p", "on_bad_value=quarantine", run_dir="runs/migrate")
    assert first.returncode == 0, first.stdout + first.stderr
    migration = json.loads((ws.path / "runs/migrate/manifest.json").read_text())["migration"]
    later = ws.run("--only", "04", run_dir="runs/validate")  # on_bad_value back to fail
    assert later.returncode == 0, later.stdout + later.stderr
    assert stages(ws, "validate") == {"04": "warn"}
    report = json.loads((ws.path / "runs/validate/validation.json").read_text())
    table = next(t for t in report["tables"] if t["table"] == "spc_qualitymeasurement")
    assert (table["verdict"], table["quarantined"], table["missing"]) == ("ok", 2, 2)
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["VA009"]["status"] == "warn" and checks["VA010"]["status"] == "ok"
    assert migration["run_id"] in checks["VA014"]["message"]
    assert report["migration"]["snapshot"] == migration["snapshot"]
    # independently of the runbook: the target holds every source row but the two bad ones
    rows = sorted(target(ws, "SELECT id, value FROM spc_qualitymeasurement"))
    with sqlite3.connect(migration["snapshot"]) as lite:
        source = sorted(lite.execute("SELECT id, value FROM spc_qualitymeasurement WHERE id "
                                     "NOT IN (5, 6)").fetchall())
    lite.close()
    assert rows == source


def test_killed_migration_is_unfinished_then_resumed(ws):
    proc = subprocess.Popen(
        [sys.executable, "-m", "runbook_lib.app.cli", "run", "--params",
         "parameters/training.yaml", "-p", f"db_port={ws.port}", "-p",
         "on_bad_value=quarantine", "--only", "03,04", "--run-dir", "runs/killed"],
        cwd=ws.path, env=ws.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        deadline = time.time() + 300
        while not target(ws, "SELECT run_id FROM runbook_migration.runs WHERE finished_at IS "
                             "NULL"):  # the migration has started writing the target
            assert time.time() < deadline and proc.poll() is None, proc.stdout.read()
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # kill -9 of the runbook, mid-stage 03
        proc.wait(timeout=30)
    finally:
        end_session(proc, None, grace=60)  # what the killed runbook left ends by itself
    unfinished = ws.run("--only", "04", run_dir="runs/too-early")
    assert unfinished.returncode == 1
    assert "did not finish" in unfinished.stdout and "missing" not in unfinished.stdout
    assert "Diagnosis [DX031]" in unfinished.stdout and "--resume" in unfinished.stdout
    resumed = ws.runbook("run", "--resume", "runs/killed")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "(killed) from 03" in resumed.stdout
    assert stages(ws, "killed") == {"03": "warn", "04": "warn"}  # MG003, VA009
    assert summary(ws, "killed")["attempt"] == 2
    assert target(ws, "SELECT count(*) FROM runbook_migration.runs WHERE finished_at IS NULL"
                  ) == [(0,)]


def test_history_lists_every_attempt(ws):
    done = ws.runbook("history", "--json", "--limit", "0")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    seen = [(r["run_id"], r["attempt"], r["outcome"]) for r in rows]
    assert seen == [("migrate", 1, "ok"), ("validate", 1, "ok"), ("killed", 1, "killed"),
                    ("too-early", 1, "failed"), ("killed", 2, "ok")]
    assert all(r["user"] and r["host"] and r["profile"] == "parameters/training.yaml"
               for r in rows)
    assert rows[0]["parameters"]["on_bad_value"] == "quarantine"
    text = (ws.path / ".runbook" / "history.jsonl").read_text()
    assert KNOWN_APP_PASSWORD not in text and KNOWN_ADMIN_PASSWORD not in text
    table = ws.runbook("history").stdout
    assert "killed" in table and "too-early" in table

