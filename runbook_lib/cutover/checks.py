"""Switch the Django project to PostgreSQL and prove it: manage.py checks, superuser, a live
`runserver` smoke test (admin page, JSON API), the guide's checklist, and the rollback.

The project runs through `core.django_project`'s settings shim, so its files are never edited to
test it; `runserver` always gets a free loopback port and is stopped in a `finally`.
"""

from __future__ import annotations

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
from ..core.display import Pairs
from ..core.errors import RunbookError
from ..core.i18n import t
from ..core.results import Check, CheckTable, table
from ..core.secrets import register, scrub
from ..core.state import sha256

STARTUP_SECONDS = 40
SUPERUSER_DEFAULTS = {"DJANGO_SUPERUSER_USERNAME": "admin",
                      "DJANGO_SUPERUSER_EMAIL": "admin@example.com"}


class CutoverError(RunbookError):
    """The Django project could not be run or checked against the database."""


ERRORS = {
    "http": {"en": "GET {path} answered {status}.", "ko": "GET {path}의 응답이 {status}입니다."},
    "http_fix": {"en": "Read the server log {log}.", "ko": "서버 로그 {log}을(를) 읽어 보세요."},
    "exited": {"en": "runserver exited with status {status}: {tail}",
               "ko": "runserver가 상태 {status}(으)로 끝났습니다: {tail}"},
    "exited_fix": {"en": "Read {log}; run `manage.py check` for details.",
                   "ko": "{log}을(를) 읽어 보세요. 자세한 내용은 `manage.py check`로 봅니다."},
    "silent": {"en": "runserver did not listen on port {port} within {seconds} s.",
               "ko": "runserver가 {seconds}초 안에 {port} 포트에서 대기하지 않았습니다."},
    "silent_fix": {"en": "Read {log}.", "ko": "{log}을(를) 읽어 보세요."},
}


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
            raise CutoverError(ERRORS["http"], ERRORS["http_fix"], path=path, status=status,
                               log=str(self.log))
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
            raise CutoverError(ERRORS["exited"], ERRORS["exited_fix"],
                               status=process.returncode, tail=tail, log=str(log))
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise CutoverError(ERRORS["silent"], ERRORS["silent_fix"], port=port,
                       seconds=STARTUP_SECONDS, log=str(log))


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


NAMES = {
    "DJ023": {"en": "settings load in django_python", "ko": "django_python에서 settings 로드"},
    "DJ030": {"en": "manage.py check --database default",
              "ko": "manage.py check --database default 실행"},
    "DJ031": {"en": "showmigrations", "ko": "showmigrations"},
    "DJ032": {"en": "migrate is a no-op", "ko": "migrate: 적용할 것 없음"},
    "DJ033": {"en": "superuser", "ko": "슈퍼유저"},
    "DJ034": {"en": "runserver starts", "ko": "runserver 시작"},
    "DJ035": {"en": "admin page", "ko": "관리자 페이지"},
    "DJ036": {"en": "API: products", "ko": "API: 제품"},
    "DJ037": {"en": "API: measurements", "ko": "API: 측정값"},
    "DJ038": {"en": "WebSocket", "ko": "WebSocket"},
}
TEXT = {
    "not_loading": {"en": "{which} do not load in {python}: {last}",
                    "ko": "{which}이(가) {python}에서 로드되지 않음: {last}"},
    "written": {"en": "the written settings", "ko": "작성된 settings"},
    "the_settings": {"en": "the settings", "ko": "설정"},
    "read_error": {"en": "Read the error; run `python manage.py check` in the project's venv.",
                   "ko": "오류를 읽고 프로젝트의 venv에서 `python manage.py check`를 실행하세요."},
    "no_output": {"en": "no output", "ko": "출력 없음"},
    "loads": {"en": "{which} load in {python} and connect to {vendor} {name}",
              "ko": "{which}이(가) {python}에서 로드되고 {vendor} {name}에 연결됨"},
    "as_written": {"en": "{name} (as written)", "ko": "{name} (작성된 그대로)"},
    "with_block": {"en": "the settings with the runbook's PostgreSQL DATABASES",
                   "ko": "런북의 PostgreSQL DATABASES를 적용한 settings"},
    "check": {"en": "manage.py check says: {out}", "ko": "manage.py check 결과: {out}"},
    "pending": {"en": "{n} not applied: {names}", "ko": "적용되지 않은 마이그레이션 {n}개: {names}"},
    "applied": {"en": "all {n} migrations applied", "ko": "마이그레이션 {n}개 모두 적용됨"},
    "noop": {"en": "No migrations to apply.", "ko": "적용할 마이그레이션 없음"},
    "migrated": {"en": "migrate applied {n} migration(s) the migration had not",
                 "ko": "마이그레이션 단계가 적용하지 않은 마이그레이션 {n}개를 migrate가 적용함"},
    "superusers": {"en": "{n} superuser(s) already in PostgreSQL; none created",
                   "ko": "PostgreSQL에 슈퍼유저 {n}명이 이미 있음; 새로 만들지 않음"},
    "no_superuser": {"en": "no superuser, and DJANGO_SUPERUSER_PASSWORD is not set: set it (with "
                           "DJANGO_SUPERUSER_USERNAME/EMAIL) and re-run",
                     "ko": "슈퍼유저가 없고 DJANGO_SUPERUSER_PASSWORD도 설정되지 않음: "
                           "(DJANGO_SUPERUSER_USERNAME/EMAIL과 함께) 설정하고 다시 실행하세요"},
    "created": {"en": "created superuser {user}, password from {source}",
                "ko": "슈퍼유저 {user} 생성, 비밀번호는 {source}에서 읽음"},
    "no-asgi": {"en": "no ASGI_APPLICATION / Channels routing in the project settings",
                "ko": "프로젝트 settings에 ASGI_APPLICATION / Channels 라우팅이 없음"},
    "no-channels": {"en": "ASGI_APPLICATION is set but the channels package is not installed",
                    "ko": "ASGI_APPLICATION은 설정되어 있지만 channels 패키지가 설치되지 않음"},
    "skipped": {"en": "skipped: {reason}", "ko": "건너뜀: {reason}"},
    "channels": {"en": "Channels routing found: runserver's smoke test does not open "
                       "WebSockets; test them with the project's own client against daphne",
                 "ko": "Channels 라우팅이 있음: runserver 스모크 테스트는 WebSocket을 열지 "
                       "않으므로 daphne에 대해 프로젝트 자신의 클라이언트로 시험하세요"},
    "no_api": {"en": "the project has no {api} (the sample SPC API)",
               "ko": "프로젝트에 {api}(샘플 SPC API)가 없음"},
    "products": {"en": "GET {api} → {status}, JSON from {db}: {n} products (SQLite source: "
                       "{expected})",
                 "ko": "GET {api} → {status}, {db}에서 읽은 JSON: 제품 {n}개 (SQLite 원본: "
                       "{expected}개)"},
    "no_products": {"en": "no products, so no measurements to read",
                    "ko": "제품이 없어 읽을 측정값이 없음"},
    "measurements": {"en": "GET {path} → {n} measurements of {code} from {db} (SQLite: "
                           "{expected}); {stats}",
                     "ko": "GET {path} → {db}에서 {code}의 측정값 {n}개 (SQLite: {expected}개); "
                           "{stats}"},
    "listening": {"en": "listening on {url} ({label})", "ko": "{url}에서 대기 중 ({label})"},
    "no_project": {"en": "no django_project: nothing to run",
                   "ko": "django_project 없음: 실행할 것 없음"},
}


def _n(settings, cid: str) -> str:
    return t(NAMES[cid], settings.language)


def _c(settings, key: str, **values) -> str:
    return t(TEXT[key], settings.language, **values)



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
    return "ok", _c(settings, "check", out=out.splitlines()[-1] if out else "no issues")


def _showmigrations(settings) -> tuple[str, str]:
    lines = run_manage(settings, "showmigrations", "--plan").stdout.splitlines()
    pending = [ln.split("]", 1)[1].strip() for ln in lines if ln.startswith("[ ]")]
    applied = sum(ln.startswith("[X]") for ln in lines)
    if pending:
        return "fail", _c(settings, "pending", n=len(pending), names=", ".join(pending[:5]))
    return "ok", _c(settings, "applied", n=applied)


def _migrate_noop(settings) -> tuple[str, str]:
    out = run_manage(settings, "migrate", "--noinput").stdout
    if "No migrations to apply" in out:
        return "ok", _c(settings, "noop")
    applied = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("Applying")]
    return "warn", _c(settings, "migrated", n=len(applied))


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
        return "ok", _c(settings, "superusers", n=count)
    env = _superuser_env(settings)
    if env is None:
        return "fail", _c(settings, "no_superuser")
    run_manage(settings, "createsuperuser", "--noinput", env=env)
    return "ok", _c(settings, "created", user=repr(env["DJANGO_SUPERUSER_USERNAME"]),
                    source=env["RUNBOOK_SECRET_SOURCE"])


def ensure_superuser(settings) -> Check:
    """A superuser exists, created non-interactively from DJANGO_SUPERUSER_* when none did."""
    return attempt("DJ033", _n(settings, "DJ033"), lambda: _superuser(settings))


def manage_checks(settings) -> CheckTable:
    """check --database default, showmigrations, migrate no-op, superuser."""
    return table([
        attempt("DJ030", _n(settings, "DJ030"), lambda: _check_project(settings)),
        attempt("DJ031", _n(settings, "DJ031"), lambda: _showmigrations(settings)),
        attempt("DJ032", _n(settings, "DJ032"), lambda: _migrate_noop(settings)),
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


def remember_source(settings) -> dict:
    """Record the SQLite file's checksum before the cutover (the rollback proves it unchanged)."""
    info = Pairs({"sqlite_path": str(settings.sqlite_file), "sqlite_sha256": sha256(
        settings.sqlite_file), "source_counts": source_counts(settings.sqlite_file)})
    section = {**manifest.read(settings.run_dir).get("cutover", {}), **info}
    manifest.update(settings.run_dir, "cutover", section)
    return info


def has_channels(settings, env: dict | None = None) -> str:
    """Why there is no WebSocket to test ('' when the project has Channels routing)."""
    code = ("from django.conf import settings as s; import importlib.util as u; "
            "print('no-asgi' if not getattr(s, 'ASGI_APPLICATION', None) else "
            "'no-channels' if not u.find_spec('channels') else 'ok')")
    answer = run_manage(settings, "shell", "-c", code, env=env).stdout.split()[-1]
    return _c(settings, answer) if answer in ("no-asgi", "no-channels") else ""


def websocket_check(settings) -> Check:
    """Skipped, with the reason, unless the project routes WebSockets through Channels."""
    def step() -> tuple[str, str]:
        reason = has_channels(settings)
        if reason:
            return "skip", _c(settings, "skipped", reason=reason)
        return "warn", _c(settings, "channels")
    return attempt("DJ038", "WebSocket", step)


PRODUCTS_API = "/api/products/"


def _source_measurements(settings, product_id: int) -> int:
    conn = sqlite3.connect(f"file:{settings.sqlite_file}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM spc_qualitymeasurement WHERE product_id = ?",
                            (product_id,)).fetchone()[0]
    finally:
        conn.close()


def _admin(live: Running) -> tuple[str, str]:  # GET /admin/login/ → 200: code, any language
    status, _body = live.get("/admin/login/")
    return ("ok" if status == 200 else "fail"), f"GET /admin/login/ → {status}"


def _products(settings, live: Running, vendor: str) -> tuple[str, str]:
    status, body = live.get(PRODUCTS_API)
    if status == 404:
        return "skip", _c(settings, "no_api", api=PRODUCTS_API)
    data = json.loads(body) if status == 200 else {}
    expected = source_counts(settings.sqlite_file).get("spc_product")
    ok = status == 200 and data.get("database") == vendor and data.get("count") == expected
    return ("ok" if ok else "fail"), _c(settings, "products", api=PRODUCTS_API, status=status,
                                        db=data.get("database"), n=data.get("count"),
                                        expected=expected)


def _measurements(settings, live: Running, vendor: str) -> tuple[str, str]:
    status, body = live.get(PRODUCTS_API)
    if status == 404:
        return "skip", _c(settings, "no_api", api=PRODUCTS_API)
    products = json.loads(body)["products"]
    if not products:
        return "fail", _c(settings, "no_products")
    first = products[0]
    path = f"{PRODUCTS_API}{first['id']}/measurements/?limit=5"
    data = live.get_json(path)
    expected = _source_measurements(settings, first["id"])
    ok = data["database"] == vendor and data["count"] == expected
    stats = ", ".join(f"{k}={data[k]:.4g}" for k in ("mean", "std", "cp", "cpk")
                      if data.get(k) is not None)
    return ("ok" if ok else "fail"), _c(settings, "measurements", path=path, n=data["count"],
                                        code=first["product_code"], db=data["database"],
                                        expected=expected, stats=stats)


def smoke(settings, env: dict | None = None, vendor: str = "postgresql",
          label: str = "postgresql") -> CheckTable:
    """runserver on a free port: it starts, /admin/login/ is 200, the API reads `vendor`."""
    try:
        with running_server(settings, env, label) as live:
            return table([
                Check("DJ034", _n(settings, "DJ034"), "ok",
                      _c(settings, "listening", url=live.url, label=label)),
                attempt("DJ035", _n(settings, "DJ035"), lambda: _admin(live)),
                attempt("DJ036", _n(settings, "DJ036"),
                        lambda: _products(settings, live, vendor)),
                attempt("DJ037", _n(settings, "DJ037"),
                        lambda: _measurements(settings, live, vendor)),
            ])
    except CutoverError as exc:
        return table([Check("DJ034", _n(settings, "DJ034"), "fail", exc.message, exc.hint)])


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
        last = text.splitlines()[-1] if text else _c(settings, "no_output")
        raise CutoverError(_c(settings, "not_loading", python=python, last=last,
                              which=_c(settings, "written" if written else "the_settings")),
                           django_project.install_hint(settings, module) if module else
                           _c(settings, "read_error"))
    vendor, name = json.loads(line.split(" ", 1)[1])
    which = (_c(settings, "as_written", name=settings_block_name(settings)) if written else
             _c(settings, "with_block"))
    status = "ok" if vendor == "postgresql" else "fail"
    return status, _c(settings, "loads", which=which, python=python, vendor=vendor, name=name)


def settings_block_name(settings) -> str:
    from . import settings_block

    return settings_block.settings_file(settings).name


def check_target(settings) -> CheckTable:
    """Everything the cutover checks against PostgreSQL: manage.py steps, smoke, WebSocket."""
    if not settings.django_project:
        return table(Check(i, _n(settings, i), "skip", _c(settings, "no_project"))
                     for i in NAMES)
    loads = attempt("DJ023", _n(settings, "DJ023"), lambda: _settings_load(settings))
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
