"""State shared between the notebooks of one run: `runs/<run_id>/manifest.json`."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

NAME = "manifest.json"


def path(run_dir: str | Path) -> Path:
    return Path(run_dir) / NAME


def read(run_dir: str | Path) -> dict[str, Any]:
    file = path(run_dir)
    return json.loads(file.read_text()) if file.is_file() else {}


def update(run_dir: str | Path, section: str, value: Any) -> dict[str, Any]:
    """Set one top-level section and write the manifest atomically."""
    data = read(run_dir)
    data[section] = value
    file = path(run_dir)
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".manifest-")
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, default=str)
    os.replace(tmp, file)
    return data


def record_stage(run_dir: str | Path, stage: str, status: str, **details: Any) -> None:
    """A notebook records its own verdict (ok/warn/skip) for the run summary to read."""
    stages = read(run_dir).get("stages", {})
    stages[stage] = {"status": status, **details}
    update(run_dir, "stages", stages)


__all__ = ["NAME", "path", "read", "update", "record_stage"]
