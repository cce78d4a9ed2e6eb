"""Benchmark of the migration engine against its floors and pgloader (not a timed test).

    .venv/bin/python benchmarks/bench_migrate.py --rows 1000000

Builds the sample SPC database (cached under runs/bench/), starts a throwaway embedded
PostgreSQL on a free port, and measures in one run:

* the default method end to end (snapshot → post-load, indexes and constraints included),
  with both schema strategies, and the time of each step;
* the server-side floor: raw `COPY` of the measurement table from a pre-exported CSV into a
  bare table (no index, no constraint);
* the source-side floor: a full read of the measurement table with Python's sqlite3;
* pgloader with its defaults on the whole database, when it is installed;
* peak client memory (parent and worker processes, sampled every 20 ms).

Bar: default ≥ 2× faster than pgloader and within 1.5× of the sum of the two floors.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RUNBOOK_HOME", str(ROOT))
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")

from runbook_lib import migrate, server  # noqa: E402
from runbook_lib.config import load_settings  # noqa: E402

TABLE = "spc_qualitymeasurement"
ADMIN, APP = "adm-" + uuid.uuid4().hex[:12], "app-" + uuid.uuid4().hex[:12]


def sample(rows: int) -> Path:
    path = ROOT / "runs" / "bench" / f"spc_{rows}.sqlite3"
    if not path.is_file():  # in a child process, so its memory does not count below
        began = time.perf_counter()
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", "import sys; from runbook_lib import demo; "
                        "demo.build(sys.argv[1], rows=int(sys.argv[2]), force=True)",
                        str(path), str(rows)], check=True, cwd=ROOT)
        print(f"built {path.name} in {time.perf_counter() - began:.1f} s "
              f"({path.stat().st_size / 1e6:.0f} MB)")
    return path


def new_db(admin, port: int) -> str:
    name = "b_" + uuid.uuid4().hex[:8]
    with admin.cursor() as cur:
        cur.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{APP}'")
        cur.execute(f"CREATE DATABASE {name} OWNER {name}")
    return name


def settings_for(name: str, port: int, source: Path, run_dir: Path, **params):
    os.environ["DB_PASSWORD"], os.environ["PGADMIN_PASSWORD"] = APP, ADMIN
    return load_settings(target="server", db_host="localhost", db_port=port, db_name=name,
                         db_user=name, sqlite_path=str(source), run_dir=str(run_dir),
                         django_project="examples/spc_backend", **params)


def timed(fn, *args):
    began = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - began, out


def read_floor(source: Path) -> int:
    conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    cur, n = conn.execute(f"SELECT * FROM {TABLE}"), 0
    while rows := cur.fetchmany(10_000):
        n += len(rows)
    conn.close()
    return n


def export_csv(source: Path, out: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    cur = conn.execute(f"SELECT * FROM {TABLE}")
    cols = [d[0] for d in cur.description]
    with open(out, "w", newline="") as fh:
        writer = csv.writer(fh)
        while rows := cur.fetchmany(10_000):
            writer.writerows(rows)
    conn.close()
    return cols


def copy_floor(admin_for, name: str, csv_path: Path, cols: list[str]) -> None:
    conn = admin_for(name)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE bare (id bigint, product_id bigint, sample_group int, "
                    "value double precision, measured_at timestamptz, operator varchar(50), "
                    "note text, is_out_of_spec boolean, extra jsonb)")
        with open(csv_path) as fh:
            cur.copy_expert(f"COPY bare ({', '.join(cols)}) FROM STDIN (FORMAT csv)", fh,
                            size=1 << 20)
    conn.close()


def pgloader_run(port: int, name: str, snapshot: Path, work: Path) -> float | None:
    binary = shutil.which("pgloader")
    if not binary:
        print("pgloader: not installed (apt-get install -y pgloader) — skipped")
        return None
    load = work / "bench.load"
    load.write_text(f"LOAD DATABASE FROM sqlite://{snapshot}\n"
                    f"  INTO postgresql://{name}:{{{{BENCH_PW}}}}@localhost:{port}/{name};\n")
    began = time.perf_counter()
    done = subprocess.run([binary, "--summary", str(work / "summary.json"), str(load)],
                          capture_output=True, text=True, env={**os.environ, "BENCH_PW": APP},
                          cwd=work)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        print("pgloader failed:", done.stderr[-500:])
    return seconds


class MemoryWatch:
    """Samples the RSS of this process and of its workers every 20 ms while a step runs."""

    def __init__(self) -> None:
        import psutil

        self.me = psutil.Process()
        self.parent = self.workers = 0
        self.done = threading.Event()

    def _sample(self) -> None:
        import psutil

        while not self.done.wait(0.02):
            try:
                kids = [c.memory_info().rss for c in self.me.children(recursive=True)]
            except psutil.Error:
                kids = []
            self.parent = max(self.parent, self.me.memory_info().rss)
            self.workers = max(self.workers, sum(kids))

    def __enter__(self):
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()

    def __str__(self) -> str:
        return (f"peak RSS: client {self.parent / 2**20:.0f} MB, its worker processes "
                f"{self.workers / 2**20:.0f} MB together")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip", default="", help="comma list: sqlite,pgloader,floors")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    source = sample(args.rows)
    work = Path(tempfile.mkdtemp(prefix="bench-migrate-"))
    port = server.free_port()
    pg = server.EmbeddedServer(work / "pg", port=port)
    pg.start("postgres", ADMIN)
    import psycopg2

    def admin_for(db: str = "postgres"):
        conn = psycopg2.connect(host="localhost", port=port, user="postgres", password=ADMIN,
                                dbname=db)
        conn.autocommit = True
        return conn

    figures: dict[str, float] = {}
    try:
        admin = admin_for()
        for strategy in ("django", "sqlite"):
            if strategy in skip:
                continue
            name = new_db(admin, port)
            s = settings_for(name, port, source, work / f"run-{strategy}", schema=strategy,
                             workers=args.workers)
            with MemoryWatch() as memory:
                seconds, result = timed(migrate.run, s, False)
            figures[f"default ({strategy})"] = seconds
            print(f"default method, schema {strategy}: {seconds:.2f} s  steps {result.timings}")
            print(f"  {memory}")
        if "floors" not in skip:
            figures["read floor"], n = timed(read_floor, source)
            csv_path = work / "measure.csv"
            cols = export_csv(source, csv_path)
            name = new_db(admin, port)
            with admin.cursor() as cur:
                cur.execute(f"GRANT ALL ON DATABASE {name} TO postgres")
            figures["COPY floor"], _ = timed(copy_floor, admin_for, name, csv_path, cols)
        if "pgloader" not in skip:
            name = new_db(admin, port)
            snap = work / "run-django" / "snapshot.sqlite3"
            secs = pgloader_run(port, name, snap if snap.exists() else source, work)
            if secs:
                figures["pgloader (defaults)"] = secs
    finally:
        pg.destroy()
        shutil.rmtree(work, ignore_errors=True)
    report(figures, args.rows)
    return 0


def report(figures: dict[str, float], rows: int) -> None:
    print(f"\n{'measure':<24}{'seconds':>9}{'rows/s':>12}")
    for key, secs in figures.items():
        print(f"{key:<24}{secs:>9.2f}{rows / secs:>12,.0f}")
    floor = figures.get("read floor", 0) + figures.get("COPY floor", 0)
    for key in [k for k in figures if k.startswith("default")]:
        if floor:
            print(f"{key} / floor sum ({floor:.2f} s) = {figures[key] / floor:.2f}  (bar ≤ 1.5)")
        if "pgloader (defaults)" in figures:
            print(f"pgloader / {key} = {figures['pgloader (defaults)'] / figures[key]:.2f}"
                  "  (bar ≥ 2)")


if __name__ == "__main__":
    sys.exit(main())
