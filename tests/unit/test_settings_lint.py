"""Settings lint, the generated DATABASES block, .env and .gitignore (no server needed)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from dotenv import dotenv_values

from runbook_lib.core.config import load_settings
from runbook_lib.core.secrets import Secret
from runbook_lib.cutover import settings_block, settings_lint

FLAWED = '''\
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEBUG = True
DB_ADMIN_PASSWORD = "hunter2"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("DB_NAME", "spc_db"),
        "USER": os.environ["LINT_TEST_DB_USER"],
        "PASSWORD": os.environ.get("DB_PASSWORD", "secure_password_here"),
        "HOST": os.environ.get("DB_HOST", "db.example.com"),
        "PORT": "5432",
        "OPTIONS": {
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
            "charset": "utf8mb4",
            "log_queries": True,
            "log_slow_queries": True,
        },
    }
}
'''

SQLITE = '''\
from .base import *  # noqa: F403

DEBUG = True
'''
BASE = '''\
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent
SECRET_KEY = "dev"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}
'''


def by_id(checks):
    return {c.id: c for c in checks}


def test_every_flaw_is_reported(tmp_path):
    path = tmp_path / "settings.py"
    path.write_text(FLAWED)
    rows = by_id(settings_lint.lint_file(path, environ={}, module="config.settings.prod"))
    assert {k: rows[k].status for k in rows} == {
        "DJ010": "fail", "DJ011": "fail", "DJ012": "fail", "DJ013": "fail",
        "DJ014": "warn", "DJ015": "fail"}
    assert "SHOW server_encoding" in rows["DJ011"].hint
    assert "log_min_duration_statement" in rows["DJ012"].hint
    assert "log_queries" in rows["DJ012"].message and "log_slow_queries" in rows["DJ012"].message
    assert "LINT_TEST_DB_USER (no default)" in rows["DJ013"].message
    assert "DB_PASSWORD" in rows["DJ013"].message
    assert "db.example.com" in rows["DJ014"].message
    assert "settings.py:12" in rows["DJ015"].message and "DB_ADMIN_PASSWORD" in rows["DJ015"].message
    assert "hunter2" not in repr(rows) and "secure_password_here" not in repr(rows)
    for row in rows.values():
        assert set(row.details["problem"]) == {"en", "ko"} and set(row.details["fix"]) == {"en", "ko"}


def test_korean_messages(tmp_path):
    path = tmp_path / "settings.py"
    path.write_text(FLAWED)
    rows = by_id(settings_lint.lint_file(path, environ={}, language="ko"))
    assert "MySQL" in rows["DJ010"].message and "삭제" in rows["DJ010"].hint


def test_env_set_and_local_debug_are_fine(tmp_path):
    path = tmp_path / "settings.py"
    path.write_text(FLAWED)
    env = {"LINT_TEST_DB_USER": "u", "DB_PASSWORD": "x", "DB_NAME": "n", "DB_HOST": "localhost"}
    rows = by_id(settings_lint.lint_file(path, environ=env, module="config.settings.dev"))
    assert rows["DJ013"].status == "ok" and rows["DJ014"].status == "ok"


def make_project(root: Path) -> Path:
    project = root / "proj"
    (project / "config" / "settings").mkdir(parents=True)
    (project / "manage.py").write_text("# placeholder\n")
    (project / "config" / "__init__.py").write_text("")
    (project / "config" / "settings" / "__init__.py").write_text("")
    (project / "config" / "settings" / "base.py").write_text(BASE)
    (project / "config" / "settings" / "dev.py").write_text(SQLITE)
    return project


@pytest.fixture
def project_settings(tmp_path, monkeypatch):
    project = make_project(tmp_path)
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path))
    monkeypatch.setenv("SPC_TEST_PW", "s3cret-value")
    settings = load_settings(target="server", django_project=str(project), db_host="localhost",
                             db_port=5432, db_name="spc_db", db_user="spc_user",
                             password_env="SPC_TEST_PW", run_dir=str(tmp_path / "run"))
    assert settings.password == Secret("s3cret-value")
    return settings


def test_star_import_is_followed(project_settings):
    files = settings_lint.module_files(settings_block.settings_file(project_settings))
    assert [f.name for f in files] == ["dev.py", "base.py"]
    rows = by_id(settings_block.lint_current(project_settings, environ={}))
    assert all(c.status == "ok" for c in rows.values())


def test_block_diff_apply_and_restore(project_settings):
    diff = settings_block.settings_diff(project_settings)
    assert diff.startswith("--- a/config/settings/dev.py")
    assert '+        "CONN_MAX_AGE"' in diff and '"connect_timeout": 10' in diff
    assert "s3cret-value" not in diff and '_os.environ["SPC_TEST_PW"]' in diff
    assert ".parents[2]" in diff
    assert settings_block.apply_settings(project_settings).status == "skip"
    assert settings_block.backups(project_settings) == []
    env = {"SPC_TEST_PW": "x", "DB_NAME": "a", "DB_USER": "b", "DB_HOST": "localhost",
           "DB_PORT": "5432"}
    assert all(c.status == "ok" for c in settings_block.lint_proposed(project_settings, env))

    project_settings.apply_settings = True
    result = settings_block.apply_settings(project_settings)
    file = settings_block.settings_file(project_settings)
    assert result.status == "ok" and settings_block.applied(project_settings)
    assert "django.db.backends.postgresql" in file.read_text()
    assert settings_block.apply_settings(project_settings).message.endswith("already holds the block")
    assert len(settings_block.backups(project_settings)) == 1
    compile(file.read_text(), str(file), "exec")

    assert settings_block.restore_settings(project_settings) is not None
    assert file.read_text() == SQLITE


def test_replaces_existing_block_in_place():
    text = "A = 1\nDATABASES = {\n    'default': {},\n}\nB = 2\n"
    out = settings_block.proposed_text(text, "BLOCK\n")
    assert out == "A = 1\nBLOCK\nB = 2\n"


def test_env_file_is_private_and_not_overwritten(project_settings):
    check = settings_block.write_env(project_settings)
    path = settings_block.env_path(project_settings)
    assert check.status == "ok" and path.parent == project_settings.django_dir
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert dotenv_values(path)["SPC_TEST_PW"] == "s3cret-value"
    assert "s3cret-value" not in repr(check)

    path.write_text("DB_NAME=mine\nLLM_PROVIDER=demo\n")
    check = settings_block.write_env(project_settings)
    assert check.status == "warn" and "DB_USER" in check.message
    assert path.read_text() == "DB_NAME=mine\nLLM_PROVIDER=demo\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    project_settings.overwrite_env = True
    assert settings_block.write_env(project_settings).details["written"]
    values = dotenv_values(path)
    assert values["DB_NAME"] == "spc_db" and values["LLM_PROVIDER"] == "demo"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_gitignore_lines_once(project_settings):
    path = project_settings.django_dir / ".gitignore"
    path.write_text("*.pyc\nnode_modules/")
    assert settings_block.ensure_gitignore(project_settings).details["added"] == [
        ".env", "__pycache__/"]
    assert settings_block.ensure_gitignore(project_settings).details["added"] == []
    lines = path.read_text().splitlines()
    assert sorted(lines) == sorted(["*.pyc", "node_modules/", ".env", "__pycache__/"])
