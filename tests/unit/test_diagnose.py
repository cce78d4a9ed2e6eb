"""diagnose: pasted text, real driver errors and wrapped exceptions map to the right problem."""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace

import psycopg2
import pytest

from runbook_lib.core import diagnose
from runbook_lib.core.catalogue import CATALOGUE
from runbook_lib.core.errors import ConnectError, RunbookError

# One real-world message per catalogue entry (the first three: quoted in the guide).
PASTED = [
    ("django.db.utils.OperationalError: FATAL: password authentication failed", "DX001"),
    ("django.db.utils.OperationalError: server closed the connection unexpectedly", "DX006"),
    ("django.db.utils.ProgrammingError: relation already exists", "DX011"),
    ('connection to server at "localhost" (127.0.0.1), port 5432 failed: FATAL:  password '
     'authentication failed for user "spc_user"', "DX001"),
    ('connection to server at "localhost" (127.0.0.1), port 5432 failed: Connection refused\n'
     "\tIs the server running on that host and accepting TCP/IP connections?", "DX002"),
    ('could not translate host name "db.example" to address: Name or service not known',
     "DX003"),
    ('FATAL:  database "spc_db" does not exist', "DX004"),
    ('FATAL:  role "spc_user" does not exist', "DX005"),
    ('FATAL:  Peer authentication failed for user "spc_user"', "DX007"),
    ("LOG:  could not bind IPv4 address \"127.0.0.1\": Address already in use", "DX008"),
    ('FATAL:  pg_hba.conf rejects connection for host "127.0.0.1", user "spc_user", '
     'database "spc_db", no encryption', "DX009"),
    ("FATAL:  SSL connection is required. Please specify SSL options and retry.", "DX010"),
    ('psycopg2.errors.DuplicateTable: relation "spc_product" already exists', "DX011"),
    ("psycopg2.errors.InsufficientPrivilege: permission denied for schema public\n"
     "LINE 1: CREATE TABLE \"django_migrations\"", "DX012"),
    ("permission denied for table spc_product", "DX013"),
    ("FATAL:  sorry, too many clients already", "DX014"),
    ('duplicate key value violates unique constraint "spc_product_pkey"\n'
     "DETAIL:  Key (id)=(1) already exists.", "DX015"),
    ('invalid byte sequence for encoding "UTF8": 0x00\nCONTEXT:  COPY t, line 1', "DX016"),
    ('invalid byte sequence for encoding "UTF8": 0xc1 0x20', "DX017"),
    ('value "3000000000" is out of range for type integer', "DX018"),
    ("value too long for type character varying(20)", "DX019"),
    ('invalid input syntax for type integer: "N/A"', "DX020"),
    ("sqlite3.OperationalError: database is locked", "DX021"),
    ("ModuleNotFoundError: No module named 'psycopg2'", "DX022"),
    ('character with byte sequence 0xec 0x95 0x88 in encoding "UTF8" has no equivalent in '
     'encoding "LATIN1"', "DX023"),
    ("RuntimeWarning: DateTimeField Measurement.measured_at received a naive datetime "
     "(2026-01-01 00:00:00) while time zone support is active.", "DX024"),
    ('relation "spc_product" does not exist', "DX025"),
    ("pg_dump: error: aborting because of server version mismatch", "DX026"),
    ('insert or update on table "spc_measurement" violates foreign key constraint '
     '"spc_measurement_product_id_fk"', "DX027"),
    ('invalid dsn: invalid connection option "init_command"', "DX028"),
    ("OSError: [Errno 28] No space left on device", "DX029"),
    ("SourceError: Cannot read /srv/db.sqlite3: database or disk is full.", "DX029"),
    ("ModuleNotFoundError: No module named 'rest_framework'", "DX030"),
    ("ValidationFailed: The target's last migration, runs-1-ab12cd34 (started 2025-01-02T03:04:05"
     "+00:00, snapshot runs/1/snapshot.sqlite3), did not finish: it failed or was killed, or it "
     "still runs.", "DX031"),
]


@pytest.mark.parametrize("text, problem_id", PASTED)
def test_pasted_text_names_the_problem(text, problem_id):
    assert diagnose.explain(text).problem_id == problem_id


def test_every_catalogue_entry_has_a_pasted_example_and_both_languages():
    assert {p.id for p in CATALOGUE} <= {pid for _, pid in PASTED}
    for problem in CATALOGUE:
        for text in (problem.title, problem.fix, *problem.causes):
            assert text["en"] and text["ko"], problem.id
        d = diagnose.explain(next(t for t, pid in PASTED if pid == problem.id), language="ko")
        assert d.causes and d.fix and d.doc.startswith("https://")


def test_guide_corrections_are_in_the_fixes():
    fix = diagnose.explain(PASTED[0][0]).fix
    assert "scram-sha-256" in fix and "md5" in fix
    assert "5433" in diagnose.explain(PASTED[1][0]).fix
    relation = diagnose.explain(PASTED[2][0]).fix
    assert "--fake-initial" in relation and "dangerous" in relation
    assert "--run-syncdb` is not a fix" in relation


def test_causes_are_ranked_for_the_configuration():
    text = PASTED[10][0]
    remote = SimpleNamespace(db_host="db.example.com", target="server", db_port=5432)
    local = SimpleNamespace(db_host="localhost", target="embedded", db_port=5432)
    assert "SSL" in diagnose.explain(text, remote).causes[0]
    assert not any("SSL" in c for c in diagnose.explain(text, local).causes)
    refused = diagnose.explain(PASTED[4][0], local).causes
    assert not any("listen_addresses" in c for c in refused)


def test_fix_is_filled_with_the_settings():
    settings = SimpleNamespace(db_host="localhost", db_port=6543, db_name="shop", db_user="app",
                               password_env="APP_PW", target="server", language="en")
    d = diagnose.explain(PASTED[0][0], settings)
    assert "ALTER ROLE app" in d.fix and "APP_PW" in d.fix
    assert diagnose.explain(PASTED[0][0], settings, "ko").title == "비밀번호 인증 실패"


def test_real_driver_error_by_sqlstate(pg):
    conn = pg.admin()
    try:
        with conn.cursor() as cur, pytest.raises(psycopg2.Error) as info:
            cur.execute("select 'x'::integer")
    finally:
        conn.close()
    assert info.value.pgcode == "22P02"
    assert diagnose.explain(info.value).problem_id == "DX020"


def test_wrapped_cause_is_walked(pg):
    try:
        try:
            psycopg2.connect(host="localhost", port=pg.port, user="postgres", password="wrong",
                             dbname="postgres")
        except psycopg2.Error as exc:
            raise RuntimeError("Django wrapped it") from exc
    except RuntimeError as outer:
        assert diagnose.explain(outer).problem_id == "DX001"


def test_sqlite_locked_from_a_real_lock(tmp_path):
    path = tmp_path / "db.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("create table t (x)")
    writer.execute("begin exclusive")
    try:
        with pytest.raises(sqlite3.OperationalError) as info:
            sqlite3.connect(path, timeout=0.05).execute("select * from t")
    finally:
        writer.execute("rollback")
        writer.close()
    assert diagnose.explain(info.value).problem_id == "DX021"


def test_address_in_use_by_errno():
    assert diagnose.explain(OSError(98, "Address already in use")).problem_id == "DX008"
    assert diagnose.match(OSError(98, "x")).id == "DX008"


def test_unknown_error_keeps_its_own_hint():
    d = diagnose.explain(RunbookError("something odd", "do the obvious thing"))
    assert d.problem_id == "" and d.fix == "do the obvious thing"  # its own hint, no DX000
    assert str(d) == "Fix: do the obvious thing" and not d.causes


def test_connect_error_message_carries_the_diagnosis(make_settings, monkeypatch):
    from runbook_lib.core import db

    monkeypatch.setenv("DB_PASSWORD", "definitely-wrong")
    settings = make_settings(db_user="postgres", db_name="postgres")
    with pytest.raises(ConnectError) as info:
        db.connect(settings)
    assert "password authentication failed" in str(info.value)
    assert "definitely-wrong" not in str(info.value)


def test_secrets_never_in_the_diagnosis():
    d = diagnose.explain("could not connect: postgresql://u:hunter2@localhost/x "
                         "password authentication failed")
    assert "hunter2" not in str(d.as_dict())


def test_catalogue_frame_lists_every_problem():
    frame = diagnose.catalogue_frame("ko")
    assert list(frame["id"]) == [p.id for p in CATALOGUE]


@pytest.mark.parametrize("ename, evalue, problem_id", [
    ("ConnectError", "Could not connect as spc_user@localhost:55432/spc_db: password "
     "authentication failed (connection to server at \"localhost\" (127.0.0.1), port 55432 "
     "failed: FATAL:  password authentication failed for user \"spc_user\").\nFix: ...", "DX001"),
    ("ManageError", "manage.py migrate failed (postgresql): django.db.utils.ProgrammingError: "
     "relation \"spc_product\" already exists", "DX011"),
    ("CheckFailed", "1 check(s) failed: DB006 schema rights: permission denied for schema "
     "public", "DX012"),
])
def test_runner_failure_carries_the_diagnosis(ename, evalue, problem_id):
    from papermill.exceptions import PapermillExecutionError

    from runbook_lib.app import runner

    exc = PapermillExecutionError(4, 3, "cell source", ename, evalue, ["Traceback", evalue])
    error, diagnosis = runner._failure(exc, {"target": "embedded", "db_port": 55432,
                                             "db_name": "spc_db", "language": "en"})
    assert error["type"] == ename and diagnosis["problem"] == problem_id
    assert diagnosis["fix"] and diagnosis["causes"]


def test_runner_failure_unknown_error_keeps_its_hint():
    from papermill.exceptions import PapermillExecutionError

    from runbook_lib.app import runner

    exc = PapermillExecutionError(1, 1, "", "MigrationError", "odd thing\nFix: do X", [])
    _, diagnosis = runner._failure(exc, {})
    assert diagnosis["problem"] == "" and diagnosis["fix"] == "do X"


def test_failed_program_is_diagnosed_from_its_stderr():
    import subprocess

    from runbook_lib.core.server import free_port, tool

    with pytest.raises(subprocess.CalledProcessError) as info:
        subprocess.run([str(tool("psql")), "-h", "127.0.0.1", "-p", str(free_port()), "-c",
                        "select 1"], capture_output=True, text=True, check=True, timeout=30)
    assert diagnose.explain(info.value).problem_id == "DX002"
    with pytest.raises(FileNotFoundError) as missing:
        subprocess.run(["/nonexistent/bin/pg_dump", "--version"], check=True)
    assert diagnose.explain(missing.value).problem_id == "DX026"


def test_the_role_named_in_the_error_wins_over_the_settings():
    settings = SimpleNamespace(db_user="spc_user", admin_user="postgres", db_name="spc_db",
                               password_env="DB_PASSWORD", admin_password_env="PGADMIN_PASSWORD",
                               target="server", db_host="localhost", db_port=5432)
    admin = diagnose.explain('FATAL:  password authentication failed for user "postgres"',
                             settings)
    assert "ALTER ROLE postgres" in admin.fix and "PGADMIN_PASSWORD" in admin.fix
    missing = diagnose.explain('FATAL:  database "shop" does not exist', settings)
    assert "CREATE DATABASE shop" in missing.fix
