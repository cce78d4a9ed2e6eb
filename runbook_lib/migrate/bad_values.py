"""Bad values: what each one is, what `on_bad_value` does with it, and fixes that work.

A bad value is one PostgreSQL cannot hold in the planned column: of the wrong kind where no
wider type was chosen, an impossible date, NUL or invalid UTF-8 in text, NULL in a key or a
NOT NULL column, a reference to a row that does not exist. `on_bad_value` applies to every
kind: `fail` stops before any COPY, `null` loads NULL instead (not possible in a key or a NOT
NULL column: those rows are quarantined, and the listing says so), `quarantine` sets the rows
aside. The error of `fail` names the rows by primary key (or rowid) and prints the fixes as
YAML lines to paste into the profile, written by a YAML dumper so that they read back as
written (`on_bad_value: 'null'`, never a bare null); each one makes the run complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from ..core.errors import MigrationError
from ..core.i18n import Text, t

__all__ = ["BadValues", "ACTIONS", "yaml_line", "fixes", "error"]

ACTIONS: dict[str, Text] = {
    "stop": {"en": "stops the run (nothing copied)", "ko": "실행을 멈춤 (아무것도 복사하지 않음)"},
    "null": {"en": "loaded as NULL", "ko": "NULL로 적재"},
    "quarantine": {"en": "row quarantined", "ko": "행을 격리"},
    "quarantine_key": {"en": "row quarantined: a primary key cannot be NULL, so on_bad_value: "
                             "null does not apply",
                       "ko": "행을 격리: 기본 키는 NULL일 수 없어 on_bad_value: null을 적용할 수 "
                             "없음"},
    "quarantine_notnull": {"en": "row quarantined: the column is NOT NULL, so on_bad_value: "
                                 "null does not apply",
                           "ko": "행을 격리: NOT NULL 열이라 on_bad_value: null을 적용할 수 없음"},
}
TEXT: dict[str, Text] = {
    "head": {"en": "{n} value(s) do not fit the planned PostgreSQL types: {lines}.",
             "ko": "값 {n}개가 계획한 PostgreSQL 타입에 맞지 않습니다: {lines}."},
    "line": {"en": "{table}.{column} ({type}): {count} row(s) {problem}, e.g. key→value "
                   "{examples}",
             "ko": "{table}.{column} ({type}): {count}개 행, {problem}, 예 키→값 {examples}"},
    "dangling": {"en": "a dangling reference (no such {parent} row)",
                 "ko": "끊어진 참조 (그런 {parent} 행이 없음)"},
    "intro": {"en": "Fix those rows in the source, or add one of these lines to the profile "
                    "(each makes the run complete):",
              "ko": "원본에서 그 행들을 고치거나, 다음 중 한 줄을 프로필에 넣으세요 (어느 것이든 실행이 "
                    "끝까지 갑니다):"},
    "quarantine": {"en": "sets the {rows} row(s) aside in runs/<run_id>/quarantine/",
                   "ko": "행 {rows}개를 runs/<run_id>/quarantine/에 따로 보관"},
    "null": {"en": "loads NULL in place of the bad values ({keys} row(s) that cannot take NULL "
                   "are quarantined)",
             "ko": "잘못된 값 대신 NULL을 적재 (NULL을 담을 수 없는 {keys}개 행은 격리)"},
    "null_all": {"en": "loads NULL in place of the bad values",
                 "ko": "잘못된 값 대신 NULL을 적재"},
    "types": {"en": "gives each listed column a type that holds every value (nothing lost)",
              "ko": "나열된 열마다 모든 값을 담는 타입을 지정 (잃는 것 없음)"},
    "data": {"en": "lets the data choose those columns' types (nothing lost)",
             "ko": "그 열들의 타입을 데이터가 고르게 함 (잃는 것 없음)"},
}


@dataclass
class BadValues:
    """The bad values of one column (or one foreign key) of a table."""

    table: str
    column: str
    target_type: str
    problem: Text
    count: int
    examples: list = field(default_factory=list)
    kind: str = "column"  # "column" (the value), "utf8" (text that is not UTF-8), "null" (in
    # a NOT NULL column or a key), "fk" (a dangling reference)
    source_table: str = ""
    fits: str = ""  # a type that holds every value of the column (its ladder), if any
    data_fits: bool = False  # types: data would choose such a type by itself
    nullable: bool = True  # NULL may replace it (on_bad_value: null)
    key: bool = False  # the column is (part of) the primary key
    action: str = "stop"  # key of ACTIONS

    def what(self, language: str | None = None) -> str:
        return t(self.problem, language)


def yaml_line(name: str, value) -> str:
    """`name: value` as YAML that reads back as exactly `value` (quoted where needed)."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1 << 20,
                          sort_keys=False)
    return f"{name}: {text.removesuffix('...' + chr(10)).strip()}"


def fixes(bad: list[BadValues], overrides: dict, types: str,
          language: str | None = None) -> list[tuple[str, str]]:
    """(YAML line, what it does) for every fix that makes a run with these values complete."""
    rows = sum(b.count for b in bad)
    out = [(yaml_line("on_bad_value", "quarantine"), t(TEXT["quarantine"], language, rows=rows))]
    stuck = sum(b.count for b in bad if not b.nullable)
    if stuck < rows:
        what = (t(TEXT["null"], language, keys=stuck) if stuck
                else t(TEXT["null_all"], language))
        out.append((yaml_line("on_bad_value", "null"), what))
    if all(b.kind in ("column", "utf8") and b.fits for b in bad):
        wanted = {f"{b.source_table or b.table}.{b.column}": b.fits for b in bad}
        out.append((yaml_line("type_overrides", {**overrides, **wanted}),
                    t(TEXT["types"], language)))
        if types == "declared" and all(b.kind == "column" and b.data_fits for b in bad):
            out.append((yaml_line("types", "data"), t(TEXT["data"], language)))
    return out


def hint(bad: list[BadValues], overrides: dict, types: str, language: str | None = None) -> str:
    lines = [f"    {line}    # {what}" for line, what in fixes(bad, overrides, types, language)]
    return t(TEXT["intro"], language) + "\n" + "\n".join(lines)


def _line(b: BadValues, language: str | None) -> str:
    return t(TEXT["line"], language, table=b.table, column=b.column, type=b.target_type,
             count=b.count, problem=b.what(language), examples=b.examples[:3])


def error(bad: list[BadValues], note: str = "", overrides: dict | None = None,
          types: str = "data", language: str | None = None) -> MigrationError:
    """The error of on_bad_value: fail: the offending rows by primary key, and the fixes."""
    lines = "; ".join(_line(b, language) for b in bad[:10])
    head = t(TEXT["head"], language, n=sum(b.count for b in bad), lines=lines)
    return MigrationError(head + (f" {note}" if note else ""),
                          hint(bad, overrides or {}, types, language))
