"""The faults behind the drills: how each one breaks, fails, is fixed and is restored.

Each fault has four functions: `start(settings) -> memory` breaks the environment and
returns what it changed (JSON, no secrets), `check(settings, memory)` runs the step that
fails in real life and lets its real error escape, `fix(settings, memory) -> str` applies
the fix a user would apply, and `reset(settings, memory)` puts back exactly what was there.
Maintenance goes through the embedded server's trusted socket, never through the app role.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from secrets import token_hex

import psutil
import psycopg2
from dotenv import dotenv_values
from psycopg2 import sql

from . import db, djangoproj, paths, server
from .secrets import register

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


def drill_dir() -> Path:
    folder = paths.state_dir() / "drills"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


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
    return (f"Put the role's real password back into {settings.password_env} in .env "
            f"(or, as the admin, ALTER ROLE {settings.db_user} PASSWORD to match .env).")


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
    return "Started the server again (`runbook server start`)."


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
    return (f"Stopped the program that held port {settings.db_port} (pid {memory.get('pid')}) "
            "and started PostgreSQL on it.")


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
    return "Removed the reject lines from pg_hba.conf and reloaded (SELECT pg_reload_conf())."


def hba_reset(settings, memory: dict) -> None:
    _hba_file(settings).write_text(memory["original"])
    _reload(settings)


# -- 5. relation pre-created before migrate ----------------------------------------------------
PRECREATED = "drill_precreated"


def _django_ready(settings) -> str | None:
    """The app whose only, initial migration the drill can un-record (Django path), or None."""
    folder = settings.django_dir
    if not folder or not (folder / "manage.py").is_file():
        return None
    rows = run_admin(settings, "SELECT to_regclass('public.django_migrations') IS NOT NULL",
                     dbname=settings.db_name)
    if not rows[0][0]:
        return None
    apps = run_admin(settings, "SELECT app FROM django_migrations GROUP BY app HAVING count(*) = 1"
                               " AND min(name) = '0001_initial' ORDER BY app IN ('sessions', "
                               "'contenttypes', 'auth', 'admin'), max(id) DESC",
                     dbname=settings.db_name)
    return apps[0][0] if apps else None


def relation_start(settings) -> dict:
    ensure_server(settings)
    app = _django_ready(settings)
    if app:
        rows = run_admin(settings, "SELECT id, app, name, applied::text FROM django_migrations "
                                   "WHERE app = %s", (app,), settings.db_name)
        run_admin(settings, "DELETE FROM django_migrations WHERE app = %s", (app,),
                  settings.db_name)
        return {"mode": "django", "app": app, "rows": rows}
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {PRECREATED} (id integer, label varchar(10))")
    return {"mode": "sql", "table": PRECREATED}


def relation_check(settings, memory: dict) -> None:
    mode = memory.get("mode") or ("django" if _django_ready(settings) else "sql")
    if mode == "django":
        app = [memory["app"]] if memory.get("app") else []
        djangoproj.manage(settings, "migrate", *app, "--noinput", timeout=300)
        return
    app_rolled_back(settings, f"CREATE TABLE {PRECREATED} (id bigserial PRIMARY KEY, "
                              "label text NOT NULL)")


def relation_fix(settings, memory: dict) -> str:
    if memory["mode"] == "django":
        djangoproj.manage(settings, "migrate", memory["app"], "--fake-initial", "--noinput",
                          timeout=300)
        return (f"The tables of app {memory['app']} match its models exactly, so "
                f"`manage.py migrate {memory['app']} --fake-initial` recorded the initial "
                "migration without running it.")
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute(f"DROP TABLE {PRECREATED}")
    return (f"{PRECREATED} was empty and differs from the planned table (varchar(10), no "
            "primary key), so --fake-initial would have kept the wrong definition: dropped it "
            "so the migration creates it correctly.")


def relation_reset(settings, memory: dict) -> None:
    if memory["mode"] == "django":
        run_admin(settings, "DELETE FROM django_migrations WHERE app = %s", (memory["app"],),
                  settings.db_name)
        for row in memory["rows"]:
            run_admin(settings, "INSERT INTO django_migrations (id, app, name, applied) "
                                "VALUES (%s, %s, %s, %s)", tuple(row), settings.db_name)
        return
    run_admin(settings, f"DROP TABLE IF EXISTS {PRECREATED}", dbname=settings.db_name)


# -- 6. CREATE on schema public revoked --------------------------------------------------------
def _schema_acl(settings) -> list:
    return run_admin(settings, "SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE "
                               "a.grantee::regrole::text END, "
                               "a.privilege_type, a.is_grantable FROM pg_namespace n, "
                               "aclexplode(n.nspacl) a WHERE n.nspname = 'public' "
                               "AND a.grantee <> n.nspowner", dbname=settings.db_name)


def _role(name: str):
    return sql.SQL("PUBLIC") if name in ("PUBLIC", "-") else sql.Identifier(name.strip('"'))


def schema_start(settings) -> dict:
    ensure_server(settings)
    owner = run_admin(settings, "SELECT nspowner::regrole::text FROM pg_namespace WHERE "
                                "nspname = 'public'", dbname=settings.db_name)[0][0]
    memory = {"owner": owner, "acl": _schema_acl(settings)}
    run_admin(settings, sql.SQL("ALTER SCHEMA public OWNER TO {}; REVOKE CREATE ON SCHEMA public "
                                "FROM PUBLIC, {}").format(sql.Identifier(settings.admin_user),
                                                          sql.Identifier(settings.db_user)),
              dbname=settings.db_name)
    return memory


def schema_check(settings, memory: dict) -> None:
    app_rolled_back(settings, "CREATE TABLE drill_schema_probe (id integer)")


def schema_fix(settings, memory: dict) -> str:
    run_admin(settings, sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(
        sql.Identifier(settings.db_user)), dbname=settings.db_name)
    return f"GRANT USAGE, CREATE ON SCHEMA public TO {settings.db_user}; (as the admin)"


def schema_reset(settings, memory: dict) -> None:
    statements = [sql.SQL("ALTER SCHEMA public OWNER TO {}").format(_role(memory["owner"]))]
    for grantee, _, _ in _schema_acl(settings):
        statements.append(sql.SQL("REVOKE ALL ON SCHEMA public FROM {}").format(_role(grantee)))
    for grantee, privilege, grantable in memory["acl"]:
        statements.append(sql.SQL("GRANT {} ON SCHEMA public TO {}{}").format(
            sql.SQL(privilege), _role(grantee), sql.SQL(" WITH GRANT OPTION" if grantable else "")))
    for statement in statements:
        run_admin(settings, statement, dbname=settings.db_name)


# -- 7. a sequence set behind max(id) ----------------------------------------------------------
SEQ_TABLE = "drill_sequence"


def _sequence_target(settings) -> tuple | None:
    from .probes import SEQUENCES_SQL

    for table_name, column, sequence, _ in run_admin(settings, SEQUENCES_SQL,
                                                     dbname=settings.db_name):
        if table_name.startswith(("public.django_", "public.auth_")):
            continue
        found = run_admin(settings, sql.SQL(
            "SELECT min({c}), (SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass AND "
            "indisunique AND NOT indisprimary) FROM {t}").format(
            c=sql.Identifier(column), t=sql.SQL(table_name)), (table_name,), settings.db_name)
        if found[0][0] is not None and found[0][1] == 0:  # only the key can collide
            return table_name, column, sequence
    return None


def sequence_start(settings) -> dict:
    ensure_server(settings)
    target, created = _sequence_target(settings), False
    if target is None:
        with db.connection(settings) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE TABLE {SEQ_TABLE} (id serial PRIMARY KEY, note text NOT NULL);"
                        f"INSERT INTO {SEQ_TABLE} (note) VALUES ('a'), ('b'), ('c')")
        target, created = (f"public.{SEQ_TABLE}", "id", f"{SEQ_TABLE}_id_seq"), True
    table_name, column, sequence = target
    last, called = run_admin(settings, sql.SQL("SELECT last_value, is_called FROM {}").format(
        sql.SQL(sequence)), dbname=settings.db_name)[0]
    lowest = run_admin(settings, sql.SQL("SELECT min({c}) FROM {t}").format(
        c=sql.Identifier(column), t=sql.SQL(table_name)), dbname=settings.db_name)[0][0]
    run_admin(settings, "SELECT setval(%s, %s, false)", (sequence, lowest), settings.db_name)
    return {"table": table_name, "column": column, "sequence": sequence, "last_value": last,
            "is_called": called, "created": created}


def sequence_check(settings, memory: dict) -> None:
    """Insert one new row the way the app does (id from the sequence); always rolled back."""
    if not memory:
        target = _sequence_target(settings)
        if target is None:
            return
        memory = dict(zip(("table", "column", "sequence"), target, strict=True))
    columns = [r[0] for r in run_admin(
        settings, "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                  "AND NOT attisdropped AND attname <> %s AND attgenerated = '' ORDER BY attnum",
        (memory["table"], memory["column"]), settings.db_name)]
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    app_rolled_back(settings, sql.SQL("INSERT INTO {t} ({c}) SELECT {c} FROM {t} ORDER BY {k} "
                                      "LIMIT 1").format(t=sql.SQL(memory["table"]), c=cols,
                                                        k=sql.Identifier(memory["column"])))


def sequence_fix(settings, memory: dict) -> str:
    statement = sql.SQL("SELECT setval(%s, (SELECT max({c}) FROM {t}))").format(
        c=sql.Identifier(memory["column"]), t=sql.SQL(memory["table"]))
    run_admin(settings, statement, (memory["sequence"],), settings.db_name)
    return (f"SELECT setval('{memory['sequence']}', (SELECT max({memory['column']}) FROM "
            f"{memory['table']})); (what `manage.py sqlsequencereset` prints)")


def sequence_reset(settings, memory: dict) -> None:
    if memory["created"]:
        run_admin(settings, f"DROP TABLE IF EXISTS {SEQ_TABLE}", dbname=settings.db_name)
        return
    run_admin(settings, "SELECT setval(%s, %s, %s)",
              (memory["sequence"], memory["last_value"], memory["is_called"]), settings.db_name)


# -- 8. a NUL byte in source text --------------------------------------------------------------
def _text_cell(con: sqlite3.Connection) -> tuple[str, str, int] | None:
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                        "AND name NOT LIKE 'sqlite_%' ORDER BY name LIKE "
                                        "'django_%' OR name LIKE 'auth_%', name")]
    for name in tables:
        for _, column, kind, *_ in con.execute(f'PRAGMA table_info("{name}")'):
            if any(k in (kind or "").upper() for k in ("CHAR", "TEXT", "CLOB")):
                row = con.execute(f'SELECT rowid FROM "{name}" WHERE length("{column}") > 2 '
                                  "ORDER BY rowid LIMIT 1").fetchone()
                if row:
                    return name, column, row[0]
    return None


def nul_start(settings) -> dict:
    copy = drill_dir() / "source_with_nul.sqlite3"
    copy.unlink(missing_ok=True)
    target = sqlite3.connect(copy)
    if settings.sqlite_file.is_file():
        source = sqlite3.connect(f"file:{settings.sqlite_file}?mode=ro", uri=True)
        source.backup(target)
        source.close()
    cell = _text_cell(target)
    if cell is None:
        target.execute("CREATE TABLE drill_notes (id integer PRIMARY KEY, body text)")
        target.executemany("INSERT INTO drill_notes (body) VALUES (?)",
                           [("first note",), ("second note",)])
        cell = ("drill_notes", "body", 1)
    table_name, column, rowid = cell
    target.execute(f'UPDATE "{table_name}" SET "{column}" = substr("{column}", 1, 2) || char(0) '
                   f'|| substr("{column}", 3) WHERE rowid = ?', (rowid,))
    target.commit()
    target.close()
    return {"copy": str(copy), "table": table_name, "column": column, "rowid": rowid}


def _copy_line(values: tuple) -> str:
    out = []
    for value in values:
        if value is None:
            out.append("\\N")
        else:
            text = value.hex() if isinstance(value, bytes) else str(value)
            out.append(text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                       .replace("\r", "\\r"))
    return "\t".join(out) + "\n"


def nul_check(settings, memory: dict) -> None:
    """COPY the table's first rows (and the bad one) into PostgreSQL, as the load does."""
    if not memory:
        if not settings.sqlite_file.is_file():
            return
        con = sqlite3.connect(f"file:{settings.sqlite_file}?mode=ro", uri=True)
        cell = _text_cell(con)
        con.close()
        if cell is None:
            return
        memory = {"copy": str(settings.sqlite_file),
                  **dict(zip(("table", "column", "rowid"), cell, strict=True))}
    con = sqlite3.connect(f"file:{memory['copy']}?mode=ro", uri=True)
    try:
        cursor = con.execute(f'SELECT * FROM "{memory["table"]}" WHERE rowid <= ? ORDER BY rowid '
                             "LIMIT 200", (memory["rowid"],))
        names = [d[0] for d in cursor.description]
        data = "".join(_copy_line(row) for row in cursor)
    finally:
        con.close()
    columns = ", ".join(f'"{n}" text' for n in names)
    conn = db.connect(settings)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE drill_load ({columns}) ON COMMIT DROP")
            cur.copy_expert("COPY drill_load FROM STDIN", io.BytesIO(data.encode("utf-8")))
    finally:
        conn.rollback()
        conn.close()


NUL_CLEAN = ("UPDATE {t} SET {c} = CAST(substr(CAST({c} AS BLOB), 1, instr(CAST({c} AS BLOB), "
             "x'00') - 1) || substr(CAST({c} AS BLOB), instr(CAST({c} AS BLOB), x'00') + 1) "
             "AS TEXT) WHERE instr(CAST({c} AS BLOB), x'00') > 0")


def nul_fix(settings, memory: dict) -> str:
    statement = NUL_CLEAN.format(t=f'"{memory["table"]}"', c=f'"{memory["column"]}"')
    con = sqlite3.connect(memory["copy"])
    try:
        while con.execute(statement).rowcount:  # one NUL per value per pass
            pass
        con.commit()
    finally:
        con.close()
    return f"Removed the NUL characters at the source, in SQLite (repeat until 0 rows): {statement};"


def nul_reset(settings, memory: dict) -> None:
    Path(memory["copy"]).unlink(missing_ok=True)
