"""The guide's other methods: A `loaddata` (dumpdata → migrate → loaddata) and B `pgloader`.

Both reuse the copy engine's snapshot, target checks, sequences and manifest, so validation
reads the same section. Their known defects are stated before they run: `loaddata` truncates
timestamps to milliseconds and holds the whole fixture in memory; pgloader exits 0 after
fatal errors (its summary and our own row counts are what we trust).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import warnings
from pathlib import Path

from . import postload
from .errors import MigrationError
from .i18n import t
from .migrate import Migration, MigrationResult
from .secrets import scrub

__all__ = ["run", "pgloader_path", "load_file", "WARNINGS"]

WARNINGS = {
    "loaddata": {"en": "method loaddata (the guide's method A) is lossy and slow: Django's JSON "
                       "encoder truncates every timestamp to milliseconds, the whole fixture is "
                       "held in memory, and ~1M rows take about 15 minutes. Validation will "
                       "report the truncated timestamps. method: copy has none of this.",
                 "ko": "loaddata 방식(가이드의 방법 A)은 손실이 있고 느립니다: Django JSON 인코더가 "
                       "모든 타임스탬프를 밀리초로 자르고, 전체 픽스처를 메모리에 올리며, 약 100만 행에 "
                       "15분 정도 걸립니다. 검증 단계가 잘린 타임스탬프를 보고합니다. method: copy 에는 "
                       "이런 문제가 없습니다."},
    "pgloader": {"en": "method pgloader (the guide's method B) loads data only, into the schema "
                       "the runbook built (its own casting turns REAL into 4-byte real and drops "
                       "NOT NULL), with the session time zone set explicitly.",
                 "ko": "pgloader 방식(가이드의 방법 B)은 런북이 만든 스키마에 데이터만 적재합니다 "
                       "(pgloader 자체 캐스팅은 REAL 을 4바이트 real 로 바꾸고 NOT NULL 을 없앱니다). "
                       "세션 시간대는 명시적으로 설정합니다."},
}
EXCLUDED = ("contenttypes", "auth.permission", "admin.logentry", "sessions")
INSTALL = ("apt-get install -y pgloader (Debian/Ubuntu), brew install pgloader (macOS), or "
           "docker run --rm dimitri/pgloader; or use method: copy (the default)")


def pgloader_path() -> str | None:
    return shutil.which("pgloader")


def _prepare(settings, progress: bool, keep_migrate_rows: bool = False) -> Migration:
    """Snapshot, plan and an empty target schema (Django's or the SQLite-derived one)."""
    m = Migration(settings, progress)
    m.keep_migrate_rows = keep_migrate_rows
    m.take_snapshot()
    m.inspect()
    m.make_plan()
    if not settings.dry_run:
        m.prepare_target()
    return m


def _finish(m: Migration) -> MigrationResult:
    conn = m.connect()
    try:
        counts = {}
        with conn.cursor() as cur:
            for tp in m.plan.tables:
                cur.execute(f'SELECT count(*) FROM "{tp.name.replace(chr(34), chr(34) * 2)}"')
                counts[tp.name] = cur.fetchone()[0]
    finally:
        conn.close()
    m.results = [{"table": n, "rows": c, "bytes": 0, "seconds": 0.0, "slice": 0}
                 for n, c in counts.items()]
    m.finish()
    return m.result()


# -- method A: dumpdata / loaddata ---------------------------------------------------------------
def run_loaddata(settings, progress: bool = True) -> MigrationResult:
    from .djangoproj import manage

    if settings.schema != "django" or not settings.django_project:
        raise MigrationError("method loaddata needs a Django project (schema: django).",
                             "Set django_project, or use method: copy for a plain SQLite file.")
    warnings.warn(t(WARNINGS["loaddata"], settings.language), stacklevel=2)
    m = _prepare(settings, progress, keep_migrate_rows=True)
    if settings.dry_run or not settings.data:
        return m.result()
    fixture = Path(settings.run_dir) / "dumpdata.json"
    args = ["dumpdata", "--natural-foreign", "--natural-primary", "--indent", "0"]
    args += [a for name in EXCLUDED for a in ("--exclude", name)] + ["-o", str(fixture)]
    manage(settings, *args, database="sqlite", sqlite_path=m.snapshot)
    postload.apply(m.connect, m.plan.steps, settings.workers)  # loaddata needs the keys
    m.plan.steps = []
    manage(settings, "loaddata", str(fixture))
    m.notes.append("sqlsequencereset: sequences set past max(id) and sqlite_sequence")
    return _finish(m)


# -- method B: pgloader ----------------------------------------------------------------------------
PASSWORD_VAR = "RUNBOOK_PGLOADER_PASSWORD"


def load_file(settings, snapshot: Path, timezone: str) -> str:
    """pgloader command file: data only, into the existing schema; the password stays in env."""
    password = f":{{{{{PASSWORD_VAR}}}}}" if settings.password else ""
    return (f"LOAD DATABASE\n"
            f"  FROM sqlite://{snapshot}\n"
            f"  INTO postgresql://{settings.db_user}{password}@{settings.db_host}:"
            f"{settings.db_port}/{settings.db_name}\n"
            f"  WITH data only, create no tables, create no indexes, reset no sequences,\n"
            f"       workers = {max(2, settings.workers * 2)}, concurrency = 1\n"
            f"  SET PostgreSQL PARAMETERS timezone TO '{timezone}'\n"
            f"  EXCLUDING TABLE NAMES LIKE 'sqlite_%';\n")


def _summary(path: Path) -> dict:
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except json.JSONDecodeError:
        return {}


def run_pgloader(settings, progress: bool = True) -> MigrationResult:
    binary = pgloader_path()
    if binary is None:
        raise MigrationError("method pgloader: the pgloader program is not installed.",
                             f"Install it: {INSTALL}.")
    m = _prepare(settings, progress)
    if settings.dry_run or not settings.data:
        return m.result()
    run = Path(settings.run_dir)
    command = run / "pgloader.load"
    command.write_text(load_file(settings, m.snapshot, m.timezone))
    env = dict(os.environ)
    if settings.password:
        env[PASSWORD_VAR] = settings.password.reveal()
    began = time.perf_counter()
    done = subprocess.run([binary, "--no-ssl-cert-verification", "--summary",
                           str(run / "pgloader-summary.json"), "--logfile",
                           str(run / "pgloader.log"), str(command)],
                          capture_output=True, text=True, env=env, cwd=run, timeout=7200)
    m.notes.append(f"pgloader exited {done.returncode} after {time.perf_counter() - began:.1f} s")
    (run / "pgloader.out").write_text(scrub(done.stdout + done.stderr))
    if done.returncode != 0:
        tail = scrub("\n".join((done.stderr or done.stdout).strip().splitlines()[-5:]))
        raise MigrationError(f"pgloader failed (exit {done.returncode}): {tail}",
                             f"Read {run / 'pgloader.log'}; or use method: copy.")
    m.profile = None
    return _finish(m)


def run(settings, progress: bool = True) -> MigrationResult:
    """Dispatch to the method the settings name."""
    if settings.method == "loaddata":
        return run_loaddata(settings, progress)
    if settings.method == "pgloader":
        return run_pgloader(settings, progress)
    raise MigrationError(f"Unknown method {settings.method!r}.", "Use copy, loaddata or pgloader.")
