"""JupyterLab in headless Chromium: stage 01 runs on the embedded server, its form and status
table render, and the `runbook run` report opens without Jupyter.

Installs Debian's `chromium` itself when missing (root only); drives it with Playwright for
Python (`executable_path`, never `playwright install`). Screenshots go to `test-artifacts/`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from workspace import end_session

from runbook_lib.core import server
from runbook_lib.core.errors import ServerError

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
NOTEBOOK = "notebooks/01_install_checks.ipynb"
COPIED = ("notebooks", "parameters", "examples", "pyproject.toml", "README.md")
SKIP_COPY = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.sqlite3-*",
                                   "runs", ".runbook", "training")
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def workspace() -> Path:
    """A copy of the project whose embedded server will listen on a free port.

    Outside pytest's temp root: a concurrent pytest session may reset that root to mode 700,
    which would lock the server's system user out of its data folder.
    """
    missing = [p for p in (NOTEBOOK, "parameters/training.yaml") if not (ROOT / p).exists()]
    if missing:
        pytest.fail(f"the project lacks {', '.join(missing)}")
    top = Path(tempfile.mkdtemp(prefix="runbook-lab-"))
    top.chmod(0o755)
    ws = top / "runbook"
    ws.mkdir()
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, ws / name, ignore=SKIP_COPY)
        elif src.exists():
            shutil.copy2(src, ws / name)
    yield ws
    _stop_server(server.EmbeddedServer(ws / ".runbook" / "pg"))
    shutil.rmtree(top, ignore_errors=True)


def _stop_server(embedded: server.EmbeddedServer) -> None:
    """pg_ctl stop; SIGTERM to the postmaster (a fast shutdown) if pg_ctl cannot."""
    try:
        embedded.stop()
    except ServerError:
        pid = embedded.pid()
        if pid:
            os.kill(pid, signal.SIGTERM)


@pytest.fixture(scope="module")
def lab_env(workspace, tmp_path_factory) -> dict:
    jupyter = tmp_path_factory.mktemp("jupyter")
    env = {k: v for k, v in os.environ.items()
           if k not in ("RUNBOOK_BATCH", "DB_NAME", "DB_USER", "DB_HOST", "DB_PASSWORD",
                        "PGADMIN_PASSWORD")}
    env.update(RUNBOOK_HOME=str(workspace), DB_PORT=str(server.free_port()),
               XDG_RUNTIME_DIR=env.get("XDG_RUNTIME_DIR", "/tmp"),
               JUPYTER_CONFIG_DIR=str(jupyter / "config"),
               JUPYTER_RUNTIME_DIR=str(jupyter / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(jupyter / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(jupyter / "workspaces"),
               PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    news = jupyter / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    return env


def _wait_http(url: str, proc: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"jupyter lab exited with status {proc.returncode}: "
                                 f"{log.read_text()[-1500:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"jupyter lab did not answer {url} within {seconds:.0f} s")


@pytest.fixture(scope="module")
def lab(workspace, lab_env, tmp_path_factory):
    """JupyterLab on a free loopback port with a token; every process stopped afterwards."""
    port, token = server.free_port(), secrets.token_hex(16)
    log_file = tmp_path_factory.mktemp("lablog") / "lab.log"
    log = log_file.open("w")
    proc = subprocess.Popen(
        [str(BIN / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={workspace}",
         "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly", *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=workspace, env=lab_env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/status?token={token}", proc, log_file)
        yield f"http://127.0.0.1:{port}", token
    finally:
        _stop(proc)
        log.close()


def _stop(proc: subprocess.Popen) -> None:
    """Stop jupyter lab and its kernels (its own process group)."""
    if proc.poll() is None:
        end_session(proc)


_READY = """async () => {
    const panel = window.jupyterapp.shell.currentWidget;
    await panel.context.ready;
    await panel.sessionContext.ready;
    return panel.sessionContext.session.kernel.status;
}"""
_DONE = """() => {
    // the folded parameters cell shows a placeholder, not a prompt: count the real inputs
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea .jp-InputPrompt')];
    const busy = prompts.some(p => p.textContent.includes('*'));
    const done = prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
    const failed = document.querySelector("[data-mime-type='application/vnd.jupyter.stderr']" +
        ", .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']");
    const idle = document.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']");
    return prompts.length > 0 && idle && !busy && (done || failed);
}"""


def _run_all(page) -> None:
    """Run every cell (Run ▸ Run All Cells) and wait until the kernel is idle again."""
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && document.querySelector('.jp-Notebook')", timeout=120_000)
    page.evaluate(_READY)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    page.wait_for_timeout(2000)
    page.wait_for_function(_DONE, timeout=600_000, polling=1000)


def test_stage_01_runs_in_jupyterlab(lab, browser, workspace):
    base, token = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}&reset", timeout=120_000)
    _run_all(page)
    ARTIFACTS.mkdir(exist_ok=True)
    stderr = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    status = page.locator("table.runbook-status").filter(has_text="PG001").first
    status.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "lab_01_install_checks.png"), full_page=True)
    errors = [text for text in stderr.all_inner_texts() if "Traceback" in text]
    assert not errors, errors[0][-3000:]
    assert status.locator("tbody tr").count() >= 10, "the install-check table has too few rows"
    assert status.locator("tbody tr").filter(has_text="PG006").filter(has_text="ok").count() == 1
    form = page.locator(".runbook-settings-form")
    assert form.count() == 1, "the settings form widget did not render"
    assert form.locator("input[type='password']").count() == 1
    assert form.locator("button").filter(has_text="settings").count() == 1
    _password_never_lands_in_the_notebook(page, form, workspace)
    page.close()


def _password_never_lands_in_the_notebook(page, form, workspace: Path) -> None:
    """Type a password, apply it, save: the box is emptied and the file never holds it."""
    marker = "pw-" + secrets.token_hex(6)
    box = form.locator("input[type='password']")
    box.scroll_into_view_if_needed()
    box.fill(marker)
    form.locator("button").filter(has_text="settings").click()
    page.wait_for_function("() => document.querySelector('.runbook-settings-form')"
                           ".textContent.includes('not shown')", timeout=30_000)
    assert box.input_value() == ""
    page.screenshot(path=str(ARTIFACTS / "lab_01_settings_form.png"))
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_timeout(2000)
    saved = (workspace / NOTEBOOK).read_text(encoding="utf-8")
    assert "runbook-settings-form" in saved or "widget-view" in saved or "settings_form" in saved
    assert marker not in saved


def test_run_report_opens_without_jupyter(lab_env, workspace, browser):
    run_dir = workspace / "runs" / "browser"
    done = subprocess.run(
        [str(BIN / "runbook"), "run", "--params", "parameters/training.yaml", "--only", "00,01",
         "--run-dir", str(run_dir), "-p", f"db_port={lab_env['DB_PORT']}"],
        cwd=workspace, env=lab_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto((run_dir / "report.html").as_uri())
    stages = page.locator("table#stages tbody tr")
    assert stages.count() == 2
    assert "01_install_checks" in stages.nth(1).inner_text()
    assert page.locator("table#stages td.ok").count() == 2
    page.screenshot(path=str(ARTIFACTS / "report_00_01.png"), full_page=True)
    html_link = page.locator("table#stages a", has_text="html").nth(1)
    html_link.click()
    page.wait_for_load_state()
    assert page.url.endswith("01_install_checks.html")
    page.close()
