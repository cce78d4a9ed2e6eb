"""A throwaway copy of the project's runnable parts for tests that run whole stages.

Notebooks, profiles and the sample Django project, without any SQLite data, `.env` or
caches, so every run builds the sample itself, as on a fresh clone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("notebooks", "parameters", "examples")


def _ignore(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if ".sqlite3" in n or n in ("__pycache__", ".env")}


def copy_project(dest: Path) -> Path:
    """Copy PARTS of the checkout into `dest` (created if needed); return `dest`."""
    for part in PARTS:
        shutil.copytree(ROOT / part, dest / part, ignore=_ignore)
    return dest
