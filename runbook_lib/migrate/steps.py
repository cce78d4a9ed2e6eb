"""The migration, step by step: snapshot → introspect → plan → schema ‖ profile → COPY → post-load.

The profile scans (bad values per column, dangling references) start with the schema step and
run in its shadow (Django's `migrate` takes seconds); they are collected before the first COPY.

The target is held with an advisory lock (`core.target_lock`) from the first change to the
end, so a second run stops instead of taking the live one for dead. Before anything existing
is dropped or emptied (`if_exists: replace`/`truncate`, an unfinished run), everything that
would stop the run is checked: the snapshot's integrity, names, type_overrides, and with
`schema: sqlite` the values.

`Migration(settings)` exposes each step for notebook 03 (each returns something to display);
`run(settings)` does them all. The manifest section `migration` is what validation reads.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..core import db, escape, manifest, source_state, target_lock
from ..core.display import Notes, sentence
from ..core.errors import MigrationError, RunbookError
from ..core.i18n import fill, t
from ..core.results import batch_mode
from . import (
    derived,
    django_names,
    methods,
    postload,
    schema,
    source,
    sqlite_only,
    target,
    transfer,
    type_inference,
)
from .profile import Pending, Profile, profile, start, start_references
from .wording import ERRORS, joined

__all__ = ["Migration", "MigrationResult", "run", "source_timezone", "NOTES"]

NOTES = {
    "nothing": {"en": "The target needed no clearing.", "ko": "대상에서 비울 것이 없었습니다."},
    "dry_run": {"en": "dry_run: nothing written", "ko": "dry_run: 아무것도 쓰지 않음"},
    "emptied": {"en": "emptied {n} table(s) that migrate filled: {tables} (the source's rows "
                      "and ids win)",
                "ko": "migrate가 채운 테이블 {n}개를 비웠습니다: {tables} (원본의 행과 id를 "
                      "그대로 씀)"},
    "unfinished": {"en": "run {run} did not finish (killed?): its tables are loaded again "
                         "from scratch",
                   "ko": "실행 {run}이(가) 끝나지 않았습니다 (중단됨?): 그 테이블을 처음부터 다시 "
                         "적재합니다"},
    "dropped": {"en": "dropped {n} existing table(s) ({mode})",
                "ko": "기존 테이블 {n}개를 삭제했습니다 ({mode})"},
    "truncated": {"en": "truncated {n} table(s) (if_exists: truncate)",
                  "ko": "테이블 {n}개를 비웠습니다 (if_exists: truncate)"},
    "not_django": {"en": "{n} table(s) not made by Django's migrations were created from the "
                         "SQLite schema: {tables}",
                   "ko": "Django 마이그레이션이 만들지 않은 테이블 {n}개를 SQLite 스키마로 "
                         "만들었습니다: {tables}"},
    "preflight": {"en": "checked before the existing tables were touched: the snapshot's "
                        "integrity, names and type_overrides",
                  "ko": "기존 테이블을 건드리기 전에 확인했습니다: 스냅샷 무결성, 이름, type_overrides"},
    "preflight_values": {"en": "checked before the existing tables were touched: the snapshot's "
                               "integrity, the values, names and type_overrides",
                         "ko": "기존 테이블을 건드리기 전에 확인했습니다: 스냅샷 무결성, 값, 이름, "
                               "type_overrides"},
    "skip_dry_run": {"en": "skipped: dry_run", "ko": "건너뜀: dry_run"},
    "unchanged": {"en": "Nothing was changed on the target: its tables and rows are as they "
                        "were.",
                  "ko": "대상은 바뀌지 않았습니다: 테이블과 행이 그대로입니다."},
    "not_copied": {"en": "Nothing was copied: the target holds only the empty tables of the "
                         "schema; the next run starts over.",
                   "ko": "아무것도 복사하지 않았습니다: 대상에는 스키마의 빈 테이블만 있으며, 다음 "
                         "실행은 처음부터 다시 합니다."},
    "checked_again": {"en": "a value stopped the copy that checked values as it went ({reason}): "
                            "the target was emptied and every table profiled before copying "
                            "again",
                      "ko": "값을 검사하며 복사하던 중 한 값이 복사를 멈췄습니다({reason}): 대상을 "
                            "비우고 모든 테이블의 값을 검사한 뒤 다시 복사합니다"},
    "undone": {"en": "The copy was undone: the target holds only the empty tables of the "
                     "schema; the next run starts over.",
               "ko": "복사를 되돌렸습니다: 대상에는 스키마의 빈 테이블만 있으며, 다음 실행은 "
                     "처음부터 다시 합니다."},
    "typed": {"en": "types: data: {n} column(s) take the type their values need, not the "
                    "declared one: {columns}",
              "ko": "types: data: 열 {n}개는 선언된 타입이 아니라 값에 맞는 타입을 씁니다: {columns}"},
    "shortened": {"en": "{n} name(s) over 63 bytes shortened (prefix + hash): {names}",
                  "ko": "63바이트를 넘는 이름 {n}개를 줄였습니다 (앞부분 + 해시): {names}"},
    "skip_schema_only": {"en": "skipped: data: false (schema only)",
                         "ko": "건너뜀: data: false (스키마만)"},
    "intent_write": {"en": "**Writing** the target database `{db}` (if_exists: `{mode}`): the "
                           "cells below create and fill its tables.",
                     "ko": "대상 데이터베이스 `{db}`에 **씁니다** (if_exists: `{mode}`): 아래 셀이 "
                           "테이블을 만들고 채웁니다."},
    "intent_dry": {"en": "**Dry run**: the plan only; the cells below write nothing and report "
                         "*skipped*.",
                   "ko": "**시험 실행(dry run)**: 계획만 세웁니다. 아래 셀은 아무것도 쓰지 않고 "
                         "*건너뜀*으로 보고합니다."},
}

MODE_WARNING = {
    "en": "{path} is a Django database (it has django_migrations), but it is copied with "
          "schema: sqlite: PostgreSQL's types then follow SQLite's declarations, not the "
          "models (a UUIDField becomes varchar, a DurationField an integer), and the "
          "application may break on PostgreSQL.",
    "ko": "{path}는 Django 데이터베이스(django_migrations 있음)인데 schema: sqlite로 복사합니다: "
          "PostgreSQL 타입이 모델이 아니라 SQLite 선언을 따르므로 (UUIDField는 varchar, "
          "DurationField는 정수) 애플리케이션이 PostgreSQL에서 동작하지 않을 수 있습니다.",
}
MODE_HINT = {
    "en": "Set django_project to the folder holding manage.py (schema: django is then the "
          "default: the project's migrate builds the schema it expects); to copy the file as "
          "plain SQLite anyway, set schema: sqlite explicitly.",
    "ko": "django_project를 manage.py가 있는 폴더로 지정하세요 (그러면 schema: django가 기본값이며 "
          "프로젝트의 migrate가 스키마를 만듭니다). 그래도 일반 SQLite로 복사하려면 schema: sqlite를 "
          "명시하세요.",
}


@dataclass
class MigrationResult:
    section: dict
    summary: object = None
    seconds: float = 0.0
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        return bool(self.section.get("completed"))


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def source_timezone(settings) -> str:
    """Zone of the source's naive timestamps: parameter, else Django's USE_TZ/TIME_ZONE, else UTC."""
    if settings.source_timezone:
        return settings.source_timezone
    if settings.django_project:
        from ..core.django_project import read_setting

        if not read_setting(settings, "USE_TZ", True):
            return read_setting(settings, "TIME_ZONE", "UTC") or "UTC"
    return "UTC"


class Migration:
    """One migration run; each method is one step of notebook 03."""

    def __init__(self, settings, progress: bool = True) -> None:
        self.settings = settings
        self.progress = progress
        self.snapshot: Path | None = None
        self.source: source.SourceSchema | None = None
        self.plan: schema.Plan | None = None
        self.profile: Profile | None = None
        self._scans = None
        self._warm = None
        self._ahead = None
        self.models = None  # schema: django: the project's models as its Django sees them
        self.drift = django_names.Drift()
        self.django_schema: dict = {}  # what migrate built (validation's VA011 reference)
        self.results: list[dict] = []
        self.notes = Notes(empty=NOTES["nothing"])
        self.manual: list[dict] = []
        self.timezone = "UTC"
        self.keep_migrate_rows = settings.method == "loaddata"  # it keeps migrate's rows
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}
        self.run_id = f"{Path(settings.run_dir).name}-{uuid.uuid4().hex[:8]}"
        self.source_state: dict = {}  # the live source's state the snapshot holds
        self._lock: target_lock.TargetLock | None = None
        self.started_at = _now()
        self.finished_at = ""
        self._integrity: source.BackgroundCheck | None = None
        self.decisions: list | None = None  # types: data (type_inference), once scanned

    @property
    def writes(self) -> bool:
        return not self.settings.dry_run

    def connect(self):
        return db.connect(self.settings, autocommit=True)

    # -- 1. source ---------------------------------------------------------------------------
    def take_snapshot(self) -> Path:
        """Copy the source; PRAGMA integrity_check runs in the background until the end."""
        source.refuse_deleting_source(self.settings.sqlite_file, self.settings.run_dir)
        if self.writes and self.settings.schema == "django" and not self._ahead:
            self._ahead = self._start_migrate()  # Django starts up while the source is read
        self.source_state = {}
        self.snapshot = source.snapshot(self.settings.sqlite_file, self.settings.run_dir,
                                        check=False, state=self.source_state)
        self._integrity = source.BackgroundCheck(self.snapshot)
        return self.snapshot

    def _start_migrate(self):
        """`migrate` in the project's interpreter, waiting for `go`; it then describes the
        project's models (tables, columns, fields) as Django names them on PostgreSQL."""
        from ..core.django_models import SCRIPT
        from ..core.django_project import Ahead

        return Ahead(self.settings, "migrate", "--noinput", lazy_commit=True, then=SCRIPT)

    def close(self) -> None:
        """Let a `manage.py` started ahead exit without running (a step failed before it);
        release the target's lock."""
        if self._ahead:
            ahead, self._ahead = self._ahead, None
            ahead.cancel()
        if self._lock:
            lock, self._lock = self._lock, None
            lock.release()

    def source_moved(self) -> dict | None:
        """How the live source differs from the snapshot's state (None: it does not)."""
        return source_state.moved(self.source_state, self.settings.sqlite_file, self.snapshot,
                                  self.settings.run_dir)

    def wait_integrity(self) -> str:
        """Wait for the background PRAGMA integrity_check; the snapshot's SHA-256, or
        SourceError if it failed."""
        return self._integrity.result()

    def introspect(self) -> source.SourceSchema:
        self.source = source.introspect(self.snapshot, plain=self.settings.schema == "sqlite")
        return self.source

    def inspect(self):
        """Introspect the snapshot; the tables as a DataFrame."""
        import pandas as pd

        self.introspect()
        return pd.DataFrame([{"table": t.name, "rows": t.rows, "primary key": t.primary_key,
                              "without rowid": t.without_rowid, "autoincrement": t.autoincrement,
                              "sqlite_sequence": t.sequence, "foreign keys": len(t.foreign_keys),
                              "indexes": len(t.indexes)} for t in self.source.tables])

    # -- 2. plan -----------------------------------------------------------------------------
    def make_plan(self) -> schema.Plan:
        """The plan; with schema: sqlite and types: data the value profile runs now, so the
        types follow the values where the declarations lie (each decision is listed)."""
        self._check_mode()
        self.timezone = source_timezone(self.settings)
        self.plan = self._new_plan()
        self.manual = list(self.plan.followups)
        if self.settings.schema == "sqlite":
            self.drift = django_names.Drift(derived=list(self.plan.derived))
            for entry in self.plan.derived:
                self.drift.add("derived", entry["table"], "", sqlite_only.not_copied(entry))
            self._plan_notes()
        return self.plan

    def _new_plan(self, taken=()) -> schema.Plan:
        """schema.plan, with the types the values chose (scanned once per run)."""
        plan = schema.plan(self.source, self.settings, taken)
        s = self.settings
        if s.schema != "sqlite" or s.types != "data":
            return plan
        if self.decisions is None:  # a table the copy checks is profiled only if the cheap
            checkable = self._checkable(plan)  # scan of its storage classes finds a lie
            clean = type_inference.untouched(self.snapshot, _only(
                plan, lambda tp: tp.source_name in checkable), s.workers, s.type_overrides)
            rest = _only(plan, lambda tp: tp.source_name not in clean)
            self._scans = start(self.snapshot, rest, s.workers, overrides=s.type_overrides)
            self.decisions = type_inference.decide(rest, self._scans.counts(), s.type_overrides)
        type_inference.apply(plan, self.decisions)
        return plan

    def _checkable(self, plan) -> set[str]:
        """Tables whose values the first copy checks as it goes (`load_checks`), so that no
        value profile reads them first; none when the profile must run anyway."""
        s = self.settings
        if not (self.writes and s.data and s.method == "copy" and self.profile is None):
            return set()
        return transfer.checked_as_copied(plan, self.timezone)

    def _plan_notes(self) -> None:
        """The plan's changes a reader must see: types from values, shortened names."""
        if self.plan.decisions:
            cols = ", ".join(f"{d.table}.{d.column} → {d.target_type}"
                             for d in self.plan.decisions[:10])
            self._note("typed", n=len(self.plan.decisions), columns=cols)
        for name in self.source.collations:
            item = next(f for f in self.plan.followups if f["kind"] == "collation"
                        and f["name"] == name)
            warnings.warn(item["todo"], stacklevel=3)
            self.notes.append(item["todo"])
        short = [r for r in self.plan.renamed if r.get("shortened")]
        if short:
            self._note("shortened", n=len(short),
                       names=", ".join(f"{r['wanted'][:20]}… → {r['name']}" for r in short[:5]))

    @property
    def type_decisions(self):
        """types: data: the columns whose type follows their values, with the reason."""
        return type_inference.frame(self.plan.decisions if self.plan else [],
                                    self.settings.language)

    def _check_mode(self) -> None:
        """A Django database copied with schema: sqlite gets SQLite's declared types (UUIDs as
        text, durations as integers): said loudly, and refused in batch unless chosen."""
        s = self.settings
        if s.schema != "sqlite" or not any(tb.name == "django_migrations"
                                           for tb in self.source.tables):
            return
        text = t(MODE_WARNING, s.language, path=s.sqlite_file)
        if not s.django_project and not s.schema_given and batch_mode():
            raise MigrationError(text, t(MODE_HINT, s.language))
        warnings.warn(f"{text} {t(MODE_HINT, s.language)}", stacklevel=3)
        self.notes.append(text)

    # -- 3. target schema ----------------------------------------------------------------------
    def prepare_target(self) -> Notes:
        """Check the target is empty (or apply if_exists), create the schema, drop indexes."""
        if not self.writes:
            return Notes([t(NOTES["dry_run"], self.settings.language)])
        conn = None
        try:
            self._lock = target_lock.TargetLock(self.settings, self.run_id).acquire()
            conn = self.connect()
            self._preflight(conn)
            if self.settings.data and self.profile is None and self._scans is None:
                self._scans = (start_references(self.snapshot, self.plan, self.settings.workers)
                               if self._checkable(self.plan) else  # while the schema is built
                               start(self.snapshot, self.plan, self.settings.workers,
                                     django=self.settings.schema == "django",
                                     overrides=self.settings.type_overrides))
            if self.settings.data and self.settings.method == "copy" and transfer.ARROW:
                self._warm = transfer.transfer_binary.prewarm()
            self._record(completed=False)
            self._clear_target(conn)
            target.start_run(conn, self._run_id(), [t.name for t in self.plan.tables],
                             self.section(completed=False))
            created = self._create_schema(conn)
            self._bind_types(conn)
            filled = [] if self.keep_migrate_rows else target.empty(
                conn, [t.name for t in self.plan.tables])
            target.truncate(conn, filled)
            if filled:
                self._note("emptied", n=len(filled), tables=", ".join(filled))
            existing = [t.name for t in self.plan.tables if t.name not in created]
            drops, steps = postload.capture(conn, existing) if existing else ([], [])
            with conn.cursor() as cur:
                for sql in drops:
                    cur.execute(sql)
            keep = [s for s in self.plan.steps if s.table in created or s.kind == "optional"
                    and self.settings.schema == "sqlite"]
            self.plan.steps = steps + keep
            if self.settings.schema == "django":  # Django's migrate made these tables' rest
                self.manual = [f for f in self.manual if f["kind"] not in derived.TABLE_KINDS
                               or f["table"] in created]
        except BaseException:
            if self._scans:  # queued scans are dropped; a running one ends on its own
                self._scans.scan.cancel()
            self.close()
            raise
        finally:
            if conn is not None:
                conn.close()
        return self.notes

    def _note(self, key: str, **values) -> None:
        self.notes.append(t(NOTES[key], self.settings.language, **values))

    def intent(self):
        """One sentence: will the cells below write the target, or is this a dry run?"""
        key = "intent_write" if self.writes else "intent_dry"
        return sentence(t(NOTES[key], self.settings.language, db=self.settings.db_name,
                          mode=self.settings.if_exists))

    def _run_id(self) -> str:
        return self.run_id

    def _existing(self, conn) -> tuple[list[str], list[str], list]:
        """Tables of the target this run would clear, those holding rows, unfinished runs."""
        have = target.existing_tables(conn)
        mine = [t.name for t in self.plan.tables]
        relevant = list(have) if self.settings.schema == "django" else [t for t in mine
                                                                          if t in have]
        return relevant, [t for t in relevant if have[t]], target.unfinished_runs(conn)

    def _preflight(self, conn) -> None:
        """Everything that would stop the run, before the target is changed: overrides the
        server must know, names already taken, and, when existing rows would be dropped or
        emptied, the snapshot's integrity and (schema: sqlite) its values."""
        target.check_types(conn, self.settings.type_overrides)
        if self.settings.schema == "sqlite":
            taken = target.foreign_relations(conn, [t.name for t in self.plan.tables])
            if taken:  # names the target keeps: the plan goes around them
                self.plan = self._new_plan(taken)
                self.manual = list(self.plan.followups)
        _, non_empty, unfinished = self._existing(conn)
        if not non_empty or (self.settings.if_exists == "fail" and not unfinished):
            return
        self.wait_integrity()
        if self.settings.data and self.settings.schema == "sqlite":
            self.profile = profile(self.snapshot, self.plan, self.settings.on_bad_value,
                                   self.settings.run_dir, self.settings.workers, self._scans,
                                   self.settings)
            self._scans = None
            if self.profile.blocking:
                raise self.profile.error(t(NOTES["unchanged"], self.settings.language))
        self._note("preflight_values" if self.profile else "preflight")

    def _clear_target(self, conn) -> None:
        relevant, non_empty, unfinished = self._existing(conn)
        mode = self.settings.if_exists
        if unfinished:
            self._note("unfinished", run=unfinished[0][0])
            mode = "replace"
        elif non_empty and mode == "fail":
            target.refuse_non_empty(non_empty, self.settings.dsn())
        if mode == "replace" or (self.settings.schema == "sqlite" and not non_empty):
            target.drop(conn, relevant)
            if relevant:
                self._note("dropped", n=len(relevant), mode=mode)
        elif non_empty:
            target.truncate(conn, non_empty)
            self._note("truncated", n=len(non_empty))

    def _migrate(self, conn) -> None:
        """Django's `migrate` builds the schema; the plan is then reconciled with it."""
        from ..core import django_models

        ahead, self._ahead = self._ahead, None
        if not (ahead and ahead.fresh()):  # none, or started before a pause long enough to
            if ahead:                      # edit the project
                ahead.cancel()
            ahead = self._start_migrate()
        self.models = django_models.parse(ahead.run().stdout)
        self.django_schema = django_names.catalogue(conn)
        sqlite_side = None
        if any(len(t.name) > 63 or len(t.name.encode()) > 63 for t in self.source.tables):
            sqlite_side = django_models.describe(self.settings, "sqlite", self.snapshot)
        self.drift = django_names.reconcile(self.plan, conn, str(self.snapshot), self.models,
                                            sqlite_side)
        self.manual = list(self.plan.followups)  # derived search machinery is named as such

    def _create_schema(self, conn) -> set[str]:
        if self.settings.schema == "django":
            self._migrate(conn)
        have = target.existing_tables(conn)
        if self.settings.schema == "django":  # tables Django does not make keep SQLite's names
            schema.refuse_long(self._long_names(have))
        created = set()
        with conn.cursor() as cur:
            for tp, sql in zip(self.plan.tables, self.plan.create, strict=True):
                if tp.name not in have:
                    cur.execute(sql)
                    created.add(tp.name)
        if self.settings.schema == "django" and created:
            self._note("not_django", n=len(created), tables=", ".join(sorted(created)))
        return created

    def _long_names(self, have) -> list[str]:
        """Over-long names of the tables the runbook creates from their SQLite definition."""
        from ..core.identifiers import too_long

        mine = [tp for tp in self.plan.tables if tp.name not in have]
        names = [tp.name for tp in mine] + [c.name for tp in mine for c in tp.columns]
        names += [s.name for s in self.plan.steps if s.table in {tp.name for tp in mine}]
        return [n for n in names if too_long(n)]

    def _bind_types(self, conn) -> None:
        for tp in self.plan.tables:
            types = target.column_types(conn, tp.name)
            for col in tp.columns:
                if col.name not in types:
                    raise MigrationError(ERRORS["no_target_column"],
                                         ERRORS["no_target_column_fix"], table=tp.name,
                                         column=col.name)
                col.target_type = types[col.name]

    # -- 4. data -------------------------------------------------------------------------------
    def check_values(self) -> Profile | Notes:
        """Bad values per column and dangling references, found before any COPY."""
        if not self.writes or not self.settings.data:
            key = "skip_dry_run" if not self.writes else "skip_schema_only"
            return Notes([t(NOTES[key], self.settings.language)])
        checkable = self._checkable(self.plan) if self.profile is None else set()
        if checkable:
            self.profile = self._profile_before_copy(checkable)
        if self.profile is None or self._scans:  # else profiled before the target was cleared
            self._profile_all()
        self._scans = None
        return self.profile

    def _profile_all(self) -> Profile:
        """The value profile of every table before any COPY."""
        self.profile = profile(self.snapshot, self.plan, self.settings.on_bad_value,
                               self.settings.run_dir, self.settings.workers, self._scans,
                               self.settings)
        self._scans = None
        return self.profile

    def _profile_before_copy(self, checked: set[str]) -> Profile | None:
        """The profile of the tables the copy cannot check and every foreign key; None when
        anything is bad there (the full profile then runs). The values of the `checked`
        tables are checked as they are copied (`load_checks`)."""
        s, pending, self._scans = self.settings, self._scans, None
        full = pending if isinstance(pending, Pending) and not pending.references else None
        references = (pending if isinstance(pending, Pending) and pending.references else
                      start_references(self.snapshot, self.plan, s.workers))
        rest = _only(self.plan, lambda tp: tp.source_name not in checked)
        found = profile(self.snapshot, rest, s.on_bad_value, s.run_dir, s.workers, full, s)
        if found.bad or any(any(per.values()) for per in references.counts().values()):
            return None
        found.deferred = sorted(tp.name for tp in self.plan.tables if tp.source_name in checked)
        return found

    def load(self):
        """COPY every table (workers in parallel); the per-table summary."""
        try:
            return self._load()
        except BaseException:  # the run is over: the target's lock goes
            self.close()
            raise

    def _load(self):
        if not self.writes or not self.settings.data:
            key = "skip_dry_run" if not self.writes else "skip_schema_only"
            return Notes([t(NOTES[key], self.settings.language)])
        if self.profile is None:
            self.check_values()
        if self.profile.blocking:
            raise self.profile.error(t(NOTES["not_copied"], self.settings.language))
        if self.settings.method != "copy":
            return methods.load(self)
        began = time.perf_counter()
        if self._warm:  # no thread may be importing when the workers are forked
            self._warm.join()
        if self.profile.deferred:
            strict = {tp.source_name for tp in self.plan.tables
                      if tp.name in self.profile.deferred}
            try:
                return self._copy(began, strict)
            except transfer.Unchecked as exc:  # a value refused the copy: profile, then again
                self._profile_again(exc)
        return self._copy(began)

    def _profile_again(self, exc: RunbookError) -> None:
        """A copy checked as it went stopped: empty the target, profile every table (the
        rows are named, `on_bad_value` applies), and refuse under `fail` as before."""
        self._note("checked_again", reason=escape.terminal(exc.message_in(
            self.settings.language))[:300])
        conn = self.connect()
        try:
            target.truncate(conn, [tp.name for tp in self.plan.tables])
        finally:
            conn.close()
        self._profile_all()
        if self.profile.blocking:
            raise self.profile.error(t(NOTES["undone"], self.settings.language))

    def _copy(self, began: float, strict: set[str] = frozenset()):
        jobs = transfer.jobs_for(str(self.snapshot), self.plan, self.profile.filters,
                                 self.settings.workers, self.timezone, strict)
        kwargs = db.connect_kwargs(self.settings)
        try:
            with _Bars(self.plan, self.profile, self.progress) as bars:
                self.results = transfer.run_jobs(jobs, str(self.snapshot), kwargs,
                                                 self.timezone, self.settings.workers,
                                                 bars.update)
        except transfer.BadRows as exc:  # safety net: PostgreSQL refused what the profile passed
            raise MigrationError(ERRORS["copy_stopped"], ERRORS["copy_stopped_fix"],
                                 error=exc.texts[0]) from None
        self._check_counts()
        return transfer.summary_frame(transfer.summarise(self.results),
                                      time.perf_counter() - began)

    def _expected(self, tp) -> int:
        flt = self.profile.filters.get(tp.source_name)
        return tp.source.rows - (flt.quarantined if flt else 0)

    def _check_counts(self) -> None:
        loaded = {s.table: s.rows for s in transfer.summarise(self.results)}
        wrong = [fill(ERRORS["counts_differ_item"], table=tp.name, loaded=loaded.get(tp.name, 0),
                      expected=self._expected(tp))
                 for tp in self.plan.tables if loaded.get(tp.name, 0) != self._expected(tp)]
        if wrong:
            raise MigrationError(ERRORS["counts_differ"], ERRORS["counts_differ_fix"],
                                 tables=joined(wrong))

    # -- 5. post-load ----------------------------------------------------------------------------
    def finish(self) -> list[dict]:
        """Keys, indexes, FKs, sequences, ANALYZE; mark the run finished; write the manifest.

        The snapshot's integrity check runs on alongside (it fills the cores the index builds
        leave idle); the run is marked finished only once it passed, so a corrupt snapshot
        leaves an unfinished run that the next one redoes. The target's lock is released."""
        try:
            return self._finish()
        finally:
            self.close()

    def _finish(self) -> list[dict]:
        if not self.writes:
            return []
        names = [t.name for t in self.plan.tables]
        sizes = {t.name: t.source.rows for t in self.plan.tables}
        try:
            self.manual += postload.apply(self.connect, self.plan.steps, self.settings.workers,
                                          sizes, analyze=names, language=self.settings.language)
        except postload.DanglingReferences as exc:
            from .profile import dangling

            dangling(self.snapshot, self.plan, exc.table)
            raise
        conn = self.connect()
        try:
            sequences = postload.set_sequences(conn, self.plan)
            began = time.perf_counter()
            sha = self.wait_integrity()
            self.timings["integrity wait"] = round(time.perf_counter() - began, 3)
            self.finished_at = _now()
            target.finish_run(conn, self._run_id(), self.section(completed=True), sha)
        finally:
            conn.close()
        self._record(completed=True)
        return sequences

    # -- manifest --------------------------------------------------------------------------------
    def section(self, completed: bool) -> dict:
        """The migration's record: also kept in the target (`core.state`), for later runs."""
        loaded = {s.table: s.rows for s in transfer.summarise(self.results)}
        filters = self.profile.filters if self.profile else {}
        tables = []
        for tp in self.plan.tables:
            flt = filters.get(tp.source_name)
            tables.append({"table": tp.name, "source_table": tp.source_name,
                           "source_rows": tp.source.rows, "loaded_rows": loaded.get(tp.name, 0),
                           "quarantined": flt.quarantined if flt else 0,
                           "quarantine_file": flt.file if flt else "",
                           "nulled": self._nulled(tp.name, flt),
                           "primary_key": tp.primary_key,
                           "columns": [{"name": c.name, "source_name": c.source_name,
                                        "source_type": c.source_type,
                                        "target_type": c.target_type,
                                        **({"field": c.field} if c.field else {})}
                                       for c in tp.columns]})
        return {"run_id": self.run_id, "started": self.started_at,
                "finished": self.finished_at if completed else "",
                "source": str(self.settings.sqlite_file), "target": self.settings.dsn(),
                "snapshot": str(self.snapshot),
                "snapshot_sha256": self._integrity.sha256 if self._integrity else "",
                "schema": self.settings.schema,
                "method": self.settings.method, "source_timezone": self.timezone,
                "completed": completed, "data": self.settings.data,
                "on_bad_value": self.settings.on_bad_value,
                "quarantine_dir": self.profile.quarantine_dir if self.profile else "",
                "manual_followups": self.manual, "notes": self.notes, "tables": tables,
                "drift": self.drift.rows, "derived": self.drift.derived,
                "django_schema": self.django_schema,
                "source_state": {"path": str(self.settings.sqlite_file),
                                 "state": self.source_state},
                "renamed": self.plan.renamed, "name_map": self.plan.name_map,
                "bad_values": self.profile.listing() if self.profile else [],
                "checked_while_copied": list(self.profile.deferred) if self.profile else [],
                "type_decisions": type_inference.as_dicts(self.plan.decisions)}

    def _nulled(self, table: str, flt) -> int:
        """Values of `table` loaded as NULL (on_bad_value: null): an upper bound of its rows."""
        if not flt or not flt.null_columns:
            return 0
        return sum(b.count for b in self.profile.bad if b.table == table
                   and all(c in flt.null_columns for c in b.column.split(", ")))

    def _record(self, completed: bool) -> dict:
        value = self.section(completed)
        manifest.update(self.settings.run_dir, "migration", value)
        return value

    def result(self, summary=None) -> MigrationResult:
        self.wait_integrity()
        section = self.section(bool(self.writes and self._finished()))
        return MigrationResult(section, summary, time.perf_counter() - self.started,
                               not self.writes, self.notes)

    def _finished(self) -> bool:
        return bool(manifest.read(self.settings.run_dir).get("migration", {}).get("completed"))


def _only(plan: schema.Plan, keep) -> schema.Plan:
    """The plan of those of its tables `keep(table_plan)` is true for."""
    pairs = [(tp, sql) for tp, sql in zip(plan.tables, plan.create, strict=True) if keep(tp)]
    return dataclasses.replace(plan, tables=[tp for tp, _ in pairs],
                               create=[sql for _, sql in pairs])


class _Bars:
    """tqdm.auto bars: one overall, one per table (only for tables with rows)."""

    def __init__(self, plan, prof: Profile, enabled: bool) -> None:
        # Under `runbook run` nobody watches the bars, and the executed notebook would keep a
        # widget frozen at 0 %: the summary table after the load says it all.
        self.enabled = enabled and not batch_mode()
        self.plan, self.prof = plan, prof
        self.bars: dict = {}

    def __enter__(self):
        if not self.enabled:
            return self
        from tqdm.auto import tqdm

        total = sum(t.source.rows for t in self.plan.tables)
        self.bars["*"] = tqdm(total=total, desc="all tables", unit=" rows", position=0)
        big = [t for t in self.plan.tables if t.source.rows][:12]
        for i, tp in enumerate(big, 1):
            self.bars[tp.name] = tqdm(total=tp.source.rows, desc=escape.label(tp.name),
                                      unit=" rows", position=i, leave=True)
        return self

    def update(self, table: str, rows: int) -> None:
        for key in ("*", table):
            if key in self.bars:
                self.bars[key].update(rows)

    def __exit__(self, *exc) -> None:
        for bar in self.bars.values():
            bar.close()


def run(settings, progress: bool = True) -> MigrationResult:
    """The whole migration: every step of notebook 03 in order, each one timed."""
    if settings.method == "pgloader":
        methods.check_available()
    m = Migration(settings, progress)
    first = [("snapshot", m.take_snapshot), ("introspect", m.introspect), ("plan", m.make_plan)]
    rest = [("schema", m.prepare_target), ("profile", m.check_values), ("load", m.load),
            ("post-load", m.finish)]
    summary = None
    try:
        for name, step in first + ([] if settings.dry_run else rest):
            began = time.perf_counter()
            out = step()
            m.timings[name] = round(time.perf_counter() - began, 3)
            summary = out if name == "load" else summary
    finally:
        m.close()
    result = m.result(summary)
    result.timings = dict(m.timings)
    return result
