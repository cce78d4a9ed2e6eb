"""Settings: one object built from a parameters profile, papermill parameters and the environment.

Precedence, lowest first: built-in defaults, the parameters (profile YAML or the notebook's
parameters cell with papermill's injected values), then for an empty `db_*` parameter the
guide's environment variables (`DB_NAME DB_USER DB_HOST DB_PORT`); an empty `db_port` of the
embedded target is the port its server last started on (`.runbook/server.json`), so it is
chosen once and found by every later run and notebook. Passwords only ever come
from the environment, the project's `.env`, the embedded server's `.runbook/secrets.env`, or
libpq's `~/.pgpass`: never from a parameter.
"""

from __future__ import annotations

import difflib
import os
import secrets as _random
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from dotenv import dotenv_values, load_dotenv

from . import paths, port_memory, strict_yaml
from .errors import ConfigError
from .i18n import LANGUAGES, current, fill, use
from .secrets import Secret

# name: (default, allowed values or type, one-line meaning). The single source of truth for
# every notebook's parameters cell, every profile and `runbook run -p`.
PARAMETERS: dict[str, tuple[Any, Any, str]] = {
    "sqlite_path": ("examples/spc_backend/db.sqlite3", str, "the source SQLite file"),
    "django_project": ("examples/spc_backend", str, "folder holding manage.py; empty: plain SQLite"),
    "django_settings": ("config.settings.dev", str, "settings module of the Django project"),
    "django_python": ("", str, "the project's own interpreter; empty: venv/, .venv/ or env/ "
                      "beside manage.py or one level up, else the runbook's"),
    "target": ("embedded", ("embedded", "server"), "embedded: local server; server: existing one"),
    "db_host": ("", str, "empty: $DB_HOST, else localhost"),
    "db_port": (0, int, "0: $DB_PORT, else 5432; embedded: its remembered port, else 55432"),
    "db_name": ("", str, "empty: $DB_NAME, else spc_db"),
    "db_user": ("", str, "empty: $DB_USER, else spc_user"),
    "password_env": ("DB_PASSWORD", str, "environment variable holding the app password"),
    "admin_user": ("postgres", str, "role that creates the app role and database"),
    "admin_password_env": ("PGADMIN_PASSWORD", str, "environment variable of the admin password"),
    "reset_password": (False, bool, "stage 02 may change an existing role's password "
                       "(never otherwise)"),
    "schema": ("", ("", "django", "sqlite"), "empty: django when a project is set, else sqlite"),
    "method": ("copy", ("copy", "loaddata", "pgloader"), "how the rows are copied"),
    "data": (True, bool, "false: schema only (the guide's method C)"),
    "if_exists": ("fail", ("fail", "truncate", "replace"), "what to do with a non-empty target"),
    "on_bad_value": ("fail", ("fail", "null", "quarantine"), "values that do not fit the type"),
    "workers": (2, int, "tables (and table slices) copied in parallel"),
    "validate_mode": ("full", ("full", "sample", "counts"), "how much validation compares"),
    "sample_fraction": (0.1, float, "share of rows compared when validate_mode is sample"),
    "diff_samples": (5, int, "differing rows shown side by side per table"),
    "cutover_by_sync": (False, bool, "you will cut over with catch-up syncs (06): full "
                        "validation also records the snapshot's row hashes for the first sync"),
    "dry_run": (False, bool, "plan only, write nothing"),
    "language": ("en", ("en", "ko"), "language of the messages users read"),
    "source_timezone": ("", str, "zone of naive timestamps; empty: from Django settings, else UTC"),
    "types": ("data", ("data", "declared"), "schema: sqlite: data follows the values where the "
              "declared type lies; declared keeps the declared types strictly"),
    "type_overrides": ({}, dict, "'table.column': 'postgres type' overrides of the type mapping"),
    "name_map": ({}, dict, "'name': 'new_name' renames; names over 63 bytes are shortened "
                 "without it"),
    "demo_rows": (20000, int, "rows of the sample SPC database, built when it is missing"),
    "run_drills": (False, bool, "walk the fault drills in 05 (embedded server only)"),
    "apply_settings": (False, bool, "write the PostgreSQL DATABASES block into the settings"),
    "overwrite_env": (False, bool, "replace an existing .env file"),
    "bench_seconds": (30, int, "time budget of the benchmark stage"),
    "backup_dir": ("", str, "empty: <run_dir>/backups"),
    "run_dir": ("", str, "set by `runbook run`; empty: runs/interactive"),
}

# The meanings in Korean (the parameters cell of notebooks/ko/, stage 00's table). A new
# parameter without its Korean fails tests/unit/test_i18n.py, naming it.
_MEANINGS_KO = {
    "sqlite_path": "원본 SQLite 파일",
    "django_project": "manage.py가 있는 폴더; 비우면 Django 없는 SQLite 파일",
    "django_settings": "Django 프로젝트의 settings 모듈",
    "django_python": "프로젝트 자신의 인터프리터; 비우면 manage.py 옆이나 한 단계 위의 venv/, .venv/, "
                     "env/, 없으면 런북의 것",
    "target": "embedded: 로컬 내장 서버, server: 기존 서버",
    "db_host": "비우면 $DB_HOST, 없으면 localhost",
    "db_port": "0이면 $DB_PORT, 없으면 5432 (내장 서버는 55432)",
    "db_name": "비우면 $DB_NAME, 없으면 spc_db",
    "db_user": "비우면 $DB_USER, 없으면 spc_user",
    "password_env": "애플리케이션 비밀번호를 담은 환경 변수",
    "admin_user": "애플리케이션 역할과 데이터베이스를 만드는 역할",
    "admin_password_env": "관리자 비밀번호를 담은 환경 변수",
    "reset_password": "02단계가 기존 역할의 비밀번호를 바꿀 수 있음 (그 밖에는 절대 바꾸지 않음)",
    "schema": "비우면 프로젝트가 있을 때 django, 없으면 sqlite",
    "method": "행을 복사하는 방법",
    "data": "false: 스키마만 (가이드의 방법 C)",
    "if_exists": "대상이 비어 있지 않을 때의 처리",
    "on_bad_value": "타입에 맞지 않는 값의 처리",
    "workers": "병렬로 복사할 테이블(및 테이블 조각) 수",
    "validate_mode": "검증에서 비교하는 범위",
    "sample_fraction": "validate_mode가 sample일 때 비교하는 행의 비율",
    "diff_samples": "테이블마다 나란히 보여 줄 차이 나는 행 수",
    "cutover_by_sync": "따라잡기 동기화로 전환할 예정 (06): 전체 검증이 첫 동기화를 위해 스냅샷의 "
                       "행 해시도 기록함",
    "dry_run": "계획만 세우고 아무것도 쓰지 않음",
    "language": "사람이 읽는 메시지의 언어",
    "source_timezone": "시간대 없는 타임스탬프의 시간대; 비우면 Django 설정, 없으면 UTC",
    "types": "schema: sqlite에서 data는 선언 타입이 값과 맞지 않을 때 값을 따르고, declared는 선언 "
             "타입을 엄격히 지킴",
    "type_overrides": "'table.column': 'postgres 타입' 형식의 타입 매핑 재정의",
    "name_map": "'name': 'new_name' 형식의 이름 바꾸기; 63바이트를 넘는 이름은 없어도 줄임",
    "demo_rows": "샘플 SPC 데이터베이스의 행 수 (없을 때 생성)",
    "run_drills": "05에서 장애 훈련 실행 (내장 서버 전용)",
    "apply_settings": "PostgreSQL DATABASES 블록을 settings 파일에 기록",
    "overwrite_env": "기존 .env 파일 교체",
    "bench_seconds": "벤치마크 단계의 시간 예산(초)",
    "backup_dir": "비우면 <run_dir>/backups",
    "run_dir": "`runbook run`이 설정; 비우면 runs/interactive",
}
# name → {"en", "ko"}: what a person reads about each parameter.
MEANINGS = {name: {"en": spec[2], "ko": _MEANINGS_KO.get(name, "")}
            for name, spec in PARAMETERS.items()}

ENV_FALLBACK = {"db_host": ("DB_HOST", "localhost"), "db_port": ("DB_PORT", 5432),
                "db_name": ("DB_NAME", "spc_db"), "db_user": ("DB_USER", "spc_user")}
EMBEDDED_PORT = 55432  # not 5432, so a system PostgreSQL on this machine is never in the way
_IGNORED = {"In", "Out"}


@dataclass
class Settings:
    """Every parameter, resolved, plus the two secrets (masked wherever shown)."""

    sqlite_path: str
    django_project: str
    django_settings: str
    django_python: str
    target: str
    db_host: str
    db_port: int
    db_name: str
    db_user: str
    password_env: str
    admin_user: str
    admin_password_env: str
    reset_password: bool
    schema: str
    method: str
    data: bool
    if_exists: str
    on_bad_value: str
    workers: int
    validate_mode: str
    sample_fraction: float
    diff_samples: int
    cutover_by_sync: bool
    dry_run: bool
    language: str
    source_timezone: str
    types: str
    type_overrides: dict
    name_map: dict
    demo_rows: int
    run_drills: bool
    apply_settings: bool
    overwrite_env: bool
    bench_seconds: int
    backup_dir: str
    run_dir: str
    password: Secret | None = field(default=None, repr=True)
    admin_password: Secret | None = field(default=None, repr=True)
    schema_given: bool = field(default=False, repr=False)  # schema set, not derived

    @property
    def root(self) -> Path:
        return paths.project_root()

    @property
    def run_path(self) -> Path:
        return paths.resolve(self.run_dir)

    @property
    def sqlite_file(self) -> Path:
        return paths.resolve(self.sqlite_path)

    @property
    def django_dir(self) -> Path | None:
        return paths.resolve(self.django_project) if self.django_project else None

    def dsn(self, admin: bool = False, dbname: str | None = None) -> str:
        """The connection URL with the password masked: safe to print."""
        user = self.admin_user if admin else self.db_user
        db = dbname or ("postgres" if admin else self.db_name)
        return f"postgresql://{user}:********@{self.db_host}:{self.db_port}/{db}"

    def parameters(self) -> dict[str, Any]:
        """The parameters only (no secrets), as papermill would receive them."""
        return {name: getattr(self, name) for name in PARAMETERS}

    def _repr_html_(self) -> str:
        """Source → target and the main choices; every parameter behind a fold (escaped)."""
        from .display import settings_html

        return settings_html(self)


def valid_names() -> str:
    return ", ".join(PARAMETERS)


ERRORS = {
    "password": {
        "en": "'{name}' looks like a password given as a parameter; parameters are written "
              "into executed notebooks, so passwords are never taken from them.",
        "ko": "'{name}'은(는) 매개변수로 준 비밀번호로 보입니다. 매개변수는 실행된 노트북에 "
              "기록되므로 비밀번호는 매개변수로 받지 않습니다."},
    "password_fix": {
        "en": "Put the password in the environment or the project's .env file (DB_PASSWORD for "
              "the application, PGADMIN_PASSWORD for the admin role), or in ~/.pgpass.",
        "ko": "비밀번호는 환경 변수나 프로젝트의 .env 파일(애플리케이션은 DB_PASSWORD, 관리자 "
              "역할은 PGADMIN_PASSWORD) 또는 ~/.pgpass에 두세요."},
    "unknown": {"en": "Unknown parameter '{name}'.", "ko": "알 수 없는 매개변수 '{name}'입니다."},
    "unknown_guess": {"en": "Unknown parameter '{name}'. Did you mean '{guess}'?",
                      "ko": "알 수 없는 매개변수 '{name}'입니다. '{guess}'을(를) 뜻했나요?"},
    "unknown_fix": {"en": "Valid parameters: {names}.", "ko": "쓸 수 있는 매개변수: {names}."},
    "choice": {"en": "Parameter '{name}' is {value}; it must be one of {kind}.",
               "ko": "매개변수 '{name}'의 값 {value}은(는) 쓸 수 없습니다. {kind} 중 하나여야 "
                     "합니다."},
    "choice_fix": {"en": "Set {name} to one of: {choices}.",
                   "ko": "{name}을(를) 다음 중 하나로 설정하세요: {choices}."},
    "type": {"en": "Parameter '{name}' is {value} ({got}); it must be a {kind}.",
             "ko": "매개변수 '{name}'의 값 {value}({got})은(는) {kind} 형식이어야 합니다."},
    "type_fix": {"en": "Give {name} a {kind} value, for example {example}.",
                 "ko": "{name}에 {kind} 값을 주세요. 예: {example}."},
    "no_profile": {"en": "Parameters file {file} does not exist.",
                   "ko": "매개변수 파일 {file}이(가) 없습니다."},
    "no_profile_fix": {"en": "Pass one of the profiles in parameters/ (e.g. "
                             "parameters/training.yaml) or create the file.",
                       "ko": "parameters/에 있는 프로필 하나(예: parameters/training.yaml)를 "
                             "주거나 파일을 만드세요."},
    "profile_size": {"en": "Parameters file {file} is {size:,} bytes; profiles are limited to "
                           "{limit:,} bytes.",
                     "ko": "매개변수 파일 {file}의 크기가 {size:,}바이트입니다. 프로필은 "
                           "{limit:,}바이트까지만 받습니다."},
    "profile_size_fix": {"en": "A profile holds a few dozen short lines: check that this is the "
                               "right file.",
                         "ko": "프로필은 짧은 줄 수십 개입니다. 올바른 파일인지 확인하세요."},
    "not_utf8": {"en": "Parameters file {file} is not UTF-8 text ({reason} at byte {start}).",
                 "ko": "매개변수 파일 {file}이(가) UTF-8 텍스트가 아닙니다({start}번째 바이트: "
                       "{reason})."},
    "not_utf8_fix": {"en": "Save the profile as UTF-8.", "ko": "프로필을 UTF-8로 저장하세요."},
    "profile_where": {"en": "Parameters file {file}", "ko": "매개변수 파일 {file}"},
    "not_mapping": {"en": "Parameters file {file} must be a mapping of name: value, not a "
                          "{got}.",
                    "ko": "매개변수 파일 {file}은(는) {got}이(가) 아니라 이름: 값 매핑이어야 "
                          "합니다."},
    "not_mapping_fix": {"en": "Valid names: {names}.", "ko": "쓸 수 있는 이름: {names}."},
}


def _check_name(name: str) -> None:
    if "password" in name.lower() and name not in PARAMETERS:
        raise ConfigError(ERRORS["password"], ERRORS["password_fix"], name=name)
    if name not in PARAMETERS:
        close = difflib.get_close_matches(name, PARAMETERS, n=1, cutoff=0.6)
        raise ConfigError(ERRORS["unknown_guess" if close else "unknown"], ERRORS["unknown_fix"],
                          name=name, guess=close[0] if close else "", names=valid_names())


def _coerce(name: str, value: Any) -> Any:
    default, kind, _ = PARAMETERS[name]
    if isinstance(kind, tuple):
        if value is None and "null" in kind:  # YAML reads a bare `null` as None
            return "null"
        if value not in kind:
            raise ConfigError(ERRORS["choice"], ERRORS["choice_fix"], name=name,
                              value=repr(value), kind=repr(kind),
                              choices=", ".join(map(repr, kind)))
        return value
    if kind is bool and isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if value is None and kind is str:
        return ""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(ERRORS["type"], ERRORS["type_fix"], name=name, value=repr(value),
                          got=type(value).__name__, kind=kind.__name__, example=repr(default))
    return value


def check_parameters(values: dict[str, Any]) -> dict[str, Any]:
    """Validate names and types; return the values coerced."""
    from .identifiers import check_identifier

    out = {}
    for name, value in values.items():
        _check_name(name)
        out[name] = _coerce(name, value)
        if name in ("db_name", "db_user", "admin_user") and out[name]:
            check_identifier(out[name], name)  # refused before any run starts
    return out


def load_profile(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a parameters profile (YAML mapping of parameter names)."""
    file = paths.resolve(path)
    if not file.is_file():
        raise ConfigError(ERRORS["no_profile"], ERRORS["no_profile_fix"], file=str(file))
    if file.stat().st_size > strict_yaml.MAX_BYTES:
        raise ConfigError(ERRORS["profile_size"], ERRORS["profile_size_fix"], file=str(file),
                          size=file.stat().st_size, limit=strict_yaml.MAX_BYTES)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(ERRORS["not_utf8"], ERRORS["not_utf8_fix"], file=str(file),
                          reason=exc.reason, start=exc.start) from None
    data = strict_yaml.load(text, fill(ERRORS["profile_where"], file=file))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(ERRORS["not_mapping"], ERRORS["not_mapping_fix"], file=str(file),
                          got=type(data).__name__, names=valid_names())
    try:
        return check_parameters(data)
    except ConfigError as exc:
        message, hint = exc.texts
        raise ConfigError("{file}: {message}", hint, file=str(file), message=message) from None


def _from_namespace(ns: dict[str, Any]) -> dict[str, Any]:
    """Pick the parameters out of a notebook's globals; refuse near-miss names (typos)."""
    picked = {}
    for name, value in ns.items():
        if name in PARAMETERS:
            picked[name] = value
        elif (not name.startswith("_") and name not in _IGNORED
              and isinstance(value, (str, int, float, bool, dict, list, type(None)))
              and (difflib.get_close_matches(name, PARAMETERS, n=1, cutoff=0.8)
                   or "password" in name.lower())):
            _check_name(name)
    return check_parameters(picked)


def secrets_file() -> Path:
    return paths.state_dir() / "secrets.env"


def _lookup_secret(env_name: str, generate: bool) -> Secret | None:
    dot = paths.project_root() / ".env"
    if os.environ.get(env_name):  # load_dotenv may have put it there: name the real source
        from_dot = dot.is_file() and dotenv_values(dot).get(env_name) == os.environ[env_name]
        return Secret(os.environ[env_name], source=".env" if from_dot else f"${env_name}")
    if dot.is_file() and dotenv_values(dot).get(env_name):
        return Secret(dotenv_values(dot)[env_name], source=".env")
    store = secrets_file()
    stored = dotenv_values(store) if store.is_file() else {}
    if stored.get(env_name):
        return Secret(stored[env_name], source=".runbook/secrets.env")
    if not generate:
        return None  # libpq will look in ~/.pgpass
    value = _random.token_urlsafe(18)
    paths.make_state_dir()
    with open(os.open(store, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a") as fh:
        fh.write(f"{env_name}={value}\n")
    os.chmod(store, 0o600)
    return Secret(value, source=".runbook/secrets.env")


def build_settings(values: dict[str, Any]) -> Settings:
    """Defaults + validated values + environment → Settings (creates the run folder)."""
    dot = paths.project_root() / ".env"
    if dot.is_file():
        load_dotenv(dot, override=False)
    merged = {name: spec[0] for name, spec in PARAMETERS.items()}
    merged.update(check_parameters(values))
    for name, (env, fallback) in ENV_FALLBACK.items():
        if not merged[name]:
            raw = os.environ.get(env) or fallback
            if name == "db_port" and merged["target"] == "embedded":  # where it runs first
                raw = port_memory.read() or os.environ.get(env) or EMBEDDED_PORT
            merged[name] = _coerce(name, int(raw) if name == "db_port" else raw)
    schema_given = bool(merged["schema"])
    if not schema_given:
        merged["schema"] = "django" if merged["django_project"] else "sqlite"
    if not merged["run_dir"]:
        merged["run_dir"] = str(paths.runs_dir() / "interactive")
    merged["run_dir"] = str(paths.resolve(merged["run_dir"]))
    _check_identifiers(merged)
    embedded = merged["target"] == "embedded"
    settings = Settings(**merged, schema_given=schema_given)
    settings.password = _lookup_secret(settings.password_env, generate=embedded)
    settings.admin_password = _lookup_secret(settings.admin_password_env, generate=embedded)
    paths.make_run_dir(settings.run_dir)  # private, and umask 077 for this kernel
    return settings


def load_settings(ns: dict[str, Any] | None = None, profile: str | None = None,
                  **overrides: Any) -> Settings:
    """Settings from a notebook's globals (`load_settings(globals())`), a profile, or both.
    A `language` none of them names is the one this process already uses (`i18n.current()`:
    English in a kernel, the command's language in `runbook server|drill|training`)."""
    for given in (overrides, ns or {}):  # errors below already in the run's language
        if given.get("language") in LANGUAGES:
            use(given["language"])
            break
    values: dict[str, Any] = load_profile(profile) if profile else {}
    if ns:
        values.update(_from_namespace(ns))
    values.update(check_parameters(overrides))
    values.setdefault("language", current())  # none named: the language already chosen
    settings = build_settings(values)
    from .display import install

    install(settings.language)  # tables and checks shown in the notebook's language
    return settings


def _check_identifiers(values: dict[str, Any]) -> None:
    from .identifiers import check_identifier

    for name in ("db_name", "db_user", "admin_user"):
        check_identifier(values[name], name)


__all__ = ["PARAMETERS", "MEANINGS", "Settings", "load_settings", "load_profile", "check_parameters",
           "build_settings"]
assert {f.name for f in fields(Settings)} == set(PARAMETERS) | {"password", "admin_password",
                                                               "schema_given"}
