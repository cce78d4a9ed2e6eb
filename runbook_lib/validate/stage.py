"""Validation (stage 04): proof that nothing was lost between the SQLite snapshot and the target.

For every migrated table: row counts, full content through canonical values compared row by
row in key order (`rows`), the planned keys / NOT NULL / indexes / types / foreign
keys (`schema`), sequences that would not collide, orphaned foreign keys, the
migration's quarantined rows accounted as expected differences, and for an SPC project the
guide's step 4. `run(settings)` returns a `ValidationReport`, writes `validation.json` and the
manifest's `validation` section, and in batch runs raises `ValidationFailed` on any mismatch.
It holds the target's advisory lock shared (`core.target_lock`): a migration running on the
same database stops it with a message naming that run; VA013 says whether the live source
has moved on since the snapshot that was proven.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing
from pathlib import Path

import psycopg2
from tqdm.auto import tqdm

from ..core import db, state, target_lock
from ..core.errors import ConfigError, SourceError, ValidationFailed
from ..core.i18n import fill, t
from ..core.identifiers import quote_ident
from ..core.results import Check, batch_mode, table
from ..core.sqlite_quirks import open_ro
from . import digest, handover, row_hash, rows, schema, stream, values, verdicts
from .guide import step4
from .report import TableVerdict, ValidationReport
from .report import write as write_report
from .verdicts import CHECKS

MODES = ("full", "sample", "counts")

ROW_BY_ROW = {"en": "compared row by row: {reason}", "ko": "행 단위로 비교함: {reason}"}

TEXT = {
    "gone": {"en": "The snapshot of {which} does not exist any more (its run folder was moved "
                   "or deleted); validation compares the target with that snapshot.",
             "ko": "{which}의 스냅샷이 더 이상 없습니다 (실행 폴더가 옮겨졌거나 지워짐). 검증은 "
                   "대상 데이터베이스를 그 스냅샷과 비교합니다."},
    "no_snapshot": {"en": "The source snapshot {path} does not exist.",
                    "ko": "원본 스냅샷 {path}이(가) 없습니다."},
    "no_snapshot_fix": {"en": "Run 03_migrate first (it records the snapshot with the target), "
                              "or set sqlite_path to the SQLite file.",
                        "ko": "먼저 03_migrate를 실행하거나 (스냅샷을 대상 데이터베이스에 "
                              "기록합니다) sqlite_path를 SQLite 파일로 지정하세요."},
    "remigrate": {"en": "Re-run 03_migrate (a new snapshot and migration), then 04_validate.",
                  "ko": "03_migrate를 다시 실행한 뒤 (새 스냅샷과 마이그레이션) 04_validate를 "
                        "실행하세요."},
    "unfinished": {"en": "The target's last migration, {run} (started {started}, snapshot "
                         "{snapshot}), did not finish: it failed or was killed, or it still "
                         "runs. The target holds part of the data, so nothing was compared.",
                   "ko": "대상 데이터베이스의 마지막 마이그레이션 {run} (시작 {started}, 스냅샷 "
                         "{snapshot}) 이 끝나지 않았습니다: 실패했거나 강제 종료되었거나 아직 "
                         "실행 중입니다. 대상에는 데이터의 일부만 있으므로 아무것도 비교하지 "
                         "않았습니다."},
    "unfinished_fix": {"en": "Run 03_migrate again (`runbook run --resume` continues a failed "
                             "or killed run; the unfinished migration's tables are loaded again "
                             "from scratch), then 04_validate.",
                       "ko": "03_migrate를 다시 실행하세요 (`runbook run --resume`은 실패하거나 "
                             "강제 종료된 실행을 이어서 합니다. 끝나지 않은 마이그레이션의 "
                             "테이블은 처음부터 다시 적재됩니다). 그다음 04_validate를 "
                             "실행하세요."},
    "replaced": {"en": "{path} is not the snapshot {which} loaded: its SHA-256 differs, so the "
                       "file was replaced or changed.",
                 "ko": "{path}은(는) {which}이(가) 적재한 스냅샷이 아닙니다: SHA-256이 달라 "
                       "파일이 바뀌었거나 교체되었습니다."},
    "no_record": {"en": "no migration recorded: sqlite_path is compared with the tables of the "
                        "same names",
                  "ko": "마이그레이션 기록 없음: sqlite_path를 같은 이름의 테이블과 비교합니다"},
    "bad_mode": {"en": "validate_mode {mode!r} is not one of {modes}.",
                 "ko": "validate_mode {mode!r}은(는) {modes} 중 하나가 아닙니다."},
    "bad_mode_fix": {"en": "Set validate_mode to full, sample or counts.",
                     "ko": "validate_mode를 full, sample, counts 중 하나로 설정하세요."},
    "failed": {"en": "Validation found differences: {summary}{rows}",
               "ko": "검증에서 차이를 찾았습니다: {summary}{rows}"},
    "failed_run": {"en": "Validation against migration {run} found differences: {summary}{rows}",
                   "ko": "마이그레이션 {run}에 대한 검증에서 차이를 찾았습니다: {summary}{rows}"},
    "failed_rows": {"en": "\nFirst differing rows of {table} (source vs target):\n{rows}",
                    "ko": "\n{table}의 처음 몇 개 다른 행 (원본 대 대상):\n{rows}"},
    "failed_fix": {"en": "Open 04_validate's sample tables (source vs target side by side) and "
                         "validation.json; fix the cause and re-run 03_migrate and 04.",
                   "ko": "04_validate의 샘플 표(원본과 대상을 나란히 보여 줌)와 validation.json을 "
                         "열어 보세요. 원인을 고친 뒤 03_migrate와 04를 다시 실행하세요."},
}


def _snapshot(settings, record: state.Record | None) -> Path:
    lang = settings.language
    path = Path(record.snapshot if record and record.snapshot else settings.sqlite_file)
    if path.is_file():
        return path
    if record:
        raise SourceError(t(TEXT["gone"], lang, which=record.describe(lang)),
                          t(TEXT["remigrate"], lang))
    raise SourceError(t(TEXT["no_snapshot"], lang, path=path), t(TEXT["no_snapshot_fix"], lang))


def _unfinished(record: state.Record, lang: str) -> ValidationFailed:
    return ValidationFailed(t(TEXT["unfinished"], lang, run=record.run_id,
                              started=record.started, snapshot=record.snapshot),
                            t(TEXT["unfinished_fix"], lang))


def _same_snapshot(path: Path, record: state.Record | None, lang: str) -> None:
    """The snapshot on disk is the one the migration loaded (its recorded SHA-256)."""
    if record and record.snapshot_sha256 and state.sha256(path) != record.snapshot_sha256:
        raise SourceError(t(TEXT["replaced"], lang, path=path, which=record.describe(lang)),
                          t(TEXT["remigrate"], lang))


def entries_from_snapshot(src: sqlite3.Connection) -> list[dict]:
    """Tables to compare when no migration was recorded: every table, same names."""
    names = [r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                       "name NOT LIKE 'sqlite_%' ORDER BY name")]
    out = []
    for name in names:
        info = schema.source_columns(src, name)
        out.append({"table": name, "source_table": name, "quarantined": 0,
                    "columns": [{"name": r[1], "source_name": r[1]} for r in info],
                    "primary_key": [r[1] for r in sorted((r for r in info if r[5]),
                                                         key=lambda r: r[5])]})
    return out


def plan_summary(settings):
    """What stage 03 recorded (tables, counts) as a DataFrame, empty if nothing; its caption
    (`attrs["caption"]`, shown above the table) names the migration: run id, time, snapshot."""
    import pandas as pd

    record = state.current(settings)
    migration = record.section if record else {}
    cols = ["table", "source_table", "source_rows", "loaded_rows", "quarantined"]
    frame = pd.DataFrame([{k: e.get(k) for k in cols} for e in migration.get("tables") or []],
                         columns=cols)
    frame.attrs["caption"] = (record.describe(settings.language) if record
                              else t(TEXT["no_record"], settings.language))
    return frame


def _names(src: sqlite3.Connection, entries: list[dict]) -> dict:
    out = {}
    for e in entries:
        cols = {c.get("source_name", c["name"]): c["name"] for c in e.get("columns") or []}
        if not cols:
            cols = {r[1]: r[1] for r in schema.source_columns(src, e["source_table"])}
            e["columns"] = [{"name": v, "source_name": k} for k, v in cols.items()]
        out[e["source_table"]] = (e["table"], cols)
    return out


def spec_for(entry: dict, p: schema.Plan, actual: dict, where: str, zone: str,
             fraction: float) -> rows.TableSpec:
    """Compared columns, primary key first, each read as its target type."""
    cols = [rows.Column(c["name"], c.get("source_name", c["name"]), values.field_class(
                values.type_class(actual["columns"][c["name"]][0]), c.get("field")))
            for c in entry["columns"] if c["name"] in actual["columns"]]
    key = [c for name in p.primary_key for c in cols if c.name == name]
    if len(key) != len(p.primary_key):
        key = []
    rest = [c for c in cols if c not in key]
    return rows.TableSpec(entry["table"], entry["source_table"], where, len(key),
                          tuple(key + rest), zone, fraction)


def _source_count(src, entry: dict) -> int:
    return src.execute(f"SELECT count(*) FROM {quote_ident(entry['source_table'])}").fetchone()[0]


def _shown(value):
    """A float as its exact repr (pandas would round 297.85000000001 to 297.85)."""
    return repr(value) if isinstance(value, float) else value


def _samples(src, cur, spec: rows.TableSpec, diff: rows.RowDiff):
    """Differing rows side by side (source | target), primary key first; None if none."""
    import pandas as pd

    if not diff.samples:
        return None
    names = spec.names
    if spec.key == 0:
        return pd.DataFrame([{"difference": kind, **dict(zip(names, row, strict=True))}
                             for kind, row in diff.samples])
    keys, shown = names[:spec.key], list(diff.changed_columns) or names[spec.key:]
    key_cols = spec.columns[:spec.key]
    lookable = all(c.klass in KEY_LOOKUP for c in key_cols)
    src_where = " AND ".join(KEY_LOOKUP.get(c.klass, ("", ""))[0].format(
        c=quote_ident(c.source_name)) for c in key_cols)
    tgt_where = " AND ".join(KEY_LOOKUP.get(c.klass, ("", ""))[1].format(
        c=quote_ident(c.name)) for c in key_cols)
    src_cols = ", ".join(quote_ident(c.source_name) for c in spec.columns)
    tgt_cols = ", ".join(quote_ident(n) for n in names)
    out = []
    for kind, key in diff.samples:
        key = tuple(key)[:spec.key]  # a whole row when keys could not be ordered (a NULL)
        left = right = None
        shown_key = [_key_text(c.klass, k) for c, k in zip(key_cols, key, strict=True)]
        if lookable and not any(isinstance(k, tuple) for k in key):
            params = [_key_param(c.klass, k) for c, k in zip(key_cols, key, strict=True)]
            left = src.execute(f"SELECT {src_cols} FROM {quote_ident(spec.source_table)} "
                               f"WHERE {src_where}", params).fetchone()
            cur.execute(f"SELECT {tgt_cols} FROM {schema.qualified(spec.schema, spec.table)} "
                        f"WHERE {tgt_where}", params)
            right = cur.fetchone()
        row = {**dict(zip(keys, shown_key, strict=True)), "difference": kind}
        for name in shown:
            i = names.index(name)
            row[f"{name} (source)"] = _shown(left[i]) if left else None
            row[f"{name} (target)"] = _shown(right[i]) if right else None
        out.append(row)
    return pd.DataFrame(out)


# key class → (SQLite condition, PostgreSQL condition) finding a row by its canonical key
KEY_LOOKUP = {"int": ("{c} = ?", "{c} = %s"), "text": ("{c} = ?", "{c} = %s"),
              "other": ("{c} = ?", "{c}::text = %s"),
              "uuid": ("lower(replace({c}, '-', '')) = ?", "{c} = %s::uuid")}


def _key_param(klass: str, key):
    """A canonical key value as the lookup's parameter (a UUID's 128-bit int as its hex)."""
    return f"{key:032x}" if klass == "uuid" and isinstance(key, int) else key


def _key_text(klass: str, key):
    return str(uuid.UUID(int=key)) if klass == "uuid" and isinstance(key, int) else key


def _beside(ctx: dict, work):
    """`work(cur)` started on a read-only connection of its own (a big table's scans overlap
    its comparison); its future."""
    def run():
        with closing(psycopg2.connect(**ctx["kwargs"])) as conn:
            conn.set_session(readonly=True, autocommit=True)
            with conn.cursor() as cur:
                return work(cur)
    return ctx["beside"].submit(run)


def _target_count(cur, where: str, table: str) -> int:
    cur.execute(f"SELECT count(*) FROM {schema.qualified(where, table)}")
    return cur.fetchone()[0]


def validate_table(ctx: dict, entry: dict) -> TableVerdict:
    """Every check of one table."""
    src, cur, where = ctx["src"], ctx["cur"], ctx["schema"]
    v = TableVerdict(entry["table"], entry["source_table"],
                     quarantined=int(entry.get("quarantined") or 0))
    if entry["table"] not in ctx["present"]:
        v.verdict = "missing"
        v.source_rows = _source_count(src, entry)
        return v
    actual = schema.target_structure(cur, where, entry["table"])
    p = schema.plan(src, entry, ctx["names"])
    v.problems += schema.check_columns(p, actual, ctx["types"]) + schema.check_keys(p, actual)
    mode = ctx["mode"]
    fraction = ctx["fraction"] if mode == "sample" else 1.0
    spec = spec_for(entry, p, actual, where, ctx["zone"], fraction)
    v.source_rows = _source_count(src, entry)
    big = v.source_rows >= digest.PARALLEL_MIN_ROWS and mode != "counts"
    if big:  # its target count and orphan check (anti-joins) run while it is compared
        counted = _beside(ctx, lambda c: _target_count(c, where, entry["table"]))
        orphans = _beside(ctx, lambda c: schema.check_orphans(c, where, p, actual))
    else:
        v.target_rows = _target_count(cur, where, entry["table"])
    if mode != "counts":
        diff = rows.compare(ctx["snapshot"], ctx["kwargs"], spec, v.source_rows, ctx["limit"],
                            ctx["sessions"] if mode == "full" else None, ctx.get("hasher"))
        if diff.digests is not None:
            ctx["digested"][entry["table"]] = (spec, diff.digests)
        v.method = diff.method
        if diff.method.get("reason_i18n") and spec.integer_key:
            v.notes.append({lang: t(ROW_BY_ROW, lang, reason=text)
                            for lang, text in diff.method["reason_i18n"].items()})
        v.compared = diff.source_rows
        v.missing, v.extra, v.changed = diff.missing, diff.extra, diff.changed
        v.nulled = diff.nulled
        v.changed_columns = dict(diff.changed_columns.most_common())
        v.samples = _samples(src, cur, spec, diff)
    v.problems += schema.check_sequences(cur, where, entry["table"],
                                         schema.sqlite_sequence(src, entry["source_table"]))
    if big:
        v.target_rows = counted.result()
    v.problems += orphans.result() if big else schema.check_orphans(cur, where, p, actual)
    if ctx["policy"] == "null" and "nulled" in entry:  # only where stage 03 nulled values
        v.nulled = min(v.nulled, int(entry["nulled"] or 0))
    verdicts.account(v, mode, ctx["quarantine_where"], ctx["policy"])
    if v.quarantined and v.samples is not None:
        verdicts.label_quarantined(v, ctx["quarantine"](entry), spec)
    return v


def _quarantine(record: state.Record | None, settings) -> tuple[str, object]:
    """(where the quarantined rows are, entry → their CSV rows): from the target when the
    migration is recorded there, else from the run folder's quarantine files."""
    migration = record.section if record else {}
    folder = migration.get("quarantine_dir") or ""

    def from_file(entry: dict):
        return verdicts.read_csv(folder, entry.get("quarantine_file") or "")

    if record and record.origin == "target":
        def rows_of(entry: dict):
            with db.connection(settings) as conn:
                kept = state.quarantine_rows(conn, record.run_id, entry["table"])
            return kept if kept is not None else from_file(entry)
        return f"{folder or '-'}; kept in the target ({state.STATE}.quarantine)", rows_of
    return folder or "-", from_file


def _context(settings, record: state.Record | None, snapshot: Path, src, cur,
             dbname: str | None, mode: str) -> dict:
    """Everything validate_table needs, read once."""
    migration = record.section if record else {}
    cur.execute("SELECT current_schema(), current_database()")
    where, database = cur.fetchone()
    recorded = migration.get("tables")  # [] when every table was derived: none to compare
    entries = [dict(e) for e in (recorded if recorded is not None else
                                 entries_from_snapshot(src))]
    held, rows_of = _quarantine(record, settings)
    names = _names(src, entries)
    present = schema.target_tables(cur, where)
    spellings = {c.get("target_type", "") for e in entries for c in e["columns"]}
    spellings |= {r[0] for e in entries if e["table"] in present
                  for r in schema.target_structure(cur, where, e["table"])["columns"].values()}
    return {"src": src, "cur": cur, "schema": where, "database": database, "entries": entries,
            "present": present, "names": names, "mode": mode,
            "types": schema.canonical_types(cur, spellings),
            "fraction": settings.sample_fraction, "snapshot": str(snapshot),
            "kwargs": db.connect_kwargs(settings, dbname=dbname),
            "zone": migration.get("source_timezone") or settings.source_timezone or "UTC",
            "limit": settings.diff_samples,
            "policy": migration.get("on_bad_value") or settings.on_bad_value,
            "quarantine_where": held, "quarantine": rows_of}


def _handing_over(settings, record: state.Record | None, snapshot: Path, dbname: str | None,
                  mode: str, ctx: dict) -> dict:
    """Before any table is read: what a full validation of the target's own migration hands
    over to the first catch-up sync (`handover`), or {} (nothing is then recorded). With
    `cutover_by_sync`, the snapshot's row hashes are computed in the digest pass too."""
    ctx["digested"] = {}
    if not (record and record.snapshot_sha256 and mode == "full"
            and dbname in (None, settings.db_name)):
        return {}
    if settings.cutover_by_sync:
        ctx["hasher"] = row_hash.Hasher(row_hash.new_seed())
    return handover.target_now(ctx["cur"])


def run(settings, dbname: str | None = None, mode: str | None = None) -> ValidationReport:
    """Validate the target database (or `dbname`) against the migration's SQLite snapshot."""
    mode = mode or settings.validate_mode
    if mode not in MODES:
        raise ConfigError(TEXT["bad_mode"], TEXT["bad_mode_fix"], mode=mode, modes=str(MODES))
    started = time.perf_counter()
    lock = target_lock.TargetLock(settings, Path(settings.run_dir).name, "validation",
                                  shared=True, dbname=dbname)  # never beside a migration
    with ExitStack() as stack:
        stack.enter_context(lock)
        record = state.current(settings)  # read under the lock: no migration is changing it
        if record and not record.completed:
            raise _unfinished(record, settings.language)
        migration = record.section if record else {}
        snapshot = _snapshot(settings, record)
        pool = stack.enter_context(ThreadPoolExecutor(2))
        src = stack.enter_context(closing(open_ro(snapshot)))
        conn = stack.enter_context(db.connection(settings, dbname=dbname))
        sessions = stack.enter_context(closing(digest.Sessions(
            db.connect_kwargs(settings, dbname=dbname), settings.workers)))
        # both overlap the comparison
        same = pool.submit(_same_snapshot, snapshot, record, settings.language)
        django = pool.submit(verdicts.django_inspection, settings, migration, dbname)
        conn.set_session(readonly=True)
        src.text_factory = stream.lenient  # sample rows may hold text that is not UTF-8
        ctx = _context(settings, record, snapshot, src, conn.cursor(), dbname, mode)
        ctx["sessions"] = sessions
        ctx["beside"] = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="beside"))
        handing = _handing_over(settings, record, snapshot, dbname, mode, ctx)
        entries = ctx["entries"]
        found = [validate_table(ctx, e) for e in tqdm(entries, desc="validate", unit="table",
                                                      disable=len(entries) < 2
                                                      or batch_mode())]
        found += [verdicts.derived(ctx, d) for d in migration.get("derived") or []]
        va011, orm = verdicts.django_problems(django.result(), ctx["cur"], ctx["schema"], found,
                                              settings.language)
        guide = step4(src, ctx["cur"], ctx["schema"], entries, ctx["present"],
                      {v.table: (v.source_rows, v.target_rows) for v in found}, orm)
    same.result()  # a replaced snapshot proves nothing: raise before any verdict
    checks = verdicts.summarise(found, guide, mode, settings.language) + [
        va011, verdicts.source_check(settings, migration, snapshot),
        which(record, settings.language)]
    report = ValidationReport(mode, found, table(checks), guide,
                              time.perf_counter() - started, settings.language, ctx["database"],
                              record.as_dict() if record else {})
    own = dbname in (None, settings.db_name)
    write_report(report, settings.run_dir, "" if own else dbname)
    if handing:
        try:
            handover.save(snapshot, record.run_id, record.snapshot_sha256, handing,
                          ctx["digested"], ctx.get("hasher"))
        except OSError:  # only a shortcut for the next sync: it then reads what it needs
            pass
    if record and record.origin == "target" and own:
        state.record_validation(settings, record.run_id, {
            "ok": report.ok, "mode": mode, "run_dir": str(settings.run_dir),
            "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    if batch_mode() and not report.ok:
        raise failure(report)
    return report


def which(record: state.Record | None, language: str | None = None) -> Check:
    """VA014: the migration validated against (run id, time, snapshot), or none recorded."""
    name = t(CHECKS["VA014"][0], language)
    if record is None:
        return Check("VA014", name, "warn", t(verdicts.SAY["no_record"], language),
                     t(CHECKS["VA014"][1], language))
    return Check("VA014", name, "ok", record.describe(language), details=record.as_dict())


def failure(report: ValidationReport) -> ValidationFailed:
    """The error a failed validation raises in batch runs (it carries the report)."""
    shown = next((v for v in report.failed if v.samples is not None), None)
    rows_text = "" if shown is None else fill(
        TEXT["failed_rows"], table=shown.table,
        rows=shown.samples.head(3).to_string(index=False, max_colwidth=40))
    against = report.migration.get("run_id")
    exc = ValidationFailed(TEXT["failed_run" if against else "failed"], TEXT["failed_fix"],
                           run=against, summary=report.summary(), rows=rows_text)
    exc.report = report
    return exc


__all__ = ["run", "plan_summary", "MODES", "CHECKS", "failure", "ValidationReport", "TableVerdict"]
