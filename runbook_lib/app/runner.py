"""`runbook run`: execute the stage notebooks in order through papermill, headlessly."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..core import files, manifest, paths, strict_yaml
from ..core.config import check_parameters, load_profile
from ..core.errors import FIX_LABEL, ConfigError
from ..core.escape import terminal
from ..core.i18n import current, t, use
from ..core.secrets import scrub
from . import history, notebook_engine, notebook_html, run_folder
from . import summary as run_summary
from .kernels import Kernels

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
    "resuming": {"en": "resuming run {run} ({before}) from {first}: {n} stage(s), results in "
                       "{folder}",
                 "ko": "실행 {run} ({before}) 을(를) {first} 단계부터 이어서 합니다: 단계 {n}개, "
                       "결과 폴더 {folder}"},
    "continue": {"en": "Continue from there once fixed: runbook run --resume {folder}",
                 "ko": "고친 뒤 그 단계부터 이어서 하세요: runbook run --resume {folder}"},
    "needs_params": {"en": "runbook run needs --params FILE (a profile in parameters/), or "
                           "--resume to continue a run.",
                     "ko": "runbook run 에는 --params FILE (parameters/ 의 프로필) 또는 실행을 "
                           "이어서 하는 --resume 이 필요합니다."},
    "needs_params_fix": {"en": "For example: runbook run --params parameters/training.yaml",
                         "ko": "예: runbook run --params parameters/training.yaml"},
    "resume_alone": {"en": "--resume continues a run with its own parameters, stages and "
                           "folder; --params, --only and --run-dir do not apply.",
                     "ko": "--resume 은 실행을 그 실행의 매개변수, 단계, 폴더로 이어서 합니다. "
                           "--params, --only, --run-dir 은 함께 쓸 수 없습니다."},
    "resume_alone_fix": {"en": "Use runbook run --resume [RUN_DIR] [--from NN] [-p name=value].",
                         "ko": "runbook run --resume [RUN_DIR] [--from NN] [-p name=value] 로 "
                               "실행하세요."},
    "unknown_stages": {"en": "--only names unknown stage(s) {stages}.",
                       "ko": "--only에 없는 단계가 있습니다: {stages}."},
    "known_stages": {"en": "Known stages: {known}.", "ko": "있는 단계: {known}."},
    "no_start": {"en": "--from {start} names no stage of this run.",
                 "ko": "--from {start}은(는) 이 실행의 단계가 아닙니다."},
    "not_pair": {"en": "-p {pair} is not name=value.", "ko": "-p {pair}은(는) 이름=값 형식이 아닙니다."},
    "not_pair_fix": {"en": "Write -p name=value.", "ko": "-p name=value 형식으로 쓰세요."},
    "gone": {"en": "Run {run} used notebooks that are gone: {missing}.",
             "ko": "실행 {run}이(가) 쓴 노트북이 없어졌습니다: {missing}."},
    "gone_fix": {"en": "Start a new run with --params.", "ko": "--params로 새 실행을 시작하세요."},
    "not_written": {"en": "warning: could not write {what}: {error}",
                    "ko": "경고: {what}을(를) 쓰지 못했습니다: {error}"},
    "report_in": {"en": "the report into {folder}", "ko": "{folder}에 보고서"},
    "html_not_written": {"en": "not written: {error}", "ko": "쓰지 못함: {error}"},
}


HELP = {
    "params": {"en": "parameters profile (YAML); not with --resume",
               "ko": "매개변수 프로필 (YAML). --resume과 함께 쓰지 않음"},
    "only": {"en": "comma-separated stage numbers, e.g. 01,02",
             "ko": "쉼표로 구분한 단계 번호, 예: 01,02"},
    "from": {"en": "start at stage NN (with --resume: re-run from there)",
             "ko": "NN 단계부터 시작 (--resume과 함께: 그 단계부터 다시 실행)"},
    "resume": {"en": "continue a failed or killed run (default: the latest one) from its first "
                     "stage that is not ok, in its own folder",
               "ko": "실패했거나 강제 종료된 실행(기본: 가장 최근 것)을 정상이 아닌 첫 단계부터 "
                     "그 실행의 폴더에서 이어서 함"},
    "run_dir": {"en": "folder for this run (default runs/<run_id>)",
                "ko": "이 실행의 폴더 (기본 runs/<run_id>)"},
    "override": {"en": "override one parameter", "ko": "매개변수 하나를 바꿈"},
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


def select(only: str | None, language: str = "en", start: str | None = None) -> list[Path]:
    """The notebooks of `--only` (all by default), from stage `start` (`--from`) on."""
    books = notebooks(language)
    known = ", ".join(b.name[:2] for b in books)
    if only:
        wanted = [w.strip() for w in only.split(",") if w.strip()]
        missing = [w for w in wanted if not any(b.name.startswith(w) for b in books)]
        if missing:
            raise ConfigError(SAY["unknown_stages"], SAY["known_stages"],
                              stages=", ".join(missing), known=known)
        books = [b for b in books if any(b.name.startswith(w) for w in wanted)]
    if start:
        at = [i for i, b in enumerate(books) if b.name.startswith(start)]
        if not at:
            raise ConfigError(SAY["no_start"], SAY["known_stages"], start=start,
                              known=", ".join(b.name[:2] for b in books))
        books = books[at[0]:]
    return books


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ConfigError(SAY["not_pair"], SAY["not_pair_fix"], pair=repr(pair))
        name, raw = pair.split("=", 1)
        out[name.strip()] = strict_yaml.load(raw, f"-p {name.strip()}") if raw != "" else ""
    return check_parameters(out)


def _papermill():
    """papermill, imported without jsonschema's optional IRI grammar: with rfc3987_syntax
    installed, `import jsonschema` (nbformat's) builds a Lark parser (~1 s), for formats no
    notebook schema uses. Other imports of rfc3987_syntax afterwards work as usual."""
    blocked = "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules
    if blocked:
        sys.modules["rfc3987_syntax"] = None  # import fails: jsonschema skips those formats
    try:
        import papermill
    finally:
        if blocked and sys.modules.get("rfc3987_syntax", 0) is None:
            del sys.modules["rfc3987_syntax"]
    return papermill


def _execute(book: Path, out: Path, params: dict, runtime: Path, km=None,
             first_cell=None):
    """Run one notebook: in `km` (a kernel started ahead), else in a kernel papermill starts
    in the run's private runtime folder. `first_cell` is called when the first cell starts.
    The executed notebook (also written to `out`)."""
    papermill = _papermill()
    kernel = {"km": km} if km is not None else \
        {"kernel_manager_class": run_folder.kernel_manager(runtime)}
    return papermill.execute_notebook(str(book), str(out), parameters=params,
                                      cwd=str(book.parent),
                                      kernel_name="python3", progress_bar=False,
                                      log_output=False, first_cell=first_cell,
                                      engine_name=notebook_engine.register(), **kernel)


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


def _preflight(params: dict, books: list[Path]) -> None:
    """A mistyped sqlite_path stops the run before anything is written (stage 03 migrates
    it; stage 01 builds the training sample, and only at the sample's own path)."""
    stages = {b.name[:2] for b in books}
    if "03" in stages or ("01" in stages and params.get("target", "embedded") == "embedded"):
        from types import SimpleNamespace

        from ..core.config import PARAMETERS
        from ..prepare.demo import check_source

        path = params.get("sqlite_path") or PARAMETERS["sqlite_path"][0]
        check_source(SimpleNamespace(sqlite_file=paths.resolve(path)))


def _register_secrets(params: dict) -> None:
    """Let `scrub` mask the passwords this run's notebooks will read from the environment, in
    the summary, the history and the report."""
    from ..core.config import PARAMETERS
    from ..core.secrets import register

    for name in ("password_env", "admin_password_env"):
        register(os.environ.get(params.get(name) or PARAMETERS[name][0], ""))


def run(params_file: str, only: str | None = None, run_dir: str | None = None,
        overrides: list[str] | None = None, out=sys.stdout, start: str | None = None) -> int:
    """Run the stages; return the exit status (0 only when every stage that ran is ok)."""
    params = load_profile(params_file)
    params.update(parse_overrides(overrides or []))
    lang = params.setdefault("language", current())  # none named: the command's language
    use(lang)
    _register_secrets(params)  # masked from here on, in errors too
    books = select(only, lang, start)
    with _kernels(books) as kernels:  # the first stage's kernel boots while the run is checked
        history.reap_all()  # runs killed since the last look are marked so
        _preflight(params, books)
        run_id = paths.new_run_id()
        folder = paths.make_run_dir(paths.resolve(run_dir) if run_dir else
                                    paths.runs_dir() / run_id)
        params["run_dir"] = str(folder)
        summary = {"run_id": folder.name, "params_file": str(params_file), "status": "running",
                   "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "stages": [],
                   "selection": [b.stem for b in books], "params": params}
        with run_folder.lock(folder):
            print(t(SAY["start"], lang, run=terminal(folder.name), n=len(books),
                    folder=terminal(folder)), file=out)
            return _run_stages(folder, books, params, summary, kernels, out)


def resume(run_dir: str | None = None, start: str | None = None,
           overrides: list[str] | None = None, out=sys.stdout) -> int:
    """Continue a failed or killed run in its own folder, from its first stage not ok."""
    from .resume import plan

    history.reap_all()
    folder, summary, stems = plan(run_dir, start)
    params = {**summary["params"], **parse_overrides(overrides or []), "run_dir": str(folder)}
    lang = params.get("language", "en")
    use(lang)  # from here on, errors in the language of the run being resumed
    _register_secrets(params)
    books = [b for b in notebooks(lang) if b.stem in stems]
    if [b.stem for b in books] != stems:
        missing = sorted(set(stems) - {b.stem for b in books})
        raise ConfigError(SAY["gone"], SAY["gone_fix"], run=str(summary["run_id"]),
                          missing=", ".join(missing))
    with _kernels(books) as kernels:
        _preflight(params, books)
        paths.make_run_dir(folder)
        first, before = (stems[0] if stems else ""), summary.get("status")
        summary["stages"] = [s for s in summary.get("stages", [])
                             if s.get("notebook", "").removesuffix(".ipynb") < first]
        summary.update(status="running", params=params, attempt=summary.get("attempt", 1) + 1,
                       attempt_started=time.strftime("%Y-%m-%dT%H:%M:%S"), finished="")
        summary.setdefault("resumed", []).append({"at": summary["attempt_started"],
                                                  "from": first})
        with run_folder.lock(folder):
            print(t(SAY["resuming"], lang, run=terminal(folder.name), before=terminal(before),
                    first=first[:2], n=len(books), folder=terminal(folder)), file=out)
            return _run_stages(folder, books, params, summary, kernels, out)


def _batch_env() -> dict[str, str]:
    """What a stage's kernel finds in its environment under `runbook run`."""
    return {"RUNBOOK_HOME": str(paths.project_root()), "RUNBOOK_BATCH": "1"}


@contextlib.contextmanager
def _kernels(books: list[Path]) -> Iterator[Kernels]:
    """The run's kernels, the first stage's started at once, so it boots while the run is
    checked and its folder locked. It inherits umask 077 (as `make_run_dir` sets it) and the
    batch environment. Whatever stops the run, every kernel is shut down (one never used is
    killed) and the private runtime folder removed."""
    files.private_umask()
    with run_folder.kernel_runtime() as runtime:
        kernels = Kernels(runtime, env=_batch_env())
        try:
            if books:
                kernels.prepare(books[0])
            yield kernels
        finally:
            kernels.close()


def _run_stages(folder: Path, books: list[Path], params: dict, summary: dict, kernels: Kernels,
                out) -> int:
    """Execute `books` in order into `folder`; summary, history and report kept up to date."""
    lang = params.get("language", "en")
    os.environ.update(_batch_env())  # for a kernel papermill starts itself
    user, host = history.who()
    summary.update(run_summary.process_marks(), user=user, host=host)
    summary.setdefault("attempt", 1)
    _write_summary(folder, summary, out)
    history.append(history.entry(summary, folder, "start"))
    failed = None
    html = ThreadPoolExecutor(1, thread_name_prefix="html")  # rendered while the next runs
    rendering: list[tuple[int, StageResult, Future]] = []
    try:
        if books:  # while the first kernel boots
            _papermill()
        for i, book in enumerate(books):
            result = StageResult(stage=book.stem[:2], notebook=book.name, status="running")
            summary["stages"].append(asdict(result))
            _write_summary(folder, summary, out)  # a kill from here on leaves it "running"
            started, before = time.perf_counter(), run_folder.inventory(folder)
            km = kernels.take(book)
            if i + 1 < len(books):
                kernels.prepare(books[i + 1])
            # nbconvert's import and templates load while the first stage's cells run
            warm = (lambda: html.submit(notebook_html.exporter)) if i == 0 else None
            executed = None
            try:
                executed = _execute(book, folder / book.name, params, kernels.runtime, km, warm)
                recorded = manifest.read(folder).get("stages", {}).get(book.stem, {})
                result.status = recorded.get("status", "ok")
                result.details = {k: v for k, v in recorded.items() if k != "status"}
            except Exception as exc:  # papermill, kernel or disk failure: record, diagnose, stop
                result.status = "failed"
                result.error, result.diagnosis = _failure(exc, params)
                failed = result
                if files.is_disk_full(exc) or files.is_disk_full(result.error["message"]):
                    earlier = [folder / f"{b.stem}.html" for b in books[:i]]  # rendered meanwhile
                    result.details["removed_partial_files"] = run_folder.remove_partial(
                        folder, before, protect=[paths.resolve(p) for p in
                                                 [params.get("sqlite_path")] if p] + earlier)
            result.duration_s = round(time.perf_counter() - started, 2)
            kernels.retire(km)
            if (folder / book.name).exists():
                rendering.append((len(summary["stages"]) - 1, result,
                                  html.submit(notebook_html.render, folder / book.name,
                                              executed)))
            summary["stages"][-1] = asdict(result)
            _write_summary(folder, summary, out)
            status = t(SAY[result.status], lang) if result.status in SAY else result.status
            print(f"  [{status:>6}] {book.stem:<22} {result.duration_s:7.1f}s", file=out)
            if failed:
                break
        _collect_html(summary, html, rendering)
    except KeyboardInterrupt:
        _collect_html(summary, html, rendering)
        for stage in summary["stages"]:
            stage["status"] = "interrupted" if stage["status"] == "running" else stage["status"]
        _close(folder, summary, "interrupted", out)
        raise
    finally:
        html.shutdown(wait=True)
    report = _close(folder, summary, "failed" if failed else "ok", out)
    if failed:
        _print_failure(failed, out, lang)
        print(t(SAY["continue"], lang, folder=terminal(folder)), file=out)
    if report:
        print(t(SAY["report"], lang, path=report), file=out)
    return 1 if failed else 0


def _close(folder: Path, summary: dict, status: str, out) -> Path | None:
    """The run's end: summary, report, then its closing history line; the report's path."""
    summary["status"] = status
    summary["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    _write_summary(folder, summary, out)
    report = _write_report(folder, summary, out)
    history.append(history.entry(summary, folder, "end"))
    return report


def _collect_html(summary: dict, html: ThreadPoolExecutor,
                  rendering: list[tuple[int, StageResult, Future]]) -> None:
    """Wait for the stages' HTML (rendered behind the next stages) and note it in `summary`."""
    html.shutdown(wait=True)
    for index, result, future in rendering:
        _add_html(result, future)
        summary["stages"][index] = asdict(result)


def _add_html(result: StageResult, rendered: Future) -> None:
    """The executed notebook's HTML (rendered beside it); a full disk leaves it out, noted."""
    try:
        result.html = rendered.result()
    except OSError as exc:
        if not files.is_disk_full(exc):
            raise
        result.details["html"] = t(SAY["html_not_written"], error=scrub(str(exc)))


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
    try:
        run_summary.write(folder, summary)
    except OSError as exc:
        if not files.is_disk_full(exc):
            raise
        print(t(SAY["not_written"], what=terminal(folder / run_summary.NAME),
                error=terminal(scrub(str(exc)))), file=out)


def _write_report(folder: Path, summary: dict, out) -> Path | None:
    from .report import write_report

    try:
        return write_report(folder, summary)
    except OSError as exc:
        if not files.is_disk_full(exc):
            raise
        print(t(SAY["not_written"], what=t(SAY["report_in"], folder=terminal(folder)),
                error=terminal(scrub(str(exc)))), file=out)
        return None


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", help=t(HELP["params"]))
    parser.add_argument("--only", help=t(HELP["only"]))
    parser.add_argument("--from", dest="start", metavar="NN", help=t(HELP["from"]))
    parser.add_argument("--resume", nargs="?", const="", metavar="RUN_DIR", help=t(HELP["resume"]))
    parser.add_argument("--run-dir", help=t(HELP["run_dir"]))
    parser.add_argument("-p", dest="overrides", action="append", default=[],
                        metavar="NAME=VALUE", help=t(HELP["override"]))


def command(args: argparse.Namespace) -> int:
    if args.resume is not None:
        if args.params or args.only or args.run_dir:
            raise ConfigError(SAY["resume_alone"], SAY["resume_alone_fix"])
        return resume(args.resume or None, args.start, args.overrides)
    if not args.params:
        raise ConfigError(SAY["needs_params"], SAY["needs_params_fix"])
    return run(args.params, args.only, args.run_dir, args.overrides, start=args.start)


__all__ = ["StageResult", "notebooks", "select", "parse_overrides", "run", "resume",
           "configure", "command"]
