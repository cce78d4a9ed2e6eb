"""Catch-up sync: bring the migrated PostgreSQL target to a fresh snapshot of the live SQLite file.

`sync(settings)` reads the migration the target holds (`core.state`), takes a WAL-safe snapshot
(SQLite's backup API) into a private folder `<run_dir>/sync/<token>/`, refuses a schema that
changed since stage 03 (SY002) or an `on_bad_value` that would not apply to rows already loaded
(SY007), and finds per table what changed (`sync_find`): key-range digests of the new snapshot,
the previous one (the snapshot the record names; its digests as the last sync recorded them)
and the target, the differing chunks narrowed to keys by joining the two snapshots
(`sync_keys`). Where the target differs from the previous snapshot, the previous snapshot's
converted rows are compared with it row by row: rows written on PostgreSQL stop the sync (SY003,
listed) unless `overwrite`. Tables that cannot be digested are staged whole; tables without a
key are compared as multisets.

Everything is applied in ONE transaction (`sync_apply`: deletes children first, inserts and
updates parents first, foreign keys checked before commit), with the bulk copy's value
conversion and `on_bad_value` handling (`migrate.stage_rows`), then the sequences; the
migration's record is rewritten in that transaction to name the new snapshot (`state.resnapshot`),
so a killed sync leaves the target and its record as they were, and stage 04 validates exactly
what the sync saw. After the commit the target's digests of the changed chunks are computed
again (the proof) and recorded for the next sync. A second sync with no new writes changes
nothing.
"""

from __future__ import annotations

import argparse
import re
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg2
import psycopg2.errors

from ..core import db, files, manifest, state, target_lock
from ..core.errors import RunbookError
from ..core.escape import terminal
from ..core.i18n import t
from ..core.identifiers import quote_ident
from ..core.secrets import scrub
from ..core.sqlite_quirks import open_ro
from ..migrate import (
    bad_rows,
    fail_error,
    introspect,
    move_sequences,
    quarantine,
    schema_changes,
    snapshot,
    stage_rows,
    sync_filter,
    table_plans,
)
from . import sync_apply
from .sync_find import Work, find, prove, save_rows, threshold

__all__ = ["sync", "SyncReport", "TableSync", "SyncError", "TEXT", "configure", "command"]

STATE = state.STATE
FOLDER = "sync"
_SYNCS = (f"CREATE TABLE IF NOT EXISTS {STATE}.syncs (token text PRIMARY KEY, run_id text, "
          "synced_at timestamptz NOT NULL DEFAULT clock_timestamp(), snapshot text NOT NULL, "
          "report jsonb, digests jsonb)")
_TOKEN = re.compile(r"[0-9a-f]{16}")

TEXT = {
    "no_migration": {
        "en": "SY001: no completed migration is recorded in {run_dir}: a sync brings an "
              "already migrated target up to date.",
        "ko": "SY001: {run_dir}에 완료된 마이그레이션 기록이 없습니다: 동기화는 이미 마이그레이션한 "
              "대상을 최신으로 맞추는 일입니다."},
    "no_migration_hint": {
        "en": "Run stages 03 and 04 first, or point run_dir (--run-dir) at the run folder of the "
              "migration (runs/<id>).",
        "ko": "03, 04 단계를 먼저 실행하거나, run_dir(--run-dir)을 마이그레이션한 실행 폴더"
              "(runs/<id>)로 지정하세요."},
    "schema": {
        "en": "SY002: the SQLite schema changed since the migration; a sync carries rows, not "
              "schema changes. Nothing was changed on the target. Changes: {changes}",
        "ko": "SY002: 마이그레이션 뒤 SQLite 스키마가 바뀌었습니다. 동기화는 행만 옮기고 스키마 변경은 "
              "옮기지 않습니다. 대상은 바뀌지 않았습니다. 변경: {changes}"},
    "schema_hint": {
        "en": "Re-run stage 03 (if_exists: replace) so these tables are created as the source "
              "has them now ({tables}), then stage 04; syncs work again after that.",
        "ko": "이 테이블들({tables})이 지금 원본대로 만들어지도록 03 단계를 if_exists: replace로 "
              "다시 실행한 뒤 04 단계를 실행하세요. 그 다음부터 다시 동기화할 수 있습니다."},
    "diverged": {
        "en": "SY003: the target was written since the last migration or sync: {n} row(s) in "
              "PostgreSQL differ from the snapshot it was synced to. Nothing was changed. Rows: "
              "{rows}",
        "ko": "SY003: 마지막 마이그레이션 또는 동기화 뒤에 대상에 쓰기가 있었습니다: PostgreSQL의 행 "
              "{n}개가 동기화한 스냅샷과 다릅니다. 아무것도 바꾸지 않았습니다. 행: {rows}"},
    "diverged_hint": {
        "en": "Find out who wrote to PostgreSQL (an app already switched over? a script?) and "
              "stop it. To discard those writes and take SQLite's rows, run `runbook sync "
              "--params FILE --overwrite` (in a notebook: sync(settings, overwrite=True)).",
        "ko": "누가 PostgreSQL에 썼는지 확인하고 멈추세요 (이미 전환한 앱? 스크립트?). 그 쓰기를 버리고 "
              "SQLite의 행으로 덮어쓰려면 `runbook sync --params FILE --overwrite`를 실행하세요 "
              "(노트북에서는 sync(settings, overwrite=True))."},
    "previous": {
        "en": "SY004: the snapshot the target was last synced to ({path}) is gone, so writes "
              "made on PostgreSQL since cannot be told apart. Nothing was changed.",
        "ko": "SY004: 대상이 마지막으로 동기화된 스냅샷({path})이 없어서 그 뒤 PostgreSQL에 쓴 내용을 "
              "구별할 수 없습니다. 아무것도 바꾸지 않았습니다."},
    "previous_hint": {
        "en": "Run the sync with the run folder that migrated (or last synced) this target "
              "(--run-dir runs/<id>), or re-run stage 03 (if_exists: replace) and stage 04.",
        "ko": "이 대상을 마이그레이션(또는 마지막으로 동기화)한 실행 폴더로 동기화를 실행하거나 "
              "(--run-dir runs/<id>), 03 단계를 if_exists: replace로 다시 실행한 뒤 04 단계를 "
              "실행하세요."},
    "bad": {
        "en": "SY005: changed rows hold values that do not fit their PostgreSQL types "
              "(on_bad_value: fail). Nothing was changed. {detail}",
        "ko": "SY005: 바뀐 행에 PostgreSQL 타입에 맞지 않는 값이 있습니다 (on_bad_value: fail). "
              "아무것도 바꾸지 않았습니다. {detail}"},
    "bad_hint": {
        "en": "Fix those rows in SQLite (the application), or set on_bad_value: null or "
              "quarantine, then sync again.",
        "ko": "SQLite(애플리케이션)에서 그 행들을 고치거나 on_bad_value를 null 또는 quarantine으로 "
              "바꾼 뒤 다시 동기화하세요."},
    "foreign_key": {
        "en": "SY006: the changed rows break a foreign key that PostgreSQL enforces (SQLite did "
              "not): {detail}. Nothing was changed.",
        "ko": "SY006: 바뀐 행이 PostgreSQL이 지키는 외래 키를 어깁니다 (SQLite는 지키지 않았음): "
              "{detail}. 아무것도 바꾸지 않았습니다."},
    "foreign_key_hint": {
        "en": "Fix the rows in SQLite (delete the referencing rows, or point them at a row that "
              "exists), then sync again.",
        "ko": "SQLite에서 그 행들을 고친 뒤 (참조하는 행을 지우거나 있는 행을 가리키게) 다시 "
              "동기화하세요."},
    "unique": {
        "en": "SY008: the changed rows of {table} cannot take their unique values in "
              "PostgreSQL ({detail}). Nothing was changed.",
        "ko": "SY008: {table}의 바뀐 행이 PostgreSQL에서 고유 값을 가질 수 없습니다 ({detail}). "
              "아무것도 바꾸지 않았습니다."},
    "unique_hint": {
        "en": "If rows of {table} swapped unique values while a foreign key pointing at it "
              "deletes or nulls rows with them (ON DELETE CASCADE / SET NULL), the sync cannot "
              "replace them without touching those rows: stop the app's writes, re-run stage 03 "
              "(if_exists: replace) and stage 04. If a value is really duplicated in SQLite (a "
              "unique constraint only PostgreSQL has), fix the rows in SQLite and sync again.",
        "ko": "{table}의 행들이 고유 값을 서로 바꿨는데 이 테이블을 가리키는 외래 키가 행을 함께 "
              "지우거나 NULL로 만든다면 (ON DELETE CASCADE / SET NULL), 동기화는 그 행들을 건드리지 "
              "않고는 바꿀 수 없습니다: 앱의 쓰기를 멈추고 03 단계를 if_exists: replace로 다시 "
              "실행한 뒤 04 단계를 실행하세요. 값이 SQLite에서 정말로 중복이라면 (PostgreSQL에만 "
              "있는 고유 제약), SQLite에서 행을 고친 뒤 다시 동기화하세요."},
    "policy": {
        "en": "SY007: on_bad_value was {before} when the target was loaded and is {now} now: the "
              "rows already set aside or loaded as NULL would not follow the new choice. Nothing "
              "was changed.",
        "ko": "SY007: 대상을 적재할 때 on_bad_value는 {before}였고 지금은 {now}입니다: 이미 따로 "
              "보관되었거나 NULL로 적재된 행은 새 선택을 따르지 않습니다. 아무것도 바꾸지 "
              "않았습니다."},
    "policy_hint": {
        "en": "Sync with on_bad_value: {before} (as the migration), or re-run stage 03 with "
              "on_bad_value: {now} and then sync.",
        "ko": "마이그레이션과 같은 on_bad_value: {before}로 동기화하거나, on_bad_value: {now}로 "
              "03 단계를 다시 실행한 뒤 동기화하세요."},
    "summary": {
        "en": "synced in {seconds:.2f} s: {inserted} inserted, {updated} updated, {deleted} "
              "deleted in {tables} table(s); snapshot {snapshot}",
        "ko": "{seconds:.2f}초에 동기화: 테이블 {tables}개에서 {inserted}행 추가, {updated}행 "
              "수정, {deleted}행 삭제; 스냅샷 {snapshot}"},
    "nothing": {"en": "nothing changed since the last sync: the target already holds this "
                      "snapshot ({seconds:.2f} s)",
                "ko": "마지막 동기화 뒤 바뀐 것이 없습니다: 대상이 이미 이 스냅샷과 같습니다 "
                      "({seconds:.2f}초)"},
    "overwritten": {"en": "overwrote {n} row(s) written on PostgreSQL (overwrite)",
                    "ko": "PostgreSQL에 쓰인 행 {n}개를 덮어썼습니다 (overwrite)"},
    "proof": {"en": "proof: every key chunk of {proven} table(s) now has the new snapshot's "
                    "digest (canonical codes, as stage 04 compares them)",
              "ko": "증명: 테이블 {proven}개의 모든 키 구간이 이제 새 스냅샷과 같은 요약값을 가집니다 "
                    "(04 단계와 같은 정규 코드)"},
    "unproven": {"en": "; still differing by digest: {tables} (values on_bad_value set to "
                       "NULL or aside, or a write during the sync): run stage 04 for the row-level "
                       "account",
                 "ko": "; 요약값이 아직 다른 테이블: {tables} (on_bad_value로 NULL이 되었거나 따로 "
                       "보관된 값, 또는 동기화 중의 쓰기): 행 단위 확인은 04 단계를 실행하세요"},
    "whole_tables": {"en": "; compared whole, not by digest: {tables} (stage 04 proves them)",
                     "ko": "; 요약값이 아니라 전체로 비교한 테이블: {tables} (04 단계가 증명합니다)"},
    "digests": {"en": "key-range digests", "ko": "키 범위 요약값"},
    "whole": {"en": "whole table: {reason}", "ko": "테이블 전체: {reason}"},
    "multiset": {"en": "whole table as a multiset (no primary key)",
                 "ko": "테이블 전체를 다중집합으로 (기본 키 없음)"},
}
HEADERS = ("table", "inserted", "updated", "deleted", "compared by", "staged rows")


class SyncError(RunbookError):
    """A sync refused to run or stopped; the target is as it was."""


@dataclass
class TableSync:
    """What one table's sync found and did."""

    table: str
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    method: str = "digests"  # digests | whole | multiset
    reason: dict = field(default_factory=dict)  # why not digests (en/ko)
    staged: int = 0
    ranges: list = field(default_factory=list)  # key ranges re-read (digests)
    diverged: int = 0
    diverged_rows: list = field(default_factory=list)
    target_read: bool = True  # False: untouched since the last sync's proof
    narrowed: str = ""  # "row hashes" | "join": how differing chunks became keys
    proved: str = ""  # "rows" | "chunks": how the written rows were proven after the commit

    @property
    def changes(self) -> int:
        return self.inserted + self.updated + self.deleted


@dataclass
class SyncReport:
    """The sync's result: per table counts, time, the snapshot it brought the target to."""

    tables: list[TableSync]
    seconds: float
    snapshot: str
    token: str
    timings: dict = field(default_factory=dict)
    overwritten: int = 0
    language: str = "en"
    proven: list = field(default_factory=list)  # tables whose every chunk digest now matches
    unproven: list = field(default_factory=list)  # digested tables with chunks still differing

    @property
    def inserted(self) -> int:
        return sum(x.inserted for x in self.tables)

    @property
    def updated(self) -> int:
        return sum(x.updated for x in self.tables)

    @property
    def deleted(self) -> int:
        return sum(x.deleted for x in self.tables)

    @property
    def changes(self) -> int:
        return self.inserted + self.updated + self.deleted

    def summary(self, language: str | None = None) -> str:
        lang = language or self.language
        if not self.changes:
            return t(TEXT["nothing"], lang, seconds=self.seconds)
        text = t(TEXT["summary"], lang, seconds=self.seconds, inserted=self.inserted,
                 updated=self.updated, deleted=self.deleted,
                 tables=sum(1 for x in self.tables if x.changes), snapshot=self.snapshot)
        if self.overwritten:
            text += "; " + t(TEXT["overwritten"], lang, n=self.overwritten)
        return text

    def proof(self, language: str | None = None) -> str:
        """What the digests proved after the commit, in one sentence."""
        lang = language or self.language
        text = t(TEXT["proof"], lang, proven=len(self.proven))
        if self.unproven:
            text += t(TEXT["unproven"], lang, tables=", ".join(self.unproven))
        whole = [x.table for x in self.tables if x.method != "digests"]
        if whole:
            text += t(TEXT["whole_tables"], lang, tables=", ".join(whole))
        return text

    def how(self, x: TableSync, language: str | None = None) -> str:
        lang = language or self.language
        if x.method == "whole":
            return t(TEXT["whole"], lang, reason=x.reason.get(lang) or x.reason.get("en", ""))
        return t(TEXT[x.method], lang)

    def frame(self, language: str | None = None):
        import pandas as pd

        rows = [{"table": x.table, "inserted": x.inserted, "updated": x.updated,
                 "deleted": x.deleted, "compared by": self.how(x, language),
                 "staged rows": x.staged} for x in self.tables]
        return pd.DataFrame(rows, columns=list(HEADERS))

    def as_dict(self) -> dict:
        return {"seconds": round(self.seconds, 3), "snapshot": self.snapshot, "token": self.token,
                "inserted": self.inserted, "updated": self.updated, "deleted": self.deleted,
                "overwritten": self.overwritten, "timings": self.timings,
                "proven": self.proven, "unproven": self.unproven,
                "tables": [{k: v for k, v in asdict(x).items() if k != "diverged_rows"}
                           for x in self.tables]}

    def _repr_html_(self) -> str:
        from ..core.display import escape, frame_html

        shown = self.frame()
        shown = shown[(shown[["inserted", "updated", "deleted", "staged rows"]] != 0).any(axis=1)]
        return (f"<p>{escape(self.summary())}</p><p>{escape(self.proof())}</p>"
                + (frame_html(shown, self.language) if len(shown) else ""))


# -- the migration and the previous snapshot ---------------------------------------------------
def _migration(settings):
    """The migration the target holds (`core.state`), completed, with its tables."""
    record = state.current(settings)
    if record is None or not record.completed or not record.section.get("tables"):
        lang = settings.language
        raise SyncError(t(TEXT["no_migration"], lang, run_dir=settings.run_dir),
                        t(TEXT["no_migration_hint"], lang))
    return record


def _last_sync(cur, run_id: str, snapshot_path: str) -> dict:
    """The digests the last sync recorded, if the target still holds its snapshot."""
    cur.execute("SELECT to_regclass(%s)", (f"{STATE}.syncs",))
    if cur.fetchone()[0] is None:
        return {}
    cur.execute(f"SELECT snapshot, digests FROM {STATE}.syncs WHERE run_id IS NOT DISTINCT FROM "
                "%s ORDER BY synced_at DESC LIMIT 1", (run_id,))
    row = cur.fetchone()
    if not row or row[0] != snapshot_path or not isinstance(row[1], dict):
        return {}
    return row[1]


def _previous(settings, record) -> Path:
    """The snapshot the target holds: stage 03's, or the last committed sync's."""
    path = Path(record.snapshot or "")
    if not path.is_file():
        lang = settings.language
        raise SyncError(t(TEXT["previous"], lang, path=path), t(TEXT["previous_hint"], lang))
    return path


# -- applying the changes ---------------------------------------------------------------------
def _diverged(cur, src_old, work: Work, tp_old, policy: str, zone: str, n: int) -> None:
    """Stage the previous snapshot's rows where the target differs from it; rows that still
    differ were written on PostgreSQL."""
    cols = [c.name for c in tp_old.columns]
    stage = sync_apply.create_stage(cur, work.table, cols, f"runbook_sync_old_{n}")
    where = "" if work.check is None else sync_apply.between(
        quote_ident(tp_old.source.primary_key[0]), work.check)
    stage_rows(src_old, cur, tp_old, sync_filter(tp_old, policy), stage, where, zone)
    if work.method == "multiset":
        found = sync_apply.divergent_rows(cur, work.table, cols, stage)
    else:
        found = sync_apply.divergent_keys(cur, work.table, cols, tp_old.primary_key, stage,
                                          work.check)
    work_result = work.result
    work_result.diverged, work_result.diverged_rows = found


def _selection(src_new, work: Work, tp, n: int, overwrite: bool) -> str:
    """SQLite condition of the new snapshot's rows to stage ("" : all)."""
    if work.keys is None:
        return ""
    name = f"runbook_sync_keys_{n}_{uuid.uuid4().hex[:8]}"
    src_new.execute(f"CREATE TEMP TABLE {name} (k INTEGER PRIMARY KEY)")
    src_new.executemany(f"INSERT OR IGNORE INTO temp.{name} VALUES (?)",
                        ((k,) for k in work.keys))
    key = quote_ident(tp.source.primary_key[0])
    where = f"{key} IN (SELECT k FROM temp.{name})"
    if overwrite and work.check:
        where = f"({where} OR {sync_apply.between(key, work.check)})"
    return where


def _stage_new(cur, src_new, work: Work, tp, policy: str, zone: str, n: int,
               overwrite: bool) -> str:
    stage = sync_apply.create_stage(cur, work.table, [c.name for c in tp.columns],
                                    f"runbook_sync_new_{n}")
    where = _selection(src_new, work, tp, n, overwrite)
    if policy == "fail":
        bad = bad_rows(src_new, tp, where)
        if bad:
            raise _bad_error(bad)
    work.result.staged = stage_rows(src_new, cur, tp, sync_filter(tp, policy), stage, where,
                                    zone)
    return stage


def _bad_error(bad) -> SyncError:
    from ..core.i18n import current

    exc = fail_error(bad)
    lang = current()
    return SyncError(t(TEXT["bad"], lang, detail=exc.message), t(TEXT["bad_hint"], lang))


def _delete(cur, work: Work, tp, stage: str, overwrite: bool) -> int:
    if work.keys is None:  # compared whole
        return sync_apply.delete_missing(cur, tp.name, tp.primary_key, stage, None)
    deleted = sync_apply.delete_keys(cur, tp.name, tp.primary_key[0], work.gone)
    if overwrite and work.check:
        deleted += sync_apply.delete_missing(cur, tp.name, tp.primary_key, stage, work.check)
    return deleted


def _apply(conn, works: list[Work], plans: tuple, snapshots: tuple, settings, zone: str,
           overwrite: bool, bookkeeping, old_policy: str) -> int:
    """Everything in one transaction; returns the rows overwritten (0 unless `overwrite`)."""
    from ..migrate import BadRows

    policy, lang = settings.on_bad_value, settings.language
    by_name = {tp.name: tp for tp in plans[0].tables}
    old_by_name = {tp.name: tp for tp in plans[1].tables}
    todo = [w for w in works if w.busy]
    src_new, src_old = open_ro(snapshots[0]), open_ro(snapshots[1])
    try:
        with conn.cursor() as cur:
            for n, w in enumerate(todo):
                if w.check is None or w.check:
                    _diverged(cur, src_old, w, old_by_name[w.table], old_policy, zone, n)
            diverged = [w for w in todo if w.result.diverged]
            if diverged and not overwrite:
                conn.rollback()
                raise _divergence_error(diverged, lang)
            stages = {}
            for n, w in enumerate(todo):
                try:
                    stages[w.table] = _stage_new(cur, src_new, w, by_name[w.table], policy,
                                                 zone, n, overwrite)
                except BadRows as exc:
                    conn.rollback()
                    raise SyncError(t(TEXT["bad"], lang, detail=str(exc)),
                                    t(TEXT["bad_hint"], lang)) from None
            altered = sync_apply.defer_foreign_keys(cur, list(stages))
            cur.execute("SET CONSTRAINTS ALL DEFERRED")
            for w in reversed(todo):  # children first
                if w.method != "multiset":
                    w.result.deleted = _delete(cur, w, by_name[w.table], stages[w.table],
                                               overwrite)
            for w in todo:  # parents first
                tp = by_name[w.table]
                cols = [c.name for c in tp.columns]
                if w.method == "multiset":
                    w.result.inserted, w.result.deleted = sync_apply.multiset_apply(
                        cur, tp.name, cols, stages[tp.name])
                else:
                    w.result.inserted, w.result.updated = _upsert(cur, tp, cols,
                                                                  stages[tp.name], lang)
            sync_apply.restore_foreign_keys(cur, altered)
            move_sequences(conn, plans[0])
            bookkeeping(cur)
        conn.commit()
    except psycopg2.errors.ForeignKeyViolation as exc:
        conn.rollback()
        detail = terminal(scrub(str(exc).strip().replace("\n", " ")))
        raise SyncError(t(TEXT["foreign_key"], lang, detail=detail),
                        t(TEXT["foreign_key_hint"], lang)) from None
    except BaseException:
        conn.rollback()
        raise
    finally:
        src_new.close()
        src_old.close()
    return sum(w.result.diverged for w in works) if overwrite else 0


def _upsert(cur, tp, cols: list[str], stage: str, lang: str) -> tuple[int, int]:
    """The staged rows inserted or updated; where rows swap unique values among them, as
    delete-then-insert (`sync_apply.replace_changed`), else SY008."""
    cur.execute("SAVEPOINT runbook_sync_upsert")
    try:
        found = sync_apply.upsert(cur, tp.name, cols, tp.primary_key, stage)
    except psycopg2.errors.UniqueViolation as exc:
        error = str(exc)
        cur.execute("ROLLBACK TO SAVEPOINT runbook_sync_upsert")
        try:
            found = sync_apply.replace_changed(cur, tp.name, cols, tp.primary_key, stage)
        except psycopg2.errors.UniqueViolation as again:
            error, found = str(again), None
        if found is None:
            detail = terminal(scrub(error.strip().replace("\n", " ")))
            raise SyncError(t(TEXT["unique"], lang, table=terminal(tp.name), detail=detail),
                            t(TEXT["unique_hint"], lang, table=terminal(tp.name))) from None
    cur.execute("RELEASE SAVEPOINT runbook_sync_upsert")
    return found


def _divergence_error(diverged: list[Work], language: str) -> SyncError:
    listed = "; ".join(
        f"{terminal(w.table)}: " + ", ".join(terminal(str(r[0] if len(r) == 1 else r))
                                                     for r in w.result.diverged_rows)
        + (" …" if w.result.diverged > len(w.result.diverged_rows) else "")
        for w in diverged)
    n = sum(w.result.diverged for w in diverged)
    exc = SyncError(t(TEXT["diverged"], language, n=n, rows=listed),
                    t(TEXT["diverged_hint"], language))
    exc.rows = {w.table: w.result.diverged_rows for w in diverged}
    return exc


# -- the whole sync ----------------------------------------------------------------------------
def _refuse_schema_changes(settings, section: dict, schema) -> None:
    changes = schema_changes(section, schema)
    if not changes:
        return
    text = "; ".join(f"{terminal(c.table)}: {c.what}" + (f" ({terminal(c.detail)})"
                                                         if c.detail else "") for c in changes)
    tables = ", ".join(sorted({terminal(c.table) for c in changes}))
    lang = settings.language
    exc = SyncError(t(TEXT["schema"], lang, changes=text), t(TEXT["schema_hint"], lang,
                                                             tables=tables))
    exc.changes = changes
    raise exc


def _types(conn, entries: list[dict]) -> tuple[dict, str]:
    with conn.cursor() as cur:
        cur.execute("SELECT current_schema()")
        where = cur.fetchone()[0]
        out = {}
        for e in entries:
            cur.execute("SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute "
                        "a WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT "
                        "a.attisdropped", (quote_ident(e["table"]),))
            out[e["table"]] = dict(cur.fetchall())
    conn.rollback()
    return out, where


def _section_now(settings, section: dict, new: Path, schema, live: dict, token: str,
                 quarantined: dict, folder: Path) -> dict:
    """The migration's record as it is once the sync committed: the synced snapshot, its
    counts and quarantined rows (what stage 04 validates)."""
    rows = {tb.name: tb.rows for tb in schema.tables}
    tables = []
    for e in section["tables"]:
        n = rows.get(e["source_table"], 0)
        gone, file = quarantined.get(e["table"], (0, ""))
        if settings.on_bad_value != "quarantine":
            gone, file = int(e.get("quarantined") or 0), e.get("quarantine_file", "")
        tables.append({**e, "source_rows": n, "loaded_rows": n - gone, "quarantined": gone,
                       "quarantine_file": file})
    out = {**section, "snapshot": str(new), "tables": tables, "on_bad_value": settings.on_bad_value,
           "source_state": {"path": str(settings.sqlite_file), "state": live}, "synced": token}
    if settings.on_bad_value == "quarantine":
        out["quarantine_dir"] = str(folder / "quarantine") if quarantined else ""
    return out


def _history(settings, report: SyncReport) -> None:
    """The manifest's `sync` section: the last syncs; its `migration` copy refreshed."""
    state.current(settings)
    history = (manifest.read(settings.run_dir).get("sync") or {}).get("history") or []
    manifest.update(settings.run_dir, "sync", {"last": report.as_dict(),
                                               "history": (history + [report.as_dict()])[-20:]})


def _clean(root: Path, keep: str) -> None:
    """Remove the sync folders of earlier (or killed) syncs; the committed one stays."""
    for child in root.iterdir() if root.is_dir() else []:
        if child.is_dir() and not child.is_symlink() and _TOKEN.fullmatch(child.name) \
                and child.name != keep:
            shutil.rmtree(child, ignore_errors=True)


def _save_digests(settings, token: str, recorded: dict) -> None:
    """The new snapshot's digests, for the next sync (it then reads no previous snapshot)."""
    import json

    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute(f"UPDATE {STATE}.syncs SET digests = %s WHERE token = %s",
                    (json.dumps(recorded), token))


def sync(settings, overwrite: bool = False) -> SyncReport:
    """Bring the target up to a fresh snapshot of the live SQLite file (see the module)."""
    began = time.perf_counter()
    timings: dict[str, float] = {}
    record = _migration(settings)
    section = record.section
    token = uuid.uuid4().hex[:16]
    root = files.private_dir(Path(settings.run_dir) / FOLDER)
    folder = files.private_dir(root / token)
    live: dict = {}
    new = snapshot(settings.sqlite_file, folder, check=False, state=live)
    schema = introspect(new)
    timings["snapshot"] = round(time.perf_counter() - began, 3)
    _refuse_schema_changes(settings, section, schema)
    before = section.get("on_bad_value") or "fail"
    if before not in ("fail", settings.on_bad_value):  # fail loaded only values that fit
        lang, now = settings.language, settings.on_bad_value
        raise SyncError(t(TEXT["policy"], lang, before=before, now=now),
                        t(TEXT["policy_hint"], lang, before=before, now=now))
    zone = section.get("source_timezone") or settings.source_timezone or "UTC"
    lock = target_lock.TargetLock(settings, f"sync-{token}", "migration")
    with lock, db.connection(settings) as conn:
        with conn.cursor() as cur:
            cached = _last_sync(cur, record.run_id, record.snapshot)
        conn.rollback()
        old = _previous(settings, record)
        types, where = _types(conn, section["tables"])
        plans = (table_plans(section, schema, types),
                 table_plans(section, introspect(old), types))
        rows = {tb.name: tb.rows for tb in schema.tables}
        step = time.perf_counter()
        works = find(settings, conn, new, old, section, types, rows, where, cached)
        for w in works:
            w.result = TableSync(w.table, method=w.method, reason=w.reason,
                                 target_read=w.target_read, narrowed=w.narrowed_by)
        timings["compare"] = round(time.perf_counter() - step, 3)
        for part in ("digests", "narrowing"):
            timings[part] = round(sum(w.seconds.get(part, 0) for w in works), 3)
        step = time.perf_counter()
        report = SyncReport([w.result for w in works], 0.0, str(new), token, timings,
                            language=settings.language)
        quarantined = quarantine(new, plans[0], settings.on_bad_value, folder / "quarantine")
        now = _section_now(settings, section, new, schema, live, token, quarantined, folder)

        def bookkeeping(cur) -> None:
            import json

            state.resnapshot(cur, record.run_id, now, state.sha256(new))
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {STATE}")
            cur.execute(_SYNCS)
            cur.execute(f"INSERT INTO {STATE}.syncs (token, run_id, snapshot, report) VALUES "
                        "(%s, %s, %s, %s)", (token, record.run_id, str(new),
                                             json.dumps(report.as_dict(), default=str)))

        report.overwritten = _apply(conn, works, plans, (new, old), settings, zone, overwrite,
                                    bookkeeping, before)
        timings["apply"] = round(time.perf_counter() - step, 3)
    step = time.perf_counter()
    oldest = threshold(settings)
    recorded, report.unproven = prove(settings, works, overwrite, new)
    report.proven = [w.table for w in works if w.method == "digests"
                     and w.table not in report.unproven]
    for w in works:
        w.result.proved = w.proved_by
    _save_digests(settings, token, {"threshold": oldest, "tables": recorded})
    save_rows(folder, new, works)
    timings["proof"] = round(time.perf_counter() - step, 3)
    report.seconds = time.perf_counter() - began
    _history(settings, report)
    _clean(root, token)
    return report


# -- `runbook sync` ----------------------------------------------------------------------------
CLI = {"validated": {"en": "validation (stage 04 on the synced snapshot): {verdict}",
                     "ko": "검증 (동기화한 스냅샷에 대한 04 단계): {verdict}"},
       "ok": {"en": "ok, nothing lost", "ko": "정상, 잃은 것 없음"},
       "failed": {"en": "FAILED: {summary}", "ko": "실패: {summary}"}}


HELP = {
    "params": {"en": "the profile the migration ran with", "ko": "마이그레이션에 쓴 프로필"},
    "run_dir": {"en": "the run folder of the migration (default: the profile's run_dir)",
                "ko": "마이그레이션한 실행 폴더 (기본값: 프로필의 run_dir)"},
    "overwrite": {"en": "discard rows written on PostgreSQL since the last sync",
                  "ko": "마지막 동기화 뒤 PostgreSQL에 쓴 행을 버림"},
    "validate": {"en": "then validate the target against the synced snapshot (stage 04)",
                 "ko": "그 다음 동기화한 스냅샷에 대해 대상을 검증 (04 단계)"},
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", required=True, help=t(HELP["params"]))
    parser.add_argument("--run-dir", default="", help=t(HELP["run_dir"]))
    parser.add_argument("--overwrite", action="store_true", help=t(HELP["overwrite"]))
    parser.add_argument("--validate", action="store_true", help=t(HELP["validate"]))


def command(args: argparse.Namespace) -> int:
    from ..core.config import load_settings

    extra = {"run_dir": args.run_dir} if args.run_dir else {}
    settings = load_settings(profile=args.params, **extra)
    report = sync(settings, overwrite=args.overwrite)
    lang = settings.language
    print(terminal(report.summary(lang)))
    print(terminal(report.proof(lang)))
    frame = report.frame(lang)
    if len(frame):
        print(terminal(frame.to_string(index=False), newlines=True))
    if not args.validate:
        return 0
    from ..validate import run as validate

    checked = validate(settings)
    verdict = t(CLI["ok"], lang) if checked.ok else t(CLI["failed"], lang,
                                                      summary=checked.summary())
    print(terminal(t(CLI["validated"], lang, verdict=verdict)))
    return 0 if checked.ok else 1

