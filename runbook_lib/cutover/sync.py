"""Catch-up sync: bring the migrated PostgreSQL target to a fresh snapshot of the live SQLite file.

`sync(settings)` reads the migration the target holds (`core.state`), takes a WAL-safe snapshot
(SQLite's backup API) into a private folder `<run_dir>/sync/<token>/`, refuses a schema that
changed since stage 03 (SY002) or an `on_bad_value` that would not apply to rows already loaded
(SY007), and finds per table what changed (`sync_find`): key-range digests of the new snapshot,
the previous one (the snapshot the record names; its digests as the last sync recorded them,
or for the first sync as stage 04 left them when it proved that snapshot: `validate.handover`)
and the target (not read where nothing wrote to it since that proof); the differing chunks narrowed to keys by the two snapshots' row hashes
(`validate.row_hash`: the previous one's recorded by the last sync) or, for a few chunks
without them, by joining the two snapshots (`sync_keys`). Where the target differs from the
previous snapshot, the previous snapshot's converted rows are compared with it row by row: rows
written on PostgreSQL stop the sync (SY003, listed) unless `overwrite`. Tables that cannot be
digested are staged whole; tables without a key are compared as multisets.

Everything is applied in ONE transaction (`sync_transaction`, its SQL in `sync_apply`), with
the bulk copy's value conversion and `on_bad_value` handling, then the sequences; the
migration's record is rewritten in that transaction to name the new snapshot
(`state.resnapshot`), so a killed sync leaves the target and its record as they were, and
stage 04 validates exactly what the sync saw. After the commit the rows written are re-read and
compared code by code with the snapshot (or the changed chunks digested again): the proof; the
new snapshot's digests and row hashes are recorded for the next sync. A second sync with no new
writes changes nothing. What it says: `sync_report`; `runbook sync`: `sync_cli`.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ..core import db, files, manifest, state, target_lock
from ..core.escape import terminal
from ..core.i18n import t
from ..core.identifiers import quote_ident
from ..migrate import quarantine, schema_changes, snapshot, snapshot_schema, table_plans
from ..validate import handed_over
from .sync_find import ahead, before_apply, find, prove, save_rows, threshold
from .sync_report import TEXT, SyncError, SyncReport, TableSync
from .sync_transaction import apply

__all__ = ["sync", "SyncReport", "TableSync", "SyncError", "TEXT"]

STATE = state.STATE
FOLDER = "sync"
_SYNCS = (f"CREATE TABLE IF NOT EXISTS {STATE}.syncs (token text PRIMARY KEY, run_id text, "
          "synced_at timestamptz NOT NULL DEFAULT clock_timestamp(), snapshot text NOT NULL, "
          "report jsonb, digests jsonb)")
_TOKEN = re.compile(r"[0-9a-f]{16}")


# -- the migration and the previous snapshot ---------------------------------------------------
def _migration(settings):
    """The migration the target holds (`core.state`), completed, with its tables."""
    record = state.current(settings)
    if record is None or not record.completed or not record.section.get("tables"):
        lang = settings.language
        raise SyncError(t(TEXT["no_migration"], lang, run_dir=settings.run_dir),
                        t(TEXT["no_migration_hint"], lang))
    return record


def _meanwhile(name: str, work, *args) -> Future:
    """`work(*args)` in a thread of its own while the sync goes on; its future."""
    pool = ThreadPoolExecutor(1, thread_name_prefix=name)
    try:
        return pool.submit(work, *args)
    finally:
        pool.shutdown(wait=False)


def _last_sync(cur, record) -> dict:
    """The digests the last sync recorded, if the target still holds its snapshot; else those
    stage 04 left beside that snapshot when it validated it (`validate.handover`)."""
    cur.execute("SELECT to_regclass(%s)", (f"{STATE}.syncs",))
    if cur.fetchone()[0] is not None:
        cur.execute(f"SELECT snapshot, digests FROM {STATE}.syncs WHERE run_id IS NOT DISTINCT "
                    "FROM %s ORDER BY synced_at DESC LIMIT 1", (record.run_id,))
        row = cur.fetchone()
        if row and row[0] == record.snapshot and isinstance(row[1], dict):
            return row[1]
    return handed_over(cur, record.snapshot, record.run_id, record.snapshot_sha256)


def _previous(settings, record) -> Path:
    """The snapshot the target holds: stage 03's, or the last committed sync's."""
    path = Path(record.snapshot or "")
    if not path.is_file():
        lang = settings.language
        raise SyncError(t(TEXT["previous"], lang, path=path), t(TEXT["previous_hint"], lang))
    return path


# -- applying the changes ---------------------------------------------------------------------
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
    new_sha256 = _meanwhile("sha256", state.sha256, new)  # for the record, during the digests
    schema = snapshot_schema(new, section)
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
            cached = _last_sync(cur, record)
        conn.rollback()
        old = _previous(settings, record)
        types, where = _types(conn, section["tables"])
        plans = (table_plans(section, schema, types),
                 table_plans(section, snapshot_schema(old, section), types))
        rows = {tb.name: tb.rows for tb in schema.tables}
        step = time.perf_counter()
        works = find(settings, conn, new, old, section, types, rows, where, cached)
        for w in works:
            w.result = TableSync(w.table, method=w.method, reason=w.reason,
                                 target_read=w.target_read, narrowed=w.narrowed_by,
                                 previous_read=w.previous_read, reused=w.reused,
                                 chunks=w.cut.count if w.cut is not None else 0)
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

            state.resnapshot(cur, record.run_id, now, new_sha256.result())
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {STATE}")
            cur.execute(_SYNCS)
            cur.execute(f"INSERT INTO {STATE}.syncs (token, run_id, snapshot, report) VALUES "
                        "(%s, %s, %s, %s)", (token, record.run_id, str(new),
                                             json.dumps(report.as_dict(), default=str)))

        written_since = before_apply(settings, works)
        codes = ahead(new, works)
        saving = _meanwhile("row-hashes", save_rows, folder, new, works)  # read once committed
        report.overwritten = apply(conn, works, plans, (new, old), settings, zone, overwrite,
                                    bookkeeping, before)
        timings["apply"] = round(time.perf_counter() - step, 3)
    step = time.perf_counter()
    oldest = threshold(settings)
    recorded, report.unproven = prove(settings, works, overwrite, new, written_since, codes)
    report.proven = [w.table for w in works if w.method == "digests"
                     and w.table not in report.unproven]
    for w in works:
        w.result.proved = w.proved_by
    _save_digests(settings, token, {"threshold": oldest, "tables": recorded})
    saving.result()
    timings["proof"] = round(time.perf_counter() - step, 3)
    report.seconds = time.perf_counter() - began
    _history(settings, report)
    _clean(root, token)
    return report


# -- `runbook sync` ----------------------------------------------------------------------------
