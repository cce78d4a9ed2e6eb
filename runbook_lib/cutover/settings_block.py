"""The Django side of the cutover: the PostgreSQL DATABASES block, `.env` and `.gitignore`.

Everything is written into the Django project folder (the one holding `manage.py`): the
settings file that `django_settings` resolves to, `.env` next to `manage.py` (the generated
block loads it from there) and that folder's `.gitignore`.
"""

from __future__ import annotations

import ast
import difflib
import os
import shutil
from datetime import datetime
from pathlib import Path

from dotenv import dotenv_values

from ..core import django_project
from ..core.display import Pairs
from ..core.i18n import t
from ..core.results import Check, table
from .settings_lint import RULES, lint_file, lint_sources, module_files, settings_path

GITIGNORE_LINES = (".env", "*.pyc", "__pycache__/")  # the guide's step 2
BACKUP_SUFFIX = ".runbook-backup-"
CONN_MAX_AGE = 600  # the guide's "connection pooling": keep connections 10 minutes
CONNECT_TIMEOUT = 10

BLOCK = '''\
# --- PostgreSQL (written by the migration runbook) ------------------------------------
# Every value comes from the environment; the project's .env (next to manage.py, mode 0600,
# git-ignored) fills it in development. No password in code: DB_PASSWORD has no default.
import os as _os  # noqa: E402
from pathlib import Path as _Path  # noqa: E402

from dotenv import load_dotenv as _load_dotenv  # noqa: E402  (pip install python-dotenv)

_load_dotenv(_Path(__file__).resolve().parents[{depth}] / ".env")
DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _os.environ.get("DB_NAME", "{name}"),
        "USER": _os.environ.get("DB_USER", "{user}"),
        "PASSWORD": {password},
        "HOST": _os.environ.get("DB_HOST", "{host}"),
        "PORT": _os.environ.get("DB_PORT", "{port}"),
        "CONN_MAX_AGE": {conn_max_age},  # seconds a connection is reused (0: per request)
        "OPTIONS": {{"connect_timeout": {connect_timeout}}},
    }}
}}
# --- end of the runbook's block -------------------------------------------------------
'''


NO_PROJECT = ("django_project is empty (a plain SQLite file): there is no Django application "
              "to cut over")
NO_PROJECT_TEXT = {"en": NO_PROJECT,
                   "ko": "django_project가 비어 있음 (Django 없는 SQLite 파일): 전환할 Django "
                         "애플리케이션이 없음"}


def has_project(settings) -> bool:
    """False for a plain SQLite migration (no django_project): the cutover steps skip."""
    return bool(settings.django_project)



BLOCK_TEXT = {
    "settings_file": {"en": "settings file", "ko": "settings 파일"},
    "holds": {"en": "{file} already holds the block", "ko": "{file}에 이미 블록이 있음"},
    "unchanged": {"en": "apply_settings is false: {file} unchanged (diff shown above)",
                  "ko": "apply_settings가 false: {file} 변경 없음 (위의 diff 참고)"},
    "unchanged_fix": {"en": "Set apply_settings: true to write it (a backup is kept).",
                      "ko": "쓰려면 apply_settings: true로 설정하세요 (백업이 남습니다)."},
    "wrote": {"en": "wrote {file}; backup {backup}", "ko": "{file}을(를) 씀; 백업 {backup}"},
    "added": {"en": "added {lines}", "ko": "추가함: {lines}"},
    "listed": {"en": "already lists .env, *.pyc, __pycache__/",
               "ko": ".env, *.pyc, __pycache__/가 이미 있음"},
}


def _b(settings, key: str, **values) -> str:
    return t(BLOCK_TEXT[key], settings.language, **values)


def skipped(check_id: str, name: str, language: str | None = None) -> Check:
    return Check(check_id, name, "skip", t(NO_PROJECT_TEXT, language))


def settings_file(settings) -> Path:
    """The settings file `settings.django_settings` resolves to in the project folder."""
    return settings_path(django_project.project_dir(settings), settings.django_settings)


def _password_expr(settings) -> str:
    """No default in code; an empty one only when libpq is to read ~/.pgpass."""
    if settings.password:
        return f'_os.environ["{settings.password_env}"]'
    return f'_os.environ.get("{settings.password_env}", "")  # empty: libpq reads ~/.pgpass'


def database_block(settings) -> str:
    """The guide's DATABASES block, environment-driven, with CONN_MAX_AGE and connect_timeout."""
    file = settings_file(settings)
    depth = len(file.relative_to(django_project.project_dir(settings)).parts) - 1
    return BLOCK.format(depth=depth, name=settings.db_name, user=settings.db_user,
                        password=_password_expr(settings), host=settings.db_host,
                        port=settings.db_port, conn_max_age=CONN_MAX_AGE,
                        connect_timeout=CONNECT_TIMEOUT)


def proposed_text(current: str, block: str) -> str:
    """The settings text with its DATABASES assignment replaced by `block` (appended if none)."""
    tree = ast.parse(current)
    spans = [(n.lineno, n.end_lineno) for n in tree.body if isinstance(n, ast.Assign)
             and any(isinstance(tg, ast.Name) and tg.id == "DATABASES" for tg in n.targets)]
    lines = current.splitlines(keepends=True)
    if not spans:
        sep = "" if current.endswith("\n") or not current else "\n"
        return current + sep + "\n" + block
    first, last = spans[-1]
    return "".join(lines[:first - 1]) + block + "".join(lines[last:])


def settings_diff(settings) -> str:
    """Unified diff of the project's settings file against the PostgreSQL version."""
    if not has_project(settings):
        return f"# {NO_PROJECT}\n"
    file = settings_file(settings)
    current = file.read_text(encoding="utf-8")
    new = proposed_text(current, database_block(settings))
    name = str(file.relative_to(django_project.project_dir(settings)))
    return "".join(difflib.unified_diff(current.splitlines(keepends=True),
                                        new.splitlines(keepends=True),
                                        f"a/{name}", f"b/{name}"))


def applied(settings) -> bool:
    """True when the settings file already holds the runbook's PostgreSQL block."""
    return "written by the migration runbook" in settings_file(settings).read_text("utf-8")


def apply_settings(settings) -> Check:
    """Write the PostgreSQL block when `apply_settings` is true, keeping a timestamped backup."""
    if not has_project(settings):
        return skipped("DJ022", _b(settings, "settings_file"), settings.language)
    file, name = settings_file(settings), _b(settings, "settings_file")
    if applied(settings):
        return Check("DJ022", name, "ok", _b(settings, "holds", file=file.name),
                     details={"file": str(file)})
    if not settings.apply_settings:
        return Check("DJ022", name, "skip", _b(settings, "unchanged", file=file.name),
                     _b(settings, "unchanged_fix"), {"file": str(file)})
    backup = file.with_name(file.name + BACKUP_SUFFIX + datetime.now().strftime("%Y%m%d-%H%M%S"))
    shutil.copy2(file, backup)
    file.write_text(proposed_text(file.read_text("utf-8"), database_block(settings)), "utf-8")
    return Check("DJ022", name, "ok", _b(settings, "wrote", file=file.name, backup=backup.name),
                 details={"file": str(file), "backup": str(backup)})


def backups(settings) -> list[Path]:
    """Backups of the settings file, oldest first (the first is the pre-cutover original)."""
    file = settings_file(settings)
    return sorted(file.parent.glob(file.name + BACKUP_SUFFIX + "*"))


def restore_settings(settings) -> Path | None:
    """The guide's rollback: put the pre-cutover settings file back (PostgreSQL copy kept)."""
    found = backups(settings)
    if not found:
        return None
    file = settings_file(settings)
    shutil.copy2(file, file.with_name(file.name + ".postgresql"))
    shutil.copy2(found[0], file)
    return found[0]


def lint_current(settings, environ=None):
    """Lint the project's settings module as it is now."""
    if not has_project(settings):
        return table(skipped(rule, t(RULES[rule][0], settings.language), settings.language)
                     for rule in RULES)
    return lint_file(settings_file(settings), environ, settings.django_settings,
                     settings.language)


def lint_proposed(settings, environ=None):
    """Lint the settings as they would be with the runbook's block (must be clean)."""
    if not has_project(settings):
        return lint_current(settings)
    file = settings_file(settings)
    text = proposed_text(file.read_text("utf-8"), database_block(settings))
    bases = [(f.name, f.read_text("utf-8")) for f in module_files(file)[1:]]
    return lint_sources([(file.name, text), *bases], environ, settings.django_settings,
                        settings.language)


def env_path(settings) -> Path:
    """`.env` lives in the Django project folder, next to manage.py."""
    return django_project.project_dir(settings) / ".env"


LOCATION_LABELS = {
    "project": {"en": "Django project folder", "ko": "Django 프로젝트 폴더"},
    "settings": {"en": "settings file (DATABASES block)", "ko": "settings 파일 (DATABASES 블록)"},
    "env": {"en": ".env (mode 0600, loaded by the block)",
            "ko": ".env (권한 0600, 블록이 읽음)"},
    "gitignore": {"en": ".gitignore", "ko": ".gitignore"},
    "backups": {"en": "settings backups", "ko": "settings 백업"},
    "none": {"en": "none: {why}", "ko": "없음: {why}"},
}


def locations(settings) -> dict[str, str]:
    """Where the cutover writes: all in the Django project folder (next to manage.py)."""
    say = {key: t(text, settings.language) for key, text in LOCATION_LABELS.items()}
    if not has_project(settings):
        return Pairs({say["project"]: t(LOCATION_LABELS["none"], settings.language,
                                        why=t(NO_PROJECT_TEXT, settings.language))})
    project = django_project.project_dir(settings)
    return Pairs({say["project"]: str(project),
                  say["settings"]: str(settings_file(settings)),
                  say["env"]: str(env_path(settings)),
                  say["gitignore"]: str(project / ".gitignore"),
                  say["backups"]: str(settings_file(settings)) + BACKUP_SUFFIX + "<timestamp>"})


def env_values(settings) -> dict[str, str]:
    values = {"DB_NAME": settings.db_name, "DB_USER": settings.db_user,
              "DB_HOST": settings.db_host, "DB_PORT": str(settings.db_port)}
    if settings.password:
        values[settings.password_env] = settings.password.reveal()
    return values


def project_environ(settings) -> dict[str, str]:
    """The environment the project would see: os.environ over the project's .env."""
    dot = env_path(settings)
    values = {k: v for k, v in dotenv_values(dot).items() if v is not None} if dot.is_file() \
        else {}
    return {**values, **os.environ}


ENV_TEXT = {
    "written": {"en": "wrote {path} (mode 0600): {keys}",
                "ko": "{path} 작성 (권한 0600): {keys}"},
    "kept": {"en": "{path} exists and was kept (overwrite_env: false); missing keys: {missing}",
             "ko": "{path}가 이미 있어 유지했습니다 (overwrite_env: false). 빠진 키: {missing}"},
    "keep_hint": {"en": "Add the missing keys yourself, or set overwrite_env: true to rewrite "
                        "the DB_* lines (other lines are kept).",
                  "ko": "빠진 키를 직접 추가하거나 overwrite_env: true 로 DB_* 줄을 다시 쓰세요 "
                        "(다른 줄은 유지됩니다)."},
}


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def write_env(settings) -> Check:
    """Write the project's .env (0600); an existing one is kept unless overwrite_env is true."""
    if not has_project(settings):
        return skipped("DJ020", ".env")
    path, values = env_path(settings), env_values(settings)
    if path.is_file() and not settings.overwrite_env:
        existing = dotenv_values(path)
        missing = ", ".join(k for k in values if not existing.get(k)) or "none"
        status = "ok" if missing == "none" else "warn"
        os.chmod(path, 0o600)
        return Check("DJ020", ".env", status, t(ENV_TEXT["kept"], settings.language,
                     path=path, missing=missing),
                     t(ENV_TEXT["keep_hint"], settings.language) if status == "warn" else "",
                     {"path": str(path), "written": False})
    kept = [line for line in (path.read_text("utf-8").splitlines() if path.is_file() else [])
            if line.split("=", 1)[0].strip() not in values and "runbook" not in line]
    lines = ["# Database (written by the migration runbook; keep this file out of git)"]
    lines += [f"{k}={_quote(v)}" for k, v in values.items()]
    _write_private(path, "\n".join(lines + kept) + "\n")
    return Check("DJ020", ".env", "ok", t(ENV_TEXT["written"], settings.language, path=path,
                 keys=", ".join(values)), details={"path": str(path), "written": True})


def ensure_gitignore(settings) -> Check:
    """Make the project folder's .gitignore hold .env and the guide's lines, once each."""
    if not has_project(settings):
        return skipped("DJ021", ".gitignore")
    path = django_project.project_dir(settings) / ".gitignore"
    text = path.read_text("utf-8") if path.is_file() else ""
    present = {line.strip() for line in text.splitlines()}
    missing = [line for line in GITIGNORE_LINES if line not in present]
    if missing:
        sep = "" if not text or text.endswith("\n") else "\n"
        path.write_text(text + sep + "\n".join(missing) + "\n", "utf-8")
    return Check("DJ021", ".gitignore", "ok",
                 _b(settings, "added", lines=", ".join(missing)) if missing
                 else _b(settings, "listed"), details={"path": str(path), "added": missing})


__all__ = ["database_block", "settings_diff", "apply_settings", "restore_settings", "backups",
           "write_env", "ensure_gitignore", "lint_current", "lint_proposed", "env_path",
           "settings_file", "project_environ", "applied", "locations", "has_project"]
