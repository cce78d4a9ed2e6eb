"""`report.html`: the run's stages, verdicts, diagnosis and chart, readable without Jupyter.

One self-contained page (inline style, the benchmark chart embedded) beside the executed
notebooks and their HTML renderings, which it links. Every string passes `scrub`.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from ..core import files, manifest
from ..core.i18n import t
from ..core.secrets import scrub

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem;color:#1f2328}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #d0d7de;padding:.3rem .6rem;
vertical-align:top}th{background:#f6f8fa;text-align:left}td.num{text-align:right}
.ok,.pass{color:#1a7f37}.failed,.fail,.mismatch,.missing,.error{color:#cf222e}
.warn,.skip,.skipped,.pending{color:#9a6700}.status{font-weight:bold}
.diagnosis{border-left:4px solid #cf222e;padding:.2rem 1rem;background:#fff8f8}
img{max-width:100%;border:1px solid #d0d7de}
"""

HEADINGS = {
    "title": {"en": "Migration runbook: run {run_id}", "ko": "마이그레이션 런북: 실행 {run_id}"},
    "stages": {"en": "Stages", "ko": "단계"},
    "diagnosis": {"en": "Diagnosis", "ko": "진단"},
    "migration": {"en": "Migration", "ko": "마이그레이션"},
    "validation": {"en": "Validation", "ko": "검증"},
    "benchmark": {"en": "Benchmark", "ko": "벤치마크"},
    "causes": {"en": "Likely causes", "ko": "예상 원인"},
    "fix": {"en": "Fix", "ko": "해결 방법"},
    "overall": {"en": "Status {status}: {count} stage(s) in {seconds} s; parameters {params}; "
                      "started {started}",
                "ko": "상태 {status}: {count}개 단계, {seconds}초; 매개변수 {params}; "
                      "시작 {started}"},
    "password_reset": {"en": "Stage 02 changed the password of an existing role "
                             "(reset_password: true)",
                       "ko": "02 단계가 기존 역할의 비밀번호를 바꿨습니다 (reset_password: true)"},
    "validation_ok": {"en": "Every table matches: nothing was lost.",
                      "ko": "모든 테이블이 일치합니다: 손실된 데이터가 없습니다."},
    "validation_bad": {"en": "Differences found: see the tables marked in red.",
                       "ko": "차이가 발견되었습니다: 빨간색으로 표시된 테이블을 확인하세요."},
}


def _e(value: Any) -> str:
    return html.escape(scrub("" if value is None else str(value)))


def _table(table_id: str, headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    return (f"<table id='{table_id}'><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _td(value: Any, css: str = "") -> str:
    cls = f" class='{_e(css)}'" if css else ""
    return f"<td{cls}>{_e(value)}</td>"


def _links(folder: Path, stage: dict) -> str:
    links = []
    if (folder / stage["notebook"]).exists():
        links.append(f"<a href='{_e(stage['notebook'])}'>notebook</a>")
    if stage.get("html"):
        links.append(f"<a href='{_e(stage['html'])}'>html</a>")
    return "<td>" + " · ".join(links) + "</td>"


def _problem(stage: dict) -> str:
    err, diag = stage.get("error") or {}, stage.get("diagnosis") or {}
    text = ""
    if err:
        text = _e(f"cell {err.get('cell')}: {err.get('type', '')}: {err.get('message', '')}")
    if diag and diag.get("problem"):
        text += f"<br><b>{_e(diag.get('title'))}</b> <code>{_e(diag.get('problem'))}</code>"
    details = stage.get("details") or {}
    if details:
        noted = ", ".join(f"{k}={v}" for k, v in details.items() if not isinstance(v, (dict, list)))
        text += ("<br>" if text else "") + f"<small>{_e(noted)}</small>"
    return f"<td>{text}</td>"


def stages_section(folder: Path, summary: dict, lang: str) -> str:
    rows = [[_td(s["stage"]), _td(s["notebook"]), _td(s["status"], f"status {s['status']}"),
             _td(s.get("duration_s", ""), "num"), _links(folder, s), _problem(s)]
            for s in summary.get("stages", [])]
    return (f"<h2>{_e(t(HEADINGS['stages'], lang))}</h2>"
            + _table("stages", ["stage", "notebook", "status", "seconds", "output",
                                "notes / error / diagnosis"], rows))


def diagnosis_section(summary: dict, lang: str) -> str:
    parts = []
    for s in summary.get("stages", []):
        diag = s.get("diagnosis")
        if not diag:
            continue
        if not diag.get("problem"):  # a runbook error with its own fix: just that
            parts.append(f"<div class='diagnosis' id='diagnosis-{_e(s['stage'])}'>"
                         f"<h3>{_e(s['notebook'])}</h3><p><b>{_e(t(HEADINGS['fix'], lang))}:"
                         f"</b> {_e(diag.get('fix'))}</p></div>")
            continue
        causes = "".join(f"<li>{_e(c)}</li>" for c in diag.get("causes", []))
        doc = f"<p><a href='{_e(diag['doc'])}'>{_e(diag['doc'])}</a></p>" if diag.get("doc") else ""
        parts.append(f"<div class='diagnosis' id='diagnosis-{_e(s['stage'])}'>"
                     f"<h3>{_e(s['notebook'])}: {_e(diag.get('title'))} "
                     f"<code>{_e(diag.get('problem'))}</code></h3>"
                     f"<p>{_e(t(HEADINGS['causes'], lang))}:</p><ol>{causes}</ol>"
                     f"<p><b>{_e(t(HEADINGS['fix'], lang))}:</b> {_e(diag.get('fix'))}</p>"
                     f"{doc}</div>")
    if not parts:
        return ""
    return f"<h2>{_e(t(HEADINGS['diagnosis'], lang))}</h2>" + "".join(parts)


def provision_section(data: dict, lang: str) -> str:
    """A reset password is shown at the top, as a warning nobody can miss."""
    provision = data.get("provision") or {}
    if not isinstance(provision, dict) or not provision.get("password_reset"):
        return ""
    return (f"<div class='diagnosis' id='password-reset'><h2 class='warn'>"
            f"{_e(t(HEADINGS['password_reset'], lang))}</h2>"
            f"<p>{_e(provision.get('warning'))}</p></div>")


def migration_section(data: dict, lang: str) -> str:
    tables = (data.get("migration") or {}).get("tables") or []
    if not isinstance(tables, list) or not tables:
        return ""
    rows = [[_td(m.get("table")), _td(m.get("source_rows", ""), "num"),
             _td(m.get("loaded_rows", m.get("loaded", "")), "num"),
             _td(m.get("quarantined_rows", m.get("quarantined", "")), "num")]
            for m in tables if isinstance(m, dict)]
    return (f"<h2>{_e(t(HEADINGS['migration'], lang))}</h2>"
            + _table("migration", ["table", "source rows", "loaded", "quarantined"], rows))


def validation_section(data: dict, lang: str) -> str:
    """Every validation in the manifest (`validation`, and e.g. `validation_restore`)."""
    parts = []
    for key in sorted(k for k in data if k == "validation" or k.startswith("validation_")):
        parts.append(_validation(key, data[key] or {}, lang))
    return "".join(parts)


def _validation(key: str, validation: dict, lang: str) -> str:
    tables = validation.get("tables") or []
    if not tables:
        return ""
    rows = [[_td(v.get("table")), _td(v.get("verdict"), f"status {v.get('verdict')}"),
             _td(v.get("source_rows", ""), "num"), _td(v.get("target_rows", ""), "num"),
             _td(v.get("detail", ""))] for v in tables]
    verdict = ""
    if "ok" in validation:
        name, css = ("validation_ok", "ok") if validation["ok"] else ("validation_bad", "fail")
        verdict = f"<p class='status {css}'>{_e(t(HEADINGS[name], lang))}</p>"
    if validation.get("file"):
        verdict += f"<p><a href='{_e(validation['file'])}'>{_e(validation['file'])}</a></p>"
    suffix = key.removeprefix("validation").lstrip("_")
    heading = t(HEADINGS["validation"], lang) + (f" ({suffix})" if suffix else "")
    return (f"<h2>{_e(heading)}</h2>{verdict}"
            + _table(key, ["table", "verdict", "source rows", "target rows", "detail"], rows))


def benchmark_section(folder: Path, data: dict, lang: str) -> str:
    chart = (data.get("benchmark") or {}).get("chart")
    file = folder / chart if chart else None
    if not file or not file.is_file():
        return ""
    encoded = base64.b64encode(file.read_bytes()).decode()
    return (f"<h2>{_e(t(HEADINGS['benchmark'], lang))}</h2>"
            f"<p><a href='{_e(chart)}'><img id='benchmark-chart' alt='benchmark chart' "
            f"src='data:image/png;base64,{encoded}'></a></p>")


def run_parameters(folder: Path, summary: dict) -> dict:
    """The parameters papermill recorded in the first executed notebook (never secrets)."""
    for stage in summary.get("stages", []):
        try:
            meta = json.loads((folder / stage["notebook"]).read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError):
            continue
        params = meta.get("metadata", {}).get("papermill", {}).get("parameters")
        if isinstance(params, dict) and params:
            return params
    return {}


def parameters_section(params: dict) -> str:
    if not params:
        return ""
    rows = [[_td(name), f"<td><code>{_e(value)}</code></td>"] for name, value in params.items()]
    return "<details><summary>parameters</summary>" + _table(
        "parameters", ["name", "value"], rows) + "</details>"


def run_language(folder: Path, summary: dict) -> str:
    """The run's `language`: papermill's record in an executed notebook, else the profile."""
    language = run_parameters(folder, summary).get("language")
    if language:
        return language
    from ..core.config import load_profile
    from ..core.errors import ConfigError

    try:
        return load_profile(summary["params_file"]).get("language", "en")
    except (KeyError, ConfigError):
        return "en"


def _files(folder: Path) -> str:
    links = [f"<a href='{name}'>{name}</a>" for name in ("summary.json", "manifest.json")
             if (folder / name).is_file()]
    return f"<p id='files'>{' · '.join(links)}</p>" if links else ""


def render(folder: Path, summary: dict, language: str | None = None) -> str:
    """The report page as a string (scrubbed)."""
    data = manifest.read(folder)
    lang = language or summary.get("language") or run_language(folder, summary)
    stages = summary.get("stages", [])
    seconds = round(sum(s.get("duration_s", 0) or 0 for s in stages), 1)
    overall = t(HEADINGS["overall"], lang, status=summary.get("status", ""), count=len(stages),
                seconds=seconds, params=summary.get("params_file", ""),
                started=summary.get("started", ""))
    title = t(HEADINGS["title"], lang, run_id=summary.get("run_id", folder.name))
    body = (f"<h1>{_e(title)}</h1><p id='overall' class='{_e(summary.get('status'))}'>"
            f"{_e(overall)}</p>{provision_section(data, lang)}"
            f"{stages_section(folder, summary, lang)}"
            f"{diagnosis_section(summary, lang)}{migration_section(data, lang)}"
            f"{validation_section(data, lang)}{benchmark_section(folder, data, lang)}"
            f"{parameters_section(run_parameters(folder, summary))}{_files(folder)}")
    return scrub(f"<!doctype html><html lang='{_e(lang)}'><head><meta charset='utf-8'>"
                 f"<title>{_e(title)}</title><style>{_STYLE}</style></head>"
                 f"<body>{body}</body></html>")


def write_report(folder: Path, summary: dict) -> Path:
    """Write `report.html` into the run folder and return its path."""
    folder = Path(folder)
    return files.write_private(folder / "report.html", render(folder, summary))


__all__ = ["write_report", "render"]
