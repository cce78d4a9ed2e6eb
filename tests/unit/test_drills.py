"""drills: each fault reproduces its real error on an embedded server in a tmp workspace,
`explain` names it, the fix clears it, and `reset` restores exactly what was there."""

from __future__ import annotations

import os
import sqlite3

import psycopg2
import pytest

from runbook_lib.app import cli
from runbook_lib.core import diagnose, manifest, server
from runbook_lib.core.config import load_settings
from runbook_lib.core.errors import RunbookError
from runbook_lib.troubleshoot import drills, probes

ADMIN_PW = "drill-admin-pw-1"
APP_PW = "drill-app-pw-1"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A private RUNBOOK_HOME with its own embedded server, app role, database and source."""
    home = tmp_path_factory.mktemp("drills")
    port = server.free_port()
    embedded = server.EmbeddedServer(home / ".runbook" / "pg", port=port)
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    embedded.start("postgres", ADMIN_PW)
    conn = psycopg2.connect(**embedded.socket_params())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE ROLE spc_user LOGIN PASSWORD '{APP_PW}'")
        cur.execute("CREATE DATABASE spc_db OWNER spc_user")
    conn.close()
    app = psycopg2.connect(host="localhost", port=port, user="spc_user", password=APP_PW,
                           dbname="spc_db")
    with app, app.cursor() as cur:
        cur.execute("CREATE TABLE spc_measurement (id serial PRIMARY KEY, value float NOT NULL);"
                    "INSERT INTO spc_measurement (value) SELECT g FROM generate_series(1, 20) g")
    app.close()
    source = sqlite3.connect(home / "source.sqlite3")
    source.execute("CREATE TABLE spc_note (id integer PRIMARY KEY, body varchar(200))")
    source.executemany("INSERT INTO spc_note (body) VALUES (?)", [("in control",), ("drift",)])
    source.commit()
    source.close()
    (home / ".env").write_text(f"DB_PASSWORD={APP_PW}\n")
    yield home, port, embedded
    embedded.destroy()


@pytest.fixture
def settings(workspace, monkeypatch):
    home, port, embedded = workspace
    monkeypatch.setenv("RUNBOOK_HOME", str(home))
    monkeypatch.setenv("PGADMIN_PASSWORD", ADMIN_PW)
    monkeypatch.setenv("DB_PASSWORD", APP_PW)
    for name in ("DB_NAME", "DB_USER", "DB_HOST", "DB_PORT"):
        monkeypatch.delenv(name, raising=False)
    s = load_settings(target="embedded", db_port=port, django_project="", run_drills=True,
                      sqlite_path=str(home / "source.sqlite3"), run_dir=str(home / "run"))
    yield s
    drills.reset(s)
    server.ensure_target(s)


def snapshot(s) -> dict:
    """What a drill may touch, to compare before start and after reset."""
    home = s.root
    embedded = server.for_settings(s)
    conn = psycopg2.connect(**embedded.socket_params("spc_db"))
    with conn.cursor() as cur:
        cur.execute("SELECT nspowner::regrole::text, nspacl::text FROM pg_namespace "
                    "WHERE nspname = 'public'")
        schema = cur.fetchone()
        cur.execute("SELECT last_value, is_called FROM spc_measurement_id_seq")
        sequence = cur.fetchone()
        cur.execute("SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                    "ORDER BY 1")
        tables = [r[0] for r in cur.fetchall()]
    conn.close()
    return {"env": (home / ".env").read_text(), "hba": (embedded.data_dir / "pg_hba.conf")
            .read_text(), "schema": schema, "sequence": sequence, "tables": tables,
            "running": embedded.is_running(), "port": embedded.running_port(),
            "source": (home / "source.sqlite3").read_bytes()}


@pytest.mark.parametrize("name", list(drills.DRILLS))
def test_drill_breaks_diagnoses_fixes_and_resets(settings, name):
    assert drills.check(settings, name).failed is False
    before = snapshot(settings)  # (a healthy insert may have used a sequence value)
    drills.start(settings, name)
    broken = drills.check(settings, name)
    assert broken.failed, f"{name} did not reproduce its error"
    assert broken.diagnosis.problem_id == drills.DRILLS[name].problem, broken
    assert APP_PW not in str(broken) and "wrong-" not in broken.error
    assert diagnose.explain(broken.error).problem_id == drills.DRILLS[name].problem  # pasted
    drills.fix(settings, name)
    assert not drills.check(settings, name).failed
    assert drills.reset(settings) == [name]
    assert snapshot(settings) == before
    assert not drills.check(settings, name).failed


@pytest.mark.parametrize("name", ["wrong_password", "hba_reject", "schema_revoked",
                                  "sequence_behind", "port_taken"])
def test_reset_without_fix_restores(settings, name):
    before = snapshot(settings)
    drills.start(settings, name)
    assert drills.check(settings, name).failed
    drills.reset(settings, name)
    assert snapshot(settings) == before
    assert all(c.status in ("ok", "warn") for c in probes.run(settings))


def test_probes_see_the_broken_state(settings):
    drills.start(settings, "sequence_behind")
    assert probes.check_sequences(settings).status == "fail"
    drills.reset(settings)
    drills.start(settings, "hba_reject")
    checks = {c.id: c for c in probes.run(settings)}
    assert checks["DX103"].status == "fail" and "reject" in checks["DX103"].message
    assert checks["DX109"].status == "fail"


def test_drills_refuse_a_real_server(settings):
    other = load_settings(target="server", db_port=settings.db_port, django_project="",
                          run_dir=settings.run_dir)
    with pytest.raises(RunbookError, match="embedded"):
        drills.start(other, "server_stopped")
    with pytest.raises(RunbookError, match="Unknown drill"):
        drills.start(settings, "nope")


def test_walk_records_every_step_and_skips_when_disabled(settings):
    walked = drills.walk(settings, "server_stopped")
    assert walked.ok and walked.restored and "Real error" in walked._repr_html_()
    assert manifest.read(settings.run_dir)["drills"]["server_stopped"]["ok"]
    off = load_settings(**{**settings.parameters(), "run_drills": False})
    assert drills.walk(off, "hba_reject").skipped == "run_drills is false"
    table = {c.name: c.status for c in drills.results(settings)}
    assert table["drill server_stopped"] == "ok" and table["drill hba_reject"] == "skip"
    assert drills.summary(settings)["server_stopped"] == "DX002"


def test_cli_start_check_reset(settings, tmp_path, capsys):
    profile = tmp_path / "drill.yaml"
    profile.write_text(f"target: embedded\ndb_port: {settings.db_port}\ndjango_project: ''\n"
                       f"sqlite_path: {settings.sqlite_path}\nrun_dir: {settings.run_dir}\n")
    assert cli.main(["drill", "list"]) == 0
    assert "sequence_behind" in capsys.readouterr().out
    assert cli.main(["drill", "start", "sequence_behind", "--params", str(profile)]) == 0
    assert cli.main(["drill", "check", "sequence_behind", "--params", str(profile)]) == 1
    out = capsys.readouterr().out
    assert "duplicate key" in out and "DX015" in out
    assert cli.main(["drill", "reset", "--params", str(profile)]) == 0
    assert cli.main(["drill", "check", "sequence_behind", "--params", str(profile)]) == 0


def test_relation_exists_with_django_migrate(settings):
    """The Django path: history of the app removed, `migrate` fails, --fake-initial fixes."""
    from runbook_lib.core import django_project
    from runbook_lib.troubleshoot.faults import run_admin

    project = settings.root.parent / "examples" / "spc_backend"
    project = (project if project.is_dir() else
               __import__("pathlib").Path(__file__).resolve().parents[2] / "examples/spc_backend")
    if not (project / "manage.py").is_file():
        pytest.skip("the sample Django project is not in this checkout")
    s = load_settings(**{**settings.parameters(), "django_project": str(project),
                         "django_settings": "config.settings.dev"})
    django_project.manage(s, "migrate", "spc", "--noinput")
    history = "SELECT id, app, name, applied FROM django_migrations ORDER BY id"
    before = run_admin(s, history, dbname=s.db_name)
    assert drills.start(s, "relation_exists")
    broken = drills.check(s, "relation_exists")
    assert broken.failed and broken.diagnosis.problem_id == "DX011"
    assert "already exists" in broken.error
    assert "--fake-initial" in drills.fix(s, "relation_exists")
    assert not drills.check(s, "relation_exists").failed
    drills.reset(s)
    assert run_admin(s, history, dbname=s.db_name) == before


def test_recover_undoes_a_drill_left_by_an_interrupted_session(settings):
    before = snapshot(settings)
    drills.start(settings, "port_taken")
    assert drills.recover(settings) == ["port_taken"]
    assert snapshot(settings)["running"] and drills.recover(settings) == []
    assert {k: v for k, v in snapshot(settings).items() if k != "port"} == \
        {k: v for k, v in before.items() if k != "port"}


def test_port_probe_names_a_listener_that_is_not_postgres(settings):
    drills.start(settings, "port_taken")
    check = probes.check_port(settings)
    assert check.status == "fail" and "does not speak PostgreSQL" in check.message
    assert "python" in check.message
    drills.reset(settings)
    assert probes.check_port(settings).status == "ok"
