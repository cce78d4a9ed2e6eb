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

import psycopg2

from ..core import db, server
from ..core.diagnose import explain
from ..core.errors import ConnectError
from ..core.hba import address_matches
from ..core.results import Check, CheckTable, table

__all__ = ["run", "admin_connection", "hba_rule", "sequences_behind", "app_login"]

COMMON_PORTS = (5432, 5433, 55432)


def admin_connection(settings, dbname: str | None = None):
    """An autocommit admin connection: the trusted socket when embedded, else TCP as admin."""
    if settings.target == "embedded":
        embedded = server.for_settings(settings)
        if not embedded.is_running():
            raise ConnectError("The embedded server is not running.",
                                  "`runbook server start`")
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


def check_server_up(settings) -> Check:
    """DX101: something listens at db_host:db_port (and, embedded, the server process runs)."""
    up = _listening(settings.db_host, settings.db_port)
    where = f"{settings.db_host}:{settings.db_port}"
    if settings.target == "embedded":
        embedded = server.for_settings(settings)
        pid = embedded.pid()
        if not pid:
            return Check("DX101", "server up", "fail", f"the embedded server is stopped ({where})",
                         "`runbook server start`")
        return Check("DX101", "server up", "ok" if up else "fail",
                     f"embedded PostgreSQL pid {pid}, port {embedded.running_port()}",
                     "" if up else "The process runs but does not answer on db_port.")
    return Check("DX101", "server up", "ok" if up else "fail",
                 f"{where} {'accepts TCP connections' if up else 'does not answer'}",
                 "" if up else explain("Connection refused", settings).fix)


def check_port(settings) -> Check:
    """DX102: who answers on db_port, and where PostgreSQL answers if not there."""
    port = settings.db_port
    if settings.db_host not in ("localhost", "127.0.0.1", "::1"):
        up = speaks_postgres(settings.db_host, port)
        return Check("DX102", "port answers", "ok" if up else "fail",
                     f"{settings.db_host}:{port} {'answers as PostgreSQL' if up else 'does not'}")
    owner = server.port_owner(port)
    others = [p for p in COMMON_PORTS if p != port and server.port_owner(p)]
    seen = f"; also listening: {', '.join(map(str, others))}" if others else ""
    if owner is None:
        return Check("DX102", "port answers", "fail", f"nothing listens on {port}{seen}",
                     "Start the server, or set db_port to the port PostgreSQL uses.",
                     {"owner": None, "others": others})
    is_pg = speaks_postgres(settings.db_host, port)
    return Check("DX102", "port answers", "ok" if is_pg else "fail",
                 f"{port}: {owner}{'' if is_pg else ', which does not speak PostgreSQL'}{seen}",
                 "" if is_pg else f"{owner} is not PostgreSQL: stop it or change db_port.",
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
                     f"no pg_hba.conf line lets {settings.db_user} connect over TCP",
                     explain("no pg_hba.conf entry", settings).fix)
    text = (f"line {rule['line']}: {rule['type']} {','.join(rule['database'])} "
            f"{','.join(rule['user'])} {rule['address'] or ''} {rule['method']} "
            f"(client {rule['client']})")
    method = rule["method"]
    if method == "reject":
        return Check("DX103", "pg_hba rule", "fail", text,
                     explain("pg_hba.conf rejects connection", settings).fix, rule)
    if method in ("trust", "password", "md5"):
        return Check("DX103", "pg_hba rule", "warn", text,
                     f"{method} is weaker than scram-sha-256: change the method on that line "
                     "and SELECT pg_reload_conf();", rule)
    return Check("DX103", "pg_hba rule", "ok", text, "", rule)


# -- role, database, schema --------------------------------------------------------------------
def check_role(settings) -> Check:
    """DX104: the app role exists, may log in, and its password is stored as SCRAM."""
    found = _rows(settings, "SELECT rolcanlogin, coalesce(rolpassword, '') LIKE 'SCRAM-SHA-256$%%',"
                            " rolpassword IS NULL FROM pg_authid WHERE rolname = %s",
                  (settings.db_user,))
    if not found:
        return Check("DX104", "role exists", "fail", f"role {settings.db_user} does not exist",
                     explain('role "x" does not exist', settings).fix)
    login, scram, no_password = found[0]
    if not login:
        return Check("DX104", "role exists", "fail", f"{settings.db_user} may not log in",
                     f"ALTER ROLE {settings.db_user} LOGIN;")
    if no_password or not scram:
        return Check("DX104", "role exists", "warn",
                     f"{settings.db_user} has {'no password' if no_password else 'an md5 password'}",
                     f"Set it again: ALTER ROLE {settings.db_user} PASSWORD '...'; (stored as "
                     "SCRAM with password_encryption = scram-sha-256).")
    return Check("DX104", "role exists", "ok", f"{settings.db_user} (login, SCRAM password)")


def check_database(settings) -> Check:
    """DX105: the database exists, its owner, and that it is UTF8."""
    found = _rows(settings, "SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding) "
                            "FROM pg_database WHERE datname = %s", (settings.db_name,))
    if not found:
        return Check("DX105", "database exists", "fail", f"database {settings.db_name} is missing",
                     explain('database "x" does not exist', settings).fix)
    owner, encoding = found[0]
    if encoding != "UTF8":
        return Check("DX105", "database exists", "fail", f"{settings.db_name} is {encoding}",
                     explain("encoding is not UTF8", settings).fix)
    return Check("DX105", "database exists", "ok", f"{settings.db_name} (owner {owner}, UTF8)",
                 details={"owner": owner})


def check_schema_rights(settings) -> Check:
    """DX106: the app role may USE and CREATE in schema public (PostgreSQL 15+ default)."""
    usage, create = _rows(settings, "SELECT has_schema_privilege(%s, 'public', 'USAGE'), "
                                    "has_schema_privilege(%s, 'public', 'CREATE')",
                          (settings.db_user, settings.db_user), settings.db_name)[0]
    if usage and create:
        return Check("DX106", "schema public rights", "ok", f"{settings.db_user}: USAGE, CREATE")
    return Check("DX106", "schema public rights", "fail",
                 f"{settings.db_user} lacks {'CREATE' if usage else 'USAGE and CREATE'} on public",
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
        return Check("DX107", "sequences", "ok", "every sequence is past its table's max(id)")
    listed = ", ".join(f"{b['table']} ({b['last_value']} < {b['max']})" for b in behind)
    fixes = " ".join(f"SELECT setval('{b['sequence']}', {b['max']});" for b in behind)
    return Check("DX107", "sequences", "fail", f"behind: {listed}", fixes, {"behind": behind})


def check_connections(settings) -> Check:
    """DX108: connections in use against max_connections (minus reserved slots)."""
    used, limit, reserved = _rows(settings, "SELECT count(*), current_setting('max_connections')"
                                            "::int, current_setting('superuser_reserved_"
                                            "connections')::int FROM pg_stat_activity "
                                            "WHERE backend_type = 'client backend'")[0]
    usable = limit - reserved
    status = "ok" if used < 0.8 * usable else "warn" if used < usable else "fail"
    return Check("DX108", "connections", status, f"{used} of {usable} in use (max {limit})",
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
        return Check("DX109", "app login", "ok", f"{settings.dsn()} connects")
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
    try:
        return probe(settings)
    except (psycopg2.Error, ConnectError) as exc:
        reason = str(exc).strip().splitlines()[0]
        return Check(check_id, name, "skip", f"cannot look: {reason}",
                     explain(exc, settings).fix)


def run(settings) -> CheckTable:
    """Every probe, in order; later probes skip when the server does not answer."""
    checks = [_safe(i, n, p, settings) for i, n, p in PROBES[:3]]
    if checks[0].status == "fail":
        return table(checks + [Check(i, n, "skip", "server down") for i, n, _ in PROBES[3:]])
    return table(checks + [_safe(i, n, p, settings) for i, n, p in PROBES[3:]])
