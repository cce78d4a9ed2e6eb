"""report.html: the verdict first (safe / not yet / not safe, the evidence, next steps), then
stages with plain notes, tables by size, validations titled by what they validated, the chart,
the diagnosis; every value escaped and every secret scrubbed, in English and Korean."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from runbook_lib.app import report
from runbook_lib.core import manifest
from runbook_lib.core.secrets import Secret

# A 1x1 PNG: enough for the report to embed.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAE"
                       "hQGAhKmMIQAAAABJRU5ErkJggg==")
SECRET = "s3cret-Report-pw"


class Tables(HTMLParser):
    """The cells of every table, by table id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: str | None = None
        self.links: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.current = attrs.get("id", "")
            self.tables[self.current] = []
        elif tag == "tr" and self.current is not None:
            self.tables[self.current].append([])
        elif tag in ("td", "th") and self.current is not None:
            self.tables[self.current][-1].append("")
        elif tag == "a":
            self.links.append(attrs["href"])
        elif tag == "img":
            self.images.append(attrs["src"])

    def handle_endtag(self, tag):
        if tag == "table":
            self.current = None

    def handle_data(self, data):
        if self.current is not None and self.tables[self.current] and \
                self.tables[self.current][-1]:
            self.tables[self.current][-1][-1] += data


def _stage(stage: str, notebook: str, status: str, seconds: float, **extra) -> dict:
    return {"stage": stage, "notebook": notebook, "status": status, "duration_s": seconds,
            "html": notebook.replace(".ipynb", ".html"), "error": None, "diagnosis": None,
            "details": {}, **extra}


@pytest.fixture
def run(tmp_path) -> tuple[Path, dict]:
    Secret(SECRET)  # known to the scrubber, as the Settings' passwords are
    folder = tmp_path / "runs" / "r1"
    folder.mkdir(parents=True)
    for name in ("03_migrate", "04_validate"):
        (folder / f"{name}.ipynb").write_text("{}")
        (folder / f"{name}.html").write_text("<html></html>")
    (folder / "benchmark.png").write_bytes(PNG)
    manifest.update(folder, "validation", {"ok": False, "tables": [
        {"table": "spc_product", "verdict": "ok", "source_rows": 40, "target_rows": 40,
         "detail": ""},
        {"table": "spc_qualitymeasurement", "verdict": "mismatch", "source_rows": 200,
         "target_rows": 199, "detail": "1 row missing"}]})
    manifest.update(folder, "validation_restore", {"ok": True, "file": "validation-restore.json",
                                                   "tables": [{"table": "spc_product",
                                                               "verdict": "ok"}]})
    manifest.update(folder, "migration", {"tables": [
        {"table": "spc_product", "source_rows": 40, "loaded_rows": 40, "quarantined_rows": 0}]})
    manifest.update(folder, "benchmark", {"chart": "benchmark.png"})
    failed = _stage("05", "05_troubleshoot.ipynb", "failed", 1.5,
                    error={"cell": 7, "type": "OperationalError",
                           "message": f"connect postgresql://spc_user:{SECRET}@localhost/x"},
                    diagnosis={"problem": "DX001", "title": "password authentication failed",
                               "causes": [f"password {SECRET} is wrong"],
                               "fix": "Set DB_PASSWORD", "doc": "https://example.org/auth"})
    summary = {"run_id": "r1", "status": "failed", "params_file": "parameters/training.yaml",
               "started": "2026-01-01T10:00:00",
               "stages": [_stage("03", "03_migrate.ipynb", "ok", 2.25),
                          _stage("04", "04_validate.ipynb", "ok", 3.0), failed]}
    return folder, summary


def _parse(page: Path) -> Tables:
    parser = Tables()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _safe_manifest(folder: Path) -> None:
    """Everything a cut-over needs, proven: full validation, checks, backup, the app."""
    checks = [{"id": "VA004", "name": "sequences past max(id)", "status": "ok", "message": "ok"},
              {"id": "VA005", "name": "no orphaned foreign keys", "status": "ok",
               "message": "ok"}]
    tables = [{"table": "spc_product", "verdict": "ok", "source_rows": 40, "target_rows": 40,
               "detail": "40 rows identical"},
              {"table": "spc_qualitymeasurement", "verdict": "ok", "source_rows": 200,
               "target_rows": 200, "detail": "200 rows identical"}]
    manifest.update(folder, "validation", {"ok": True, "mode": "full", "database": "spc_db",
                                           "file": "validation.json", "tables": tables,
                                           "checks": checks})
    manifest.update(folder, "validation_spc_db_restore_check", {
        "ok": True, "mode": "full", "database": "spc_db_restore_check", "tables": tables,
        "file": "validation-spc_db_restore_check.json"})
    manifest.update(folder, "migration", {
        "source": "/srv/app/db.sqlite3", "target": "postgresql://spc_user:********@db:5432/spc_db",
        "schema": "django", "method": "copy", "notes": ["dropped 2 existing table(s) (replace)"],
        "tables": [{"table": "spc_product", "source_rows": 40, "loaded_rows": 40,
                    "quarantined": 0},
                   {"table": "spc_qualitymeasurement", "source_rows": 200, "loaded_rows": 200,
                    "quarantined": 0}]})
    manifest.update(folder, "operate", {"backup": {"dump": "/x/spc_db_1.dump", "bytes": 2_500_000,
                                                   "restore_verified": True},
                                        "script": "/x/backup.sh"})
    manifest.update(folder, "cutover", {"settings_applied": False, "target": [
        {"id": "DJ030", "name": "manage.py check", "status": "ok", "message": ""},
        {"id": "DJ038", "name": "WebSocket", "status": "skip", "message": "no Channels"}]})


def _all_stages(status: str = "ok") -> list[dict]:
    names = ["00_start_here", "01_install_checks", "02_create_database", "03_migrate",
             "04_validate", "05_troubleshoot", "06_django_cutover", "07_benchmark",
             "08_operate"]
    return [_stage(n[:2], f"{n}.ipynb", status, 1.5) for n in names]


def test_stage_table_has_status_duration_notes_and_links(run):
    folder, summary = run
    page = report.write_report(folder, summary)
    assert page == folder / "report.html"
    parsed = _parse(page)
    header, *rows = parsed.tables["stages"]
    assert header == ["stage", "notebook", "status", "seconds", "what happened", "output"]
    assert [(r[0], r[2], r[3]) for r in rows] == [("03", "ok", "2.25"), ("04", "ok", "3.0"),
                                                  ("05", "failed", "1.5")]
    assert "cell 7" in rows[2][4]
    assert {"03_migrate.ipynb", "03_migrate.html", "04_validate.html"} <= set(parsed.links)
    assert "05_troubleshoot.ipynb" not in parsed.links  # never written: no dead link


def test_a_failed_stage_is_the_verdict_with_its_fix_and_the_rerun(run):
    folder, summary = run
    text = report.write_report(folder, summary).read_text(encoding="utf-8")
    top = text[:text.index("id='stages'")]
    assert "verdict-unsafe" in top and "Not safe to cut over: stage 05_troubleshoot.ipynb" in top
    assert "Fix 05_troubleshoot.ipynb: Set DB_PASSWORD" in top
    assert "--only 05,06,07,08" in top and "Rollback, if needed" in top


def test_safe_run_says_so_first_with_evidence_route_time_and_next_steps(tmp_path):
    folder = tmp_path / "safe"
    folder.mkdir()
    _safe_manifest(folder)
    summary = {"run_id": "safe", "status": "ok", "params_file": "parameters/prod.yaml",
               "started": "2026-01-01T10:00:00", "finished": "2026-01-01T10:02:00",
               "stages": _all_stages()}
    state, banner = report.verdict(summary, manifest.read(folder), "en")
    assert state == "safe" and banner.startswith("Safe to cut over")
    lines = report.evidence(manifest.read(folder), "en")
    assert [s for s, _ in lines] == ["ok"] * 5
    assert lines[0][1].startswith("240 of 240 rows proven identical")
    assert "spc_db_1.dump (2.5 MB) restored into spc_db_restore_check" in lines[3][1]
    text = report.render(folder, summary)
    top = text[:text.index("id='stages'")]
    assert "Source /srv/app/db.sqlite3 → target postgresql://spc_user:********@db:5432/spc_db" \
        in top
    assert "9 stage(s) in 13.5 s" in top
    assert "Switch the application" in top and "/x/backup.sh" in top and "Rollback" in top
    parsed = _parse(folder / "report.html") if (folder / "report.html").exists() else None
    assert parsed is None  # render() writes nothing


def test_partial_run_is_not_yet_proven_and_says_what_to_run(tmp_path):
    summary = {"run_id": "p", "status": "ok", "params_file": "parameters/training.yaml",
               "stages": _all_stages()[:2]}
    state, banner = report.verdict(summary, {}, "en")
    assert state == "pending" and banner.startswith("Not yet proven safe")
    steps = report.next_steps(summary, {}, state, "en")
    assert "--only 02,03,04,05,06,07,08" in steps[0] and steps[-1].startswith("Rollback")


def test_differing_rows_are_not_safe_and_tables_come_largest_first(run):
    folder, summary = run
    summary = {**summary, "status": "ok", "stages": summary["stages"][:2]}
    state, banner = report.verdict(summary, manifest.read(folder), "en")
    assert state == "unsafe" and "spc_qualitymeasurement" in banner
    parsed = _parse(report.write_report(folder, summary))
    order = [r[0] for r in parsed.tables["tables"][1:]]
    assert order == ["spc_qualitymeasurement", "spc_product"]  # 200 rows before 40
    assert parsed.tables["tables"][1][4] == "differs"


def test_validations_are_titled_by_what_they_validated(run):
    folder, summary = run
    text = report.write_report(folder, summary).read_text(encoding="utf-8")
    assert "Validation of the migrated database" in text
    assert "Validation of the backup restored into restore against the SQLite snapshot" in text
    assert "(restore)</h2>" not in text and "Validation (restore)" not in text
    parsed = _parse(folder / "report.html")
    assert parsed.tables["validation_restore"][1][:2] == ["spc_product", "identical"]
    assert "validation-restore.json" in parsed.links
    assert parsed.images == ["data:image/png;base64," + base64.b64encode(PNG).decode()]
    assert "benchmark.png" in parsed.links


def test_notes_are_plain_language_and_stage_02_changes_are_listed(run):
    folder, summary = run
    summary["stages"][1]["details"] = {"mode": "full", "seconds": 1.2}
    summary["stages"].insert(0, _stage("02", "02_create_database.ipynb", "ok", 0.5,
                                       details={"changed": ["DB002", "DB004"]}))
    text = report.write_report(folder, summary).read_text(encoding="utf-8")
    assert "mode=full" not in text
    assert "full validation: 1 of 2 tables identical in 1.2 s" in text
    assert "created or changed: the application role, the database" in text
    assert "the application role (DB002)" in text
    assert "manifest.json" in _parse(folder / "report.html").links


def test_diagnosis_is_shown_and_secrets_are_scrubbed(run):
    folder, summary = run
    text = report.write_report(folder, summary).read_text(encoding="utf-8")
    assert "DX001" in text and "Set DB_PASSWORD" in text and "cell 7" in text
    assert SECRET not in text and "********" in text


def test_hostile_names_and_values_are_escaped(tmp_path):
    attack = "<img src=x onerror=alert(1)>"
    manifest.update(tmp_path, "validation", {"ok": False, "mode": "full", "tables": [
        {"table": f"t{attack}", "verdict": "mismatch", "source_rows": 1, "target_rows": 0,
         "detail": attack}]})
    manifest.update(tmp_path, "migration", {"notes": [attack], "source": attack,
                                            "tables": [{"table": f"t{attack}"}]})
    summary = {"run_id": attack, "status": "ok", "params_file": "",
               "stages": [_stage("04", "04_validate.ipynb", "ok", 1.0)]}
    text = report.render(tmp_path, summary, "en")
    assert attack not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_without_benchmark_or_validation_only_stages(tmp_path):
    summary = {"run_id": "r2", "status": "ok", "params_file": "",
               "stages": [_stage("01", "01_install_checks.ipynb", "ok", 1.0)]}
    parsed = _parse(report.write_report(tmp_path, summary))
    assert set(parsed.tables) == {"stages"} and not parsed.images


def test_korean_report_has_no_english_prose(tmp_path):
    from untranslated import html_findings

    folder = tmp_path / "ko"
    folder.mkdir()
    _safe_manifest(folder)
    data = manifest.read(folder)  # what a Korean run records: its messages in Korean
    for section in ("validation", "validation_spc_db_restore_check"):
        for row in data[section]["tables"]:
            row["detail"] = f"{row['source_rows']}개 행 일치"
    for check in data["validation"]["checks"]:
        check["name"], check["message"] = "점검", "정상"
    data["migration"]["notes"] = ["기존 테이블 2개를 삭제했습니다 (replace)"]
    for key in ("validation", "validation_spc_db_restore_check", "migration"):
        manifest.update(folder, key, data[key])
    summary = {"run_id": "ko", "status": "ok", "params_file": "parameters/prod.yaml",
               "language": "ko", "started": "2026-01-01T10:00:00", "stages": _all_stages()}
    page = report.write_report(folder, summary)
    text = page.read_text(encoding="utf-8")
    assert "전환해도 안전합니다" in text and "다음 할 일" in text and "단계" in text
    assert not html_findings(page), html_findings(page)


def test_language_comes_from_the_executed_notebooks(run):
    folder, summary = run
    executed = {"cells": [], "metadata": {"papermill": {"parameters": {
        "language": "ko", "db_name": "spc_db"}}}}
    (folder / "03_migrate.ipynb").write_text(json.dumps(executed))
    assert report.run_language(folder, summary) == "ko"
    page = report.write_report(folder, summary)
    text = page.read_text(encoding="utf-8")
    assert "<html lang='ko'>" in text and "전환하면 안 됩니다" in text
    assert ["db_name", "spc_db"] in _parse(page).tables["parameters"]
