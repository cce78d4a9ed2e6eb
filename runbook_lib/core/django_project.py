"""Run a Django project's `manage.py` against PostgreSQL (or a given SQLite file), in the
project's own interpreter.

The interpreter is `django_python`, else a `venv/`, `.venv/` or `env/` beside `manage.py` or
one level up (the guide's `backend/venv`), else the runbook's own. The project's settings
module is imported unchanged through a small shim that only replaces `DATABASES`; the
password reaches the child process through its environment, never through a file or the
command line. Whatever runs inside the project's process (the shim, `shell -c` scripts) is
plain Python for Django 4.2 LTS and 5.x and imports nothing of the runbook.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from . import paths
from .errors import ConfigError, RunbookError
from .i18n import as_is, current, t
from .secrets import scrub

SHIM = '''\
# Written by the runbook: the project's settings with DATABASES pointed elsewhere.
import os
from {settings} import *  # noqa: F401,F403

if os.environ["RUNBOOK_DB_ENGINE"] == "postgresql":
    DATABASES = {{"default": {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["RUNBOOK_DB_NAME"],
        "USER": os.environ["RUNBOOK_DB_USER"],
        "PASSWORD": os.environ.get("RUNBOOK_DB_PASSWORD", ""),
        "HOST": os.environ["RUNBOOK_DB_HOST"],
        "PORT": os.environ["RUNBOOK_DB_PORT"],
        "CONN_MAX_AGE": 0,
        "OPTIONS": {{"connect_timeout": 10}},
    }}}}
    if os.environ.get("RUNBOOK_DB_SYNC") == "off":  # building the schema: see environment()
        DATABASES["default"]["OPTIONS"]["options"] = "-c synchronous_commit=off"
else:
    DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3",
                               "NAME": os.environ["RUNBOOK_SQLITE_PATH"]}}}}
'''


class ManageError(RunbookError):
    """A manage.py command failed."""


ERRORS = {
    "not_python": {"en": "django_python {given} is not a Python interpreter (or a virtualenv "
                         "folder holding one).",
                   "ko": "django_python {given}은(는) Python 인터프리터(또는 인터프리터가 든 "
                         "가상 환경 폴더)가 아닙니다."},
    "not_python_fix": {"en": "Set django_python to the project's interpreter, e.g. "
                             "backend/venv/bin/python, or leave it empty to detect venv/, .venv/ "
                             "or env/ beside manage.py.",
                       "ko": "django_python을 프로젝트의 인터프리터(예: backend/venv/bin/python)로 "
                             "설정하거나, 비워 두어 manage.py 옆의 venv/, .venv/, env/를 찾게 "
                             "하세요."},
    "no_manage": {"en": "django_project {given} holds no manage.py.",
                  "ko": "django_project {given}에 manage.py가 없습니다."},
    "no_manage_fix": {"en": "Set django_project to the folder with manage.py, or leave it empty "
                            "and use schema: sqlite for a plain SQLite file.",
                      "ko": "django_project를 manage.py가 있는 폴더로 설정하세요. Django 없는 "
                            "SQLite 파일이면 비워 두고 schema: sqlite를 쓰세요."},
    "manage": {"en": "manage.py {command} failed ({database}) in {python}: {tail}",
               "ko": "manage.py {command} 실행이 실패했습니다({database}, {python}): {tail}"},
    "manage_fix": {"en": "Read the error above; `runbook` diagnoses it in notebook 05.",
                   "ko": "위의 오류를 읽어 보세요. 노트북 05에서 `runbook`이 원인을 진단합니다."},
    "settings": {"en": "Cannot import settings {module} in {python}: {error}",
                 "ko": "{python}에서 settings {module}을(를) 가져올 수 없습니다: {error}"},
    "settings_fix": {"en": "Check django_settings (e.g. config.settings.dev).",
                     "ko": "django_settings를 확인하세요(예: config.settings.dev)."},
}

VENV_NAMES = ("venv", ".venv", "env")
_BIN = ("bin/python", "Scripts/python.exe")


def venv_python(folder: Path) -> Path | None:
    """The interpreter of a virtualenv folder (or of venv/, .venv/, env/ inside `folder`)."""
    for base in (folder, *(folder / n for n in VENV_NAMES)):
        for rel in _BIN:
            found = base / rel
            if (base / "pyvenv.cfg").is_file() and found.is_file():
                return found
    return None


def interpreter(settings) -> Path:
    """The Python that runs the project: `django_python`, else a venv beside manage.py or one
    level up, else the runbook's own (its venv then stands in for the project's)."""
    if getattr(settings, "django_python", ""):
        given = paths.resolve(settings.django_python)
        found = venv_python(given) if given.is_dir() else given
        if found is None or not found.is_file() or not os.access(found, os.X_OK):
            raise ConfigError(ERRORS["not_python"], ERRORS["not_python_fix"],
                              given=repr(settings.django_python))
        return found.absolute()
    project = project_dir(settings)
    for folder in (project, project.parent):
        found = venv_python(folder)
        if found is not None:
            return found.absolute()
    return Path(sys.executable)


def detected_from(settings) -> str:
    """Where `interpreter` came from: 'django_python', 'venv' or 'runbook'."""
    if getattr(settings, "django_python", ""):
        return "django_python"
    return "runbook" if interpreter(settings) == Path(sys.executable) else "venv"


def pip_command(settings) -> str:
    """How to run pip for the project's interpreter (`backend/venv/bin/pip`)."""
    python = interpreter(settings)
    pip = python.with_name("pip.exe" if python.suffix == ".exe" else "pip")
    return str(pip) if pip.is_file() else f"{python} -m pip"


def requirements_file(settings) -> Path | None:
    """The project's requirements.txt (beside manage.py or one level up), if it has one."""
    project = project_dir(settings)
    for folder in (project, project.parent):
        if (folder / "requirements.txt").is_file():
            return folder / "requirements.txt"
    return None


DRIVER_PACKAGES = "psycopg2-binary python-dotenv"


INSTALL = {
    "driver": {"en": "Install the PostgreSQL driver (and python-dotenv, which the settings written "
                     "in stage 06 use) into the project's interpreter {python}: `{pip} install "
                     "{packages}`.",
               "ko": "프로젝트의 인터프리터 {python}에 PostgreSQL 드라이버(와 06단계가 쓰는 settings가 "
                     "쓰는 python-dotenv)를 설치하세요: `{pip} install {packages}`."},
    "module": {"en": "module {module!r}", "ko": "모듈 {module!r}"},
    "dependencies": {"en": "the project's dependencies", "ko": "프로젝트의 의존성"},
    "requirements": {"en": "`{pip} install -r {req}`", "ko": "`{pip} install -r {req}`"},
    "package": {"en": "`{pip} install <the package that provides {what}>` (see the project's "
                      "requirements)",
                "ko": "`{pip} install <{what}을(를) 제공하는 패키지>` (프로젝트의 requirements 참고)"},
    "lacks": {"en": "The project's interpreter {python} lacks {what}: install the project's "
                    "requirements into it: {how}; or set django_python to the interpreter of the "
                    "project's own virtualenv.",
              "ko": "프로젝트의 인터프리터 {python}에 {what}이(가) 없습니다. 프로젝트의 requirements를 "
                    "그 인터프리터에 설치하세요: {how}; 또는 django_python을 프로젝트 자신의 가상환경 "
                    "인터프리터로 지정하세요."},
}


def install_hint(settings, module: str = "") -> str:
    """The exact command that installs what the project's interpreter lacks."""
    python, pip = interpreter(settings), pip_command(settings)
    lang = getattr(settings, "language", None) or current()
    if module.split(".")[0] in ("psycopg2", "dotenv"):
        return t(INSTALL["driver"], lang, python=python, pip=pip, packages=DRIVER_PACKAGES)
    req = requirements_file(settings)
    what = t(INSTALL["module"], lang, module=module) if module else \
        t(INSTALL["dependencies"], lang)
    how = (t(INSTALL["requirements"], lang, pip=pip, req=req) if req else
           t(INSTALL["package"], lang, pip=pip, what=module or "it"))
    return t(INSTALL["lacks"], lang, python=python, what=what, how=how)


_MISSING = re.compile(r"(?:ModuleNotFoundError|ImportError): No module named '([^']+)'")


def missing_module(text: str) -> str | None:
    """The module a failed import names in a traceback, if any."""
    found = _MISSING.findall(text or "")
    return found[-1] if found else None


def project_dir(settings) -> Path:
    folder = settings.django_dir
    if folder is None or not (folder / "manage.py").is_file():
        raise ConfigError(ERRORS["no_manage"], ERRORS["no_manage_fix"],
                          given=repr(settings.django_project))
    return folder


def shim_dir(settings) -> Path:
    folder = Path(settings.run_dir) / "django_shim"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "runbook_shim_settings.py").write_text(SHIM.format(settings=settings.django_settings))
    return folder


def environment(settings, database: str = "postgresql", sqlite_path: str | Path | None = None,
                dbname: str | None = None, lazy_commit: bool = False) -> dict[str, str]:
    """Child-process environment running the project against the chosen database.

    lazy_commit: the session commits without waiting for the WAL flush (`synchronous_commit
    = off`; ~0.15 s less for the sample's `migrate`, one flush per migration). Only for
    building the target schema: a server crash then loses the run, which is marked
    unfinished and redone from scratch by the next one."""
    project = project_dir(settings)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONPATH"] = os.pathsep.join([str(shim_dir(settings)), str(project),
                                         *_user_path(env.get("PYTHONPATH", ""))])
    env["DJANGO_SETTINGS_MODULE"] = "runbook_shim_settings"
    env["RUNBOOK_DB_ENGINE"] = database
    env.update(RUNBOOK_DB_NAME=dbname or settings.db_name, RUNBOOK_DB_USER=settings.db_user,
               RUNBOOK_DB_HOST=settings.db_host, RUNBOOK_DB_PORT=str(settings.db_port),
               RUNBOOK_SQLITE_PATH=str(sqlite_path or settings.sqlite_file))
    if settings.password:
        env["RUNBOOK_DB_PASSWORD"] = settings.password.reveal()
    env.pop("RUNBOOK_DB_SYNC", None)
    if lazy_commit:
        env["RUNBOOK_DB_SYNC"] = "off"
    return env


def _user_path(value: str) -> list[str]:
    """The caller's PYTHONPATH without the runbook's own venv and checkout: the project's
    interpreter must not find the runbook's packages."""
    prefix, checkout = Path(sys.prefix).resolve(), paths.PACKAGE_DIR.parent.resolve()
    kept = []
    for entry in filter(None, value.split(os.pathsep)):
        where = Path(entry).resolve()
        if where not in (prefix, checkout) and prefix not in where.parents:
            kept.append(entry)
    return kept


def manage(settings, *args: str, database: str = "postgresql",
           sqlite_path: str | Path | None = None, dbname: str | None = None,
           timeout: float = 1800, stdout=None,
           lazy_commit: bool = False) -> subprocess.CompletedProcess:
    """Run `python manage.py ARGS`; raise ManageError with the tail of its output on failure."""
    project = project_dir(settings)
    env = environment(settings, database, sqlite_path, dbname, lazy_commit)
    done = subprocess.run([str(interpreter(settings)), "manage.py", *args], cwd=project,
                          env=env, text=True, timeout=timeout,
                          stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE)
    return checked(settings, done, args, database)


def checked(settings, done: subprocess.CompletedProcess, args, database: str = "postgresql"):
    """`done` itself, or ManageError with the (scrubbed) tail of its output; a failed import
    (the project's dependencies missing in its interpreter) says what to install."""
    if done.returncode != 0:
        text = done.stderr or (done.stdout if isinstance(done.stdout, str) else "") or ""
        tail = scrub("\n".join(text.strip().splitlines()[-6:]))
        module = missing_module(text)
        hint = as_is(install_hint(settings, module)) if module else ERRORS["manage_fix"]
        shown = [a if i == 0 or args[i - 1] != "-c" else "<script>" for i, a in enumerate(args)]
        raise ManageError(ERRORS["manage"], hint, command=" ".join(shown), database=database,
                          python=str(interpreter(settings)), tail=tail)
    return done


class Ahead:
    """`manage.py shell -c` started ahead of time: Python and `django.setup()` run while the
    runbook does other work; `run()` then has it execute one command, `cancel()` lets it exit
    without running anything. Behaves as `manage(settings, *args)` otherwise (the project's
    own manage.py, its environment, system checks, the same errors). Started long ago (a
    notebook left open between cells), it may predate edits to the project: `fresh()` says
    whether to trust it."""

    FRESH_SECONDS = 60

    WAIT = ("import sys\n"
            "if sys.stdin.readline().strip() == 'go':\n"
            "    from django.core.management import call_command\n"
            "    call_command(*{args!r}, skip_checks=False)\n")

    def __init__(self, settings, *args: str, lazy_commit: bool = False,
                 then: str = "") -> None:
        self.args = args
        self.settings = settings
        self.started = time.monotonic()
        env = environment(settings, lazy_commit=lazy_commit)
        script = self.WAIT.format(args=list(args)) + "".join(
            "    " + line + "\n" for line in then.splitlines())
        self.proc = subprocess.Popen(
            [str(interpreter(settings)), "manage.py", "shell", "-c", script],
            cwd=project_dir(settings), env=env, text=True, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def run(self, timeout: float = 1800) -> subprocess.CompletedProcess:
        out, err = self.proc.communicate("go\n", timeout=timeout)
        done = subprocess.CompletedProcess(self.proc.args, self.proc.returncode, out, err)
        return checked(self.settings, done, self.args, "postgresql")

    def fresh(self) -> bool:
        return time.monotonic() - self.started < self.FRESH_SECONDS

    def cancel(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.communicate("", timeout=30)  # end of input: it exits, runs nothing
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def read_setting(settings, name: str, default=None):
    """One value of the project's own settings module (e.g. USE_TZ, TIME_ZONE)."""
    code = (f"import json, importlib; m = importlib.import_module({settings.django_settings!r}); "
            f"print(json.dumps(getattr(m, {name!r}, None), default=str))")
    project = project_dir(settings)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONPATH"] = os.pathsep.join([str(project), *_user_path(env.get("PYTHONPATH", ""))])
    done = subprocess.run([str(interpreter(settings)), "-c", code], cwd=project,
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        module = missing_module(done.stderr)
        raise ConfigError(ERRORS["settings"],
                          as_is(install_hint(settings, module)) if module else
                          ERRORS["settings_fix"],
                          module=repr(settings.django_settings), python=str(interpreter(settings)),
                          error=scrub(done.stderr.strip().splitlines()[-1] if done.stderr else ""))
    import json

    value = json.loads(done.stdout.strip() or "null")
    return default if value is None else value


__all__ = ["SHIM", "ManageError", "project_dir", "shim_dir", "environment", "manage", "Ahead",
           "read_setting", "interpreter", "detected_from", "pip_command", "install_hint",
           "missing_module", "requirements_file", "checked", "venv_python"]
