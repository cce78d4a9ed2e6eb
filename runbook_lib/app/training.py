"""`runbook training start|reset --trainee NAME`: one workspace and database per trainee.

A workspace `training/<name>/` holds a fresh copy of the notebooks, the parameter profiles
and the sample SPC project, a `.env` (the guide's `DB_*` variables, mode 600) so the
notebooks' defaults point at the trainee's own database `spc_<name>` and role
`spc_<name>_user`, and `parameters/trainee.yaml` for `runbook run`. Its `.runbook` links to
the project's, so every trainee shares the one embedded server and its admin secret.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets as _random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from dotenv import dotenv_values

from ..core import db, files, paths, server
from ..core.config import Settings, load_profile, load_settings
from ..core.errors import ConfigError
from ..core.escape import terminal
from ..core.i18n import t
from ..core.identifiers import quote_ident
from ..core.results import require_ok
from ..core.secrets import register
from ..prepare import provision

FOLDER = "training"
COPIED = ("notebooks", "parameters", "examples")
SKIP = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.sqlite3-*", "*.pyc",
                              "runs", ".runbook", ".env")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
ENV_HEADER = {"en": "written by `runbook training`; never commit this file",
              "ko": "`runbook training`이 쓴 파일입니다. 절대 커밋하지 마세요."}
PROFILE_HEADER = {"en": "Trainee {name}: own database {db}, role {role}.",
                  "ko": "교육생 {name}: 자신의 데이터베이스 {db}, 역할 {role}."}
ERRORS = {
    "name": {"en": "Trainee name {name} is not a plain lower-case identifier.",
             "ko": "교육생 이름 {name}은(는) 소문자 식별자가 아닙니다."},
    "name_fix": {"en": "Use 1-30 lower-case letters, digits or underscores, starting with a "
                       "letter, e.g. --trainee kim_minjun.",
                 "ko": "영문 소문자로 시작하는 1-30자의 소문자, 숫자, 밑줄을 쓰세요. 예: "
                       "--trainee kim_minjun"},
    "link": {"en": "{folder} is a symbolic link; refusing to replace what it points to.",
             "ko": "{folder}은(는) 심볼릭 링크입니다. 링크가 가리키는 곳을 바꾸지 않겠습니다."},
    "link_fix": {"en": "Remove the link by hand, then run the command again.",
                 "ko": "링크를 직접 지운 뒤 명령을 다시 실행하세요."},
}


@dataclass(frozen=True)
class Trainee:
    """Where one trainee works: workspace folder, database, role, password variable."""

    name: str
    workspace: Path
    db_name: str
    db_user: str


def check_trainee(name: str) -> str:
    """A trainee name is a lower-case identifier (it names a folder, a database and a role)."""
    if not _NAME.fullmatch(name or ""):
        raise ConfigError(ERRORS["name"], ERRORS["name_fix"], name=repr(name))
    return name


def trainee(name: str) -> Trainee:
    name = check_trainee(name)
    return Trainee(name, paths.project_root() / FOLDER / name, f"spc_{name}", f"spc_{name}_user")


def trainee_settings(who: Trainee, profile: str, password: str,
                     reset_password: bool = False) -> Settings:
    """The trainer's profile pointed at the trainee's database, with the trainee's password
    (`reset_password`: a new workspace's password replaces the training role's old one)."""
    env = f"RUNBOOK_TRAINEE_{who.name.upper()}_PASSWORD"
    os.environ[env] = password
    register(password)
    return load_settings(profile=profile, db_name=who.db_name, db_user=who.db_user,
                         password_env=env, reset_password=reset_password)


def copy_workspace(who: Trainee) -> None:
    """A fresh copy of the notebooks, profiles and sample project (the old one removed)."""
    root = paths.project_root()
    for folder in (who.workspace.parent, who.workspace):
        if folder.is_symlink():
            raise ConfigError(ERRORS["link"], ERRORS["link_fix"], folder=str(folder))
    files.inside(root / FOLDER, who.name)  # a trainee's folder never leaves training/
    shutil.rmtree(who.workspace, ignore_errors=True)
    who.workspace.mkdir(parents=True)
    for name in COPIED:
        if (root / name).is_dir():
            shutil.copytree(root / name, who.workspace / name, ignore=SKIP)
    paths.make_state_dir()
    (who.workspace / ".runbook").symlink_to(paths.state_dir(), target_is_directory=True)


def ensure_sample(who: Trainee, settings: Settings) -> Path:
    """The trainee's own copy of the sample SPC database (built when the project has none)."""
    from ..prepare import demo

    relative = Path(settings.sqlite_path)
    target = relative if relative.is_absolute() else who.workspace / relative
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        demo.build(target, rows=settings.demo_rows, force=True)
    return target


def write_env(who: Trainee, settings: Settings, password: str) -> Path:
    """`.env` (mode 600): the guide's DB_* variables for the trainee's database."""
    file = who.workspace / ".env"
    lines = [f"DB_NAME={who.db_name}", f"DB_USER={who.db_user}", f"DB_PASSWORD={password}",
             f"DB_HOST={settings.db_host}", f"DB_PORT={settings.db_port}"]
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("# " + t(ENV_HEADER, settings.language) + "\n")
        fh.write("\n".join(lines) + "\n")
    return file


def write_profile(who: Trainee, profile: str, settings: Settings) -> Path:
    """`parameters/trainee.yaml`: the trainer's profile aimed at the trainee's database."""
    values = load_profile(profile)
    values.update(db_name=who.db_name, db_user=who.db_user, db_host=settings.db_host,
                  db_port=settings.db_port, target=settings.target)
    values.pop("run_dir", None)
    values.pop("password_env", None)
    file = who.workspace / "parameters" / "trainee.yaml"
    header = "# " + t(PROFILE_HEADER, settings.language, name=who.name, db=who.db_name,
                      role=who.db_user) + "\n"
    file.write_text(header + yaml.safe_dump(values, sort_keys=False, allow_unicode=True))
    return file


def drop_database(settings: Settings) -> None:
    """Drop the trainee's database and role (reset only)."""
    with db.connection(settings, admin=True, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {quote_ident(settings.db_name)} WITH (FORCE)")
        cur.execute(f"DROP ROLE IF EXISTS {quote_ident(settings.db_user)}")


def existing_password(who: Trainee) -> str | None:
    """The password of a workspace that already exists (start keeps the trainee's work)."""
    file = who.workspace / ".env"
    return dotenv_values(file).get("DB_PASSWORD") if file.is_file() else None


def prepare(name: str, profile: str, reset: bool = False) -> tuple[Trainee, Settings, bool]:
    """Start (or reset) a trainee: server up, database and role, workspace; True if fresh."""
    who = trainee(name)
    kept = None if reset else existing_password(who)
    password = kept or _random.token_urlsafe(18)
    settings = trainee_settings(who, profile, password, reset_password=kept is None)
    server.ensure_target(settings)
    if reset:
        drop_database(settings)
    require_ok(provision.create_database(settings))
    if kept:
        return who, settings, False
    copy_workspace(who)
    ensure_sample(who, settings)
    write_env(who, settings, password)
    write_profile(who, profile, settings)
    return who, settings, True


INSTRUCTIONS = {
    "en": "Trainee {name} is ready.\n"
          "  workspace: {ws}\n"
          "  database:  {dsn}  (password in {env})\n"
          "Open the notebooks in JupyterLab:\n"
          "  cd {ws} && RUNBOOK_HOME=$PWD {jupyter} lab {notebooks}\n"
          "Or run every stage headlessly:\n"
          "  cd {ws} && RUNBOOK_HOME=$PWD {runbook} run --params parameters/trainee.yaml\n"
          "Start again from scratch: runbook training reset --trainee {name}",
    "ko": "교육생 {name} 준비 완료.\n"
          "  작업 공간: {ws}\n"
          "  데이터베이스: {dsn}  (비밀번호는 {env})\n"
          "JupyterLab에서 노트북 열기:\n"
          "  cd {ws} && RUNBOOK_HOME=$PWD {jupyter} lab {notebooks}\n"
          "또는 모든 단계를 헤드리스로 실행:\n"
          "  cd {ws} && RUNBOOK_HOME=$PWD {runbook} run --params parameters/trainee.yaml\n"
          "처음부터 다시: runbook training reset --trainee {name}",
}
KEPT = {"en": "{ws} already exists and was kept (its database is ready); "
              "`runbook training reset --trainee {name}` starts it over.",
        "ko": "{ws}이(가) 이미 있어 그대로 두었습니다 (데이터베이스 준비됨); "
              "`runbook training reset --trainee {name}`으로 처음부터 시작합니다."}


def instructions(who: Trainee, settings: Settings) -> str:
    """How to open the workspace (the Korean notebooks for `language: ko`), and a batch run."""
    bin_dir = Path(sys.executable).parent
    ws = who.workspace
    return t(INSTRUCTIONS, settings.language, name=who.name, ws=ws, dsn=settings.dsn(),
             env=ws / ".env", jupyter=bin_dir / "jupyter", runbook=bin_dir / "runbook",
             notebooks="notebooks/ko/" if settings.language == "ko" else "notebooks/")


HELP = {
    "action": {"en": "start: create the workspace; reset: back to the start",
               "ko": "start: 작업 공간을 만듦, reset: 처음 상태로 되돌림"},
    "trainee": {"en": "lower-case identifier, e.g. kim_minjun",
                "ko": "소문자 식별자, 예: kim_minjun"},
    "params": {"en": "trainer's profile (default parameters/training.yaml)",
               "ko": "강사의 프로필 (기본 parameters/training.yaml)"},
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("start", "reset"), help=t(HELP["action"]))
    parser.add_argument("--trainee", required=True, metavar="NAME", help=t(HELP["trainee"]))
    parser.add_argument("--params", default="parameters/training.yaml", help=t(HELP["params"]))


def command(args: argparse.Namespace) -> int:
    who, settings, fresh = prepare(args.trainee, args.params, reset=args.action == "reset")
    if not fresh:
        print(t(KEPT, settings.language, ws=terminal(who.workspace), name=who.name))
    print(terminal(instructions(who, settings), newlines=True))
    return 0


__all__ = ["check_trainee", "trainee", "prepare", "instructions", "Trainee"]
