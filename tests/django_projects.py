"""Helpers for the tests that migrate real Django projects (tests/projects/).

The oracle is the project itself: `orm_oracle.py` runs inside the project's own process and
reads every model back through its ORM (or inserts one new object per model); nothing of the
runbook's copy or comparison code is involved.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from runbook_lib import migrate
from runbook_lib.core import django_project

PROJECTS = Path(__file__).resolve().parent / "projects"
CACHE = Path(os.environ.get("RUNBOOK_TEST_CACHE", Path.home() / ".cache" / "runbook-tests"))


def oracle(settings, mode: str, database: str = "postgresql", sqlite_path=None) -> dict:
    """The project's ORM: `dump` (every model's rows) or `insert` (one new object each)."""
    script = (PROJECTS / "orm_oracle.py").read_text()
    saved = os.environ.get("RUNBOOK_ORACLE")
    os.environ["RUNBOOK_ORACLE"] = mode
    try:
        out = django_project.manage(settings, "shell", "-c", script, database=database,
                                    sqlite_path=sqlite_path, timeout=900).stdout
    finally:
        if saved is None:
            os.environ.pop("RUNBOOK_ORACLE", None)
        else:
            os.environ["RUNBOOK_ORACLE"] = saved
    return json.loads(next(x for x in out.splitlines() if x.startswith("ORACLE "))[7:])


def differences(source: dict, target: dict, skip: tuple = ()) -> list:
    """Models whose rows differ, field by field (the first few differences each)."""
    out = []
    for label, side in source.items():
        if label in skip:
            continue
        other = target.get(label)
        if other is None or len(other["rows"]) != len(side["rows"]):
            out.append((label, "rows", len(side["rows"]), other and len(other["rows"])))
            continue
        for a, b in zip(side["rows"], other["rows"], strict=True):
            if a != b:
                out.append((label, [(f, x, y) for f, x, y in zip(side["fields"], a, b,
                                                                    strict=True) if x != y]))
                break
    return out


def venv(requirements: Path) -> Path:
    """A virtualenv holding `requirements`, built once and cached outside the repository
    (~/.cache/runbook-tests/<name>-<hash>, keyed by the requirements and this Python); its
    python. A build that was interrupted (no `.complete` stamp) is started over."""
    digest = hashlib.sha256(requirements.read_bytes() + sys.version.encode()).hexdigest()[:12]
    home = CACHE / f"{requirements.parent.name}-{digest}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test sessions build it once
        if not (home / ".complete").is_file():
            shutil.rmtree(home, ignore_errors=True)
            fresh_venv(home, "-r", str(requirements))
            (home / ".complete").write_text(requirements.read_text())
    return home / "bin" / "python"


def fresh_venv(folder: Path, *packages: str) -> Path:
    """A new virtualenv with only `packages` (pip's cache makes this quick); its python."""
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    if packages:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        *packages], check=True, timeout=600)
    return python


def notebook03(settings):
    """Stage 03 step by step, as the notebook runs it; the migration and its checks."""
    m = migrate.Migration(settings, progress=False)
    try:
        for step in (m.take_snapshot, m.introspect, m.make_plan, m.prepare_target,
                     m.check_values, m.load, m.finish):
            step()
        return m, migrate.stage_checks(m)
    finally:
        m.close()


def copy_project(name: str, dest: Path) -> Path:
    """A copy of tests/projects/<name> (without caches or databases) in `dest`."""
    target = dest / name
    shutil.copytree(PROJECTS / name, target,
                    ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3", "venv"))
    return target
