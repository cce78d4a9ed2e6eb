"""Benchmark: full validation of the sample SPC database against migrating it, in the same run.

    .venv/bin/python benchmarks/bench_validate.py --rows 1000000 --repeat 3

Builds (or reuses, runs/bench/) the sample SQLite database, starts a throwaway embedded
PostgreSQL on a random free port (40000-60000) and measures, in interleaved rounds:

* the engines: `migrate.run`, then `validate.run` (mode full) on what it wrote;
* the stages as users run them: `runbook run --only 03,04` on a profile pointing at the same
  server (each stage's time from the run's summary.json: kernel, cells, HTML included).

Prints each figure with the load average, the medians, the ratios validation ÷ migration
(bar ≤ 0.5), how each table was compared (digests or row by row, and why) and peak memory;
exits non-zero if a validation found differences.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
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


def peak_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest child, in MB (Linux: KB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return round(own, 1), round(child, 1)


CUTOVER_BY_SYNC = [False]  # --cutover-by-sync: stage 04 also records row hashes


def engines(admin, port: int, source: Path, work: Path, tag: str) -> dict:
    from runbook_lib import migrate, validate

    name = bench.new_db(admin, port)
    settings = bench.settings_for(name, port, source, work / f"engine-{tag}",
                                  validate_mode="full", workers=2,
                                  cutover_by_sync=CUTOVER_BY_SYNC[0])
    bench.checkpoint(admin)
    began = time.perf_counter()
    migrate.run(settings, progress=False)
    migrated = time.perf_counter() - began
    bench.checkpoint(admin)
    began = time.perf_counter()
    report = validate.run(settings)
    validated = time.perf_counter() - began
    return {"migrate": migrated, "validate": validated, "ok": report.ok,
            "methods": {v.table: v.method.get("path", "") + (f" ({v.method['reason']})"
                                                             if v.method.get("reason") else "")
                        for v in report.tables if v.source_rows}}


def stages(admin, port: int, source: Path, work: Path, tag: str) -> dict:
    name = bench.new_db(admin, port)
    profile = work / f"stages-{tag}.yaml"
    profile.write_text(
        f"sqlite_path: {json.dumps(str(source))}\ndjango_project: examples/spc_backend\n"
        f"target: server\ndb_host: localhost\ndb_port: {port}\ndb_name: {name}\n"
        f"db_user: {name}\nadmin_user: postgres\nschema: django\nmethod: copy\n"
        "if_exists: replace\nworkers: 2\nvalidate_mode: full\n"
        f"cutover_by_sync: {str(CUTOVER_BY_SYNC[0]).lower()}\n")
    folder = work / f"stages-{tag}"
    bench.checkpoint(admin)
    done = subprocess.run([str(Path(sys.executable).with_name("runbook")), "run", "--params",
                           str(profile), "--only", "03,04", "--run-dir", str(folder)],
                          capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "DB_PASSWORD": bench.APP,
                               "PGADMIN_PASSWORD": bench.ADMIN})
    if done.returncode:
        print("stages failed:", (done.stdout + done.stderr)[-1500:])
        return {"ok": False}
    found = {s["stage"]: s["duration_s"] for s in
             json.loads((folder / "summary.json").read_text())["stages"]}
    return {"migrate": found["03"], "validate": found["04"], "ok": True}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="measurements in the sample")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; medians are reported")
    parser.add_argument("--skip", default="", help="engines or stages")
    parser.add_argument("--cutover-by-sync", action="store_true",
                        help="profile key cutover_by_sync: validation also records row hashes")
    args = parser.parse_args()
    CUTOVER_BY_SYNC[0] = args.cutover_by_sync
    from runbook_lib.core import server

    source = bench.sample(args.rows)
    work = Path(tempfile.mkdtemp(prefix="bench-validate-"))
    port = bench.bench_port()
    pg = server.EmbeddedServer(work / "pg", port=port)
    pg.start("postgres", bench.ADMIN)
    import psycopg2

    admin = psycopg2.connect(host="localhost", port=port, user="postgres",
                             password=bench.ADMIN, dbname="postgres")
    admin.autocommit = True
    figures: dict[str, list] = {}
    ok = True
    try:
        for rnd in range(args.repeat):
            for kind, run in (("engines", engines), ("stages", stages)):
                if kind in args.skip:
                    continue
                load = os.getloadavg()[0]
                found = run(admin, port, source, work, str(rnd))
                ok &= found["ok"]
                if "migrate" not in found:
                    continue
                ratio = found["validate"] / found["migrate"]
                figures.setdefault(kind, []).append((found["migrate"], found["validate"], ratio,
                                                     load, os.getloadavg()[0]))
                print(f"round {rnd + 1} {kind}: migration {found['migrate']:.2f} s, validation "
                      f"{found['validate']:.2f} s, ratio {ratio:.2f}, load {load:.2f}→"
                      f"{os.getloadavg()[0]:.2f}, validation {'ok' if found['ok'] else 'FAILED'}")
                if found.get("methods"):
                    print("  compared by:", json.dumps(found["methods"], ensure_ascii=False))
    finally:
        pg.destroy()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{args.rows:,} rows, medians of {args.repeat} round(s):")
    for kind, rows in figures.items():
        m, v, r = (statistics.median(x[i] for x in rows) for i in range(3))
        loads = [x[3] for x in rows] + [x[4] for x in rows]
        print(f"{kind:<8} migration {m:6.2f} s  validation {v:6.2f} s  ratio {r:.2f} "
              f"(bar ≤ 0.5: {'met' if r <= 0.5 else 'NOT met'})  load {min(loads):.2f}–"
              f"{max(loads):.2f}")
    own, child = peak_mb()
    print(f"peak RSS: this process {own} MB, largest child {child} MB; {os.cpu_count()} cores")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
