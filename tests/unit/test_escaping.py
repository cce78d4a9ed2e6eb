"""Escaping (issue 13, class 8): names and values from data never act as markup or on a
terminal. Every HTML the runbook displays or writes is checked with attacks in every value
it shows; the console lines with escape sequences, carriage returns and forged lines.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from runbook_lib.app import cli, overview, runner
from runbook_lib.app.report import render
from runbook_lib.bench import markdown as bench_markdown
from runbook_lib.bench.notes import notes
from runbook_lib.core import display, escape, manifest
from runbook_lib.core.diagnose import explain
from runbook_lib.core.results import Check, table
from runbook_lib.migrate.profile import BadValues, Profile
from runbook_lib.operate import deploy
from runbook_lib.validate.report import TableVerdict, ValidationReport

XSS = ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>",
       "\"'><svg onload=alert(1)>", "[click](javascript:alert(1))", "`</code><b>x</b>"]
TERMINAL = "\x1b]0;pwned\x07\x1b[2J\r\n  [    ok] 04_validate\u202e"
LIVE = re.compile(r"<(img|script|svg)\b|href=.?javascript:|<b>x</b>", re.I)  # live markup


def assert_inert(page: str) -> None:
    found = LIVE.search(page)
    assert not found, page[max(0, found.start() - 80):found.end() + 80]


def test_settings_html_escapes_every_value(make_settings):
    for attack in XSS:
        settings = make_settings(sqlite_path=f"{attack}.sqlite3", django_settings=attack)
        page = settings._repr_html_()
        assert_inert(page)
        assert "&lt;" in page or "[click]" in page


def test_parameters_table_escapes_in_the_notebook(make_settings):
    settings = make_settings(sqlite_path=f"{XSS[0]}.sqlite3", backup_dir=XSS[2])
    assert_inert(display.frame_html(overview.parameters_table(settings)))  # as a cell shows it
    assert_inert(display.frame_html(overview.stage_map()))
    assert_inert(display.frame_html(overview.passwords(settings)))


def test_value_profile_and_validation_report_escape_names_and_values():
    bad = [BadValues(a, a, "integer", "not an integer", 1, [(1, a)]) for a in XSS]
    assert_inert(Profile(bad, {}, quarantine_dir=XSS[0], policy="quarantine")._repr_html_())
    verdicts = [TableVerdict(a, a, verdict="mismatch", source_rows=1, target_rows=0, missing=1)
                for a in XSS]
    for v in verdicts:
        v.samples = pd.DataFrame([{"id": XSS[0], "difference": "missing",
                                   f"{XSS[1]} (source)": XSS[2]}])
    checks = table([Check("VA001", a, "fail", a, a) for a in XSS])
    report = ValidationReport(mode="full", tables=verdicts, checks=checks)
    assert_inert(report._repr_html_())
    assert_inert(report.differences().to_html())


def test_diagnosis_and_check_tables_escape():
    assert_inert(explain(f"relation \"{XSS[0]}\" does not exist")._repr_html_())
    assert_inert(table([Check("X001", XSS[0], "warn", XSS[1], XSS[2])])._repr_html_())


def test_markdown_displays_show_data_as_text():
    shape = SimpleNamespace(rows=3, table=" ".join(XSS), journal=XSS[0])
    rendered = markdown2html_mistune(bench_markdown(notes([], shape)).data)
    assert_inert(rendered)
    assert "click" in rendered  # shown, as text
    attack = "ok\n```\n" + XSS[0] + "\n````\n" + XSS[1]
    block = markdown2html_mistune(deploy.code_block(attack, "yaml").data)
    assert_inert(block)
    assert escape.fence("a ```` b").startswith("`````")


def test_report_escapes_the_manifest_and_summary(tmp_path):
    manifest.update(tmp_path, "migration", {"tables": [
        {"table": a, "source_rows": 1, "loaded_rows": 1, "quarantined": 0} for a in XSS]})
    manifest.update(tmp_path, "validation", {"ok": False, "file": XSS[2], "tables": [
        {"table": a, "verdict": "mismatch", "source_rows": 1, "target_rows": 0,
         "detail": a} for a in XSS]})
    manifest.update(tmp_path, "provision", {"password_reset": True, "warning": XSS[0]})
    summary = {"run_id": XSS[0], "status": "failed", "params_file": XSS[1], "stages": [
        {"stage": "03", "notebook": "03_migrate.ipynb", "status": "failed", "html": XSS[2],
         "error": {"cell": 1, "type": "X", "message": XSS[0]},
         "diagnosis": {"problem": "DX000", "title": XSS[1], "causes": XSS, "fix": XSS[0]},
         "details": {"x": XSS[4]}}]}
    assert_inert(render(Path(tmp_path), summary, "en"))


@pytest.mark.parametrize("newlines", [False, True])
def test_terminal_escapes_control_characters(newlines):
    shown = escape.terminal(TERMINAL, newlines=newlines)
    assert "\x1b" not in shown and "\x07" not in shown and "\r" not in shown
    assert "\u202e" not in shown and "\\x1b]0;pwned\\x07" in shown
    assert ("\n" in shown) is newlines
    if not newlines:
        assert "\\n  [    ok] 04_validate" in shown
    assert escape.terminal("한국어 tab\tname") == "한국어 tab\\tname"


def test_failed_stage_lines_cannot_forge_the_console(capsys):
    failed = runner.StageResult("03", "03_migrate.ipynb", "failed",
                                error={"cell": 7, "type": "MigrationError",
                                       "message": f"table {TERMINAL} has bad values"},
                                diagnosis={"problem": "DX020", "title": TERMINAL,
                                           "fix": TERMINAL},
                                details={"removed_partial_files": [TERMINAL]})
    runner._print_failure(failed, out=None)
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
    assert not [line for line in out.splitlines() if line.lstrip().startswith("[")]


def test_cli_error_with_a_hostile_parameter_name(tmp_path, capsys):
    profile = tmp_path / "p.yaml"
    profile.write_text('"\\e]0;pwned\\a\\e[2J\\r  [    ok] 04": 1\n')
    assert cli.main(["run", "--params", str(profile)]) == 2
    err = capsys.readouterr().err
    assert "Unknown parameter" in err and "\x1b" not in err and "\r" not in err
    assert "\\x1b]0;pwned\\x07" in err
