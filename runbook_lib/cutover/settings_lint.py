"""Lint a Django settings module for PostgreSQL: what the guide gets wrong, and what leaks.

The file is read, never imported (importing runs the project's code and fails on the very
environment variables we want to report). Relative star imports (`from .base import *`)
are followed, so a `dev.py` that inherits `DATABASES` from `base.py` is linted as a whole.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ConfigError
from ..core.i18n import t
from ..core.results import Check, CheckTable, table

LOOPBACK = {"", "localhost", "127.0.0.1", "::1"}
TRUE_WORDS = {"1", "true", "yes", "on"}

# id: (name, problem text, fix text). Problem texts take {where} and {names}.
RULES: dict[str, tuple[dict, dict, dict]] = {
    "DJ010": ({"en": "MySQL-only init_command", "ko": "MySQL 전용 init_command"}, {
        "en": "OPTIONS.init_command is a MySQL option ({where}); psycopg2 rejects it: "
              "invalid dsn: invalid connection option \"init_command\".",
        "ko": "OPTIONS.init_command는 MySQL 전용 옵션입니다 ({where}). psycopg2는 "
              "\"invalid connection option\" 오류로 거부합니다."}, {
        "en": "Delete init_command. PostgreSQL is strict by default; per-session settings go "
              "in OPTIONS['options'] = '-c name=value'.",
        "ko": "init_command를 삭제하세요. PostgreSQL은 기본이 엄격 모드이며, 세션 설정은 "
              "OPTIONS['options'] = '-c 이름=값' 으로 지정합니다."}),
    "DJ011": ({"en": "MySQL-only charset", "ko": "MySQL 전용 charset"}, {
        "en": "OPTIONS.charset ({where}) is MySQL's; utf8mb4 does not exist in PostgreSQL, "
              "whose UTF8 encoding already stores 4-byte characters (emoji).",
        "ko": "OPTIONS.charset ({where})는 MySQL 옵션입니다. PostgreSQL에는 utf8mb4가 없고, "
              "UTF8 인코딩이 4바이트 문자(이모지)까지 저장합니다."}, {
        "en": "Delete charset; check the database with SHOW server_encoding; (expect UTF8). "
              "The client encoding is UTF8 by default in psycopg2.",
        "ko": "charset를 삭제하고 SHOW server_encoding; 으로 UTF8인지 확인하세요. "
              "psycopg2의 클라이언트 인코딩은 기본이 UTF8입니다."}),
    "DJ012": ({"en": "non-existent query-log options", "ko": "존재하지 않는 쿼리 로그 옵션"}, {
        "en": "OPTIONS.{names} ({where}) do not exist in Django or PostgreSQL; the connection "
              "fails with 'invalid connection option'.",
        "ko": "OPTIONS.{names} ({where})는 Django에도 PostgreSQL에도 없는 옵션이며, "
              "'invalid connection option' 오류로 접속이 실패합니다."}, {
        "en": "Delete them. Log slow queries on the server: ALTER DATABASE <db> SET "
              "log_min_duration_statement = '500ms'; (or in postgresql.conf); Django's own "
              "query log is the 'django.db.backends' logger with DEBUG on.",
        "ko": "삭제하세요. 느린 쿼리는 서버에서 기록합니다: ALTER DATABASE <db> SET "
              "log_min_duration_statement = '500ms'; (또는 postgresql.conf). Django 쿼리 로그는 "
              "DEBUG에서 'django.db.backends' 로거입니다."}),
    "DJ013": ({"en": "environment variables unset", "ko": "설정되지 않은 환경 변수"}, {
        "en": "Referenced but not set: {names}.",
        "ko": "참조하지만 설정되지 않은 환경 변수: {names}."}, {
        "en": "Set them in the Django project's .env (next to manage.py) or the environment; "
              "without a value Django uses the default in code or fails to start.",
        "ko": "Django 프로젝트 폴더(manage.py 옆)의 .env 또는 환경 변수에 설정하세요. 값이 없으면 "
              "코드의 기본값을 쓰거나 시작에 실패합니다."}),
    "DJ014": ({"en": "DEBUG with a production database", "ko": "운영 데이터베이스에서 DEBUG"}, {
        "en": "DEBUG is on ({where}) while the database is a production PostgreSQL ({names}): "
              "error pages show settings and SQL, and every query is kept in memory.",
        "ko": "운영 PostgreSQL({names})을 쓰면서 DEBUG가 켜져 있습니다 ({where}). 오류 페이지에 "
              "설정과 SQL이 노출되고 모든 쿼리가 메모리에 쌓입니다."}, {
        "en": "Set DEBUG = os.environ.get('DJANGO_DEBUG') == '1' and leave it unset in production.",
        "ko": "DEBUG = os.environ.get('DJANGO_DEBUG') == '1' 로 바꾸고 운영에서는 설정하지 "
              "마세요."}),
    "DJ015": ({"en": "hard-coded password", "ko": "코드에 박힌 비밀번호"}, {
        "en": "A password is written in the code ({where}); it ends up in git history.",
        "ko": "비밀번호가 코드에 적혀 있습니다 ({where}). git 기록에 남습니다."}, {
        "en": "Read it from the environment with no default: os.environ['DB_PASSWORD'] "
              "(kept in .env, mode 0600, git-ignored), and change the leaked password.",
        "ko": "기본값 없이 환경 변수에서 읽으세요: os.environ['DB_PASSWORD'] (.env, 권한 0600, "
              "git 제외). 노출된 비밀번호는 변경하세요."}),
}
OK_TEXT = {"en": "not found", "ko": "문제 없음"}
ERRORS = {
    "no_module": {"en": "Settings module {module} is not a file under {project}.",
                  "ko": "settings 모듈 {module}이(가) {project} 아래의 파일이 아닙니다."},
    "no_module_fix": {"en": "Set django_settings to the dotted module of the settings (e.g. "
                            "config.settings.dev) relative to the folder holding manage.py.",
                      "ko": "django_settings를 manage.py가 있는 폴더 기준의 점으로 구분한 settings "
                            "모듈(예: config.settings.dev)로 설정하세요."},
    "no_file": {"en": "Settings file {path} does not exist.",
                "ko": "settings 파일 {path}이(가) 없습니다."},
    "no_file_fix": {"en": "Check django_project and django_settings.",
                    "ko": "django_project와 django_settings를 확인하세요."},
}

# The guide's own DATABASES snippets (steps 1, "connection pooling", "UTF-8", "slow query
# log"), merged as a reader would paste them: linting it shows every mistake at once.
GUIDE_SETTINGS = """\
import os
DEBUG = True
DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.postgresql',
        'NAME': os.environ.get('DB_NAME', 'spc_db'),
        'USER': os.environ.get('DB_USER', 'spc_user'),
        'PASSWORD': os.environ.get('DB_PASSWORD', 'secure_password_here'),
        'HOST': os.environ.get('DB_HOST', 'localhost'),
        'PORT': os.environ.get('DB_PORT', '5432'),
        'CONN_MAX_AGE': 600,
        'OPTIONS': {
            'connect_timeout': 10,
            'init_command': "SET sql_mode='STRICT_TRANS_TABLES'",
            'charset': 'utf8mb4',
            'log_queries': True,
            'log_slow_queries': True,
        },
    }
}
"""


@dataclass(frozen=True)
class EnvRef:
    """One `os.environ` / `os.getenv` lookup in a settings file."""

    name: str
    has_default: bool
    default: object
    where: str


def settings_path(project: Path, module: str) -> Path:
    """The file a dotted settings module resolves to inside the Django project folder."""
    base = Path(project, *module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    raise ConfigError(ERRORS["no_module"], ERRORS["no_module_fix"], module=repr(module),
                      project=str(project))


def module_files(path: Path, seen: set[Path] | None = None) -> list[Path]:
    """The settings file plus the files it star-imports relatively (base settings)."""
    seen = seen if seen is not None else set()
    path = path.resolve()
    if path in seen or not path.is_file():
        return []
    seen.add(path)
    files = [path]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level and any(
                a.name == "*" for a in node.names):
            folder = path.parent
            for _ in range(node.level - 1):
                folder = folder.parent
            target = Path(folder, *(node.module or "").split(".")) if node.module else folder
            for candidate in (target.with_suffix(".py"), target / "__init__.py"):
                files += module_files(candidate, seen)
    return files


def _env_call(node: ast.AST) -> tuple[str, bool, object] | None:
    """(name, has_default, default) for os.environ.get / os.getenv / os.environ[...]."""
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        func = ast.unparse(node.func)
        if func.endswith(("environ.get", "getenv")):
            default = node.args[1] if len(node.args) > 1 else None
            value = default.value if isinstance(default, ast.Constant) else None
            return str(node.args[0].value), default is not None, value
    if (isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("environ")
            and isinstance(node.slice, ast.Constant)):
        return str(node.slice.value), False, None
    return None


def env_refs(tree: ast.AST, label: str) -> list[EnvRef]:
    refs = []
    for node in ast.walk(tree):
        found = _env_call(node)
        if found:
            refs.append(EnvRef(found[0], found[1], found[2], f"{label}:{node.lineno}"))
    return refs


def _resolve(node: ast.AST | None, environ: Mapping[str, str]) -> object:
    """A literal, or an environment lookup resolved against `environ`; None otherwise."""
    if isinstance(node, ast.Constant):
        return node.value
    found = _env_call(node) if node is not None else None
    if found:
        return environ.get(found[0], found[2])
    return None


def _pairs(tree: ast.AST):
    """(key, value node, line) of every dict entry with a string key."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    yield key.value, value, key.lineno


def _assignments(tree: ast.AST, name: str):
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
                isinstance(tg, ast.Name) and tg.id == name for tg in node.targets):
            yield node


def default_database(tree: ast.AST) -> ast.Dict | None:
    """The `DATABASES['default']` dict literal of the last DATABASES assignment, if any."""
    found = None
    for node in _assignments(tree, "DATABASES"):
        if isinstance(node.value, ast.Dict):
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "default" and isinstance(
                        value, ast.Dict):
                    found = value
    return found


def database_values(tree: ast.AST, environ: Mapping[str, str]) -> dict[str, object]:
    """ENGINE, NAME, HOST ... of DATABASES['default'], environment lookups resolved."""
    block = default_database(tree)
    if block is None:
        return {}
    return {k.value: _resolve(v, environ) for k, v in zip(block.keys, block.values, strict=True)
            if isinstance(k, ast.Constant)}


def _debug_on(tree: ast.AST, environ: Mapping[str, str], label: str) -> str | None:
    where = None
    for node in _assignments(tree, "DEBUG"):
        value = _resolve(node.value, environ)
        on = value is True or (isinstance(value, str) and value.lower() in TRUE_WORDS)
        where = f"{label}:{node.lineno}" if on else None
    return where


def _where(hits: list[str]) -> str:
    return ", ".join(hits[:4]) + (" …" if len(hits) > 4 else "")


def _row(rule: str, hits: list[str], language: str, status: str = "fail",
         names: str = "") -> Check:
    label, problem, fix = RULES[rule]
    name = t(label, language)
    if not hits:
        return Check(rule, name, "ok", t(OK_TEXT, language))
    return Check(rule, name, status, t(problem, language, where=_where(hits), names=names),
                 t(fix, language), {"where": hits, "problem": dict(problem), "fix": dict(fix)})


def _option_hits(parsed: list[tuple[str, ast.AST]], keys: set[str]) -> list[str]:
    return [f"{label}:{line} {key}" for label, tree in parsed
            for key, _value, line in _pairs(tree) if key in keys]


def _password_hits(parsed: list[tuple[str, ast.AST]]) -> list[str]:
    hits = []
    for label, tree in parsed:
        for key, value, line in _pairs(tree):
            if key == "PASSWORD" and isinstance(value, ast.Constant) and value.value:
                hits.append(f"{label}:{line} PASSWORD")
        for ref in env_refs(tree, label):
            if "PASSWORD" in ref.name.upper() and ref.has_default and ref.default:
                hits.append(f"{ref.where} default of {ref.name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and any(
                    isinstance(tg, ast.Name) and tg.id.endswith("PASSWORD") and node.value.value
                    for tg in node.targets):
                hits.append(f"{label}:{node.lineno} {node.targets[0].id}")
    return hits


def _production(parsed, environ, module: str) -> tuple[list[str], str]:
    """(where DEBUG is on, description of the production database) or ([], '')."""
    debug, db = None, {}
    for label, tree in reversed(parsed):  # base files first, the module itself last
        if any(_assignments(tree, "DEBUG")):
            debug = _debug_on(tree, environ, label)
        db = database_values(tree, environ) or db
    engine = str(db.get("ENGINE") or "")
    host = str(db.get("HOST") or "")
    remote = "postgresql" in engine and (host not in LOOPBACK or "prod" in module.lower())
    return ([debug], f"{db.get('NAME')}@{host or 'local socket'}") if debug and remote \
        else ([], "")


def lint_sources(sources: list[tuple[str, str]], environ: Mapping[str, str] | None = None,
                 module: str = "", language: str = "en") -> CheckTable:
    """Lint (label, source text) pairs as one settings module; one row per rule."""
    environ = os.environ if environ is None else environ
    parsed = [(label, ast.parse(text)) for label, text in sources]
    refs = [ref for label, tree in parsed for ref in env_refs(tree, label)]
    unset = sorted({r.name for r in refs if not environ.get(r.name)})
    hard = {r.name for r in refs if not environ.get(r.name) and not r.has_default}
    names = ", ".join(f"{n} (no default)" if n in hard else n for n in unset)
    debug, prod = _production(parsed, environ, module)
    return table([
        _row("DJ010", _option_hits(parsed, {"init_command"}), language),
        _row("DJ011", _option_hits(parsed, {"charset"}), language),
        _row("DJ012", _option_hits(parsed, {"log_queries", "log_slow_queries"}), language,
             names="/".join(sorted({h.split()[-1] for h in _option_hits(
                 parsed, {"log_queries", "log_slow_queries"})}))),
        _row("DJ013", [r.where + " " + r.name for r in refs if r.name in unset], language,
             "fail" if hard else "warn", names=names),
        _row("DJ014", debug, language, "warn", names=prod),
        _row("DJ015", _password_hits(parsed), language),
    ])


def lint_guide(environ: Mapping[str, str] | None = None, language: str = "en") -> CheckTable:
    """Lint the guide's own snippets: what would go wrong if pasted as written."""
    return lint_sources([("guide", GUIDE_SETTINGS)], environ, "", language)


def lint_file(path: Path, environ: Mapping[str, str] | None = None, module: str = "",
              language: str = "en") -> CheckTable:
    """Lint a settings file and the base settings it star-imports."""
    files = module_files(Path(path))
    if not files:
        raise ConfigError(ERRORS["no_file"], ERRORS["no_file_fix"], path=str(path))
    sources = [(f.name, f.read_text(encoding="utf-8")) for f in files]
    return lint_sources(sources, environ, module, language)


__all__ = ["RULES", "GUIDE_SETTINGS", "lint_guide", "settings_path", "module_files", "lint_sources", "lint_file",
           "database_values", "default_database", "env_refs"]
