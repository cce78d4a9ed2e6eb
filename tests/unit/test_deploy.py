"""Generated deployment files parse and say what they should; rollback conditions."""

from __future__ import annotations

import sqlite3

import yaml

from runbook_lib.core import db, manifest
from runbook_lib.operate import deploy, rollback

GUIDE_COMPOSE = """
version: '3.8'
services:
  db:
    image: postgres:14-alpine
    environment:
      POSTGRES_PASSWORD: hunter2
    volumes:
      - postgres_data:/var/lib/postgresql/data
  backend:
    build: ./backend
    depends_on:
      - db
volumes:
  postgres_data:
"""


def test_compose_parses_with_expected_services(make_settings):
    settings = make_settings(db_name="spc_db", db_user="spc_user")
    path = deploy.write_compose(settings, major=18)
    doc = yaml.safe_load(path.read_text())
    assert set(doc["services"]) == {"db", "backend"} and "version" not in doc
    db_service = doc["services"]["db"]
    assert db_service["image"] == "postgres:18-alpine"
    assert db_service["volumes"] == ["postgres_data:/var/lib/postgresql"]
    assert "postgres_data" in doc["volumes"]
    assert "pg_isready" in " ".join(db_service["healthcheck"]["test"])
    assert db_service["environment"]["POSTGRES_PASSWORD"].startswith("${DB_PASSWORD:?")
    assert doc["services"]["backend"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert settings.password.reveal() not in path.read_text()
    assert deploy.check_compose(path, settings).status == "ok"


def test_compose_for_older_servers_keeps_the_old_data_path(make_settings):
    settings = make_settings()
    doc = yaml.safe_load(deploy.compose_text(settings, 15, settings.run_path))
    assert doc["services"]["db"]["volumes"] == ["postgres_data:/var/lib/postgresql/data"]


def test_compose_uses_the_server_version(fresh_db):
    path = deploy.write_compose(fresh_db)
    assert "postgres:18-alpine" in path.read_text()


def test_the_guides_compose_is_refused(make_settings, tmp_path):
    bad = tmp_path / "docker-compose.yml"
    bad.write_text(GUIDE_COMPOSE)
    check = deploy.check_compose(bad, make_settings())
    assert check.status == "fail"
    for problem in ("version", "pg_isready", "POSTGRES_PASSWORD is written inline", "healthy"):
        assert problem in check.message


def test_cloud_settings_require_tls(make_settings):
    settings = make_settings()
    for provider in deploy.CLOUD_PROVIDERS:
        text = deploy.cloud_settings(settings, provider)
        assert '"sslmode": "require"' in text and 'os.environ["DB_PASSWORD"]' in text
        assert deploy.check_cloud_settings(text, settings).status == "ok"


def test_rollback_conditions(fresh_db):
    conn = sqlite3.connect(fresh_db.sqlite_file)
    conn.executescript("CREATE TABLE django_migrations (id integer PRIMARY KEY, app text, "
                       "name text, applied datetime);"
                       "INSERT INTO django_migrations VALUES (1, 'spc', '0001_initial', '');"
                       "CREATE TABLE spc_product (id integer PRIMARY KEY, code text);"
                       "INSERT INTO spc_product VALUES (1, 'P1');")
    conn.commit()
    conn.close()
    with db.connection(fresh_db) as pconn, pconn.cursor() as cur:
        cur.execute("CREATE TABLE django_migrations (id int, app text, name text, "
                    "applied timestamptz); INSERT INTO django_migrations VALUES "
                    "(1, 'spc', '0001_initial', now()), (2, 'spc', '0002_note', now());"
                    "CREATE TABLE spc_product (id int, code text);"
                    "INSERT INTO spc_product VALUES (1, 'P1'), (2, 'written after cutover');")
    checks = {c.id: c for c in rollback.conditions(fresh_db)}
    assert checks["OP040"].status == "ok"
    assert checks["DJ076"].status == "warn" and "spc_product +1" in checks["DJ076"].message
    assert checks["OP041"].status == "warn" and "spc.0002_note" in checks["OP041"].message
    assert checks["OP042"].status == "warn"
    manifest.update(fresh_db.run_dir, "operate", {"backup": {"restore_verified": True,
                                                            "dump": "x.dump"}})
    assert rollback.verified_backup(fresh_db).status == "ok"


def test_rollback_without_sqlite_file_fails(make_settings, tmp_path):
    settings = make_settings(sqlite_path=str(tmp_path / "gone.sqlite3"))
    assert rollback.source_sound(settings).status == "fail"
