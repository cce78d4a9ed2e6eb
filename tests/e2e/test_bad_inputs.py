"""Bad input: one clear paragraph naming the cause and the fix, and nothing changed."""

from __future__ import annotations

import uuid

import pytest
from workspace import make_workspace

from runbook_lib.core import db, server
from runbook_lib.core.errors import ConnectError, ProvisionError
from runbook_lib.prepare import checks, provision


def state(pg) -> list:
    return pg.execute("SELECT rolname, rolpassword FROM pg_authid ORDER BY 1") + \
        pg.execute("SELECT datname, datdba::int FROM pg_database ORDER BY 1")


def assert_one_paragraph(exc, *words):
    text = str(exc)
    assert exc.hint and "\n\n" not in text
    for word in words:
        assert word.lower() in text.lower(), (word, text)


@pytest.mark.parametrize("host", ["127.0.0.2", "no-such-host.invalid"])
def test_unreachable_host(pg, make_settings, host):
    before = state(pg)
    settings = make_settings(db_host=host, db_port=server.free_port(), db_name="spc_db")
    with pytest.raises(ConnectError) as err:
        provision.create_database(settings)
    assert_one_paragraph(err.value, host, "fix")
    assert state(pg) == before


def test_wrong_port(make_settings):
    port = server.free_port()
    with pytest.raises(ConnectError) as err:
        db.connect(make_settings(db_port=port), admin=True)
    assert_one_paragraph(err.value, "connection refused", str(port), "db_port")


def test_wrong_password(pg, make_settings, monkeypatch):
    before = state(pg)
    monkeypatch.setenv("PGADMIN_PASSWORD", "not-the-password")
    with pytest.raises(ConnectError) as err:
        provision.create_database(make_settings(db_name="spc_bad", db_user="spc_bad"))
    assert_one_paragraph(err.value, "password authentication failed", "PGADMIN_PASSWORD"
                         if "PGADMIN_PASSWORD" in str(err.value) else "password")
    assert "not-the-password" not in str(err.value)
    assert state(pg) == before


def test_server_down(tmp_path, make_settings):
    stopped = server.EmbeddedServer(tmp_path / "pg", port=server.free_port())
    stopped.start("postgres", "pw-" + uuid.uuid4().hex)
    stopped.stop()
    try:
        settings = make_settings(db_port=stopped.port)
        rows = checks.server_checks(settings)
        assert rows[0].id == "PG006" and rows[0].status == "fail"
        assert "connection refused" in rows[0].message and "start" in rows[0].hint.lower()
        with pytest.raises(ConnectError):
            provision.create_database(settings)
        assert not stopped.is_running()
    finally:
        stopped.destroy()


def test_admin_without_createdb_createrole(pg, make_settings, monkeypatch):
    admin = "weak_" + uuid.uuid4().hex[:8]
    pg.execute(f"CREATE ROLE {admin} LOGIN PASSWORD 'weak-pw'")
    try:
        monkeypatch.setenv("PGADMIN_PASSWORD", "weak-pw")
        before = state(pg)
        with pytest.raises(ProvisionError) as err:
            provision.create_database(make_settings(admin_user=admin, db_name="spc_w",
                                                    db_user="spc_w"))
        assert_one_paragraph(err.value, "CREATEROLE", "CREATEDB", "Nothing was changed",
                             f"ALTER ROLE {admin}")
        assert state(pg) == before
    finally:
        pg.execute(f"DROP ROLE {admin}")


# -- through the command line: refused before a run starts -----------------------------------

@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    workspace = make_workspace(tmp_path_factory.mktemp("bad"))
    yield workspace
    workspace.destroy()  # in case a bad case ever got as far as starting the server


@pytest.mark.parametrize("content, words", [
    (None, ["does not exist", "parameters/training.yaml"]),
    ("db_port: [unclosed\n", ["not valid YAML", "line"]),
    ("- a list\n", ["must be a mapping"]),
    ("db_prot: 5432\n", ["Unknown parameter 'db_prot'", "Did you mean 'db_port'"]),
    ("db_password: hunter2\n", ["never taken from them", "DB_PASSWORD"]),
    ("db_name: \"x; DROP DATABASE postgres\"\n", ["not a valid role or database name"]),
    ("db_user: \"spc\\\"user\"\n", ["not a valid role or database name"]),
    ("target: cloud\n", ["must be one of"]),
])
def test_bad_parameters_file(ws, content, words):
    name = f"bad-{uuid.uuid4().hex[:6]}.yaml"
    if content is not None:
        (ws.path / "parameters" / name).write_text(content)
    done = ws.runbook("run", "--params", f"parameters/{name}", timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "Fix: " in done.stderr
    for word in words:
        assert word in done.stderr, done.stderr
    assert "hunter2" not in done.stderr
    assert not (ws.path / "runs").exists()


@pytest.mark.parametrize("override", ["db_name=x; DROP DATABASE postgres", "db_user=a'b",
                                      "admin_user=bad-name", "workers=many", "nonsense"])
def test_bad_override_refused_before_running(ws, override):
    done = ws.runbook("run", "--params", "parameters/training.yaml", "-p", override, timeout=60)
    assert done.returncode == 2 and "Fix: " in done.stderr
    assert not (ws.path / "runs").exists()


def test_unknown_stage(ws):
    done = ws.runbook("run", "--params", "parameters/training.yaml", "--only", "42", timeout=60)
    assert done.returncode == 2 and "Known stages: 00" in done.stderr


def test_weak_admin_through_runbook_run(pg, ws, tmp_path):
    admin = "weak_" + uuid.uuid4().hex[:8]
    pg.execute(f"CREATE ROLE {admin} LOGIN PASSWORD 'weak-pw2'")
    env = {**ws.env, "PGADMIN_PASSWORD": "weak-pw2", "DB_PASSWORD": "app-pw2"}
    try:
        before = state(pg)
        done = ws.__class__(ws.path, ws.port, env).runbook(
            "run", "--params", "parameters/training.yaml", "--only", "02",
            "--run-dir", str(tmp_path / "run"), "-p", "target=server", "-p",
            f"db_port={pg.port}", "-p", f"admin_user={admin}", "-p", "db_name=spc_weak",
            "-p", "db_user=spc_weak", timeout=300)
        assert done.returncode == 1
        assert "FAILED: notebook 02_create_database.ipynb" in done.stdout
        assert "Nothing was changed" in done.stdout and "CREATEROLE" in done.stdout
        assert state(pg) == before
    finally:
        pg.execute(f"DROP ROLE {admin}")
