"""The words of `report.html`, in English and Korean (data; `report` puts them together)."""

from __future__ import annotations

from .overview import STAGES

# stage number → what the stage does (the stage map of notebook 00)
STAGE_NAMES = {stem[:2]: what for stem, (what, _changes) in STAGES.items()}
# what a provisioning row that changed something changed
DB_CHANGES = {
    "DB002": {"en": "the application role", "ko": "애플리케이션 역할"},
    "DB003": {"en": "its password", "ko": "역할 비밀번호"},
    "DB004": {"en": "the database", "ko": "데이터베이스"},
    "DB005": {"en": "the database owner", "ko": "데이터베이스 소유자"},
    "DB006": {"en": "CREATE on schema public", "ko": "public 스키마의 CREATE 권한"},
}

TEXT = {
    "title": {"en": "Migration runbook: run {run_id}", "ko": "마이그레이션 런북: 실행 {run_id}"},
    # the banner
    "banner_safe": {"en": "Safe to cut over: every row is proven identical in PostgreSQL, and "
                          "the sequences, foreign keys, backup and application all check out.",
                    "ko": "전환해도 안전합니다: 모든 행이 PostgreSQL에서 동일함이 증명되었고, "
                          "시퀀스, 외래 키, 백업, 애플리케이션 점검도 모두 통과했습니다."},
    "banner_pending": {"en": "Not yet proven safe to cut over: {n} piece(s) of evidence are "
                             "missing (marked – or ! below).",
                       "ko": "아직 전환해도 된다고 증명되지 않았습니다: 아래에 – 또는 !로 표시된 "
                             "근거 {n}개가 없습니다."},
    "banner_unsafe": {"en": "Not safe to cut over: {why}",
                      "ko": "전환하면 안 됩니다: {why}"},
    "banner_failed": {"en": "Not safe to cut over: stage {notebook} failed ({why}).",
                      "ko": "전환하면 안 됩니다: {notebook} 단계가 실패했습니다 ({why})."},
    # the evidence, one line each
    "ev_rows_ok": {"en": "{proven} of {rows} rows proven identical, value by value ({same} of "
                         "{n} tables, {mode} validation of {db})",
                   "ko": "{rows}행 중 {proven}행이 값 단위로 동일함을 증명 (테이블 {n}개 중 "
                         "{same}개, {db}의 {mode} 검증)"},
    "ev_rows_partial": {"en": "Rows compared by {mode} validation only ({same} of {n} tables "
                              "match): not every value was proven",
                        "ko": "{mode} 검증으로만 비교함 (테이블 {n}개 중 {same}개 일치): 모든 값이 "
                              "증명되지는 않음"},
    "ev_rows_bad": {"en": "Rows differ: {same} of {n} tables identical; differing: {bad}",
                    "ko": "행이 다릅니다: 테이블 {n}개 중 {same}개만 동일; 다른 테이블: {bad}"},
    "ev_rows_none": {"en": "Rows not validated in this run (stage 04 did not run)",
                     "ko": "이번 실행에서 행을 검증하지 않음 (04단계가 실행되지 않음)"},
    "ev_seq_ok": {"en": "Sequences: every id sequence hands out ids past max(id)",
                  "ko": "시퀀스: 모든 id 시퀀스가 max(id) 다음 값을 냄"},
    "ev_seq_bad": {"en": "Sequences behind their tables: {detail}",
                   "ko": "테이블보다 뒤처진 시퀀스: {detail}"},
    "ev_seq_none": {"en": "Sequences not checked (stage 04 did not run)",
                    "ko": "시퀀스 확인 안 됨 (04단계가 실행되지 않음)"},
    "ev_fk_ok": {"en": "Foreign keys: no orphaned rows", "ko": "외래 키: 고아 행 없음"},
    "ev_fk_bad": {"en": "Foreign keys with orphaned rows: {detail}",
                  "ko": "고아 행이 있는 외래 키: {detail}"},
    "ev_fk_none": {"en": "Foreign keys not checked (stage 04 did not run)",
                   "ko": "외래 키 확인 안 됨 (04단계가 실행되지 않음)"},
    "ev_backup_ok": {"en": "Backup {file} ({size} MB) restored into {db} and proven identical "
                           "({tables} tables)",
                     "ko": "백업 {file} ({size} MB)을(를) {db}에 복원해 동일함을 증명 (테이블 "
                           "{tables}개)"},
    "ev_backup_bad": {"en": "Backup {file} was not proven by a restore",
                      "ko": "백업 {file}이(가) 복원으로 증명되지 않음"},
    "ev_backup_none": {"en": "No backup restored and proven in this run (stage 08 did not run)",
                       "ko": "이번 실행에서 복원으로 증명한 백업 없음 (08단계가 실행되지 않음)"},
    "ev_app_ok": {"en": "The application on PostgreSQL: {ok} of {n} checks passed (manage.py "
                        "check, migrate, runserver, admin page, API)",
                  "ko": "PostgreSQL에서 실행한 애플리케이션: 점검 {n}개 중 {ok}개 통과 "
                        "(manage.py check, migrate, runserver, 관리자 페이지, API)"},
    "ev_app_bad": {"en": "The application fails on PostgreSQL: {failed}",
                   "ko": "애플리케이션이 PostgreSQL에서 실패함: {failed}"},
    "ev_app_none": {"en": "The application was not run on PostgreSQL (stage 06 did not run)",
                    "ko": "애플리케이션을 PostgreSQL에서 실행해 보지 않음 (06단계가 실행되지 "
                          "않음)"},
    "source_target": {"en": "Source {source} → target {target}",
                      "ko": "원본 {source} → 대상 {target}"},
    "timing": {"en": "{n} stage(s) in {seconds} s (started {started}, finished {finished})",
               "ko": "단계 {n}개, {seconds}초 (시작 {started}, 종료 {finished})"},
    # next steps
    "next": {"en": "Next steps", "ko": "다음 할 일"},
    "next_fix": {"en": "Fix {notebook}: {fix}", "ko": "{notebook} 고치기: {fix}"},
    "next_rerun": {"en": "Then run the stages from there again: runbook run --params {params} "
                         "--only {only}",
                   "ko": "그다음 그 단계부터 다시 실행: runbook run --params {params} --only "
                         "{only}"},
    "next_differences": {"en": "Do not switch: open 04_validate.html (the differing rows side "
                               "by side) and validation.json, fix the source values or "
                               "on_bad_value, then run stages 03 and 04 again.",
                         "ko": "전환하지 마세요: 04_validate.html(차이 나는 행을 나란히 보여 "
                               "줌)과 validation.json을 열어 원본 값이나 on_bad_value를 고친 뒤 "
                               "03, 04단계를 다시 실행하세요."},
    "next_missing": {"en": "Run the stages that did not run: runbook run --params {params} "
                           "--only {only}",
                     "ko": "실행되지 않은 단계를 실행하세요: runbook run --params {params} "
                           "--only {only}"},
    "next_full": {"en": "Validate every value: runbook run --params {params} --only 04 -p "
                        "validate_mode=full",
                  "ko": "모든 값을 검증하세요: runbook run --params {params} --only 04 -p "
                        "validate_mode=full"},
    "next_switch": {"en": "Switch the application: put the DATABASES block shown in "
                          "06_django_cutover into the settings file (or run again with -p "
                          "apply_settings=true), keep .env beside manage.py, stop writes to "
                          "SQLite and restart the application.",
                    "ko": "애플리케이션 전환: 06_django_cutover에 나온 DATABASES 블록을 settings "
                          "파일에 넣고(또는 -p apply_settings=true로 다시 실행), .env를 "
                          "manage.py 옆에 두고, SQLite 쓰기를 멈춘 뒤 애플리케이션을 "
                          "재시작하세요."},
    "next_switch_applied": {"en": "The settings file now holds the PostgreSQL block (its old "
                                  "version is kept as <file>.runbook-backup-…): stop writes to "
                                  "SQLite and restart the application.",
                            "ko": "settings 파일에 이제 PostgreSQL 블록이 있습니다(이전 파일은 "
                                  "<file>.runbook-backup-…로 보관): SQLite 쓰기를 멈추고 "
                                  "애플리케이션을 재시작하세요."},
    "next_backup": {"en": "Schedule the nightly backup: {script} (the cron line is in its "
                          "header).",
                    "ko": "야간 백업을 일정에 등록하세요: {script} (cron 줄은 파일 머리말에 "
                          "있음)."},
    "next_monitor": {"en": "Watch the first week with the monitoring queries of 08_operate "
                           "(connections, slow queries, unused indexes).",
                     "ko": "첫 주는 08_operate의 모니터링 쿼리(연결, 느린 쿼리, 쓰이지 않는 "
                           "인덱스)로 지켜보세요."},
    "next_rollback": {"en": "Rollback, if needed: put the old settings file back "
                            "(settings_block.restore_settings in 06, or the "
                            ".runbook-backup-… copy) and restart; safe while no rows were "
                            "written to PostgreSQL after the switch (DJ076; export them first "
                            "otherwise) and the SQLite file is untouched (DJ070).",
                      "ko": "필요하면 롤백: 이전 settings 파일을 되돌리고(06의 "
                            "settings_block.restore_settings, 또는 .runbook-backup-… 사본) "
                            "재시작하세요. 전환 후 PostgreSQL에 쓰인 행이 없고(DJ076; 있으면 먼저 "
                            "내보내기) SQLite 파일이 그대로인 동안(DJ070) 안전합니다."},
    # stages
    "stages": {"en": "Stages", "ko": "단계"},
    "notebook": {"en": "notebook", "ko": "노트북"},
    "h_stage": {"en": "stage", "ko": "단계"},
    "h_notebook": {"en": "notebook", "ko": "노트북"},
    "h_status": {"en": "status", "ko": "상태"},
    "h_seconds": {"en": "seconds", "ko": "초"},
    "h_note": {"en": "what happened", "ko": "한 일"},
    "h_output": {"en": "output", "ko": "결과물"},
    "status_ok": {"en": "ok", "ko": "정상"},
    "status_warn": {"en": "warnings", "ko": "경고"},
    "status_failed": {"en": "failed", "ko": "실패"},
    "status_fail": {"en": "failed", "ko": "실패"},
    "status_pending": {"en": "pending", "ko": "대기"},
    "status_running": {"en": "running", "ko": "실행 중"},
    "note_failed": {"en": "failed in cell {cell}: {type}: {message}",
                    "ko": "셀 {cell}에서 실패: {type}: {message}"},
    "note_02": {"en": "created or changed: {what}", "ko": "생성 또는 변경: {what}"},
    "note_02_none": {"en": "nothing changed: the role and database were already right",
                     "ko": "변경 없음: 역할과 데이터베이스가 이미 올바름"},
    "note_03": {"en": "{n} tables, {rows} rows copied (schema: {schema}, method: {method}); "
                      "{quarantined} rows quarantined",
                "ko": "테이블 {n}개, {rows}행 복사 (schema: {schema}, method: {method}); 격리된 "
                      "행 {quarantined}개"},
    "note_04": {"en": "{mode} validation: {same} of {n} tables identical in {seconds} s",
                "ko": "{mode} 검증: 테이블 {n}개 중 {same}개 동일, {seconds}초"},
    "note_05": {"en": "{n} fault drills walked, {ok} reproduced, diagnosed, fixed and restored",
                "ko": "장애 훈련 {n}개 실행, {ok}개 재현·진단·해결·복구"},
    "note_05_none": {"en": "live probes only (no drills)", "ko": "실시간 점검만 (훈련 없음)"},
    "note_06": {"en": "the application ran on PostgreSQL through a settings shim; the settings "
                      "file is unchanged (apply_settings: false)",
                "ko": "settings shim을 통해 애플리케이션을 PostgreSQL에서 실행함; settings 파일은 "
                      "그대로 (apply_settings: false)"},
    "note_06_applied": {"en": "the settings file now points at PostgreSQL (backup kept)",
                        "ko": "settings 파일이 이제 PostgreSQL을 가리킴 (백업 보관)"},
    "note_07": {"en": "the guide's five scenarios measured on {table} and {parent} in {seconds} s",
                "ko": "가이드의 다섯 시나리오를 {table}와 {parent}에서 측정, {seconds}초"},
    "note_08": {"en": "backup made, restored into a scratch database and proven; backup.sh "
                      "written",
                "ko": "백업을 만들어 임시 데이터베이스에 복원하고 증명함; backup.sh 작성"},
    # what changed, tables, validations
    "changes": {"en": "What the run changed", "ko": "이번 실행이 바꾼 것"},
    "changes_02": {"en": "On the server (stage 02):", "ko": "서버에서 (02단계):"},
    "changes_none": {"en": "nothing: the role and the database were already right",
                     "ko": "없음: 역할과 데이터베이스가 이미 올바름"},
    "changes_03": {"en": "In the target database (stage 03):",
                   "ko": "대상 데이터베이스에서 (03단계):"},
    "tables": {"en": "Tables, largest first", "ko": "테이블 (큰 순서)"},
    "tables_intro": {"en": "Rows read from the SQLite snapshot, rows loaded into PostgreSQL, rows "
                           "set aside, and what validation found.",
                     "ko": "SQLite 스냅샷에서 읽은 행, PostgreSQL에 적재한 행, 격리한 행, 그리고 "
                           "검증 결과."},
    "h_table": {"en": "table", "ko": "테이블"},
    "h_source_rows": {"en": "source rows", "ko": "원본 행 수"},
    "h_target_rows": {"en": "target rows", "ko": "대상 행 수"},
    "h_loaded": {"en": "loaded", "ko": "적재"},
    "h_quarantined": {"en": "quarantined", "ko": "격리"},
    "h_verdict": {"en": "verdict", "ko": "판정"},
    "h_detail": {"en": "detail", "ko": "상세"},
    "verdict_ok": {"en": "identical", "ko": "동일"},
    "verdict_mismatch": {"en": "differs", "ko": "다름"},
    "verdict_missing": {"en": "missing", "ko": "없음"},
    "val_main": {"en": "Validation of the migrated database {db} against the SQLite snapshot "
                       "(stage 04)",
                 "ko": "SQLite 스냅샷 대비 마이그레이션된 데이터베이스 {db} 검증 (04단계)"},
    "val_restore": {"en": "Validation of the backup restored into {db} against the SQLite "
                          "snapshot (stage 08)",
                    "ko": "SQLite 스냅샷 대비 {db}에 복원한 백업 검증 (08단계)"},
    "val_line_ok": {"en": "{same} of {n} tables identical ({mode} validation).",
                    "ko": "테이블 {n}개 중 {same}개 동일 ({mode} 검증)."},
    "val_line_bad": {"en": "Only {same} of {n} tables identical ({mode} validation).",
                     "ko": "테이블 {n}개 중 {same}개만 동일 ({mode} 검증)."},
    "per_table": {"en": "per-table verdicts (also in the table above)",
                  "ko": "테이블별 판정 (위 표에도 있음)"},
    "per_table_restore": {"en": "per-table verdicts of the restore", "ko": "복원본의 테이블별 판정"},
    "password_reset": {"en": "Stage 02 changed the password of an existing role "
                             "(reset_password: true)",
                       "ko": "02단계가 기존 역할의 비밀번호를 바꿨습니다 (reset_password: true)"},
    "diagnosis": {"en": "Diagnosis", "ko": "진단"},
    "causes": {"en": "Likely causes", "ko": "예상 원인"},
    "fix": {"en": "Fix", "ko": "해결 방법"},
    "benchmark": {"en": "Benchmark: SQLite vs PostgreSQL on {table} and {parent}",
                  "ko": "벤치마크: {table}와 {parent}에서 SQLite 대 PostgreSQL"},
    "chart_alt": {"en": "benchmark chart", "ko": "벤치마크 그래프"},
    "parameters": {"en": "parameters of this run", "ko": "이번 실행의 매개변수"},
    "h_name": {"en": "name", "ko": "이름"},
    "h_value": {"en": "value", "ko": "값"},
}

__all__ = ["TEXT", "STAGE_NAMES", "DB_CHANGES"]
