"""Finding what a sync must carry, table by table, and proving it afterwards.

Per table with one integer key: digests of the new snapshot, the previous one (recorded by the
last sync or by stage 04, else read) and the target (not read when `untouched` since that
record's proof) over the same key chunks (`validate.chunk_digests`). The
chunks where the snapshots differ are narrowed to keys by joining the two snapshots in SQLite
(`sync_keys`); the chunks where the target differs from the previous snapshot are checked row by
row for writes made on PostgreSQL. Other tables are compared whole. After the commit, the
target's digests of the applied chunks are computed again and compared with the new snapshot's:
with the unchanged chunks (equal before), every chunk of the table is then proven equal by the
canonical codes validation uses.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from ..core import db
from ..core.identifiers import quote_ident
from ..validate import (
    HANDED_ROW_HASHES,
    DigestSessions,
    Unfit,
    changed_chunks,
    changed_keys,
    chunk_digests,
    compare_pages,
    digest_record,
    previous_row_hashes,
    row_codes,
    row_hashes,
    rows_differ,
    save_row_hashes,
    spec_of,
    target_chunks,
)
from . import sync_keys

__all__ = ["Work", "find", "ahead", "prove", "threshold", "untouched", "save_rows",
           "before_apply"]


@dataclass
class Work:
    """One table: how it is compared, what to stage and delete, what to check for divergence."""

    entry: dict
    spec: object
    method: str = "digests"  # digests | whole | multiset
    reason: dict = field(default_factory=dict)
    keys: list[int] | None = None  # keys to stage from the new snapshot (None: every row)
    gone: list[int] = field(default_factory=list)  # keys deleted from the source
    check: list | None = None  # key ranges where the target differs from the previous snapshot
    cut: object = None
    now: object = None  # the new snapshot's digests
    applied: list[int] = field(default_factory=list)  # chunks the sync changes
    checked_chunks: list[int] = field(default_factory=list)
    result: object = None  # the TableSync the sync reports
    seconds: dict = field(default_factory=dict)  # digests, narrowing
    target_read: bool = True  # False: untouched since the last sync's proof, not read again
    previous_read: bool = True  # False: the previous snapshot's recorded digests (and row
    #                             hashes, if narrowed by them) were enough: not read again
    rows: object = None  # the new snapshot's row hashes (`row_hash`), recorded for the next sync
    narrowed_by: str = ""  # "row hashes" | "join": how the changed chunks became keys
    since: tuple | None = None  # (oldest transaction, rows) when found untouched (`untouched`)
    proved_by: str = ""  # "rows" | "chunks": how `prove` checked what the sync wrote
    reused: int = 0  # chunks unchanged page by page since the previous snapshot: not read

    @property
    def table(self) -> str:
        return self.entry["table"]

    @property
    def busy(self) -> bool:
        """Anything to stage, delete or check?"""
        return self.keys is None or bool(self.keys or self.gone or self.check)


OLDEST = "SELECT txid_snapshot_xmin(txid_current_snapshot())"  # the oldest transaction running
# a table's rows, its row versions from transactions at or after a threshold, and OLDEST
UNTOUCHED = ("SELECT count(*), count(*) FILTER (WHERE age(xmin) <= age(%s::text::xid)), "
             "txid_snapshot_xmin(txid_current_snapshot()) FROM {table}")


def untouched(conn, table: str, cached: dict | None, threshold: int | None
              ) -> tuple[int, int] | None:
    """Does the target table still hold exactly what the last sync (or stage 04) proved? Its
    row count is the recorded one and no row version is from a transaction that was running
    at or after the proof began (`threshold`: the oldest transaction then running): an insert
    or update makes a new row version, a delete changes the count. Then it need not be read
    again, and (the oldest transaction running now, the row count) is returned: what the
    proof after the commit starts from (`prove`); else None."""
    if not cached or not cached.get("target_equal") or threshold is None:
        return None
    with conn.cursor() as cur:
        cur.execute(UNTOUCHED.format(table=quote_ident(table)), (str(threshold % 2 ** 32),))
        rows, newer, oldest = cur.fetchone()
    conn.rollback()  # a threshold ahead of this server's transactions is from elsewhere
    if rows == cached.get("rows") and newer == 0 and threshold <= oldest:
        return int(oldest), rows
    return None


def _one(pair, new: Path, old: Path, sessions, entry: dict, spec, rows: int,
         cached: dict | None, seen: Future | None = None, hashed=None, compared=None) -> Work:
    """One table's work; `seen`: `untouched`, running meanwhile (None: the target is read);
    `compared`: the two snapshots page by page (`compare_pages`), or None."""
    work = Work(entry, spec)
    began = time.perf_counter()
    if not spec.key:
        work.method, work.target_read, work.previous_read = "multiset", True, True
        return work
    recorded, hasher = hashed(spec) if hashed else (None, None)
    try:
        cut, (now, before, target), work.previous_read = chunk_digests(
            str(new), str(old), sessions, spec, rows, cached,
            (lambda: seen.result() is not None) if seen else None, hasher, recorded,
            compared)
        work.target_read = work.previous_read or not seen or seen.result() is None
        work.since = None if work.target_read else seen.result()
        work.cut, work.now, work.rows = cut, now, now.row_hashes
        work.reused = now.reused
        work.seconds["digests"] = time.perf_counter() - began
        work.applied = changed_chunks(now, before)
        work.checked_chunks = changed_chunks(target, before)
        work.check = cut.ranges(work.checked_chunks)
        work.keys, work.gone = _narrow(pair, work, old, rows, before.row_hashes or recorded,
                                       hasher)
    except Unfit as exc:
        work.method, work.reason, work.target_read, work.previous_read = ("whole", exc.text,
                                                                          True, True)
        work.keys, work.gone, work.check, work.rows = None, [], None, None
        return work
    work.seconds["narrowing"] = time.perf_counter() - began - work.seconds["digests"]
    return work


def _narrow(pair, work: Work, old: Path, rows: int, before, hasher) -> tuple[list, list]:
    """The changed chunks' keys: from the row hashes of both snapshots (the previous one's
    recorded by the last sync, or read now when most chunks changed), else by joining the
    two snapshots (few chunks changed)."""
    if not work.applied:
        return [], []
    cut, spec = work.cut, work.spec
    ranges = cut.ranges(work.applied)
    if before is None and hasher is not None and len(work.applied) * 4 > max(cut.count, 1):
        work.previous_read = True
        try:
            before = row_hashes(str(old), spec, cut, rows, hasher)
        except Unfit:  # the previous snapshot's values do not digest: join instead
            before = None
    if before is not None and work.rows is not None:
        work.narrowed_by = "row hashes"
        return changed_keys(before, work.rows, ranges)
    work.narrowed_by, work.previous_read = "join", True
    return sync_keys.changed(pair, spec.source_table, spec.columns[0].source_name,
                             [c.source_name for c in spec.columns], ranges)


def find(settings, conn, new: Path, old: Path, section: dict, types: dict, rows: dict,
         where: str, cached: dict) -> list[Work]:
    """Every migrated table's work, in the migration's load order (`cached`: the digests the
    last sync recorded, table → record, and its `threshold`)."""
    threshold = cached.get("threshold")
    tables = cached.get("tables") or {}
    zone = section.get("source_timezone") or settings.source_timezone or "UTC"
    specs = [(e, spec_of(e, types[e["table"]], where, zone)) for e in section["tables"]]
    handed = cached.get("row_hashes")  # stage 04's record names its row hashes by their seed
    hashed = previous_row_hashes(str(old), *((HANDED_ROW_HASHES, handed) if handed is not None
                                             else ()))
    compared = compare_pages(old, new) if tables else None  # what the app left as it was
    with closing(DigestSessions(db.connect_kwargs(settings), settings.workers)) as sessions, \
            closing(sync_keys.open_pair(new, old)) as pair:
        try:
            with ThreadPoolExecutor(1, thread_name_prefix="untouched") as checks:
                seen = {e["table"]: checks.submit(untouched, conn, e["table"],
                                                  tables.get(e["table"]), threshold)
                        for e, _ in specs}  # while digesting
                return [_one(pair, new, old, sessions, e, s, rows[e["source_table"]],
                             tables.get(e["table"]), seen[e["table"]], hashed, compared)
                        for e, s in specs]
        finally:
            if compared is not None:
                compared.close()


def save_rows(folder: Path, snapshot: Path, works: list[Work]) -> None:
    """The new snapshot's row hashes beside it, for the next sync."""
    save_row_hashes(folder, str(snapshot), {w.table: (w.spec, w.rows) for w in works
                                            if w.method == "digests" and w.rows is not None})


def threshold(settings) -> int:
    """The oldest transaction running now (taken before the proof reads the target): any
    later write to the target has a row version from it or a newer one."""
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute(OLDEST)
        return int(cur.fetchone()[0])


ROW_PROOF_MAX = 100_000  # keys written beyond this: the changed chunks are digested again


def before_apply(settings, works: list[Work]) -> dict[str, tuple[int, int]]:
    """Per table `prove` will prove by rows: the oldest transaction running and its row count,
    taken in one snapshot before the sync's transaction, or when `find` saw it untouched
    (then no scan is needed now, and a write by anyone else since then leaves it unproven)."""
    out = {w.table: w.since for w in works if w.method == "digests" and _by_rows(w)
           and w.since is not None}
    todo = [w for w in works if w.method == "digests" and _by_rows(w) and w.table not in out]
    if not todo:
        return out
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cur.execute(OLDEST)
        since = int(cur.fetchone()[0])
        for w in todo:
            cur.execute(f"SELECT count(*) FROM {quote_ident(w.table)}")
            out[w.table] = since, cur.fetchone()[0]
    return out


def _alone(conn, w: Work, since: int, count: int) -> bool:
    """Did only the sync write this table since `since`? Its row count is the one before
    plus the rows inserted less those deleted, and the row versions written since are
    exactly the rows it inserted or updated (another writer's insert, update or delete would
    break one of the two)."""
    with conn.cursor() as cur:
        cur.execute(UNTOUCHED.format(table=quote_ident(w.table)), (str(since % 2 ** 32),))
        rows, newer, _ = cur.fetchone()
    conn.rollback()
    r = w.result
    return rows == count + r.inserted - r.deleted and newer == r.inserted + r.updated


def ahead(new: Path, works: list[Work]) -> dict:
    """Started before the sync's transaction: the new snapshot's codes of the rows `prove`
    will compare, computed in a thread while PostgreSQL applies (table → Future)."""
    pool = ThreadPoolExecutor(1, thread_name_prefix="row-codes")
    try:
        return {w.table: pool.submit(row_codes, str(new), w.spec, w.keys + w.gone)
                for w in works if w.method == "digests" and _by_rows(w)}
    finally:
        pool.shutdown(wait=False)


def prove(settings, works: list[Work], overwrite: bool, new: Path,
          before: dict | None = None, codes: dict | None = None) -> tuple[dict, list[str]]:
    """After the commit: what the sync wrote against the new snapshot. Where the changed
    chunks were narrowed to keys and the target matched the previous snapshot everywhere
    before, the rows at those keys are re-read and compared code by code (`rows_differ`),
    and the table's row count and row versions show that nothing else wrote to it since
    `before` (`before_apply`): every other row was equal in both snapshots and on the target,
    so every chunk then has the new snapshot's digest. Otherwise the changed chunks' digests
    are computed again. Returns the digests to record for the next sync and the tables still
    differing (values `on_bad_value` turned NULL or set aside, or a write during the sync)."""
    recorded, differ = {}, []
    before = before or {}
    by_rows = [w for w in works if w.method == "digests" and _by_rows(w) and w.table in before]
    with closing(DigestSessions(db.connect_kwargs(settings), settings.workers)) as sessions, \
            db.connection(settings) as conn, ThreadPoolExecutor(1) as pool:
        alone = pool.submit(lambda: {w.table: _alone(conn, w, *before[w.table])
                                     for w in by_rows})  # their scans while rows are compared
        for w in works:
            if w.method != "digests":
                continue
            if w.table in {x.table for x in by_rows}:
                w.proved_by = "rows"
                mine = (codes or {}).get(w.table)
                same = (not rows_differ(str(new), sessions, w.spec, w.keys + w.gone,
                                        mine.result() if mine else None)
                        and alone.result()[w.table])
                unchanged = set()
            else:
                w.proved_by = "chunks"
                chunks = sorted(set(w.applied) | (set(w.checked_chunks) if overwrite else set()))
                after = target_chunks(sessions, w.spec, w.cut, chunks) if chunks else None
                same = after is None or all(after.chunks.get(c) == w.now.chunks.get(c)
                                            for c in chunks)
                unchanged = set(w.checked_chunks) - set(chunks)  # target ≠ snapshot there
            if not same or unchanged:
                differ.append(w.table)
            recorded[w.table] = digest_record(w.cut, w.now, w.spec, w.table not in differ)
    return recorded, differ


def _by_rows(w: Work) -> bool:
    """Can the rows the sync wrote prove the table (see `prove`)?"""
    return bool(w.narrowed_by and not w.checked_chunks and w.keys is not None
                and 0 < len(w.keys) + len(w.gone) <= ROW_PROOF_MAX)
