"""Provisioning (DB0xx): the application role and database, idempotently.

The run converges: what exists and is right is reported "exists, unchanged" and left alone.
The password travels as a SCRAM verifier computed by libpq (`encrypt_password`), so the
clear text never reaches SQL text, server logs or our output, and it is set again only when
the current one does not authenticate. The database is OWNED by the application role:
since PostgreSQL 15 the `public` schema belongs to `pg_database_owner` and no longer grants
CREATE to PUBLIC, so the guide's `GRANT ALL PRIVILEGES ON DATABASE` alone leaves Django
unable to create its tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import encrypt_password

from ..core import db
from ..core.errors import ProvisionError
from ..core.i18n import t
from ..core.results import Check, CheckTable, table

MSG = {
    "exists": {"en": "{what} {name} exists, unchanged", "ko": "{what} {name} 이미 있음, 변경 없음"},
    "created": {"en": "{what} {name} created", "ko": "{what} {name} 생성됨"},
    "would": {"en": "dry run: would {action}", "ko": "dry run: {action} 예정"},
    "pw_ok": {"en": "the password from {source} authenticates, unchanged",
              "ko": "{source}의 비밀번호로 인증됨, 변경 없음"},
    "pw_set": {"en": "password set from {source} (scram-sha-256)",
               "ko": "{source}의 비밀번호로 설정됨 (scram-sha-256)"},
    "owner_ok": {"en": "owned by {owner}, unchanged", "ko": "소유자 {owner}, 변경 없음"},
    "owner_new": {"en": "owner {owner} (set at creation)", "ko": "소유자 {owner} (생성 시 지정)"},
    "owner_set": {"en": "owner changed from {old} to {owner}",
                  "ko": "소유자를 {old}에서 {owner}(으)로 변경함"},
}
WHAT = {"role": {"en": "role", "ko": "역할"}, "database": {"en": "database", "ko": "데이터베이스"}}
SCHEMA_OK = {"en": "{role} may create tables in public (owner {owner}), unchanged",
             "ko": "{role}은(는) public 스키마에 테이블을 만들 수 있음 (소유자 {owner}), 변경 없음"}
SCHEMA_SET = {"en": "granted USAGE, CREATE on schema public to {role}",
              "ko": "{role}에게 public 스키마의 USAGE, CREATE 권한을 부여함"}
LOGIN_OK = {"en": "{dsn} logs in as {role} on {db} and can create tables (probe rolled back)",
            "ko": "{dsn}: {role}(으)로 {db}에 접속, 테이블 생성 가능 (시험 테이블은 롤백됨)"}
NO_PRIVILEGE = {
    "en": "The admin role {admin} cannot {action}: it is not a superuser and lacks {missing}. "
          "Nothing was changed on the server.",
    "ko": "관리자 역할 {admin}은(는) {action} 수 없습니다: 슈퍼유저가 아니고 {missing} 권한이 "
          "없습니다. 서버에서 아무것도 변경하지 않았습니다.",
}
NO_PRIVILEGE_FIX = {
    "en": "Use an admin role that has them (admin_user, its password in {admin_env}), or ask a "
          "superuser to run: ALTER ROLE {admin} {missing}; (or to create them: CREATE ROLE "
          "{role} LOGIN PASSWORD '...'; CREATE DATABASE {dbname} OWNER {role};) and run stage "
          "02 again.",
    "ko": "해당 권한이 있는 관리자 역할을 쓰거나 (admin_user, 비밀번호는 {admin_env}), 슈퍼유저에게 "
          "ALTER ROLE {admin} {missing}; 실행을 요청하세요 (또는 CREATE ROLE {role} LOGIN "
          "PASSWORD '...'; CREATE DATABASE {dbname} OWNER {role};). 그 다음 02 단계를 다시 실행하세요.",
}


@dataclass
class State:
    """What the catalog says before anything changes."""

    superuser: bool
    createrole: bool
    createdb: bool
    version_num: int
    role_exists: bool = False
    role_login: bool = False
    can_set_role: bool = False
    db_owner: str | None = None
    db_encoding: str | None = None
    template_utf8: bool = True
    actions: list[str] = field(default_factory=list)


def inspect(conn, settings) -> State:
    """Read the admin's privileges, the role and the database from the catalog."""
    with conn.cursor() as cur:
        cur.execute("SELECT rolsuper, rolcreaterole, rolcreatedb, "
                    "current_setting('server_version_num')::int FROM pg_roles "
                    "WHERE rolname = current_user")
        state = State(*cur.fetchone())
        right = "SET" if state.version_num >= 160000 else "MEMBER"  # SET exists since 16
        cur.execute(f"SELECT rolcanlogin, pg_has_role(current_user, oid, '{right}') "
                    "FROM pg_roles WHERE rolname = %s", (settings.db_user,))
        row = cur.fetchone()
        if row:
            state.role_exists, (state.role_login, state.can_set_role) = True, row
        cur.execute("SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding) "
                    "FROM pg_database WHERE datname = %s", (settings.db_name,))
        state.db_owner, state.db_encoding = cur.fetchone() or (None, None)
        cur.execute("SELECT pg_encoding_to_char(encoding) = 'UTF8' FROM pg_database "
                    "WHERE datname = 'template1'")
        state.template_utf8 = bool((cur.fetchone() or (True,))[0])
    return state


def password_works(settings, dbname: str = "postgres") -> bool:
    """Does the app role log in with its secret (or ~/.pgpass) over the configured host?"""
    kwargs = db.connect_kwargs(settings, admin=False, dbname=dbname)
    try:
        psycopg2.connect(**kwargs).close()
    except psycopg2.OperationalError as exc:
        text = str(exc)  # libpq gives no SQLSTATE for connection errors: read the message
        if "permission denied for database" in text or (
                "database" in text and "does not exist" in text):
            return True  # authenticated, then refused the database: the password works
        if "authentication failed" in text or "no password supplied" in text:
            return False
        raise db.connect_error(exc, settings, False, dbname) from None
    return True


def plan(state: State, settings, password_ok: bool) -> list[str]:
    """The changes needed, as action names, in the order they run."""
    actions = []
    if not state.role_exists:
        actions.append("create_role")
    elif not state.role_login or not password_ok:
        actions.append("set_password")
    needs_owner_change = state.db_owner not in (None, settings.db_user)
    if (not state.superuser and not state.can_set_role
            and (state.db_owner is None or needs_owner_change)):
        actions.append("grant_set_role")
    if state.db_owner is None:
        actions.append("create_database")
    elif needs_owner_change:
        actions.append("set_owner")
    return actions


def require_privileges(state: State, actions: list[str], settings) -> None:
    """Refuse before any change when the admin lacks CREATEROLE/CREATEDB for the plan."""
    if state.superuser:
        return
    missing = []
    if {"create_role", "set_password"} & set(actions) and not state.createrole:
        missing.append("CREATEROLE")
    if "create_database" in actions and not state.createdb:
        missing.append("CREATEDB")
    if not missing:
        return
    values = {"admin": settings.admin_user, "missing": " ".join(missing),
              "role": settings.db_user, "dbname": settings.db_name,
              "admin_env": settings.admin_password_env,
              "action": " and ".join(a.replace("_", " ") for a in actions)}
    raise ProvisionError(t(NO_PRIVILEGE, settings.language, **values),
                         t(NO_PRIVILEGE_FIX, settings.language, **values))


def _verifier(conn, settings) -> str:
    if not settings.password:
        raise ProvisionError(
            f"No password for the application role {settings.db_user}: "
            f"{settings.password_env} is not set and the role must get one.",
            f"Set {settings.password_env} in the environment or the project's .env file, "
            "then run stage 02 again. Nothing was changed.")
    return encrypt_password(settings.password.reveal(), settings.db_user, conn, "scram-sha-256")


def _database_sql(settings, state: State) -> sql.Composed:
    query = sql.SQL("CREATE DATABASE {} OWNER {}").format(
        sql.Identifier(settings.db_name), sql.Identifier(settings.db_user))
    if not state.template_utf8:
        query += sql.SQL(" TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'")
    return query


def apply(conn, settings, state: State, actions: list[str]) -> None:
    """Run the planned statements (identifiers quoted by psycopg2.sql, no secret in text)."""
    role, name = sql.Identifier(settings.db_user), sql.Identifier(settings.db_name)
    statements = {
        "create_role": lambda: sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            role, sql.Literal(_verifier(conn, settings))),
        "set_password": lambda: sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(
            role, sql.Literal(_verifier(conn, settings))),
        "grant_set_role": lambda: sql.SQL(
            "GRANT {} TO CURRENT_USER" + (" WITH INHERIT FALSE, SET TRUE"
                                          if state.version_num >= 160000 else "")).format(role),
        "create_database": lambda: _database_sql(settings, state),
        "set_owner": lambda: sql.SQL("ALTER DATABASE {} OWNER TO {}").format(name, role),
    }
    with conn.cursor() as cur:
        for action in actions:
            try:
                cur.execute(statements[action]())
            except psycopg2.Error as exc:
                raise ProvisionError(
                    f"{action.replace('_', ' ')} failed: {exc.pgerror or exc}".strip(),
                    "Read the server's message above; stage 02 can be run again once it is "
                    "fixed (it only does what is still missing).") from None


def _row(cid: str, label: str, key: str, changed: bool, language: str, **values) -> Check:
    if "what" in values:
        values["what"] = t(WHAT[values["what"]], language)
    return Check(cid, label, "ok", t(MSG[key], language, **values), details={"changed": changed})


def summarise(state: State, actions: list[str], settings) -> list[Check]:
    """DB001-DB005 rows describing what was found and what was done."""
    lang, user, name = settings.language, settings.db_user, settings.db_name
    source = settings.password.source if settings.password else "~/.pgpass"
    who = "superuser" if state.superuser else "CREATEROLE" * state.createrole + (
        " CREATEDB" * state.createdb)
    rows = [Check("DB001", "admin privileges", "ok", f"{settings.admin_user}: {who.strip()}",
                  details={"changed": False})]
    if "create_role" in actions:
        rows.append(_row("DB002", "application role", "created", True, lang, what="role",
                         name=user))
    else:
        rows.append(_row("DB002", "application role", "exists", False, lang, what="role",
                         name=user))
    changed_pw = bool({"create_role", "set_password"} & set(actions))
    rows.append(_row("DB003", "role password", "pw_set" if changed_pw else "pw_ok", changed_pw,
                     lang, source=source))
    created = "create_database" in actions
    rows.append(_row("DB004", "database", "created" if created else "exists", created, lang,
                     what="database", name=name))
    if "set_owner" in actions:
        rows.append(_row("DB005", "database owner", "owner_set", True, lang, owner=user,
                         old=state.db_owner))
    else:
        rows.append(_row("DB005", "database owner", "owner_new" if created else "owner_ok",
                         created, lang, owner=user))
    return rows


def check_schema_rights(settings) -> Check:
    """DB006: the app role may CREATE in schema public (granted when it may not)."""
    query = "SELECT has_schema_privilege(%s, 'public', 'CREATE'), " \
            "pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'"
    with db.connection(settings, admin=True, dbname=settings.db_name, autocommit=True) as conn:
        with conn.cursor() as cur:
            cur.execute(query, (settings.db_user,))
            row = cur.fetchone()
            if row is None:
                return Check("DB006", "schema public rights", "fail", "schema public is missing",
                             f"As {settings.admin_user}: CREATE SCHEMA public AUTHORIZATION "
                             f"{settings.db_user};")
            if row[0]:
                return Check("DB006", "schema public rights", "ok",
                             t(SCHEMA_OK, settings.language, role=settings.db_user,
                               owner=row[1]), details={"changed": False})
            cur.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(
                sql.Identifier(settings.db_user)))
    return Check("DB006", "schema public rights", "ok",
                 t(SCHEMA_SET, settings.language, role=settings.db_user),
                 details={"changed": True})


def check_app_login(settings) -> Check:
    """DB007: connect as the app role and create a table in a rolled-back transaction."""
    conn, user = db.connect(settings), settings.db_user
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user, current_database(), version()")
            user, name, version = cur.fetchone()
            cur.execute("CREATE TABLE public.runbook_probe (id integer PRIMARY KEY)")
    except psycopg2.Error as exc:
        return Check("DB007", "connect as app role", "fail",
                     f"{user} cannot create a table: {exc.pgerror or exc}".strip(),
                     f"Make {settings.db_user} the owner: ALTER DATABASE {settings.db_name} "
                     f"OWNER TO {settings.db_user}; (stage 02 does this).")
    finally:
        conn.rollback()
        conn.close()
    return Check("DB007", "connect as app role", "ok",
                 t(LOGIN_OK, settings.language, dsn=settings.dsn(), role=user, db=name),
                 details={"changed": False, "server": version})


def create_database(settings) -> CheckTable:
    """Create (or confirm) the app role and database; every row says whether it changed."""
    with db.connection(settings, admin=True, autocommit=True) as conn:
        state = inspect(conn, settings)
        probe_db = settings.db_name if state.db_owner else "postgres"
        pw_ok = state.role_exists and state.role_login and password_works(settings, probe_db)
        actions = plan(state, settings, pw_ok)
        require_privileges(state, actions, settings)
        if settings.dry_run:
            return table([Check("DB000", "dry run", "skip",
                                t(MSG["would"], settings.language,
                                  action=", ".join(actions) or "nothing"),
                                details={"changed": False, "actions": actions})])
        apply(conn, settings, state, actions)
    rows = summarise(state, actions, settings)
    rows += [check_schema_rights(settings), check_app_login(settings)]
    return table(rows)


def changed(rows) -> list[str]:
    """Ids of the rows that changed something on the server."""
    return [r.id for r in rows if r.details.get("changed")]


__all__ = ["create_database", "inspect", "plan", "password_works", "changed"]
