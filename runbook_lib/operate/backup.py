"""Backups proven by restore: pg_dump -Fc, pg_restore into a scratch database, compare, drop.

A backup never restored is not a backup. The dump is restored into `<db>_restore_check`,
compared table by table with the live database (row counts and an order-independent hash of
every row) and, when stage 03 recorded a migration, checked against the SQLite source with
the validation stage's own checks. The password reaches pg_dump/pg_restore through PGPASSWORD
in the child's environment only, never on a command line.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core import db, manifest, server
from ..core.errors import ConnectError, RunbookError
from ..core.i18n import t
from ..core.identifiers import quote_ident
from ..core.results import Check, table
from ..core.secrets import scrub
from . import wording as w

__all__ = ["find_tool", "dump", "verify", "prove", "backup_dir", "record", "Tool", "BackupError"]

SCRATCH_SUFFIX = "_restore_check"


class BackupError(RunbookError):
    """pg_dump or pg_restore is missing, too old, or failed."""


@dataclass(frozen=True)
class Tool:
    """The pg_dump/pg_restore pair used, its version and where it came from."""

    pg_dump: str
    pg_restore: str
    major: int
    server_major: int
    source: str  # "PATH" or "embedded"
    passed_over: str = ""  # an older pg_dump found first, and why it was not used


def install_command(major: int, language: str | None = None) -> str:
    """How to install client tools of at least `major` on this OS."""
    system = platform.system()
    if system == "Darwin":
        return t(w.TEXT["brew_tools"], language, major=major)
    if system == "Windows":
        return t(w.TEXT["windows_tools"], language, major=major)
    return ("sudo apt-get install -y postgresql-common && "
            "sudo /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh && "
            f"sudo apt-get install -y postgresql-client-{major}")


def server_major(settings) -> int:
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SHOW server_version_num")
        return int(cur.fetchone()[0]) // 10000


def find_tool(settings) -> Tool:
    """PATH's pg_dump when it is at least the server's major version, else the embedded one."""
    need = server_major(settings)
    on_path = shutil.which("pg_dump")
    candidates = []
    if on_path:
        candidates.append((on_path, shutil.which("pg_restore") or "", "PATH"))
    if server.tool("pg_dump").exists():
        candidates.append((str(server.tool("pg_dump")), str(server.tool("pg_restore")),
                           "embedded"))
    seen = []
    for dump_path, restore_path, source in candidates:
        major = server.tool_version(dump_path)[1]
        seen.append(f"{dump_path} ({major or w.say(settings, 'unknown_version')})")
        if major and major >= need and restore_path:
            older = "; ".join(seen[:-1])
            note = w.say(settings, "passed_over", older=older) if older else ""
            return Tool(dump_path, restore_path, major, need, source, note)
    raise BackupError(w.TEXT["no_pg_dump"], w.TEXT["no_pg_dump_fix"], need=need,
                      found="; ".join(seen) or "-",
                      command=install_command(need, settings.language))


def child_env(settings) -> dict[str, str]:
    """The tools' environment: the password as PGPASSWORD only here, never in argv."""
    env = dict(os.environ)
    env.pop("PGPASSWORD", None)
    if settings.password:
        env["PGPASSWORD"] = settings.password.reveal()
    env["PGCONNECT_TIMEOUT"] = str(db.CONNECT_TIMEOUT)
    return env


def _conn_args(settings, dbname: str) -> list[str]:
    return ["--no-password", "-h", settings.db_host, "-p", str(settings.db_port),
            "-U", settings.db_user, "-d", dbname]


def _run(argv: list[str], settings, what: str, timeout: float = 3600) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=child_env(settings),
                          timeout=timeout)
    if done.returncode != 0:
        tail = scrub(" ".join((done.stderr or done.stdout).strip().splitlines()[-4:]))
        raise BackupError(w.TEXT["tool_failed"], w.TEXT["tool_failed_fix"], what=what,
                          code=done.returncode, tail=tail)
    return time.perf_counter() - started


def backup_dir(settings) -> Path:
    folder = Path(settings.backup_dir) if settings.backup_dir else settings.run_path / "backups"
    if not folder.is_absolute():
        folder = settings.root / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass(frozen=True)
class Dump:
    path: Path
    bytes: int
    seconds: float


def dump(settings, tool: Tool, folder: Path | None = None) -> Dump:
    """`pg_dump -Fc` of the application database into the backup folder."""
    stamp = time.strftime("%Y%m%d_%H%M%S")
    target = (folder or backup_dir(settings)) / f"{settings.db_name}_{stamp}.dump"
    seconds = _run([tool.pg_dump, "-Fc", *_conn_args(settings, settings.db_name),
                    "-f", str(target)], settings, "pg_dump")
    return Dump(target, target.stat().st_size, round(seconds, 2))


def scratch_name(settings) -> str:
    return (settings.db_name[: 63 - len(SCRATCH_SUFFIX)] + SCRATCH_SUFFIX)


def _maintenance(settings):
    """A connection that may create databases: the admin role, else the app role."""
    try:
        return db.connect(settings, admin=True, autocommit=True)
    except ConnectError:
        return db.connect(settings, dbname="postgres", autocommit=True)


def _recreate(settings, name: str, create: bool) -> None:
    """Drop the scratch database (and create it again, owned by the app role)."""
    import psycopg2

    conn = _maintenance(settings)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
            if create:
                cur.execute(f"CREATE DATABASE {quote_ident(name)} "
                            f"OWNER {quote_ident(settings.db_user)}")
    except psycopg2.Error as exc:
        raise BackupError(w.TEXT["scratch_create" if create else "scratch_drop"],
                          w.TEXT["scratch_fix"], name=name, error=scrub(str(exc).strip()),
                          admin_env=settings.admin_password_env, admin=settings.admin_user,
                          role=settings.db_user) from None
    finally:
        conn.close()


def restore(settings, tool: Tool, path: Path, dbname: str) -> float:
    """pg_restore into a new empty database `dbname`; stops at the first error."""
    _recreate(settings, dbname, create=True)
    return round(_run([tool.pg_restore, "--exit-on-error", "--no-owner", "--no-privileges",
                       *_conn_args(settings, dbname), str(path)], settings, "pg_restore"), 2)


@dataclass
class Proof:
    """A dump, its restore, and the checks proving the restore equals the source."""

    tool: Tool | None
    dump: Dump | None
    checks: list[Check] = field(default_factory=list)
    comparison: object = None  # DataFrame of per-table counts and hashes

    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def section(self) -> dict:
        return {"dump": str(self.dump.path) if self.dump else None,
                "bytes": self.dump.bytes if self.dump else None,
                "dump_seconds": self.dump.seconds if self.dump else None,
                "tool": self.tool.source if self.tool else None,
                "restore_verified": self.ok(),
                "checks": [c.as_dict() for c in self.checks]}

    def _repr_html_(self) -> str:
        return table(self.checks)._repr_html_()

    def __repr__(self) -> str:
        return repr(table(self.checks))


def _drop(settings, scratch: str) -> list[Check]:
    """Drop the scratch database; a failure is a warning (it holds only a copy)."""
    try:
        _recreate(settings, scratch, create=False)
    except RunbookError as exc:
        return [Check("OP006", w.name(settings, "OP006"), "warn", exc.message, exc.hint)]
    return []


def verify(settings, tool: Tool, path: Path) -> tuple[list[Check], object]:
    """Restore `path` into a scratch database, compare it with the source, drop it."""
    from .backup_compare import compare, validation_check

    scratch = scratch_name(settings)
    checks: list[Check] = []
    frame = None
    try:
        seconds = restore(settings, tool, path, scratch)
        checks.append(Check("OP003", w.name(settings, "OP003"), "ok",
                            w.say(settings, "restored", db=scratch, seconds=seconds),
                            details={"seconds": seconds}))
        frame, check = compare(settings, scratch)
        checks += [check, validation_check(settings, scratch)]
    except RunbookError as exc:
        checks.append(Check("OP003", w.name(settings, "OP003"), "fail", exc.message, exc.hint))
    finally:
        checks += _drop(settings, scratch)
    return checks, frame


def prove(settings) -> Proof:
    """Find the tools, dump, restore into a scratch database, compare; all as checks."""
    server.ensure_target(settings)
    try:
        tool = find_tool(settings)
    except BackupError as exc:
        return Proof(None, None, [Check("OP001", w.name(settings, "OP001"), "fail", exc.message,
                                        exc.hint)])
    note = f" {tool.passed_over}." if tool.passed_over else ""
    checks = [Check("OP001", w.name(settings, "OP001"), "ok",
                    w.say(settings, "tool", major=tool.major, source=tool.source,
                        path=tool.pg_dump, server=tool.server_major) + note,
                    w.say(settings, "other_machine",
                          command=install_command(tool.server_major, settings.language))
                    if note else "", details={"path": tool.pg_dump})]
    made = dump(settings, tool)
    checks.append(Check("OP002", w.name(settings, "OP002"), "ok",
                        w.say(settings, "dumped", file=made.path.name, size=f"{made.bytes / 1e6:.2f}",
                            seconds=made.seconds),
                        details={"path": str(made.path), "bytes": made.bytes}))
    more, frame = verify(settings, tool, made.path)
    proof = Proof(tool, made, checks + more, frame)
    manifest.update(settings.run_dir, "operate", {**manifest.read(settings.run_dir)
                                                  .get("operate", {}), "backup": proof.section()})
    return proof


def record(settings, checks, **files) -> dict:
    """Add the stage's checks and generated files to the manifest's `operate` section."""
    section = manifest.read(settings.run_dir).get("operate", {})
    section.update({k: str(v) for k, v in files.items()})
    section["checks"] = [{"id": c.id, "status": c.status, "message": c.message} for c in checks]
    manifest.update(settings.run_dir, "operate", section)
    return section
