"""Profile scans on the SQLite snapshot, in background threads (sqlite3 releases the GIL).

One query per table (or per rowid slice of a large table) tests every predicate at once:
`count(*) WHERE NOT (p1 AND p2 …)` (one aggregate step per bad row only, about half the cost
of a `sum()` per predicate). Only a table with bad rows is scanned again (every slice of it)
to count them per predicate, and then also its `extra` predicates (the ladders of wider
types, `type_inference`), which a clean table never pays for. `Scan.submit` starts the queries at once, so they run while the caller does
something else (Django's `migrate`); `Scan.counts` waits and sums the slices per table.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ..core.identifiers import quote_ident
from .source import connect_ro, rowid_range
from .utf8_scan import count_invalid

__all__ = ["Scan", "SPLIT_MIN_ROWS"]

SPLIT_MIN_ROWS = 100_000


_q = quote_ident


def _count(snapshot: str, sql: str, params: tuple) -> list[int]:
    conn = connect_ro(snapshot)
    try:
        return [n or 0 for n in conn.execute(sql, params).fetchone()]
    finally:
        conn.close()


def _where(params: tuple) -> str:
    return " AND rowid >= ? AND rowid < ?" if params else ""


class Scan:
    """Aggregate scans submitted now, collected later: table → {key: rows failing}."""

    def __init__(self, snapshot: str | Path, workers: int = 1) -> None:
        self.snapshot = str(snapshot)
        self.workers = max(1, workers)
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="profile")
        self.pending: list[tuple[str, dict, tuple, Future]] = []
        self.extra: dict[str, dict] = {}
        self.utf8: list[tuple[str, list, Future]] = []

    def submit(self, table: str, conds: dict, rows: int, rowid: bool = True,
               extra: dict | None = None, utf8: dict | None = None) -> None:
        """Queue one table's predicates (keys → SQL that is true when the row is fine);
        `extra` ones are counted only if some row fails `conds`. `utf8` (key → column):
        text that is not UTF-8, counted apart (`utf8_scan`)."""
        if not rows or not (conds or utf8):
            return
        slices = self._slices(table, rows, rowid)
        for params in slices if utf8 else []:
            future = self.pool.submit(count_invalid, self.snapshot, table, list(utf8.values()),
                                      params)
            self.utf8.append((table, list(utf8), future))
        if not conds:
            return
        self.extra[table] = extra or {}
        gate = (f"SELECT count(*) FROM {_q(table)} WHERE NOT ({' AND '.join(conds.values())})")
        for params in slices:
            future = self.pool.submit(_count, self.snapshot, gate + _where(params), params)
            self.pending.append((table, conds, params, future))

    def _detail(self, table: str, conds: dict, params: tuple) -> Future:
        """Count one slice's failing rows per predicate (only after the gate found some)."""
        sums = ", ".join(f"sum(NOT {c})" for c in conds.values())
        sql = f"SELECT {sums} FROM {_q(table)} WHERE 1{_where(params)}"
        return self.pool.submit(_count, self.snapshot, sql, params)

    def _slices(self, table: str, rows: int, rowid: bool) -> list[tuple]:
        if self.workers < 2 or rows < SPLIT_MIN_ROWS or not rowid:
            return [()]
        conn = connect_ro(self.snapshot)
        try:
            lo, hi = rowid_range(conn, table)
        finally:
            conn.close()
        step = (hi - lo) // self.workers + 1
        return [(lo + i * step, lo + (i + 1) * step) for i in range(self.workers)]

    def cancel(self) -> None:
        """Drop the queries not started yet (the caller gave up)."""
        self.pool.shutdown(wait=False, cancel_futures=True)

    def counts(self) -> dict[str, dict]:
        """Wait for every query; failing rows per table and key, slices summed."""
        totals: dict[str, dict] = {}
        try:
            bad = {table for table, _, _, future in self.pending if future.result()[0]}
            details = []
            for table, conds, params, _ in self.pending:
                totals.setdefault(table, dict.fromkeys(conds, 0))
                if table in bad:
                    every = {**conds, **self.extra.get(table, {})}
                    totals[table].update({k: 0 for k in every if k not in totals[table]})
                    details.append((table, every, self._detail(table, every, params)))
            for table, every, future in details:
                for key, n in zip(every, future.result(), strict=True):
                    totals[table][key] += n
            for table, keys, future in self.utf8:
                for key, n in zip(keys, future.result(), strict=True):
                    mine = totals.setdefault(table, {})
                    mine[key] = mine.get(key, 0) + n
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)
        return totals
