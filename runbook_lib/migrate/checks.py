"""Stage 03's verdict as check records (MG0xx), read from a finished `Migration`."""

from __future__ import annotations

from ..core import source_state
from ..core.i18n import t
from ..core.results import Check, CheckTable, table

__all__ = ["stage_checks", "IDS", "TEXT"]

IDS = {
    "MG001": {"en": "snapshot of the source", "ko": "원본 스냅샷"},
    "MG002": {"en": "schema plan", "ko": "스키마 계획"},
    "MG003": {"en": "bad values", "ko": "잘못된 값"},
    "MG004": {"en": "rows loaded", "ko": "적재된 행"},
    "MG005": {"en": "keys, indexes, foreign keys, sequences",
              "ko": "키, 인덱스, 외래 키, 시퀀스"},
    "MG006": {"en": "manual follow-ups", "ko": "수동 후속 작업"},
    "MG007": {"en": "run completed", "ko": "실행 완료"},
    "MG008": {"en": "schema drift (Django's PostgreSQL schema vs the SQLite file)",
              "ko": "스키마 차이 (Django의 PostgreSQL 스키마 대 SQLite 파일)"},
    "MG009": {"en": "live source unchanged since the snapshot",
              "ko": "스냅샷 이후 원본 파일 변경 없음"},
}
TEXT = {
    "schema_only": {"en": "schema only (data: false)", "ko": "스키마만 (data: false)"},
    "counts_differ": {"en": "row counts differ in {tables}", "ko": "행 수가 다른 테이블: {tables}"},
    "counts_fix": {"en": "Re-run the stage with if_exists: replace.",
                   "ko": "if_exists: replace로 이 단계를 다시 실행하세요."},
    "rows": {"en": "{rows} rows in {tables} tables", "ko": "테이블 {tables}개, {rows}행"},
    "not_profiled": {"en": "schema only (data: false): values not profiled",
                     "ko": "스키마만 (data: false): 값은 검사하지 않음"},
    "fits": {"en": "every value fits its target type", "ko": "모든 값이 대상 타입에 맞음"},
    "quarantined": {"en": "quarantined in {folder}", "ko": "{folder}에 격리됨"},
    "nulled": {"en": "loaded as NULL", "ko": "NULL로 적재됨"},
    "bad": {"en": "{n} bad value(s), {where} (on_bad_value: {mode})",
            "ko": "잘못된 값 {n}개, {where} (on_bad_value: {mode})"},
    "bad_fix": {"en": "Review them before the cut-over.", "ko": "전환 전에 검토하세요."},
    "snapshot": {"en": "{path} passed PRAGMA integrity_check (sha256 {sha}…), migration "
                       "{run_id}",
                 "ko": "{path}: PRAGMA integrity_check 통과 (sha256 {sha}…), 마이그레이션 "
                       "{run_id}"},
    "plan": {"en": "{n} tables planned ({strategy} strategy), identifiers fit 63 bytes",
             "ko": "테이블 {n}개 계획 ({strategy} 전략), 식별자가 63바이트 이내"},
    "renamed": {"en": "{n} tables planned ({strategy} strategy), identifiers fit 63 bytes; "
                      "{k} name(s) changed (over 63 bytes shortened, generated ones made "
                      "unique): {names}",
                "ko": "테이블 {n}개 계획 ({strategy} 전략), 식별자가 63바이트 이내; 바꾼 이름 {k}개 "
                      "(63바이트 넘는 이름은 줄이고, 생성 이름은 겹치지 않게): {names}"},
    "dry_run": {"en": "dry_run: the plan only, nothing written",
                "ko": "dry_run: 계획만, 아무것도 쓰지 않음"},
    "postload": {"en": "{n} post-load statement(s) applied, sequences past max(id)",
                 "ko": "적재 후 문장 {n}개 적용, 시퀀스는 max(id) 다음부터"},
    "manual": {"en": "{n} item(s) to carry over by hand", "ko": "손으로 옮길 항목 {n}개"},
    "none": {"en": "none", "ko": "없음"},
    "manual_fix": {"en": "See the follow-up table (SQLite SQL included).",
                   "ko": "후속 작업 표를 보세요 (SQLite SQL 포함)."},
    "completed": {"en": "manifest section `migration` completed",
                  "ko": "매니페스트의 `migration` 절 완료"},
    "not_completed": {"en": "not completed", "ko": "완료되지 않음"},
    "rerun": {"en": "Re-run the stage; an unfinished run is redone cleanly.",
              "ko": "이 단계를 다시 실행하세요. 끝나지 않은 실행은 처음부터 깨끗하게 다시 합니다."},
    "drift_sqlite": {"en": "schema: sqlite (the schema follows the SQLite file)",
                     "ko": "schema: sqlite (스키마가 SQLite 파일을 따름)"},
    "derived_sqlite": {"en": "{n} table(s) of SQLite's own derived data not copied (index "
                             "structures, statistics): {tables}",
                       "ko": "복사하지 않은 SQLite 자체의 파생 데이터 테이블 {n}개 (인덱스 구조, "
                             "통계): {tables}"},
    "drift_none": {"en": "the SQLite file matches Django's PostgreSQL schema",
                   "ko": "SQLite 파일이 Django의 PostgreSQL 스키마와 일치함"},
    "drift_renamed": {"en": "the SQLite file matches Django's PostgreSQL schema ({n} table(s) "
                            "under Django's shorter PostgreSQL names)",
                      "ko": "SQLite 파일이 Django의 PostgreSQL 스키마와 일치함 (테이블 {n}개는 "
                            "Django가 PostgreSQL에서 쓰는 더 짧은 이름으로)"},
    "drift": {"en": "{listing}", "ko": "{listing}"},
    "rebuild": {"en": "After the cut-over, rebuild the derived data: {commands}.",
                "ko": "전환 후 파생 데이터를 다시 만드세요: {commands}."},
    "review": {"en": "Review the listed tables and columns before the cut-over.",
               "ko": "전환 전에 나열된 테이블과 열을 검토하세요."},
}


def _check(m, cid: str, status: str, key: str, hint: str = "", details: dict | None = None,
           **values) -> Check:
    lang = m.settings.language
    return Check(cid, t(IDS[cid], lang), status, t(TEXT[key], lang, **values),
                 t(TEXT[hint], lang) if hint else "", details or {})


def _rows(m) -> Check:
    section = m.section(completed=False)
    wrong = [t["table"] for t in section["tables"]
             if t["loaded_rows"] != t["source_rows"] - t["quarantined"]]
    total = sum(t["loaded_rows"] for t in section["tables"])
    if not m.settings.data:
        return _check(m, "MG004", "skip", "schema_only")
    if wrong:
        return _check(m, "MG004", "fail", "counts_differ", "counts_fix", {"tables": wrong},
                      tables=", ".join(wrong))
    return _check(m, "MG004", "ok", "rows", rows=total, tables=len(section["tables"]))


def _bad(m) -> Check:
    prof = m.profile
    if not m.settings.data:
        return _check(m, "MG003", "skip", "not_profiled")
    if prof is None or not prof.bad:
        return _check(m, "MG003", "ok", "fits")
    n = sum(b.count for b in prof.bad)
    lang = m.settings.language
    where = (t(TEXT["quarantined"], lang, folder=prof.quarantine_dir) if prof.quarantine_dir
             else t(TEXT["nulled"], lang))
    return _check(m, "MG003", "warn", "bad", "bad_fix", n=n, where=where,
                  mode=m.settings.on_bad_value)


def _drift(m) -> Check:
    if m.settings.schema != "django":
        derived = [d["table"] for d in m.drift.derived]
        if derived:  # SQLite's own derived data, not copied (sqlite_only)
            return _check(m, "MG008", "ok", "derived_sqlite", details={"derived": derived},
                          n=len(derived), tables=", ".join(derived[:20]))
        return _check(m, "MG008", "skip", "drift_sqlite")
    lang, rows = m.settings.language, m.drift.rows
    if not [r for r in rows if r["side"] != "renamed"]:
        return (_check(m, "MG008", "ok", "drift_renamed", n=len(rows)) if rows
                else _check(m, "MG008", "ok", "drift_none"))
    listing = m.drift.listing(lang)[:1500]
    commands = sorted({d["rebuild"] for d in m.drift.derived})
    check = _check(m, "MG008", "warn", "drift", details={"drift": rows}, listing=listing)
    hint = (t(TEXT["rebuild"], lang, commands="; ".join(commands)) if commands
            else t(TEXT["review"], lang))
    return Check(check.id, check.name, check.status, check.message, hint, check.details)
def _plan(m) -> Check:
    renamed = m.plan.renamed
    if not renamed:
        return _check(m, "MG002", "ok", "plan", n=len(m.plan.tables), strategy=m.settings.schema)
    names = ", ".join(f"{r['wanted']} → {r['name']}" for r in renamed[:10])
    return _check(m, "MG002", "ok", "renamed", "", {"renamed": renamed}, n=len(m.plan.tables),
                  strategy=m.settings.schema, k=len(renamed), names=names)


def _source(m) -> Check:
    """Whether the live file moved on after the snapshot (a writer, a replaced file)."""
    found = m.source_moved()
    lang = m.settings.language
    text = source_state.report(m.source_state, found, m.settings.sqlite_file, m.snapshot, lang)
    name = t(IDS["MG009"], lang)
    if found is None:
        return Check("MG009", name, "ok", text)
    return Check("MG009", name, "warn", text, t(source_state.TEXT["hint"], lang),
                 {"moved": found})


def stage_checks(m) -> CheckTable:
    """MG001–MG009 for a migration (a dry run reports the plan only)."""
    sha = m.wait_integrity()
    rows = [_check(m, "MG001", "ok", "snapshot", details={"sha256": sha, "run_id": m.run_id},
                   path=m.snapshot, sha=sha[:12], run_id=m.run_id),
            _plan(m)]
    if m.settings.dry_run:
        return table(rows + [_check(m, "MG007", "skip", "dry_run"), _source(m)])
    rows += [_bad(m), _rows(m), _check(m, "MG005", "ok", "postload", n=len(m.plan.steps))]
    manual = m.manual
    rows.append(_check(m, "MG006", "warn", "manual", "manual_fix", n=len(manual)) if manual
                else _check(m, "MG006", "ok", "none"))
    rows.append(_drift(m))
    done = m._finished()
    rows.append(_check(m, "MG007", "ok", "completed") if done
                else _check(m, "MG007", "fail", "not_completed", "rerun"))
    rows.append(_source(m))
    return table(rows)
