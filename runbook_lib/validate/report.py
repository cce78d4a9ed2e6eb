"""The validation report: a verdict per table, the checks, differing rows side by side."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import files, manifest
from ..core.i18n import t
from ..core.results import CheckTable

VERDICTS = ("ok", "mismatch", "missing", "derived")
GOOD = ("ok", "derived")  # derived: data PostgreSQL rebuilds itself (a search index)
TEXT = {
    "ok": {"en": "{rows} rows identical", "ko": "{rows}개 행 일치"},
    "counted": {"en": "{rows} rows on both sides (counts only)",
                "ko": "양쪽 모두 {rows}개 행 (개수만 비교)"},
    "sampled": {"en": "{compared} sampled rows identical", "ko": "표본 {compared}개 행 일치"},
    "missing_table": {"en": "table missing on the target", "ko": "대상 데이터베이스에 테이블이 없습니다"},
    "counts": {"en": "{source} rows in the source, {target} on the target",
               "ko": "원본 {source}개 행, 대상 {target}개 행"},
    "rows": {"en": "{missing} missing, {extra} extra, {changed} changed row(s)",
             "ko": "누락 {missing}개, 추가 {extra}개, 변경 {changed}개 행"},
    "columns": {"en": "changed columns: {columns}", "ko": "변경된 열: {columns}"},
    "quarantined": {"en": "{n} quarantined row(s) accounted as expected differences ({where})",
                    "ko": "격리된 {n}개 행은 예상된 차이로 처리됨 ({where})"},
    "headline_ok": {"en": "Validation ({mode}): ok, {same} of {n} tables identical ({seconds} s).",
                    "ko": "검증 ({mode}): 정상, 테이블 {n}개 중 {same}개 일치 ({seconds}초)."},
    "headline_bad": {"en": "Validation ({mode}): FAILED, {same} of {n} tables identical "
                           "({seconds} s): see the verdicts per table below.",
                     "ko": "검증 ({mode}): 실패, 테이블 {n}개 중 {same}개만 일치 ({seconds}초): "
                           "아래 테이블별 판정을 보세요."},
    "nulled": {"en": "{n} row(s) with values set to NULL by on_bad_value: null (expected)",
               "ko": "on_bad_value: null 에 따라 값이 NULL 로 바뀐 {n}개 행 (예상된 차이)"},
    "derived_sqlite": {"en": "derived data ({what}): not copied, {source} SQLite row(s); on "
                             "PostgreSQL: {rebuild}",
                       "ko": "파생 데이터 ({what}): 복사하지 않음, SQLite {source}개 행; "
                             "PostgreSQL에서는: {rebuild}"},
    "derived": {"en": "derived data (a search index SQLite and PostgreSQL build differently): "
                      "not copied, {source} SQLite row(s); rebuild it on PostgreSQL: {command}",
                "ko": "파생 데이터 (SQLite와 PostgreSQL이 서로 다르게 만드는 검색 인덱스): 복사하지 "
                      "않음, SQLite {source}개 행; PostgreSQL에서 다시 만드세요: {command}"},
}


def plain(value: Any) -> Any:
    """A sample value as JSON shows it: bytes as \\x hex, dates ISO, anything else as text."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()  # numpy scalars from DataFrames
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value else None
    if isinstance(value, (bytes, memoryview)):
        return "\\x" + bytes(value).hex()
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@dataclass
class TableVerdict:
    """Verdict of one table: ok / mismatch / missing, the counts and what differs."""

    table: str
    source_table: str
    verdict: str = "ok"
    source_rows: int | None = None
    target_rows: int | None = None
    compared: int = 0
    missing: int = 0
    extra: int = 0
    changed: int = 0
    quarantined: int = 0
    nulled: int = 0
    content_ok: bool = True
    changed_columns: dict[str, int] = field(default_factory=dict)
    problems: list[tuple[str, dict]] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)  # messages that are not problems
    samples: Any = None  # DataFrame of differing rows, source vs target, key first
    method: dict = field(default_factory=dict)  # digests or row by row (and why)

    def detail(self, language: str = "en") -> str:
        """One line saying what was found, in the user's language."""
        if self.verdict == "missing":
            return t(TEXT["missing_table"], language)
        parts = [t(m, language) for m in self.notes]
        if self.missing or self.extra or self.changed:
            parts.append(t(TEXT["rows"], language, missing=self.missing, extra=self.extra,
                           changed=self.changed))
        if self.changed_columns:
            cols = ", ".join(f"{c} ({n})" for c, n in self.changed_columns.items())
            parts.append(t(TEXT["columns"], language, columns=cols))
        parts += [t(text, language) for _id, text in self.problems]
        return "; ".join(parts)

    def as_dict(self, language: str = "en") -> dict:
        return {"table": self.table, "source_table": self.source_table, "verdict": self.verdict,
                "source_rows": self.source_rows, "target_rows": self.target_rows,
                "detail": self.detail(language), "compared_rows": self.compared,
                "missing": self.missing, "extra": self.extra, "changed": self.changed,
                "quarantined": self.quarantined, "changed_columns": self.changed_columns,
                "compared_by": {k: v for k, v in self.method.items() if k != "reason_i18n"},
                "problems": [{"id": i, **text} for i, text in self.problems],
                "detail_i18n": {lang: self.detail(lang) for lang in ("en", "ko")},
                "samples": [] if self.samples is None else
                [{k: plain(x) for k, x in r.items()} for r in self.samples.to_dict("records")]}


@dataclass
class ValidationReport:
    """Everything validation found; `.ok`, `.frame()`, `.samples(table)`, `.checks`."""

    mode: str
    tables: list[TableVerdict]
    checks: CheckTable
    guide: Any = None  # DataFrame: the guide's step-4 checks (Product/QualityMeasurement)
    seconds: float = 0.0
    language: str = "en"
    database: str = ""
    migration: dict = field(default_factory=dict)  # the record validated against (core.state)

    @property
    def ok(self) -> bool:
        return all(v.verdict in GOOD for v in self.tables) and \
            all(c.status != "fail" for c in self.checks)

    @property
    def failed(self) -> list[TableVerdict]:
        return [v for v in self.tables if v.verdict not in GOOD]

    def frame(self):
        """One row per table: verdict, counts and what differs."""
        import pandas as pd

        cols = ["table", "verdict", "source_rows", "target_rows", "missing", "extra",
                "changed", "quarantined", "detail"]
        return pd.DataFrame([{k: v.as_dict(self.language)[k] for k in cols}
                             for v in self.tables], columns=cols)

    @property
    def diffs(self) -> dict:
        """table → DataFrame of differing rows (source vs target side by side, key first)."""
        return {v.table: v.samples for v in self.tables if v.samples is not None}

    def samples(self, table: str):
        return self.diffs.get(table)

    def differences(self):
        """Every table's differing rows in one DataFrame (`table` first); empty when none."""
        import pandas as pd

        frames = [f.assign(table=name)[["table", *f.columns]] for name, f in self.diffs.items()]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
            columns=["table", "difference"])

    def as_dict(self) -> dict:
        return {"ok": self.ok, "mode": self.mode, "database": self.database,
                "migration": self.migration, "seconds": round(self.seconds, 3),
                "tables": [v.as_dict(self.language) for v in self.tables],
                "checks": [c.as_dict() for c in self.checks],
                "guide": [] if self.guide is None else
                [{k: plain(x) for k, x in r.items()} for r in self.guide.to_dict("records")]}

    def summary(self) -> str:
        bad = "; ".join(f"{v.table}: {v.verdict} ({v.detail(self.language)})"
                        for v in self.failed)
        failed = "; ".join(f"{c.id} {c.message}" for c in self.checks if c.status == "fail")
        return bad or failed or "all tables identical"

    def headline(self) -> str:
        """One sentence: how many tables are identical, in which mode, how long it took."""
        same = sum(v.verdict == "ok" for v in self.tables)
        key = "headline_ok" if self.ok else "headline_bad"
        return t(TEXT[key], self.language, mode=self.mode, same=same, n=len(self.tables),
                 seconds=f"{self.seconds:.1f}")

    def _repr_html_(self) -> str:
        """The verdict, the migration it was checked against, and the checks; the per-table
        verdicts are `frame()` (shown once, in the notebook's next cell)."""
        colour = "#1a7f37" if self.ok else "#cf222e"
        head = f"<p style='color:{colour}'><b>{html.escape(self.headline())}</b></p>"
        which = next((c.message for c in self.checks if c.id == "VA014"), "")
        head += f"<p><small>{html.escape(which)}</small></p>" if which else ""
        return head + self.checks._repr_html_()

    def __repr__(self) -> str:
        return f"ValidationReport(mode={self.mode!r}, ok={self.ok}, {self.summary()})"


def write(report: ValidationReport, run_dir: str | Path, name: str = "") -> Path:
    """`validation.json` and the manifest section report.html reads."""
    data = report.as_dict()
    suffix = f"-{files.safe_name(name)}" if name else ""
    target = files.inside(files.private_dir(run_dir, tighten=False), f"validation{suffix}.json")
    files.write_private(target, json.dumps(data, indent=2, default=str, ensure_ascii=False))
    section = {"ok": report.ok, "mode": report.mode, "database": report.database,
               "file": target.name, "seconds": data["seconds"],
               "migration": report.migration.get("run_id", ""),
               "checks": [{k: c[k] for k in ("id", "name", "status", "message")}
                          for c in data["checks"]],
               "tables": [{k: v[k] for k in ("table", "verdict", "source_rows", "target_rows",
                                             "detail")} for v in data["tables"]]}
    manifest.update(run_dir, f"validation{'_' + name if name else ''}", section)
    return target


__all__ = ["TableVerdict", "ValidationReport", "write", "VERDICTS", "TEXT"]
