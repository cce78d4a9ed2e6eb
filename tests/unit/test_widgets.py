"""The settings form: fills the same Settings, keeps the password out of every output."""

from __future__ import annotations

import json
import os

import pytest
from conftest import APP_PASSWORD

from runbook_lib.app import widgets
from runbook_lib.core import db
from runbook_lib.core.config import load_settings


def test_batch_mode_returns_none_and_never_waits(monkeypatch):
    monkeypatch.setenv("RUNBOOK_BATCH", "1")
    settings = load_settings(target="server", db_port=5999)
    assert widgets.settings_form(settings) is None


def test_without_a_kernel_returns_none():
    settings = load_settings(target="server", db_port=5999)
    assert widgets.interactive() is False
    assert widgets.settings_form(settings) is None


def test_form_shows_the_current_settings(make_settings):
    settings = make_settings(db_name="spc_db", method="copy", schema="django")
    form = widgets.settings_form(settings, force=True)
    assert form.fields["db_name"].value == "spc_db"
    assert form.fields["db_port"].value == settings.db_port
    assert form.fields["schema"].options == ("django", "sqlite")
    assert form.password.value == ""
    assert "application/vnd.jupyter.widget-view+json" in form._repr_mimebundle_()


def test_apply_fills_settings_and_clears_the_password(fresh_db, monkeypatch):
    monkeypatch.setenv(fresh_db.password_env, "wrong")
    form = widgets.settings_form(fresh_db, force=True)
    form.fields["method"].value = "loaddata"
    form.fields["schema"].value = "sqlite"
    form.password.value = APP_PASSWORD
    form.button.click()
    assert (fresh_db.method, fresh_db.schema) == ("loaddata", "sqlite")
    assert os.environ[fresh_db.password_env] == APP_PASSWORD
    assert form.password.value == ""
    state = json.dumps(form.password.get_state())
    assert APP_PASSWORD not in state
    assert APP_PASSWORD not in form.status.value and "not shown" in form.status.value
    assert APP_PASSWORD not in repr(fresh_db)
    with db.connection(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("select current_user")
        assert cur.fetchone()[0] == fresh_db.db_user


def test_invalid_name_is_refused_with_its_fix(make_settings):
    settings = make_settings(db_name="spc_db")
    form = widgets.settings_form(settings, force=True)
    form.fields["db_name"].value = "spc-db; drop"
    form.button.click()
    assert settings.db_name == "spc_db"
    assert "Not applied" in form.status.value and "Fix:" in form.status.value


def test_run_button_calls_the_action_with_the_settings(make_settings):
    settings = make_settings(db_name="spc_db")
    seen = []
    form = widgets.settings_form(settings, action=seen.append, force=True)
    form.fields["db_user"].value = "other_user"
    form.button.click()
    assert seen == [settings] and settings.db_user == "other_user"


@pytest.mark.parametrize("language, word", [("en", "Password"), ("ko", "비밀번호")])
def test_labels_follow_the_language(make_settings, language, word):
    form = widgets.settings_form(make_settings(language=language), force=True)
    assert form.password.description == word


def test_typed_password_leaves_the_widget_at_once(make_settings):
    settings = make_settings()
    form = widgets.settings_form(settings, force=True)
    form.password.value = "typed-secret-123"
    assert form.password.value == "" and "typed-secret-123" not in json.dumps(
        form.password.get_state())
    assert "not shown" in form.status.value and "typed-secret-123" not in form.status.value
    assert form.password.continuous_update is False


def test_menu_items_named_in_hints_exist_in_the_installed_jupyterlab():
    """Every 'Menu ▸ Item' a message or notebook names is a label of the JupyterLab that is
    installed (read from its own bundle), in both languages."""
    import re
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    static = Path(sys.prefix) / "share" / "jupyter" / "lab" / "static"
    bundle = "".join(p.read_text(errors="replace") for p in static.glob("*.js"))
    assert "Run Selected Cell and All Below" in bundle  # the bundle is the one we read
    pattern = re.compile(r"(?:Run|Kernel|File|Edit|View|Settings) ▸ ([A-Z][^.)\"'\n]*)")
    texts = [t for m in widgets.MESSAGES.values() for t in m.values()]
    texts += [p.read_text() for p in (root / "notebooks").glob("*.ipynb")]
    named = {item.strip() for text in texts for item in pattern.findall(text)}
    assert "Run Selected Cell and All Below" in named
    for item in named:
        assert item in bundle, f"JupyterLab has no menu item {item!r}"
