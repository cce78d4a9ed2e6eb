"""Live probes of the target server, as Check rows (DX1xx): what is wrong right now, and where.

Server up, which port answers, which pg_hba.conf line applies to the app's connection, role
and database exist, rights on schema public, sequences behind their tables, connections in
use. Admin-only facts are read through the embedded server's trusted socket, or as the
admin role on an existing server; a probe that cannot look says `skip` and why.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from dataclasses import replace

import psycopg2

from ..core import db, server
from ..core.diagnose import explain
from ..core.errors import ConnectError
from ..core.hba import address_matches
from ..core.i18n import t
from ..core.results import Check, CheckTable, table

__all__ = ["run", "admin_connection", "hba_rule", "sequences_behind", "app_login"]

COMMON_PORTS = (5432, 5433, 55432)
NOT_RUNNING = {"en": "The embedded server is not running.", "ko": "내장 서버가 실행 중이 아닙니다."}
NOT_RUNNING_FIX = {"en": "Start it: `runbook server start`.",
                   "ko": "서버를 시작하세요: `runbook server start`."}


def admin_connection(settings, dbname: str | None = None):
    """An autocommit admin connection: the trusted socket when embedded, else TCP as admin."""
    if settings.target == "embedded":
        embedded = server.for_settings(settings)
        if not embedded.is_running():
            raise ConnectError(NOT_RUNNING, NOT_RUNNING_FIX)
        conn = psycopg2.connect(**embedded.socket_params(dbname or "postgres",
                                                         settings.admin_user))
    else:
        conn = db.connect(settings, admin=True, dbname=dbname)
    conn.autocommit = True
    return conn


def _rows(settings, sql: str, args: tuple = (), dbname: str | None = None) -> list[tuple]:
    conn = admin_connection(settings, dbname)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()
    finally:
        conn.close()


# -- server and port ---------------------------------------------------------------------------
def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def speaks_postgres(host: str, port: int) -> bool:
    """True when the program on host:port answers PostgreSQL's SSLRequest ('S' or 'N')."""
    try:
        with socket.create_connection((host, port), timeout=2) as conn:
            conn.sendall(struct.pack("!ii", 8, 80877103))
            return conn.recv(1) in (b"S", b"N")
    except OSError:
        return False

NAMES = {
    "DX101": {"en": "server up", "ko": "서버 실행"},
    "DX102": {"en": "port answers", "ko": "포트 응답"},
    "DX103": {"en": "pg_hba rule", "ko": "pg_hba 규칙"},
    "DX104": {"en": "role exists", "ko": "역할 존재"},
    "DX105": {"en": "database exists", "ko": "데이터베이스 존재"},
    "DX106": {"en": "schema public rights", "ko": "public 스키마 권한"},
    "DX107": {"en": "sequences", "ko": "시퀀스"},
    "DX108": {"en": "connections", "ko": "연결"},
    "DX109": {"en": "app login", "ko": "애플리케이션 로그인"},
}
TEXT = {
    "stopped": {"en": "the embedded server is stopped ({where})",
                "ko": "내장 서버가 멈춰 있음 ({where})"},
    "embedded_up": {"en": "embedded PostgreSQL pid {pid}, port {port}",
                    "ko": "내장 PostgreSQL pid {pid}, 포트 {port}"},
    "no_answer": {"en": "The process runs but does not answer on db_port.",
                  "ko": "프로세스는 실행 중이지만 db_port에서 응답하지 않습니다."},
    "accepts": {"en": "{where} accepts TCP connections", "ko": "{where}에서 TCP 연결을 받음"},
    "silent": {"en": "{where} does not answer", "ko": "{where}에서 응답 없음"},
    "speaks": {"en": "{where} answers as PostgreSQL", "ko": "{where}에서 PostgreSQL이 응답함"},
    "mute": {"en": "{where} does not answer as PostgreSQL",
             "ko": "{where}에서 PostgreSQL이 응답하지 않음"},
    "also": {"en": "; also listening: {ports}", "ko": "; 다른 대기 포트: {ports}"},
    "nothing": {"en": "nothing listens on {port}", "ko": "{port} 포트에서 대기하는 것이 없음"},
    "nothing_fix": {"en": "Start the server, or set db_port to the port PostgreSQL uses.",
                    "ko": "서버를 시작하거나 db_port를 PostgreSQL이 쓰는 포트로 설정하세요."},
    "not_pg": {"en": ", which does not speak PostgreSQL", "ko": " (PostgreSQL이 아님)"},
    "not_pg_fix": {"en": "{owner} is not PostgreSQL: stop it or change db_port.",
                   "ko": "{owner}은(는) PostgreSQL이 아닙니다: 멈추거나 db_port를 바꾸세요."},
    "no_line": {"en": "no pg_hba.conf line lets {user} connect over TCP",
                "ko": "{user}의 TCP 접속을 허용하는 pg_hba.conf 줄이 없음"},
    "line": {"en": "line {line}: {rule} (client {client})",
             "ko": "{line}번 줄: {rule} (클라이언트 {client})"},
    "weak": {"en": "{method} is weaker than scram-sha-256: change the method on that line and "
                   "SELECT pg_reload_conf();",
             "ko": "{method}은(는) scram-sha-256보다 약합니다: 그 줄의 방식을 바꾸고 "
                   "SELECT pg_reload_conf(); 를 실행하세요."},
    "no_role": {"en": "role {user} does not exist", "ko": "역할 {user}이(가) 없음"},
    "no_login": {"en": "{user} may not log in", "ko": "{user}은(는) 로그인할 수 없음"},
    "no_password": {"en": "{user} has no password", "ko": "{user}에 비밀번호가 없음"},
    "md5": {"en": "{user} has an md5 password", "ko": "{user}의 비밀번호가 md5임"},
    "set_again": {"en": "Set it again: ALTER ROLE {user} PASSWORD '...'; (stored as SCRAM with "
                        "password_encryption = scram-sha-256).",
                  "ko": "다시 설정하세요: ALTER ROLE {user} PASSWORD '...'; "
                        "(password_encryption = scram-sha-256이면 SCRAM으로 저장)."},
    "role_ok": {"en": "{user} (login, SCRAM password)", "ko": "{user} (로그인 가능, SCRAM 비밀번호)"},
    "no_db": {"en": "database {db} is missing", "ko": "데이터베이스 {db}이(가) 없음"},
    "encoding": {"en": "{db} is {encoding}", "ko": "{db}의 인코딩이 {encoding}임"},
    "db_ok": {"en": "{db} (owner {owner}, UTF8)", "ko": "{db} (소유자 {owner}, UTF8)"},
    "lacks": {"en": "{user} lacks {rights} on public",
              "ko": "{user}에게 public 스키마의 {rights} 권한이 없음"},
    "sequences_ok": {"en": "every sequence is past its table's max(id)",
                     "ko": "모든 시퀀스가 테이블의 max(id)보다 앞서 있음"},
    "behind": {"en": "behind: {tables}", "ko": "뒤처진 시퀀스: {tables}"},
    "in_use": {"en": "{used} of {usable} in use (max {limit})",
               "ko": "{usable}개 중 {used}개 사용 중 (최대 {limit})"},
    "connects": {"en": "{dsn} connects", "ko": "{dsn} 접속됨"},
    "cannot_look": {"en": "cannot look: {reason}", "ko": "확인할 수 없음: {reason}"},
    "down": {"en": "server down", "ko": "서버 중지됨"},
}


def _s(settings, key: str, **values) -> str:
    return t(TEXT[key], settings.language, **values)


def check_server_up(settings) -> Check:
    """DX101: something listens at db_host:db_port (and, embedded, the server process runs)."""
    up = _listening(settings.db_host, settings.db_port)
    where = f"{settings.db_host}:{settings.db_port}"
    if settings.target == "embedded":
        embedded = server.for_settings(settings)
        pid = embedded.pid()
        if not pid:
            return Check("DX101", "server up", "fail", _s(settings, "stopped", where=where),
                         "`runbook server start`")
        return Check("DX101", "server up", "ok" if up else "fail",
                     _s(settings, "embedded_up", pid=pid, port=embedded.running_port()),
                     "" if up else _s(settings, "no_answer"))
    return Check("DX101", "server up", "ok" if up else "fail",
                 _s(settings, "accepts" if up else "silent", where=where),
                 "" if up else explain("Connection refused", settings).fix)


def check_port(settings) -> Check:
    """DX102: who answers on db_port, and where PostgreSQL answers if not there."""
    port = settings.db_port
    if settings.db_host not in ("localhost", "127.0.0.1", "::1"):
        up = speaks_postgres(settings.db_host, port)
        return Check("DX102", "port answers", "ok" if up else "fail",
                     _s(settings, "speaks" if up else "mute", where=f"{settings.db_host}:{port}"))
    owner = server.port_owner(port)
    others = [p for p in COMMON_PORTS if p != port and server.port_owner(p)]
    seen = _s(settings, "also", ports=", ".join(map(str, others))) if others else ""
    if owner is None:
        return Check("DX102", "port answers", "fail", _s(settings, "nothing", port=port) + seen,
                     _s(settings, "nothing_fix"),
                     {"owner": None, "others": others})
    is_pg = speaks_postgres(settings.db_host, port)
    return Check("DX102", "port answers", "ok" if is_pg else "fail",
                 f"{port}: {owner}" + ("" if is_pg else _s(settings, "not_pg")) + seen,
                 "" if is_pg else _s(settings, "not_pg_fix", owner=owner),
                 {"owner": owner, "others": others, "postgres": is_pg})


# -- pg_hba.conf -------------------------------------------------------------------------------
def _client_addresses(settings) -> list[str]:
    try:
        infos = socket.getaddrinfo(settings.db_host, settings.db_port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return list(dict.fromkeys(info[4][0] for info in infos))


def _listed(values: list[str], name: str, extra: set[str]) -> bool:
    return any(v in {"all", name} or v in extra for v in values)


def hba_rule(settings, client: str | None = None) -> dict | None:
    """The first pg_hba.conf rule (line, type, method...) matching the app's TCP connection."""
    client = client or (_client_addresses(settings) or ["127.0.0.1"])[0]
    rules = _rows(settings, "SELECT line_number, type, database, user_name, address, netmask, "
                            "auth_method, error FROM pg_hba_file_rules ORDER BY rule_number")
    groups = {f"+{r[0]}" for r in _rows(settings, "SELECT b.rolname FROM pg_auth_members m "
                                        "JOIN pg_roles a ON a.oid = m.member JOIN pg_roles b ON "
                                        "b.oid = m.roleid WHERE a.rolname = %s",
                                        (settings.db_user,))}
    ssl = _rows(settings, "SELECT current_setting('ssl') = 'on'")[0][0]
    kinds = ("host", "hostssl") if ssl else ("host", "hostnossl")  # libpq's sslmode=prefer
    for line, kind, dbs, users, addr, mask, method, error in rules:
        if error or kind not in kinds:
            continue
        if (_listed(dbs or [], settings.db_name, {"sameuser"} if settings.db_name ==
                    settings.db_user else set())
                and _listed(users or [], settings.db_user, groups)
                and address_matches(addr, mask, client)):
            return {"line": line, "type": kind, "database": dbs, "user": users,
                    "address": addr, "method": method, "client": client}
    return None


def check_hba(settings) -> Check:
    """DX103: which pg_hba.conf line decides the app's login, and whether it is sound."""
    rule = hba_rule(settings)
    if rule is None:
        return Check("DX103", "pg_hba rule", "fail",
                     _s(settings, "no_line", user=settings.db_user),
                     explain("no pg_hba.conf entry", settings).fix)
    text = _s(settings, "line", line=rule["line"], rule=" ".join(
        [rule["type"], ",".join(rule["database"]), ",".join(rule["user"]),
         rule["address"] or "", rule["method"]]), client=rule["client"])
    method = rule["method"]
    if method == "reject":
        return Check("DX103", "pg_hba rule", "fail", text,
                     explain("pg_hba.conf rejects connection", settings).fix, rule)
    if method in ("trust", "password", "md5"):
        return Check("DX103", "pg_hba rule", "warn", text,
                     _s(settings, "weak", method=method), rule)
    return Check("DX103", "pg_hba rule", "ok", text, "", rule)


# -- role, database, schema --------------------------------------------------------------------
def check_role(settings) -> Check:
    """DX104: the app role exists, may log in, and its password is stored as SCRAM."""
    found = _rows(settings, "SELECT rolcanlogin, coalesce(rolpassword, '') LIKE 'SCRAM-SHA-256$%%',"
                            " rolpassword IS NULL FROM pg_authid WHERE rolname = %s",
                  (settings.db_user,))
    if not found:
        return Check("DX104", "role exists", "fail", _s(settings, "no_role", user=settings.db_user),
                     explain('role "x" does not exist', settings).fix)
    login, scram, no_password = found[0]
    if not login:
        return Check("DX104", "role exists", "fail", _s(settings, "no_login", user=settings.db_user),
                     f"ALTER ROLE {settings.db_user} LOGIN;")
    if no_password or not scram:
        return Check("DX104", "role exists", "warn",
                     _s(settings, "no_password" if no_password else "md5", user=settings.db_user),
                     _s(settings, "set_again", user=settings.db_user))
    return Check("DX104", "role exists", "ok", _s(settings, "role_ok", user=settings.db_user))


def check_database(settings) -> Check:
    """DX105: the database exists, its owner, and that it is UTF8."""
    found = _rows(settings, "SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding) "
                            "FROM pg_database WHERE datname = %s", (settings.db_name,))
    if not found:
        return Check("DX105", "database exists", "fail", _s(settings, "no_db", db=settings.db_name),
                     explain('database "x" does not exist', settings).fix)
    owner, encoding = found[0]
    if encoding != "UTF8":
        return Check("DX105", "database exists", "fail", _s(settings, "encoding", db=settings.db_name, encoding=encoding),
                     explain("encoding is not UTF8", settings).fix)
    return Check("DX105", "database exists", "ok", _s(settings, "db_ok", db=settings.db_name, owner=owner),
                 details={"owner": owner})


def check_schema_rights(settings) -> Check:
    """DX106: the app role may USE and CREATE in schema public (PostgreSQL 15+ default)."""
    usage, create = _rows(settings, "SELECT has_schema_privilege(%s, 'public', 'USAGE'), "
                                    "has_schema_privilege(%s, 'public', 'CREATE')",
                          (settings.db_user, settings.db_user), settings.db_name)[0]
    if usage and create:
        return Check("DX106", "schema public rights", "ok", f"{settings.db_user}: USAGE, CREATE")
    return Check("DX106", "schema public rights", "fail",
                 _s(settings, "lacks", user=settings.db_user,
                    rights="CREATE" if usage else "USAGE, CREATE"),
                 explain("permission denied for schema public", settings).fix)


SEQUENCES_SQL = """
SELECT format('%I.%I', n.nspname, t.relname), a.attname, s.seqrelid::regclass::text,
       coalesce(ps.last_value, ps.start_value - 1)
FROM pg_depend d
JOIN pg_class t ON t.oid = d.refobjid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
JOIN pg_sequence s ON s.seqrelid = d.objid
JOIN pg_sequences ps ON format('%I.%I', ps.schemaname, ps.sequencename)::regclass = s.seqrelid
WHERE d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""


def sequences_behind(settings) -> list[dict]:
    """Sequences whose next value is not past max(column) of their table."""
    conn = admin_connection(settings, settings.db_name)
    behind = []
    try:
        with conn.cursor() as cur:
            cur.execute(SEQUENCES_SQL)
            for table_name, column, sequence, last in cur.fetchall():
                cur.execute(f'SELECT max("{column}") FROM {table_name}')
                top = cur.fetchone()[0]
                if top is not None and last < top:
                    behind.append({"table": table_name, "column": column,
                                   "sequence": sequence, "last_value": last, "max": top})
    finally:
        conn.close()
    return behind


def check_sequences(settings) -> Check:
    """DX107: every id sequence is at or past max(id) of its table."""
    behind = sequences_behind(settings)
    if not behind:
        return Check("DX107", "sequences", "ok", _s(settings, "sequences_ok"))
    listed = ", ".join(f"{b['table']} ({b['last_value']} < {b['max']})" for b in behind)
    fixes = " ".join(f"SELECT setval('{b['sequence']}', {b['max']});" for b in behind)
    return Check("DX107", "sequences", "fail", _s(settings, "behind", tables=listed), fixes, {"behind": behind})


def check_connections(settings) -> Check:
    """DX108: connections in use against max_connections (minus reserved slots)."""
    used, limit, reserved = _rows(settings, "SELECT count(*), current_setting('max_connections')"
                                            "::int, current_setting('superuser_reserved_"
                                            "connections')::int FROM pg_stat_activity "
                                            "WHERE backend_type = 'client backend'")[0]
    usable = limit - reserved
    status = "ok" if used < 0.8 * usable else "warn" if used < usable else "fail"
    return Check("DX108", "connections", status, _s(settings, "in_use", used=used, usable=usable, limit=limit),
                 "" if status == "ok" else explain("too many clients already", settings).fix,
                 {"used": used, "max_connections": limit})


def app_login(settings) -> Exception | None:
    """Log in as the app role the way the application does; the error, if any."""
    try:
        psycopg2.connect(**db.connect_kwargs(settings)).close()
    except psycopg2.Error as exc:
        return exc
    return None


def check_login(settings) -> Check:
    """DX109: the app role logs in with the password from its secret, over TCP."""
    error = app_login(settings)
    if error is None:
        return Check("DX109", "app login", "ok", _s(settings, "connects", dsn=settings.dsn()))
    diagnosis = explain(error, settings)
    return Check("DX109", "app login", "fail", f"{diagnosis.title} [{diagnosis.problem_id}]",
                 diagnosis.fix, {"diagnosis": diagnosis.as_dict()})


PROBES: list[tuple[str, str, Callable]] = [
    ("DX101", "server up", check_server_up), ("DX102", "port answers", check_port),
    ("DX109", "app login", check_login), ("DX103", "pg_hba rule", check_hba),
    ("DX104", "role exists", check_role), ("DX105", "database exists", check_database),
    ("DX106", "schema public rights", check_schema_rights),
    ("DX107", "sequences", check_sequences), ("DX108", "connections", check_connections),
]


def _safe(check_id: str, name: str, probe: Callable, settings) -> Check:
    name = t(NAMES[check_id], settings.language)
    try:
        return replace(probe(settings), name=name)
    except (psycopg2.Error, ConnectError) as exc:
        reason = str(exc).strip().splitlines()[0]
        return Check(check_id, name, "skip", _s(settings, "cannot_look", reason=reason),
                     explain(exc, settings).fix)


def run(settings) -> CheckTable:
    """Every probe, in order; later probes skip when the server does not answer."""
    checks = [_safe(i, n, p, settings) for i, n, p in PROBES[:3]]
    if checks[0].status == "fail":
        return table(checks + [Check(i, t(NAMES[i], settings.language), "skip",
                                     _s(settings, "down")) for i, n, _ in PROBES[3:]])
    return table(checks + [_safe(i, n, p, settings) for i, n, p in PROBES[3:]])
