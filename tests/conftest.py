"""Shared fixtures: one real embedded PostgreSQL server for the whole test session.

Tests point Settings at it with `target: server` (a loopback port, scram-sha-256), so they
never touch the project's own `.runbook/pg` server. Each test that writes gets its own
database and role from `fresh_db`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import uuid
from pathlib import Path

import psycopg2
import pytest

from runbook_lib.core import i18n, server
from runbook_lib.core.config import load_settings

ROOT = Path(__file__).resolve().parents[1]
ADMIN_PASSWORD = "adm-" + secrets.token_hex(8)
APP_PASSWORD = "app-" + secrets.token_hex(8)


class PG:
    """The session's server: port, admin password and an admin connection helper."""

    def __init__(self, embedded: server.EmbeddedServer) -> None:
        self.embedded = embedded
        self.port = embedded.port
        self.admin_password = ADMIN_PASSWORD

    def admin(self, dbname: str = "postgres"):
        conn = psycopg2.connect(host="localhost", port=self.port, user="postgres",
                                password=ADMIN_PASSWORD, dbname=dbname)
        conn.autocommit = True
        return conn

    def execute(self, sql: str, dbname: str = "postgres") -> list:
        conn = self.admin(dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()


@pytest.fixture(scope="session")
def pg(tmp_path_factory) -> PG:
    data = tmp_path_factory.mktemp("pgdata") / "pg"
    embedded = server.EmbeddedServer(data, port=server.free_port())
    embedded.start("postgres", ADMIN_PASSWORD)
    yield PG(embedded)
    embedded.destroy()


@pytest.fixture
def env_passwords(monkeypatch):
    monkeypatch.setenv("PGADMIN_PASSWORD", ADMIN_PASSWORD)
    monkeypatch.setenv("DB_PASSWORD", APP_PASSWORD)
    for name in ("DB_NAME", "DB_USER", "DB_HOST", "DB_PORT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_settings(pg, tmp_path, env_passwords):
    """Settings pointing at the session server: make_settings(db_name=..., **params)."""

    def factory(**params):
        values = {"target": "server", "db_host": "localhost", "db_port": pg.port,
                  "run_dir": str(tmp_path / "run"), "django_project": "",
                  "sqlite_path": str(tmp_path / "source.sqlite3")}
        values.update(params)
        return load_settings(**values)

    return factory


@pytest.fixture
def fresh_db(pg, make_settings):
    """A new empty database owned by a new app role (password APP_PASSWORD): its Settings."""
    name = "t_" + uuid.uuid4().hex[:10]
    pg.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{APP_PASSWORD}'")
    pg.execute(f"CREATE DATABASE {name} OWNER {name}")
    settings = make_settings(db_name=name, db_user=name)
    yield settings
    pg.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    pg.execute(f"DROP ROLE IF EXISTS {name}")


@pytest.fixture(autouse=True)
def _no_batch_env(monkeypatch):
    monkeypatch.delenv("RUNBOOK_BATCH", raising=False)
    monkeypatch.setenv("RUNBOOK_HOME", str(ROOT))
    # English unless a test asks otherwise, whatever the developer's locale (LANG=ko_KR…)
    monkeypatch.setenv("RUNBOOK_LANGUAGE", "en")
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    yield
    i18n.use("en")  # load_settings(language="ko") sets the display language: not for the next


@pytest.fixture(scope="session")
def korean_run(tmp_path_factory):
    """One complete training run with `language: ko`: (workspace, completed process, run
    folder). The e2e Korean tests scan it; the browser test screenshots its report."""
    import shutil
    import tempfile

    from workspace import make_workspace

    # Outside pytest's temp root: another pytest session may reset that root to mode 700 and
    # lock the embedded server's system user out of its data folder (as in tests/browser).
    top = Path(tempfile.mkdtemp(prefix="runbook-korean-"))
    top.chmod(0o755)
    ws = make_workspace(top / "runbook")
    try:
        done = ws.run("-p", "language=ko", run_dir="runs/ko")
        yield ws, done, ws.path / "runs" / "ko"
    finally:
        ws.destroy()
        shutil.rmtree(top, ignore_errors=True)


# -- headless Chromium for tests/browser: Debian's `chromium` (and a font with Hangul, for the
# Korean pages), installed with apt-get when missing; driven by Playwright for Python
# (`executable_path`, never `playwright install`).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _apt(*args: str) -> bool:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(["apt-get", *args], capture_output=True, env=env, timeout=1200)
    return done.returncode == 0


def ensure_chromium() -> Path:
    """Debian's chromium, installed with apt-get when missing; skip where that is impossible."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("Chromium is not installed and cannot be installed here (needs root and "
                    "apt-get): run `sudo apt-get install -y chromium`.")
    if not _apt("install", "-y", "-q", "chromium"):
        _apt("update", "-q")
        if not _apt("install", "-y", "-q", "chromium"):
            pytest.skip("apt-get install -y chromium failed (no package source reachable).")
    return CHROMIUM


def ensure_hangul_font() -> bool:
    """A font that draws Korean (Debian's fonts-nanum), so the screenshots are readable."""
    def present() -> bool:
        done = subprocess.run(["fc-list", ":lang=ko"], capture_output=True, text=True)
        return bool(done.stdout.strip())

    if shutil.which("fc-list") and present():
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    return _apt("install", "-y", "-q", "fonts-nanum") or (
        _apt("update", "-q") and _apt("install", "-y", "-q", "fonts-nanum"))


@pytest.fixture(scope="session")
def browser():
    executable = ensure_chromium()
    ensure_hangul_font()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
