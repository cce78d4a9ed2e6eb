"""Install checks and provisioning against PostgreSQL 15 (no `system_user`, no SET option).

Runs only where a PostgreSQL 15 server is installed (Debian's postgresql-15 package); on
machines without it the tests are skipped, the same code paths on 18 are covered elsewhere.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg2
import pytest

from runbook_lib.core import server
from runbook_lib.prepare import checks, provision

BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "pg15-" + uuid.uuid4().hex[:10]

pytestmark = pytest.mark.skipif(not (BIN / "postgres").exists() or os.name != "posix",
                                reason="PostgreSQL 15 server binaries not installed")


def _as_user() -> dict:
    if os.geteuid() != 0:
        return {}
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root without a 'postgres' system user")
    return {"user": "postgres"}


@pytest.fixture(scope="module")
def pg15():
    """A throwaway PostgreSQL 15 on a loopback port, scram-sha-256 on TCP: its port."""
    base = Path(tempfile.mkdtemp(prefix="runbook-pg15-"))
    base.chmod(0o755)
    data, port, user = base / "data", server.free_port(), _as_user()
    (base / "pw").write_text(PASSWORD + "\n")
    if user:
        shutil.chown(base, "postgres")
        shutil.chown(base / "pw", "postgres")
    run = dict(check=True, capture_output=True, timeout=120, cwd="/", **user)
    subprocess.run([BIN / "initdb", "-D", data, "-U", "postgres", f"--pwfile={base / 'pw'}",
                    "-E", "UTF8", "--no-locale", "--auth-local=trust",
                    "--auth-host=scram-sha-256"], **run)
    subprocess.run([BIN / "pg_ctl", "-D", data, "-l", base / "log", "-w", "-o",
                    f"-p {port} -k {base} -c listen_addresses=localhost", "start"], **run)
    try:
        yield port
    finally:
        subprocess.run([BIN / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60, cwd="/", **user)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def settings15(pg15, make_settings, monkeypatch):
    monkeypatch.setenv("PGADMIN_PASSWORD", PASSWORD)
    return lambda **kw: make_settings(db_port=pg15, **kw)


def execute(port: int, sql: str) -> None:
    conn = psycopg2.connect(host="localhost", port=port, user="postgres", password=PASSWORD,
                            dbname="postgres")
    conn.autocommit = True
    conn.cursor().execute(sql)
    conn.close()


def test_auth_method_from_pg_hba_rules_before_16(settings15):
    rows = {r.id: r for r in checks.server_checks(settings15())}
    assert rows["PG007"].details["major"] == 15
    assert rows["PG009"].status == "ok"
    assert rows["PG009"].details["method"] == "scram-sha-256"
    assert rows["PG009"].details["method_source"] == "pg_hba_file_rules"


def test_non_superuser_admin_converges_on_15(pg15, settings15, monkeypatch):
    admin, role, name = ("a15_" + uuid.uuid4().hex[:6], "r15_" + uuid.uuid4().hex[:6],
                         "d15_" + uuid.uuid4().hex[:6])
    execute(pg15, f"CREATE ROLE {admin} LOGIN CREATEROLE CREATEDB PASSWORD '{PASSWORD}'")
    settings = settings15(admin_user=admin, db_user=role, db_name=name)
    rows = provision.create_database(settings)
    assert all(r.status == "ok" for r in rows), rows
    assert "DB004" in provision.changed(rows)
    assert provision.changed(provision.create_database(settings)) == []
