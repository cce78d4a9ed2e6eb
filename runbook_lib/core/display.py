"""How results look in a notebook: whole tables, text left-aligned, in the reader's language.

`install(language)` (called by `load_settings` inside a Jupyter kernel) registers HTML
formatters so every DataFrame a cell shows renders through `frame_html`: no index numbers,
integers as integers and empty cells empty (not `32.0`, `NaN`), text left-aligned and never
cut with "…", headers and status words in `language` (from `HEADERS` and `WORDS`), every value
escaped, and `$` kept away from MathJax; `frame.attrs["caption"]` is shown above the table. Paths and single `Check`s get a readable form too.
`settings_html` is the one-glance summary of a run's parameters shown under every settings
cell (all of them behind a fold).
"""

from __future__ import annotations

import math
from pathlib import PurePath
from typing import Any

from .escape import fence, html
from .i18n import t, use

# English column name → its header. A DataFrame shown in a Korean notebook with a column
# missing here keeps the English header, and tests/e2e/test_korean.py fails naming it.
HEADERS: dict[str, dict[str, str]] = {name: {"en": name, "ko": ko} for name, ko in {
    "table": "테이블", "column": "열", "rows": "행 수", "type": "타입", "rule": "규칙",
    "status": "상태", "check": "점검", "result": "결과", "fix": "해결 방법", "id": "ID",
    "message": "메시지", "hint": "해결 방법", "name": "이름", "detail": "상세",
    "verdict": "판정", "source rows": "원본 행 수", "target rows": "대상 행 수",
    "loaded": "적재", "loaded rows": "적재된 행 수", "quarantined": "격리",
    "quarantined rows": "격리된 행 수", "missing": "누락", "extra": "추가", "changed": "변경",
    "source_rows": "원본 행 수", "target_rows": "대상 행 수", "source": "원본",
    "target": "대상", "primary key": "기본 키", "without rowid": "WITHOUT ROWID 여부",
    "autoincrement": "AUTOINCREMENT", "sqlite_sequence": "sqlite_sequence",
    "foreign keys": "외래 키", "indexes": "인덱스", "sqlite declared type": "SQLite 선언 타입",
    "postgresql": "PostgreSQL", "note": "설명", "sqlite type": "SQLite 타입",
    "postgresql type": "PostgreSQL 타입", "not null": "NOT NULL 여부", "bytes": "바이트",
    "seconds": "초", "slices": "조각", "rows/s": "행/초", "path": "경로", "why": "이유",
    "value": "값", "values": "값", "rowids": "rowid", "keys": "키", "count": "개수",
    "notebook": "노트북", "what it does": "하는 일", "what it changes": "바꾸는 것",
    "present": "있음", "parameter": "매개변수", "default": "기본값", "allowed": "허용 값",
    "meaning": "의미", "this run": "이번 실행 값", "difference": "차이",
    "restored rows": "복원된 행 수", "os": "운영체제", "client": "클라이언트",
    "server": "서버", "python": "python", "problem": "문제", "title": "제목",
    "most likely cause": "가장 유력한 원인", "drill": "훈련", "breaks": "고장 내는 것",
    "scope": "범위", "scenario": "시나리오", "guide SQLite ms": "가이드 SQLite ms",
    "guide PostgreSQL ms": "가이드 PostgreSQL ms", "guide ratio": "가이드 배율",
    "SQLite ms (median)": "SQLite ms (중앙값)", "SQLite IQR": "SQLite 사분위 범위",
    "PostgreSQL ms (median)": "PostgreSQL ms (중앙값)", "PostgreSQL IQR": "PostgreSQL 사분위 범위",
    "measured ratio": "측정 배율", "runs": "반복 횟수", "what runs": "실행 내용",
    "size": "크기", "schema": "스키마", "index": "인덱스", "scans": "스캔 횟수",
    "setting": "설정", "unit": "단위", "sequence": "시퀀스", "last value": "마지막 값",
    "limit": "한계", "used": "사용률", "database": "데이터베이스", "state": "상태",
    "connections": "연결", "max_connections": "max_connections", "query": "쿼리",
    "calls": "호출 수", "mean ms": "평균 ms", "total ms": "합계 ms", "ratio": "비율",
    "label": "라벨", "sql": "SQL", "file": "파일", "location": "위치", "what": "무엇",
    "where": "위치", "kind": "종류", "object": "객체", "reason": "이유",
    "difference kind": "차이 종류", "key": "키", "step": "단계", "seconds_total": "총 초",
    "target (Django ORM)": "대상 (Django ORM)", "source (SQLite)": "원본 (SQLite)",
    "role": "역할", "variable": "환경 변수", "sqlite_path": "SQLite 파일",
    "sqlite_sha256": "SHA-256", "source_counts": "테이블별 행 수", "install": "설치할 것",
    "max": "최댓값", "next": "다음 값", "side": "어느 쪽", "what happens": "처리", "sqlstate": "SQLSTATE", "doc": "문서",
    "schemaname": "스키마", "tablename": "테이블", "live_rows": "살아 있는 행 수",
    "active": "활성", "idle_in_transaction": "트랜잭션 중 대기", "reserved": "예약",
    "pid": "pid", "running_for": "실행 시간", "total_ms": "합계 ms", "mean_ms": "평균 ms",
    "hits": "적중", "reads": "읽기", "hit_ratio": "적중률", "table_name": "테이블",
    "index_name": "인덱스", "constraint": "제약 조건", "column_type": "열 타입",
    "used_by": "사용하는 열", "limit_value": "한계 값", "last_value": "마지막 값",
    "used_percent": "사용률 (%)", "examples (key, value)": "예 (키, 값)", "columns": "열",
    "source_table": "원본 테이블", "compared_rows": "비교한 행 수", "todo": "할 일",
    "sqlite_sql": "SQLite SQL", "by declaration": "선언대로라면",
    "loaded_rows": "적재된 행 수", "started": "시작", "run_id": "실행 ID", "attempt": "시도",
    "user": "사용자", "host": "호스트", "profile": "프로필", "stages": "단계",
    "report": "보고서", "parameters": "매개변수", "inserted": "추가", "updated": "수정",
    "deleted": "삭제", "compared by": "비교 방법", "staged rows": "읽은 행 수",
}.items()}

# Single words shown as values in status-like columns (never other columns: data stays data).
WORDS: dict[str, dict[str, str]] = {
    "ok": {"en": "ok", "ko": "정상"}, "warn": {"en": "warn", "ko": "경고"},
    "fail": {"en": "fail", "ko": "실패"}, "skip": {"en": "skip", "ko": "건너뜀"},
    "failed": {"en": "failed", "ko": "실패"}, "mismatch": {"en": "mismatch", "ko": "불일치"},
    "missing": {"en": "missing", "ko": "누락"}, "extra": {"en": "extra", "ko": "추가"},
    "changed": {"en": "changed", "ko": "변경"}, "pending": {"en": "pending", "ko": "대기"},
    "running": {"en": "running", "ko": "실행 중"}, "killed": {"en": "killed", "ko": "강제 종료"},
    "interrupted": {"en": "interrupted", "ko": "중단됨"},
    "yes": {"en": "yes", "ko": "예"}, "no": {"en": "no", "ko": "아니요"},
}
STATUS_COLUMNS = {"status", "verdict", "difference"}
# Columns whose values are code (types, SQL, commands, paths, data): shown as code, never
# translated. A frame adds its own in `frame.attrs["code"]`.
CODE_COLUMNS = {"sqlite declared type", "postgresql", "sqlite type", "postgresql type", "type",
                "sql", "query", "command", "path", "file", "default", "allowed", "this run", "fix",
                "index_name", "table_name", "sequence", "used_by", "column_type", "constraint",
                "parameter", "variable", "value", "values", "rowids", "keys", "fix_sql",
                "primary key", "label", "sqlstate", "statement", "rule"}
COLOURS = {"ok": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e", "failed": "#cf222e",
           "mismatch": "#cf222e", "missing": "#cf222e", "skip": "#57606a", "killed": "#cf222e",
           "interrupted": "#9a6700"}
NO_MATH = "runbook-table tex2jax_ignore mathjax_ignore"  # MathJax 2 and 3 skip these
LONG = 25  # rows above which a table scrolls inside its own box instead of being cut


def escape(value: Any) -> str:
    """HTML-escaped text (`core.escape.html`) with `$` as an entity: no MathJax delimiter."""
    return html(value).replace("$", "&#36;")


def header(name: Any, language: str | None = None) -> str:
    key = str(name)
    return t(HEADERS[key], language) if key in HEADERS else key


def word(value: str, language: str | None = None) -> str:
    return t(WORDS[value], language) if value in WORDS else value


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value) or type(value).__name__ in ("NAType", "NaTType")
    except (TypeError, ValueError):
        return False


def _integral(values: list) -> bool:
    present = [v for v in values if not _missing(v)]
    return bool(present) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                 and math.isfinite(v) and float(v).is_integer() for v in present)


def cell_text(value: Any, language: str | None = None, integral: bool = False) -> str:
    """One value as a person reads it."""
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        value = value.item()
    if _missing(value):
        return ""
    if isinstance(value, bool):
        return word("yes" if value else "no", language)
    if isinstance(value, float):
        return str(int(value)) if integral else f"{value:.6g}"
    if isinstance(value, (list, tuple, set)):
        return ", ".join(cell_text(v, language) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {cell_text(v, language)}" for k, v in value.items())
    if isinstance(value, PurePath):
        return str(value)
    return str(value)


def _numeric(values: list) -> bool:
    present = [v for v in values if not _missing(v)]
    return bool(present) and all(
        isinstance(getattr(v, "item", lambda: v)(), (int, float))
        and not isinstance(getattr(v, "item", lambda: v)(), bool) for v in present)


def frame_html(frame, language: str | None = None) -> str:
    """A DataFrame as a whole, left-aligned, translated, escaped HTML table."""
    import pandas as pd

    code = set(frame.attrs.get("code", ())) | CODE_COLUMNS
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name:
        frame = frame.reset_index()
    columns = [str(c) for c in frame.columns]
    body = frame.to_dict("split")["data"]
    numeric = [_numeric([row[i] for row in body]) for i in range(len(columns))]
    integral = [_integral([row[i] for row in body]) for i in range(len(columns))]
    head = "".join(f"<th style='text-align:{'right' if numeric[i] else 'left'}'>"
                   f"{escape(header(c, language))}</th>" for i, c in enumerate(columns))
    rows = []
    for row in body:
        cells = []
        for i, value in enumerate(row):
            text = cell_text(value, language, integral[i])
            style = f"text-align:{'right' if numeric[i] else 'left'};vertical-align:top"
            if columns[i] in STATUS_COLUMNS and text in WORDS:
                style += f";color:{COLOURS.get(text, 'inherit')};font-weight:bold"
                text = word(text, language)
            inner = f"<code>{escape(text)}</code>" if columns[i] in code and text else escape(text)
            cells.append(f"<td style='{style}'>{inner}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    caption = frame.attrs.get("caption")  # a line saying what the table is (already translated)
    above = f"<p><small>{escape(caption)}</small></p>" if caption else ""
    if not body:
        return f"{above}<p><i>{escape(t(NONE, language))}</i></p>"
    box = "max-height:36em;overflow:auto;" if len(body) > LONG else ""
    return (f"{above}<div class='{NO_MATH}' style='{box}'><table class='dataframe'>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


def path_html(path: PurePath) -> str:
    return f"<code>{escape(path)}</code>"


NONE = {"en": "none", "ko": "없음"}


class Notes(list):
    """Sentences shown as a bulleted list; `empty` (a Text) when there are none."""

    def __init__(self, items=(), empty: dict | None = None) -> None:
        super().__init__(items)
        self.empty = empty or NONE

    def _repr_html_(self) -> str:
        if not self:
            return f"<p><i>{escape(t(self.empty))}</i></p>"
        return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in self) + "</ul>"


class Pairs(dict):
    """A mapping shown as a two-column table, keys through `HEADERS`."""

    def _repr_html_(self) -> str:
        left = "style='text-align:left;vertical-align:top'"
        rows = "".join(f"<tr><th {left}>{escape(header(k))}</th>"
                       f"<td {left}><code>{escape(cell_text(v))}</code></td></tr>"
                       for k, v in self.items())
        return f"<div class='{NO_MATH}'><table>{rows}</table></div>"


def code_block(text_or_path: str | PurePath, language: str = ""):
    """A generated file (or text) shown as a fenced code block in the notebook."""
    from pathlib import Path

    from IPython.display import Markdown

    text = Path(text_or_path).read_text() if isinstance(text_or_path, PurePath) else text_or_path
    return Markdown(fence(text, language))  # no run of backticks inside can close it


def sentence(text: str):
    """One line of Markdown (a status sentence) for the notebook."""
    from IPython.display import Markdown

    return Markdown(text)


SETTINGS_TEXT = {
    "source": {"en": "Source", "ko": "원본"},
    "target": {"en": "Target", "ko": "대상"},
    "project": {"en": "Django project {project} (settings {module})",
                "ko": "Django 프로젝트 {project} (settings {module})"},
    "plain": {"en": "a plain SQLite file (no Django project)",
              "ko": "Django 프로젝트 없는 SQLite 파일"},
    "embedded": {"en": "the runbook's embedded server", "ko": "런북의 내장 서버"},
    "server": {"en": "an existing server", "ko": "기존 서버"},
    "how": {"en": "How", "ko": "방식"},
    "run": {"en": "Run folder", "ko": "실행 폴더"},
    "all": {"en": "all {n} parameters", "ko": "매개변수 {n}개 전체"},
    "password": {"en": "passwords", "ko": "비밀번호"},
    "from": {"en": "from {source}", "ko": "{source}에서 읽음"},
    "pgpass": {"en": "from ~/.pgpass (libpq)", "ko": "~/.pgpass에서 읽음 (libpq)"},
}


def _secret(secret, language: str) -> str:
    if secret is None:
        return t(SETTINGS_TEXT["pgpass"], language)
    return "******** " + t(SETTINGS_TEXT["from"], language, source=secret.source or "?")


def settings_html(settings) -> str:
    """Source → target and the choices that matter, then every parameter behind a fold."""
    lang = settings.language
    say = SETTINGS_TEXT
    where = (t(say["project"], lang, project=settings.django_project,
               module=settings.django_settings) if settings.django_project
             else t(say["plain"], lang))
    how = " · ".join(f"<code>{escape(k)}: {escape(getattr(settings, k))}</code>" for k in
                     ("schema", "method", "data", "if_exists", "on_bad_value", "validate_mode",
                      "dry_run", "language"))
    rows = "".join(f"<tr><td style='text-align:left'><code>{escape(k)}</code></td>"
                   f"<td style='text-align:left'><code>{escape(repr(v))}</code></td></tr>"
                   for k, v in settings.parameters().items())
    return (f"<div class='runbook-settings {NO_MATH}'>"
            f"<p><b>{escape(t(say['source'], lang))}</b> <code>{escape(settings.sqlite_path)}"
            f"</code>: {escape(where)}<br>"
            f"<b>{escape(t(say['target'], lang))}</b> <code>{escape(settings.dsn())}</code> "
            f"({escape(t(say[settings.target], lang))}); {escape(t(say['password'], lang))}: "
            f"{escape(_secret(settings.password, lang))}<br>"
            f"<b>{escape(t(say['how'], lang))}</b> {how}<br>"
            f"<b>{escape(t(say['run'], lang))}</b> <code>{escape(settings.run_dir)}</code></p>"
            f"<details><summary>{escape(t(say['all'], lang, n=len(settings.parameters())))}"
            f"</summary><table>{rows}</table></details></div>")


def install(language: str) -> None:
    """Use `language` for displays; inside IPython, register the HTML formatters."""
    use(language)
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["text/html"]
    import pandas as pd

    formatter.for_type(pd.DataFrame, frame_html)
    formatter.for_type(PurePath, path_html)


__all__ = ["HEADERS", "WORDS", "escape", "header", "word", "cell_text", "frame_html",
           "path_html", "settings_html", "install", "SETTINGS_TEXT", "Notes", "Pairs",
           "code_block", "sentence"]
