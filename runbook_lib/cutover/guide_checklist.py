"""The guide's verification checklist (검증 체크리스트) as one table of automated checks.

Each item is ok / fail / skip with its evidence; most reuse the results of
`checks.check_target`, the rest (server, settings, data) are checked here.
"""

from __future__ import annotations

from ..core import db, manifest, state
from ..core.errors import RunbookError
from ..core.i18n import t
from ..core.results import Check, CheckTable, table
from . import checks, settings_block

ITEMS = {
    "DJ050": {"en": "PostgreSQL server running", "ko": "PostgreSQL 서버 실행 중"},
    "DJ051": {"en": "Django settings changed", "ko": "Django settings.py 변경 완료"},
    "DJ052": {"en": "python manage.py migrate succeeded", "ko": "python manage.py migrate 성공"},
    "DJ053": {"en": "Data loaded", "ko": "데이터 로드 완료"},
    "DJ054": {"en": "Superuser created", "ko": "Superuser 생성"},
    "DJ055": {"en": "Server starts (runserver)", "ko": "서버 시작 (runserver)"},
    "DJ056": {"en": "Admin page answers", "ko": "Admin 페이지 접속"},
    "DJ057": {"en": "Product data", "ko": "제품 데이터 확인"},
    "DJ058": {"en": "Measurement data", "ko": "측정 데이터 확인"},
    "DJ059": {"en": "API endpoints", "ko": "API 엔드포인트 테스트"},
    "DJ060": {"en": "WebSocket connection", "ko": "WebSocket 연결 테스트"},
}
FROM_TARGET = {"DJ054": "DJ033", "DJ055": "DJ034", "DJ056": "DJ035", "DJ057": "DJ036",
               "DJ058": "DJ037", "DJ060": "DJ038"}
NOT_RUN = ("fail", {"en": "not checked: an earlier step failed",
                   "ko": "확인하지 못함: 앞 단계가 실패함"})
EVIDENCE = {
    "server": {"en": "PostgreSQL {version} answers at {dsn}", "ko": "PostgreSQL {version}, {dsn}에서 응답"},
    "shim": {"en": "{file} still uses its old DATABASES (apply_settings: false); the runbook ran "
                   "the project on PostgreSQL through its settings shim",
             "ko": "{file}은(는) 아직 이전 DATABASES를 씀 (apply_settings: false); 런북은 settings "
                   "shim을 통해 프로젝트를 PostgreSQL에서 실행함"},
    "block": {"en": "{file} holds the PostgreSQL block; the project's own settings connect to "
                    "{vendor} database {name} (CONN_MAX_AGE {age})",
              "ko": "{file}에 PostgreSQL 블록이 있음; 프로젝트 자신의 settings가 {vendor} "
                    "데이터베이스 {name}에 접속 (CONN_MAX_AGE {age})"},
    "missing": {"en": "missing tables: {tables}", "ko": "없는 테이블: {tables}"},
    "fewer": {"en": "fewer rows: {tables}", "ko": "행이 모자란 테이블: {tables}"},
    "invalid": {"en": "stage 04 validation failed", "ko": "04단계 검증 실패"},
    "loaded": {"en": "{n} tables, {rows} source rows all in PostgreSQL",
               "ko": "테이블 {n}개, 원본 {rows}행 모두 PostgreSQL에 있음"},
    "validated": {"en": "{n} tables, {rows} source rows all in PostgreSQL and stage 04 "
                        "validation ok",
                  "ko": "테이블 {n}개, 원본 {rows}행 모두 PostgreSQL에 있고 04단계 검증 정상"},
    "which": {"en": " (migration {run})", "ko": " (마이그레이션 {run})"},
    "which_held": {"en": " (migration {run}, {held} row(s) quarantined by it)",
                   "ko": " (마이그레이션 {run}, 격리된 행 {held}개)"},
    "unfinished": {"en": "the target's last migration, {run} (started {started}), did not "
                         "finish: `runbook run --resume` or run 03_migrate again",
                   "ko": "대상 데이터베이스의 마지막 마이그레이션 {run} (시작 {started}) 이 끝나지 "
                         "않았습니다: `runbook run --resume` 또는 03_migrate 를 다시 실행하세요"},
}


def _e(settings, key: str, **values) -> str:
    return t(EVIDENCE[key], settings.language, **values)


def _server(settings) -> tuple[str, str]:
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SHOW server_version")
        version = cur.fetchone()[0]
    return "ok", _e(settings, "server", version=version, dsn=settings.dsn())


VENDOR = ("from django.db import connection as c; "
          "print(c.vendor, c.settings_dict['NAME'], c.settings_dict.get('CONN_MAX_AGE'))")


def _settings_changed(settings) -> tuple[str, str]:
    if not settings_block.has_project(settings):
        return "skip", t(settings_block.NO_PROJECT_TEXT, settings.language)
    file = settings_block.settings_file(settings)
    if not settings_block.applied(settings):
        return "skip", _e(settings, "shim", file=file.name)
    out = checks.run_manage(settings, "shell", "-c", VENDOR,
                             env=checks.own_environment(settings)).stdout.split()
    vendor, name, age = out[-3:]
    status = "ok" if vendor == "postgresql" else "fail"
    return status, _e(settings, "block", file=file.name, vendor=vendor, name=name, age=age)


def _migrated(target: dict[str, Check]) -> tuple[str, str]:
    steps = [target[k] for k in ("DJ031", "DJ032") if k in target]
    if len(steps) < 2:
        return NOT_RUN
    statuses = {c.status for c in steps}
    status = "fail" if "fail" in statuses else "skip" if statuses == {"skip"} else "ok"
    return status, "; ".join(c.message for c in steps)


def _expected_rows(settings, record) -> tuple[dict[str, int], int]:
    """table → rows the target should hold, and the quarantined total: from the migration's
    record (snapshot counts less quarantined rows), else the SQLite file as it is now."""
    tables = (record.section.get("tables") or []) if record else []
    if tables:
        return ({e["table"]: e["source_rows"] - (e.get("quarantined") or 0) for e in tables},
                sum(e.get("quarantined") or 0 for e in tables))
    return checks.source_counts(settings.sqlite_file), 0


def _data_loaded(settings) -> tuple[str, str]:
    record = state.current(settings)
    if record and not record.completed:
        return "fail", _e(settings, "unfinished", run=record.run_id, started=record.started)
    expected, held = _expected_rows(settings, record)
    target = checks.target_counts(settings, list(expected))
    missing = [n for n, c in target.items() if c is None]
    short = [f"{n} {target[n]}/{expected[n]}" for n in expected
             if target[n] is not None and target[n] < expected[n]]
    verdict = manifest.read(settings.run_dir).get("validation", {}).get("ok")
    if verdict is None and record and record.validation:  # stage 04 of an earlier run
        verdict = record.validation.get("ok")
    if missing or short or verdict is False:
        detail = "; ".join(filter(None, [
            missing and _e(settings, "missing", tables=", ".join(missing)),
            short and _e(settings, "fewer", tables=", ".join(short)),
            verdict is False and _e(settings, "invalid")]))
        return "fail", detail
    rows = sum(expected.values())
    which = (_e(settings, "which_held" if held else "which", run=record.run_id, held=held)
             if record else "")
    return "ok", _e(settings, "validated" if verdict else "loaded", n=len(expected),
                    rows=rows) + which


def _api(target: dict[str, Check]) -> tuple[str, str]:
    steps = [target.get("DJ036"), target.get("DJ037")]
    if None in steps:
        return NOT_RUN
    statuses = {c.status for c in steps}
    status = "fail" if "fail" in statuses else "skip" if statuses == {"skip"} else "ok"
    return status, " | ".join(c.message.split(" → ")[0] + " → " + c.status for c in steps)


def _item(check_id: str, settings, status: str, evidence, hint: str = "") -> Check:
    item = ITEMS[check_id]
    evidence = evidence if isinstance(evidence, str) else t(evidence, settings.language)
    return Check(check_id, t(item, settings.language), status, evidence, hint,
                 {"item": dict(item)})


def _guarded(settings, check_id: str, step) -> Check:
    try:
        status, evidence = step()
    except RunbookError as exc:
        return _item(check_id, settings, "fail", exc.message, exc.hint)
    return _item(check_id, settings, status, evidence)


def checklist(settings, target_checks) -> CheckTable:
    """The guide's eleven checklist items, from `checks.check_target`'s results and probes."""
    target = {c.id: c for c in target_checks}
    rows = [_guarded(settings, "DJ050", lambda: _server(settings)),
            _guarded(settings, "DJ051", lambda: _settings_changed(settings)),
            _item("DJ052", settings, *_migrated(target)),
            _guarded(settings, "DJ053", lambda: _data_loaded(settings))]
    for check_id in ("DJ054", "DJ055", "DJ056", "DJ057", "DJ058", "DJ059", "DJ060"):
        if check_id == "DJ059":
            rows.append(_item(check_id, settings, *_api(target)))
            continue
        found = target.get(FROM_TARGET[check_id])
        rows.append(_item(check_id, settings, found.status, found.message, found.hint)
                    if found else _item(check_id, settings, *NOT_RUN))
    return table(rows)


__all__ = ["ITEMS", "checklist"]
