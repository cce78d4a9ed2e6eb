"""`runbook run`: execute the stage notebooks in order through papermill, headlessly."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..core import files, manifest, paths, strict_yaml
from ..core.config import check_parameters, load_profile
from ..core.errors import FIX_LABEL, ConfigError
from ..core.escape import terminal
from ..core.i18n import t
from ..core.secrets import scrub
from . import run_folder

# What `runbook run` prints, in the run's `language`.
SAY = {
    "start": {"en": "run {run}: {n} stage(s), results in {folder}",
              "ko": "실행 {run}: 단계 {n}개, 결과 폴더 {folder}"},
    "ok": {"en": "ok", "ko": "정상"},
    "warn": {"en": "warn", "ko": "경고"},
    "failed": {"en": "failed", "ko": "실패"},
    "failed_at": {"en": "FAILED: notebook {notebook}, cell {cell}: {type}: {message}",
                  "ko": "실패: 노트북 {notebook}, 셀 {cell}: {type}: {message}"},
    "diagnosis": {"en": "Diagnosis [{problem}]: {title}\nFix: {fix}",
                  "ko": "진단 [{problem}]: {title}\n해결 방법: {fix}"},
    "fix": {"en": "Fix: {fix}", "ko": "해결 방법: {fix}"},
    "report": {"en": "report: {path}", "ko": "보고서: {path}"},
    "removed": {"en": "Removed the stage's partial files: {files}",
                "ko": "이 단계가 남긴 불완전한 파일을 지웠습니다: {files}"},
}


@dataclass
class StageResult:
    stage: str
    notebook: str
    status: str = "pending"
    duration_s: float = 0.0
    error: dict | None = None
    diagnosis: dict | None = None
    html: str = ""
    details: dict = field(default_factory=dict)


def notebooks(language: str = "en") -> list[Path]:
    """The stage notebooks in `language`: notebooks/ for English, notebooks/<language>/ (the
    generated translations, see `app.translate`) for any other."""
    folder = paths.project_root() / "notebooks"
    return sorted((folder if language == "en" else folder / language).glob("[0-9][0-9]_*.ipynb"))


def select(only: str | None, language: str = "en") -> list[Path]:
    books = notebooks(language)
    if not only:
        return books
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    chosen = [b for b in books if any(b.name.startswith(w) for w in wanted)]
    known = ", ".join(b.name[:2] for b in books)
    missing = [w for w in wanted if not any(b.name.startswith(w) for b in books)]
    if missing:
        raise ConfigError(f"--only names unknown stage(s) {', '.join(missing)}.",
                          f"Known stages: {known}.")
    return chosen


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ConfigError(f"-p {pair!r} is not name=value.", "Write -p name=value.")
        name, raw = pair.split("=", 1)
        out[name.strip()] = strict_yaml.load(raw, f"-p {name.strip()}") if raw != "" else ""
    return check_parameters(out)


def _execute(book: Path, out: Path, params: dict, runtime: Path) -> None:
    import papermill

    papermill.execute_notebook(str(book), str(out), parameters=params, cwd=str(book.parent),
                               kernel_name="python3", progress_bar=False, log_output=False,
                               kernel_manager_class=run_folder.kernel_manager(runtime))


def _failure(exc: BaseException, params: dict) -> tuple[dict, dict]:
    from types import SimpleNamespace

    from ..core.diagnose import explain

    cell = getattr(exc, "exec_count", None)
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = scrub(str(getattr(exc, "evalue", exc)))
    message = evalue
    for label in FIX_LABEL.values():  # a runbook error's own fix goes to the diagnosis, once
        message = message.split(f"\n{label}: ", 1)[0]
    error = {"cell": cell, "cell_index": getattr(exc, "cell_index", None), "type": ename,
             "message": message}
    diagnosis = explain(f"{ename}: {evalue}", SimpleNamespace(**params)).as_dict()
    return error, diagnosis


def _render_html(executed: Path) -> str:
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:  # the settings cell's output summarises the parameters: show it once
        if {"parameters", "injected-parameters"} & set(cell.metadata.get("tags", [])):
            cell.metadata["transient"] = {"remove_source": True}
    body, _ = HTMLExporter().from_notebook_node(nb)
    target = executed.with_suffix(".html")
    files.write_private(target, scrub(body))
    return target.name


def run(params_file: str, only: str | None = None, run_dir: str | None = None,
        overrides: list[str] | None = None, out=sys.stdout) -> int:
    """Run the stages; return the exit status (0 only when every stage that ran is ok)."""
    params = load_profile(params_file)
    params.update(parse_overrides(overrides or []))
    books = select(only, params.get("language", "en"))
    run_id = paths.new_run_id()
    folder = paths.make_run_dir(paths.resolve(run_dir) if run_dir else paths.runs_dir() / run_id)
    params["run_dir"] = str(folder)
    os.environ.update(RUNBOOK_HOME=str(paths.project_root()), RUNBOOK_BATCH="1")
    with run_folder.lock(folder), run_folder.kernel_runtime() as runtime:
        return _run_stages(folder, books, params, str(params_file), runtime, out)


def _run_stages(folder: Path, books: list[Path], params: dict, params_file: str,
                runtime: Path, out) -> int:
    summary = {"run_id": folder.name, "params_file": params_file, "status": "running",
               "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "stages": []}
    lang = params.get("language", "en")
    print(t(SAY["start"], lang, run=terminal(folder.name), n=len(books), folder=terminal(folder)),
          file=out)
    failed = None
    for book in books:
        result = StageResult(stage=book.stem[:2], notebook=book.name)
        started, before = time.perf_counter(), run_folder.inventory(folder)
        try:
            _execute(book, folder / book.name, params, runtime)
            recorded = manifest.read(folder).get("stages", {}).get(book.stem, {})
            result.status = recorded.get("status", "ok")
            result.details = {k: v for k, v in recorded.items() if k != "status"}
        except Exception as exc:  # papermill, kernel or disk failure: record, diagnose, stop
            result.status = "failed"
            result.error, result.diagnosis = _failure(exc, params)
            failed = result
            if files.is_disk_full(exc) or files.is_disk_full(result.error["message"]):
                result.details["removed_partial_files"] = run_folder.remove_partial(
                    folder, before, protect=[paths.resolve(p) for p in
                                             [params.get("sqlite_path")] if p])
        result.duration_s = round(time.perf_counter() - started, 2)
        _add_html(result, folder / book.name)
        summary["stages"].append(asdict(result))
        _write_summary(folder, summary, out)
        status = t(SAY[result.status], lang) if result.status in SAY else result.status
        print(f"  [{status:>6}] {book.stem:<22} {result.duration_s:7.1f}s", file=out)
        if failed:
            break
    summary["status"] = "failed" if failed else "ok"
    summary["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    _write_summary(folder, summary, out)
    report = _write_report(folder, summary, out)
    if failed:
        _print_failure(failed, out, lang)
    if report:
        print(t(SAY["report"], lang, path=report), file=out)
    return 1 if failed else 0


def _add_html(result: StageResult, executed: Path) -> None:
    """The executed notebook as HTML beside it; a full disk leaves it out, noted."""
    if not executed.exists():
        return
    try:
        result.html = _render_html(executed)
    except OSError as exc:
        if not files.is_disk_full(exc):
            raise
        result.details["html"] = f"not written: {exc}"


def _print_failure(failed: StageResult, out, lang: str = "en") -> None:
    """The failing stage in three lines, in the run's language; names and messages from data
    cannot act on the terminal (escape sequences, carriage returns and newlines are shown)."""
    err, diag = failed.error, failed.diagnosis
    print("\n" + t(SAY["failed_at"], lang, notebook=failed.notebook, cell=err["cell"],
                    type=terminal(err["type"]), message=terminal(err["message"])), file=out)
    if diag["problem"]:  # a runbook error with its own fix has no catalogue entry to show
        print(t(SAY["diagnosis"], lang, problem=diag["problem"], title=terminal(diag["title"]),
                fix=terminal(diag["fix"])), file=out)
    else:
        print(t(SAY["fix"], lang, fix=terminal(diag["fix"])), file=out)
    removed = failed.details.get("removed_partial_files")
    if removed:
        print(t(SAY["removed"], lang, files=terminal(", ".join(removed))), file=out)


def _write_summary(folder: Path, summary: dict, out=sys.stdout) -> None:
    text = scrub(json.dumps(summary, indent=2, default=str))
    try:
        files.write_private(folder / "summary.json", text)
    except OSError as exc:
        if not files.is_disk_full(exc):
            raise
        print(f"warning: could not write {folder / 'summary.json'}: {exc}", file=out)


def _write_report(folder: Path, summary: dict, out) -> Path | None:
    from .report import write_report

    try:
        return write_report(folder, summary)
    except OSError as exc:
        if not files.is_disk_full(exc):
            raise
        print(f"warning: could not write the report into {folder}: {exc}", file=out)
        return None


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", required=True, help="parameters profile (YAML)")
    parser.add_argument("--only", help="comma-separated stage numbers, e.g. 01,02")
    parser.add_argument("--run-dir", help="folder for this run (default runs/<run_id>)")
    parser.add_argument("-p", dest="overrides", action="append", default=[],
                        metavar="NAME=VALUE", help="override one parameter")


def command(args: argparse.Namespace) -> int:
    return run(args.params, args.only, args.run_dir, args.overrides)


__all__ = ["StageResult", "notebooks", "select", "parse_overrides", "run", "configure", "command"]
