"""Messages users read most, in English and Korean, kept as data side by side.

`t(text, language)` picks a language. `use(language)` sets the language of displays that
cannot be told one (a table's `_repr_html_` in a notebook): `load_settings` calls it with the
notebook's `language`, and `current()` reads it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

LANGUAGES = ("en", "ko")
Text = Mapping[str, str]  # {"en": "...", "ko": "..."}
_current = "en"


class Filled(dict):
    """A Text already filled in (from `fill` or `as_is`): never formatted again, so braces in
    what was filled (a path, a value from data) stay as they are."""


def t(text: Text | str, language: str | None = None, **values) -> str:
    """Pick the language (default: `current()`, falling back to English); fill `{placeholders}`."""
    language = language or _current
    chosen = text if isinstance(text, str) else text.get(language) or text["en"]
    return chosen.format(**values) if values and not isinstance(text, Filled) else chosen


def is_text(value) -> bool:
    return isinstance(value, Mapping) and "en" in value


def fill(text: Text | str, **values) -> Filled:
    """`text` filled in every language: a Text to hand on (a part of an error's message). A
    value that is itself a Text is filled in the same language."""
    return Filled({language: t(text, language, **{k: t(v, language) if is_text(v) else v
                                                  for k, v in values.items()})
                   for language in LANGUAGES})


def as_is(text: str) -> Filled:
    """A text already in the run's language (rendered earlier), handed on unformatted."""
    return Filled(dict.fromkeys(LANGUAGES, text))


def use(language: str) -> None:
    """Set the language of displays that have no settings at hand."""
    global _current
    _current = language if language in LANGUAGES else "en"


def current() -> str:
    return _current


ENVIRONMENT = "RUNBOOK_LANGUAGE"  # e.g. RUNBOOK_LANGUAGE=ko
LOCALE = ("LC_ALL", "LC_MESSAGES", "LANG")  # POSIX order: the first one set decides


def from_environment(environ: Mapping[str, str] | None = None) -> str:
    """The language the environment asks for: `RUNBOOK_LANGUAGE`, else the locale of messages
    (`ko_KR.UTF-8` → "ko"); English when neither names a language we have."""
    environ = os.environ if environ is None else environ
    chosen = environ.get(ENVIRONMENT, "").strip().lower()
    if not chosen:
        chosen = next((environ[name] for name in LOCALE if environ.get(name)), "").lower()
    code = chosen.replace("-", "_").split("_")[0].split(".")[0]
    return code if code in LANGUAGES else "en"


__all__ = ["LANGUAGES", "Text", "Filled", "ENVIRONMENT", "t", "fill", "as_is", "use", "current",
           "from_environment"]
