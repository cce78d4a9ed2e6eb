"""Switch the Django project to PostgreSQL and prove it: manage.py checks, superuser, a live
`runserver` smoke test (admin page, JSON API), the guide's checklist, and the rollback.

The project runs through `core.django_project`'s settings shim, so its files are never edited to
test it; `runserver` always gets a free loopback port and is stopped in a `finally`.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..core import db, django_project, manifest, server
from ..core.config import _lookup_secret
from ..core.errors import RunbookError
from ..core.results import Check, CheckTable, table
from ..core.secrets import register, scrub

STARTUP_SECONDS = 40
SUPERUSER_DEFAULTS = {"DJANGO_SUPERUSER_USERNAME": "admin",
                      "DJANGO_SUPERUSER_EMAIL": "admin@example.com"}


class CutoverError(RunbookError):
    """The Django project could not be run or checked against the database."""


@dataclass
class Running:
    """A live `runserver`: its base URL, process and log file."""

    url: str
    process: subprocess.Popen
    log: Path

    def get(self, path: str) -> tuple[int, str]:
        """GET a path; (status, body). HTTP errors are returned, not raised."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=20) as answer:
                return answer.status, answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def get_json(self, path: str) -> dict:
        status, body = self.get(path)
        if status != 200:
            raise CutoverError(f"GET {path} answered {status}.",
                               f"Read the server log {self.log}.")
        return json.loads(body)


def own_environment(settings, module: str | None = None, extra_path: Path | None = None) -> dict:
    """Child environment running the project with its own settings module (no shim)."""
    env = django_project.environment(settings)
    for name in [k for k in env if k.startswith("RUNBOOK_DB_")]:
        env.pop(name)
    folders = [str(extra_path)] if extra_path else []
    env["PYTHONPATH"] = os.pathsep.join(folders + [str(django_project.project_dir(settings))])
    env["DJANGO_SETTINGS_MODULE"] = module or settings.django_settings
    return env


def run_manage(settings, *args: str, env: dict | None = None,
               timeout: float = 600) -> subprocess.CompletedProcess:
    """`manage.py ARGS` against PostgreSQL (shim) unless `env` says otherwise; raise on failure."""
    env = env or django_project.environment(settings)
    done = subprocess.run([str(django_project.interpreter(settings)), "manage.py", *args],
                          cwd=django_project.project_dir(settings), env=env, text=True,
                          capture_output=True, timeout=timeout)
    return django_project.checked(settings, done, args)


def _wait_listening(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = scrub("\n".join(log.read_text("utf-8", "replace").splitlines()[-5:]))
            raise CutoverError(f"runserver exited with status {process.returncode}: {tail}",
                               f"Read {log}; run `manage.py check` for details.")
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise CutoverError(f"runserver did not listen on port {port} within {STARTUP_SECONDS} s.",
                       f"Read {log}.")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@contextmanager
def running_server(settings, env: dict | None = None, label: str = "postgresql"
                   ) -> Iterator[Running]:
    """`manage.py runserver --noreload` on a free loopback port; always stopped on exit."""
    port = server.free_port()
    log = Path(settings.run_dir) / f"runserver-{label}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(django_project.interpreter(settings)), "manage.py", "runserver", "--noreload",
             f"127.0.0.1:{port}"],
            cwd=django_project.project_dir(settings), env=env or django_project.environment(settings),
            stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_listening(port, process, log)
        yield Running(f"http://127.0.0.1:{port}", process, log)
    finally:
        _stop(process)


def attempt(check_id: str, name: str, step: Callable[[], tuple[str, str]]) -> Check:
    """Run one step that returns (status, evidence); a RunbookError becomes a failed check."""
    try:
        status, evidence = step()
    except (RunbookError, OSError, ValueError, subprocess.SubprocessError) as exc:
        return Check(check_id, name, "fail", scrub(getattr(exc, "message", str(exc))),
                     scrub(getattr(exc, "hint", "")))
    return Check(check_id, name, status, evidence)


def _check_project(settings) -> tuple[str, str]:
    out = run_manage(settings, "check", "--database", "default").stdout.strip()
    return "ok", out.splitlines()[-1] if out else "no issues"


def _showmigrations(settings) -> tuple[str, str]:
    lines = run_manage(settings, "showmigrations", "--plan").stdout.splitlines()
    pending = [ln.split("]", 1)[1].strip() for ln in lines if ln.startswith("[ ]")]
    applied = sum(ln.startswith("[X]") for ln in lines)
    if pending:
        return "fail", f"{len(pending)} not applied: {', '.join(pending[:5])}"
    return "ok", f"all {applied} migrations applied"


def _migrate_noop(settings) -> tuple[str, str]:
    out = run_manage(settings, "migrate", "--noinput").stdout
    if "No migrations to apply" in out:
        return "ok", "No migrations to apply."
    applied = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("Applying")]
    return "warn", f"migrate applied {len(applied)} migration(s) the migration had not"


SUPERUSER_COUNT = ("from django.contrib.auth import get_user_model; "
                   "print(get_user_model().objects.filter(is_superuser=True).count())")


def superuser_count(settings, env: dict | None = None) -> int:
    return int(run_manage(settings, "shell", "-c", SUPERUSER_COUNT, env=env).stdout.split()[-1])


def _superuser_env(settings) -> dict[str, str] | None:
    secret = _lookup_secret("DJANGO_SUPERUSER_PASSWORD", generate=settings.target == "embedded")
    if not secret:
        return None
    register(secret.reveal())
    names = {k: os.environ.get(k) or v for k, v in SUPERUSER_DEFAULTS.items()}
    return {**django_project.environment(settings), **names,
            "DJANGO_SUPERUSER_PASSWORD": secret.reveal(), "RUNBOOK_SECRET_SOURCE": secret.source}


def _superuser(settings) -> tuple[str, str]:
    count = superuser_count(settings)
    if count:
        return "ok", f"{count} superuser(s) already in PostgreSQL; none created"
    env = _superuser_env(settings)
    if env is None:
        return "fail", ("no superuser, and DJANGO_SUPERUSER_PASSWORD is not set: set it (with "
                        "DJANGO_SUPERUSER_USERNAME/EMAIL) and re-run")
    run_manage(settings, "createsuperuser", "--noinput", env=env)
    return "ok", (f"created superuser {env['DJANGO_SUPERUSER_USERNAME']!r}, password from "
                  f"{env['RUNBOOK_SECRET_SOURCE']}")


def ensure_superuser(settings) -> Check:
    """A superuser exists, created non-interactively from DJANGO_SUPERUSER_* when none did."""
    return attempt("DJ033", "superuser", lambda: _superuser(settings))


def manage_checks(settings) -> CheckTable:
    """check --database default, showmigrations, migrate no-op, superuser."""
    return table([
        attempt("DJ030", "manage.py check --database default", lambda: _check_project(settings)),
        attempt("DJ031", "showmigrations", lambda: _showmigrations(settings)),
        attempt("DJ032", "migrate is a no-op", lambda: _migrate_noop(settings)),
        ensure_superuser(settings),
    ])


def source_counts(sqlite_file: Path) -> dict[str, int]:
    """Row counts of every table of the SQLite file, opened read-only."""
    conn = sqlite3.connect(f"file:{sqlite_file}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                            "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        conn.close()


def target_counts(settings, tables: list[str]) -> dict[str, int | None]:
    """Row counts of the same tables in PostgreSQL (None where the table is missing)."""
    out: dict[str, int | None] = {}
    with db.connection(settings) as conn, conn.cursor() as cur:
        for name in tables:
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f'"{name}"',))
            if cur.fetchone()[0]:
                cur.execute(f'SELECT count(*) FROM "{name}"')
                out[name] = cur.fetchone()[0]
            else:
                out[name] = None
    return out


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def remember_source(settings) -> dict:
    """Record the SQLite file's checksum before the cutover (the rollback proves it unchanged)."""
    info = {"sqlite_path": str(settings.sqlite_file), "sqlite_sha256": sha256(
        settings.sqlite_file), "source_counts": source_counts(settings.sqlite_file)}
    section = {**manifest.read(settings.run_dir).get("cutover", {}), **info}
    manifest.update(settings.run_dir, "cutover", section)
    return info


def has_channels(settings, env: dict | None = None) -> str:
    """Why there is no WebSocket to test ('' when the project has Channels routing)."""
    code = ("from django.conf import settings as s; import importlib.util as u; "
            "print('no-asgi' if not getattr(s, 'ASGI_APPLICATION', None) else "
            "'no-channels' if not u.find_spec('channels') else 'ok')")
    answer = run_manage(settings, "shell", "-c", code, env=env).stdout.split()[-1]
    return {"no-asgi": "no ASGI_APPLICATION / Channels routing in the project settings",
            "no-channels": "ASGI_APPLICATION is set but the channels package is not installed",
            }.get(answer, "")


def websocket_check(settings) -> Check:
    """Skipped, with the reason, unless the project routes WebSockets through Channels."""
    def step() -> tuple[str, str]:
        reason = has_channels(settings)
        if reason:
            return "skip", f"skipped: {reason}"
        return "warn", ("Channels routing found: runserver's smoke test does not open "
                        "WebSockets; test them with the project's own client against daphne")
    return attempt("DJ038", "WebSocket", step)


PRODUCTS_API = "/api/products/"


def _source_measurements(settings, product_id: int) -> int:
    conn = sqlite3.connect(f"file:{settings.sqlite_file}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM spc_qualitymeasurement WHERE product_id = ?",
                            (product_id,)).fetchone()[0]
    finally:
        conn.close()


def _admin(live: Running) -> tuple[str, str]:
    status, _body = live.get("/admin/login/")
    return ("ok" if status == 200 else "fail"), f"GET /admin/login/ → {status}"


def _products(settings, live: Running, vendor: str) -> tuple[str, str]:
    status, body = live.get(PRODUCTS_API)
    if status == 404:
        return "skip", f"the project has no {PRODUCTS_API} (the sample SPC API)"
    data = json.loads(body) if status == 200 else {}
    expected = source_counts(settings.sqlite_file).get("spc_product")
    ok = status == 200 and data.get("database") == vendor and data.get("count") == expected
    return ("ok" if ok else "fail"), (f"GET {PRODUCTS_API} → {status}, JSON from "
                                      f"{data.get('database')}: {data.get('count')} products "
                                      f"(SQLite source: {expected})")


def _measurements(settings, live: Running, vendor: str) -> tuple[str, str]:
    status, body = live.get(PRODUCTS_API)
    if status == 404:
        return "skip", f"the project has no {PRODUCTS_API} (the sample SPC API)"
    products = json.loads(body)["products"]
    if not products:
        return "fail", "no products, so no measurements to read"
    first = products[0]
    path = f"{PRODUCTS_API}{first['id']}/measurements/?limit=5"
    data = live.get_json(path)
    expected = _source_measurements(settings, first["id"])
    ok = data["database"] == vendor and data["count"] == expected
    stats = ", ".join(f"{k}={data[k]:.4g}" for k in ("mean", "std", "cp", "cpk")
                      if data.get(k) is not None)
    return ("ok" if ok else "fail"), (f"GET {path} → {data['count']} measurements of "
                                      f"{first['product_code']} from {data['database']} "
                                      f"(SQLite: {expected}); {stats}")


def smoke(settings, env: dict | None = None, vendor: str = "postgresql",
          label: str = "postgresql") -> CheckTable:
    """runserver on a free port: it starts, /admin/login/ is 200, the API reads `vendor`."""
    try:
        with running_server(settings, env, label) as live:
            return table([
                Check("DJ034", "runserver starts", "ok", f"listening on {live.url} ({label})"),
                attempt("DJ035", "admin page", lambda: _admin(live)),
                attempt("DJ036", "API: products", lambda: _products(settings, live, vendor)),
                attempt("DJ037", "API: measurements",
                        lambda: _measurements(settings, live, vendor)),
            ])
    except CutoverError as exc:
        return table([Check("DJ034", "runserver starts", "fail", exc.message, exc.hint)])


LOADS = """\
import json
import dotenv, psycopg2  # what the runbook's DATABASES block needs
import django
from django.conf import settings
django.setup()
from django.db import connection
connection.ensure_connection()
print("RUNBOOK-LOADS " + json.dumps([connection.vendor, str(settings.DATABASES["default"].get(
    "NAME"))]))
"""


def _settings_load(settings) -> tuple[str, str]:
    """The settings load in the project's interpreter and connect: the written ones (its own
    settings module) once applied, else the shim, with what the block imports."""
    written = _applied(settings)
    env = own_environment(settings) if written else django_project.environment(settings)
    python = django_project.interpreter(settings)
    done = subprocess.run([str(python), "-c", LOADS], cwd=django_project.project_dir(settings),
                          env=env, capture_output=True, text=True, timeout=300)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RUNBOOK-LOADS ")), None)
    if line is None:
        text = scrub((done.stderr or done.stdout).strip())
        module = django_project.missing_module(text)
        raise CutoverError(f"{'the written settings' if written else 'the settings'} do not "
                           f"load in {python}: {text.splitlines()[-1] if text else 'no output'}",
                           django_project.install_hint(settings, module) if module else
                           "Read the error; run `python manage.py check` in the project's venv.")
    vendor, name = json.loads(line.split(" ", 1)[1])
    which = (f"{settings_block_name(settings)} (as written)" if written else
             "the settings with the runbook's PostgreSQL DATABASES")
    status = "ok" if vendor == "postgresql" else "fail"
    return status, f"{which} load in {python} and connect to {vendor} {name}"


def settings_block_name(settings) -> str:
    from . import settings_block

    return settings_block.settings_file(settings).name


def check_target(settings) -> CheckTable:
    """Everything the cutover checks against PostgreSQL: manage.py steps, smoke, WebSocket."""
    if not settings.django_project:
        return table(Check(i, n, "skip", "no django_project: nothing to run") for i, n in [
            ("DJ023", "settings load in django_python"),
            ("DJ030", "manage.py check"), ("DJ031", "showmigrations"), ("DJ032", "migrate"),
            ("DJ033", "superuser"), ("DJ034", "runserver starts"), ("DJ035", "admin page"),
            ("DJ036", "API: products"), ("DJ037", "API: measurements"), ("DJ038", "WebSocket")])
    loads = attempt("DJ023", "settings load in django_python", lambda: _settings_load(settings))
    return table([loads, *manage_checks(settings), *smoke(settings), websocket_check(settings)])


def record(settings, **sections) -> dict:
    """Merge check tables (as lists of dicts) into the manifest's `cutover` section."""
    current = manifest.read(settings.run_dir).get("cutover", {})
    current.update({name: [c.as_dict() for c in rows] for name, rows in sections.items()})
    current["settings_applied"] = bool(settings.django_project) and _applied(settings)
    manifest.update(settings.run_dir, "cutover", current)
    return current


def _applied(settings) -> bool:
    from . import settings_block

    return settings_block.applied(settings)


__all__ = ["check_target", "record", "manage_checks", "smoke", "running_server", "ensure_superuser",
           "remember_source", "source_counts", "target_counts", "websocket_check",
           "own_environment", "run_manage", "CutoverError"]
