"""`report.html`: the run's stages, verdicts and diagnoses, readable without Jupyter."""

from __future__ import annotations

import html
from pathlib import Path

from . import manifest
from .secrets import scrub

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#1f2328}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #d0d7de;padding:.3rem .6rem}
th{background:#f6f8fa}.ok{color:#1a7f37}.failed,.fail,.mismatch,.missing{color:#cf222e}
.warn,.skip,.skipped{color:#9a6700}
"""


def _stage_rows(summary: dict) -> str:
    rows = []
    for s in summary.get("stages", []):
        links = f"<a href='{html.escape(s['notebook'])}'>notebook</a>"
        if s.get("html"):
            links += f" · <a href='{html.escape(s['html'])}'>html</a>"
        err = s.get("error") or {}
        diag = s.get("diagnosis") or {}
        problem = ""
        if err:
            problem = (f"cell {err.get('cell')}: {html.escape(err.get('type', ''))}: "
                       f"{html.escape(err.get('message', ''))}")
        if diag:
            problem += (f"<br><b>{html.escape(diag['title'])}</b> "
                        f"<code>{diag['problem']}</code><br>Fix: {html.escape(diag['fix'])}")
        rows.append(f"<tr><td>{s['stage']}</td><td>{html.escape(s['notebook'])}</td>"
                    f"<td class='{s['status']}'>{s['status']}</td><td>{s['duration_s']}</td>"
                    f"<td>{links}</td><td>{problem}</td></tr>")
    return "".join(rows)


def _validation_section(data: dict) -> str:
    tables = (data.get("validation") or {}).get("tables") or []
    if not tables:
        return ""
    rows = "".join(f"<tr><td>{html.escape(str(t.get('table')))}</td>"
                   f"<td class='{t.get('verdict')}'>{t.get('verdict')}</td>"
                   f"<td>{t.get('source_rows', '')}</td><td>{t.get('target_rows', '')}</td>"
                   f"<td>{html.escape(str(t.get('detail', '')))}</td></tr>" for t in tables)
    return ("<h2>Validation</h2><table id='validation'><tr><th>table</th><th>verdict</th>"
            f"<th>source rows</th><th>target rows</th><th>detail</th></tr>{rows}</table>")


def _benchmark_section(folder: Path, data: dict) -> str:
    chart = (data.get("benchmark") or {}).get("chart")
    if not chart or not (folder / chart).exists():
        return ""
    return f"<h2>Benchmark</h2><img src='{html.escape(chart)}' alt='benchmark chart'>"


def write_report(folder: Path, summary: dict) -> Path:
    data = manifest.read(folder)
    body = (f"<h1>Migration runbook: run {html.escape(summary['run_id'])}</h1>"
            f"<p>Status: <b class='{summary['status']}'>{summary['status']}</b> · parameters "
            f"<code>{html.escape(summary.get('params_file', ''))}</code> · started "
            f"{summary.get('started', '')}</p>"
            "<h2>Stages</h2><table id='stages'><tr><th>stage</th><th>notebook</th>"
            "<th>status</th><th>seconds</th><th>output</th><th>error / diagnosis</th></tr>"
            f"{_stage_rows(summary)}</table>"
            f"{_validation_section(data)}{_benchmark_section(folder, data)}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>Runbook report "
            f"{html.escape(summary['run_id'])}</title><style>{_STYLE}</style></head>"
            f"<body>{body}</body></html>")
    target = folder / "report.html"
    target.write_text(scrub(page), encoding="utf-8")
    return target
