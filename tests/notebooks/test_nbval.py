"""`pytest --nbval-lax` over every notebook, in a throwaway workspace with its own server.

The notebooks run with their default parameters (target: embedded), as a user would run
them interactively; DB_PORT points the embedded server at a free port and RUNBOOK_HOME at
the workspace, so the project's own `.runbook/` server is never touched. nbval runs in a
subprocess so its kernel and plugins stay out of this pytest session.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from workspace import copy_project

from runbook_lib.core import server

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
pytestmark = pytest.mark.slow
ANSI = re.compile(r"\x1b\[[0-9;]*m|#x1B\[[0-9;]*m")


@pytest.fixture(scope="module")
def nbval_results(tmp_path_factory) -> dict[str, list[str]]:
    """Run nbval once over all notebooks; notebook name → failure messages."""
    ws = copy_project(tmp_path_factory.mktemp("nbval"))
    (ws / "pytest.ini").write_text("[pytest]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "PG", "RUNBOOK_"))}
    env.update(RUNBOOK_HOME=str(ws), DB_PORT=str(server.free_port()))
    report = ws / "nbval.xml"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-q",
             "-p", "no:cacheprovider", "-c", str(ws / "pytest.ini"), "--rootdir", str(ws),
             f"--junitxml={report}", "--nbval-cell-timeout=600",
             *(f"notebooks/{b.name}" for b in NOTEBOOKS)],  # not notebooks/ko/ (tests/e2e)
            cwd=ws, env=env, capture_output=True, text=True, timeout=1500)
    finally:
        server.EmbeddedServer(ws / ".runbook" / "pg").destroy()
    assert report.is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    failures: dict[str, list[str]] = {}
    for case in ET.parse(report).iter("testcase"):
        name = Path(case.get("file") or case.get("classname", "").replace(".", "/")).name
        for bad in list(case.iter("failure")) + list(case.iter("error")):
            key = next((b.name for b in NOTEBOOKS if b.stem in (case.get("classname") or "")
                        or b.name == name), name)
            text = ANSI.sub("", bad.text or bad.get("message") or "")
            failures.setdefault(key, []).append(text[-3000:])
    return failures


@pytest.mark.parametrize("book", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(nbval_results, book):
    assert not nbval_results.get(book.name), "\n".join(nbval_results[book.name])
