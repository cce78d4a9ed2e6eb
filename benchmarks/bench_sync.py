"""Benchmark: final catch-up sync + validation against a full re-migration + validation.

    .venv/bin/python benchmarks/bench_sync.py --rows 1000000 --repeat 3

Builds (or reuses, runs/bench/) the sample SPC database, copies it to a live file, starts a
throwaway embedded PostgreSQL on a free port and migrates it (stage 03's engine, schema:
django), then validates it as the cutover procedure does (stage 04 with `cutover_by_sync`: it
leaves its digests and row hashes for the first sync; `--no-handover`: no stage 04). Then, in each round: about `--changes` (1 %) of the rows change in the live file
(updates, deletes and inserts spread over the tables, by the key's residue so they are
scattered over the whole key range), and the same run measures

* the final sync (`cutover.sync`) + validation of the synced snapshot (`validate.run`, full);
* a full re-migration of the same live file into a new database + the same validation.

Prints each figure with the load average before and after, the rows the sync changed, the
medians and the ratio re-migration ÷ sync (goal ≥ 3, and sync + validation < 5 s at 1M rows);
exits non-zero if a validation failed or a second sync still found changes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("RUNBOOK_HOME", str(ROOT))
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")

import bench_migrate as bench  # noqa: E402


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def tables(conn) -> list[tuple[str, list[str], int]]:
    """(table, columns, rows) of every table with an integer `id` key and rows."""
    out = []
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name "
                                "NOT LIKE 'sqlite_%' ORDER BY name").fetchall():
        info = conn.execute(f"PRAGMA table_info({bench.q(name)})").fetchall()
        if [r[1] for r in info if r[5]] != ["id"]:
            continue
        rows = conn.execute(f"SELECT count(*) FROM {bench.q(name)}").fetchone()[0]
        if rows:
            out.append((name, [r[1] for r in info], rows))
    return out


def change(live: Path, share: float, seed: int, pattern: str = "scattered") -> int:
    """About `share` of every table's rows changed: 40 % of them updated, 30 % deleted (rows
    nothing references), 30 % inserted (copies of existing rows with new ids, at the end of
    the key range). `scattered`: the updated and deleted rows every k-th key over the whole
    table (the worst case: every key chunk differs); `recent`: among the newest 5 % of keys
    (an application correcting recent rows)."""
    conn = sqlite3.connect(live)
    referenced = {r[2] for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = "
                                                "'table'").fetchall()
                  for r in conn.execute(f"PRAGMA foreign_key_list({bench.q(t)})").fetchall()}
    total = 0
    for name, cols, rows in tables(conn):
        n = max(1, round(rows * share))
        step = max(2, rows // n)
        q = bench.q(name)
        floor = 0 if pattern == "scattered" else conn.execute(
            f"SELECT id FROM {q} ORDER BY id DESC LIMIT 1 OFFSET {max(0, rows // 20 - 1)}"
        ).fetchone()[0]
        if pattern == "recent":
            step = max(2, rows // 20 // n)
        numeric = [c for c, kind in ((r[1], r[2].upper()) for r in conn.execute(
            f"PRAGMA table_info({q})")) if c != "id" and kind in ("REAL", "INTEGER")
            and not c.endswith("_id")]
        texty = [r[1] for r in conn.execute(f"PRAGMA table_info({q})")
                 if r[2].upper().startswith(("VARCHAR", "TEXT")) and not r[5]]
        target = (numeric or texty)[:1]
        if target:
            c = bench.q(target[0])
            how = f"{c} + 1" if numeric else f"{c} || ''"
            total += conn.execute(f"UPDATE {q} SET {c} = {how} WHERE id IN (SELECT id FROM {q} "
                                  f"WHERE id >= {floor} AND id % {step} = {seed % step} "
                                  f"LIMIT {max(1, n * 4 // 10)})").rowcount
        if name not in referenced:
            total += conn.execute(f"DELETE FROM {q} WHERE id IN (SELECT id FROM {q} WHERE "
                                  f"id >= {floor} AND id % {step} = {(seed + 1) % step} "
                                  f"LIMIT {max(1, n * 3 // 10)})").rowcount
            rest = ", ".join(bench.q(c) for c in cols if c != "id")
            unique = conn.execute(f"SELECT count(*) FROM pragma_index_list({literal(name)})"
                                  " WHERE \"unique\" AND origin != 'pk'").fetchone()[0]
            if rest and not unique:
                total += conn.execute(f"INSERT INTO {q} ({rest}) SELECT {rest} FROM {q} WHERE "
                                      f"id % {step} = {(seed + 2) % step} LIMIT "
                                      f"{max(1, n * 3 // 10)}").rowcount
    conn.commit()
    conn.close()
    return total


def timed(fn, *args, **kwargs):
    began = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - began, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="measurements in the sample")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; medians are reported")
    parser.add_argument("--changes", type=float, default=0.01, help="share of rows changed")
    parser.add_argument("--pattern", choices=("scattered", "recent"), default="scattered",
                        help="where the updated and deleted rows lie in the key range")
    parser.add_argument("--no-handover", action="store_true",
                        help="no stage 04 between the migration and the first sync (it then "
                        "reads the target and the migration's snapshot)")
    parser.add_argument("--port", type=int, default=0,
                        help="the throwaway server's port (default: a free one, 40000-60000)")
    args = parser.parse_args()
    from runbook_lib import migrate, validate
    from runbook_lib.core import server
    from runbook_lib.cutover.sync import sync

    source = bench.sample(args.rows)
    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    live = work / "live.sqlite3"
    shutil.copyfile(source, live)
    port = args.port or server.free_port()
    pg = server.EmbeddedServer(work / "pg", port=port)
    pg.start("postgres", bench.ADMIN)
    import psycopg2

    admin = psycopg2.connect(host="localhost", port=port, user="postgres",
                             password=bench.ADMIN, dbname="postgres")
    admin.autocommit = True
    ok, figures = True, []
    try:
        name = bench.new_db(admin, port)
        settings = bench.settings_for(name, port, live, work / "run-sync", workers=2,
                                      validate_mode="full",
                                      cutover_by_sync=not args.no_handover)
        seconds, _ = timed(migrate.run, settings, progress=False)
        print(f"migrated {args.rows:,} rows in {seconds:.2f} s (the target the syncs update)")
        if not args.no_handover:  # as the cutover procedure runs: stage 04 before any sync
            checked, verdict = timed(validate.run, settings)
            ok &= verdict.ok
            print(f"stage 04 after the migration {checked:.2f} s (cutover_by_sync: its digests "
                  f"and row hashes left for the first sync) load {os.getloadavg()[0]:.2f}")
        for rnd in range(args.repeat):
            changed = change(live, args.changes, rnd, args.pattern)
            bench.checkpoint(admin)
            load = os.getloadavg()[0]
            synced, report = timed(sync, settings)
            checked, verdict = timed(validate.run, settings)
            again = sync(settings)
            ok &= verdict.ok and again.changes == 0 and not report.unproven
            fast = synced
            bench.checkpoint(admin)
            other = bench.new_db(admin, port)
            full = bench.settings_for(other, port, live, work / f"run-full-{rnd}", workers=2,
                                      validate_mode="full")
            load_full = os.getloadavg()[0]
            migrated, _ = timed(migrate.run, full, progress=False)
            revalidated, verdict_full = timed(validate.run, full)
            ok &= verdict_full.ok
            slow = migrated + revalidated
            figures.append((synced, checked, synced + checked, migrated, revalidated, slow,
                            slow / fast, slow / (synced + checked)))
            print(f"round {rnd + 1} ({'digests recorded by the previous sync' if rnd else 'first sync after the migration'}): {changed:,} rows changed in SQLite; "
                  f"sync with its digest proof {synced:.2f} s ({report.inserted} inserted, "
                  f"{report.updated} updated, {report.deleted} deleted; proven by digests: "
                  f"{len(report.proven)} tables, unproven {report.unproven}; narrowed by "
                  f"{sorted({x.narrowed for x in report.tables if x.changes})}, proven by "
                  f"{sorted({x.proved for x in report.tables if x.changes})}; read again: "
                  f"target {sorted(x.table for x in report.tables if x.target_read)}, previous "
                  f"snapshot {sorted(x.table for x in report.tables if x.previous_read)}; "
                  f"{report.timings}); "
                  f"stage 04 full validation of the synced snapshot {checked:.2f} s "
                  f"[{'ok' if verdict.ok else 'FAILED'}, second sync {again.changes} changes] "
                  f"load {load:.2f}; re-migration {migrated:.2f} s + stage 04 "
                  f"{revalidated:.2f} s = {slow:.2f} s [{'ok' if verdict_full.ok else 'FAILED'}]"
                  f" load {load_full:.2f}→{os.getloadavg()[0]:.2f}; ratio {slow / fast:.1f}× "
                  f"(with stage 04 after the sync too: {slow / (synced + checked):.1f}×)")
            admin.cursor().execute(f"DROP DATABASE {other} WITH (FORCE)")
    finally:
        admin.close()
        pg.destroy()
        shutil.rmtree(work, ignore_errors=True)
    med = [statistics.median(f[i] for f in figures) for i in range(8)]
    print(f"\n{args.rows:,} rows, {args.changes:.0%} changed ({args.pattern}), medians of "
          f"{len(figures)} round(s): final sync with its digest proof {med[0]:.2f} s (goal "
          f"< 5 s; + stage 04 {med[1]:.2f} s = {med[2]:.2f} s); re-migration {med[3]:.2f} s + "
          f"stage 04 {med[4]:.2f} s = {med[5]:.2f} s; re-migration ÷ sync {med[6]:.1f}× (goal "
          f"≥ 3×; {med[7]:.1f}× with stage 04 after the sync); load average now "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
