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
* peak client memory (parent and worker processes, sampled every 100 ms: a
  sample costs ~2 ms of CPU, so sampling every 20 ms took 10% of a core from the run).

Bar: default ≥ 2× faster than pgloader and within 1.5× of the sum of the two floors.

Per measure it also prints CPU seconds (this process, its children, the whole PostgreSQL
server); `--conf name=value,...` sets server settings first (A/B comparisons).

Last figures (final code, two `--rows 1000000 --repeat 3` runs on a heavily loaded shared
host, medians of 6 rounds; every run of the round in benchmarks/README.md): django strategy
4.21 s, sqlite strategy 4.17 s, read floor 2.04 s, COPY floor 1.58 s, pgloader 9.34 s →
1.16× / 1.15× the floor sum (bar ≤ 1.5), pgloader 2.22× / 2.24× slower (bar ≥ 2). On
quieter runs the django strategy sat at 1.34–1.55×, at the bar.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sqlite3
import statistics
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

from runbook_lib import migrate  # noqa: E402
from runbook_lib.core import server  # noqa: E402
from runbook_lib.core.config import load_settings  # noqa: E402

TABLE = "spc_qualitymeasurement"
CPU: dict[str, list[float]] = {}  # CPU seconds per measure, medians reported
ADMIN, APP = "adm-" + uuid.uuid4().hex[:12], "app-" + uuid.uuid4().hex[:12]


def sample(rows: int) -> Path:
    path = ROOT / "runs" / "bench" / f"spc_{rows}.sqlite3"
    if not path.is_file():  # in a child process, so its memory does not count below
        began = time.perf_counter()
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", "import sys; from runbook_lib.prepare import demo; "
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
    conn.autocommit = False  # one transaction: with wal_level = minimal no WAL for the rows
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE bare (id bigint, product_id bigint, sample_group int, "
                    "value double precision, measured_at timestamptz, operator varchar(50), "
                    "note text, is_out_of_spec boolean, extra jsonb)")
        with open(csv_path) as fh:
            cur.copy_expert(f"COPY bare ({', '.join(cols)}) FROM STDIN (FORMAT csv)", fh,
                            size=1 << 20)
    conn.commit()
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
    """Samples the RSS of this process and of its workers every 100 ms while a step runs."""

    def __init__(self) -> None:
        import psutil

        self.me = psutil.Process()
        self.parent = self.workers = 0
        self.done = threading.Event()

    def _sample(self) -> None:
        import psutil

        while not self.done.wait(0.1):
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


class CpuClock:
    """CPU seconds of this process, its reaped children and the whole PostgreSQL server.

    Wall time on a shared machine swings with the other users' load; the CPU a measurement
    spends (client, COPY workers, integrity check, `migrate`, every backend) does not.
    """

    def __init__(self, server_pid: int) -> None:
        import psutil

        self.server = psutil.Process(server_pid)

    def now(self) -> float:
        import psutil

        mine = sum(os.times()[:4])
        t = self.server.cpu_times()
        total = mine + t.user + t.system + t.children_user + t.children_system
        for child in self.server.children():
            try:
                c = child.cpu_times()
                total += c.user + c.system
            except psutil.Error:
                pass
        return total


CLOCK: list[CpuClock] = []


def cpu_timed(fn, *args):
    """(wall seconds, CPU seconds, result) of fn(*args)."""
    before = CLOCK[0].now() if CLOCK else 0.0
    seconds, out = timed(fn, *args)
    time.sleep(0.3)  # let the server reap the backends that just closed (their CPU counts)
    return seconds, (CLOCK[0].now() - before if CLOCK else 0.0), out


def checkpoint(admin) -> None:
    """Flush the previous measurement's WAL and dirty pages, so none is billed to the next."""
    with admin.cursor() as cur:
        cur.execute("CHECKPOINT")


def run_default(admin, port: int, source: Path, work: Path, strategy: str, workers: int,
                tag: str) -> tuple[float, str]:
    name = new_db(admin, port)
    s = settings_for(name, port, source, work / f"run-{strategy}-{tag}", schema=strategy,
                     workers=workers)
    checkpoint(admin)
    with MemoryWatch() as memory:
        seconds, cpu, result = cpu_timed(migrate.run, s, False)
    CPU.setdefault(f"default ({strategy})", []).append(cpu)
    print(f"default method, schema {strategy}: {seconds:.2f} s  CPU {cpu:.2f} s  "
          f"steps {result.timings}  "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"  {memory}")
    return seconds, str(memory)


def run_floors(admin, admin_for, port: int, source: Path, work: Path) -> dict[str, float]:
    out = {}
    out["read floor"], cpu, _ = cpu_timed(read_floor, source)
    CPU.setdefault("read floor", []).append(cpu)
    csv_path = work / "measure.csv"
    cols = export_csv(source, csv_path) if not csv_path.exists() else csv_header(source)
    name = new_db(admin, port)
    with admin.cursor() as cur:
        cur.execute(f"GRANT ALL ON DATABASE {name} TO postgres")
    checkpoint(admin)
    out["COPY floor"], cpu, _ = cpu_timed(copy_floor, admin_for, name, csv_path, cols)
    CPU.setdefault("COPY floor", []).append(cpu)
    print(f"floors: read {out['read floor']:.2f} s, COPY {out['COPY floor']:.2f} s "
          f"(CPU {CPU['read floor'][-1]:.2f} s, {CPU['COPY floor'][-1]:.2f} s)  "
          f"load {os.getloadavg()[0]:.1f}")
    return out


def configure(pg, port: int, conf: str) -> None:
    """ALTER SYSTEM each `name=value` of conf, then restart the server."""
    import psycopg2

    conn = psycopg2.connect(host="localhost", port=port, user="postgres", password=ADMIN,
                            dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        for item in filter(None, conf.split(",")):
            name, value = item.split("=", 1)
            cur.execute(f"ALTER SYSTEM SET {name.strip()} = %s", (value.strip(),))
    conn.close()
    pg.stop()
    pg.start("postgres", ADMIN)
    print("server settings:", conf)


def csv_header(source: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    cols = [d[0] for d in conn.execute(f"SELECT * FROM {TABLE} LIMIT 0").description]
    conn.close()
    return cols


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="rounds; medians are reported")
    parser.add_argument("--conf", default="", help="comma list of server settings for this "
                        "run, e.g. wal_level=replica,max_wal_senders=10 (A/B comparisons)")
    parser.add_argument("--skip", default="", help="comma list: django,sqlite,pgloader,floors")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    source = sample(args.rows)
    work = Path(tempfile.mkdtemp(prefix="bench-migrate-"))
    port = server.free_port()
    pg = server.EmbeddedServer(work / "pg", port=port)
    pg.start("postgres", ADMIN)
    if args.conf:
        configure(pg, port, args.conf)
    CLOCK.append(CpuClock(pg.pid()))
    import psycopg2

    def admin_for(db: str = "postgres"):
        conn = psycopg2.connect(host="localhost", port=port, user="postgres", password=ADMIN,
                                dbname=db)
        conn.autocommit = True
        return conn

    figures: dict[str, list[float]] = {}
    loads = [os.getloadavg()[0]]
    try:
        admin = admin_for()
        for rnd in range(args.repeat):
            print(f"-- round {rnd + 1}/{args.repeat}")
            for strategy in ("django", "sqlite"):
                if strategy not in skip:
                    secs, _ = run_default(admin, port, source, work, strategy, args.workers,
                                          str(rnd))
                    figures.setdefault(f"default ({strategy})", []).append(secs)
            if "floors" not in skip:
                for key, secs in run_floors(admin, admin_for, port, source, work).items():
                    figures.setdefault(key, []).append(secs)
            if "pgloader" not in skip:
                name = new_db(admin, port)
                snap = work / "run-django-0" / "snapshot.sqlite3"
                checkpoint(admin)
                _, cpu, secs = cpu_timed(pgloader_run, port, name,
                                         snap if snap.exists() else source, work)
                if secs:
                    figures.setdefault("pgloader (defaults)", []).append(secs)
                    CPU.setdefault("pgloader (defaults)", []).append(cpu)
                    print(f"pgloader: {secs:.2f} s  CPU {cpu:.2f} s  "
                          f"load {os.getloadavg()[0]:.1f}")
            loads.append(os.getloadavg()[0])
    finally:
        pg.destroy()
        shutil.rmtree(work, ignore_errors=True)
    report({k: statistics.median(v) for k, v in figures.items()}, args.rows, args.repeat)
    print(f"load average (1 min) during the run: {min(loads):.1f}–{max(loads):.1f} on "
          f"{os.cpu_count()} cores")
    return 0


def report(figures: dict[str, float], rows: int, repeat: int = 1) -> None:
    print(f"\n{'measure (median of ' + str(repeat) + ')':<26}{'seconds':>9}{'rows/s':>12}"
          f"{'CPU s':>8}")
    for key, secs in figures.items():
        cpu = statistics.median(CPU[key]) if CPU.get(key) else 0.0
        print(f"{key:<26}{secs:>9.2f}{rows / secs:>12,.0f}{cpu:>8.2f}")
    floor = figures.get("read floor", 0) + figures.get("COPY floor", 0)
    for key in [k for k in figures if k.startswith("default")]:
        if floor:
            print(f"{key} / floor sum ({floor:.2f} s) = {figures[key] / floor:.2f}  (bar ≤ 1.5)")
        if "pgloader (defaults)" in figures:
            print(f"pgloader / {key} = {figures['pgloader (defaults)'] / figures[key]:.2f}"
                  "  (bar ≥ 2)")


if __name__ == "__main__":
    sys.exit(main())
