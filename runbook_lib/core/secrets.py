"""Secrets that never show their value, and a scrubber for text that might hold one."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import quote

MASK = "********"
_KNOWN: set[str] = set()


class Secret:
    """A password: repr, str and notebook display never show the value."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str = "") -> None:
        self._value = value
        self.source = source
        if value:
            _KNOWN.add(value)

    def reveal(self) -> str:
        """Return the real value; only pass it straight to a driver."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __repr__(self) -> str:
        where = f", source={self.source!r}" if self.source else ""
        return f"Secret({MASK!r}{where})"

    __str__ = __repr__

    def _repr_html_(self) -> str:
        return f"<code>{MASK}</code>"

    def _repr_pretty_(self, p, cycle) -> None:  # IPython pretty printer
        p.text(repr(self))

    def __copy__(self) -> Secret:  # immutable: copies (dataclasses.asdict, deepcopy) share it
        return self

    def __deepcopy__(self, memo: dict) -> Secret:
        return self

    def __reduce__(self):
        raise TypeError("a Secret cannot be pickled or serialised")


_URL_PASSWORD = re.compile(r"(postgres(?:ql)?(?:\+\w+)?://[^:/@\s]+:)([^@\s]*)(@)")
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def _forms() -> set[str]:
    """Every known secret as written raw, HTML-escaped, JSON-escaped or URL-quoted: a secret
    holding `"`, `&`, `<` or `\\` is still found after a writer escaped it."""
    forms = set()
    for value in _KNOWN:
        forms |= {value, html.escape(value), html.escape(value, quote=False),
                  json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
                  quote(value, safe="")}
    return {f for f in forms if f}


def scrub(text: str) -> str:
    """Mask every known secret value and any password inside a DSN or key=value string."""
    if not text:
        return text
    for value in sorted(_forms(), key=len, reverse=True):
        text = text.replace(value, MASK)
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    return _KV_PASSWORD.sub(lambda m: m.group(1) + MASK, text)


def scrub_all(value):
    """`scrub` every string inside `value` (dicts, lists, tuples): before JSON encoding, where
    escaping could hide a secret holding a quote or a backslash from `scrub`."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub_all(k): scrub_all(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_all(v) for v in value]
    return value


def register(value: str) -> None:
    """Remember a secret value so that `scrub` masks it wherever it appears."""
    if value:
        _KNOWN.add(value)


__all__ = ["MASK", "Secret", "scrub", "scrub_all", "register"]
