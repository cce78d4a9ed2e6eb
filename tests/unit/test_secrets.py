"""Secrets never show their value; scrub masks known values and DSN passwords."""

from __future__ import annotations

import copy
import html
import json
import pickle
from urllib.parse import quote

import pytest

from runbook_lib.core.secrets import MASK, Secret, register, scrub


def test_secret_never_shows_its_value():
    secret = Secret("s3cr3t-value", source="$DB_PASSWORD")
    shown = [repr(secret), str(secret), f"{secret}", f"{secret!r}", secret._repr_html_(),
             json.dumps({"p": secret}, default=str), "%s" % (secret,)]  # noqa: UP031
    assert all("s3cr3t-value" not in s for s in shown)
    assert MASK in repr(secret) and "$DB_PASSWORD" in repr(secret)
    assert secret.reveal() == "s3cr3t-value"


def test_ipython_pretty_printer_is_masked():
    from IPython.lib.pretty import pretty

    assert "hidden-pp" not in pretty(Secret("hidden-pp"))


def test_secret_cannot_be_pickled():
    with pytest.raises(TypeError):
        pickle.dumps(Secret("x-pickle"))


def test_copies_share_the_secret():
    secret = Secret("copy-me")
    assert copy.deepcopy(secret) is secret and copy.copy(secret) is secret
    assert copy.deepcopy({"a": secret})["a"].reveal() == "copy-me"


def test_equality_and_truth():
    assert Secret("eq-one") == Secret("eq-one") and Secret("eq-one") != Secret("eq-two")
    assert not Secret("") and Secret("truthy-1")
    assert len({Secret("eq-one"), Secret("eq-one")}) == 1


def test_scrub_masks_known_values():
    Secret("known-value-1")
    register("known-value-2")
    text = scrub("error: known-value-1 and known-value-2 in one line")
    assert "known-value" not in text and text.count(MASK) == 2


@pytest.mark.parametrize("text, hidden", [
    ("postgresql://spc_user:pa55@localhost:5432/spc_db", "pa55"),
    ("postgres://u:p%40ss@h/db", "p%40ss"),
    ("postgresql+psycopg2://u:xyz@h:1/d", "xyz"),
    ("host=localhost password=abc123 user=u", "abc123"),
    ("host=h password='quoted pw' user=u", "quoted pw"),
    ("PASSWORD = hunter2", "hunter2"),
])
def test_scrub_masks_dsn_passwords(text, hidden):
    out = scrub(text)
    assert hidden not in out and MASK in out


def test_scrub_keeps_other_text_and_empty():
    assert scrub("") == ""
    assert scrub("postgresql://u:********@h/db") == "postgresql://u:********@h/db"
    assert scrub("nothing secret here") == "nothing secret here"


@pytest.mark.parametrize("escape", [html.escape, lambda v: json.dumps(v)[1:-1],
                                    lambda v: quote(v, safe="")],
                         ids=["html", "json", "url"])
def test_scrub_finds_a_secret_after_a_writer_escaped_it(escape):
    value = 'p"w&<d>\\ü' + "x9"
    register(value)
    page = f"<td>{escape(value)}</td>"
    assert escape(value) != value and MASK in scrub(page) and escape(value) not in scrub(page)


def test_report_masks_a_password_that_html_escaping_changes(tmp_path):
    from runbook_lib.app import report

    value = 'a"b&c<d>' + "zz"
    register(value)
    summary = {"run_id": "r", "status": "failed", "params": {}, "stages": [
        {"stage": "03", "notebook": "03_migrate.ipynb", "status": "failed",
         "error": {"cell": 1, "type": "X", "message": f"password={value} at {value}"},
         "diagnosis": {"problem": "", "fix": f"use {value}", "causes": []}}]}
    page = report.render(tmp_path, summary)
    assert value not in page and html.escape(value) not in page
