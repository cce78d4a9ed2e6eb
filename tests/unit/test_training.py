"""`runbook training start|reset`: own database, fresh workspace, back to the start."""

from __future__ import annotations

import shutil
import stat
import tempfile
from pathlib import Path

import psycopg2
import pytest
import yaml
from dotenv import dotenv_values
from workspace import copy_project

from runbook_lib.app import cli, training
from runbook_lib.core import server
from runbook_lib.core.config import load_settings
from runbook_lib.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
GUIDE_VARS = ("DB_NAME", "DB_USER", "DB_HOST", "DB_PORT", "DB_PASSWORD")


@pytest.fixture
def project(monkeypatch, env_passwords) -> Path:
    """A small project copy (notebooks, profiles, sample Django project without its data).

    Outside pytest's temp root, which a concurrent session may reset to mode 700 (the
    embedded server runs as its own system user and must reach its data folder).
    """
    top = Path(tempfile.mkdtemp(prefix="runbook-training-"))
    top.chmod(0o755)
    home = top / "project"
    home.mkdir()
    copy_project(home)
    monkeypatch.setenv("RUNBOOK_HOME", str(home))
    for name in GUIDE_VARS:  # .env loading sets them; monkeypatch restores the originals
        monkeypatch.setenv(name, "x")
        monkeypatch.delenv(name)
    yield home
    shutil.rmtree(top, ignore_errors=True)


def _profile(home: Path, **values) -> str:
    data = {"sqlite_path": "examples/spc_backend/db.sqlite3",
            "django_project": "examples/spc_backend", "demo_rows": 200, **values}
    (home / "parameters" / "trainer.yaml").write_text(yaml.safe_dump(data))
    return "parameters/trainer.yaml"


def _login(env: dict, port: int):
    return psycopg2.connect(host="localhost", port=port, user=env["DB_USER"],
                            password=env["DB_PASSWORD"], dbname=env["DB_NAME"])


@pytest.mark.parametrize("name", ["Alice", "a-b", "1st", "x; drop role postgres", "", "a" * 31])
def test_trainee_name_must_be_a_plain_identifier(name):
    with pytest.raises(ConfigError, match="lower-case identifier"):
        training.check_trainee(name)


def test_bad_name_exits_2_and_says_why(capsys):
    assert cli.main(["training", "start", "--trainee", "Bob!"]) == 2
    assert "lower-case" in capsys.readouterr().err


def test_start_gives_own_database_and_workspace(project, pg, capsys):
    profile = _profile(project, target="server", db_host="localhost", db_port=pg.port)
    assert cli.main(["training", "start", "--trainee", "alice", "--params", profile]) == 0
    out = capsys.readouterr().out
    ws = project / "training" / "alice"
    env = dotenv_values(ws / ".env")
    assert f"cd {ws} && RUNBOOK_HOME=$PWD" in out and "lab notebooks/" in out
    assert env["DB_PASSWORD"] not in out
    assert stat.S_IMODE((ws / ".env").stat().st_mode) == 0o600
    assert sorted(p.name for p in (ws / "notebooks").glob("*.ipynb")) == \
        sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert (ws / "examples/spc_backend/db.sqlite3").stat().st_size > 0
    assert (ws / ".runbook").resolve() == (project / ".runbook").resolve()
    trainee_yaml = yaml.safe_load((ws / "parameters/trainee.yaml").read_text())
    assert (trainee_yaml["db_name"], trainee_yaml["db_user"]) == ("spc_alice", "spc_alice_user")
    assert (env["DB_NAME"], env["DB_PORT"]) == ("spc_alice", str(pg.port))
    with _login(env, pg.port) as conn, conn.cursor() as cur:
        cur.execute("create table mine (id int)")  # PostgreSQL 15+: the role may create
    conn.close()


def test_notebook_defaults_point_at_the_trainees_database(project, pg, monkeypatch):
    profile = _profile(project, target="server", db_host="localhost", db_port=pg.port)
    training.prepare("bo", profile)
    ws = project / "training" / "bo"
    monkeypatch.setenv("RUNBOOK_HOME", str(ws))
    settings = load_settings({"target": "server"})  # what a notebook's parameters cell gives
    assert (settings.db_name, settings.db_user, settings.db_port) == \
        ("spc_bo", "spc_bo_user", pg.port)
    assert settings.password and settings.run_path.is_relative_to(ws)


def test_start_again_keeps_work_and_reset_starts_over(project, pg):
    profile = _profile(project, target="server", db_host="localhost", db_port=pg.port)
    training.prepare("carol", profile)
    ws = project / "training" / "carol"
    env = dotenv_values(ws / ".env")
    (ws / "notebooks" / "my_notes.txt").write_text("work in progress")
    with _login(env, pg.port) as conn, conn.cursor() as cur:
        cur.execute("create table leftover (id int)")
    conn.close()
    _, _, fresh = training.prepare("carol", profile)
    assert not fresh and (ws / "notebooks" / "my_notes.txt").exists()
    assert dotenv_values(ws / ".env")["DB_PASSWORD"] == env["DB_PASSWORD"]
    _, _, fresh = training.prepare("carol", profile, reset=True)
    assert fresh and not (ws / "notebooks" / "my_notes.txt").exists()
    new_env = dotenv_values(ws / ".env")
    assert new_env["DB_PASSWORD"] != env["DB_PASSWORD"]
    with _login(new_env, pg.port) as conn, conn.cursor() as cur:
        cur.execute("select count(*) from pg_tables where tablename = 'leftover'")
        assert cur.fetchone()[0] == 0
    conn.close()


def test_start_on_the_embedded_server(project):
    """The default training path: the trainee's workspace shares the project's server."""
    port = server.free_port()
    profile = _profile(project, target="embedded", db_host="localhost", db_port=port)
    embedded = server.EmbeddedServer(project / ".runbook" / "pg", port=port)
    try:
        who, settings, fresh = training.prepare("dan", profile)
        assert fresh and embedded.running_port() == port
        shared = server.EmbeddedServer(who.workspace / ".runbook" / "pg", port=port)
        assert shared.data_dir == embedded.data_dir and shared.is_running()
        env = dotenv_values(who.workspace / ".env")
        with _login(env, port) as conn, conn.cursor() as cur:
            cur.execute("select current_database(), current_user")
            assert cur.fetchone() == ("spc_dan", "spc_dan_user")
        conn.close()
    finally:
        embedded.destroy()
