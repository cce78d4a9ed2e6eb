"""What a reader sees, in headless Chromium: the report's verdict (Korean and English) and
notebook 03's HTML copy, from one complete `language: ko` training run.

Screenshots go to `test-artifacts/` (git-ignored): report_ko.png, report_en.png,
notebook_03_ko.png.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runbook_lib.app import report

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _open(browser, file: Path, width: int = 1280):
    page = browser.new_page(viewport={"width": width, "height": 1000})
    page.goto(file.as_uri())
    page.wait_for_load_state()
    return page


def test_report_banner_in_korean_and_english(korean_run, browser):
    _ws, done, folder = korean_run
    assert done.returncode == 0, done.stdout[-3000:]
    ARTIFACTS.mkdir(exist_ok=True)
    page = _open(browser, folder / "report.html")
    banner = page.locator("#banner")
    assert banner.inner_text().startswith("전환해도 안전합니다")
    assert page.locator("#verdict").get_attribute("class") == "verdict-safe"
    evidence = page.locator("#evidence li")
    assert evidence.count() == 5 and page.locator("#evidence li.ok").count() == 5
    assert "값 단위로 동일함을 증명" in evidence.nth(0).inner_text()
    assert page.locator("#next li").count() >= 3 and "롤백" in page.locator("#next").inner_text()
    box = banner.bounding_box()
    assert box and box["y"] < 200, "the verdict is the first thing on the page"
    page.screenshot(path=str(ARTIFACTS / "report_ko.png"), full_page=True)
    page.close()

    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    english = folder / "report-en.html"
    english.write_text(report.render(folder, summary, "en"), encoding="utf-8")
    page = _open(browser, english)
    assert page.locator("#banner").inner_text().startswith("Safe to cut over")
    assert "rows proven identical" in page.locator("#evidence li").nth(0).inner_text()
    order = page.locator("table#tables tbody tr td:first-child").all_inner_texts()
    assert order[0] == "spc_qualitymeasurement"  # largest first
    page.screenshot(path=str(ARTIFACTS / "report_en.png"), full_page=True)
    page.close()


def test_notebook_03_reads_cleanly(korean_run, browser):
    _ws, _done, folder = korean_run
    ARTIFACTS.mkdir(exist_ok=True)
    page = _open(browser, folder / "03_migrate.html", width=1300)
    text = page.locator("body").inner_text()
    assert "run_dir = " not in text and "sqlite_path = " not in text  # parameters: once
    assert page.locator(".runbook-settings").count() == 1
    assert "PosixPath(" not in text and "Check(id=" not in text
    cells = page.locator("td").all_inner_texts()
    assert "NaN" not in cells and not [c for c in cells if c.endswith(".0") and
                                       c[:-2].isdigit()], "counts shown as floats"
    ddl = page.locator("details").filter(has_text="schema: sqlite")
    assert ddl.count() >= 1 and ddl.first.get_attribute("open") is None  # folded
    rules = page.locator("div.runbook-table table").filter(has_text="DATETIME").first
    assert "(DATETIME|TIMESTAMP)" in rules.inner_text() and "…" not in rules.inner_text()
    align = rules.locator("td").first.evaluate("td => getComputedStyle(td).textAlign")
    assert align == "left"
    assert page.locator(".runbook-status").count() == 1  # the stage's checks, once
    page.screenshot(path=str(ARTIFACTS / "notebook_03_ko.png"), full_page=True)
    page.close()
