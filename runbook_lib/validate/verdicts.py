"""Verdicts: each table's accounting (quarantined and nulled rows expected) and the checks.

Turns what `validate.validate_table` found into the table's verdict (ok / mismatch / missing),
adds what differs from Django's own migrations, and sums everything up as the stage's checks
VA001-VA013 (VA013: whether the live source moved on after the snapshot).
"""

from __future__ import annotations

from ..core import files, source_state
from ..core.errors import RunbookError
from ..core.i18n import t
from ..core.results import Check
from . import django_schema
from .report import TEXT, TableVerdict
from .schema import qualified
from .stream import TableSpec

CHECKS = {  # id: (name, hint)
    "VA001": ({"en": "tables present", "ko": "테이블 존재"},
              {"en": "Re-run 03_migrate; a table that is missing was never created.",
               "ko": "03_migrate를 다시 실행하세요. 없는 테이블은 만들어진 적이 없습니다."}),
    "VA002": ({"en": "row counts", "ko": "행 수"},
              {"en": "Re-run 03_migrate with if_exists: replace; see the missing rows.",
               "ko": "if_exists: replace로 03_migrate를 다시 실행하세요. 누락된 행을 확인하세요."}),
    "VA003": ({"en": "content identical", "ko": "내용 일치"},
              {"en": "The samples show source and target side by side; re-run 03_migrate "
                     "(method: copy) so values keep their exact type.",
               "ko": "표본이 원본과 대상을 나란히 보여 줍니다. 값이 정확한 타입을 유지하도록 "
                     "03_migrate(method: copy)를 다시 실행하세요."}),
    "VA004": ({"en": "sequences past max(id)", "ko": "시퀀스가 max(id) 다음"},
              {"en": "Run SELECT setval(seq, max(id)) per table, or re-run 03_migrate, which "
                     "sets them after the load.",
               "ko": "테이블마다 SELECT setval(seq, max(id))를 실행하거나, 적재 후 시퀀스를 "
                     "설정하는 03_migrate를 다시 실행하세요."}),
    "VA005": ({"en": "no orphaned foreign keys", "ko": "고아 외래 키 없음"},
              {"en": "Load the parent rows, or fix the child rows, then VALIDATE the constraint.",
               "ko": "부모 행을 적재하거나 자식 행을 고친 뒤 제약 조건을 VALIDATE 하세요."}),
    "VA006": ({"en": "keys, UNIQUE, NOT NULL, FKs", "ko": "키, UNIQUE, NOT NULL, 외래 키"},
              {"en": "Re-run 03_migrate; the schema plan creates them.",
               "ko": "03_migrate를 다시 실행하세요. 스키마 계획이 이것들을 만듭니다."}),
    "VA007": ({"en": "indexes", "ko": "인덱스"},
              {"en": "Create the missing index (see 03_migrate's DDL preview).",
               "ko": "없는 인덱스를 만드세요 (03_migrate의 DDL 미리 보기 참고)."}),
    "VA008": ({"en": "column types", "ko": "열 타입"},
              {"en": "A column was created with another type than planned; re-run 03_migrate "
                     "with schema: django or check type_overrides.",
               "ko": "계획과 다른 타입으로 만들어진 열이 있습니다. schema: django로 03_migrate를 "
                     "다시 실행하거나 type_overrides를 확인하세요."}),
    "VA009": ({"en": "quarantined rows", "ko": "격리된 행"},
              {"en": "Read the quarantine folder; fix the values and load them.",
               "ko": "격리 폴더를 읽고 값을 고친 뒤 적재하세요."}),
    "VA010": ({"en": "guide step 4 (Product, QualityMeasurement)",
               "ko": "가이드 단계 4 (Product, QualityMeasurement)"},
              {"en": "See the table of the guide's checks.", "ko": "가이드 검증 표를 보세요."}),
    "VA011": ({"en": "schema of Django's migrate", "ko": "Django migrate의 스키마"},
              {"en": "Check django_project and django_settings; `manage.py sqlmigrate` must run "
                     "for the comparison.",
               "ko": "django_project와 django_settings를 확인하세요. 비교하려면 "
                     "`manage.py sqlmigrate`가 실행되어야 합니다."}),
    "VA012": ({"en": "derived data (search indexes, SQLite's own indexes and statistics)",
               "ko": "파생 데이터 (검색 인덱스, SQLite 자체의 인덱스와 통계)"},
              {"en": "Run the rebuild command shown once the application uses PostgreSQL; the "
                     "search index is then complete.",
               "ko": "애플리케이션이 PostgreSQL을 쓰게 된 뒤 표시된 재구축 명령을 실행하세요. 그러면 "
                     "검색 인덱스가 완전해집니다."}),
    "VA013": ({"en": "live source unchanged since the snapshot",
               "ko": "스냅샷 이후 원본 파일 변경 없음"}, source_state.TEXT["hint"]),
    "VA014": ({"en": "migration validated", "ko": "검증한 마이그레이션"},
              {"en": "Run 03_migrate: it records the migration (snapshot, quarantine, name map, "
                     "types) with the target, so 04 compares against it.",
               "ko": "03_migrate를 실행하세요. 마이그레이션 기록(스냅샷, 격리된 행, 이름 매핑, "
                     "타입)을 대상 데이터베이스에 남기므로 04가 그 기록과 비교합니다."}),
}
OWN_CHECKS = ("VA011", "VA013", "VA014")  # set by the stage itself, not the table verdicts
SAY = {
    "ok": {"en": "ok", "ko": "정상"},
    "none": {"en": "none", "ko": "없음"},
    "counts_only": {"en": "validate_mode: counts", "ko": "validate_mode: counts"},
    "no_spc": {"en": "no SPC Product table", "ko": "SPC Product 테이블 없음"},
    "guide_ok": {"en": "{n} checks identical", "ko": "검증 {n}개 일치"},
    "schema": {"en": "schema: {strategy}", "ko": "schema: {strategy}"},
    "not_compared": {"en": "not compared: {error}", "ko": "비교하지 못함: {error}"},
    "recorded": {"en": "the schema Django's migrate built in stage 03 (read from the catalogue "
                       "then)",
                 "ko": "03단계에서 Django의 migrate가 만든 스키마 (그때 카탈로그에서 읽음)"},
    "migrations": {"en": "{n} migrations compared", "ko": "마이그레이션 {n}개 비교"},
    "left_out": {"en": "; {n} left out (their SQL depends on the database as it was): {names}",
                 "ko": "; {n}개 제외 (그 SQL이 당시 데이터베이스 상태에 달려 있음): {names}"},
    "differences": {"en": "{what}; {count} difference(s){left}",
                    "ko": "{what}; 차이 {count}개{left}"},
    "see": {"en": "See VA006-VA008.", "ko": "VA006-VA008을 보세요."},
    "no_record": {"en": "no migration recorded (by stage 03) in the target or this run: "
                        "compared with sqlite_path as it is now, table by table",
                  "ko": "대상 데이터베이스에도 이번 실행에도 (03 단계의) 마이그레이션 기록이 "
                        "없음: 현재의 sqlite_path와 테이블별로 비교함"},
}


def _name(cid: str, language: str | None) -> str:
    return t(CHECKS[cid][0], language)


def _note(v: TableVerdict, key: str, first: bool = False, **values) -> None:
    text = {lang: s.format(**values) for lang, s in TEXT[key].items()}
    v.notes.insert(0 if first else len(v.notes), text)


def read_csv(folder: str, name: str) -> list[list[str]] | None:
    """The rows stage 03 set aside for a table (header first), read from the file the
    manifest names for it (`quarantine_file`; a name that would leave the folder, or a link,
    is refused)."""
    if not folder or not name:
        return None
    file = files.inside(folder, name)
    if not file.is_file() or file.is_symlink():
        return None
    with files.open_nofollow(file, newline="", encoding="utf-8") as fh:
        return files.csv_rows(fh)


def quarantined_keys(rows: list[list[str]] | None, spec: TableSpec) -> set[tuple]:
    """Primary keys of the quarantined rows (CSV rows, header first; the first column may
    hold the real table name)."""
    if not rows or not spec.key:
        return set()
    header, body = rows[0], rows[1:]
    offset = 1 if header[:1] == [files.QUARANTINE_TABLE] else 0
    header = header[offset:]
    names = [c.source_name for c in spec.columns[:spec.key]]
    if not set(names) <= set(header):
        return set()
    at = [header.index(n) + offset for n in names]
    ints = [c.klass == "int" for c in spec.columns[:spec.key]]
    return {tuple(None if r[i] == "\\N" else int(r[i]) if n and r[i].lstrip("-").isdigit()
                  else r[i] for i, n in zip(at, ints, strict=True)) for r in body}


def label_quarantined(v: TableVerdict, rows: list[list[str]] | None, spec: TableSpec) -> None:
    """Sample rows missing because stage 03 quarantined them say so."""
    keys = quarantined_keys(rows, spec)
    names = spec.names[:spec.key]
    for i, row in v.samples.iterrows():
        if row["difference"] == "missing" and tuple(row[n] for n in names) in keys:
            v.samples.loc[i, "difference"] = "quarantined"


def account(v: TableVerdict, mode: str, quarantine_where: str, policy: str) -> None:
    """Set the verdict; quarantined (or nulled) rows count as expected differences, named."""
    q = v.quarantined
    if q:
        _note(v, "quarantined", n=q, where=quarantine_where or "-")
    nulled = v.nulled if policy == "null" else 0
    if nulled:
        _note(v, "nulled", n=nulled)
    explained = v.extra == 0 and v.missing + v.changed - nulled <= q
    v.content_ok = explained
    counted = v.source_rows is not None and v.target_rows is not None and (
        v.source_rows - q <= v.target_rows <= v.source_rows)
    if mode == "full" and not v.problems and explained and counted and not (q or nulled):
        _note(v, "ok", True, rows=v.source_rows)
    elif mode == "counts" and counted:
        _note(v, "counted", True, rows=v.target_rows)
    elif mode == "sample" and explained:
        _note(v, "sampled", True, compared=v.compared)
    if not counted:
        _note(v, "counts", True, source=v.source_rows, target=v.target_rows)
    v.verdict = "ok" if explained and counted and not v.problems else "mismatch"


def derived(ctx: dict, entry: dict) -> TableVerdict:
    """A table of derived data (stage 03 did not copy it): reported as such, with the command
    that rebuilds it, and the rows PostgreSQL holds now."""
    v = TableVerdict(entry["table"], entry["source_table"], verdict="derived",
                     source_rows=entry.get("source_rows"))
    if entry["table"] in ctx["present"]:
        ctx["cur"].execute(f"SELECT count(*) FROM {qualified(ctx['schema'], entry['table'])}")
        v.target_rows = ctx["cur"].fetchone()[0]
    rebuild = entry.get("rebuild", "")
    if isinstance(rebuild, dict):  # schema: sqlite: SQLite-only data, said per language
        v.notes.insert(0, {lang: TEXT["derived_sqlite"][lang].format(
            what=entry["what"][lang], source=v.source_rows, rebuild=rebuild[lang])
            for lang in TEXT["derived_sqlite"]})
        return v
    _note(v, "derived", source=v.source_rows, command=rebuild)
    return v


def django_inspection(settings, migration: dict, dbname: str | None):
    """(migration SQL, ORM answers) from the project's own Django, or a Check saying why not."""
    strategy, lang = migration.get("schema") or settings.schema, settings.language
    if strategy != "django" or not settings.django_project:
        return Check("VA011", _name("VA011", lang), "skip", t(SAY["schema"], lang,
                                                               strategy=strategy))
    try:
        if migration.get("django_schema"):  # what migrate built, recorded by stage 03
            return (django_schema.recorded(migration["django_schema"]),
                    django_schema.ask_orm(settings, dbname))
        return django_schema.inspect(settings, dbname)  # else: replay every migration's SQL
    except RunbookError as exc:
        return Check("VA011", _name("VA011", lang), "warn",
                     t(SAY["not_compared"], lang, error=exc.message[:300]),
                     t(CHECKS["VA011"][1], lang))


def django_problems(inspection, cur, where: str, verdicts: list[TableVerdict],
                    language: str = "en"):
    """Add what differs from Django's migrate to the table verdicts; (check, ORM answers)."""
    if isinstance(inspection, Check):
        return inspection, None
    texts, orm = inspection
    recorded = isinstance(texts, django_schema.DjangoSchema)
    schema = texts if recorded else django_schema.parse(texts)
    found = django_schema.compare(cur, where, schema,
                                  {v.table for v in verdicts if v.verdict != "missing"})
    for v in verdicts:
        if found.get(v.table):
            v.problems += found[v.table]
            v.verdict = "mismatch"
    count = sum(len(p) for p in found.values())
    skipped = getattr(texts, "skipped", [])
    left = (t(SAY["left_out"], language, n=len(skipped),
              names=", ".join(x.split(":")[0] for x in skipped[:5])) if skipped else "")
    what = (t(SAY["recorded"], language) if recorded
            else t(SAY["migrations"], language, n=len(texts)))
    return Check("VA011", _name("VA011", language), "fail" if count else "ok",
                 t(SAY["differences"], language, what=what, count=count, left=left),
                 t(SAY["see"], language) if count else ""), orm


def summarise(verdicts: list[TableVerdict], guide, mode: str, language: str) -> list[Check]:
    """The stage's checks VA001-VA010 from the per-table verdicts."""
    problems = {i: [f"{v.table}: {t(text, language)}" for v in verdicts
                    for pid, text in v.problems if pid == i] for i in CHECKS}
    problems["VA001"] = [v.table for v in verdicts if v.verdict == "missing"]
    copied = [v for v in verdicts if v.verdict not in ("missing", "derived")]
    problems["VA002"] = [v.table for v in copied if not
                         (v.source_rows - v.quarantined <= v.target_rows <= v.source_rows)]
    problems["VA003"] = [f"{v.table}: {v.missing + v.changed + v.extra}" for v in copied
                         if not v.content_ok]
    out = []
    say = {key: t(text, language) for key, text in SAY.items() if "{" not in text["en"]}
    for cid, (name, hint) in CHECKS.items():
        if cid in OWN_CHECKS:
            continue  # from django_problems, source_check and the stage
        found = problems[cid]
        status, message = ("fail", "; ".join(found[:10])) if found else ("ok", say["ok"])
        if cid == "VA003" and mode == "counts":
            status, message = "skip", say["counts_only"]
        elif cid == "VA012":
            held = [f"{v.table}: {t(v.notes[0], language)}" for v in verdicts
                    if v.verdict == "derived"]
            status, message = ("warn", "; ".join(held)) if held else ("ok", say["none"])
        elif cid == "VA009":
            held = [f"{v.table}: {v.quarantined}" for v in verdicts if v.quarantined]
            status, message = ("warn", "; ".join(held)) if held else ("ok", say["none"])
        elif cid == "VA010":
            if guide is None:
                status, message = "skip", say["no_spc"]
            else:
                bad = guide[guide.status != "ok"]
                status = "fail" if len(bad) else "ok"
                message = "; ".join(bad.check) if len(bad) else t(SAY["guide_ok"], language,
                                                                   n=len(guide))
        out.append(Check(cid, t(name, language), status, message,
                         t(hint, language) if status == "fail" else "", {"problems": found}))
    return out


def source_check(settings, migration: dict, snapshot) -> Check:
    """VA013: the proof is about the snapshot; say so when the live file has moved on."""
    src = migration.get("source_state") or {}
    state, lang = src.get("state") or {}, settings.language
    name = _name("VA013", lang)
    if not state:
        return Check("VA013", name, "skip", t(source_state.TEXT["unrecorded"], lang))
    found = source_state.moved(state, src["path"], snapshot, settings.run_dir)
    text = source_state.report(state, found, src["path"], snapshot, lang)
    if found is None:
        return Check("VA013", name, "ok", text)
    return Check("VA013", name, "warn", text, t(CHECKS["VA013"][1], lang), {"moved": found})


__all__ = ["CHECKS", "account", "label_quarantined", "quarantined_keys", "read_csv", "summarise",
           "django_inspection", "django_problems", "source_check"]
