"""Errors and command-line output in the run's language (issue 18, "the CLI's messages and
errors").

A sweep of the source (`english_sites`) fails on any raise site or printed message of a
converted package written as English text: a `RunbookError` (or subclass) built from a string
literal with words, an f-string or a concatenation, instead of `{"en", "ko"}` Texts with
`{placeholders}` filled from keyword values; a builtin exception with an English message that
a user could meet; a `print` or `warnings.warn` of English text. Then the CLI, run as a user
runs it, answers in Korean when asked (`--lang ko`, the profile, `RUNBOOK_LANGUAGE`, the
locale), and the values inside a Korean message are still scrubbed of secrets.
"""

from __future__ import annotations

import ast
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from test_i18n import HANGUL, modules  # tests/unit is on sys.path (rootdir, no package)

import runbook_lib
from runbook_lib.core import i18n
from runbook_lib.core.errors import ConfigError, RunbookError

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = Path(runbook_lib.__file__).parent
CONVERTED = ("core", "prepare", "troubleshoot", "cutover", "bench", "operate", "app", "migrate",
             "validate")
NOT_YET: dict[str, str] = {}  # a package not converted yet, and why
# English that no user reads: programming errors and a developers' tool.
ALLOWED = {
    ("core/results.py", "ValueError"): "a Check built with a status that does not exist",
    ("core/secrets.py", "TypeError"): "pickling a Secret: a programming error",
    ("app/notebook_tools.py", "print"): "`notebook_tools sync`: for developers of the runbook",
    ("migrate/schema.py", "AssertionError"): "TYPE_RULES without its catch-all last rule",
    ("migrate/utf8_scan.py", "TypeError"): "the driver read another type: count_invalid "
                                            "counts in SQL instead; no one reads it",
    ("validate/json_canonical.py", "ValueError"): "not JSON: values._json catches it and "
                                                  "compares the value as it is; no one reads it",
    ("validate/codes.py", "ValueError"): "fixed-width codes of another width: a programming "
                                         "error",
    ("validate/row_hash.py", "ValueError"): "row hashes of two seeds compared: a programming "
                                            "error (the sync hashes with the recorded seed)",
}
BUILTIN = {"Exception", "ValueError", "TypeError", "RuntimeError", "KeyError", "OSError",
           "LookupError", "AssertionError", "NotImplementedError", "SystemExit"}
WORDS = re.compile(r"[A-Za-z]{2,}")


def error_names() -> set[str]:
    """Every RunbookError subclass of the library, by class name."""
    modules()  # import them all, so every subclass is defined
    found, todo = set(), [RunbookError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return found


def english(node: ast.AST) -> bool:
    """Text written in English in the source (not a Text looked up, not a format of only
    placeholders and punctuation)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(WORDS.search(re.sub(r"\{[^{}]*\}", "", node.value)))
    if isinstance(node, ast.JoinedStr):
        return any(english(part) for part in node.values if isinstance(part, ast.Constant))
    if isinstance(node, ast.BinOp):
        return english(node.left) or english(node.right)
    if isinstance(node, ast.IfExp):
        return english(node.body) or english(node.orelse)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in ("format", "join") and english(node.func.value)
    return False


def _called(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(
        func, ast.Attribute) else ""


def english_sites(source: str, where: str, errors: set[str]) -> list[str]:
    """`where:line: name` of each English-only error, exception or printed message."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _called(node)
        if name in errors:
            texts = node.args[:2] + [k.value for k in node.keywords if k.arg in ("message", "hint")]
        elif name in BUILTIN or name in ("print", "warn"):
            texts = node.args[:1]
        else:
            continue
        if any(english(text) for text in texts) and (where, name) not in ALLOWED:
            found.append(f"{where}:{node.lineno}: {name}")
    return found


def test_every_package_is_converted_or_listed_as_not_yet():
    packages = {p.name for p in LIBRARY.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(CONVERTED) | set(NOT_YET), "list a new package in CONVERTED"
    assert not set(CONVERTED) & set(NOT_YET)


def test_the_sweep_finds_english_and_passes_texts():
    errors = error_names()
    assert {"ConfigError", "BackupError", "RunFolderBusy", "ModelsError"} <= errors
    bad = '''
raise ConfigError(f"--limit {n} is negative.", "Give --limit 20.")
raise BenchError("{table} is empty", ERRORS["fix"], table=t)
raise ConfigError(ERRORS["x"], "Set " + name + " first.")
raise ConfigError(ERRORS["x"], hint="Set it.")
raise ValueError("the project's process gave no answer")
print(f"no runs recorded yet ({path})")
warnings.warn("No font with Hangul found")
raise ConfigError(ERRORS["a"] if a else "plain words", ERRORS["b"])
'''
    good = '''
raise ConfigError(ERRORS["negative"], ERRORS["negative_fix"], limit=n)
raise ConfigError("{file}: {message}", hint, file=str(f), message=message)
raise ProvisionError(message, fix, **values)
raise CutoverError(_c(settings, "not_loading", python=p), as_is(hint))
print(t(SAY["empty"], file=path))
print(f"  [{status:>6}] {stem:<22} {seconds:7.1f}s")
raise ValueError(detail)
'''
    assert len(english_sites(bad, "x.py", errors)) == 8
    assert english_sites(good, "x.py", errors) == []


@pytest.mark.parametrize("package", CONVERTED)
def test_no_english_only_error_or_message_in(package):
    errors = error_names()
    found = []
    for path in sorted((LIBRARY / package).rglob("*.py")):
        where = path.relative_to(LIBRARY).as_posix()
        found += english_sites(path.read_text(encoding="utf-8"), where, errors)
    assert not found, "English-only text (use {'en', 'ko'} Texts, see docs/DEVELOPING.md): " \
                      + "; ".join(found)


def test_an_error_renders_when_read_in_the_run_language_with_values_scrubbed():
    from runbook_lib.core.secrets import register

    register("s3cr3t-Passw0rd")
    exc = ConfigError({"en": "Cannot reach {dsn}.", "ko": "{dsn}에 연결할 수 없습니다."},
                      {"en": "Set {env}.", "ko": "{env}을(를) 설정하세요."},
                      dsn="postgresql://app:s3cr3t-Passw0rd@db/x", env="DB_PASSWORD")
    i18n.use("ko")
    assert str(exc).startswith("postgresql://") and "연결할 수 없습니다" in str(exc)
    assert "\n해결 방법: DB_PASSWORD을(를) 설정하세요." in str(exc)
    assert "s3cr3t" not in str(exc) and "s3cr3t" not in exc.message_in("en")
    assert exc.hint_in("en") == "Set DB_PASSWORD."


# -- the command line, run as a user runs it ---------------------------------------------------
def runbook(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("LC_ALL", "LC_MESSAGES", "LANG", i18n.ENVIRONMENT)}
    return subprocess.run([sys.executable, "-m", "runbook_lib.app.cli", *args], cwd=ROOT,
                          env={**clean, "RUNBOOK_HOME": str(ROOT), **env},
                          capture_output=True, text=True, timeout=120)


def korean_error(stderr: str) -> None:
    """One Korean message and one Korean fix, nothing English around them."""
    message, _, fix = stderr.strip().partition("\n해결 방법: ")
    assert message.startswith("오류: ") and HANGUL.search(message[4:]), stderr
    assert fix and HANGUL.search(fix), stderr
    assert "Fix:" not in stderr and "error:" not in stderr and "Traceback" not in stderr


FAILING = [("history", "--limit", "-1"),
           ("run", "--resume", "no-such-run-folder"),
           ("run", "--params", "parameters/does-not-exist.yaml"),
           ("run", "--params", "parameters/training.yaml", "--only", "99"),
           ("run", "-p", "language=ko", "--params", "parameters/training.yaml", "-p", "oops"),
           ("server", "status", "--port", "70000"),
           ("training", "start", "--trainee", "Bad Name")]


@pytest.mark.parametrize("args", FAILING, ids=[" ".join(a[:2]) for a in FAILING])
def test_a_korean_locale_gets_korean_errors(args):
    done = runbook(*args, LANG="ko_KR.UTF-8")
    assert done.returncode == 2, done.stderr
    korean_error(done.stderr)


def test_lang_option_and_environment_choose_the_language(tmp_path):
    for way in (dict(args=("--lang", "ko"), env={}),
                dict(args=(), env={i18n.ENVIRONMENT: "ko", "LANG": "en_US.UTF-8"})):
        done = runbook(*way["args"], "history", "--limit", "-1", **way["env"])
        korean_error(done.stderr)
    after = runbook("history", "--limit", "-1", "--lang", "ko", LANG="C.UTF-8")
    korean_error(after.stderr)  # --lang after the subcommand too
    english = runbook("history", "--limit", "-1", LANG="ko_KR.UTF-8", LC_ALL="C")
    assert english.stderr.startswith("error: --limit -1 is negative.\nFix: ")


def test_a_profile_that_names_english_wins_over_the_locale(tmp_path):
    profile = tmp_path / "en.yaml"
    profile.write_text("language: en\n")
    done = runbook("run", "--params", str(profile), "--only", "99", LANG="ko_KR.UTF-8")
    assert done.stderr.startswith("error: --only names unknown stage(s) 99.\nFix: Known ")


def test_a_korean_error_keeps_secrets_out(tmp_path):
    secret = "Sekr1t-pw-in-a-path"  # the app's password, pasted into sqlite_path by mistake
    (tmp_path / "bad.yaml").write_text(f"language: ko\nsqlite_path: /srv/{secret}/db.sqlite3\n")
    done = runbook("run", "--params", str(tmp_path / "bad.yaml"), "--only", "03",
                   DB_PASSWORD=secret)
    assert done.returncode == 2
    korean_error(done.stderr)
    assert "/srv/" in done.stderr and secret not in done.stderr + done.stdout


def test_history_headers_and_outcomes_in_korean():
    from runbook_lib.app import history

    row = {c: "x" for c in history.COLUMNS} | {"outcome": "failed", "run_id": "r1"}
    lines = history.table([row], "ko").splitlines()
    assert lines[0].split()[:2] == ["시작", "실행"] and "실패" in lines[2]
    assert history._width(lines[0]) == history._width(lines[1])  # columns line up


def test_help_and_argparse_errors_in_korean():
    done = runbook("--help", LANG="ko_KR.UTF-8")
    assert done.returncode == 0 and done.stdout.startswith("사용법: runbook")
    assert "단계 노트북을 화면 없이 실행" in done.stdout and "show this help" not in done.stdout
    sub = runbook("run", "--help", "--lang", "ko")
    assert "매개변수 프로필" in sub.stdout and "옵션:" in sub.stdout
    missing = runbook("training", "start", LANG="ko_KR.UTF-8")
    assert missing.returncode == 2
    assert "runbook training: 오류: 다음 인수가 필요합니다: --trainee" in missing.stderr
    english = runbook("training", "start", LANG="C.UTF-8")
    assert "error: the following arguments are required: --trainee" in english.stderr


# -- stage 03 and 04 errors, read in Korean ----------------------------------------------------
def english_words(text: str) -> list[str]:
    """English words of a Korean message once names, quoted values and SQL are left out."""
    prose = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`|\{[^}]*\}|\([^)]*\)", " ", text)
    return [w for w in re.findall(r"\b[a-z]{4,}\b", prose)
            if w not in ("name_map", "sqlite", "postgresql", "table")]


def test_a_migrate_error_reads_in_korean_and_its_fix_still_works(fresh_db):
    """Two tables given one name by name_map: message and fix in Korean, and the name_map the
    Korean fix gives, pasted into the settings, lets the run pass."""
    from test_names import _hint_map, colliding

    from runbook_lib import migrate
    from runbook_lib.core.errors import MigrationError

    colliding(fresh_db.sqlite_file)
    fresh_db.name_map = {"a": "a_b"}
    fresh_db.language = "ko"
    i18n.use("ko")  # what load_settings does for language: ko
    with pytest.raises(MigrationError) as err:
        migrate.run(fresh_db, progress=False)
    message, hint = err.value.message, err.value.hint
    assert "테이블 'a_b'와(과) 테이블 'a'이(가) PostgreSQL에서 둘 다 'a_b'(이)라는 이름이 " \
           "됩니다" in message, message
    assert not english_words(message) and HANGUL.search(hint), (message, hint)
    assert err.value.message_in("en").startswith("Table 'a_b' and table 'a' would both be named")
    fresh_db.name_map = {**fresh_db.name_map, **_hint_map(hint)}
    assert migrate.run(fresh_db, progress=False).completed


def test_untranslated_sql_and_source_errors_say_why_in_korean(tmp_path, make_settings):
    """The plan's manual follow-ups (SQL text not regenerated) and a source that is not
    SQLite, with language: ko."""
    from runbook_lib.core.errors import SourceError
    from runbook_lib.migrate import schema, source

    path = tmp_path / "views.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT, n INTEGER);"
                           "CREATE VIEW v AS SELECT my_func(x) AS y FROM t;"
                           "CREATE INDEX t_x ON t (lower(x) COLLATE NOCASE);"
                           "CREATE INDEX t_n ON t (CAST(n AS INTERVAL));"
                           "CREATE TABLE u (id INTEGER PRIMARY KEY, a TEXT DEFAULT (my_default()));")
    conn.close()
    settings = make_settings(sqlite_path=str(path), language="ko")
    todo = {f["name"]: f["todo"] for f in schema.plan(source.introspect(path), settings).followups}
    assert todo["v"].startswith("변환하지 않았습니다 (함수 my_func()에 대해 검증된 PostgreSQL "
                                "변환이 없음)"), todo
    assert "인덱스 안의 COLLATE" in todo["t_x"] and "CAST는 변환하지 않음" in todo["t_n"], todo
    assert "함수 my_default()에 대해" in todo["a"], todo
    for text in todo.values():
        assert not english_words(text), text

    fake = tmp_path / "notes.txt"
    fake.write_text("not a database at all\n")
    with pytest.raises(SourceError) as err:
        source.snapshot(fake, tmp_path / "run")
    assert str(err.value) == (f"{fake}은(는) SQLite 3 데이터베이스가 아닙니다(또는 암호화되어 "
                              "있습니다).\n해결 방법: sqlite_path가 실제 db.sqlite3를 가리키게 "
                              "하세요. 암호화된(SQLCipher) 파일은 먼저 `sqlcipher`"
                              "(`sqlcipher_export`)로 복호화해야 합니다.")
    assert err.value.message_in("en") == f"{fake} is not a SQLite 3 database (or it is encrypted)."


def test_a_failed_validation_reads_in_korean(fresh_db, tmp_path, monkeypatch):
    """Stage 04 in batch, language: ko, a row deleted on the target: ValidationFailed in
    Korean, with the differing rows and no password; a wrong validate_mode too."""
    from test_validate import alter, build_source, copy_faithfully, record_migration

    from runbook_lib import validate
    from runbook_lib.core.errors import ValidationFailed

    path = tmp_path / "snapshot.sqlite3"
    build_source(path)
    copy_faithfully(fresh_db, path)
    record_migration(fresh_db, path)
    alter(fresh_db, "DELETE FROM items WHERE id = 1")
    fresh_db.language = "ko"
    i18n.use("ko")
    with pytest.raises(ConfigError) as wrong:
        validate.run(fresh_db, mode="everything")
    assert str(wrong.value) == ("validate_mode 'everything'은(는) ('full', 'sample', 'counts') "
                                "중 하나가 아닙니다.\n해결 방법: validate_mode를 full, sample, "
                                "counts 중 하나로 설정하세요.")
    monkeypatch.setenv("RUNBOOK_BATCH", "1")
    with pytest.raises(ValidationFailed) as caught:
        validate.run(fresh_db)
    text = str(caught.value)
    assert text.startswith("검증에서 차이를 찾았습니다: items"), text
    assert "\nitems의 처음 몇 개 다른 행 (원본 대 대상):\n" in text, text
    assert "\n해결 방법: 04_validate의 샘플 표" in text
    assert fresh_db.password.reveal() not in text
    assert caught.value.message_in("en").startswith("Validation found differences: items")
