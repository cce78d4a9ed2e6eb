"""`runbook run --resume [RUN_DIR]`: which run to continue, and from which stage.

The run is the one named, else the latest that failed, was killed or interrupted (killed runs
are found first: `history.reap`); its stages from the first that is not ok, or from `--from`.
The run's own parameters and stage selection come from its `summary.json`.
"""

from __future__ import annotations

from pathlib import Path

from ..core import paths
from ..core.errors import ConfigError
from . import history, summary

DONE = ("ok", "warn", "skip")  # a stage with one of these needs no second run
UNFINISHED = ("failed", "killed", "interrupted")


def _latest_unfinished() -> Path:
    found = [(s.get("attempt_started") or s.get("started") or "", f)
             for f in history.run_folders() if (s := history.reap(f))
             and s.get("status") in UNFINISHED]
    if not found:
        raise ConfigError(f"No failed or killed run to resume in {paths.runs_dir()}.",
                          "Name the run folder: runbook run --resume runs/<run_id>, or start "
                          "a new run with --params.")
    return max(found)[1]


def _start(run: dict, selection: list[str], start: str | None) -> int:
    """Index in `selection` of the first stage to run."""
    if start:
        at = [i for i, stem in enumerate(selection) if stem.startswith(start)]
        if not at:
            raise ConfigError(f"--from {start}: run {run.get('run_id')} has no such stage.",
                              f"Its stages: {', '.join(s[:2] for s in selection)}.")
        return at[0]
    status = {s.get("notebook", "").removesuffix(".ipynb"): s.get("status")
              for s in run.get("stages", [])}
    for i, stem in enumerate(selection):
        if status.get(stem) not in DONE:
            return i
    raise ConfigError(f"Run {run.get('run_id')} ended {run.get('status')}: every stage is "
                      "ok, nothing to resume.",
                      f"Re-run stages with --resume {run.get('run_id')} --from NN, or start a "
                      "new run with --params.")


def _folder(run_dir: str) -> Path:
    folder = paths.resolve(run_dir)
    if not folder.is_dir() and (paths.runs_dir() / run_dir).is_dir():
        folder = paths.runs_dir() / run_dir  # a bare run id
    return folder


def plan(run_dir: str | None, start: str | None) -> tuple[Path, dict, list[str]]:
    """(folder, summary, stages to run) for `--resume [RUN_DIR]` and `--from NN`."""
    folder = _folder(run_dir) if run_dir else _latest_unfinished()
    run = history.reap(folder)
    if run is None:
        raise ConfigError(f"{folder} holds no readable {summary.NAME}: it is not a run folder.",
                          "Name a folder under runs/ written by `runbook run`.")
    if run.get("status") == "running":
        raise ConfigError(f"Run {run.get('run_id')} is still running (pid {run.get('pid')}).",
                          "Wait for it to end, or stop that process; then --resume it.")
    if "params" not in run or "selection" not in run:
        raise ConfigError(f"Run {run.get('run_id')} was written by an older runbook that did "
                          "not record its parameters.",
                          f"Start it again: runbook run --params {run.get('params_file')} "
                          f"--run-dir {folder}.")
    selection = list(run["selection"])
    return folder, run, selection[_start(run, selection, start):]


__all__ = ["DONE", "UNFINISHED", "plan"]
