"""Benchmark of stage 03 against pgloader and DuckDB doing the same work (not a timed test).

    .venv/bin/pip install -e ".[bench]"    # duckdb + its sqlite/postgres extension wheels
    .venv/bin/python benchmarks/bench_migrate.py --rows 1000000 --repeat 3

Builds the sample SPC database (cached under runs/bench/), starts a throwaway embedded
PostgreSQL on a random free port (40000-60000), and measures, in interleaved rounds
(A B C … A B C …):

* stage 03 as users run it: `runbook run --only 03` (a subprocess: the runner, its kernel,
  the notebook's cells), with `schema: django` and `schema: sqlite`;
* the engine alone (`migrate.run`), both schema strategies, and the time of each step;
* DuckDB: `ATTACH` the SQLite file and the database, `CREATE TABLE … AS SELECT *` per table,
  then one SQL script adding the constraints the runbook's copy has (NOT NULL, primary keys,
  identities, unique constraints, indexes, foreign keys, ANALYZE). Its extensions come from
  the duckdb-extension-sqlite / -postgres wheels, copied into a folder and LOADed by path
  (no network);
* pgloader with its defaults on the whole database, when installed (apt-get install pgloader);
* the floors: raw `COPY` of the measurement table from a CSV into a bare table, and a full
  read of it with Python's sqlite3.

Each contender's result is checked: rows per table against the source, and its column types
against the runbook's (narrowed, e.g. float8 → float4, or only different). It prints medians,
CPU seconds (this process, its children, the whole server), peak client memory, the ratios
against the bars (stage ≥ 2× faster than pgloader, no slower than DuckDB + constraints) and
the load average (the machine is shared: report it).
"""

from __future__ import annotations

import argparse
import csv
import json
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


def bench_port() -> int:
    """A free port picked at random in 40000-60000 (the machine is shared: no fixed port), or
    in the range `BENCH_PORTS` names (e.g. `52000-52999`)."""
    import random
    import socket

    low, high = (int(p) for p in os.environ.get("BENCH_PORTS", "40000-60000").split("-"))
    for _ in range(100):
        port = random.randint(low, high)  # noqa: S311 - not security
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port in {low}-{high}")


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
                tag: str) -> tuple[str, float]:
    name = new_db(admin, port)
    s = settings_for(name, port, source, work / f"run-{strategy}-{tag}", schema=strategy,
                     workers=workers)
    checkpoint(admin)
    with MemoryWatch() as memory:
        seconds, cpu, result = cpu_timed(migrate.run, s, False)
    CPU.setdefault(f"engine ({strategy})", []).append(cpu)
    print(f"engine ({strategy}): {seconds:.2f} s  CPU {cpu:.2f} s  steps {result.timings}  "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"  {memory}")
    return name, seconds


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


# -- stage 03 as users run it ------------------------------------------------------------------
def stage_run(port: int, name: str, source: Path, work: Path, strategy: str, tag: str) -> float:
    """`runbook run --only 03` on a profile pointing at this server: wall seconds."""
    profile = work / f"stage-{strategy}-{tag}.yaml"
    profile.write_text(
        f"sqlite_path: {json.dumps(str(source))}\ndjango_project: examples/spc_backend\n"
        f"target: server\ndb_host: localhost\ndb_port: {port}\ndb_name: {name}\n"
        f"db_user: {name}\nadmin_user: postgres\nschema: {strategy}\nmethod: copy\n"
        "if_exists: replace\nworkers: 2\n")
    runbook = Path(sys.executable).with_name("runbook")
    began = time.perf_counter()
    done = subprocess.run([str(runbook), "run", "--params", str(profile), "--only", "03",
                           "--run-dir", str(work / f"stage-{strategy}-{tag}")],
                          capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "DB_PASSWORD": APP, "PGADMIN_PASSWORD": ADMIN})
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        print(f"stage 03 ({strategy}) failed:", (done.stdout + done.stderr)[-1500:])
    return seconds


# -- DuckDB + the same constraints ----------------------------------------------------------------
def duckdb_extensions(work: Path) -> Path:
    """The sqlite and postgres extension files of the duckdb-extension-* wheels, copied into
    one folder under the names DuckDB's LOAD expects (their entry points)."""
    import duckdb_extension_postgres
    import duckdb_extension_sqlite

    folder = work / "duckdb-extensions"
    folder.mkdir(exist_ok=True)
    for module, name in ((duckdb_extension_sqlite, "sqlite_scanner"),
                         (duckdb_extension_postgres, "postgres_scanner")):
        found = sorted(Path(module.__file__).parent.glob("extensions/*/*.duckdb_extension"))
        shutil.copy(found[-1], folder / f"{name}.duckdb_extension")
    return folder


def constraint_script(conn) -> list[str]:
    """The statements that give bare tables (same names) the constraints this database has:
    NOT NULL, primary keys and unique constraints, identities, indexes, foreign keys, ANALYZE,
    in that order, one ALTER TABLE per table for its NOT NULLs (one scan)."""
    out, cur = [], conn.cursor()
    cur.execute("SELECT table_name, string_agg(format('ALTER COLUMN %I SET NOT NULL', "
                "column_name), ', ') FROM information_schema.columns WHERE table_schema = "
                "'public' AND is_nullable = 'NO' GROUP BY 1 ORDER BY 1")
    out += [f"ALTER TABLE {q(t)} {cols}" for t, cols in cur.fetchall()]
    cur.execute("SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype IN "
                "('p', 'u', 'f') ORDER BY contype DESC, 1, 2")
    cons = cur.fetchall()
    out += [f"ALTER TABLE {t} ADD CONSTRAINT {q(n)} {d}" for t, n, k, d in cons if k != "f"]
    cur.execute("SELECT table_name, column_name FROM information_schema.columns WHERE "
                "table_schema = 'public' AND is_identity = 'YES' ORDER BY 1")
    for t, c in cur.fetchall():
        out.append(f"ALTER TABLE {q(t)} ALTER COLUMN {q(c)} ADD GENERATED BY DEFAULT AS IDENTITY")
        out.append(f"SELECT setval(pg_get_serial_sequence('{q(t)}', '{c}'), "
                   f"coalesce(max({q(c)}), 1)) FROM {q(t)}")
    cur.execute("SELECT pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class c ON "
                "c.oid = x.indrelid WHERE c.relnamespace = 'public'::regnamespace AND NOT "
                "EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid) "
                "ORDER BY 1")
    out += [r[0] for r in cur.fetchall()]
    out += [f"ALTER TABLE {t} ADD CONSTRAINT {q(n)} {d}" for t, n, k, d in cons if k == "f"]
    return out + ["ANALYZE"]


def duckdb_run(port: int, name: str, source: Path, extensions: Path,
               script: list[str]) -> None:
    """DuckDB copies every table (CREATE TABLE AS), then the constraint script runs."""
    import duckdb

    con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    for ext in ("sqlite_scanner", "postgres_scanner"):
        con.execute(f"LOAD '{extensions / ext}.duckdb_extension'")
    con.execute(f"ATTACH '{source}' AS src (TYPE sqlite, READ_ONLY)")
    con.execute(f"ATTACH 'host=localhost port={port} dbname={name} user={name} "
                f"password={APP}' AS pg (TYPE postgres)")
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'src' "
        "AND table_name NOT LIKE 'sqlite_%' ORDER BY 1").fetchall()]
    for t in tables:
        con.execute(f"CREATE TABLE pg.public.{q(t)} AS SELECT * FROM src.{q(t)}")
    con.close()
    import psycopg2

    conn = psycopg2.connect(host="localhost", port=port, user=name, password=APP, dbname=name)
    conn.autocommit = True
    with conn.cursor() as cur:
        for sql in script:
            cur.execute(sql)
    conn.close()


# -- what each contender produced ---------------------------------------------------------------
NARROWER = {("double precision", "real"), ("bigint", "integer"), ("bigint", "smallint"),
            ("integer", "smallint"), ("numeric", "double precision"), ("numeric", "real")}


def layout(conn) -> dict:
    """tables → (rows, {column: type}) and the counts of keys, FKs, NOT NULLs, indexes."""
    cur = conn.cursor()
    cur.execute("SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position")
    tables: dict = {}
    for t, c, d in cur.fetchall():
        tables.setdefault(t, [0, {}])[1][c] = d
    for t in tables:
        cur.execute(f"SELECT count(*) FROM {q(t)}")
        tables[t][0] = cur.fetchone()[0]
    cur.execute("SELECT count(*) FILTER (WHERE contype = 'p'), count(*) FILTER (WHERE contype "
                "= 'f'), count(*) FILTER (WHERE contype = 'u') FROM pg_constraint WHERE "
                "connamespace = 'public'::regnamespace")
    pk, fk, uq = cur.fetchone()
    cur.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' "
                "AND is_nullable = 'NO'")
    notnull = cur.fetchone()[0]
    cur.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'")
    return {"tables": tables, "keys": (pk, uq, fk, notnull, cur.fetchone()[0])}


def check(found: dict, source_rows: dict[str, int], reference: dict | None) -> str:
    """One line: rows equal to the source (or which differ), types narrowed or different
    from the runbook's, constraint counts (primary/unique/foreign keys, NOT NULL, indexes)."""
    wrong = [f"{t} {found['tables'].get(t, [None])[0]}≠{n}" for t, n in source_rows.items()
             if t != "django_migrations" and found["tables"].get(t, [None])[0] != n]
    words = ["rows exact" if not wrong else "ROWS DIFFER: " + ", ".join(wrong[:3])]
    if reference:
        narrowed, other = [], []
        for t, (_, cols) in reference["tables"].items():
            for c, want in cols.items():
                got = found["tables"].get(t, [0, {}])[1].get(c)
                if got and got != want:
                    (narrowed if (want, got) in NARROWER else other).append(f"{t}.{c} {got}")
        words.append(f"narrowed {len(narrowed)}" + (f" ({', '.join(narrowed[:3])})"
                                                    if narrowed else ""))
        words.append(f"other types {len(other)}" + (f" ({', '.join(other[:3])})"
                                                    if other else ""))
    words.append("pk/unique/fk/not-null/indexes " + "/".join(map(str, found["keys"])))
    return "; ".join(words)


def source_counts(source: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%'")]
    out = {n: conn.execute(f"SELECT count(*) FROM {q(n)}").fetchone()[0] for n in names}
    conn.close()
    return out


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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


CONTENDERS = ("stage django", "stage sqlite", "engine django", "engine sqlite", "duckdb",
              "pgloader", "floors")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="rounds; medians are reported")
    parser.add_argument("--conf", default="", help="comma list of server settings for this "
                        "run, e.g. wal_level=replica,max_wal_senders=10 (A/B comparisons)")
    parser.add_argument("--skip", default="", help="comma list of contenders: stage, engine, "
                        "duckdb, pgloader, floors, or one strategy (stage sqlite, engine django)")
    args = parser.parse_args()
    skip = {x.strip() for x in args.skip.split(",") if x.strip()}
    chosen = [c for c in CONTENDERS if c not in skip and c.split()[0] not in skip]
    source = sample(args.rows)
    work = Path(tempfile.mkdtemp(prefix="bench-migrate-"))
    port = bench_port()
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
    loads: dict[str, list[float]] = {}
    checks: dict[str, str] = {}
    rows = source_counts(source)
    state: dict = {"script": None, "reference": None, "extensions": None}
    try:
        admin = admin_for()
        for rnd in range(args.repeat):
            print(f"-- round {rnd + 1}/{args.repeat}  load {os.getloadavg()[0]:.2f}")
            for contender in chosen:
                for key, secs, name in measure(contender, admin, admin_for, port, source, work,
                                               args.workers, str(rnd), state):
                    figures.setdefault(key, []).append(secs)
                    loads.setdefault(key, []).append(os.getloadavg()[0])
                    if name and key not in checks:
                        checks[key] = inspect(admin_for, name, key, rows, state)
    finally:
        pg.destroy()
        shutil.rmtree(work, ignore_errors=True)
    report({k: statistics.median(v) for k, v in figures.items()}, args.rows, args.repeat,
           loads, checks)
    return 0


def measure(contender: str, admin, admin_for, port: int, source: Path, work: Path, workers: int,
            tag: str, state: dict):
    """Run one contender once: [(measure, seconds, database it wrote or None)]."""
    if contender == "floors":
        return [(k, v, None) for k, v in run_floors(admin, admin_for, port, source,
                                                     work).items()]
    kind, _, strategy = contender.partition(" ")
    if kind == "engine":
        name, secs = run_default(admin, port, source, work, strategy, workers, tag)
        return [(f"engine ({strategy})", secs, name)]
    name = new_db(admin, port)
    if kind == "duckdb" and state["script"] is None:
        print("duckdb: no runbook result to take the constraints from — skipped")
        return []
    checkpoint(admin)
    with MemoryWatch() as memory:
        if kind == "stage":
            secs, cpu, _ = cpu_timed(stage_run, port, name, source, work, strategy, tag)
            key = f"stage 03 ({strategy})"
        elif kind == "duckdb":
            state["extensions"] = state["extensions"] or duckdb_extensions(work)
            secs, cpu, _ = cpu_timed(duckdb_run, port, name, source, state["extensions"],
                                     state["script"])
            key = "duckdb + constraints"
        else:
            snap = source
            _, cpu, secs = cpu_timed(pgloader_run, port, name, snap, work)
            key = "pgloader (defaults)"
            if not secs:
                return []
    CPU.setdefault(key, []).append(cpu)
    print(f"{key}: {secs:.2f} s  CPU {cpu:.2f} s  load {os.getloadavg()[0]:.2f}\n  {memory}")
    return [(key, secs, name)]


def inspect(admin_for, name: str, key: str, rows: dict, state: dict) -> str:
    """Check a contender's database once; the runbook's first one becomes the reference
    (types) and the source of DuckDB's constraint script."""
    conn = admin_for(name)
    try:
        found = layout(conn)
        if state["reference"] is None and ("stage" in key or "engine" in key):
            state["reference"] = found
        if state["script"] is None and ("stage" in key or "engine" in key):
            state["script"] = constraint_script(conn)
    finally:
        conn.close()
    line = check(found, rows, state["reference"])
    print(f"  result: {line}")
    return line


def report(figures: dict[str, float], rows: int, repeat: int, loads: dict, checks: dict) -> None:
    print(f"\n{'measure (median of ' + str(repeat) + ')':<28}{'seconds':>9}{'rows/s':>12}"
          f"{'CPU s':>8}  {'load avg (1 min)':<18}")
    for key, secs in figures.items():
        cpu = statistics.median(CPU[key]) if CPU.get(key) else 0.0
        low, high = min(loads[key]), max(loads[key])
        print(f"{key:<28}{secs:>9.2f}{rows / secs:>12,.0f}{cpu:>8.2f}  {low:.2f}–{high:.2f}")
    for key, line in checks.items():
        print(f"{key:<28}{line}")
    pgl, duck = figures.get("pgloader (defaults)"), figures.get("duckdb + constraints")
    for key in [k for k in figures if k.startswith(("stage", "engine"))]:
        if pgl:
            ok = pgl / figures[key] >= 2
            print(f"pgloader / {key} = {pgl / figures[key]:.2f}  (bar ≥ 2: {'met' if ok else 'NOT met'})")
        if duck:
            ok = figures[key] <= duck
            print(f"{key} / duckdb + constraints = {figures[key] / duck:.2f}  (bar ≤ 1: "
                  f"{'met' if ok else 'NOT met'})")
    floor = figures.get("read floor", 0) + figures.get("COPY floor", 0)
    if floor:
        for key in [k for k in figures if k.startswith(("stage", "engine"))]:
            print(f"{key} / floor sum ({floor:.2f} s) = {figures[key] / floor:.2f}")
    print(f"{rows:,} rows; load average now {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    sys.exit(main())
