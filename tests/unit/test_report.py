"""report.html: stages, verdicts, diagnosis, chart and links, with every secret scrubbed."""

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


def test_stage_table_has_status_duration_and_links(run):
    folder, summary = run
    page = report.write_report(folder, summary)
    assert page == folder / "report.html"
    parsed = _parse(page)
    header, *rows = parsed.tables["stages"]
    assert header[:4] == ["stage", "notebook", "status", "seconds"]
    assert [(r[0], r[2], r[3]) for r in rows] == [("03", "ok", "2.25"), ("04", "ok", "3.0"),
                                                  ("05", "failed", "1.5")]
    assert {"03_migrate.ipynb", "03_migrate.html", "04_validate.html"} <= set(parsed.links)
    assert "05_troubleshoot.ipynb" not in parsed.links  # never written: no dead link


def test_validation_verdicts_migration_and_chart(run):
    folder, summary = run
    parsed = _parse(report.write_report(folder, summary))
    verdicts = {r[0]: r[1] for r in parsed.tables["validation"][1:]}
    assert verdicts == {"spc_product": "ok", "spc_qualitymeasurement": "mismatch"}
    assert parsed.tables["validation_restore"][1][:2] == ["spc_product", "ok"]
    assert "validation-restore.json" in parsed.links
    assert parsed.tables["migration"][1][:2] == ["spc_product", "40"]
    assert parsed.images == ["data:image/png;base64," + base64.b64encode(PNG).decode()]
    assert "benchmark.png" in parsed.links


def test_diagnosis_is_shown_and_secrets_are_scrubbed(run):
    folder, summary = run
    text = report.write_report(folder, summary).read_text(encoding="utf-8")
    assert "DX001" in text and "Set DB_PASSWORD" in text and "cell 7" in text
    assert SECRET not in text and "********" in text


def test_without_benchmark_or_validation_only_stages(tmp_path):
    summary = {"run_id": "r2", "status": "ok", "params_file": "",
               "stages": [_stage("01", "01_install_checks.ipynb", "ok", 1.0)]}
    parsed = _parse(report.write_report(tmp_path, summary))
    assert set(parsed.tables) == {"stages"} and not parsed.images


def test_language_ko_switches_headings(run):
    folder, summary = run
    text = report.render(folder, {**summary, "language": "ko"})
    assert "단계" in text and "검증" in text and "진단" in text


def test_language_comes_from_the_executed_notebooks(run):
    folder, summary = run
    executed = {"cells": [], "metadata": {"papermill": {"parameters": {
        "language": "ko", "db_name": "spc_db"}}}}
    (folder / "03_migrate.ipynb").write_text(json.dumps(executed))
    assert report.run_language(folder, summary) == "ko"
    page = report.write_report(folder, summary)
    assert "<html lang='ko'>" in page.read_text(encoding="utf-8")
    assert ["db_name", "spc_db"] in _parse(page).tables["parameters"]


def test_stage_notes_and_run_files_are_linked(run):
    folder, summary = run
    manifest.record_stage(folder, "03_migrate", "ok")
    summary["stages"][0]["details"] = {"mode": "full", "seconds": 1.2}
    parsed = _parse(report.write_report(folder, summary))
    assert "mode=full, seconds=1.2" in parsed.tables["stages"][1][5]
    assert "manifest.json" in parsed.links
