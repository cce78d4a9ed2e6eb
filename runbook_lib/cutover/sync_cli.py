"""`runbook sync --params FILE`: the catch-up sync from the command line."""

from __future__ import annotations

import argparse

from ..core.escape import terminal
from ..core.i18n import t
from .sync import sync

__all__ = ["configure", "command"]

CLI = {"validated": {"en": "validation (stage 04 on the synced snapshot): {verdict}",
                     "ko": "검증 (동기화한 스냅샷에 대한 04 단계): {verdict}"},
       "ok": {"en": "ok, nothing lost", "ko": "정상, 잃은 것 없음"},
       "failed": {"en": "FAILED: {summary}", "ko": "실패: {summary}"}}


HELP = {
    "params": {"en": "the profile the migration ran with", "ko": "마이그레이션에 쓴 프로필"},
    "run_dir": {"en": "the run folder of the migration (default: the profile's run_dir)",
                "ko": "마이그레이션한 실행 폴더 (기본값: 프로필의 run_dir)"},
    "overwrite": {"en": "discard rows written on PostgreSQL since the last sync",
                  "ko": "마지막 동기화 뒤 PostgreSQL에 쓴 행을 버림"},
    "validate": {"en": "then validate the target against the synced snapshot (stage 04)",
                 "ko": "그 다음 동기화한 스냅샷에 대해 대상을 검증 (04 단계)"},
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", required=True, help=t(HELP["params"]))
    parser.add_argument("--run-dir", default="", help=t(HELP["run_dir"]))
    parser.add_argument("--overwrite", action="store_true", help=t(HELP["overwrite"]))
    parser.add_argument("--validate", action="store_true", help=t(HELP["validate"]))


def command(args: argparse.Namespace) -> int:
    from ..core.config import load_settings

    extra = {"run_dir": args.run_dir} if args.run_dir else {}
    settings = load_settings(profile=args.params, **extra)
    report = sync(settings, overwrite=args.overwrite)
    lang = settings.language
    print(terminal(report.summary(lang)))
    print(terminal(report.proof(lang)))
    frame = report.frame(lang)
    if len(frame):
        print(terminal(frame.to_string(index=False), newlines=True))
    if not args.validate:
        return 0
    from ..validate import run as validate

    checked = validate(settings)
    verdict = t(CLI["ok"], lang) if checked.ok else t(CLI["failed"], lang,
                                                      summary=checked.summary())
    print(terminal(t(CLI["validated"], lang, verdict=verdict)))
    return 0 if checked.ok else 1
