"""probes: live checks of the session server, each shown failing and passing for real."""

from __future__ import annotations

from runbook_lib.troubleshoot import probes


def _by_id(checks):
    return {c.id: c for c in checks}


def test_healthy_database_passes_every_probe(fresh_db):
    checks = _by_id(probes.run(fresh_db))
    assert [c.id for c in probes.run(fresh_db)][:3] == ["DX101", "DX102", "DX109"]
    for check_id in ("DX101", "DX102", "DX109", "DX104", "DX105", "DX106", "DX107", "DX108"):
        assert checks[check_id].status == "ok", checks[check_id]
    assert checks["DX103"].status == "ok"
    assert checks["DX103"].details["method"] == "scram-sha-256"


def test_hba_rule_names_the_line(fresh_db):
    rule = probes.hba_rule(fresh_db, client="127.0.0.1")
    assert rule["type"] == "host" and rule["address"] == "127.0.0.1"
    assert rule["line"] > 0


def test_sequence_behind_is_found_and_named(fresh_db, pg):
    pg.execute("CREATE TABLE items (id serial PRIMARY KEY, name text); "
               "INSERT INTO items (name) SELECT 'x' FROM generate_series(1, 5); "
               "SELECT setval('items_id_seq', 2)", fresh_db.db_name)
    check = _by_id(probes.run(fresh_db))["DX107"]
    assert check.status == "fail" and "items" in check.message
    assert "setval('items_id_seq', 5)" in check.hint
    pg.execute("SELECT setval('items_id_seq', 5)", fresh_db.db_name)
    assert probes.check_sequences(fresh_db).status == "ok"


def test_missing_create_on_public_fails(fresh_db, pg):
    pg.execute(f"ALTER SCHEMA public OWNER TO postgres; "
               f"REVOKE CREATE ON SCHEMA public FROM PUBLIC, {fresh_db.db_user}", fresh_db.db_name)
    check = probes.check_schema_rights(fresh_db)
    assert check.status == "fail" and "GRANT USAGE, CREATE ON SCHEMA public" in check.hint


def test_wrong_password_fails_login_with_the_diagnosis(fresh_db, make_settings, monkeypatch):
    monkeypatch.setenv("DB_PASSWORD", "not-the-password")
    settings = make_settings(db_name=fresh_db.db_name, db_user=fresh_db.db_user)
    check = probes.check_login(settings)
    assert check.status == "fail" and "DX001" in check.message
    assert "not-the-password" not in repr(check)


def test_missing_role_and_database(make_settings):
    settings = make_settings(db_name="no_such_db", db_user="no_such_role")
    checks = _by_id(probes.run(settings))
    assert checks["DX104"].status == "fail" and checks["DX105"].status == "fail"
    assert checks["DX109"].status == "fail"


def test_port_with_nothing_listening(make_settings):
    from runbook_lib.core.server import free_port

    settings = make_settings(db_port=free_port())
    checks = probes.run(settings)
    assert checks[0].status == "fail" and checks[1].status == "fail"
    assert all(c.status == "skip" for c in checks[3:])
