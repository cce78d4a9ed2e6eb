"""The guide's other methods: A `loaddata` (dumpdata → migrate → loaddata) and B `pgloader`.

Both reuse the copy engine's snapshot, target checks, sequences and manifest, so validation
reads the same section. Their known defects are stated before they run: `loaddata` truncates
timestamps to milliseconds and holds the whole fixture in memory; pgloader exits 0 after
fatal errors (its summary and our own row counts are what we trust).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import warnings
from pathlib import Path
from typing import Protocol

from ..core.errors import MigrationError
from ..core.i18n import t
from ..core.secrets import scrub
from . import postload, schema
from .wording import ERRORS, SAY


class Migration(Protocol):
    """What a load method uses of the running migration (`steps.Migration`)."""

    settings: object
    snapshot: Path
    timezone: str
    plan: schema.Plan
    results: list[dict]
    notes: list[str]

    def connect(self): ...

__all__ = ["load", "pgloader_path", "load_file", "check_available", "WARNINGS"]

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
INSTALL = {"en": "apt-get install -y pgloader (Debian/Ubuntu), brew install pgloader (macOS), "
                 "or docker run --rm dimitri/pgloader; or use method: copy (the default)",
           "ko": "apt-get install -y pgloader(Debian/Ubuntu), brew install pgloader(macOS) 또는 "
                 "docker run --rm dimitri/pgloader. 아니면 method: copy(기본값)를 쓰세요"}


def pgloader_path() -> str | None:
    return shutil.which("pgloader")


def _count(m: Migration) -> list[dict]:
    """Rows now in each target table: what the manifest reports as loaded."""
    conn = m.connect()
    try:
        with conn.cursor() as cur:
            out = []
            for tp in m.plan.tables:
                cur.execute(f'SELECT count(*) FROM "{tp.name.replace(chr(34), chr(34) * 2)}"')
                out.append({"table": tp.name, "rows": cur.fetchone()[0], "bytes": 0,
                            "seconds": 0.0, "slice": 0})
            return out
    finally:
        conn.close()


# -- method A: dumpdata / loaddata ---------------------------------------------------------------
def load_loaddata(m: Migration) -> str:
    """dumpdata from the snapshot (natural keys, no contenttypes/permissions), then loaddata."""
    from ..core.django_project import manage

    settings = m.settings
    if settings.schema != "django" or not settings.django_project:
        raise MigrationError(ERRORS["loaddata_needs_django"],
                             ERRORS["loaddata_needs_django_fix"])
    warnings.warn(t(WARNINGS["loaddata"], settings.language), stacklevel=2)
    fixture = Path(settings.run_dir) / "dumpdata.json"
    args = ["dumpdata", "--natural-foreign", "--natural-primary", "--indent", "0"]
    args += [a for name in EXCLUDED for a in ("--exclude", name)] + ["-o", str(fixture)]
    began = time.perf_counter()
    manage(settings, *args, database="sqlite", sqlite_path=m.snapshot)
    postload.apply(m.connect, m.plan.steps, settings.workers)  # loaddata needs the keys
    m.plan.steps = []
    manage(settings, "loaddata", str(fixture))
    m.results = _count(m)
    m.notes.append(t(SAY["sequences_reset"], settings.language))
    return t(SAY["loaddata_done"], settings.language, seconds=time.perf_counter() - began)


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


def load_pgloader(m: Migration) -> str:
    """Run pgloader on the snapshot with a generated load file; trust our counts, not its exit."""
    check_available()
    settings = m.settings
    run = Path(settings.run_dir)
    command = run / "pgloader.load"
    command.write_text(load_file(settings, m.snapshot, m.timezone))
    env = dict(os.environ)
    if settings.password:
        env[PASSWORD_VAR] = settings.password.reveal()
    began = time.perf_counter()
    done = subprocess.run([pgloader_path(), "--summary", str(run / "pgloader-summary.json"), "--logfile",
                           str(run / "pgloader.log"), str(command)],
                          capture_output=True, text=True, env=env, cwd=run, timeout=7200)
    (run / "pgloader.out").write_text(scrub(done.stdout + done.stderr))
    if done.returncode != 0:
        tail = scrub("\n".join((done.stderr or done.stdout).strip().splitlines()[-5:]))
        raise MigrationError(ERRORS["pgloader_failed"], ERRORS["pgloader_fix"],
                             code=done.returncode, tail=tail, log=str(run / "pgloader.log"))
    errors = summary_errors(run / "pgloader-summary.json")
    if errors:
        raise MigrationError(ERRORS["pgloader_errors"], ERRORS["pgloader_fix"], n=errors,
                             log=str(run / "pgloader.log"))
    m.results = _count(m)
    return t(SAY["pgloader_done"], settings.language, seconds=time.perf_counter() - began)


def summary_errors(path: Path) -> int:
    """Errors in pgloader's --summary file (its JSON is not always valid: read the counts)."""
    text = path.read_text(errors="replace") if path.is_file() else ""
    return sum(int(n) for n in re.findall(r'"ERRS":\s*(\d+)', text))


def check_available() -> None:
    if pgloader_path() is None:
        raise MigrationError(ERRORS["pgloader_missing"], ERRORS["pgloader_missing_fix"],
                             install=INSTALL)


def load(m: Migration) -> str:
    """Load the data of a prepared migration with the method the settings name."""
    if m.settings.method == "loaddata":
        return load_loaddata(m)
    if m.settings.method == "pgloader":
        return load_pgloader(m)
    raise MigrationError(ERRORS["unknown_method"], ERRORS["unknown_method_fix"],
                         method=repr(m.settings.method))
