"""`runbook run --resume [RUN_DIR]`: which run to continue, and from which stage.

The run is the one named, else the latest that failed, was killed or interrupted (killed runs
are found first: `history.reap`); its stages from the first that is not ok, or from `--from`.
The run's own parameters and stage selection come from its `summary.json`.
"""

from __future__ import annotations

from pathlib import Path

from ..core import paths
from ..core.display import WORDS
from ..core.errors import ConfigError
from . import history, summary

ERRORS = {
    "none": {"en": "No failed or killed run to resume in {runs}.",
             "ko": "{runs}에 이어서 할 실패했거나 강제 종료된 실행이 없습니다."},
    "none_fix": {"en": "Name the run folder: runbook run --resume runs/<run_id>, or start a new "
                       "run with --params.",
                 "ko": "실행 폴더를 지정하거나(runbook run --resume runs/<run_id>), --params로 새 "
                       "실행을 시작하세요."},
    "no_stage": {"en": "--from {start}: run {run} has no such stage.",
                 "ko": "--from {start}: 실행 {run}에는 그런 단계가 없습니다."},
    "its_stages": {"en": "Its stages: {stages}.", "ko": "이 실행의 단계: {stages}."},
    "all_ok": {"en": "Run {run} ended {status}: every stage is ok, nothing to resume.",
               "ko": "실행 {run}은(는) {status} 상태로 끝났습니다: 모든 단계가 정상이라 이어서 할 "
                     "것이 없습니다."},
    "all_ok_fix": {"en": "Re-run stages with --resume {run} --from NN, or start a new run with "
                         "--params.",
                   "ko": "--resume {run} --from NN으로 단계를 다시 실행하거나 --params로 새 실행을 "
                         "시작하세요."},
    "not_run": {"en": "{folder} holds no readable {name}: it is not a run folder.",
                "ko": "{folder}에 읽을 수 있는 {name}이(가) 없습니다: 실행 폴더가 아닙니다."},
    "not_run_fix": {"en": "Name a folder under runs/ written by `runbook run`.",
                    "ko": "`runbook run`이 만든 runs/ 아래의 폴더를 지정하세요."},
    "running": {"en": "Run {run} is still running (pid {pid}).",
                "ko": "실행 {run}이(가) 아직 진행 중입니다(pid {pid})."},
    "running_fix": {"en": "Wait for it to end, or stop that process; then --resume it.",
                    "ko": "끝날 때까지 기다리거나 그 프로세스를 멈춘 뒤 --resume 하세요."},
    "old": {"en": "Run {run} was written by an older runbook that did not record its "
                  "parameters.",
            "ko": "실행 {run}은(는) 매개변수를 기록하지 않던 이전 버전의 runbook이 만들었습니다."},
    "old_fix": {"en": "Start it again: runbook run --params {params} --run-dir {folder}.",
                "ko": "다시 시작하세요: runbook run --params {params} --run-dir {folder}."},
}

DONE = ("ok", "warn", "skip")  # a stage with one of these needs no second run
UNFINISHED = ("failed", "killed", "interrupted")


def _latest_unfinished() -> Path:
    found = [(s.get("attempt_started") or s.get("started") or "", f)
             for f in history.run_folders() if (s := history.reap(f))
             and s.get("status") in UNFINISHED]
    if not found:
        raise ConfigError(ERRORS["none"], ERRORS["none_fix"], runs=str(paths.runs_dir()))
    return max(found)[1]


def _start(run: dict, selection: list[str], start: str | None) -> int:
    """Index in `selection` of the first stage to run."""
    if start:
        at = [i for i, stem in enumerate(selection) if stem.startswith(start)]
        if not at:
            raise ConfigError(ERRORS["no_stage"], ERRORS["its_stages"], start=start,
                              run=str(run.get("run_id")),
                              stages=", ".join(s[:2] for s in selection))
        return at[0]
    status = {s.get("notebook", "").removesuffix(".ipynb"): s.get("status")
              for s in run.get("stages", [])}
    for i, stem in enumerate(selection):
        if status.get(stem) not in DONE:
            return i
    raise ConfigError(ERRORS["all_ok"], ERRORS["all_ok_fix"], run=str(run.get("run_id")),
                      status=WORDS.get(run.get("status")) or str(run.get("status")))


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
        raise ConfigError(ERRORS["not_run"], ERRORS["not_run_fix"], folder=str(folder),
                          name=summary.NAME)
    if run.get("status") == "running":
        raise ConfigError(ERRORS["running"], ERRORS["running_fix"], run=str(run.get("run_id")),
                          pid=str(run.get("pid")))
    if "params" not in run or "selection" not in run:
        raise ConfigError(ERRORS["old"], ERRORS["old_fix"], run=str(run.get("run_id")),
                          params=str(run.get("params_file")), folder=str(folder))
    selection = list(run["selection"])
    return folder, run, selection[_start(run, selection, start):]


__all__ = ["DONE", "UNFINISHED", "plan"]
