"""The sample SPC database: `manage.py migrate` on a new SQLite file, then fast realistic inserts.

Values are stored exactly as Django stores them in SQLite with USE_TZ=True (naive UTC text
with microseconds, booleans 0/1, JSON text, decimals through NUMERIC affinity), so the
migration sees what a real project's database holds. Deterministic for a seed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import psutil
from tqdm.auto import tqdm

from ..core import django_project, paths
from ..core.errors import RunbookError, SourceError
from ..core.escape import terminal
from ..core.i18n import t

SAMPLE_DB = "examples/spc_backend/db.sqlite3"
GROUP_SIZE = 5
PERIOD_END = datetime(2025, 6, 30, 23, 0, 0)  # UTC; fixed so a seed always gives one file
PERIOD_DAYS = 180

# kind: (English name, Korean name, unit, target range, half tolerance as share of target, decimals)
KINDS = [
    ("Shaft diameter", "샤프트 직경", "mm", (8.0, 60.0), 0.004, 3),
    ("Bearing bore", "베어링 내경", "mm", (10.0, 80.0), 0.003, 3),
    ("Bolt length", "볼트 길이", "mm", (20.0, 120.0), 0.01, 2),
    ("Package weight", "포장 중량", "kg", (0.5, 25.0), 0.02, 3),
    ("Curing oven temperature", "경화로 온도", "°C", (140.0, 220.0), 0.03, 1),
    ("Hydraulic pressure", "유압", "bar", (80.0, 250.0), 0.04, 1),
    ("Coating thickness", "도막 두께", "µm", (20.0, 90.0), 0.1, 1),
    ("Resistor value", "저항값", "Ω", (100.0, 1000.0), 0.01, 2),
    ("Tightening torque", "체결 토크", "N·m", (5.0, 60.0), 0.05, 2),
    ("Adhesive viscosity", "접착제 점도", "mPa·s", (800.0, 3000.0), 0.05, 0),
    ("Rinse water pH", "세정수 pH", "pH", (6.5, 7.5), 0.05, 2),
    ("Surface roughness Ra", "표면 거칠기 Ra", "µm", (0.4, 3.2), 0.15, 3),
]
LINES = ["A", "B", "C", "D", "E"]
OPERATORS = ["김민준", "이서연", "박지훈", "최수아", "정우진", "강하은", "윤도현", "장예린",
             "John Smith", "Maria Garcia", "Nguyen Van An", "Sean O'Brien", "Anna Müller"]
NOTES = ["재측정 완료", "게이지 교정 후 측정", "Gauge recalibrated\nafter shift change",
         "야간 교대 측정\n설비 점검 후 재개", 'operator said "re-check", OK',
         r"data copied from C:\gauges\g1", "\tindented note", "소재 로트 변경 (LOT-2024-117)",
         "Coolant temperature high; 냉각수 온도 높음", "first piece after tool change"]
EXTRAS = [{"gauge": "G-12", "temperature_c": 22.5, "shift": "주간"},
          {"retest": True, "reason": "outlier"}, {"gauge": "CMM-3", "program": "P-17/rev2"},
          {"shift": "야간", "lot": "LOT-2024-117", "tags": ["audit", "line-B"]}]


class DemoExists(RunbookError):
    """The demo database file already exists and overwriting was not asked for."""


ERRORS = {
    "no_sample": {"en": "The sample SPC project (examples/spc_backend/manage.py) is missing.",
                  "ko": "샘플 SPC 프로젝트(examples/spc_backend/manage.py)가 없습니다."},
    "no_sample_fix": {"en": "Run from a checkout of the runbook, or set RUNBOOK_HOME to one.",
                      "ko": "런북 체크아웃 폴더에서 실행하거나 RUNBOOK_HOME을 그 폴더로 "
                            "설정하세요."},
    "exists": {"en": "{target} already exists; the demo data generator will not overwrite it.",
               "ko": "{target}이(가) 이미 있습니다. 데모 데이터 생성기는 덮어쓰지 않습니다."},
    "exists_fix": {"en": "Pass --force (force=True) to replace it, or choose another --out "
                         "path.",
                   "ko": "바꾸려면 --force(force=True)를 주고, 아니면 다른 --out 경로를 "
                         "고르세요."},
    "counts": {"en": "rows must be 0 or more and products 1 or more (got {rows}, {products}).",
               "ko": "rows는 0 이상, products는 1 이상이어야 합니다(받은 값: {rows}, "
                     "{products})."},
    "counts_fix": {"en": "Pass --rows 20000, for example.", "ko": "예: --rows 20000을 주세요."},
    "missing_near": {"en": "The SQLite source file {file} does not exist; the closest existing "
                           "file is {near}. Nothing was written.",
                     "ko": "원본 SQLite 파일 {file}이(가) 없습니다. 가장 비슷한 기존 파일은 "
                           "{near}입니다. 아무것도 쓰지 않았습니다."},
    "missing_near_fix": {"en": "If that is your database, set sqlite_path: {near} (or -p "
                               "sqlite_path={near}); otherwise set sqlite_path to your project's "
                               "database file.",
                         "ko": "그 파일이 데이터베이스라면 sqlite_path: {near}(또는 -p "
                               "sqlite_path={near})로 설정하고, 아니면 sqlite_path를 프로젝트의 "
                               "데이터베이스 파일로 설정하세요."},
    "missing": {"en": "The SQLite source file {file} does not exist, and no file with a similar "
                      "name is in that folder. Nothing was written.",
                "ko": "원본 SQLite 파일 {file}이(가) 없고, 그 폴더에 비슷한 이름의 파일도 "
                      "없습니다. 아무것도 쓰지 않았습니다."},
    "missing_fix": {"en": "Set sqlite_path to your project's database file, or use the sample: "
                          "sqlite_path: {sample} (built by `runbook demo-data`).",
                    "ko": "sqlite_path를 프로젝트의 데이터베이스 파일로 설정하거나 샘플을 "
                          "쓰세요: sqlite_path: {sample} (`runbook demo-data`로 만듭니다)."},
}
SAY = {
    "built": {"en": "built {path}", "ko": "{path}을(를) 만들었습니다"},
    "counts": {"en": "rows: {rows}  products: {products}  out of spec: {out_of_spec}  "
                     "seconds: {seconds}  size: {mb:.1f} MB",
               "ko": "측정값: {rows}  제품: {products}  규격 이탈: {out_of_spec}  "
                     "소요 시간: {seconds}초  크기: {mb:.1f} MB"},
    "unit": {"en": " rows", "ko": "행"},
}


def sample_project() -> Path:
    """The sample Django project: in the project root, else in this source checkout."""
    for base in (paths.project_root(), paths.PACKAGE_DIR.parent):
        folder = base / "examples" / "spc_backend"
        if (folder / "manage.py").is_file():
            return folder
    raise SourceError(ERRORS["no_sample"], ERRORS["no_sample_fix"])


def product_count(rows: int) -> int:
    """A few hundred products: about one per 2,500 measurements, 20..400."""
    return max(20, min(400, rows // 2500))


def stamp(moment: datetime) -> str:
    """A datetime as Django writes it to SQLite with USE_TZ=True: naive UTC with microseconds."""
    return str(moment if moment.microsecond else moment.replace(microsecond=1))


def make_products(rng: random.Random, count: int, start: datetime) -> list[tuple]:
    """Product rows (id, code, name, description, usl, lsl, target, unit, cost, active, ...)."""
    out = []
    for pid in range(1, count + 1):
        en, ko, unit, (low, high), tol, dec = KINDS[(pid - 1) % len(KINDS)]
        target = round(rng.uniform(low, high), dec)
        half = max(round(target * tol, dec), 10 ** -dec * 2)
        line = LINES[pid % len(LINES)]
        name = f"{ko} {line}-{pid:03d}" if pid % 2 else f"{en} line {line} #{pid}"
        desc = "" if pid % 3 else (f"{ko} 관리 품목, 라인 {line}" if pid % 2
                                   else f"{en} controlled on line {line}")
        cost = None if pid % 7 == 0 else str(Decimal(rng.randrange(100, 500000)) / 100)
        created = start - timedelta(days=rng.uniform(1, 400), microseconds=rng.randrange(1, 999999))
        updated = created + timedelta(days=rng.uniform(0, 30), microseconds=rng.randrange(1, 999999))
        out.append((pid, f"{en[:2].upper()}-{pid:04d}", name, desc, round(target + half, dec),
                    round(target - half, dec), target, unit, cost, int(pid % 17 != 0),
                    stamp(created), stamp(updated)))
    return out


def make_measurements(rng: random.Random, products: list[tuple], rows: int,
                      start: datetime) -> Iterator[tuple]:
    """Measurement rows in timestamped sample groups of five, chronological, ~1-3% out of spec."""
    groups = math.ceil(rows / GROUP_SIZE)
    step = PERIOD_DAYS * 86400 / max(groups, 1)
    sigma = {p[0]: (p[4] - p[5]) / 2 / rng.uniform(2.2, 2.6) for p in products}
    counters = dict.fromkeys(sigma, 0)
    gauss, rand, choice = rng.gauss, rng.random, rng.choice
    extras = [json.dumps(e) for e in EXTRAS]  # as Django's JSONField writes them
    left = rows
    for g in range(groups):
        pid, _, _, _, usl, lsl, target, _, _, _, _, _ = products[int(rand() * len(products))]
        dec = KINDS[(pid - 1) % len(KINDS)][5]
        counters[pid] += 1
        minute = stamp(start + timedelta(seconds=g * step))[:17]  # "YYYY-MM-DD HH:MM:"
        second = int(rand() * 32)  # the group's five readings, 7 s apart, stay in this minute
        operator = choice(OPERATORS)
        for k in range(min(GROUP_SIZE, left)):
            value = round(gauss(target, sigma[pid]), dec)
            at = f"{minute}{second + 7 * k:02d}.{int(rand() * 999999) + 1:06d}"
            r = rand()
            note = choice(NOTES) if r < 0.03 else ""
            extra = choice(extras) if r > 0.96 else None
            yield (pid, counters[pid], value, at, operator, note,
                   int(value > usl or value < lsl), extra)
        left -= GROUP_SIZE


def make_users(rng: random.Random, start: datetime) -> list[tuple]:
    """auth_user rows: superuser `admin` and two staff users, all with unusable passwords."""
    def unusable() -> str:
        return "!" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(40))
    joined = stamp(start - timedelta(days=420, microseconds=123457))
    return [(1, unusable(), "admin", 1, 1, 1, "", "", "admin@example.com", joined),
            (2, unusable(), "operator1", 0, 0, 1, "민준", "김", "operator1@example.com", joined),
            (3, unusable(), "analyst", 0, 1, 1, "Maria", "Garcia", "analyst@example.com", joined)]


def manage(path: str | os.PathLike, *args: str) -> subprocess.CompletedProcess:
    """Run the sample project's own `manage.py ARGS` against the SQLite file at `path`."""
    project = sample_project()
    with tempfile.TemporaryDirectory(prefix="runbook-demo-") as shim:
        ns = SimpleNamespace(django_dir=project, django_project=str(project),
                             django_settings="config.settings.dev", run_dir=shim,
                             db_name="unused", db_user="unused", db_host="localhost",
                             db_port=5432, sqlite_file=Path(path), password=None)
        return django_project.manage(ns, *args, database="sqlite", sqlite_path=path)


def insert(path: Path, rows: int, products: int, seed: int, progress: bool = False) -> dict:
    """Fill the migrated file in one fast transaction; return counts."""
    rng = random.Random(seed)
    start = PERIOD_END - timedelta(days=PERIOD_DAYS)
    prods = make_products(rng, products, start)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA journal_mode=MEMORY")
        conn.execute("PRAGMA cache_size=-262144")  # 256 MB of pages while building
        indexes = conn.execute("SELECT sql FROM sqlite_master WHERE type='index' AND "
                               "tbl_name='spc_qualitymeasurement' AND sql IS NOT NULL").fetchall()
        conn.execute("BEGIN")
        for (ddl,) in indexes:  # dropped for the load, rebuilt after it (faster than in place)
            conn.execute("DROP INDEX " + ddl.split('"')[1])
        conn.executemany(
            "INSERT INTO spc_product (id, product_code, product_name, description, usl, lsl, "
            "target, unit, unit_cost, is_active, created_at, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", prods)
        conn.executemany(
            "INSERT INTO spc_qualitymeasurement (product_id, sample_group, value, measured_at, "
            "operator, note, is_out_of_spec, extra) VALUES (?,?,?,?,?,?,?,?)",
            tqdm(make_measurements(rng, prods, rows, start), total=rows, unit=t(SAY["unit"]),
                 unit_scale=True, mininterval=0.5, disable=not progress, leave=False))
        conn.executemany(
            "INSERT INTO auth_user (id, password, username, is_superuser, is_staff, is_active, "
            "first_name, last_name, email, date_joined) VALUES (?,?,?,?,?,?,?,?,?,?)",
            make_users(rng, start))
        for (ddl,) in indexes:
            conn.execute(ddl)
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=DELETE")
        bad = conn.execute("SELECT count(*) FROM spc_qualitymeasurement "
                           "WHERE is_out_of_spec").fetchone()[0]
    finally:
        conn.close()
    return {"rows": rows, "products": products, "users": 3, "out_of_spec": bad}


def clear_stale(target: Path) -> None:
    """Remove temp files of builds that were killed (their process is gone)."""
    for leftover in target.parent.glob(f".{target.name}.building-*"):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            leftover.unlink(missing_ok=True)


def build(path: str | os.PathLike, rows: int = 20000, products: int | None = None,
          seed: int = 42, force: bool = False, progress: bool = False) -> dict:
    """Build the sample SPC database at `path` (atomically: a temp file renamed at the end)."""
    target = Path(path).expanduser().resolve()
    if target.exists() and not force:
        raise DemoExists(ERRORS["exists"], ERRORS["exists_fix"], target=str(target))
    if rows < 0 or (products is not None and products < 1):
        raise RunbookError(ERRORS["counts"], ERRORS["counts_fix"], rows=rows, products=products)
    target.parent.mkdir(parents=True, exist_ok=True)
    clear_stale(target)
    began = time.perf_counter()
    tmp = target.with_name(f".{target.name}.building-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        manage(tmp, "migrate", "--noinput")
        info = insert(tmp, rows, products or product_count(rows), seed, progress)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return {"path": str(target), **info, "seed": seed,
            "seconds": round(time.perf_counter() - began, 2), "bytes": target.stat().st_size}


def is_sample_path(file: Path) -> bool:
    """Whether `file` is exactly the sample project's own database (`SAMPLE_DB`), the one
    file the runbook builds on demand; a near miss (`db.sqlite`) is not."""
    samples = {(base / SAMPLE_DB).resolve() for base in (paths.project_root(),
                                                          paths.PACKAGE_DIR.parent)}
    return file.resolve() in samples


def missing_source(file: Path) -> SourceError:
    """The error for a `sqlite_path` that names no file: the path and the closest file."""
    near = paths.closest_file(file)
    if near is not None:
        return SourceError(ERRORS["missing_near"], ERRORS["missing_near_fix"], file=str(file),
                           near=str(near))
    return SourceError(ERRORS["missing"], ERRORS["missing_fix"], file=str(file), sample=SAMPLE_DB)


def check_source(settings) -> Path:
    """The source file exists, or is the sample's own database (built later when missing);
    anything else raises `missing_source` before a stage writes anything."""
    file = Path(settings.sqlite_file)
    if file.is_file() or is_sample_path(file):
        return file
    raise missing_source(file)


def ensure_sample(settings) -> Path:
    """The source SQLite file; the sample's own database is built when missing (or empty)."""
    file = check_source(settings)
    if file.is_file() and file.stat().st_size > 0:
        return file
    if is_sample_path(file):
        build(file, rows=settings.demo_rows, force=True)
        return file
    return file  # an empty file that is not the sample: the snapshot step says what it is


HELP = {
    "rows": {"en": "measurements (default 20000)", "ko": "측정값 수 (기본 20000)"},
    "products": {"en": "products (default rows/2500, 20..400)",
                 "ko": "제품 수 (기본 rows/2500, 20..400)"},
    "out": {"en": "output file (default {path})", "ko": "만들 파일 (기본 {path})"},
    "seed": {"en": "random seed (default 42)", "ko": "난수 시드 (기본 42)"},
    "force": {"en": "replace an existing file", "ko": "있는 파일을 바꿈"},
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=20000, help=t(HELP["rows"]))
    parser.add_argument("--products", type=int, default=None, help=t(HELP["products"]))
    parser.add_argument("--out", default=None, help=t(HELP["out"], path=SAMPLE_DB))
    parser.add_argument("--seed", type=int, default=42, help=t(HELP["seed"]))
    parser.add_argument("--force", action="store_true", help=t(HELP["force"]))


def command(args: argparse.Namespace) -> int:
    out = paths.resolve(args.out) if args.out else paths.project_root() / SAMPLE_DB
    info = build(out, rows=args.rows, products=args.products, seed=args.seed, force=args.force,
                 progress=True)
    print(t(SAY["built"], path=terminal(info["path"])))
    print(t(SAY["counts"], rows=info["rows"], products=info["products"],
            out_of_spec=info["out_of_spec"], seconds=info["seconds"], mb=info["bytes"] / 1e6))
    return 0


__all__ = ["build", "ensure_sample", "check_source", "missing_source", "is_sample_path",
           "manage", "DemoExists", "sample_project"]
