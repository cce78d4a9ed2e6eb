"""Provisioning (DB0xx): the application role and database, idempotently.

The run converges: what exists and is right is reported "exists, unchanged" and left alone.
It takes over nothing that is not the application's: an application role that is the admin,
a superuser, has CREATEROLE or may run programs / touch server files is refused, and so is a
maintenance or template database (`refuse_takeover`). The password travels as a SCRAM
verifier computed by libpq (`encrypt_password`), so the clear text never reaches SQL text,
server logs or our output. A new role gets it; an existing role's password is never changed
unless `reset_password: true` says so (then DB003 warns loudly and the report shows it); a
password that does not authenticate is a failing DB003 with both remedies. The database is
OWNED by the application role:
since PostgreSQL 15 the `public` schema belongs to `pg_database_owner` and no longer grants
CREATE to PUBLIC, so the guide's `GRANT ALL PRIVILEGES ON DATABASE` alone leaves Django
unable to create its tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import encrypt_password

from ..core import db, manifest
from ..core.errors import ProvisionError
from ..core.i18n import LANGUAGES, Filled, t
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
PW_RESET = {
    "en": "PASSWORD RESET: the password of the existing role {role} was replaced with the one "
          "from {source} (reset_password: true); everything that logged in as {role} with the "
          "old password is locked out until it gets the new one",
    "ko": "비밀번호 재설정: 기존 역할 {role}의 비밀번호를 {source}의 비밀번호로 바꿨습니다 "
          "(reset_password: true). 이전 비밀번호로 {role}에 접속하던 모든 것은 새 비밀번호를 받을 때까지 "
          "접속할 수 없습니다",
}
PW_RESET_FIX = {
    "en": "Give the new password to every application and person using {role} (its .env, "
          "secrets store), then set reset_password back to false.",
    "ko": "{role}을(를) 쓰는 모든 애플리케이션과 사람에게 새 비밀번호를 알리고 (.env, 비밀 저장소), "
          "reset_password를 다시 false로 두세요.",
}
PW_WRONG = {
    "en": "the password from {source} does not authenticate as the existing role {role}{nologin}; "
          "stage 02 never changes an existing role's password on its own, so nothing was changed",
    "ko": "{source}의 비밀번호로 기존 역할 {role}에 인증되지 않습니다{nologin}. 02 단계는 기존 역할의 "
          "비밀번호를 스스로 바꾸지 않으므로 아무것도 변경하지 않았습니다",
}
PW_NOLOGIN = {"en": " (and the role may not log in: NOLOGIN)",
              "ko": " (또한 이 역할은 로그인할 수 없습니다: NOLOGIN)"}
PW_WRONG_FIX = {
    "en": "Either put {role}'s real password in {password_env} (the environment or the "
          "project's .env) and run stage 02 again; or, to replace the password on purpose "
          "(everything using the old one stops working), run stage 02 with "
          "-p reset_password=true (reset_password: true in the profile).",
    "ko": "{role}의 실제 비밀번호를 {password_env}(환경 변수 또는 프로젝트의 .env)에 넣고 02 단계를 "
          "다시 실행하세요. 또는 의도적으로 비밀번호를 바꾸려면 (이전 비밀번호를 쓰는 모든 것이 멈춥니다) "
          "-p reset_password=true (프로필에서는 reset_password: true)로 02 단계를 실행하세요.",
}
LOGIN_SKIPPED = {"en": "not tried: the password does not authenticate (DB003)",
                 "ko": "시도하지 않음: 비밀번호로 인증되지 않음 (DB003)"}
# Databases that belong to the server or its provider, never to an application.
MAINTENANCE_DBS = ("postgres", "template0", "template1", "rdsadmin", "cloudsqladmin",
                   "azure_maintenance", "azure_sys", "_dodb")
SERVER_POWERS = ("pg_execute_server_program", "pg_read_server_files", "pg_write_server_files")
TAKEOVER = {
    "admin": (
        {"en": "db_user {role} is the admin role: stage 02 would change the admin's password and "
               "hand it the application's database. Nothing was changed.",
         "ko": "db_user {role}이(가) 관리자 역할입니다: 02 단계가 관리자 비밀번호를 바꾸고 애플리케이션 "
               "데이터베이스를 넘기게 됩니다. 아무것도 변경하지 않았습니다."},
        {"en": "Give the application a role of its own: set db_user to another name (e.g. "
               "-p db_user=spc_user, or DB_USER in .env); stage 02 creates it.",
         "ko": "애플리케이션 전용 역할을 쓰세요: db_user를 다른 이름으로 (예: -p db_user=spc_user, 또는 "
               ".env의 DB_USER) 지정하면 02 단계가 만듭니다."}),
    "superuser": (
        {"en": "The application role {role} is a superuser: the application (and any SQL its data "
               "carries) could do anything on the server, including running programs with COPY "
               "… TO PROGRAM. Nothing was changed.",
         "ko": "애플리케이션 역할 {role}이(가) 슈퍼유저입니다: 애플리케이션(과 데이터에 담긴 SQL)이 서버에서 "
               "무엇이든 할 수 있습니다 (COPY … TO PROGRAM으로 프로그램 실행 포함). 아무것도 변경하지 "
               "않았습니다."},
        {"en": "As an admin run ALTER ROLE {role} NOSUPERUSER; then stage 02 again, or set db_user "
               "to a new role (e.g. -p db_user=spc_user).",
         "ko": "관리자로 ALTER ROLE {role} NOSUPERUSER; 를 실행한 뒤 02 단계를 다시 실행하거나, db_user를 "
               "새 역할로 지정하세요 (예: -p db_user=spc_user)."}),
    "createrole": (
        {"en": "The application role {role} has CREATEROLE: it could create and change other "
               "roles. Nothing was changed.",
         "ko": "애플리케이션 역할 {role}에 CREATEROLE 권한이 있습니다: 다른 역할을 만들고 바꿀 수 "
               "있습니다. 아무것도 변경하지 않았습니다."},
        {"en": "As an admin run ALTER ROLE {role} NOCREATEROLE; then stage 02 again, or set "
               "db_user to a new role (e.g. -p db_user=spc_user).",
         "ko": "관리자로 ALTER ROLE {role} NOCREATEROLE; 를 실행한 뒤 02 단계를 다시 실행하거나, db_user를 "
               "새 역할로 지정하세요 (예: -p db_user=spc_user)."}),
    "powers": (
        {"en": "The application role {role} is a member of {powers}: it could run programs or "
               "read and write the server's files. Nothing was changed.",
         "ko": "애플리케이션 역할 {role}이(가) {powers}의 멤버입니다: 서버에서 프로그램을 실행하거나 서버 "
               "파일을 읽고 쓸 수 있습니다. 아무것도 변경하지 않았습니다."},
        {"en": "As an admin run {revoke} then stage 02 again, or set db_user to a new role "
               "(e.g. -p db_user=spc_user).",
         "ko": "관리자로 {revoke} 를 실행한 뒤 02 단계를 다시 실행하거나, db_user를 새 역할로 지정하세요 "
               "(예: -p db_user=spc_user)."}),
    "maintenance": (
        {"en": "db_name {dbname} is the server's own database ({why}), not the application's: "
               "stage 02 would hand it to {role}. Nothing was changed.",
         "ko": "db_name {dbname}은(는) 애플리케이션이 아닌 서버의 데이터베이스입니다 ({why}): 02 단계가 "
               "{role}에게 넘기게 됩니다. 아무것도 변경하지 않았습니다."},
        {"en": "Set db_name to the application's own database (e.g. -p db_name=spc_db, or DB_NAME "
               "in .env); stage 02 creates it.",
         "ko": "db_name을 애플리케이션 전용 데이터베이스로 지정하세요 (예: -p db_name=spc_db, 또는 .env의 "
               "DB_NAME); 02 단계가 만듭니다."}),
    "template": (
        {"en": "db_name {dbname} is a template database: every database created from it would "
               "carry the application's tables. Nothing was changed.",
         "ko": "db_name {dbname}은(는) 템플릿 데이터베이스입니다: 이것으로 만드는 모든 데이터베이스에 "
               "애플리케이션 테이블이 들어가게 됩니다. 아무것도 변경하지 않았습니다."},
        {"en": "Set db_name to the application's own database (e.g. -p db_name=spc_db); or, if "
               "{dbname} really is it and should not be a template, as an admin run ALTER "
               "DATABASE {dbname} IS_TEMPLATE false; then stage 02 again.",
         "ko": "db_name을 애플리케이션 전용 데이터베이스로 지정하세요 (예: -p db_name=spc_db). {dbname}이(가) "
               "정말 그 데이터베이스이고 템플릿이 아니어야 한다면 관리자로 ALTER DATABASE {dbname} "
               "IS_TEMPLATE false; 를 실행한 뒤 02 단계를 다시 실행하세요."}),
}
MAINTENANCE_WHY = {"en": "a maintenance or provider database", "ko": "관리용 또는 제공업체 데이터베이스"}
TEMPLATE_WHY = {"en": "a template", "ko": "템플릿"}
LOGIN_OK = {"en": "{dsn} logs in as {role} on {db} and can create tables (probe rolled back)",
            "ko": "{dsn}: {role}(으)로 {db}에 접속, 테이블 생성 가능 (시험 테이블은 롤백됨)"}
NO_PRIVILEGE = {
    "en": "The admin role {admin} cannot {action}: it is not a superuser and lacks {missing}. "
          "Nothing was changed on the server.",
    "ko": "관리자 역할 {admin}은(는) {action} 작업을 할 수 없습니다: 슈퍼유저가 아니고 {missing} "
          "권한이 없습니다. 서버에서 아무것도 변경하지 않았습니다.",
}
ACTIONS = {"create_role": {"en": "create the role", "ko": "역할 생성"},
           "set_password": {"en": "set the role's password", "ko": "역할 비밀번호 설정"},
           "grant_set_role": {"en": "grant itself the role", "ko": "자신에게 역할 부여"},
           "create_database": {"en": "create the database", "ko": "데이터베이스 생성"},
           "set_owner": {"en": "change the database's owner", "ko": "데이터베이스 소유자 변경"}}
AND = {"en": "{first} and {rest}", "ko": "{first}과 {rest}"}
NO_PASSWORD = {"en": "No password for the application role {role}: {env} is not set and the "
                     "role must get one.",
               "ko": "애플리케이션 역할 {role}의 비밀번호가 없습니다: {env}이(가) 설정되지 않았는데 "
                     "역할에는 비밀번호가 필요합니다."}
NO_PASSWORD_FIX = {"en": "Set {env} in the environment or the project's .env file, then run "
                         "stage 02 again. Nothing was changed.",
                   "ko": "{env}을(를) 환경 변수나 프로젝트의 .env 파일에 설정한 뒤 02 단계를 다시 "
                         "실행하세요. 아무것도 변경하지 않았습니다."}
STATEMENT_FAILED = {"en": "{action} failed: {error}", "ko": "{action} 작업이 실패했습니다: {error}"}
STATEMENT_FAILED_FIX = {"en": "Read the server's message above; stage 02 can be run again once "
                              "it is fixed (it only does what is still missing).",
                        "ko": "위의 서버 메시지를 읽어 보세요. 고친 뒤 02 단계를 다시 실행할 수 "
                              "있습니다(아직 없는 것만 합니다)."}
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
    admin_name: str = ""
    role_exists: bool = False
    role_login: bool = False
    can_set_role: bool = False
    role_superuser: bool = False
    role_createrole: bool = False
    role_powers: list[str] = field(default_factory=list)
    db_owner: str | None = None
    db_encoding: str | None = None
    db_template: bool = False
    template_utf8: bool = True
    actions: list[str] = field(default_factory=list)


def inspect(conn, settings) -> State:
    """Read the admin's privileges, the role and the database from the catalog."""
    with conn.cursor() as cur:
        cur.execute("SELECT rolsuper, rolcreaterole, rolcreatedb, "
                    "current_setting('server_version_num')::int, current_user FROM pg_roles "
                    "WHERE rolname = current_user")
        state = State(*cur.fetchone())
        right = "SET" if state.version_num >= 160000 else "MEMBER"  # SET exists since 16
        powers = ", ".join(f"pg_has_role(oid, '{p}', 'MEMBER')" for p in SERVER_POWERS)
        cur.execute(f"SELECT rolcanlogin, pg_has_role(current_user, oid, '{right}'), rolsuper, "
                    f"rolcreaterole, {powers} FROM pg_roles WHERE rolname = %s",
                    (settings.db_user,))
        row = cur.fetchone()
        if row:
            state.role_exists = True
            (state.role_login, state.can_set_role, state.role_superuser,
             state.role_createrole) = row[:4]
            state.role_powers = [p for p, held in zip(SERVER_POWERS, row[4:], strict=True)
                                 if held]
        cur.execute("SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), "
                    "datistemplate FROM pg_database WHERE datname = %s", (settings.db_name,))
        state.db_owner, state.db_encoding, state.db_template = (cur.fetchone()
                                                                or (None, None, False))
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


def refuse_takeover(state: State, settings) -> None:
    """Raise before any change when the role or database named is not the application's own:
    the admin role, a superuser, a role with CREATEROLE or server-file/program powers; a
    maintenance or template database."""
    role, name = settings.db_user, settings.db_name
    reason, values = None, {"role": role, "dbname": name}
    if role in (settings.admin_user, state.admin_name):
        reason = "admin"
    elif state.role_superuser:
        reason = "superuser"
    elif state.role_createrole:
        reason = "createrole"
    elif state.role_powers:
        reason = "powers"
        values.update(powers=", ".join(state.role_powers),
                      revoke=" ".join(f"REVOKE {p} FROM {role};" for p in state.role_powers))
    elif name.lower() in MAINTENANCE_DBS:
        reason = "maintenance"
        values["why"] = TEMPLATE_WHY if name.startswith("template") else MAINTENANCE_WHY
    elif state.db_template:
        reason = "template"
    if reason:
        message, fix = TAKEOVER[reason]
        raise ProvisionError(message, fix, **values)


def plan(state: State, settings, password_ok: bool) -> list[str]:
    """The changes needed, as action names, in the order they run. An existing role's
    password is set only with `reset_password` (never because it does not authenticate)."""
    actions = []
    if not state.role_exists:
        actions.append("create_role")
    elif (not state.role_login or not password_ok) and settings.reset_password:
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
              "action": Filled({lang: t(AND, lang, first=", ".join(t(ACTIONS[a], lang)
                                                                 for a in actions[:-1]),
                                        rest=t(ACTIONS[actions[-1]], lang))
                                if len(actions) > 1 else t(ACTIONS[actions[0]], lang)
                                for lang in LANGUAGES})}
    raise ProvisionError(NO_PRIVILEGE, NO_PRIVILEGE_FIX, **values)


def _verifier(conn, settings) -> str:
    if not settings.password:
        raise ProvisionError(NO_PASSWORD, NO_PASSWORD_FIX, role=settings.db_user,
                             env=settings.password_env)
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
                raise ProvisionError(STATEMENT_FAILED, STATEMENT_FAILED_FIX,
                                     action=ACTIONS[action],
                                     error=str(exc.pgerror or exc).strip()) from None

NAMES = {
    "DB001": {"en": "admin privileges", "ko": "관리자 권한"},
    "DB002": {"en": "application role", "ko": "애플리케이션 역할"},
    "DB003": {"en": "role password", "ko": "역할 비밀번호"},
    "DB004": {"en": "database", "ko": "데이터베이스"},
    "DB005": {"en": "database owner", "ko": "데이터베이스 소유자"},
    "DB006": {"en": "schema public rights", "ko": "public 스키마 권한"},
    "DB007": {"en": "connect as app role", "ko": "애플리케이션 역할로 접속"},
    "DB000": {"en": "dry run", "ko": "시험 실행 (dry run)"},
}
MISSING_SCHEMA = {"en": "schema public is missing", "ko": "public 스키마가 없음"}
MISSING_SCHEMA_FIX = {"en": "As {admin}: CREATE SCHEMA public AUTHORIZATION {role};",
                      "ko": "{admin}(으)로 실행하세요: CREATE SCHEMA public AUTHORIZATION {role};"}
NO_TABLE = {"en": "{user} cannot create a table: {error}",
            "ko": "{user}은(는) 테이블을 만들 수 없음: {error}"}
NO_TABLE_FIX = {"en": "Make {role} the owner: ALTER DATABASE {db} OWNER TO {role}; (stage 02 "
                      "does this).",
                "ko": "{role}을(를) 소유자로 만드세요: ALTER DATABASE {db} OWNER TO {role}; "
                      "(02단계가 하는 일)."}
NOTHING = {"en": "nothing", "ko": "없음"}


def _name(cid: str, language: str | None) -> str:
    return t(NAMES[cid], language)


def _row(cid: str, label: str, key: str, changed: bool, language: str, **values) -> Check:
    if "what" in values:
        values["what"] = t(WHAT[values["what"]], language)
    return Check(cid, label, "ok", t(MSG[key], language, **values), details={"changed": changed})


def _password_row(state: State, actions: list[str], settings, password_ok: bool) -> Check:
    """DB003: set for a new role, kept, reset on purpose (warn, loudly), or failing."""
    lang, role = settings.language, settings.db_user
    source = settings.password.source if settings.password else "~/.pgpass"
    if "create_role" in actions:
        return _row("DB003", _name("DB003", lang), "pw_set", True, lang, source=source)
    if "set_password" in actions:
        return Check("DB003", _name("DB003", lang), "warn",
                     t(PW_RESET, lang, role=role, source=source),
                     t(PW_RESET_FIX, lang, role=role),
                     details={"changed": True, "password_reset": True})
    if state.role_login and password_ok:
        return _row("DB003", _name("DB003", lang), "pw_ok", False, lang, source=source)
    values = {"role": role, "source": source, "password_env": settings.password_env,
              "nologin": "" if state.role_login else t(PW_NOLOGIN, lang)}
    return Check("DB003", _name("DB003", lang), "fail", t(PW_WRONG, lang, **values),
                 t(PW_WRONG_FIX, lang, **values), details={"changed": False})


def summarise(state: State, actions: list[str], settings,
              password_ok: bool = True) -> list[Check]:
    """DB001-DB005 rows describing what was found and what was done."""
    lang, user, name = settings.language, settings.db_user, settings.db_name
    who = "superuser" if state.superuser else "CREATEROLE" * state.createrole + (
        " CREATEDB" * state.createdb)
    rows = [Check("DB001", _name("DB001", lang), "ok", f"{settings.admin_user}: {who.strip()}",
                  details={"changed": False})]
    if "create_role" in actions:
        rows.append(_row("DB002", _name("DB002", lang), "created", True, lang, what="role",
                         name=user))
    else:
        rows.append(_row("DB002", _name("DB002", lang), "exists", False, lang, what="role",
                         name=user))
    rows.append(_password_row(state, actions, settings, password_ok))
    created = "create_database" in actions
    rows.append(_row("DB004", _name("DB004", lang), "created" if created else "exists", created, lang,
                     what="database", name=name))
    if "set_owner" in actions:
        rows.append(_row("DB005", _name("DB005", lang), "owner_set", True, lang, owner=user,
                         old=state.db_owner))
    else:
        rows.append(_row("DB005", _name("DB005", lang), "owner_new" if created else "owner_ok",
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
                return Check("DB006", _name("DB006", settings.language), "fail",
                             t(MISSING_SCHEMA, settings.language),
                             t(MISSING_SCHEMA_FIX, settings.language, admin=settings.admin_user,
                               role=settings.db_user))
            if row[0]:
                return Check("DB006", _name("DB006", settings.language), "ok",
                             t(SCHEMA_OK, settings.language, role=settings.db_user,
                               owner=row[1]), details={"changed": False})
            cur.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(
                sql.Identifier(settings.db_user)))
    return Check("DB006", _name("DB006", settings.language), "ok",
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
        return Check("DB007", _name("DB007", settings.language), "fail",
                     t(NO_TABLE, settings.language, user=user,
                       error=str(exc.pgerror or exc).strip()),
                     t(NO_TABLE_FIX, settings.language, role=settings.db_user,
                       db=settings.db_name))
    finally:
        conn.rollback()
        conn.close()
    return Check("DB007", _name("DB007", settings.language), "ok",
                 t(LOGIN_OK, settings.language, dsn=settings.dsn(), role=user, db=name),
                 details={"changed": False, "server": version})


def create_database(settings) -> CheckTable:
    """Create (or confirm) the app role and database; every row says whether it changed."""
    with db.connection(settings, admin=True, autocommit=True) as conn:
        state = inspect(conn, settings)
        refuse_takeover(state, settings)
        probe_db = settings.db_name if state.db_owner else "postgres"
        pw_ok = state.role_exists and state.role_login and password_works(settings, probe_db)
        actions = plan(state, settings, pw_ok)
        require_privileges(state, actions, settings)
        if settings.dry_run:
            return table([Check("DB000", _name("DB000", settings.language), "skip",
                                t(MSG["would"], settings.language,
                                  action=", ".join(actions) or t(NOTHING, settings.language)),
                                details={"changed": False, "actions": actions})])
        apply(conn, settings, state, actions)
    rows = summarise(state, actions, settings, pw_ok)
    _record(settings, rows)
    login = (check_app_login(settings) if rows[2].status != "fail" else
             Check("DB007", _name("DB007", settings.language), "skip",
                   t(LOGIN_SKIPPED, settings.language)))
    return table([*rows, check_schema_rights(settings), login])


def _record(settings, rows: list[Check]) -> None:
    """The manifest's `provision` section: what stage 02 changed, a reset password above all
    (the report shows it as a warning)."""
    reset = any(r.details.get("password_reset") for r in rows)
    manifest.update(settings.run_dir, "provision", {
        "role": settings.db_user, "database": settings.db_name, "changed": changed(rows),
        "password_reset": reset,
        "warning": next((r.message for r in rows if r.details.get("password_reset")), "")})


def changed(rows) -> list[str]:
    """Ids of the rows that changed something on the server."""
    return [r.id for r in rows if r.details.get("changed")]


def changes(rows) -> CheckTable:
    """The rows that changed something on the server (an empty table says: nothing)."""
    return CheckTable([r for r in rows if r.details.get("changed")])


__all__ = ["create_database", "inspect", "plan", "refuse_takeover", "password_works", "changed",
           "changes", "MAINTENANCE_DBS"]
