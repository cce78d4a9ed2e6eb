"""Stage 00's tables: the map of the runbook and the parameters explained (data, rendered)."""

from __future__ import annotations

from ..core import paths
from ..core.config import MEANINGS, PARAMETERS
from ..core.i18n import t

# notebook stem → (what it does, what it changes). README's stage table says the same.
STAGES: dict[str, tuple[dict, dict]] = {
    "00_start_here": (
        {"en": "why PostgreSQL, this map, the parameters explained",
         "ko": "왜 PostgreSQL인가, 런북 지도, 매개변수 설명"},
        {"en": "nothing", "ko": "없음"}),
    "01_install_checks": (
        {"en": "Python, packages, psycopg2, psql/pg_dump, server reachable, version, "
               "encoding, authentication method, port; install command for this OS",
         "ko": "Python, 패키지, psycopg2, psql/pg_dump, 서버 접속, 버전, 인코딩, 인증 방식, "
               "포트 점검; 이 OS용 설치 명령"},
        {"en": "training: starts the embedded server, builds the sample SQLite data",
         "ko": "교육용: 내장 서버를 시작하고 샘플 SQLite 데이터를 만듦"}),
    "02_create_database": (
        {"en": "application role + database owned by it, password from the secret, "
               "schema rights, connect-as-app check",
         "ko": "애플리케이션 역할과 그 역할이 소유한 데이터베이스, 비밀 값에서 읽은 비밀번호, "
               "스키마 권한, 애플리케이션 역할로 접속 확인"},
        {"en": "creates what is missing on the server; a second run changes nothing",
         "ko": "서버에 없는 것만 생성; 다시 실행하면 아무것도 바꾸지 않음"}),
    "03_migrate": (
        {"en": "snapshot of the SQLite file, schema plan, data copy, indexes/FKs/sequences",
         "ko": "SQLite 파일 스냅숏, 스키마 계획, 데이터 복사, 인덱스/외래 키/시퀀스"},
        {"en": "writes the tables in the target database",
         "ko": "대상 데이터베이스에 테이블을 만들고 채움"}),
    "04_validate": (
        {"en": "counts, checksums, sequences, FK integrity, samples, the guide's checks",
         "ko": "행 수, 체크섬, 시퀀스, 외래 키 무결성, 표본, 가이드의 검증"},
        {"en": "nothing (reads only)", "ko": "없음 (읽기만 함)"}),
    "05_troubleshoot": (
        {"en": "known problems: probe, diagnose, fix; fault drills in training mode",
         "ko": "알려진 문제: 점검, 진단, 해결; 교육 모드의 장애 훈련"},
        {"en": "training drills break and repair the embedded server on purpose",
         "ko": "교육용 훈련이 내장 서버를 일부러 고장 내고 복구함"}),
    "06_django_cutover": (
        {"en": "settings snippet, .env, .gitignore, settings lint, migrate, superuser, "
               "runserver smoke, the guide's checklist",
         "ko": "settings 코드, .env, .gitignore, settings 린트, migrate, 슈퍼유저, "
               "runserver 스모크 테스트, 가이드의 체크리스트"},
        {"en": "the Django settings only when apply_settings is true; .env",
         "ko": "apply_settings가 true일 때만 Django settings; .env"}),
    "07_benchmark": (
        {"en": "the guide's SQLite-vs-PostgreSQL table measured here, plotted",
         "ko": "가이드의 SQLite 대 PostgreSQL 성능 표를 이 머신에서 측정하고 그래프로 표시"},
        {"en": "scratch tables, dropped afterwards", "ko": "임시 테이블 (끝나면 삭제)"}),
    "08_operate": (
        {"en": "pg_dump backup + restore test, retention, rollback to SQLite, monitoring",
         "ko": "pg_dump 백업과 복원 테스트, 보관 주기, SQLite로 롤백, 모니터링"},
        {"en": "backup files under backup_dir; a scratch restore database",
         "ko": "backup_dir 아래 백업 파일; 복원 확인용 임시 데이터베이스"}),
}
PASSWORDS = {
    "app": {"en": "application role {user}", "ko": "애플리케이션 역할 {user}"},
    "admin": {"en": "admin role {user}", "ko": "관리자 역할 {user}"},
    "pgpass": {"en": "~/.pgpass (read by libpq)", "ko": "~/.pgpass (libpq가 읽음)"},
}


def stage_map(language: str | None = None):
    """The stages as a DataFrame: notebook, what it does, what it changes, present here."""
    import pandas as pd

    folder = paths.project_root() / "notebooks"
    rows = [{"notebook": f"{stem}.ipynb", "what it does": t(what, language),
             "what it changes": t(changes, language),
             "present": (folder / f"{stem}.ipynb").is_file()}
            for stem, (what, changes) in STAGES.items()]
    return pd.DataFrame(rows)


def parameters_table(settings=None, language: str | None = None):
    """Every parameter: default, allowed values, meaning (and this run's value when given)."""
    import pandas as pd

    language = language or (settings.language if settings is not None else None)
    rows = []
    for name, (default, kind, _meaning) in PARAMETERS.items():
        allowed = " | ".join(map(repr, kind)) if isinstance(kind, tuple) else kind.__name__
        row = {"parameter": name, "default": repr(default), "allowed": allowed,
               "meaning": t(MEANINGS[name], language)}
        if settings is not None:
            row["this run"] = repr(getattr(settings, name))
        rows.append(row)
    return pd.DataFrame(rows)


def passwords(settings):
    """Where each password comes from; the value itself is never shown."""
    import pandas as pd

    lang = settings.language
    rows = []
    for key, user, env, secret in (
            ("app", settings.db_user, settings.password_env, settings.password),
            ("admin", settings.admin_user, settings.admin_password_env, settings.admin_password)):
        rows.append({"role": t(PASSWORDS[key], lang, user=user), "variable": env,
                     "source": secret.source if secret else t(PASSWORDS["pgpass"], lang),
                     "value": "********" if secret else ""})
    return pd.DataFrame(rows)


__all__ = ["STAGES", "stage_map", "parameters_table", "passwords"]
