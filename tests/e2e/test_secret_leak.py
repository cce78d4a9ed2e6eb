"""A run made with known passwords leaves no trace of them in anything it wrote."""

from __future__ import annotations

import pytest

from .conftest import KNOWN_ADMIN_PASSWORD, KNOWN_APP_PASSWORD

pytestmark = pytest.mark.slow


def written_files(ws):
    folders = [ws.path / "runs", ws.path / ".runbook" / "pg" / "log"]
    files = [f for d in folders if d.is_dir() for f in d.rglob("*") if f.is_file()]
    files += [f for f in (ws.path / ".runbook" / "pg").glob("*.log")]
    return files


def test_no_password_in_notebooks_html_json_or_logs(full_run):
    ws, done = full_run
    files = written_files(ws)
    kinds = {f.suffix for f in files}
    assert {".ipynb", ".html", ".json"} <= kinds, kinds
    leaks = [str(f) for f in files
             if KNOWN_APP_PASSWORD.encode() in f.read_bytes()
             or KNOWN_ADMIN_PASSWORD.encode() in f.read_bytes()]
    assert not leaks
    for stream in (done.stdout, done.stderr):
        assert KNOWN_APP_PASSWORD not in stream and KNOWN_ADMIN_PASSWORD not in stream


def test_the_passwords_were_really_used(full_run):
    import psycopg2

    ws, done = full_run
    conn = psycopg2.connect(host="localhost", port=ws.port, user="spc_user", dbname="spc_db",
                            password=KNOWN_APP_PASSWORD)
    conn.close()
