"""Diagnosis: any error (exception or pasted text) → the known problem, causes and exact fix.

The catalogue is data: one `Problem` per known failure, matched by SQLSTATE first, then by
message pattern, then by exception class, walking `__cause__` (Django wraps driver errors).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .i18n import Text, t
from .secrets import scrub


@dataclass(frozen=True)
class Problem:
    id: str
    title: Text
    causes: tuple[Text, ...]
    fix: Text
    doc: str = ""
    sqlstates: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    exc_types: tuple[str, ...] = ()


@dataclass
class Diagnosis:
    problem_id: str
    title: str
    causes: list[str]
    fix: str
    doc: str
    error: str = ""
    extra: dict = field(default_factory=dict)

    def fix_text(self) -> str:
        return self.fix + (f" See {self.doc}" if self.doc else "")

    def as_dict(self) -> dict:
        return {"problem": self.problem_id, "title": self.title, "causes": self.causes,
                "fix": self.fix, "doc": self.doc, "error": self.error}

    def __str__(self) -> str:
        causes = "\n".join(f"  - {c}" for c in self.causes)
        return f"{self.title} [{self.problem_id}]\nLikely causes:\n{causes}\nFix: {self.fix_text()}"

    def _repr_html_(self) -> str:
        causes = "".join(f"<li>{c}</li>" for c in self.causes)
        return (f"<b>{self.title}</b> <code>{self.problem_id}</code><ol>{causes}</ol>"
                f"<p><b>Fix:</b> {self.fix}</p>"
                + (f"<p><a href='{self.doc}'>{self.doc}</a></p>" if self.doc else ""))


DOCS = "https://www.postgresql.org/docs/current/"

CATALOGUE: list[Problem] = [
    Problem(
        id="DX001",
        title={"en": "password authentication failed",
               "ko": "비밀번호 인증 실패"},
        sqlstates=("28P01",),
        patterns=(r"password authentication failed", r"no password supplied",
                  r"fe_sendauth: no password"),
        causes=({"en": "the password in {password_env} (environment or .env) is not the role's "
                       "password on the server",
                 "ko": "{password_env}(환경 변수 또는 .env)의 비밀번호가 서버의 역할 비밀번호와 다릅니다"},
                {"en": "the role {db_user} does not exist on this server (PostgreSQL reports a "
                       "missing role as a failed password to hide which roles exist)",
                 "ko": "서버에 {db_user} 역할이 없습니다 (PostgreSQL은 존재하지 않는 역할도 비밀번호 실패로 보고합니다)"},
                {"en": "the role's password was stored as md5 while the server expects "
                       "scram-sha-256 (set it again after password_encryption=scram-sha-256)",
                 "ko": "역할 비밀번호가 md5로 저장되었는데 서버는 scram-sha-256을 요구합니다"}),
        fix={"en": "Set the right password in {password_env} (in .env), or reset it as the admin: "
                   "ALTER ROLE {db_user} WITH PASSWORD '...'; (stage 02 does this from the "
                   "secret). Keep pg_hba.conf on scram-sha-256: the guide's switch to md5 "
                   "weakens security and does not fix a wrong password.",
             "ko": ".env의 {password_env}에 올바른 비밀번호를 넣거나 관리자로 ALTER ROLE {db_user} "
                   "WITH PASSWORD '...'; 를 실행하세요 (02 단계가 비밀번호를 설정합니다). pg_hba.conf는 "
                   "scram-sha-256을 유지하세요. 가이드의 md5 변경은 보안을 약하게 할 뿐 잘못된 비밀번호를 고치지 못합니다."},
        doc=DOCS + "auth-password.html",
    ),
    Problem(
        id="DX002",
        title={"en": "connection refused: no server listens there",
               "ko": "연결 거부: 해당 주소에서 서버가 실행 중이 아닙니다"},
        patterns=(r"Connection refused", r"could not connect to server",
                  r"No such file or directory\s+Is the server running"),
        causes=({"en": "the PostgreSQL server is not running",
                 "ko": "PostgreSQL 서버가 실행 중이 아닙니다"},
                {"en": "the server listens on another port than {db_port}",
                 "ko": "서버가 {db_port}가 아닌 다른 포트에서 실행 중입니다"},
                {"en": "listen_addresses does not include {db_host}",
                 "ko": "listen_addresses에 {db_host}가 포함되어 있지 않습니다"}),
        fix={"en": "Start the server (embedded: `runbook server start`; Debian/Ubuntu: "
                   "`sudo systemctl start postgresql`; macOS: `brew services start "
                   "postgresql@16`), check the port with `SHOW port;` and set db_port/DB_PORT "
                   "to it.",
             "ko": "서버를 시작하세요 (내장 서버: `runbook server start`; Debian/Ubuntu: "
                   "`sudo systemctl start postgresql`; macOS: `brew services start postgresql@16`). "
                   "`SHOW port;`로 포트를 확인하고 db_port/DB_PORT를 맞추세요."},
        doc=DOCS + "server-start.html",
    ),
    Problem(
        id="DX003",
        title={"en": "the server did not answer in time (host unreachable or filtered)",
               "ko": "서버가 제시간에 응답하지 않습니다 (호스트에 도달할 수 없음)"},
        patterns=(r"timeout expired", r"could not translate host name",
                  r"Name or service not known", r"No route to host",
                  r"Network is unreachable"),
        causes=({"en": "db_host {db_host} is misspelled or not reachable from this machine",
                 "ko": "db_host {db_host}의 철자가 틀렸거나 이 컴퓨터에서 접근할 수 없습니다"},
                {"en": "a firewall or security group blocks port {db_port}",
                 "ko": "방화벽 또는 보안 그룹이 {db_port} 포트를 막고 있습니다"}),
        fix={"en": "Check db_host/DB_HOST (`getent hosts {db_host}`), and that port {db_port} is "
                   "open from here (`pg_isready -h {db_host} -p {db_port}`).",
             "ko": "db_host/DB_HOST를 확인하고 (`getent hosts {db_host}`), 이 컴퓨터에서 {db_port} "
                   "포트가 열려 있는지 확인하세요 (`pg_isready -h {db_host} -p {db_port}`)."},
        doc=DOCS + "libpq-connect.html",
    ),
    Problem(
        id="DX004",
        title={"en": "database does not exist", "ko": "데이터베이스가 존재하지 않습니다"},
        sqlstates=("3D000",),
        patterns=(r'database ".*" does not exist',),
        causes=({"en": "stage 02 (create database) has not run on this server",
                 "ko": "02 단계(데이터베이스 생성)가 이 서버에서 실행되지 않았습니다"},
                {"en": "db_name/DB_NAME names another database than the one created",
                 "ko": "db_name/DB_NAME이 생성된 데이터베이스와 다릅니다"}),
        fix={"en": "Run stage 02: `runbook run --params FILE --only 02`, or as the admin: "
                   "CREATE DATABASE {db_name} OWNER {db_user};",
             "ko": "02 단계를 실행하세요: `runbook run --params FILE --only 02`, 또는 관리자로 "
                   "CREATE DATABASE {db_name} OWNER {db_user}; 를 실행하세요."},
        doc=DOCS + "manage-ag-createdb.html",
    ),
    Problem(
        id="DX005",
        title={"en": "role does not exist", "ko": "역할(사용자)이 존재하지 않습니다"},
        sqlstates=("28000",),
        patterns=(r'role ".*" does not exist',),
        causes=({"en": "stage 02 has not created the role {db_user}",
                 "ko": "02 단계에서 {db_user} 역할을 만들지 않았습니다"},),
        fix={"en": "Run stage 02, or as the admin: CREATE ROLE {db_user} LOGIN PASSWORD '...';",
             "ko": "02 단계를 실행하거나 관리자로 CREATE ROLE {db_user} LOGIN PASSWORD '...'; 를 실행하세요."},
        doc=DOCS + "sql-createrole.html",
    ),
    Problem(
        id="DX006",
        title={"en": "server closed the connection unexpectedly",
               "ko": "서버가 예기치 않게 연결을 닫았습니다"},
        sqlstates=("57P01", "57P02", "57P03"),
        patterns=(r"server closed the connection unexpectedly", r"terminating connection"),
        causes=({"en": "the server was stopped or restarted while connected",
                 "ko": "연결 중에 서버가 중지되거나 재시작되었습니다"},
                {"en": "another program (not PostgreSQL) answers on port {db_port}",
                 "ko": "{db_port} 포트에서 PostgreSQL이 아닌 다른 프로그램이 응답합니다"}),
        fix={"en": "Check the server log and that PostgreSQL owns port {db_port} "
                   "(`ss -ltnp | grep {db_port}`); reconnect after it is back.",
             "ko": "서버 로그를 확인하고 {db_port} 포트를 PostgreSQL이 사용 중인지 확인하세요 "
                   "(`ss -ltnp | grep {db_port}`)."},
        doc=DOCS + "server-shutdown.html",
    ),
]

UNKNOWN = Problem(
    id="DX000",
    title={"en": "unrecognised error", "ko": "알 수 없는 오류"},
    causes=({"en": "this error is not in the runbook's catalogue yet",
             "ko": "이 오류는 아직 런북 카탈로그에 없습니다"},),
    fix={"en": "Read the full error above; search its SQLSTATE in the PostgreSQL docs.",
         "ko": "위의 전체 오류를 읽고 PostgreSQL 문서에서 SQLSTATE를 검색하세요."},
    doc=DOCS + "errcodes-appendix.html",
)


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def _sqlstate(error: BaseException) -> str | None:
    return getattr(error, "pgcode", None) or getattr(error, "sqlstate", None)


def match(error: BaseException | str) -> Problem:
    """The catalogue entry for an exception or a pasted error text."""
    errors = [error] if isinstance(error, str) else _chain(error)
    for err in errors:
        code = None if isinstance(err, str) else _sqlstate(err)
        if code:
            for problem in CATALOGUE:
                if code in problem.sqlstates:
                    return problem
    for err in errors:
        text = err if isinstance(err, str) else f"{type(err).__name__}: {err}"
        for problem in CATALOGUE:
            if any(re.search(p, text, re.IGNORECASE) for p in problem.patterns):
                return problem
    for err in errors:
        if isinstance(err, str):
            continue
        names = {cls.__name__ for cls in type(err).__mro__}
        for problem in CATALOGUE:
            if names & set(problem.exc_types):
                return problem
    return UNKNOWN


def _values(settings) -> dict:
    keys = ("db_host", "db_port", "db_name", "db_user", "password_env", "admin_user", "sqlite_path")
    defaults = {"db_host": "localhost", "db_port": 5432, "db_name": "spc_db",
                "db_user": "spc_user", "password_env": "DB_PASSWORD", "admin_user": "postgres",
                "sqlite_path": "db.sqlite3"}
    return {k: getattr(settings, k, defaults[k]) if settings else defaults[k] for k in keys}


def explain(error: BaseException | str, settings=None, language: str | None = None) -> Diagnosis:
    """Diagnose an exception or pasted error text for this configuration."""
    lang = language or getattr(settings, "language", "en")
    problem = match(error)
    values = _values(settings)
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return Diagnosis(problem_id=problem.id, title=t(problem.title, lang),
                     causes=[t(c, lang, **values) for c in problem.causes],
                     fix=t(problem.fix, lang, **values), doc=problem.doc, error=scrub(text))
