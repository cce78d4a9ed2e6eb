"""The `runbook` command: each subcommand lives in the module named for what it does.

A module serving a subcommand defines `configure(parser)` and `command(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..core.errors import RunbookError
from ..core.escape import terminal
from ..core.i18n import LANGUAGES, t, use
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
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, (module, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
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


def language(args: argparse.Namespace) -> str:
    """The language the command's profile (and `-p language=…`) asks for; English otherwise."""
    chosen = "en"
    for pair in getattr(args, "overrides", None) or []:
        if pair.replace(" ", "").startswith("language="):
            chosen = pair.split("=", 1)[1].strip()
    if chosen == "en" and getattr(args, "params", None):
        from ..core.config import load_profile

        try:
            chosen = load_profile(args.params).get("language", "en")
        except RunbookError:
            pass
    return chosen if chosen in LANGUAGES else "en"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    use(language(args))  # errors (and their "Fix:" line) in the user's language
    try:
        return args._module.command(args)
    except RunbookError as exc:
        print(t(SAY["error"], message=terminal(scrub(str(exc)), newlines=True)),
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(t(SAY["interrupted"]), file=sys.stderr)
        return 130


__all__ = ["COMMANDS", "build_parser", "main"]


if __name__ == "__main__":
    sys.exit(main())
