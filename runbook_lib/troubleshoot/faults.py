"""The faults behind the drills (connection faults here, data faults in `data_faults`).

Each fault has four functions: `start(settings) -> memory` breaks the environment and
returns what it changed (JSON, no secrets), `check(settings, memory)` runs the step that
fails in real life and lets its real error escape, `fix(settings, memory) -> str` applies
the fix a user would apply, and `reset(settings, memory)` puts back exactly what was there.
Maintenance goes through the embedded server's trusted socket, never through the app role.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from secrets import token_hex

import psutil
import psycopg2
from dotenv import dotenv_values

from ..core import db, files, paths, server
from ..core.i18n import t
from ..core.secrets import register

LISTENER_MARK = "runbook-drill-listener"
LISTENER = f"""
import socket, sys, time  # {LISTENER_MARK}
socks = []
for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    try:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, int(sys.argv[1]))); s.listen(16); s.setblocking(False); socks.append(s)
    except OSError:
        pass
end = time.time() + 3600
while time.time() < end:
    for s in socks:
        try:
            conn, _ = s.accept(); conn.close()
        except BlockingIOError:
            pass
    time.sleep(0.02)
"""



# What each drill's fix did, as the walk and `runbook drill fix` report it.
FIXED = {
    "password": {"en": "Put the role's real password back into {env} in .env (or, as the admin, "
                       "ALTER ROLE {user} PASSWORD to match .env).",
                 "ko": ".env의 {env}에 역할의 실제 비밀번호를 되돌려 넣었습니다 (또는 관리자로 "
                       ".env에 맞게 ALTER ROLE {user} PASSWORD 실행)."},
    "started": {"en": "Started the server again (`runbook server start`).",
                "ko": "서버를 다시 시작했습니다 (`runbook server start`)."},
    "port": {"en": "Stopped the program that held port {port} (pid {pid}) and started "
                   "PostgreSQL on it.",
             "ko": "{port} 포트를 잡고 있던 프로그램(pid {pid})을 멈추고 그 포트에서 PostgreSQL을 "
                   "시작했습니다."},
    "hba": {"en": "Removed the reject lines from pg_hba.conf and reloaded "
                  "(SELECT pg_reload_conf()).",
            "ko": "pg_hba.conf에서 reject 줄을 지우고 설정을 다시 읽었습니다 "
                  "(SELECT pg_reload_conf())."},
    "fake_initial": {"en": "The tables of app {app} match its models exactly, so `manage.py "
                           "migrate {app} --fake-initial` recorded the initial migration "
                           "without running it.",
                     "ko": "앱 {app}의 테이블이 모델과 정확히 일치하므로 `manage.py migrate {app} "
                           "--fake-initial`이 초기 마이그레이션을 실행하지 않고 기록했습니다."},
    "dropped": {"en": "{table} was empty and differs from the planned table (varchar(10), no "
                      "primary key), so --fake-initial would have kept the wrong definition: "
                      "dropped it so the migration creates it correctly.",
                "ko": "{table}은(는) 비어 있었고 계획한 테이블과 달라(varchar(10), 기본 키 없음) "
                      "--fake-initial이면 잘못된 정의가 남았을 것입니다: 삭제해서 마이그레이션이 "
                      "올바르게 만들게 했습니다."},
    "grant": {"en": "GRANT USAGE, CREATE ON SCHEMA public TO {user}; (as the admin)",
              "ko": "GRANT USAGE, CREATE ON SCHEMA public TO {user}; (관리자로 실행)"},
    "setval": {"en": "{statement} (what `manage.py sqlsequencereset` prints)",
               "ko": "{statement} (`manage.py sqlsequencereset`이 출력하는 문장)"},
    "nul": {"en": "Removed the NUL characters at the source, in SQLite (repeat until 0 rows): "
                  "{statement};",
            "ko": "원본 SQLite에서 NUL 문자를 지웠습니다 (0행이 될 때까지 반복): {statement};"},
}


def said(settings, key: str, **values) -> str:
    """What a fix did, in the user's language."""
    return t(FIXED[key], settings.language, **values)


def drill_dir() -> Path:
    return files.private_dir(paths.make_state_dir() / "drills")


def admin(settings, dbname: str | None = None):
    """Autocommit superuser connection over the embedded server's trusted socket."""
    embedded = server.for_settings(settings)
    conn = psycopg2.connect(**embedded.socket_params(dbname or "postgres", settings.admin_user))
    conn.autocommit = True
    return conn


def run_admin(settings, statement, args=None, dbname: str | None = None) -> list:
    conn = admin(settings, dbname)
    try:
        with conn.cursor() as cur:
            cur.execute(statement, args)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def app_rolled_back(settings, statement, args=None) -> None:
    """Run one statement as the app role inside a transaction that is always rolled back."""
    conn = db.connect(settings)
    try:
        with conn.cursor() as cur:
            cur.execute(statement, args)
    finally:
        conn.rollback()
        conn.close()


def ensure_server(settings) -> None:
    server.ensure_target(settings)


# -- 1. wrong password in .env -----------------------------------------------------------------
def _env_file() -> Path:
    return paths.project_root() / ".env"


def _set_env_line(path: Path, name: str, value: str) -> None:
    lines = path.read_text().splitlines() if path.is_file() else []
    kept = [ln for ln in lines if not ln.strip().startswith(f"{name}=")]
    path.write_text("\n".join([*kept, f"{name}={value}"]) + "\n")
    path.chmod(0o600)


def password_start(settings) -> dict:
    env = _env_file()
    had_env = env.is_file()
    if had_env:
        shutil.copy2(env, drill_dir() / "env.backup")
    wrong = "wrong-" + token_hex(6)
    _set_env_line(env, settings.password_env, wrong)
    return {"env": str(env), "had_env": had_env, "wrong": wrong}


def password_check(settings, memory: dict) -> None:
    """Log in the way the app does after reading .env (a fresh process)."""
    value = dotenv_values(_env_file()).get(settings.password_env) if _env_file().is_file() else None
    kwargs = db.connect_kwargs(settings)
    if value:
        register(value)
        kwargs["password"] = value
    psycopg2.connect(**kwargs).close()


def password_fix(settings, memory: dict) -> str:
    backup = drill_dir() / "env.backup"
    if memory.get("had_env") and backup.is_file():
        shutil.copy2(backup, memory["env"])
    else:
        Path(memory["env"]).unlink(missing_ok=True)
    return said(settings, "password", env=settings.password_env, user=settings.db_user)


def password_reset(settings, memory: dict) -> None:
    password_fix(settings, memory)
    (drill_dir() / "env.backup").unlink(missing_ok=True)
    if os.environ.get(settings.password_env) == memory.get("wrong"):
        del os.environ[settings.password_env]


# -- 2. server stopped -------------------------------------------------------------------------
def stopped_start(settings) -> dict:
    embedded = server.for_settings(settings)
    was_running = embedded.is_running()
    embedded.stop()
    return {"was_running": was_running}


def connect_app(settings, memory: dict | None = None) -> None:
    psycopg2.connect(**db.connect_kwargs(settings)).close()


def stopped_fix(settings, memory: dict) -> str:
    ensure_server(settings)
    return said(settings, "started")


def stopped_reset(settings, memory: dict) -> None:
    if memory.get("was_running", True):
        ensure_server(settings)


# -- 3. port taken by another listener ---------------------------------------------------------
def port_start(settings) -> dict:
    memory = stopped_start(settings)
    proc = subprocess.Popen([sys.executable, "-c", LISTENER, str(settings.db_port)],
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while server.port_owner(settings.db_port) is None and time.time() < deadline:
        time.sleep(0.05)
    return {**memory, "pid": proc.pid}


def _stop_listener(pid: int | None) -> None:
    if not pid or not psutil.pid_exists(pid):
        return
    try:
        proc = psutil.Process(pid)
        if LISTENER_MARK not in " ".join(proc.cmdline()):
            return  # not ours: never kill a process we did not start
        proc.send_signal(signal.SIGTERM)
        proc.wait(5)
    except psutil.Error:
        pass


def start_server(settings, memory: dict | None = None) -> None:
    """Start PostgreSQL on db_port, as `runbook server start` does."""
    ensure_server(settings)


def port_fix(settings, memory: dict) -> str:
    _stop_listener(memory.get("pid"))
    ensure_server(settings)
    return said(settings, "port", port=settings.db_port, pid=memory.get("pid"))


def port_reset(settings, memory: dict) -> None:
    _stop_listener(memory.get("pid"))
    stopped_reset(settings, memory)


# -- 4. pg_hba.conf rejects the client ---------------------------------------------------------
def _hba_file(settings) -> Path:
    return server.for_settings(settings).data_dir / "pg_hba.conf"


def _reload(settings) -> None:
    """Reload the configuration and wait until the server has read it."""
    loaded = run_admin(settings, "SELECT pg_conf_load_time()")[0][0]
    run_admin(settings, "SELECT pg_reload_conf()")
    deadline = time.time() + 10
    while run_admin(settings, "SELECT pg_conf_load_time()")[0][0] == loaded:
        if time.time() > deadline:
            break
        time.sleep(0.05)


def hba_start(settings) -> dict:
    ensure_server(settings)
    hba = _hba_file(settings)
    original = hba.read_text()
    rules = (f"host    all       {settings.db_user}   127.0.0.1/32   reject   # drill\n"
             f"host    all       {settings.db_user}   ::1/128        reject   # drill\n")
    lines = original.splitlines(keepends=True)
    first_host = next((i for i, ln in enumerate(lines) if ln.startswith("host")), len(lines))
    hba.write_text("".join(lines[:first_host]) + rules + "".join(lines[first_host:]))
    _reload(settings)
    return {"original": original}


def hba_fix(settings, memory: dict) -> str:
    hba = _hba_file(settings)
    hba.write_text("".join(ln for ln in hba.read_text().splitlines(keepends=True)
                           if "reject" not in ln.split("#")[0]))
    _reload(settings)
    return said(settings, "hba")


def hba_reset(settings, memory: dict) -> None:
    _hba_file(settings).write_text(memory["original"])
    _reload(settings)


__all__ = ["LISTENER_MARK", "LISTENER", "drill_dir", "admin", "run_admin", "app_rolled_back",
           "ensure_server", "password_start", "password_check", "password_fix", "password_reset",
           "stopped_start", "connect_app", "stopped_fix", "stopped_reset", "port_start",
           "start_server", "port_fix", "port_reset", "hba_start", "hba_fix", "hba_reset"]
