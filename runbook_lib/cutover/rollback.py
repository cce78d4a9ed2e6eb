"""The guide's rollback (롤백 계획), verified without undoing the checks.

The project is started with its OLD settings (the pre-cutover backup when the runbook
wrote the settings file, else the file as it is) on the untouched SQLite file; the checks
prove it serves the admin page and reads SQLite, that the SQLite file is byte-for-byte the
one recorded before the cutover, and count the rows that exist only in PostgreSQL (a
rollback leaves them behind).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..core import manifest
from ..core.errors import RunbookError
from ..core.i18n import t
from ..core.results import Check, CheckTable, table
from . import checks, settings_block

SHIM = '''\
# Written by the runbook: the project's OLD settings file (pre-cutover backup), unchanged,
# loaded as a module of its own package so that its relative imports still work.
import importlib.machinery
import importlib.util

_loader = importlib.machinery.SourceFileLoader({name!r}, {path!r})
_spec = importlib.util.spec_from_loader({name!r}, _loader)
_module = importlib.util.module_from_spec(_spec)
_loader.exec_module(_module)
globals().update({{k: v for k, v in vars(_module).items() if k.isupper()}})
'''
SHIM_MODULE = "runbook_rollback_settings"
IDS = {"DJ034": "DJ071", "DJ035": "DJ072", "DJ036": "DJ073", "DJ037": "DJ074"}
LEFT_BEHIND = {
    "en": "{rows} row(s) exist only in PostgreSQL ({tables}): written after the cutover, they "
          "are not in the SQLite file and a rollback leaves them behind.",
    "ko": "PostgreSQL에만 있는 행 {rows}개 ({tables}): 전환 후에 기록되어 SQLite 파일에는 없으며, "
          "롤백하면 사라집니다(PostgreSQL에만 남습니다).",
}
LEFT_HINT = {
    "en": "Before rolling back, export them (manage.py dumpdata APP.MODEL --pks ...) and load "
          "them into SQLite, or re-enter them; or fix forward on PostgreSQL instead.",
    "ko": "롤백 전에 내보내서(manage.py dumpdata APP.MODEL --pks ...) SQLite에 넣거나 다시 "
          "입력하세요. 또는 롤백 대신 PostgreSQL에서 문제를 고치세요.",
}

NAMES = {
    "DJ070": {"en": "SQLite file untouched", "ko": "SQLite 파일 변경 없음"},
    "DJ075": {"en": "old settings use the SQLite file", "ko": "이전 settings가 SQLite 파일을 씀"},
    "DJ076": {"en": "rows written after the cutover", "ko": "전환 후 기록된 행"},
}
TEXT = {
    "no_checksum": {"en": "no checksum recorded before the cutover (run remember_source first)",
                    "ko": "전환 전에 기록한 체크섬이 없음 (먼저 remember_source 실행)"},
    "matches": {"en": "sha256 {sha}… matches the one recorded before the cutover",
                "ko": "sha256 {sha}…: 전환 전에 기록한 값과 같음"},
    "differs": {"en": "sha256 {sha}… differs from the one recorded before the cutover",
                "ko": "sha256 {sha}…: 전환 전에 기록한 값과 다름"},
    "differs_fix": {"en": "Something wrote to the SQLite file after the cutover; roll back from "
                          "the stage 03 snapshot instead.",
                    "ko": "전환 후 무언가가 SQLite 파일에 썼습니다. 대신 03단계의 스냅샷으로 "
                          "롤백하세요."},
    "connects": {"en": "old settings connect to {vendor} {name}",
                 "ko": "이전 settings가 {vendor} {name}에 접속함"},
    "connects_fix": {"en": "The old settings do not point at sqlite_path; fix sqlite_path or the "
                           "old DATABASES block.",
                     "ko": "이전 settings가 sqlite_path를 가리키지 않습니다. sqlite_path나 이전 "
                           "DATABASES 블록을 고치세요."},
    "nothing_lost": {"en": "PostgreSQL holds no rows beyond the SQLite file: nothing is lost by "
                           "a rollback now",
                     "ko": "PostgreSQL에 SQLite 파일보다 많은 행이 없음: 지금 롤백해도 잃는 것이 "
                           "없음"},
    "rollback": {"en": "rollback: {name}", "ko": "롤백: {name}"},
}


def _n(settings, cid: str) -> str:
    return t(NAMES[cid], settings.language)


def _r(settings, key: str, **values) -> str:
    return t(TEXT[key], settings.language, **values)


def old_settings_environment(settings) -> dict[str, str]:
    """Environment that runs the project with its pre-cutover settings file."""
    found = settings_block.backups(settings)
    if not found:
        return checks.own_environment(settings)
    folder = Path(settings.run_dir) / "rollback_shim"
    folder.mkdir(parents=True, exist_ok=True)
    package = settings.django_settings.rpartition(".")[0]
    name = f"{package}._runbook_old_settings" if package else "_runbook_old_settings"
    (folder / f"{SHIM_MODULE}.py").write_text(SHIM.format(name=name, path=str(found[0])))
    return checks.own_environment(settings, SHIM_MODULE, folder)


def _untouched(settings) -> Check:
    recorded = manifest.read(settings.run_dir).get("cutover", {}).get("sqlite_sha256")
    now = checks.sha256(settings.sqlite_file)
    if not recorded:
        return Check("DJ070", _n(settings, "DJ070"), "skip", _r(settings, "no_checksum"),
                     details={"sha256": now})
    same = recorded == now
    return Check("DJ070", _n(settings, "DJ070"), "ok" if same else "fail",
                 _r(settings, "matches" if same else "differs", sha=now[:16]),
                 "" if same else _r(settings, "differs_fix"),
                 {"sha256": now, "recorded": recorded})


def _old_database(settings, env: dict) -> Check:
    out = checks.run_manage(settings, "shell", "-c", cutover_vendor(), env=env).stdout.split()
    vendor, name = out[-2], out[-1]
    same = vendor == "sqlite" and Path(name).resolve() == settings.sqlite_file.resolve()
    return Check("DJ075", _n(settings, "DJ075"), "ok" if same else "fail",
                 _r(settings, "connects", vendor=vendor, name=name),
                 "" if same else _r(settings, "connects_fix"))


def cutover_vendor() -> str:
    return ("from django.db import connection as c; "
            "print(c.vendor, c.settings_dict['NAME'])")


def left_behind(settings) -> Check:
    """Rows in PostgreSQL beyond the SQLite source: what a rollback would leave behind."""
    source = checks.source_counts(settings.sqlite_file)
    target = checks.target_counts(settings, list(source))
    extra = {n: target[n] - source[n] for n in source if target[n] and target[n] > source[n]}
    if not extra:
        return Check("DJ076", _n(settings, "DJ076"), "ok", _r(settings, "nothing_lost"))
    tables = ", ".join(f"{n} +{c}" for n, c in extra.items())
    return Check("DJ076", _n(settings, "DJ076"), "warn",
                 t(LEFT_BEHIND, settings.language, rows=sum(extra.values()), tables=tables),
                 t(LEFT_HINT, settings.language), {"extra": extra})


def verify_rollback(settings) -> CheckTable:
    """Start the project with its old settings on the SQLite file; prove the file unchanged."""
    if settings_block.has_project(settings):
        env = old_settings_environment(settings)
        rows = [attempt_old_database(settings, env)]
        for check in checks.smoke(settings, env, vendor="sqlite", label="sqlite-rollback"):
            rows.append(dataclasses.replace(check, id=IDS[check.id], name=_r(
                settings, "rollback", name=check.name)))
    else:
        rows = [settings_block.skipped("DJ075", t(NAMES["DJ075"], settings.language),
                                       settings.language)]
    rows += [_untouched(settings), left_behind(settings)]
    return table(rows)


def attempt_old_database(settings, env: dict) -> Check:
    try:
        return _old_database(settings, env)
    except RunbookError as exc:
        return Check("DJ075", _n(settings, "DJ075"), "fail", exc.message, exc.hint)


__all__ = ["verify_rollback", "old_settings_environment", "left_behind"]
