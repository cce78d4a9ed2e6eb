"""A run folder's `summary.json`: written atomically, and the process that runs it.

The summary names its process by pid and start time (`process_marks`), so `alive` can tell a
run still going from one killed outright (the pid alone could have been reused).
"""

from __future__ import annotations

import json
from pathlib import Path

import psutil

from ..core import files
from ..core.secrets import scrub, scrub_all

NAME = "summary.json"


def read(folder: Path) -> dict | None:
    """The summary, or None when the folder holds no readable one."""
    try:
        data = json.loads((Path(folder) / NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write(folder: Path, summary: dict) -> None:
    """Write it atomically and private (a kill never leaves half a file), secrets scrubbed."""
    files.write_private(Path(folder) / NAME,
                        scrub(json.dumps(scrub_all(summary), indent=2, default=str)))


def process_marks() -> dict:
    """pid and start time of this process: together they name it even after pid reuse."""
    me = psutil.Process()
    return {"pid": me.pid, "pid_started": me.create_time()}


def alive(marks: dict) -> bool:
    """Whether the process recorded in `marks` (pid, pid_started) still runs."""
    pid = marks.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool):
        return False
    try:
        return abs(psutil.Process(pid).create_time() - float(marks.get("pid_started") or 0)) < 1
    except (psutil.Error, ValueError, TypeError):
        return False


__all__ = ["NAME", "read", "write", "process_marks", "alive"]
