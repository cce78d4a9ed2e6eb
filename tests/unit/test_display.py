"""How results look in a notebook: whole, left-aligned, integers as integers, escaped, in the
reader's language, MathJax kept away; the settings summary shows source → target once."""

from __future__ import annotations

import math

import pandas as pd

from runbook_lib.core import display, i18n
from runbook_lib.core.results import Check, table


def test_frames_show_counts_as_integers_and_gaps_empty():
    frame = pd.DataFrame({"table": ["a", "b"], "sqlite_sequence": [32.0, math.nan],
                          "rows": [1, 2]})
    html = display.frame_html(frame, "en")
    assert ">32<" in html and "32.0" not in html and "NaN" not in html and "nan" not in html
    assert "<th style='text-align:left'>table</th>" in html
    assert "<td style='text-align:left;vertical-align:top'>a</td>" in html
    assert "text-align:right" in html  # numbers stay right-aligned


def test_frames_are_whole_translated_and_escaped():
    long = "x" * 300
    frame = pd.DataFrame({"table": [f"<b>{i}</b>" for i in range(40)], "note": [long] * 40,
                          "status": ["ok"] * 40})
    html = display.frame_html(frame, "ko")
    assert long in html and "…" not in html and html.count("<tr>") == 41  # nothing cut
    assert "&lt;b&gt;0&lt;/b&gt;" in html and "<b>0</b>" not in html
    assert ">테이블<" in html and ">설명<" in html and ">정상<" in html
    assert "overflow:auto" in html  # a long table scrolls in its own box


def test_regex_dollars_are_kept_from_mathjax_and_code_columns_are_code():
    frame = pd.DataFrame({"rule": ["r"], "sqlite declared type": ["^INT$|^BIGINT$"]})
    html = display.frame_html(frame, "en")
    assert "mathjax_ignore" in html and "tex2jax_ignore" in html
    assert "$" not in html and "&#36;" in html
    assert "<code>^INT&#36;|^BIGINT&#36;</code>" in html


def test_checks_render_in_the_display_language():
    checks = table([Check("PG001", "Python", "ok", "3.11"), Check("X1", "<i>", "fail", "m",
                                                                    "do <this>")])
    i18n.use("ko")
    try:
        html = checks._repr_html_()
    finally:
        i18n.use("en")
    assert ">상태<" in html and ">정상<" in html and ">실패<" in html
    assert "&lt;i&gt;" in html and "do &lt;this&gt;" in html
    assert "<p><i>none</i></p>" == table([])._repr_html_()


def test_settings_summary_is_one_glance_and_escaped(make_settings):
    settings = make_settings(sqlite_path="<script>x</script>.sqlite3", language="ko")
    html = settings._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "원본" in html and "대상" in html and "<details>" in html
    assert html.count("sqlite_path") == 1  # every parameter once, behind the fold
    assert settings.dsn() in html and "********" in html
