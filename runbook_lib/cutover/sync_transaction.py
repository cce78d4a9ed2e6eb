"""The one transaction of a catch-up sync: divergence checked, changed rows staged, applied.

`apply` checks the target against the previous snapshot where they differ (rows written on
PostgreSQL stop it, SY003, unless `overwrite`), stages the new snapshot's changed rows through
the bulk copy's conversion (`migrate.stage_rows`, `on_bad_value`), deletes children first,
inserts and updates parents first (rows swapping unique values as delete-then-insert), checks
the foreign keys, moves the sequences and runs the caller's bookkeeping, then commits; on any
error it rolls back, so the target is as it was.
"""

from __future__ import annotations

import uuid

import psycopg2
import psycopg2.errors

from ..core.escape import terminal
from ..core.i18n import t
from ..core.identifiers import quote_ident
from ..core.secrets import scrub
from ..core.sqlite_quirks import open_ro
from ..migrate import bad_rows, fail_error, move_sequences, stage_rows, sync_filter
from . import sync_apply
from .sync_find import Work
from .sync_report import TEXT, SyncError

__all__ = ["apply"]


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


def apply(conn, works: list[Work], plans: tuple, snapshots: tuple, settings, zone: str,
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
