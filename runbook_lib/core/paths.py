"""Where things live: the project root, the runbook's private state, the run folders."""

from __future__ import annotations

import difflib
import os
from datetime import datetime
from pathlib import Path
from secrets import token_hex

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # runbook_lib/


def project_root() -> Path:
    """The runbook checkout: $RUNBOOK_HOME, else the nearest folder holding notebooks/."""
    env = os.environ.get("RUNBOOK_HOME")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "notebooks").is_dir() and (folder / "parameters").is_dir():
            return folder
    source_checkout = PACKAGE_DIR.parent
    if (source_checkout / "notebooks").is_dir():
        return source_checkout
    return here


def state_dir() -> Path:
    """`.runbook/`: embedded server data and generated secrets (never committed)."""
    return project_root() / ".runbook"


def make_state_dir() -> Path:
    """`.runbook/`, created private (0700; 0710 for the embedded server's group as root)."""
    from .files import private_dir

    return private_dir(state_dir(), group_exec=True)


def runs_dir() -> Path:
    return project_root() / "runs"


def make_run_dir(folder: str | os.PathLike) -> Path:
    """A run folder (and `runs/` when it is under it), private, for a private process.

    Sets umask 077 for this process (and the kernels, servers and tools it starts), so every
    file written into the run from now on is private too.
    """
    from .files import private_dir, private_umask

    private_umask()
    folder = Path(folder)
    if runs_dir() in folder.parents:
        private_dir(runs_dir())
    return private_dir(folder)


def new_run_id() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S-") + token_hex(2)


def closest_file(path: str | os.PathLike) -> Path | None:
    """The existing file whose name is closest to `path`'s (difflib), in its folder or else
    in the nearest folder above that exists; None when nothing is close."""
    missing = Path(path)
    folder = missing.parent
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    try:
        files = {p.name: p for p in folder.iterdir() if p.is_file()}
    except OSError:
        return None
    close = difflib.get_close_matches(missing.name, list(files), n=1, cutoff=0.6)
    return files[close[0]] if close else None


def resolve(path: str | os.PathLike, base: Path | None = None) -> Path:
    """A path from a parameter: absolute as given, relative to the project root otherwise."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (base or project_root()) / p


__all__ = ["PACKAGE_DIR", "project_root", "state_dir", "make_state_dir", "runs_dir",
           "make_run_dir", "new_run_id", "resolve", "closest_file"]
