"""Messages users read most, in English and Korean, kept as data side by side."""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGES = ("en", "ko")
Text = Mapping[str, str]  # {"en": "...", "ko": "..."}


def t(text: Text | str, language: str = "en", **values) -> str:
    """Pick the language (falling back to English) and fill `{placeholders}`."""
    chosen = text if isinstance(text, str) else text.get(language) or text["en"]
    return chosen.format(**values) if values else chosen


__all__ = ["LANGUAGES", "t"]
