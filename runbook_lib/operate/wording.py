"""What stage 08's checks say, in English and Korean: names by check id, then the messages."""

from __future__ import annotations

from ..core.i18n import t

NAMES = {
    "OP001": {"en": "pg_dump version", "ko": "pg_dump 버전"},
    "OP002": {"en": "pg_dump -Fc", "ko": "pg_dump -Fc"},
    "OP003": {"en": "restore", "ko": "복원"},
    "OP004": {"en": "restore equals source", "ko": "복원본이 원본과 같음"},
    "OP005": {"en": "validation checks on the restore", "ko": "복원본에 대한 검증"},
    "OP006": {"en": "scratch database dropped", "ko": "임시 데이터베이스 삭제"},
    "OP010": {"en": "backup.sh generated", "ko": "backup.sh 생성"},
    "OP011": {"en": "backup.sh retention", "ko": "backup.sh 보관 주기"},
    "OP012": {"en": "Django JSON backup", "ko": "Django JSON 백업"},
    "OP020": {"en": "connections", "ko": "연결"},
    "OP021": {"en": "sequences", "ko": "시퀀스"},
    "OP022": {"en": "foreign keys without index", "ko": "인덱스 없는 외래 키"},
    "OP030": {"en": "docker-compose.yml", "ko": "docker-compose.yml"},
    "OP031": {"en": "cloud settings", "ko": "클라우드 설정"},
    "OP040": {"en": "SQLite file to roll back to", "ko": "롤백할 SQLite 파일"},
    "OP041": {"en": "Django migrations in step", "ko": "Django 마이그레이션 일치"},
    "OP042": {"en": "restore-verified backup", "ko": "복원으로 검증한 백업"},
}
TEXT = {
    # what is wrong with a docker-compose.yml (OP030)
    "compose_version": {"en": "obsolete top-level 'version' key",
                        "ko": "더 이상 쓰지 않는 최상위 'version' 키가 있음"},
    "compose_services": {"en": "services 'db' and 'backend' expected",
                         "ko": "'db'와 'backend' 서비스가 있어야 함"},
    "compose_health": {"en": "db has no pg_isready health check",
                       "ko": "db에 pg_isready 헬스 체크가 없음"},
    "compose_volume": {"en": "db data is not on a declared named volume",
                       "ko": "db 데이터가 선언된 이름 있는 볼륨에 있지 않음"},
    "compose_inline": {"en": "{name} is written inline", "ko": "{name} 값이 파일에 직접 적혀 있음"},
    "compose_wait": {"en": "backend does not wait for a healthy db",
                     "ko": "backend가 db가 정상이 될 때까지 기다리지 않음"},
    "compose_password": {"en": "the password itself is in the file",
                         "ko": "비밀번호 자체가 파일에 있음"},
    # errors (BackupError, ScriptError)
    "no_pg_dump": {"en": "No pg_dump of version {need} or newer (the server's version): found "
                         "{found}. An older pg_dump refuses to dump a newer server.",
                   "ko": "버전 {need} 이상(서버 버전)의 pg_dump가 없습니다: 찾은 것 {found}. "
                         "오래된 pg_dump는 더 새로운 서버를 덤프하지 않습니다."},
    "no_pg_dump_fix": {"en": "Install the client tools: {command}",
                       "ko": "클라이언트 도구를 설치하세요: {command}"},
    "unknown_version": {"en": "unknown version", "ko": "버전 알 수 없음"},
    "passed_over": {"en": "{older} is older than the server, so not used",
                    "ko": "{older}은(는) 서버보다 오래되어 쓰지 않음"},
    "brew_tools": {"en": "brew install postgresql@{major}  (or: brew install libpq)",
                   "ko": "brew install postgresql@{major}  (또는: brew install libpq)"},
    "windows_tools": {"en": "install 'Command Line Tools' from the PostgreSQL {major} installer "
                            "(https://www.postgresql.org/download/windows/)",
                      "ko": "PostgreSQL {major} 설치 프로그램에서 'Command Line Tools'를 "
                            "설치하세요 (https://www.postgresql.org/download/windows/)"},
    "tool_failed": {"en": "{what} failed (exit {code}): {tail}",
                    "ko": "{what} 실행이 실패했습니다(종료 코드 {code}): {tail}"},
    "tool_failed_fix": {"en": "Read the message above; a truncated or corrupt dump cannot be "
                              "restored: take a new one.",
                        "ko": "위의 메시지를 읽어 보세요. 잘렸거나 손상된 덤프는 복원할 수 "
                              "없으니 새로 백업하세요."},
    "scratch_create": {"en": "Cannot create the scratch database {name}: {error}",
                       "ko": "임시 데이터베이스 {name}을(를) 만들 수 없습니다: {error}"},
    "scratch_drop": {"en": "Cannot drop the scratch database {name}: {error}",
                     "ko": "임시 데이터베이스 {name}을(를) 지울 수 없습니다: {error}"},
    "scratch_fix": {"en": "Set {admin_env} for admin role {admin}, or ALTER ROLE {role} "
                          "CREATEDB.",
                    "ko": "관리자 역할 {admin}의 {admin_env}을(를) 설정하거나 ALTER ROLE {role} "
                          "CREATEDB를 실행하세요."},
    "script_failed": {"en": "backup.sh failed (exit {code}): {tail}",
                      "ko": "backup.sh 실행이 실패했습니다(종료 코드 {code}): {tail}"},
    "script_failed_fix": {"en": "Run it by hand to see the whole output: bash -x backup.sh",
                          "ko": "직접 실행해 전체 출력을 보세요: bash -x backup.sh"},
    "restored": {"en": "pg_restore into {db} took {seconds} s.",
                 "ko": "{db}로 pg_restore: {seconds}초."},
    "tool": {"en": "pg_dump {major} from {source} ({path}); server {server}.",
             "ko": "pg_dump {major} ({source}: {path}); 서버 {server}."},
    "other_machine": {"en": "To back up from another machine: {command}",
                      "ko": "다른 머신에서 백업하려면: {command}"},
    "dumped": {"en": "{file}: {size} MB in {seconds} s.", "ko": "{file}: {size} MB, {seconds}초."},
    "equal": {"en": "{n} tables and sequences, {rows} rows: identical counts, row hashes, "
                    "indexes and constraints.",
              "ko": "테이블과 시퀀스 {n}개, {rows}행: 행 수, 행 해시, 인덱스, 제약 조건 모두 "
                    "일치."},
    "differ": {"en": "{n} table(s) differ after restore: {names}.",
               "ko": "복원 후 다른 테이블 {n}개: {names}."},
    "differ_fix": {"en": "The dump is incomplete or damaged: take a new backup and restore it "
                         "again before relying on it.",
                   "ko": "덤프가 불완전하거나 손상되었습니다: 믿기 전에 새로 백업하고 다시 "
                         "복원해 보세요."},
    "no_migration": {"en": "No migration recorded in the target or this run, so there is no "
                           "SQLite snapshot to validate the restore against.",
                     "ko": "대상 데이터베이스에도 이번 실행에도 마이그레이션 기록이 없어 복원본을 "
                           "대조할 SQLite 스냅샷이 없습니다."},
    "no_migration_fix": {"en": "Run 03_migrate (it records the migration with the target) to "
                               "add this check.",
                         "ko": "이 점검을 하려면 03_migrate를 실행하세요 (마이그레이션 기록을 대상 "
                               "데이터베이스에 남깁니다)."},
    "passes": {"en": "The restored database passes the validation stage's checks against the "
                     "SQLite snapshot of {which}.",
               "ko": "복원된 데이터베이스가 SQLite 스냅샷에 대한 검증 단계의 점검을 통과합니다 "
                     "({which})."},
    "fails": {"en": "The restored database fails validation against the SQLite snapshot.",
              "ko": "복원된 데이터베이스가 SQLite 스냅샷에 대한 검증에 실패합니다."},
    "fails_fix": {"en": "Open 04_validate's report for the differing tables.",
                  "ko": "다른 테이블은 04_validate의 보고서에서 확인하세요."},
    "script_fix": {"en": "Regenerate it with backup_script.write_script.",
                   "ko": "backup_script.write_script로 다시 생성하세요."},
    "script": {"en": "{path}: custom format, {days}-day retention, password from ${env} or "
                     "~/.pgpass.",
               "ko": "{path}: 커스텀 형식, {days}일 보관, 비밀번호는 ${env} 또는 ~/.pgpass에서 "
                     "읽음."},
    "retention": {"en": "two runs made {n} new dumps, deleted {deleted}, kept {kept}.",
                  "ko": "두 번 실행해 새 덤프 {n}개 생성, 삭제 {deleted}, 유지 {kept}."},
    "retention_fix": {"en": "The find -mtime rule deleted the wrong files: fix backup.sh.",
                      "ko": "find -mtime 규칙이 엉뚱한 파일을 지웠습니다: backup.sh를 고치세요."},
    "no_project": {"en": "No Django project configured.", "ko": "설정된 Django 프로젝트가 없음."},
    "too_big": {"en": "{rows} rows: too slow to run here; run it yourself: {command}",
                "ko": "{rows}행: 여기서 실행하기엔 너무 느림; 직접 실행하세요: {command}"},
    "json": {"en": "{file}: {size} MB, {rows} rows in {seconds} s.",
             "ko": "{file}: {size} MB, {rows}행, {seconds}초."},
    "connections": {"en": "{used} of {usable} usable connections in use ({percent}%).",
                    "ko": "사용 가능한 연결 {usable}개 중 {used}개 사용 중 ({percent}%)."},
    "pooler": {"en": "Use a connection pooler (PgBouncer) or CONN_MAX_AGE, or raise "
                     "max_connections.",
               "ko": "연결 풀러(PgBouncer)나 CONN_MAX_AGE를 쓰거나 max_connections를 늘리세요."},
    "sequences": {"en": "{n} of {total} sequences past 75% of their limit.",
                  "ko": "시퀀스 {total}개 중 {n}개가 한계의 75%를 넘음."},
    "bigint": {"en": "ALTER the column and sequence to bigint before they run out.",
               "ko": "바닥나기 전에 열과 시퀀스를 bigint로 ALTER 하세요."},
    "fks": {"en": "{n} foreign key(s) without an index.", "ko": "인덱스 없는 외래 키 {n}개."},
    "compose": {"en": "{path}: services db (with pg_isready health check, named volume) and "
                      "backend; password from ${env}.",
                "ko": "{path}: 서비스 db(pg_isready 상태 확인, 명명된 볼륨)와 backend; "
                      "비밀번호는 ${env}에서 읽음."},
    "compose_fix": {"en": "Regenerate it with deploy.write_compose.",
                    "ko": "deploy.write_compose로 다시 생성하세요."},
    "not_yaml": {"en": "not valid YAML: {error}", "ko": "올바른 YAML이 아님: {error}"},
    "not_python": {"en": "not valid Python: {error}", "ko": "올바른 Python이 아님: {error}"},
    "no_ssl": {"en": "sslmode=require missing", "ko": "sslmode=require 없음"},
    "inline": {"en": "password inline", "ko": "비밀번호가 코드에 들어 있음"},
    "cloud": {"en": "DATABASES for RDS / Cloud SQL: password from the environment, "
                    "sslmode=require.",
              "ko": "RDS / Cloud SQL용 DATABASES: 비밀번호는 환경 변수에서, sslmode=require."},
    "snapshot_fix": {"en": "Roll back from the stage 03 snapshot (runs/<id>/snapshot) instead.",
                     "ko": "대신 03단계의 스냅샷(runs/<id>/snapshot)으로 롤백하세요."},
    "no_table": {"en": "No django_migrations table on one side.",
                 "ko": "한쪽에 django_migrations 테이블이 없음."},
    "migrate_first": {"en": "Run manage.py migrate against the SQLite file before switching "
                            "back.",
                      "ko": "되돌리기 전에 SQLite 파일에 대해 manage.py migrate를 실행하세요."},
    "verified": {"en": "{dump} was restored and matched the database.",
                 "ko": "{dump}을(를) 복원했고 데이터베이스와 일치했습니다."},
    "unverified": {"en": "No restore-verified backup in this run.",
                   "ko": "이번 실행에 복원으로 검증한 백업이 없음."},
    "prove_first": {"en": "Run the backup cells above (backup.prove) first.",
                    "ko": "먼저 위의 백업 셀(backup.prove)을 실행하세요."},
}


def name(settings, cid: str) -> str:
    return t(NAMES[cid], settings.language)


def say(settings, key: str, **values) -> str:
    return t(TEXT[key], settings.language, **values)


__all__ = ["NAMES", "TEXT", "name", "say"]
