"""The embedded server's port, chosen once and remembered in `.runbook/server.json`.

The first start uses `db_port` (55432 unless given); every start records the port it listens
on beside the server's data folder, so a later run, a notebook opened in the lab or `runbook
server start` without `db_port` finds the server where it is.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from . import paths

NAME = "server.json"


def file(state: Path | None = None) -> Path:
    return (state or paths.state_dir()) / NAME


def read(state: Path | None = None) -> int | None:
    """The remembered port, or None (never started, or the file is unreadable)."""
    try:
        port = json.loads(file(state).read_text(encoding="utf-8")).get("port")
    except (OSError, ValueError, AttributeError):
        return None
    return port if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536 \
        else None


def write(port: int, state: Path | None = None) -> Path:
    """Remember `port` (atomically, mode 600)."""
    target = file(state)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".server-")
    with os.fdopen(fd, "w") as fh:
        json.dump({"port": int(port)}, fh)
    os.replace(tmp, target)
    return target


__all__ = ["NAME", "file", "read", "write"]
