"""The drills' data faults: pre-created relation, revoked schema right, sequence, NUL byte.

Same contract as `faults`: `start` returns what it changed, `check` lets the real error
escape, `fix` applies the user's fix, `reset` restores exactly.
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

from psycopg2 import sql

from ..core import db, django_project
from .faults import app_rolled_back, drill_dir, ensure_server, run_admin, said

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
        django_project.manage(settings, "migrate", *app, "--noinput", timeout=300)
        return
    app_rolled_back(settings, f"CREATE TABLE {PRECREATED} (id bigserial PRIMARY KEY, "
                              "label text NOT NULL)")


def relation_fix(settings, memory: dict) -> str:
    if memory["mode"] == "django":
        django_project.manage(settings, "migrate", memory["app"], "--fake-initial", "--noinput",
                          timeout=300)
        return said(settings, "fake_initial", app=memory["app"])
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute(f"DROP TABLE {PRECREATED}")
    return said(settings, "dropped", table=PRECREATED)


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
    return said(settings, "grant", user=settings.db_user)


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
    return said(settings, "setval", statement=f"SELECT setval('{memory['sequence']}', (SELECT "
                f"max({memory['column']}) FROM {memory['table']}));")


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
    return said(settings, "nul", statement=statement)


def nul_reset(settings, memory: dict) -> None:
    Path(memory["copy"]).unlink(missing_ok=True)


__all__ = ["PRECREATED", "relation_start", "relation_check", "relation_fix", "relation_reset",
           "schema_start", "schema_check", "schema_fix", "schema_reset", "SEQ_TABLE",
           "sequence_start", "sequence_check", "sequence_fix", "sequence_reset", "nul_start",
           "nul_check", "NUL_CLEAN", "nul_fix", "nul_reset"]
