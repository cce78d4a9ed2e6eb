"""`report.html`: "can we cut over?" answered first, then the evidence, then the details.

The top of the page is one banner (safe / not yet / not safe, and why), the evidence one line
each (rows proven identical, sequences, foreign keys, the backup restored and proven, the
application on PostgreSQL), source → target, the total time and the next steps (including the
rollback). Below: the stages with plain-language notes, what stage 02 and 03 changed, the
tables by size with their verdicts, each validation titled by what it validated, the
benchmark chart, the diagnosis of a failure and the parameters. One self-contained page in
the run's language; every value is escaped and every string passes `scrub`.
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
from .report_text import DB_CHANGES, STAGE_NAMES, TEXT

_STYLE = """
body{font-family:system-ui,"Noto Sans KR","Malgun Gothic","Apple SD Gothic Neo",NanumGothic,
sans-serif;margin:2rem;max-width:72rem;color:#1f2328;line-height:1.45}
table{border-collapse:collapse;margin:.6rem 0}td,th{border:1px solid #d0d7de;padding:.3rem .6rem;
vertical-align:top;text-align:left}th{background:#f6f8fa}td.num,th.num{text-align:right}
.ok,.pass{color:#1a7f37}.failed,.fail,.mismatch,.missing,.error{color:#cf222e}
.warn,.skip,.skipped,.pending,.none{color:#9a6700}.status{font-weight:bold}
#verdict{border:2px solid;border-radius:8px;padding:1rem 1.4rem;margin:1rem 0 1.5rem}
#verdict.verdict-safe{border-color:#1a7f37;background:#f0fff4}
#verdict.verdict-unsafe{border-color:#cf222e;background:#fff5f5}
#verdict.verdict-pending{border-color:#9a6700;background:#fffbeb}
.verdict-safe #banner{color:#1a7f37}.verdict-unsafe #banner{color:#cf222e}
.verdict-pending #banner{color:#9a6700}td.status,th{white-space:nowrap}
#banner{font-size:1.5rem;font-weight:bold;margin:0 0 .6rem}
#evidence{list-style:none;padding:0;margin:.4rem 0}#evidence li{margin:.2rem 0}
.mark{display:inline-block;width:1.4rem;font-weight:bold}
.diagnosis{border-left:4px solid #cf222e;padding:.2rem 1rem;background:#fff8f8}
img{max-width:100%;border:1px solid #d0d7de}code{font-size:.92em}
"""
MARKS = {"ok": "✓", "fail": "✗", "warn": "!", "none": "–"}
EVIDENCE_STAGE = ("04", "04", "04", "08", "06")  # the stage that proves each evidence line


def _e(value: Any) -> str:
    return html.escape(scrub("" if value is None else str(value)))


def _say(lang: str, key: str, **values) -> str:
    return t(TEXT[key], lang, **values)


def _table(table_id: str, headers: list[str], rows: list[list[str]],
           numeric: tuple[int, ...] = ()) -> str:
    head = "".join(f"<th class='{'num' if i in numeric else ''}'>{_e(h)}</th>"
                   for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    return (f"<table id='{_e(table_id)}'><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _td(value: Any, css: str = "") -> str:
    cls = f" class='{_e(css)}'" if css else ""
    return f"<td{cls}>{_e(value)}</td>"


def _num(value: Any) -> str:
    return _td(f"{value:,}" if isinstance(value, int) and not isinstance(value, bool)
               else value, "num")


# -- what the run proved -----------------------------------------------------------------------
def _checks(section: dict) -> dict[str, dict]:
    return {c.get("id"): c for c in section.get("checks") or [] if isinstance(c, dict)}


def _stage(summary: dict, number: str) -> dict | None:
    return next((s for s in summary.get("stages", []) if s.get("stage") == number), None)


def _rows_line(data: dict, lang: str) -> tuple[str, str]:
    validation = data.get("validation") or {}
    tables = [v for v in validation.get("tables") or [] if isinstance(v, dict)]
    if not tables:
        return "none", _say(lang, "ev_rows_none")
    same = [v for v in tables if v.get("verdict") == "ok"]
    rows = sum(v.get("source_rows") or 0 for v in tables)
    proven = sum(v.get("source_rows") or 0 for v in same)
    mode = validation.get("mode", "full")
    values = dict(proven=f"{proven:,}", rows=f"{rows:,}", same=len(same), n=len(tables),
                  mode=mode, db=validation.get("database", ""))
    if len(same) < len(tables) or not validation.get("ok", True):
        bad = ", ".join(v.get("table", "") for v in tables if v.get("verdict") != "ok")
        return "fail", _say(lang, "ev_rows_bad", bad=bad or "-", **values)
    if mode != "full":
        return "warn", _say(lang, "ev_rows_partial", **values)
    return "ok", _say(lang, "ev_rows_ok", **values)


def _check_line(data: dict, cid: str, lang: str, key: str) -> tuple[str, str]:
    check = _checks(data.get("validation") or {}).get(cid)
    if not check:
        return "none", _say(lang, f"ev_{key}_none")
    status = {"ok": "ok", "fail": "fail"}.get(check.get("status"), "warn")
    return status, _say(lang, f"ev_{key}_{'ok' if status == 'ok' else 'bad'}",
                        detail=check.get("message", ""))


def _backup_line(data: dict, lang: str) -> tuple[str, str]:
    backup = ((data.get("operate") or {}).get("backup")) or {}
    restore = next((data[k] for k in sorted(data) if k.startswith("validation_")
                    and isinstance(data[k], dict)), None)
    if not backup:
        return "none", _say(lang, "ev_backup_none")
    name = Path(str(backup.get("dump", ""))).name
    size = f"{(backup.get('bytes') or 0) / 1e6:.1f}"
    if backup.get("restore_verified") and (restore is None or restore.get("ok")):
        tables = len((restore or {}).get("tables") or [])
        return "ok", _say(lang, "ev_backup_ok", file=name, size=size, tables=tables,
                          db=(restore or {}).get("database", ""))
    return "fail", _say(lang, "ev_backup_bad", file=name)


def _app_line(data: dict, lang: str) -> tuple[str, str]:
    target = [c for c in (data.get("cutover") or {}).get("target") or [] if isinstance(c, dict)]
    if not target:
        return "none", _say(lang, "ev_app_none")
    failed = [c for c in target if c.get("status") == "fail"]
    passed = [c for c in target if c.get("status") == "ok"]
    if failed:
        names = ", ".join(f"{c.get('id')} {c.get('name')}" for c in failed)
        return "fail", _say(lang, "ev_app_bad", failed=names)
    return "ok", _say(lang, "ev_app_ok", ok=len(passed), n=len(target))


def evidence(data: dict, lang: str) -> list[tuple[str, str]]:
    """(status ok/fail/warn/none, one sentence) per piece of evidence, most important first."""
    return [_rows_line(data, lang), _check_line(data, "VA004", lang, "seq"),
            _check_line(data, "VA005", lang, "fk"), _backup_line(data, lang),
            _app_line(data, lang)]


def verdict(summary: dict, data: dict, lang: str) -> tuple[str, str]:
    """('safe' | 'pending' | 'unsafe', the banner sentence)."""
    failed = next((s for s in summary.get("stages", []) if s.get("status") == "failed"), None)
    lines = evidence(data, lang)
    if failed:
        err = failed.get("error") or {}
        why = (err.get("message") or "").splitlines()[0][:200] if err else ""
        return "unsafe", _say(lang, "banner_failed", notebook=failed.get("notebook"), why=why)
    bad = [text for status, text in lines if status == "fail"]
    if bad:
        return "unsafe", _say(lang, "banner_unsafe", why=bad[0])
    missing = [text for status, text in lines if status in ("none", "warn")]
    if missing:
        return "pending", _say(lang, "banner_pending", n=len(missing))
    rows = _rows_line(data, lang)[1]
    return "safe", _say(lang, "banner_safe", rows=rows)


def _not_run(summary: dict, lang: str) -> list[str]:
    ran = {s.get("stage") for s in summary.get("stages", [])}
    return [n for n in STAGE_NAMES if n not in ran]


def next_steps(summary: dict, data: dict, state: str, lang: str) -> list[str]:
    """What to do now (run, fix or switch), always ending with the rollback."""
    params = summary.get("params_file") or "parameters/<profile>.yaml"
    steps = []
    failed = next((s for s in summary.get("stages", []) if s.get("status") == "failed"), None)
    if failed:
        fix = (failed.get("diagnosis") or {}).get("fix") or ""
        rest = ",".join(n for n in STAGE_NAMES if n >= failed.get("stage", "00"))
        steps.append(_say(lang, "next_fix", notebook=failed.get("notebook"), fix=fix))
        steps.append(_say(lang, "next_rerun", params=params, only=rest))
    elif state == "unsafe":
        steps.append(_say(lang, "next_differences"))
    elif state == "pending":
        missing = _not_run(summary, lang) or sorted(
            {EVIDENCE_STAGE[i] for i, (status, _) in enumerate(evidence(data, lang))
             if status in ("none", "warn")})
        if missing:
            steps.append(_say(lang, "next_missing", params=params, only=",".join(missing)))
        if (data.get("validation") or {}).get("mode", "full") != "full":
            steps.append(_say(lang, "next_full", params=params))
    else:
        cutover = data.get("cutover") or {}
        steps.append(_say(lang, "next_switch_applied" if cutover.get("settings_applied")
                          else "next_switch"))
        script = (data.get("operate") or {}).get("script")
        if script:
            steps.append(_say(lang, "next_backup", script=script))
        steps.append(_say(lang, "next_monitor"))
    steps.append(_say(lang, "next_rollback"))
    return steps


def _source_target(data: dict, params: dict, lang: str) -> str:
    migration = data.get("migration") or {}
    source = migration.get("source") or (data.get("cutover") or {}).get("sqlite_path") \
        or params.get("sqlite_path") or "?"
    target = migration.get("target") or (
        f"{params.get('db_name') or 'DB_NAME'} @ {params.get('db_host') or 'DB_HOST'}:"
        f"{params.get('db_port') or 'DB_PORT'}")
    return _say(lang, "source_target", source=source, target=target)


def _timing(summary: dict, lang: str) -> str:
    stages = summary.get("stages", [])
    seconds = round(sum(s.get("duration_s", 0) or 0 for s in stages), 1)
    return _say(lang, "timing", n=len(stages), seconds=seconds,
                started=summary.get("started", "?"), finished=summary.get("finished", "?"))


def verdict_section(summary: dict, data: dict, params: dict, lang: str) -> str:
    state, banner = verdict(summary, data, lang)
    items = "".join(f"<li class='{_e(status)}'><span class='mark'>{MARKS[status]}</span>"
                    f"{_e(text)}</li>" for status, text in evidence(data, lang))
    steps = "".join(f"<li>{_e(step)}</li>" for step in next_steps(summary, data, state, lang))
    return (f"<section id='verdict' class='verdict-{state}'><p id='banner'>{_e(banner)}</p>"
            f"<ul id='evidence'>{items}</ul>"
            f"<p id='route'>{_e(_source_target(data, params, lang))}</p>"
            f"<p id='timing'>{_e(_timing(summary, lang))}</p>"
            f"<h3>{_e(_say(lang, 'next'))}</h3><ol id='next'>{steps}</ol></section>")


# -- the details -------------------------------------------------------------------------------
def _links(folder: Path, stage: dict, lang: str) -> str:
    links = []
    if (folder / stage["notebook"]).exists():
        links.append(f"<a href='{_e(stage['notebook'])}'>{_e(_say(lang, 'notebook'))}</a>")
    if stage.get("html"):
        links.append(f"<a href='{_e(stage['html'])}'>html</a>")
    return "<td>" + " · ".join(links) + "</td>"


def stage_note(stage: dict, data: dict, lang: str) -> str:
    """What a stage did, in a sentence a person reads (not `mode=full, seconds=0.99`)."""
    err, number = stage.get("error") or {}, stage.get("stage")
    if err:
        return _say(lang, "note_failed", cell=err.get("cell"), type=err.get("type", ""),
                    message=err.get("message", ""))
    if stage.get("status") not in ("ok", "warn"):
        return ""
    details = stage.get("details") or {}
    migration, validation = data.get("migration") or {}, data.get("validation") or {}
    if number == "02":
        changed = details.get("changed") or []
        return (_say(lang, "note_02", what=", ".join(t(DB_CHANGES.get(c, {"en": c}), lang)
                                                     for c in changed))
                if changed else _say(lang, "note_02_none"))
    if number == "03" and migration.get("tables"):
        tables = migration["tables"]
        return _say(lang, "note_03", n=len(tables),
                    rows=f"{sum(m.get('loaded_rows') or 0 for m in tables):,}",
                    schema=migration.get("schema", ""), method=migration.get("method", ""),
                    quarantined=sum(m.get("quarantined") or 0 for m in tables))
    if number == "04" and validation.get("tables"):
        tables = validation["tables"]
        return _say(lang, "note_04", mode=details.get("mode") or validation.get("mode"),
                    same=sum(v.get("verdict") == "ok" for v in tables), n=len(tables),
                    seconds=details.get("seconds", validation.get("seconds", "?")))
    if number == "05":
        drills = data.get("drills") or {}
        walked = [d for d in drills.values() if isinstance(d, dict) and not d.get("skipped")]
        return (_say(lang, "note_05", n=len(walked), ok=sum(bool(d.get("ok")) for d in walked))
                if walked else _say(lang, "note_05_none"))
    if number == "06" and data.get("cutover"):
        return _say(lang, "note_06_applied" if data["cutover"].get("settings_applied")
                    else "note_06")
    if number == "07" and data.get("benchmark"):
        tables = (data["benchmark"].get("tables") or ["?", "?"]) + ["?"]
        return _say(lang, "note_07", table=tables[0], parent=tables[1],
                    seconds=data["benchmark"].get("seconds", "?"))
    if number == "08" and (data.get("operate") or {}).get("backup"):
        return _say(lang, "note_08")
    return t(STAGE_NAMES.get(number, {"en": ""}), lang)


def stages_section(folder: Path, summary: dict, data: dict, lang: str) -> str:
    rows = [[_td(s["stage"]), _td(s["notebook"]),
             _td(_say(lang, "status_" + s["status"]) if "status_" + s["status"] in TEXT
                 else s["status"], f"status {s['status']}"),
             _num(s.get("duration_s", "")), _td(stage_note(s, data, lang)),
             _links(folder, s, lang)]
            for s in summary.get("stages", [])]
    headers = [_say(lang, h) for h in ("h_stage", "h_notebook", "h_status", "h_seconds",
                                       "h_note", "h_output")]
    return (f"<h2>{_e(_say(lang, 'stages'))}</h2>"
            + _table("stages", headers, rows, numeric=(3,)))


def changes_section(data: dict, summary: dict, lang: str) -> str:
    """What stage 02 created or changed on the server, and what stage 03 did to the target."""
    stage = _stage(summary, "02")
    parts = []
    if stage:
        changed = (stage.get("details") or {}).get("changed") or []
        items = [t(DB_CHANGES.get(c, {"en": c}), lang) + f" ({c})" for c in changed]
        parts.append(f"<p>{_e(_say(lang, 'changes_02'))}</p><ul id='changes-02'>"
                     + ("".join(f"<li>{_e(i)}</li>" for i in items)
                        or f"<li>{_e(_say(lang, 'changes_none'))}</li>") + "</ul>")
    notes = (data.get("migration") or {}).get("notes") or []
    if notes:
        parts.append(f"<p>{_e(_say(lang, 'changes_03'))}</p><ul id='changes-03'>"
                     + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    if not parts:
        return ""
    return f"<h2>{_e(_say(lang, 'changes'))}</h2>" + "".join(parts)


def tables_section(data: dict, lang: str) -> str:
    """Every table, largest first: source rows, loaded, quarantined, verdict and detail."""
    migrated = {m.get("table"): m for m in (data.get("migration") or {}).get("tables") or []
                if isinstance(m, dict)}
    validated = {v.get("table"): v for v in (data.get("validation") or {}).get("tables") or []
                 if isinstance(v, dict)}
    names = list(dict.fromkeys([*migrated, *validated]))
    if not names:
        return ""

    def size(name):
        row = migrated.get(name) or validated.get(name) or {}
        return -(row.get("source_rows") or 0), str(name)

    rows = []
    for name in sorted(names, key=size):
        m, v = migrated.get(name) or {}, validated.get(name) or {}
        verdict_word = v.get("verdict", "")
        rows.append([_td(name), _num(m.get("source_rows", v.get("source_rows", ""))),
                     _num(m.get("loaded_rows", m.get("loaded", ""))),
                     _num(m.get("quarantined_rows", m.get("quarantined", ""))),
                     _td(_say(lang, "verdict_" + verdict_word) if "verdict_" + verdict_word
                         in TEXT else verdict_word, f"status {verdict_word}"),
                     _td(v.get("detail", ""))])
    headers = [_say(lang, h) for h in ("h_table", "h_source_rows", "h_loaded", "h_quarantined",
                                       "h_verdict", "h_detail")]
    return (f"<h2>{_e(_say(lang, 'tables'))}</h2><p>{_e(_say(lang, 'tables_intro'))}</p>"
            + _table("tables", headers, rows, numeric=(1, 2, 3)))


def validation_section(data: dict, lang: str) -> str:
    """Each validation titled by what it validated, with its file; the checks listed."""
    parts = []
    for key in sorted(k for k in data if k == "validation" or k.startswith("validation_")):
        section = data[key] or {}
        if not isinstance(section, dict) or not section.get("tables"):
            continue
        restore = key != "validation"
        title = _say(lang, "val_restore" if restore else "val_main",
                     db=section.get("database") or key.removeprefix("validation_"))
        same = sum(v.get("verdict") == "ok" for v in section["tables"])
        state = "ok" if section.get("ok") else "fail"
        line = _say(lang, "val_line_ok" if section.get("ok") else "val_line_bad", same=same,
                    n=len(section["tables"]), mode=section.get("mode", ""))
        file = (f" <a href='{_e(section['file'])}'>{_e(section['file'])}</a>"
                if section.get("file") else "")
        checks = "".join(f"<li class='{_e(c.get('status'))}'><code>{_e(c.get('id'))}</code> "
                         f"{_e(c.get('name'))}: {_e(c.get('message'))}</li>"
                         for c in section.get("checks") or [] if isinstance(c, dict))
        rows = [[_td(v.get("table")), _td(_say(lang, "verdict_" + v.get("verdict", ""))
                                          if "verdict_" + v.get("verdict", "") in TEXT
                                          else v.get("verdict"), f"status {v.get('verdict')}"),
                 _num(v.get("source_rows", "")), _num(v.get("target_rows", "")),
                 _td(v.get("detail", ""))] for v in section["tables"]]
        headers = [_say(lang, h) for h in ("h_table", "h_verdict", "h_source_rows",
                                           "h_target_rows", "h_detail")]
        table = _table(key, headers, rows, numeric=(2, 3))
        fold = _say(lang, "per_table_restore" if restore else "per_table")
        folded = f"<details><summary>{_e(fold)}</summary>{table}</details>"
        body = (f"<ul>{checks}</ul>" if checks else "") + (
            folded if restore or data.get("migration") else table)
        parts.append(f"<h2>{_e(title)}</h2><p class='status {state}'>{_e(line)}{file}</p>"
                     + body)
    return "".join(parts)


def diagnosis_section(summary: dict, lang: str) -> str:
    parts = []
    for s in summary.get("stages", []):
        diag = s.get("diagnosis")
        if not diag:
            continue
        if not diag.get("problem"):  # a runbook error with its own fix: just that
            parts.append(f"<div class='diagnosis' id='diagnosis-{_e(s['stage'])}'>"
                         f"<h3>{_e(s['notebook'])}</h3><p><b>{_e(_say(lang, 'fix'))}:"
                         f"</b> {_e(diag.get('fix'))}</p></div>")
            continue
        causes = "".join(f"<li>{_e(c)}</li>" for c in diag.get("causes", []))
        doc = f"<p><a href='{_e(diag['doc'])}'>{_e(diag['doc'])}</a></p>" if diag.get("doc") else ""
        parts.append(f"<div class='diagnosis' id='diagnosis-{_e(s['stage'])}'>"
                     f"<h3>{_e(s['notebook'])}: {_e(diag.get('title'))} "
                     f"<code>{_e(diag.get('problem'))}</code></h3>"
                     f"<p>{_e(_say(lang, 'causes'))}:</p><ol>{causes}</ol>"
                     f"<p><b>{_e(_say(lang, 'fix'))}:</b> {_e(diag.get('fix'))}</p>"
                     f"{doc}</div>")
    if not parts:
        return ""
    return f"<h2>{_e(_say(lang, 'diagnosis'))}</h2>" + "".join(parts)


def provision_section(data: dict, lang: str) -> str:
    """A reset password is shown right under the verdict, as a warning nobody can miss."""
    provision = data.get("provision") or {}
    if not isinstance(provision, dict) or not provision.get("password_reset"):
        return ""
    return (f"<div class='diagnosis' id='password-reset'><h2 class='warn'>"
            f"{_e(_say(lang, 'password_reset'))}</h2>"
            f"<p>{_e(provision.get('warning'))}</p></div>")


def benchmark_section(folder: Path, data: dict, lang: str) -> str:
    bench = data.get("benchmark") or {}
    chart = bench.get("chart")
    file = folder / chart if chart else None
    if not file or not file.is_file():
        return ""
    encoded = base64.b64encode(file.read_bytes()).decode()
    tables = (bench.get("tables") or ["?", "?"]) + ["?"]
    return (f"<h2>{_e(_say(lang, 'benchmark', table=tables[0], parent=tables[1]))}</h2>"
            f"<p><a href='{_e(chart)}'><img id='benchmark-chart' "
            f"alt='{_e(_say(lang, 'chart_alt'))}' "
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


def parameters_section(params: dict, lang: str) -> str:
    if not params:
        return ""
    rows = [[_td(name), f"<td><code>{_e(value)}</code></td>"] for name, value in params.items()]
    return (f"<details><summary>{_e(_say(lang, 'parameters'))}</summary>"
            + _table("parameters", [_say(lang, "h_name"), _say(lang, "h_value")], rows)
            + "</details>")


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
    params = run_parameters(folder, summary)
    title = _say(lang, "title", run_id=summary.get("run_id", folder.name))
    body = (f"<h1>{_e(title)}</h1>{verdict_section(summary, data, params, lang)}"
            f"{provision_section(data, lang)}{diagnosis_section(summary, lang)}"
            f"{stages_section(folder, summary, data, lang)}"
            f"{changes_section(data, summary, lang)}{tables_section(data, lang)}"
            f"{validation_section(data, lang)}{benchmark_section(folder, data, lang)}"
            f"{parameters_section(params, lang)}{_files(folder)}")
    return scrub(f"<!doctype html><html lang='{_e(lang)}'><head><meta charset='utf-8'>"
                 f"<title>{_e(title)}</title><style>{_STYLE}</style></head>"
                 f"<body>{body}</body></html>")


def write_report(folder: Path, summary: dict) -> Path:
    """Write `report.html` into the run folder and return its path."""
    folder = Path(folder)
    return files.write_private(folder / "report.html", render(folder, summary))


__all__ = ["write_report", "render", "verdict", "evidence", "next_steps", "stage_note"]
