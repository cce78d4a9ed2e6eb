"""Run a Django project's `manage.py` against PostgreSQL (or a given SQLite file).

The project's own settings module is imported unchanged through a small shim that only
replaces `DATABASES`; the password reaches the child process through its environment,
never through a file or the command line.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .errors import ConfigError, RunbookError
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


def project_dir(settings) -> Path:
    folder = settings.django_dir
    if folder is None or not (folder / "manage.py").is_file():
        raise ConfigError(f"django_project {settings.django_project!r} holds no manage.py.",
                          "Set django_project to the folder with manage.py, or leave it empty "
                          "and use schema: sqlite for a plain SQLite file.")
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
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(shim_dir(settings)), str(project),
                                         env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
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


def manage(settings, *args: str, database: str = "postgresql",
           sqlite_path: str | Path | None = None, dbname: str | None = None,
           timeout: float = 1800, stdout=None,
           lazy_commit: bool = False) -> subprocess.CompletedProcess:
    """Run `python manage.py ARGS`; raise ManageError with the tail of its output on failure."""
    project = project_dir(settings)
    env = environment(settings, database, sqlite_path, dbname, lazy_commit)
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=project, env=env,
                          text=True, timeout=timeout, stdout=stdout or subprocess.PIPE,
                          stderr=subprocess.PIPE)
    return _checked(done, args, database)


def _checked(done: subprocess.CompletedProcess, args, database: str):
    """`done` itself, or ManageError with the (scrubbed) tail of its stderr."""
    if done.returncode != 0:
        tail = scrub("\n".join((done.stderr or "").strip().splitlines()[-6:]))
        raise ManageError(f"manage.py {' '.join(args)} failed ({database}): {tail}",
                          "Read the error above; `runbook` diagnoses it in notebook 05.")
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

    def __init__(self, settings, *args: str, lazy_commit: bool = False) -> None:
        self.args = args
        self.started = time.monotonic()
        env = environment(settings, lazy_commit=lazy_commit)
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", self.WAIT.format(args=list(args))],
            cwd=project_dir(settings), env=env, text=True, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def run(self, timeout: float = 1800) -> subprocess.CompletedProcess:
        out, err = self.proc.communicate("go\n", timeout=timeout)
        done = subprocess.CompletedProcess(self.proc.args, self.proc.returncode, out, err)
        return _checked(done, self.args, "postgresql")

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
    done = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(project)})
    if done.returncode != 0:
        raise ConfigError(f"Cannot import settings {settings.django_settings!r}: "
                          f"{scrub(done.stderr.strip().splitlines()[-1] if done.stderr else '')}",
                          "Check django_settings (e.g. config.settings.dev).")
    import json

    value = json.loads(done.stdout.strip() or "null")
    return default if value is None else value


__all__ = ["SHIM", "ManageError", "project_dir", "shim_dir", "environment", "manage", "Ahead",
           "read_setting"]
