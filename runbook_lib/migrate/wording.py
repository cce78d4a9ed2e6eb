"""What stage 03's errors say, in English and Korean: `ERRORS[key]` is a message or its fix
(`key_fix`) with `{placeholders}` the raise site fills (`MigrationError(ERRORS["x"],
ERRORS["x_fix"], name=...)`); `REASONS` are why a piece of SQL text is not translated
(`sql_translate.Untranslatable`) or why a table does not take the binary COPY path."""

from __future__ import annotations

from collections.abc import Iterable

from ..core.i18n import LANGUAGES, Filled, Text, t

KINDS = {  # names the plan hands out: whose they are (names.Names.owner)
    "table": {"en": "table", "ko": "테이블"},
    "view": {"en": "view", "ko": "뷰"},
    "index": {"en": "index", "ko": "인덱스"},
    "sequence": {"en": "sequence", "ko": "시퀀스"},
    "primary key": {"en": "primary key", "ko": "기본 키(PRIMARY KEY)"},
    "unique": {"en": "unique", "ko": "UNIQUE 제약 조건"},
}

ERRORS = {
    # source.py: the SQLite file and its snapshot
    "no_source": {"en": "The SQLite source file {path} does not exist.",
                  "ko": "SQLite 원본 파일 {path}이(가) 없습니다."},
    "no_source_near": {"en": "The SQLite source file {path} does not exist; the closest "
                             "existing file is {near}.",
                       "ko": "SQLite 원본 파일 {path}이(가) 없습니다. 가장 가까운 기존 파일은 "
                             "{near}입니다."},
    "no_source_fix": {"en": "Set sqlite_path to your project's database file (db.sqlite3).",
                      "ko": "sqlite_path를 프로젝트의 데이터베이스 파일(db.sqlite3)로 설정하세요."},
    "no_source_near_fix": {"en": "Set sqlite_path: {near} if that is your database; otherwise "
                                 "set sqlite_path to your project's database file (db.sqlite3).",
                           "ko": "그 파일이 데이터베이스라면 sqlite_path: {near}로 설정하세요. "
                                 "아니면 sqlite_path를 프로젝트의 데이터베이스 파일(db.sqlite3)로 "
                                 "설정하세요."},
    "empty_file": {"en": "{path} is empty.", "ko": "{path}이(가) 비어 있습니다."},
    "not_sqlite": {"en": "{path} is not a SQLite 3 database (or it is encrypted).",
                   "ko": "{path}은(는) SQLite 3 데이터베이스가 아닙니다(또는 암호화되어 "
                         "있습니다)."},
    "not_sqlite_fix": {"en": "Point sqlite_path at the real db.sqlite3; an encrypted (SQLCipher) "
                             "file must be decrypted first with `sqlcipher` (`sqlcipher_export`).",
                       "ko": "sqlite_path가 실제 db.sqlite3를 가리키게 하세요. 암호화된(SQLCipher) "
                             "파일은 먼저 `sqlcipher`(`sqlcipher_export`)로 복호화해야 합니다."},
    "integrity": {"en": "The snapshot {path} fails PRAGMA integrity_check: {problems}.",
                  "ko": "스냅샷 {path}이(가) PRAGMA integrity_check를 통과하지 못했습니다: "
                        "{problems}."},
    "integrity_fix": {"en": "Repair the source first (`sqlite3 db.sqlite3 .recover`), then "
                            "re-run.",
                      "ko": "먼저 원본을 복구한 뒤(`sqlite3 db.sqlite3 .recover`) 다시 "
                            "실행하세요."},
    "integrity_stopped": {"en": "PRAGMA integrity_check stopped before giving a verdict.",
                          "ko": "PRAGMA integrity_check가 결과를 내기 전에 멈췄습니다."},
    "integrity_stopped_fix": {"en": "Re-run the stage; if it persists, check the machine's "
                                    "memory.",
                              "ko": "단계를 다시 실행하세요. 계속되면 컴퓨터의 메모리를 "
                                    "확인하세요."},
    "source_doomed": {"en": "The source {source} is, or lies inside, {clash}, which the runbook "
                            "deletes or rewrites on every run: the source would be destroyed. "
                            "Nothing was touched.",
                      "ko": "원본 {source}이(가) {clash}이거나 그 안에 있습니다. runbook은 실행할 "
                            "때마다 이 경로를 지우거나 다시 쓰므로 원본이 망가집니다. 아무것도 "
                            "건드리지 않았습니다."},
    "source_doomed_fix": {"en": "Point sqlite_path at the application's own database file "
                                "(e.g. myproject/db.sqlite3), or move the file out of the run "
                                "folder first, or choose another run_dir.",
                          "ko": "sqlite_path가 애플리케이션 자체의 데이터베이스 파일(예: "
                                "myproject/db.sqlite3)을 가리키게 하거나, 먼저 파일을 실행 폴더 "
                                "밖으로 옮기거나, 다른 run_dir을 고르세요."},
    "source_leftover": {"en": "{leftover} is the source's own file; it is not deleted.",
                        "ko": "{leftover}은(는) 원본 자체의 파일이므로 지우지 않습니다."},
    "source_leftover_fix": {"en": "Point sqlite_path at the application's database outside the "
                                  "run folder.",
                            "ko": "sqlite_path가 실행 폴더 밖에 있는 애플리케이션의 데이터베이스를 "
                                  "가리키게 하세요."},
    "no_room": {"en": "No room for the snapshot {dest}: {error}; the partial copy was removed.",
                "ko": "스냅샷 {dest}을(를) 만들 공간이 없습니다: {error}. 만들다 만 복사본은 "
                      "지웠습니다."},
    "no_room_fix": {"en": "Free space on that disk (about {size:,} bytes are needed) or choose "
                          "a run folder on a larger one (--run-dir).",
                    "ko": "그 디스크의 공간을 확보하거나(약 {size:,}바이트 필요) 더 큰 디스크에 "
                          "있는 실행 폴더를 고르세요(--run-dir)."},
    "unreadable": {"en": "Cannot read {path}: {error}.", "ko": "{path}을(를) 읽을 수 없습니다: "
                                                               "{error}."},
    "unreadable_fix": {"en": "Check the file is a readable SQLite database (not encrypted, not "
                             "truncated); `sqlite3 FILE 'PRAGMA integrity_check'`.",
                       "ko": "파일이 읽을 수 있는 SQLite 데이터베이스인지(암호화되거나 잘리지 "
                             "않았는지) 확인하세요: `sqlite3 FILE 'PRAGMA integrity_check'`."},
    # names.py and schema.py: the plan's names and types
    "name_taken": {"en": "The target already has a relation named {name!r} that is not a table "
                         "of this migration, so {what} {source!r} cannot take that name. Nothing "
                         "was changed.",
                   "ko": "대상 데이터베이스에 이 마이그레이션의 테이블이 아닌 {name!r} 릴레이션이 "
                         "이미 있어서 {what} {source!r}에 그 이름을 쓸 수 없습니다. 아무것도 "
                         "바꾸지 않았습니다."},
    "name_taken_fix": {"en": "Rename it on the target, or give the {what} another name: "
                             "name_map: {{\"{source}\": \"{name}_sqlite\"}}.",
                       "ko": "대상 데이터베이스에서 그 이름을 바꾸거나, {what}에 다른 이름을 "
                             "주세요: name_map: {{\"{source}\": \"{name}_sqlite\"}}."},
    "name_twice": {"en": "{What} {source!r} and {other} would both be named {name!r} on PostgreSQL "
                         "(name_map). Nothing was changed.",
                   "ko": "{What} {source!r}와(과) {other}이(가) PostgreSQL에서 둘 다 {name!r}(이)라는 "
                         "이름이 됩니다(name_map). 아무것도 바꾸지 않았습니다."},
    "name_twice_fix": {"en": "Give one of them its own name: name_map: "
                             "{{\"{source}\": \"{name}_2\"}}.",
                       "ko": "둘 중 하나에 다른 이름을 주세요: name_map: "
                             "{{\"{source}\": \"{name}_2\"}}."},
    "owner": {"en": "{what} {source}", "ko": "{what} {source}"},
    "owner_of": {"en": "{kind} of {table}", "ko": "{table}의 {kind}"},
    "column_twice": {"en": "Columns {first!r} and {second!r} of table {table!r} would both be named "
                           "{name!r} (name_map). Nothing was changed.",
                     "ko": "테이블 {table!r}의 열 {first!r}와(과) {second!r}이(가) 둘 다 {name!r}(이)라는 "
                           "이름이 됩니다(name_map). 아무것도 바꾸지 않았습니다."},
    "column_twice_fix": {"en": "Give one its own name: name_map: {{\"{source}\": \"{name}_2\"}}.",
                         "ko": "하나에 다른 이름을 주세요: name_map: "
                               "{{\"{source}\": \"{name}_2\"}}."},
    "overrides_wrong": {"en": "type_overrides is wrong: {problems}. Nothing was changed.",
                        "ko": "type_overrides가 잘못되었습니다: {problems}. 아무것도 바꾸지 "
                              "않았습니다."},
    "overrides_no_column": {"en": "no such column {columns}", "ko": "없는 열 {columns}"},
    "overrides_not_type": {"en": "not a type name {values}", "ko": "타입 이름이 아님 {values}"},
    "overrides_wrong_fix": {"en": "Use \"table.column\": \"postgres type\" with a column of the "
                                  "source, e.g. type_overrides: {{\"{example}\": \"text\"}}.",
                            "ko": "원본의 열로 \"table.column\": \"postgres type\" 형식을 쓰세요. "
                                  "예: type_overrides: {{\"{example}\": \"text\"}}."},
    "too_long": {"en": "{n} identifier(s) are longer than PostgreSQL's {limit} bytes and would "
                       "be silently truncated: {names}.",
                 "ko": "식별자 {n}개가 PostgreSQL의 한도 {limit}바이트보다 길어서 아무 말 없이 "
                       "잘립니다: {names}."},
    "too_long_fix": {"en": "Map them to shorter names with the name_map parameter, e.g. "
                           "name_map: {{{pairs}}} (and rename them in your models).",
                     "ko": "name_map 매개변수로 더 짧은 이름을 주세요. 예: name_map: {{{pairs}}} "
                           "(모델에서도 이름을 바꾸세요)."},
    # target.py and steps.py: the target database and the copy
    "target_not_empty": {"en": "The target {dsn} already holds data in {n} table(s): {tables}. "
                               "Nothing was changed.",
                         "ko": "대상 {dsn}의 테이블 {n}개에 이미 데이터가 있습니다: {tables}. "
                               "아무것도 바꾸지 않았습니다."},
    "target_not_empty_fix": {"en": "If that data may go, re-run with if_exists: truncate "
                                   "(empties those tables, keeps their definitions) or "
                                   "if_exists: replace (drops and re-creates them); otherwise "
                                   "point db_name at an empty database.",
                             "ko": "그 데이터를 지워도 된다면 if_exists: truncate(테이블을 비우고 "
                                   "정의는 유지) 또는 if_exists: replace(테이블을 지우고 다시 "
                                   "만듦)로 다시 실행하세요. 아니면 db_name이 빈 데이터베이스를 "
                                   "가리키게 하세요."},
    "unknown_types": {"en": "type_overrides names type(s) this server does not know: {types}. "
                            "Nothing was changed.",
                      "ko": "type_overrides에 이 서버가 모르는 타입이 있습니다: {types}. "
                            "아무것도 바꾸지 않았습니다."},
    "unknown_types_fix": {"en": "Use a PostgreSQL type name, e.g. text, bigint, numeric(12,2), "
                                "varchar(80), jsonb, timestamp with time zone.",
                          "ko": "PostgreSQL 타입 이름을 쓰세요. 예: text, bigint, numeric(12,2), "
                                "varchar(80), jsonb, timestamp with time zone."},
    "no_target_column": {"en": "Target table {table} has no column {column} (the source has "
                               "it).",
                         "ko": "대상 테이블 {table}에 {column} 열이 없습니다(원본에는 있습니다)."},
    "no_target_column_fix": {"en": "Run the source project's migrations on the source first, or "
                                   "use schema: sqlite.",
                             "ko": "먼저 원본 프로젝트의 마이그레이션을 원본에 실행하거나 "
                                   "schema: sqlite를 쓰세요."},
    "copy_stopped": {"en": "The copy stopped: {error}. That table was rolled back; the run is "
                           "unfinished and the next run redoes it from scratch.",
                     "ko": "복사가 멈췄습니다: {error}. 그 테이블은 롤백했습니다. 이번 실행은 "
                           "끝나지 않았으며 다음 실행이 처음부터 다시 합니다."},
    "copy_stopped_fix": {"en": "See diagnosis DX020 in notebook 05; set on_bad_value: null or "
                               "quarantine, or fix the value in the source.",
                         "ko": "노트북 05의 진단 DX020을 보세요. on_bad_value: null 또는 "
                               "quarantine으로 설정하거나, 원본의 값을 고치세요."},
    "counts_differ": {"en": "Row counts differ after COPY: {tables}",
                      "ko": "COPY 뒤 행 수가 다릅니다: {tables}"},
    "counts_differ_item": {"en": "{table}: {loaded} loaded, {expected} expected",
                           "ko": "{table}: {loaded}행 적재, {expected}행 예상"},
    "counts_differ_fix": {"en": "Re-run the stage; if it persists, report it with this run.",
                          "ko": "단계를 다시 실행하세요. 계속되면 이 실행 폴더와 함께 "
                                "알려 주세요."},
    # transfer.py: values the COPY cannot send
    "bytea_not_blob": {"en": "a bytea value is not a blob", "ko": "bytea 값이 blob이 아님"},
    "nul_byte": {"en": "a text value holds a NUL byte", "ko": "텍스트 값에 NUL 바이트가 있음"},
    "refused_value": {"en": "{table}: PostgreSQL refused a value: {detail}",
                      "ko": "{table}: PostgreSQL이 값을 거부했습니다: {detail}"},
    # postload.py: keys after the load
    "dangling": {"en": "Foreign key {name} on {table} does not hold: {detail} (dangling "
                       "references: the source ran with foreign_keys=OFF).",
                 "ko": "{table}의 외래 키 {name}이(가) 성립하지 않습니다: {detail} (가리키는 행이 "
                       "없는 참조: 원본이 foreign_keys=OFF로 운영되었습니다)."},
    "dangling_fix": {"en": "Set on_bad_value: null or quarantine to handle the rows that point "
                           "nowhere, or fix them in the source.",
                     "ko": "가리키는 행이 없는 행은 on_bad_value: null 또는 quarantine으로 "
                           "처리하거나, 원본에서 고치세요."},
    # django_names.py: the SQLite file against Django's schema
    "drift": {"en": "The SQLite file and the schema Django's migrate built on PostgreSQL differ "
                    "in a way that would lose data: {items}. Nothing was copied.",
              "ko": "SQLite 파일과 Django의 migrate가 PostgreSQL에 만든 스키마가 데이터를 잃게 "
                    "되는 방식으로 다릅니다: {items}. 아무것도 복사하지 않았습니다."},
    "drift_fix": {"en": "The SQLite file was written by other code than django_project holds: "
                        "check out the project's version that wrote it, or bring the SQLite "
                        "database up to date with the project's migrations (`python manage.py "
                        "migrate` against it) and re-run stage 03. `python manage.py "
                        "showmigrations` lists what each side has applied.",
                  "ko": "SQLite 파일은 django_project에 있는 것과 다른 코드가 쓴 것입니다. 그 "
                        "파일을 쓴 프로젝트 버전을 체크아웃하거나, SQLite 데이터베이스를 "
                        "프로젝트의 마이그레이션으로 최신 상태로 만든 뒤(그 파일에 대해 `python "
                        "manage.py migrate`) 03단계를 다시 실행하세요. `python manage.py "
                        "showmigrations`가 양쪽에 적용된 마이그레이션을 보여 줍니다."},
    "drift_values": {"en": "{column} ({n} values)", "ko": "{column} (값 {n}개)"},
    "drift_not_null": {"en": "{column} (NOT NULL, no SQLite column)",
                       "ko": "{column} (NOT NULL, SQLite 열 없음)"},
    # methods.py: loaddata and pgloader
    "loaddata_needs_django": {"en": "method loaddata needs a Django project (schema: django).",
                              "ko": "method loaddata에는 Django 프로젝트가 필요합니다"
                                    "(schema: django)."},
    "loaddata_needs_django_fix": {"en": "Set django_project, or use method: copy for a plain "
                                        "SQLite file.",
                                  "ko": "django_project를 설정하거나, Django 없는 SQLite 파일이면 "
                                        "method: copy를 쓰세요."},
    "pgloader_failed": {"en": "pgloader failed (exit {code}): {tail}",
                        "ko": "pgloader가 실패했습니다(종료 코드 {code}): {tail}"},
    "pgloader_errors": {"en": "pgloader exited 0 but its summary counts {n} error(s).",
                        "ko": "pgloader는 0으로 끝났지만 요약에 오류가 {n}개 있습니다."},
    "pgloader_fix": {"en": "Read {log}; or use method: copy.",
                     "ko": "{log}을(를) 읽어 보세요. 또는 method: copy를 쓰세요."},
    "pgloader_missing": {"en": "method pgloader: the pgloader program is not installed.",
                         "ko": "method pgloader: pgloader 프로그램이 설치되어 있지 않습니다."},
    "pgloader_missing_fix": {"en": "Install it: {install}.", "ko": "설치하세요: {install}."},
    "unknown_method": {"en": "Unknown method {method}.", "ko": "알 수 없는 method {method}입니다."},
    "unknown_method_fix": {"en": "Use copy, loaddata or pgloader.",
                           "ko": "copy, loaddata, pgloader 중 하나를 쓰세요."},
}

SAY = {  # methods.py: what loaddata and pgloader did
    "loaddata_done": {"en": "loaddata finished in {seconds:.1f} s",
                      "ko": "loaddata가 {seconds:.1f}초 만에 끝났습니다"},
    "pgloader_done": {"en": "pgloader exited 0 after {seconds:.1f} s; rows counted by the runbook",
                      "ko": "pgloader가 {seconds:.1f}초 뒤 0으로 끝났습니다. 행 수는 runbook이 "
                            "셌습니다"},
    "sequences_reset": {"en": "sqlsequencereset: sequences set past max(id) and sqlite_sequence",
                        "ko": "sqlsequencereset: 시퀀스를 max(id)와 sqlite_sequence 뒤로 "
                              "설정했습니다"},
}

REASONS = {
    # sql_translate.py: why SQLite SQL text is not regenerated for PostgreSQL
    "too_long": {"en": "longer than {limit} characters", "ko": "{limit}자보다 김"},
    "not_sqlite": {"en": "character {char} is not SQLite syntax",
                   "ko": "문자 {char}은(는) SQLite 문법이 아님"},
    "too_deep": {"en": "more than {limit} nested parentheses",
                 "ko": "괄호가 {limit}단계보다 깊게 중첩됨"},
    "unbalanced": {"en": "unbalanced parentheses", "ko": "괄호의 짝이 맞지 않음"},
    "function": {"en": "function {name}()", "ko": "함수 {name}()"},
    "no_translation": {"en": "{what} has no checked PostgreSQL translation",
                       "ko": "{what}에 대해 검증된 PostgreSQL 변환이 없음"},
    "cast": {"en": "cast to {type} is not translated", "ko": "{type}(으)로의 CAST는 변환하지 않음"},
    "other_database": {"en": "table {table} of another database",
                       "ko": "다른 데이터베이스의 테이블 {table}"},
    "not_parsed": {"en": "not parsed: {error}", "ko": "구문 분석 실패: {error}"},
    "statements": {"en": "{n} statements where one was expected",
                   "ko": "문장이 하나여야 하는데 {n}개임"},
    "generated_char": {"en": "generated text holds {char}", "ko": "생성된 텍스트에 {char}이(가) 있음"},
    "generated_comment": {"en": "generated text would hold a comment",
                          "ko": "생성된 텍스트에 주석이 들어감"},
    "generated_prefix": {"en": "generated text has a prefixed literal {literal}",
                         "ko": "생성된 텍스트에 접두사가 붙은 리터럴 {literal}이(가) 있음"},
    "not_generated": {"en": "not generated: {error}", "ko": "생성 실패: {error}"},
    "not_one": {"en": "the generated text does not read back as one expression",
                "ko": "생성된 텍스트를 다시 읽으면 식 하나가 아님"},
    "not_same": {"en": "the generated text does not read back the same",
                 "ko": "생성된 텍스트를 다시 읽으면 같지 않음"},
    "not_found": {"en": "no {words} found", "ko": "{words}을(를) 찾지 못함"},
    "view_not_query": {"en": "the view's body is not a query", "ko": "뷰의 본문이 쿼리가 아님"},
    "no_columns": {"en": "no column list", "ko": "열 목록이 없음"},
    "index_collate": {"en": "COLLATE in an index (PostgreSQL has no NOCASE/RTRIM)",
                      "ko": "인덱스 안의 COLLATE (PostgreSQL에는 NOCASE/RTRIM이 없음)"},
    "empty_item": {"en": "an empty index item", "ko": "빈 인덱스 항목"},
    "after_columns": {"en": "unexpected {token} after the columns",
                      "ko": "열 목록 뒤에 예상하지 못한 {token}"},
    # transfer.py and transfer_binary.py: why a table is copied as text, not in binary
    "no_rule": {"en": "{column}: no binary rule for {type}",
                "ko": "{column}: {type}에 대한 바이너리 규칙 없음"},
    "numbers_as_numbers": {"en": "{column}: declared {declared}, so numbers may be stored as "
                                 "numbers",
                           "ko": "{column}: {declared}(으)로 선언되어 숫자가 숫자로 저장되어 "
                                 "있을 수 있음"},
    "untyped": {"en": "without a type", "ko": "타입 없이"},
    "nan_text": {"en": "{column}: NaN or Infinity written as text",
                 "ko": "{column}: NaN 또는 Infinity가 텍스트로 저장되어 있음"},
    "naive_timestamps": {"en": "{column}: naive timestamps in {zone}",
                         "ko": "{column}: {zone} 기준의 시간대 없는 타임스탬프"},
    "read_as": {"en": "{column}: read as {got}, not {wanted}",
                "ko": "{column}: {wanted}이(가) 아니라 {got}(으)로 읽힘"},
    "witness": {"en": "the witness row did not come first",
                "ko": "기준 행(witness row)이 맨 앞에 오지 않음"},
    "decimal_digits": {"en": "a DecimalField of more than 15 digits",
                       "ko": "15자리를 넘는 DecimalField"},
    "binary_off": {"en": "binary path switched off", "ko": "바이너리 경로를 끔"},
    "binary_failed": {"en": "binary path failed: {reason}", "ko": "바이너리 경로 실패: {reason}"},
    # load_checks.py: why a copy checked as it went stopped (the full profile then runs)
    "refused": {"en": "{column}: {what}", "ko": "{column}: {what}"},
    "refused_flag": {"en": "a value of another storage class than its column's",
                     "ko": "열과 다른 저장 클래스의 값"},
    "refused_notnull": {"en": "NULL in a NOT NULL column", "ko": "NOT NULL 열에 NULL"},
    "refused_text": {"en": "NUL or invalid UTF-8 in text", "ko": "텍스트에 NUL 또는 잘못된 UTF-8"},
    "refused_bool": {"en": "a boolean other than 0 and 1", "ko": "0과 1이 아닌 불리언"},
    "refused_iso": {"en": "a date-time not in ISO form", "ko": "ISO 형식이 아닌 날짜-시간"},
}



def joined(texts: Iterable[Text | str], sep: str = "; ") -> Filled:
    """Parts of a message (Texts or plain strings) joined in every language."""
    texts = list(texts)
    return Filled({lang: sep.join(t(text, lang) for text in texts) for lang in LANGUAGES})


__all__ = ["ERRORS", "KINDS", "REASONS", "SAY", "joined"]
