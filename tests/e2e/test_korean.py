"""A training run with `language: ko` shows no English prose to a reader.

Every executed notebook (markdown and outputs) and `report.html` are scanned by
`tests/untranslated.py`: code, SQL, identifiers, paths, numbers and program output are allowed,
sentences and table headers in English are not. The run uses the generated Korean notebooks
(`notebooks/ko/`), and `runbook run` itself speaks Korean.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from untranslated import html_findings, notebook_findings

pytestmark = pytest.mark.slow
HANGUL = re.compile("[\uac00-\ud7a3]")


def test_korean_run_exits_0(korean_run):
    _ws, done, folder = korean_run
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert len(sorted(folder.glob("0*.ipynb"))) == 9


def test_korean_run_shows_no_english_prose(korean_run):
    _ws, done, folder = korean_run
    assert done.returncode == 0, done.stdout[-3000:]
    found = [f for book in sorted(folder.glob("0*.ipynb")) for f in notebook_findings(book)]
    found += html_findings(folder / "report.html")
    assert not found, f"{len(found)} English segment(s) in a Korean run:\n" + "\n".join(found)


def test_korean_run_used_the_korean_notebooks(korean_run):
    _ws, _done, folder = korean_run
    nb = nbformat.read(str(folder / "03_migrate.ipynb"), as_version=4)
    assert "notebooks/ko/03_migrate.ipynb" in nb.metadata["papermill"]["input_path"]
    assert HANGUL.search(nb.cells[0].source)


def test_runbook_run_prints_korean(korean_run):
    _ws, done, folder = korean_run
    assert done.stdout.startswith("실행 ko: 단계 9개")
    assert "[    정상] 03_migrate" in done.stdout
    assert f"보고서: {folder / 'report.html'}" in done.stdout


def test_korean_report_gives_the_verdict_first(korean_run):
    _ws, _done, folder = korean_run
    text = (folder / "report.html").read_text(encoding="utf-8")
    top = text[:text.index("id='stages'")]
    assert "verdict-safe" in top and "전환해도 안전합니다" in top
    assert re.search(r"([\d,]+)행 중 \1행이 값 단위로 동일함을 증명", top)
    assert "원본 " in top and "→ 대상 postgresql://spc_user:********@" in top
