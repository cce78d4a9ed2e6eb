"""Every message users read exists in English and Korean, with the same placeholders.

Catalogues are found generically: every module of runbook_lib is imported and its
module-level values are walked (dicts, lists, tuples, dataclass instances such as the
diagnosis `Problem`s); any dict whose keys include "en" or "ko" and whose values are all
strings is a message (`i18n.Text`), and its language keys (two lower-case letters) must be
exactly "en" and "ko". Other keys are metadata (a diagnosis cause's "when").
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re
import string
from types import ModuleType, SimpleNamespace

import pytest

import runbook_lib
from runbook_lib.core import i18n

HANGUL = re.compile("[\uac00-\ud7a3]")
LANGUAGE_KEY = re.compile(r"^[a-z]{2}$")
# Where the messages the issue names live (install-check remedies, diagnoses, validation
# verdicts, checklist items, the form, the report): some module of each family holds them.
REQUIRED = ("prepare.install_help", "core.catalogue", "validate.",
            "cutover.", "app.widgets", "app.report")


def modules() -> list[ModuleType]:
    names = sorted(m.name for m in pkgutil.walk_packages(runbook_lib.__path__, "runbook_lib.")
                   if not m.ispkg)
    return [importlib.import_module(name) for name in names]


def is_text(value) -> bool:
    return (isinstance(value, dict) and bool(value) and bool({"en", "ko"} & set(value))
            and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()))


def walk(value, where: str, seen: set[int], found: list[tuple[str, dict]]) -> None:
    """Collect (location, message) pairs from any nesting of containers and dataclasses."""
    if id(value) in seen:
        return
    seen.add(id(value))
    if is_text(value):
        found.append((where, value))
    elif isinstance(value, dict):
        for key, item in value.items():
            walk(item, f"{where}[{key!r}]", seen, found)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(value):
            walk(item, f"{where}[{index}]", seen, found)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            walk(getattr(value, f.name), f"{where}.{f.name}", seen, found)


def catalogue() -> list[tuple[str, dict]]:
    found: list[tuple[str, dict]] = []
    seen: set[int] = set()
    for module in modules():
        for name, value in vars(module).items():
            if not name.startswith("__") and not isinstance(value, (ModuleType, type)):
                walk(value, f"{module.__name__}.{name}", seen, found)
    return found


MESSAGES = catalogue()


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_catalogues_are_found():
    owners = {".".join(where.split(".")[1:3]) for where, _ in MESSAGES}
    assert len(MESSAGES) >= 50
    missing = [m for m in REQUIRED if not any(o.startswith(m) for o in owners)]
    assert not missing, f"no bilingual messages found in {missing}"


@pytest.mark.parametrize("where, text", MESSAGES, ids=[w for w, _ in MESSAGES])
def test_message_exists_in_both_languages(where, text):
    languages = {key for key in text if LANGUAGE_KEY.match(key)}
    assert languages == set(i18n.LANGUAGES), f"{where} has {sorted(languages)}"
    assert text["en"].strip() and text["ko"].strip(), f"{where} has an empty translation"
    assert placeholders(text["en"]) == placeholders(text["ko"]), where
    if re.search(r"[A-Za-z]{3,}\s+[A-Za-z]{3,}", text["en"]):  # a sentence, not a name
        assert HANGUL.search(text["ko"]), f"{where}: the Korean text is not Korean"


def test_t_picks_the_language_and_fills_placeholders():
    text = {"en": "port {port} is free", "ko": "{port} 포트가 비어 있습니다"}
    assert i18n.t(text, "ko", port=5432) == "5432 포트가 비어 있습니다"
    assert i18n.t(text, "en", port=5432) == "port 5432 is free"


def test_diagnosis_switches_language():
    values = SimpleNamespace(password_env="DB_PASSWORD", db_user="spc_user", db_name="spc_db",
                             db_host="localhost", db_port=5432, language="ko")
    from runbook_lib.core.diagnose import explain

    ko = explain("FATAL: password authentication failed for user", values)
    en = explain("FATAL: password authentication failed for user", values, language="en")
    assert HANGUL.search(ko.title) and HANGUL.search(ko.fix) and not HANGUL.search(en.fix)
    assert "DB_PASSWORD" in ko.fix


def test_install_remedy_switches_language():
    from runbook_lib.prepare import checks

    ko = checks.check_package("no_such_module_for_i18n", "no-such-dist", "ko")
    en = checks.check_package("no_such_module_for_i18n", "no-such-dist", "en")
    assert ko.status == en.status == "fail"
    assert HANGUL.search(ko.hint) and not HANGUL.search(en.hint)


def test_settings_form_and_report_switch_language(make_settings, tmp_path):
    from runbook_lib.app import report, widgets

    form = widgets.settings_form(make_settings(language="ko"), force=True)
    assert form.button.description == "이 설정 사용"
    summary = {"run_id": "r1", "status": "ok", "params_file": "", "stages": [],
               "language": "ko"}
    assert "단계" in report.render(tmp_path, summary)
