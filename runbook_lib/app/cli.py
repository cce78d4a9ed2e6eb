"""The `runbook` command: each subcommand lives in the module named for what it does.

A module serving a subcommand defines `configure(parser)` and `command(args) -> int`.
Messages and errors are in one language, chosen before anything else is read (`language`):
`--lang`, else `-p language=…`, else the profile's `language`, else `RUNBOOK_LANGUAGE`, else
the locale (LC_ALL, LC_MESSAGES, LANG), else English. `--resume` switches to the language of
the run it continues as soon as that run is read.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..core.errors import RunbookError
from ..core.escape import terminal
from ..core.i18n import LANGUAGES, current, from_environment, t, use
from ..core.secrets import scrub

COMMANDS = {
    "run": ("runbook_lib.app.runner", "execute the stage notebooks headlessly (or --resume)"),
    "history": ("runbook_lib.app.history", "who ran what, with which parameters and outcome"),
    "server": ("runbook_lib.app.server_cli", "start, stop or inspect the embedded PostgreSQL"),
    "demo-data": ("runbook_lib.prepare.demo", "build the sample SPC SQLite database"),
    "drill": ("runbook_lib.troubleshoot.drills", "fault drills for training (embedded server only)"),
    "training": ("runbook_lib.app.training", "per-trainee workspaces"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runbook", description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=LANGUAGES, help=LANG_HELP)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, (module, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        # also after the subcommand; SUPPRESS keeps a --lang given before it
        sp.add_argument("--lang", choices=LANGUAGES, default=argparse.SUPPRESS, help=LANG_HELP)
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        mod.configure(sp)
        sp.set_defaults(_module=mod)
    return parser


SAY = {"error": {"en": "error: {message}", "ko": "오류: {message}"},
       "interrupted": {"en": "interrupted", "ko": "중단됨"}}


LANG_HELP = "language of messages: en or ko (default: the profile's, RUNBOOK_LANGUAGE, the locale)"


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
    args = build_parser().parse_args(argv)
    before = current()
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
    finally:
        use(before)  # main() called in a process that goes on (tests, a notebook)


__all__ = ["COMMANDS", "build_parser", "main"]


if __name__ == "__main__":
    sys.exit(main())
