"""Text from data made safe where it is shown: HTML, Markdown, a terminal or a log.

Table, column and file names, values and error messages come from the user's SQLite file and
parameters: hostile until proven otherwise. `html` escapes for HTML text and attributes;
`markdown` for text spliced into a Markdown display; `terminal` turns control characters
(escape sequences that retitle or clear a terminal, carriage returns and newlines that forge
a `[ ok ]` line, bidirectional overrides) into visible `\\xNN` / `\\uNNNN` escapes.
"""

from __future__ import annotations

import html as _html
import re
from typing import Any

# C0 controls, DEL, C1 controls, bidirectional embeddings/overrides/isolates, line and
# paragraph separators, zero-width joiners: nothing a name should smuggle to a terminal.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069"
                      "\ufeff]")
_KEEP_MULTILINE = {"\n", "\t"}
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def _visible(char: str) -> str:
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def terminal(value: Any, newlines: bool = False) -> str:
    """`value` as text safe to print: control characters shown as escapes, never acted on.

    With `newlines`, line breaks and tabs of a message are kept (other controls escaped).
    """
    text = "" if value is None else str(value)
    keep = _KEEP_MULTILINE if newlines else set()
    return _CONTROL.sub(lambda m: m.group() if m.group() in keep else _visible(m.group()), text)


def html(value: Any) -> str:
    """`value` as HTML text or attribute value (quotes escaped too)."""
    return _html.escape("" if value is None else str(value), quote=True)


def markdown(value: Any) -> str:
    """`value` as literal text inside Markdown: no markup, no raw HTML, no links."""
    text = _html.escape(terminal(value), quote=False)  # &#x27; would lose its '#' below
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def fence(text: str, language: str = "") -> str:
    """`text` in a fenced code block that no run of backticks inside it can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    marks = "`" * max(3, longest + 1)
    return f"{marks}{language}\n{text.rstrip()}\n{marks}"


def label(value: Any, limit: int = 30) -> str:
    """A short progress-bar label: terminal-safe, and HTML-safe where the bar is a widget."""
    text = terminal(value)[:limit]
    return html(text) if _widget_bars() else text


def _widget_bars() -> bool:
    """True when tqdm.auto draws ipywidgets bars (their label is HTML)."""
    try:
        from tqdm.auto import tqdm
        from tqdm.notebook import tqdm as notebook_tqdm
    except ImportError:
        return False
    return issubclass(tqdm, notebook_tqdm)


__all__ = ["terminal", "html", "markdown", "fence", "label"]
