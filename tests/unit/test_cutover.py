"""Full cutover of the sample SPC backend on the test PostgreSQL, the checklist, the rollback."""

from __future__ import annotations

import json
import shutil
import sqlite3
import statistics
from pathlib import Path

import psutil
import psycopg2
import pytest

from runbook_lib.core import django_project, manifest
from runbook_lib.cutover import checks, guide_checklist, rollback, settings_block
from runbook_lib.prepare import demo

ROOT = Path(__file__).resolve().parents[2]
SUPERUSER_PASSWORD = "su-pw-" + "7f3a9c2e"


def load_sample(settings, tmp_path: Path) -> None:
    """Schema by Django's migrate, rows by dumpdata/loaddata (until migrate.run lands)."""
    try:
        from runbook_lib import migrate  # the teammate's engine, when present
    except ImportError:
        migrate = None
    if migrate is not None and hasattr(migrate, "run"):
        migrate.run(settings)
        return
    django_project.manage(settings, "migrate", "--noinput")
    dump = tmp_path / "dump.json"
    with open(dump, "w") as out:
        django_project.manage(settings, "dumpdata", "--exclude", "contenttypes", "--exclude",
                          "auth.permission", "--exclude", "sessions", "--exclude",
                          "admin.logentry", database="sqlite", stdout=out)
    django_project.manage(settings, "loaddata", str(dump))


@pytest.fixture
def sample(tmp_path, fresh_db, make_settings, monkeypatch):
    project = tmp_path / "spc_backend"
    shutil.copytree(ROOT / "examples" / "spc_backend", project,
                    ignore=shutil.ignore_patterns("db.sqlite3*", "__pycache__", ".env"))
    demo.build(project / "db.sqlite3", rows=200, products=4)
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "runbook_admin")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", SUPERUSER_PASSWORD)
    settings = make_settings(db_name=fresh_db.db_name, db_user=fresh_db.db_user,
                             django_project=str(project), sqlite_path=str(project / "db.sqlite3"),
                             apply_settings=True)
    load_sample(settings, tmp_path)
    return settings


def statuses(checks) -> dict[str, str]:
    return {c.id: c.status for c in checks}


def no_runserver_left() -> bool:
    me = psutil.Process()
    return not any("runserver" in " ".join(p.cmdline()) for p in me.children(recursive=True))


def test_full_cutover_checklist_and_rollback(sample, pg):
    settings = sample
    before = checks.remember_source(settings)
    assert before["source_counts"]["spc_qualitymeasurement"] == 200
    # no superuser yet on the PostgreSQL side: the cutover creates one from the environment
    pg.execute("UPDATE auth_user SET is_superuser = false", dbname=settings.db_name)

    assert settings_block.write_env(settings).status == "ok"
    assert settings_block.ensure_gitignore(settings).status == "ok"
    assert settings_block.apply_settings(settings).status == "ok"
    lint = statuses(settings_block.lint_current(settings, settings_block.project_environ(settings)))
    assert lint == {"DJ010": "ok", "DJ011": "ok", "DJ012": "ok", "DJ013": "warn",
                    "DJ014": "ok", "DJ015": "ok"}  # DJANGO_SECRET_KEY / DJANGO_DEBUG unset

    target = checks.check_target(settings)
    assert statuses(target) == {"DJ023": "ok", "DJ030": "ok", "DJ031": "ok", "DJ032": "ok", "DJ033": "ok",
                                "DJ034": "ok", "DJ035": "ok", "DJ036": "ok", "DJ037": "ok",
                                "DJ038": "skip"}, repr(target)
    by_id = {c.id: c for c in target}
    assert "(as written) load in" in by_id["DJ023"].message  # the project's own settings file
    assert "created superuser 'runbook_admin'" in by_id["DJ033"].message
    assert "from postgresql: 4 products (SQLite source: 4)" in by_id["DJ036"].message
    assert "Channels" in by_id["DJ038"].message
    assert no_runserver_left()

    items = guide_checklist.checklist(settings, target)
    assert [c.id for c in items] == list(guide_checklist.ITEMS)
    assert {c.id: c.status for c in items if c.status != "ok"} == {"DJ060": "skip"}, repr(items)
    assert all(set(c.details["item"]) == {"en", "ko"} for c in items)
    assert "connect to postgresql" in items[1].message

    back = rollback.verify_rollback(settings)
    assert statuses(back) == {"DJ075": "ok", "DJ071": "ok", "DJ072": "ok", "DJ073": "ok",
                                  "DJ074": "ok", "DJ070": "ok", "DJ076": "warn"}, repr(back)
    assert "from sqlite" in {c.id: c for c in back}["DJ073"].message
    assert "auth_user +1" in {c.id: c for c in back}["DJ076"].message
    assert no_runserver_left()

    text = json.dumps(manifest.read(settings.run_dir)) + repr(target) + repr(items)
    for secret in (SUPERUSER_PASSWORD, settings.password.reveal()):
        assert secret not in text


def test_restored_settings_start_on_sqlite(sample):
    settings = sample
    settings_block.write_env(settings)
    settings_block.apply_settings(settings)
    assert settings_block.restore_settings(settings) is not None
    assert not settings_block.applied(settings)
    smoke = checks.smoke(settings, checks.own_environment(settings), vendor="sqlite",
                          label="restored")
    assert statuses(smoke) == {"DJ034": "ok", "DJ035": "ok", "DJ036": "ok", "DJ037": "ok"}
    assert no_runserver_left()


def test_runserver_failure_is_reported_and_stopped(sample):
    settings = sample
    env = django_project.environment(settings)
    env["RUNBOOK_DB_PORT"] = "1"  # nothing listens there: check/startup fails, no hang
    smoke = checks.smoke(settings, {**env, "DJANGO_SETTINGS_MODULE": "no_such_settings"})
    assert smoke[0].id == "DJ034" and smoke[0].status == "fail"
    assert no_runserver_left()


@pytest.mark.parametrize("option", ["init_command", "charset", "log_queries", "log_slow_queries"])
def test_guide_options_really_break_the_connection(pg, option):
    """The lint's claim: psycopg2 hands unknown OPTIONS to libpq, which refuses to connect."""
    with pytest.raises(psycopg2.ProgrammingError, match=f'invalid connection option "{option}"'):
        psycopg2.connect(host="localhost", port=pg.port, user="postgres",
                         password=pg.admin_password, dbname="postgres", **{option: "x"})


def test_api_statistics_match_python(sample):
    """Mean, sample standard deviation, Cp and Cpk of the API against statistics on SQLite."""
    settings = sample
    conn = sqlite3.connect(settings.sqlite_file)
    pid, usl, lsl = conn.execute("SELECT id, usl, lsl FROM spc_product ORDER BY id").fetchone()
    values = [v for (v,) in conn.execute(
        "SELECT value FROM spc_qualitymeasurement WHERE product_id = ?", (pid,))]
    conn.close()
    mean, std = statistics.fmean(values), statistics.stdev(values)
    with checks.running_server(settings, label="stats") as live:
        data = live.get_json(f"/api/products/{pid}/measurements/?limit=3")
        missing = live.get("/api/products/999999/measurements/")[0]
    assert data["database"] == "postgresql" and data["count"] == len(values)
    assert len(data["measurements"]) == 3 and missing == 404
    assert data["mean"] == pytest.approx(mean) and data["std"] == pytest.approx(std)
    assert data["cp"] == pytest.approx((usl - lsl) / (6 * std))
    assert data["cpk"] == pytest.approx(min(usl - mean, mean - lsl) / (3 * std))
    assert no_runserver_left()


def test_plain_sqlite_run_skips_the_django_steps(fresh_db, make_settings, pg, tmp_path):
    """No django_project: the stage runs, checks the server and the data, skips the rest."""
    source = tmp_path / "plain.sqlite3"
    conn = sqlite3.connect(source)
    conn.executescript("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2);")
    conn.close()
    pg.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2);",
               dbname=fresh_db.db_name)
    pg.execute(f"ALTER TABLE t OWNER TO {fresh_db.db_user}", dbname=fresh_db.db_name)
    settings = make_settings(db_name=fresh_db.db_name, db_user=fresh_db.db_user,
                             sqlite_path=str(source), language="ko")
    checks.remember_source(settings)
    assert settings_block.write_env(settings).status == "skip"
    assert settings_block.apply_settings(settings).status == "skip"
    assert set(statuses(settings_block.lint_proposed(settings)).values()) == {"skip"}
    target = checks.check_target(settings)
    assert set(statuses(target).values()) == {"skip"}
    checklist = guide_checklist.checklist(settings, target)
    assert checklist[0].name == "PostgreSQL 서버 실행 중"
    items = statuses(checklist)
    assert items.pop("DJ050") == "ok" and items.pop("DJ053") == "ok"
    assert set(items.values()) == {"skip"}
    back = statuses(rollback.verify_rollback(settings))
    assert back == {"DJ075": "skip", "DJ070": "ok", "DJ076": "ok"}
