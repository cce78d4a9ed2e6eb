"""What a catch-up sync says: its messages (both languages), its errors and its report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..core.errors import RunbookError
from ..core.i18n import t

__all__ = ["TEXT", "HEADERS", "SyncError", "TableSync", "SyncReport"]

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
                    "digest (canonical codes, as stage 04 compares them): the rows written were "
                    "read back from PostgreSQL and compared code by code (or their chunks "
                    "digested again), the others were equal before",
              "ko": "증명: 테이블 {proven}개의 모든 키 구간이 이제 새 스냅샷과 같은 요약값을 가집니다 "
                    "(04 단계와 같은 정규 코드): 쓴 행은 PostgreSQL에서 다시 읽어 코드 단위로 "
                    "비교했고 (또는 그 구간의 요약값을 다시 계산), 나머지는 이미 같았습니다"},
    "unproven": {"en": "; still differing by digest: {tables} (values on_bad_value set to "
                       "NULL or aside, or a write during the sync): run stage 04 for the row-level "
                       "account",
                 "ko": "; 요약값이 아직 다른 테이블: {tables} (on_bad_value로 NULL이 되었거나 따로 "
                       "보관된 값, 또는 동기화 중의 쓰기): 행 단위 확인은 04 단계를 실행하세요"},
    "whole_tables": {"en": "; compared whole, not by digest: {tables} (stage 04 proves them)",
                     "ko": "; 요약값이 아니라 전체로 비교한 테이블: {tables} (04 단계가 증명합니다)"},
    "digests": {"en": "key-range digests", "ko": "키 범위 요약값"},
    "pages": {"en": "key-range digests; {n} of {total} ranges unchanged page by page, not read",
              "ko": "키 범위 요약값; 범위 {total}개 중 {n}개는 페이지 단위로 그대로여서 읽지 않음"},
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
    target_read: bool = True  # False: untouched since the last sync's (or stage 04's) proof
    previous_read: bool = True  # False: the previous snapshot's digests and row hashes recorded
    narrowed: str = ""  # "row hashes" | "join": how differing chunks became keys
    proved: str = ""  # "rows" | "chunks": how the written rows were proven after the commit
    reused: int = 0  # key ranges (chunks) unchanged page by page (`validate.pages`): not read
    chunks: int = 0  # key ranges (chunks) the table was compared in

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
        if x.method == "digests" and x.reused:
            return t(TEXT["pages"], lang, n=x.reused, total=x.chunks)
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
