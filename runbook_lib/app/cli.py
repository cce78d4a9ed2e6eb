"""The `runbook` command: each subcommand lives in the module named for what it does.

A module serving a subcommand defines `configure(parser)` and `command(args) -> int`.
Messages and errors are in one language, chosen before anything else is read (`language`):
`--lang`, else `-p language=…`, else the profile's `language`, else `RUNBOOK_LANGUAGE`, else
the locale (LC_ALL, LC_MESSAGES, LANG), else English. `--resume` switches to the language of
the run it continues as soon as that run is read.
"""

from __future__ import annotations

import argparse
import gettext
import importlib
import os
import sys

from ..core.errors import RunbookError
from ..core.escape import terminal
from ..core.i18n import LANGUAGES, current, from_environment, t, use
from ..core.secrets import scrub

COMMANDS = {
    "run": ("runbook_lib.app.runner",
            {"en": "execute the stage notebooks headlessly (or --resume)",
             "ko": "단계 노트북을 화면 없이 실행 (또는 --resume)"}),
    "history": ("runbook_lib.app.history",
                {"en": "who ran what, with which parameters and outcome",
                 "ko": "누가 어떤 매개변수로 무엇을 실행했고 결과가 어땠는지"}),
    "server": ("runbook_lib.app.server_cli",
               {"en": "start, stop or inspect the embedded PostgreSQL",
                "ko": "내장 PostgreSQL 시작, 중지, 상태 확인"}),
    "demo-data": ("runbook_lib.prepare.demo", {"en": "build the sample SPC SQLite database",
                                               "ko": "샘플 SPC SQLite 데이터베이스 만들기"}),
    "drill": ("runbook_lib.troubleshoot.drills",
              {"en": "fault drills for training (embedded server only)",
               "ko": "교육용 장애 훈련 (내장 서버 전용)"}),
    "training": ("runbook_lib.app.training", {"en": "per-trainee workspaces",
                                              "ko": "교육생별 작업 공간"}),
    "sync": ("runbook_lib.cutover.sync_cli",
             {"en": "catch-up sync of a migrated target from the live SQLite file",
              "ko": "실행 중인 SQLite 파일에서 마이그레이션한 대상으로 변경분 동기화"}),
}
DESCRIPTION = {"en": "The `runbook` command: SQLite to PostgreSQL, step by step, with proof.",
               "ko": "`runbook` 명령: SQLite에서 PostgreSQL로, 단계별로, 증명과 함께."}


def build_parser() -> argparse.ArgumentParser:
    """The parser, its help in the language `use` set (`main`: `--lang` or the environment).
    A subcommand's module is imported (and its options added) only when that subcommand is
    parsed: `runbook run` never pays for importing `sync` or the drills."""
    parser = argparse.ArgumentParser(prog="runbook", description=t(DESCRIPTION))
    parser.register("action", "lazy_parsers", _LazySubcommands)
    parser.add_argument("--lang", choices=LANGUAGES, help=t(LANG_HELP))
    sub = parser.add_subparsers(dest="cmd", required=True, action="lazy_parsers")
    for name, (_, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=t(help_text), description=t(help_text))
        # also after the subcommand; SUPPRESS keeps a --lang given before it
        sp.add_argument("--lang", choices=LANGUAGES, default=argparse.SUPPRESS,
                        help=t(LANG_HELP))
    return parser


class _LazySubcommands(argparse._SubParsersAction):
    """Subparsers whose module (`COMMANDS`) is imported and configured once chosen."""

    def __call__(self, parser, namespace, values, option_string=None):
        name = values[0]
        sp = self._name_parser_map.get(name)
        if sp is not None and sp.get_default("_module") is None:
            mod = importlib.import_module(COMMANDS[name][0])
            mod.configure(sp)
            sp.set_defaults(_module=mod)
        super().__call__(parser, namespace, values, option_string)


SAY = {"error": {"en": "error: {message}", "ko": "오류: {message}"},
       "interrupted": {"en": "interrupted", "ko": "중단됨"}}


LANG_HELP = {"en": "language of messages: en or ko (default: the profile's, RUNBOOK_LANGUAGE, "
                   "the locale)",
             "ko": "메시지 언어: en 또는 ko (기본: 프로필의 언어, RUNBOOK_LANGUAGE, 로캘)"}


# argparse's own words (usage, titles, its errors), looked up through `argparse._` (gettext)
ARGPARSE = {msgid: {"en": msgid, "ko": ko} for msgid, ko in {
    "usage: ": "사용법: ",
    "positional arguments": "위치 인수",
    "options": "옵션",
    "show this help message and exit": "이 도움말을 보여 주고 끝냅니다",
    "%(prog)s: error: %(message)s\n": "%(prog)s: 오류: %(message)s\n",
    "the following arguments are required: %s": "다음 인수가 필요합니다: %s",
    "unrecognized arguments: %s": "알 수 없는 인수: %s",
    "invalid choice: %(value)r (choose from %(choices)s)":
        "잘못된 선택: %(value)r (다음 중에서 고르세요: %(choices)s)",
    "invalid %(type)s value: %(value)r": "잘못된 %(type)s 값: %(value)r",
    "argument %(argument_name)s: %(message)s": "인수 %(argument_name)s: %(message)s",
    "expected one argument": "값이 하나 필요합니다",
    "expected at most one argument": "값은 하나까지만 줄 수 있습니다",
    "expected at least one argument": "값이 하나 이상 필요합니다",
    "ambiguous option: %(option)s could match %(matches)s":
        "모호한 옵션: %(option)s은(는) %(matches)s 중 어느 것일 수도 있습니다",
    "not allowed with argument %s": "인수 %s와(과) 함께 쓸 수 없습니다",
}.items()}


def _argparse_words(message: str) -> str:
    """argparse's gettext, in the command's language."""
    return t(ARGPARSE[message]) if message in ARGPARSE else gettext.gettext(message)


argparse._ = _argparse_words  # argparse calls `_` at run time: its words follow `use`


def _lang_option(argv: list[str]) -> str | None:
    """`--lang X` or `--lang=X` from the raw arguments (the help is built before parsing)."""
    for i, arg in enumerate(argv):
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
    return None


def _asked(args: argparse.Namespace) -> str | None:
    """The language `-p language=…`, else the profile (`--params`), names; None if neither."""
    chosen = None
    for pair in getattr(args, "overrides", None) or []:
        if pair.replace(" ", "").startswith("language="):
            chosen = pair.split("=", 1)[1].strip().strip("'\"")
    if chosen is None and getattr(args, "params", None):
        from ..core.config import load_profile

        try:
            chosen = load_profile(args.params).get("language")
        except RunbookError:  # reported in the environment's language by the command itself
            pass
    return chosen


def language(args: argparse.Namespace, environ=None) -> str:
    """The command's language: `--lang`, the parameters', else the environment's."""
    for chosen in (getattr(args, "lang", None), _asked(args)):
        if chosen in LANGUAGES:
            return chosen
    return from_environment(environ)


def main(argv: list[str] | None = None) -> int:
    before = current()
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    finally:
        use(before)  # main() called in a process that goes on (tests, a notebook)


def _main(argv: list[str]) -> int:
    early = _lang_option(argv)
    use(early if early in LANGUAGES else from_environment())  # the help's language
    args = build_parser().parse_args(argv)
    use(language(args))  # errors (and their "Fix:" line) in the user's language
    if getattr(args, "lang", None) and hasattr(args, "overrides"):
        args.overrides = [*args.overrides, f"language={args.lang}"]  # the run's language too
    try:
        return args._module.command(args)
    except RunbookError as exc:
        print(t(SAY["error"], message=terminal(scrub(str(exc)), newlines=True)),
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(t(SAY["interrupted"]), file=sys.stderr)
        return 130


def entry() -> None:
    """The `runbook` console script: `main`, then, after a `runbook run`, the process ends
    without tearing the interpreter down (freeing every module papermill, nbconvert and
    jupyter_client loaded: 0.15-0.3 s after the report is written). Output is flushed and
    the exit handlers run first; every file of the run is closed by then."""
    argv = sys.argv[1:]
    code = main(argv)
    words = [a for i, a in enumerate(argv) if not a.startswith("-") and argv[i - 1:i] != ["--lang"]]
    if words[:1] != ["run"]:
        sys.exit(code)
    import atexit

    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


__all__ = ["COMMANDS", "build_parser", "entry", "main"]


if __name__ == "__main__":
    entry()
