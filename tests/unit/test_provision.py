"""Role + database provisioning on the real server: converges, never leaks, refuses cleanly."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest

from runbook_lib import require_ok
from runbook_lib.app.report import render
from runbook_lib.core import db, manifest
from runbook_lib.core.errors import CheckFailed, ConfigError, ProvisionError
from runbook_lib.prepare import provision


def catalog(pg, role: str, name: str) -> dict:
    """Everything stage 02 could change, as the catalog shows it."""
    roles = pg.execute("SELECT a.rolname, a.rolpassword, a.rolcanlogin, a.rolsuper, "
                       "a.rolcreatedb, a.rolcreaterole FROM pg_authid a ORDER BY 1")
    dbs = pg.execute("SELECT datname, pg_get_userbyid(datdba), datacl::text, encoding "
                     "FROM pg_database ORDER BY 1")
    members = pg.execute("SELECT roleid, member, admin_option, inherit_option, set_option "
                         "FROM pg_auth_members ORDER BY 1, 2")
    schema = pg.execute("SELECT nspacl::text, nspowner FROM pg_namespace "
                        "WHERE nspname = 'public'", name) if [d for d in dbs if d[0] == name] else []
    return {"roles": roles, "dbs": dbs, "members": members, "schema": schema}


@pytest.fixture
def names(pg):
    role, name = "r_" + uuid.uuid4().hex[:8], "d_" + uuid.uuid4().hex[:8]
    yield role, name
    pg.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    pg.execute(f"DROP OWNED BY {role}") if pg.execute(
        f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'") else None
    pg.execute(f"DROP ROLE IF EXISTS {role}")


@pytest.fixture
def weak_admin(pg, monkeypatch):
    """A non-superuser admin role: weak_admin(createrole=..., createdb=...) → its name."""
    made = []

    def factory(createrole: bool, createdb: bool, log_all: bool = False) -> str:
        name = "adm_" + uuid.uuid4().hex[:8]
        attrs = ("CREATEROLE " if createrole else "") + ("CREATEDB" if createdb else "")
        pg.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'weak-{name}' {attrs}")
        if log_all:
            pg.execute(f"ALTER ROLE {name} SET log_statement = 'all'")
        monkeypatch.setenv("PGADMIN_PASSWORD", f"weak-{name}")
        made.append(name)
        return name

    yield factory
    for name in made:
        pg.execute(f"DROP OWNED BY {name} CASCADE")
        pg.execute(f"DROP ROLE IF EXISTS {name}")


def test_creates_role_and_database_owned_by_the_app_role(pg, make_settings, names):
    role, name = names
    rows = provision.create_database(make_settings(db_user=role, db_name=name))
    assert all(r.status == "ok" for r in rows), rows
    assert provision.changed(rows) == ["DB002", "DB003", "DB004", "DB005"]
    assert pg.execute(f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname='{name}'") \
        == [(role,)]
    secret = pg.execute(f"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'")[0][0]
    assert secret.startswith("SCRAM-SHA-256$")


def test_second_run_changes_nothing(pg, make_settings, names):
    role, name = names
    settings = make_settings(db_user=role, db_name=name)
    provision.create_database(settings)
    before = catalog(pg, role, name)
    rows = provision.create_database(settings)
    assert provision.changed(rows) == []
    assert "exists, unchanged" in rows[1].message and "exists, unchanged" in rows[3].message
    assert catalog(pg, role, name) == before


def test_existing_role_password_is_never_changed_and_both_remedies_work(pg, make_settings,
                                                                        names, monkeypatch):
    """Issue 16 point 1: a password that does not authenticate fails DB003 with two remedies;
    each is applied and works; the reset says so in the check and the report."""
    role, name = names
    pg.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'the-real-one'")
    pg.execute(f"CREATE DATABASE {name}")  # owned by postgres, as the guide leaves it
    settings = make_settings(db_user=role, db_name=name)
    before = pg.execute(f"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'")
    rows = provision.create_database(settings)
    db003 = rows[2]
    assert db003.id == "DB003" and db003.status == "fail"
    assert "does not authenticate" in db003.message and "never changes" in db003.message
    assert "DB_PASSWORD" in db003.hint and "-p reset_password=true" in db003.hint
    assert next(r for r in rows if r.id == "DB007").status == "skip"
    assert pg.execute(f"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'") == before
    with pytest.raises(CheckFailed, match="DB003"):
        require_ok(rows)

    monkeypatch.setenv("DB_PASSWORD", "the-real-one")  # remedy 1: the environment fixed
    rows = require_ok(provision.create_database(make_settings(db_user=role, db_name=name)))
    assert rows[2].status == "ok" and "unchanged" in rows[2].message
    assert pg.execute(f"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'") == before

    monkeypatch.setenv("DB_PASSWORD", "a-new-one")  # remedy 2: reset on purpose
    settings = make_settings(db_user=role, db_name=name, reset_password=True)
    rows = require_ok(provision.create_database(settings))
    assert rows[2].status == "warn" and "PASSWORD RESET" in rows[2].message
    assert "DB003" in provision.changed(rows)
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_user")
        assert cur.fetchone() == (role,)
    section = manifest.read(settings.run_dir)["provision"]
    assert section["password_reset"] is True and role in section["warning"]
    page = render(Path(settings.run_dir), {"run_id": "r", "stages": []}, "en")
    assert "id='password-reset'" in page and "PASSWORD RESET" in page

    rows = provision.create_database(settings)  # works now: reset_password changes nothing
    assert rows[2].status == "ok" and provision.changed(rows) == []


def test_nologin_role_is_not_changed_without_reset(pg, make_settings, names):
    role, name = names
    pg.execute(f"CREATE ROLE {role} NOLOGIN")
    rows = provision.create_database(make_settings(db_user=role, db_name=name))
    assert rows[2].status == "fail" and "NOLOGIN" in rows[2].message
    assert pg.execute(f"SELECT rolcanlogin FROM pg_roles WHERE rolname = '{role}'") == [(False,)]
    rows = provision.create_database(make_settings(db_user=role, db_name=name,
                                                   reset_password=True))
    assert rows[2].status == "warn"
    assert pg.execute(f"SELECT rolcanlogin FROM pg_roles WHERE rolname = '{role}'") == [(True,)]


def _apply_fix(pg, hint: str, settings: dict) -> dict:
    """Apply a refusal's fix as a user would: run its SQL as the admin, or take its -p."""
    statement = re.search(r"run ((?:ALTER|REVOKE) [^;]+;(?: REVOKE [^;]+;)*)", hint)
    if statement:
        pg.execute(statement.group(1))
        return settings
    name, value = re.search(r"-p (\w+)=(\w+)", hint).groups()
    return {**settings, name: value}


@pytest.mark.parametrize("case", ["admin", "superuser", "createrole", "server powers",
                                  "postgres", "template1", "template"])
def test_stage_02_takes_over_nothing_and_each_fix_works(pg, make_settings, names, case):
    """Issue 13 class 6: the admin role, a superuser, CREATEROLE, server powers, the
    maintenance database and a template are refused before any change; the fix, applied,
    lets stage 02 pass."""
    role, name = names
    params = {"db_user": role, "db_name": name}
    if case == "admin":
        params["db_user"] = "postgres"
    elif case == "superuser":
        pg.execute(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{os.environ['DB_PASSWORD']}'")
    elif case == "createrole":
        pg.execute(f"CREATE ROLE {role} LOGIN CREATEROLE PASSWORD '{os.environ['DB_PASSWORD']}'")
    elif case == "server powers":
        pg.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{os.environ['DB_PASSWORD']}'")
        pg.execute(f"GRANT pg_execute_server_program, pg_write_server_files TO {role}")
    elif case in ("postgres", "template1"):
        params["db_name"] = case
    else:
        pg.execute(f"CREATE DATABASE {name} IS_TEMPLATE true")
    before = catalog(pg, role, name)
    admin_secret = pg.execute("SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'")
    with pytest.raises(ProvisionError) as err:
        provision.create_database(make_settings(**params))
    assert "Nothing was changed" in err.value.message and err.value.hint
    assert catalog(pg, role, name) == before
    assert pg.execute("SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'") \
        == admin_secret
    fixed = _apply_fix(pg, err.value.hint, params)
    created = [fixed[k] for k in ("db_user", "db_name") if fixed[k] != params[k]]
    existed = {k: bool(pg.execute(f"SELECT 1 FROM pg_roles WHERE rolname = '{v}'")
                       if k == "db_user" else
                       pg.execute(f"SELECT 1 FROM pg_database WHERE datname = '{v}'"))
               for k, v in fixed.items()}
    try:
        rows = require_ok(provision.create_database(make_settings(**fixed)))
        assert rows[-1].id == "DB007" and rows[-1].status == "ok"
    finally:
        for value in created:
            if value == fixed["db_name"] and not existed["db_name"]:
                pg.execute(f"DROP DATABASE IF EXISTS {value} WITH (FORCE)")
            if value == fixed["db_user"] and not existed["db_user"]:
                pg.execute(f"DROP DATABASE IF EXISTS {fixed['db_name']} WITH (FORCE)")
                pg.execute(f"DROP ROLE IF EXISTS {value}")


def test_password_never_reaches_sql_text_or_server_log(pg, make_settings, names, weak_admin):
    role, name = names
    admin = weak_admin(createrole=True, createdb=True, log_all=True)
    start = pg.embedded.log_file.stat().st_size
    rows = provision.create_database(make_settings(db_user=role, db_name=name, admin_user=admin))
    assert all(r.status == "ok" for r in rows), rows
    app_password = os.environ["DB_PASSWORD"]
    log = pg.embedded.log_file.read_text(errors="replace")[start:]
    assert "CREATE ROLE" in log and app_password not in log
    assert app_password not in repr(rows) and app_password not in rows._repr_html_()


def test_non_superuser_admin_with_rights_converges(pg, make_settings, names, weak_admin):
    role, name = names
    settings = make_settings(db_user=role, db_name=name, admin_user=weak_admin(True, True))
    provision.create_database(settings)
    before = catalog(pg, role, name)
    assert provision.changed(provision.create_database(settings)) == []
    assert catalog(pg, role, name) == before


@pytest.mark.parametrize("rights", [(False, False), (True, False), (False, True)])
def test_admin_without_createdb_createrole_changes_nothing(pg, make_settings, names,
                                                          weak_admin, rights):
    role, name = names
    admin = weak_admin(*rights)
    before = catalog(pg, role, name)
    with pytest.raises(ProvisionError) as err:
        provision.create_database(make_settings(db_user=role, db_name=name, admin_user=admin))
    assert "Nothing was changed" in err.value.message
    assert "ALTER ROLE " + admin in err.value.hint
    assert catalog(pg, role, name) == before


def test_dry_run_plans_without_changing(pg, make_settings, names):
    role, name = names
    before = catalog(pg, role, name)
    rows = provision.create_database(make_settings(db_user=role, db_name=name, dry_run=True))
    assert rows[0].status == "skip" and "create_role" in rows[0].details["actions"]
    assert catalog(pg, role, name) == before


def test_missing_app_password_for_a_new_role(pg, make_settings, names, monkeypatch):
    role, name = names
    monkeypatch.delenv("DB_PASSWORD")
    settings = make_settings(db_user=role, db_name=name, password_env="NO_SUCH_PW_VAR")
    before = catalog(pg, role, name)
    with pytest.raises(ProvisionError, match="NO_SUCH_PW_VAR"):
        provision.create_database(settings)
    assert catalog(pg, role, name) == before


def test_schema_rights_granted_when_public_was_locked(pg, make_settings, names):
    role, name = names
    settings = make_settings(db_user=role, db_name=name)
    provision.create_database(settings)
    pg.execute("ALTER SCHEMA public OWNER TO postgres", name)
    assert provision.check_schema_rights(settings).details["changed"] is True
    assert provision.check_app_login(settings).status == "ok"


@pytest.mark.parametrize("bad", ["x; DROP DATABASE postgres", 'spc"db', "a'b", "1abc", ""])
def test_sql_in_names_is_refused_before_connecting(make_settings, bad):
    with pytest.raises(ConfigError, match="not a valid role or database name"):
        make_settings(db_name=bad or " ")
    with pytest.raises(ConfigError):
        make_settings(db_user=bad or " ")


def test_messages_in_korean(pg, make_settings, names):
    role, name = names
    settings = make_settings(db_user=role, db_name=name, language="ko")
    provision.create_database(settings)
    rows = provision.create_database(settings)
    assert "변경 없음" in rows[1].message and "데이터베이스" in rows[3].message
    assert "롤백" in rows[-1].message


def test_password_that_works_is_kept_even_without_connect_right(pg, make_settings, names):
    role, name = names
    pg.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{os.environ['DB_PASSWORD']}'")
    pg.execute(f"CREATE DATABASE {name}")
    pg.execute(f"REVOKE CONNECT ON DATABASE {name} FROM PUBLIC")
    settings = make_settings(db_user=role, db_name=name)
    assert provision.password_works(settings, name) is True
    rows = provision.create_database(settings)
    assert provision.changed(rows) == ["DB005"] and rows[-1].status == "ok"
