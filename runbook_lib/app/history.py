"""`runbook history`: who ran what, with which parameters, and how it ended.

An append-only file, `.runbook/history.jsonl` (mode 600): `runbook run` appends one JSON line
when a run (or a resumed attempt) starts and one when it ends; a run found killed later gets
its closing line then (`reap`: every `runbook run` and `runbook history` looks first). Each line is written with one `write` on a file opened `O_APPEND`
under an exclusive lock, so concurrent runs never interleave or tear lines; a line cut short
by a crash is skipped when reading. Parameters are recorded without secrets: passwords are
never parameters, and any value that holds a known secret or a DSN password is masked.
"""

from __future__ import annotations

import argparse
import fcntl
import getpass
import json
import os
import socket
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

from ..core import paths
from ..core.display import header, word
from ..core.errors import ConfigError
from ..core.escape import terminal
from ..core.i18n import t
from ..core.secrets import scrub, scrub_all
from . import summary

NAME = "history.jsonl"
COLUMNS = ["started", "run_id", "attempt", "user", "host", "profile", "outcome", "stages",
           "seconds", "report"]
FINAL = ("ok", "failed", "killed", "interrupted")
SAY = {
    "negative": {"en": "--limit {limit} is negative.", "ko": "--limit {limit}은(는) 음수입니다."},
    "negative_fix": {"en": "Give --limit 20, or 0 for all.",
                     "ko": "--limit 20처럼 주거나, 전부 보려면 0을 주세요."},
    "empty": {"en": "no runs recorded yet ({file})", "ko": "기록된 실행이 아직 없습니다 ({file})"},
    "limit_help": {"en": "last N attempts (default 20; 0: all)",
                   "ko": "마지막 N번의 시도 (기본 20, 0: 전부)"},
    "json_help": {"en": "one JSON object per line", "ko": "한 줄에 JSON 객체 하나"},
}


def file() -> Path:
    return paths.state_dir() / NAME


def who() -> tuple[str, str]:
    """(OS user, host name) of this process."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no $USER (some containers)
        user = f"uid {os.getuid()}"
    return user, socket.gethostname()


def public_parameters(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters as they may be recorded: nothing secret-looking, values scrubbed."""
    return {name: scrub_all(value) for name, value in params.items()
            if "password" not in name.lower() or name.endswith("_env")}  # config refuses them


def entry(run: dict, folder: Path, event: str) -> dict[str, Any]:
    """One history line from a run's summary (`event`: start or end)."""
    stages = [{"stage": s.get("stage"), "status": s.get("status"),
               "duration_s": s.get("duration_s")} for s in run.get("stages", [])]
    report = folder / "report.html"
    return {"event": event, "run_id": run.get("run_id"), "attempt": run.get("attempt", 1),
            "started": run.get("attempt_started") or run.get("started"),
            "finished": run.get("finished", ""), "user": run.get("user"),
            "host": run.get("host"), "profile": run.get("params_file"),
            "parameters": public_parameters(run.get("params") or {}),
            "stages": stages, "outcome": run.get("status"), "run_dir": str(folder),
            "report": str(report) if event == "end" and report.is_file() else "",
            "pid": run.get("pid"), "pid_started": run.get("pid_started")}


def append(line: dict[str, Any]) -> Path:
    """Append one line atomically (one write under an exclusive lock), file mode 600."""
    target = file()
    paths.make_state_dir()
    text = json.dumps(scrub_all(line), default=str, ensure_ascii=False)
    data = (scrub(text) + "\n").encode("utf-8")
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock
    return target


def read() -> list[dict[str, Any]]:
    """Every well-formed line, oldest first (a torn last line after a crash is skipped)."""
    target = file()
    if not target.is_file():
        return []
    out = []
    with open(target, encoding="utf-8", errors="replace") as fh:
        for text in fh:
            try:
                line = json.loads(text)
            except ValueError:
                continue
            if isinstance(line, dict) and line.get("run_id"):
                out.append(line)
    return out


def reap(folder: Path) -> dict | None:
    """The run's summary; a "running" one whose process is gone was killed: it is marked so
    (with the stage it was in), and its history line closed."""
    found = summary.read(folder)
    if not found or found.get("status") != "running" or summary.alive(found):
        return found
    for stage in found.get("stages", []):
        if stage.get("status") == "running":
            stage["status"] = "killed"
    now = time.strftime("%Y-%m-%dT%H:%M:%S")
    found.update(status="killed", finished=found.get("finished") or now, killed_seen=now)
    summary.write(folder, found)
    append(entry(found, folder, "end"))
    return found


def run_folders() -> list[Path]:
    root = paths.runs_dir()
    return sorted(p.parent for p in root.glob(f"*/{summary.NAME}")) if root.is_dir() else []


def reap_all() -> None:
    """Mark every killed run of this project (the runbook looks at each run folder)."""
    for folder in run_folders():
        reap(folder)


def runs() -> list[dict[str, Any]]:
    """One row per run attempt, its latest line winning; a 'running' attempt whose process
    is gone (its folder deleted before anyone looked) shows as killed."""
    folded: dict[tuple, dict] = {}
    for line in read():
        folded[(line["run_id"], line.get("attempt", 1))] = line
    rows = list(folded.values())
    for row in rows:
        if row.get("outcome") == "running" and not summary.alive(row):
            row["outcome"] = "killed"
    return rows


def _stages(row: dict) -> str:
    return " ".join(f"{s.get('stage')}:{s.get('status')}" for s in row.get("stages") or [])


def _row(line: dict) -> dict[str, Any]:
    seconds = sum(s.get("duration_s") or 0 for s in line.get("stages") or [])
    return {"started": line.get("started"), "run_id": line.get("run_id"),
            "attempt": line.get("attempt", 1), "user": line.get("user"),
            "host": line.get("host"), "profile": line.get("profile"),
            "outcome": line.get("outcome"), "stages": _stages(line),
            "seconds": round(seconds, 1), "report": line.get("report") or "",
            "parameters": line.get("parameters") or {}}


def frame(limit: int | None = None):
    """The history as a DataFrame, newest last (notebook 00 shows it; the outcome is its
    `status` column, shown in the notebook's language)."""
    import pandas as pd

    rows = [_row(r) for r in runs()]
    rows = rows[-limit:] if limit else rows
    out = pd.DataFrame(rows, columns=[*COLUMNS, "parameters"]).rename(
        columns={"outcome": "status"})
    out.attrs["code"] = ["run_id", "profile", "stages", "report", "parameters"]
    return out


def _width(text: str) -> int:
    """Columns `text` takes on a terminal (Hangul and other wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(rows: list[dict[str, Any]], language: str | None = None) -> str:
    """A plain-text table of the rows (COLUMNS), every cell escaped for the terminal; headers
    and outcomes in `language` (default: the run's)."""
    heads = [header(c, language) for c in COLUMNS]
    cells = [[terminal(word(r.get(c), language) if c == "outcome" else r.get(c))
              for c in COLUMNS] for r in rows]
    widths = [max([_width(h)] + [_width(row[i]) for row in cells]) for i, h in enumerate(heads)]

    def line(values: list[str]) -> str:
        return "  ".join(v + " " * (w - _width(v))
                         for v, w in zip(values, widths, strict=True)).rstrip()

    return "\n".join([line(heads), line(["-" * w for w in widths])]
                     + [line(row) for row in cells])


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=20, help=t(SAY["limit_help"]))
    parser.add_argument("--json", action="store_true", help=t(SAY["json_help"]))


def command(args: argparse.Namespace, out=sys.stdout) -> int:
    if args.limit < 0:
        raise ConfigError(SAY["negative"], SAY["negative_fix"], limit=args.limit)
    reap_all()  # a run killed since is marked so before it is listed
    rows = runs()
    rows = rows[-args.limit:] if args.limit else rows
    if args.json:
        for r in rows:
            print(json.dumps(r, ensure_ascii=True, default=str), file=out)
    elif not rows:
        print(t(SAY["empty"], file=terminal(file())), file=out)
    else:
        print(table([_row(r) for r in rows]), file=out)
    return 0


__all__ = ["NAME", "file", "who", "public_parameters", "entry", "append", "read", "reap",
           "reap_all", "run_folders", "runs", "frame", "table", "configure", "command"]
