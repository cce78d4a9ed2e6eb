"""`runbook run` end to end on the training profile, in a throwaway workspace."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_training_run_exits_0_with_every_stage_ok(full_run):
    ws, done = full_run
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((ws.path / "runs/full/summary.json").read_text())
    assert summary["status"] == "ok"
    assert [s["stage"] for s in summary["stages"]][:3] == ["00", "01", "02"]
    assert {s["status"] for s in summary["stages"]} <= {"ok", "warn", "skip"}
    assert (ws.path / "runs/full/report.html").is_file()
    assert done.stdout.strip().splitlines()[-1].startswith("report: ")


def test_each_stage_prints_one_line(full_run):
    ws, done = full_run
    lines = [line for line in done.stdout.splitlines() if line.strip().startswith("[")]
    assert len(lines) == len(list((ws.path / "notebooks").glob("[0-9][0-9]_*.ipynb")))


def catalog(ws) -> list:
    """Roles (with password verifiers), databases, owners and memberships on the run's server."""
    import psycopg2

    from .conftest import KNOWN_ADMIN_PASSWORD

    conn = psycopg2.connect(host="localhost", port=ws.port, user="postgres", dbname="spc_db",
                            password=KNOWN_ADMIN_PASSWORD)
    with conn.cursor() as cur:
        cur.execute("SELECT rolname, rolpassword, rolcanlogin FROM pg_authid ORDER BY 1")
        rows = cur.fetchall()
        cur.execute("SELECT datname, datdba, datacl::text FROM pg_database ORDER BY 1")
        rows += cur.fetchall()
        cur.execute("SELECT nspowner, nspacl::text FROM pg_namespace WHERE nspname = 'public'")
        rows += cur.fetchall()
    conn.close()
    return rows


def test_stage_02_again_changes_nothing(full_run):
    ws, _ = full_run
    first = json.loads((ws.path / "runs/full/manifest.json").read_text())["stages"]
    assert first["02_create_database"]["status"] == "ok"
    before = catalog(ws)
    again = ws.run("--only", "02", run_dir="runs/again")
    assert again.returncode == 0, again.stdout + again.stderr
    stage = json.loads((ws.path / "runs/again/manifest.json").read_text())["stages"]
    assert stage["02_create_database"] == {"status": "ok", "changed": []}
    assert catalog(ws) == before


def test_failing_stage_names_notebook_cell_and_fix(full_run):
    ws, _ = full_run
    done = ws.run("--only", "02", "-p", "admin_user=nobody_here", run_dir="runs/bad")
    assert done.returncode == 1
    assert "FAILED: notebook 02_create_database.ipynb, cell" in done.stdout
    assert "Fix:" in done.stdout
    summary = json.loads((ws.path / "runs/bad/summary.json").read_text())
    assert summary["status"] == "failed" and summary["stages"][0]["error"]["cell"]


def test_plain_papermill_works(full_run):
    import subprocess
    import sys

    ws, _ = full_run
    out = ws.path / "runs" / "pm.ipynb"
    done = subprocess.run([sys.executable, "-m", "papermill", "notebooks/01_install_checks.ipynb",
                           str(out), "-f", "parameters/training.yaml", "-p", "db_port",
                           str(ws.port), "--cwd", "notebooks"], cwd=ws.path, env=ws.env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
