"""Fault drills (training, embedded server only): break, fail, diagnose, fix, verify, restore.

`runbook drill list | start NAME | check NAME | fix NAME | reset [NAME] [--params FILE]`.
`start` breaks the environment the way it breaks in real life and remembers what it changed
in `.runbook/drills.json`; `check` runs the step that fails and diagnoses its real error;
`reset` puts back exactly what `start` changed. Notebook 05 calls `walk` for each drill.
"""

from __future__ import annotations

import argparse
import html
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..core import files, manifest, paths
from ..core.diagnose import Diagnosis, explain
from ..core.display import Notes
from ..core.errors import RunbookError
from ..core.escape import terminal
from ..core.i18n import Text, current, t
from ..core.results import Check, CheckTable, table
from . import data_faults as d
from . import faults as f

__all__ = ["DRILLS", "list_drills", "start", "check", "fix", "reset", "recover", "walk",
           "results", "summary"]


class DrillError(RunbookError):
    """A drill cannot run here (not the embedded server, unknown name, not started)."""


ERRORS = {
    "embedded_only": {"en": "Drills break things on purpose, so they only run against the "
                            "embedded training server; this configuration targets {host}:{port} "
                            "(target: {target}).",
                      "ko": "훈련은 일부러 환경을 망가뜨리므로 내장 훈련 서버에서만 실행합니다. 이 "
                            "설정의 대상은 {host}:{port}입니다(target: {target})."},
    "embedded_only_fix": {"en": "Use parameters/training.yaml (target: embedded), never a real "
                                "server.",
                          "ko": "parameters/training.yaml(target: embedded)을 쓰세요. 실제 서버에는 "
                                "절대 쓰지 마세요."},
    "unknown": {"en": "Unknown drill {name}.", "ko": "알 수 없는 훈련 {name}입니다."},
    "known_fix": {"en": "Known drills: {known}.", "ko": "있는 훈련: {known}."},
    "started": {"en": "Drill {name} is already started.", "ko": "훈련 {name}은(는) 이미 시작됐습니다."},
    "started_fix": {"en": "Reset it first: `runbook drill reset {name}`.",
                    "ko": "먼저 되돌리세요: `runbook drill reset {name}`."},
    "not_started": {"en": "Drill {name} is not started.", "ko": "훈련 {name}은(는) 시작되지 않았습니다."},
    "not_started_fix": {"en": "Start it first: `runbook drill start {name}`.",
                        "ko": "먼저 시작하세요: `runbook drill start {name}`."},
    "needs_name": {"en": "`runbook drill {action}` needs a drill name.",
                   "ko": "`runbook drill {action}`에는 훈련 이름이 필요합니다."},
}


@dataclass(frozen=True)
class Drill:
    """One fault: what breaks, which catalogue problem it is, and its four steps."""

    name: str
    title: Text
    problem: str
    trigger: Text
    start: Callable
    check: Callable
    fix: Callable
    reset: Callable


def _drill(name, problem, en, ko, trig_en, trig_ko, start, check, fix, reset) -> Drill:
    return Drill(name, {"en": en, "ko": ko}, problem, {"en": trig_en, "ko": trig_ko},
                 start, check, fix, reset)


DRILLS: dict[str, Drill] = {d.name: d for d in [
    _drill("wrong_password", "DX001", "wrong password in .env", ".env의 잘못된 비밀번호",
       "writes a wrong {password_env} into .env, as after a copy-paste from another machine",
       ".env에 잘못된 {password_env}를 씁니다 (다른 컴퓨터에서 복사한 경우처럼)",
       f.password_start, f.password_check, f.password_fix, f.password_reset),
    _drill("server_stopped", "DX002", "server stopped", "서버 중지",
       "stops the embedded PostgreSQL, as after a reboot without autostart",
       "내장 PostgreSQL을 중지합니다 (자동 시작 없이 재부팅한 경우처럼)",
       f.stopped_start, f.connect_app, f.stopped_fix, f.stopped_reset),
    _drill("port_taken", "DX006", "port taken by another listener", "다른 프로그램이 포트 사용",
       "stops PostgreSQL and lets another program listen on port {db_port}",
       "PostgreSQL을 중지하고 다른 프로그램이 {db_port} 포트를 사용하게 합니다",
       f.port_start, f.connect_app, f.port_fix, f.port_reset),
    _drill("port_in_use", "DX008", "server cannot start: port in use", "서버 시작 불가: 포트 사용 중",
       "lets another program listen on port {db_port}, then starts PostgreSQL",
       "다른 프로그램이 {db_port} 포트를 사용하게 한 뒤 PostgreSQL을 시작합니다",
       f.port_start, f.start_server, f.port_fix, f.port_reset),
    _drill("hba_reject", "DX009", "pg_hba.conf rejects the client", "pg_hba.conf가 클라이언트 거부",
       "adds a `reject` line for {db_user} above the scram-sha-256 lines and reloads",
       "scram-sha-256 줄 위에 {db_user}에 대한 `reject` 줄을 추가하고 다시 읽습니다",
       f.hba_start, f.connect_app, f.hba_fix, f.hba_reset),
    _drill("relation_exists", "DX011", "relation pre-created before migrate",
       "migrate 전에 미리 만들어진 테이블",
       "leaves tables in place but removes Django's record of creating them (or pre-creates a "
       "table by hand), then migrates",
       "테이블은 남기고 Django의 생성 기록을 지운 뒤 (또는 테이블을 수동으로 미리 만든 뒤) migrate 합니다",
       d.relation_start, d.relation_check, d.relation_fix, d.relation_reset),
    _drill("schema_revoked", "DX012", "CREATE on schema public revoked",
       "public 스키마의 CREATE 권한 회수",
       "gives schema public to the admin and revokes CREATE, as on PostgreSQL 15+ when the app "
       "role only got GRANT ALL ON DATABASE",
       "public 스키마를 관리자에게 주고 CREATE를 회수합니다 (PostgreSQL 15+에서 GRANT ALL ON DATABASE만 "
       "받은 경우처럼)",
       d.schema_start, d.schema_check, d.schema_fix, d.schema_reset),
    _drill("sequence_behind", "DX015", "a sequence set behind max(id)", "max(id)보다 뒤처진 시퀀스",
       "sets an id sequence back to the table's lowest id, as after copying rows with their ids",
       "id 시퀀스를 테이블의 가장 작은 id로 되돌립니다 (id와 함께 행을 복사한 경우처럼)",
       d.sequence_start, d.sequence_check, d.sequence_fix, d.sequence_reset),
    _drill("nul_byte", "DX016", "a NUL byte in source text", "원본 텍스트의 NUL 바이트",
       "puts a NUL (0x00) character into one text value of a copy of the source "
       "(.runbook/drills/; your SQLite file is never written) and loads that table",
       "원본 복사본(.runbook/drills/)의 텍스트 값 하나에 NUL(0x00)을 넣고 그 테이블을 적재합니다 "
       "(원본 SQLite 파일은 쓰지 않습니다)",
       d.nul_start, d.nul_check, d.nul_fix, d.nul_reset),
]}


# -- state -----------------------------------------------------------------------------------
def state_file():
    return paths.state_dir() / "drills.json"


def _state() -> dict:
    file = state_file()
    return json.loads(file.read_text()) if file.is_file() else {"active": {}}


def _save(state: dict) -> None:
    paths.make_state_dir()
    files.write_private(state_file(), json.dumps(state, indent=2, default=str))


def _require(settings, name: str | None = None) -> Drill | None:
    if settings.target != "embedded":
        raise DrillError(ERRORS["embedded_only"], ERRORS["embedded_only_fix"],
                         host=settings.db_host, port=settings.db_port, target=settings.target)
    if name is None:
        return None
    if name not in DRILLS:
        raise DrillError(ERRORS["unknown"], ERRORS["known_fix"], name=repr(name),
                         known=", ".join(DRILLS))
    return DRILLS[name]


# -- the four steps ----------------------------------------------------------------------------
@dataclass(repr=False)
class Outcome:
    """What `check` saw: the real error (scrubbed) and its diagnosis, or that it worked."""

    drill: str
    failed: bool
    error: str = ""
    diagnosis: Diagnosis | None = None
    expected: str = ""

    @property
    def recognised(self) -> bool:
        return bool(self.diagnosis) and self.diagnosis.problem_id == self.expected

    def __str__(self) -> str:
        if not self.failed:
            return t(CLI["works"], drill=self.drill)
        return t(CLI["broken"], drill=self.drill, error=self.error, diagnosis=self.diagnosis)

    __repr__ = __str__


# What `runbook drill` prints (in the profile's language, set by the command line).
CLI = {
    "works": {"en": "{drill}: the step works", "ko": "{drill}: 단계가 정상 동작합니다"},
    "broken": {"en": "{drill}: {error}\n\nDiagnosis: {diagnosis}",
               "ko": "{drill}: {error}\n\n진단: {diagnosis}"},
    "started": {"en": " (started)", "ko": " (시작됨)"},
    "now": {"en": "Now: `runbook drill check {name}`", "ko": "이제: `runbook drill check {name}`"},
    "restored": {"en": "restored: {what}", "ko": "복구함: {what}"},
    "nothing": {"en": "nothing was started", "ko": "시작된 것이 없음"},
}


def list_drills(language: str = "en") -> list[dict]:
    """Name, title and catalogue problem of every drill."""
    return [{"name": d.name, "title": t(d.title, language), "problem": d.problem}
            for d in DRILLS.values()]


def start(settings, name: str) -> str:
    """Break the environment for drill `name`; return what was done."""
    drill = _require(settings, name)
    state = _state()
    if name in state["active"]:
        raise DrillError(ERRORS["started"], ERRORS["started_fix"], name=name)
    memory = drill.start(settings)
    state["active"][name] = memory
    _save(state)
    return t(drill.trigger, settings.language, **_values(settings))


def check(settings, name: str) -> Outcome:
    """Run the step that fails in real life; capture its real error and diagnose it."""
    drill = _require(settings, name)
    memory = _state()["active"].get(name, {})
    try:
        drill.check(settings, memory)
    except Exception as exc:  # the drill's point: any real error is shown and diagnosed
        from ..core.secrets import scrub

        text = scrub(str(exc).strip())
        return Outcome(name, True, text, explain(exc, settings), drill.problem)
    return Outcome(name, False, expected=drill.problem)


def fix(settings, name: str) -> str:
    """Apply the fix a user would apply; return what it did."""
    drill = _require(settings, name)
    memory = _state()["active"].get(name)
    if memory is None:
        raise DrillError(ERRORS["not_started"], ERRORS["not_started_fix"], name=name)
    return drill.fix(settings, memory)


def reset(settings, name: str | None = None) -> list[str]:
    """Restore exactly what started drills changed (all of them by default)."""
    _require(settings, name)
    state = _state()
    names = [name] if name else list(state["active"])[::-1]
    done = []
    for each in names:
        memory = state["active"].pop(each, None)
        if memory is not None:
            DRILLS[each].reset(settings, memory)
            done.append(each)
        _save(state)
    return done


def recover(settings) -> list[str]:
    """Undo drills left started by an interrupted session (embedded target only)."""
    if settings.target != "embedded" or not _state()["active"]:
        return Notes(empty=NOTHING_LEFT)
    from ..core.server import ensure_target

    first = ("port_taken", "port_in_use", "server_stopped")  # these bring the server back
    done = [each for name in first for each in reset(settings, name)]
    ensure_target(settings)  # the other resets talk to the server
    return Notes(done + reset(settings), empty=NOTHING_LEFT)


NOTHING_LEFT = {"en": "No drill was left over from an earlier session.",
                "ko": "이전 세션에서 남은 훈련이 없습니다."}


def _values(settings) -> dict:
    return {"db_user": settings.db_user, "db_port": settings.db_port,
            "password_env": settings.password_env}


# -- a whole walk, for the notebook ------------------------------------------------------------
LABELS = {
    "en": ("Trigger", "Real error", "Diagnosis", "Fix applied", "Verify", "the step works again",
           "still failing", "skipped", "Environment restored"),
    "ko": ("유발", "실제 오류", "진단", "적용한 해결", "확인", "이제 정상 동작합니다", "아직 실패합니다",
           "건너뜀", "환경 복원"),
}


@dataclass(repr=False)
class Walk:
    """trigger → real error → diagnosis → fix → verify, for one drill."""

    drill: str
    title: str
    expected: str
    trigger: str = ""
    broken: Outcome | None = None
    fix: str = ""
    verified: Outcome | None = None
    restored: bool = False
    skipped: str = ""
    seconds: float = 0.0
    language: str = "en"

    @property
    def ok(self) -> bool:
        return bool(self.broken and self.broken.failed and self.broken.recognised
                    and self.verified and not self.verified.failed and self.restored)

    def __str__(self) -> str:
        words = LABELS.get(self.language, LABELS["en"])
        if self.skipped:
            return f"{self.drill}: {words[7]} ({self.skipped})"
        good = self.verified is not None and not self.verified.failed
        return (f"== {self.title} ==\n1. {words[0]}: {self.trigger}\n2. {words[1]}: "
                f"{self.broken.error if self.broken else ''}\n3. {words[2]}: "
                f"{self.broken.diagnosis if self.broken else ''}\n4. {words[3]}: {self.fix}\n"
                f"5. {words[4]}: {words[5] if good else words[6]}\n{words[8]}: {self.restored}")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        words = LABELS.get(self.language, LABELS["en"])
        if self.skipped:
            return (f"<p><b>{html.escape(self.title)}</b>: {words[7]} "
                    f"({html.escape(self.skipped)})</p>")
        good = self.verified is not None and not self.verified.failed
        diag = self.broken.diagnosis._repr_html_() if self.broken and self.broken.diagnosis else ""
        error = html.escape(self.broken.error if self.broken else "")
        return (f"<h4>{html.escape(self.title)} <code>{self.drill}</code></h4><ol>"
                f"<li><b>{words[0]}</b>: {html.escape(self.trigger)}</li>"
                f"<li><b>{words[1]}</b><pre>{error}</pre></li><li><b>{words[2]}</b>: {diag}</li>"
                f"<li><b>{words[3]}</b>: {html.escape(self.fix)}</li>"
                f"<li><b>{words[4]}</b>: {words[5] if good else words[6]}</li></ol>"
                f"<p>{words[8]}: {self.restored}. {self.seconds:.1f} s</p>")


def enabled(settings) -> str:
    """Why drills are skipped here, or '' when they run."""
    if not settings.run_drills:
        return t(SKIPPED["off"], settings.language)
    if settings.target != "embedded":
        return t(SKIPPED["server"], settings.language)
    return ""


SKIPPED = {"off": {"en": "run_drills is false", "ko": "run_drills가 false임"},
           "server": {"en": "drills only run against the embedded server",
                      "ko": "훈련은 내장 서버에서만 실행됨"}}


def walk(settings, name: str) -> Walk:
    """Walk one drill end to end and leave the environment exactly as it was."""
    drill = DRILLS[name]
    result = Walk(name, t(drill.title, settings.language), drill.problem,
                  language=settings.language)
    result.skipped = enabled(settings)
    if not result.skipped:
        began = time.perf_counter()
        try:
            result.trigger = start(settings, name)
            result.broken = check(settings, name)
            result.fix = fix(settings, name)
            result.verified = check(settings, name)
        finally:
            result.restored = name in reset(settings, name)
        result.seconds = time.perf_counter() - began
    _record(settings, result)
    return result


def _record(settings, result: Walk) -> None:
    done = manifest.read(settings.run_dir).get("drills", {})
    done[result.drill] = {"ok": result.ok, "skipped": result.skipped, "expected": result.expected,
                          "diagnosed": result.broken.diagnosis.problem_id
                          if result.broken and result.broken.diagnosis else None,
                          "seconds": round(result.seconds, 2)}
    manifest.update(settings.run_dir, "drills", done)


def summary(settings) -> dict:
    """Drill name → the problem it was diagnosed as ('skipped: why', or 'FAILED ...')."""
    done, lang = manifest.read(settings.run_dir).get("drills", {}), settings.language
    return {name: (t(SUMMARY["skipped"], lang, why=e["skipped"]) if e["skipped"]
                   else e["diagnosed"] if e["ok"]
                   else t(SUMMARY["failed"], lang, found=e["diagnosed"], expected=e["expected"]))
            for name, e in done.items()}


SUMMARY = {"skipped": {"en": "skipped: {why}", "ko": "건너뜀: {why}"},
           "failed": {"en": "FAILED (diagnosed {found}, expected {expected})",
                      "ko": "실패 (진단 {found}, 기대 {expected})"}}


def results(settings) -> CheckTable:
    """DX2xx: one row per drill walked in this run (from the manifest)."""
    done = manifest.read(settings.run_dir).get("drills", {})
    rows, lang = [], settings.language
    for number, name in enumerate(DRILLS, 1):
        entry, cid = done.get(name), f"DX2{number:02d}"
        label = t(RESULT["drill"], lang, name=name)
        if entry is None:
            rows.append(Check(cid, label, "skip", t(RESULT["not_walked"], lang)))
        elif entry["skipped"]:
            rows.append(Check(cid, label, "skip", entry["skipped"]))
        else:
            rows.append(Check(cid, label, "ok" if entry["ok"] else "fail",
                              t(RESULT["diagnosed"], lang, expected=entry["expected"],
                                found=entry["diagnosed"])))
    return table(rows)


RESULT = {
    "drill": {"en": "drill {name}", "ko": "훈련 {name}"},
    "not_walked": {"en": "not walked", "ko": "실행하지 않음"},
    "diagnosed": {"en": "expected {expected}, diagnosed {found}",
                  "ko": "기대 {expected}, 진단 {found}"},
}


# -- command line ------------------------------------------------------------------------------
HELP = {"name": {"en": "drill name (see `runbook drill list`)",
                 "ko": "훈련 이름 (`runbook drill list` 참고)"},
        "params": {"en": "profile of the embedded training server (default training)",
                   "ko": "내장 교육용 서버의 프로필 (기본 training)"}}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("list", "start", "check", "fix", "reset"))
    parser.add_argument("name", nargs="?", help=t(HELP["name"]))
    parser.add_argument("--params", default="parameters/training.yaml", help=t(HELP["params"]))


def command(args: argparse.Namespace) -> int:
    from ..core.config import load_settings

    if args.action == "list":
        active = _state()["active"]
        for d in list_drills(current()):
            mark = t(CLI["started"]) if d["name"] in active else ""
            print(f"{d['name']:<16} {d['problem']}  {d['title']}{mark}")
        return 0
    settings = load_settings(profile=args.params)
    if args.action != "reset" and not args.name:
        raise DrillError(ERRORS["needs_name"], ERRORS["known_fix"], action=args.action,
                         known=", ".join(DRILLS))
    if args.action == "start":
        print(f"{args.name}: {terminal(start(settings, args.name), newlines=True)}")
        print(t(CLI["now"], name=args.name))
    elif args.action == "check":
        outcome = check(settings, args.name)
        print(terminal(outcome, newlines=True))
        return 1 if outcome.failed else 0
    elif args.action == "fix":
        print(terminal(fix(settings, args.name), newlines=True))
    else:
        print(t(CLI["restored"], what=terminal(", ".join(reset(settings, args.name))
                                               or t(CLI["nothing"]))))
    return 0
