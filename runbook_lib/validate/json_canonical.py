"""JSON values in one canonical spelling, parsed without recursion.

jsonb semantics: key order, white space and number spelling do not matter (1.0 = 1.00 = 1,
a key given twice keeps its last value), values do. Documents of any depth are handled by
an explicit stack: a value nested 900 levels deep (SQLite accepts 1000) used to exhaust
Python's recursion limit and crash stage 04.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation

_TOKEN = re.compile(r'[ \t\n\r]*(?:([\[\]{}:,])|("(?:[^"\\]|\\.)*")'
                    r"|(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)"
                    r"|(true|false|null|NaN|-?Infinity))", re.S)
_SPACE = re.compile(r"[ \t\n\r]*")
_CLOSE = {"[": "]", "{": "}"}
_dumps = json.JSONEncoder(ensure_ascii=False).encode  # one escape spelling per string


def decimal_text(d: Decimal) -> str:
    """A decimal's value as exact text: 12.50 and 12.5 give "12.5", -0 gives "0"."""
    if not d.is_finite():
        return str(d)
    if d.is_zero():
        return "0"
    text = f"{d:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _scalar(string: str | None, number: str | None, literal: str | None) -> str:
    if string is not None:
        return _dumps(json.loads(string))
    if number is not None:
        try:
            return decimal_text(Decimal(number))
        except InvalidOperation:
            raise ValueError(f"bad number {number!r}") from None
    return literal


def canonical(text: str) -> str:
    """The canonical text of a JSON document; ValueError when it is not JSON.

    The C parser reads ordinary documents; one nested deeper than it can go is read by
    `_parse` instead. Either way the text is built without recursion.
    """
    try:
        return _text(json.loads(text, parse_float=Decimal))
    except RecursionError:
        return _render(_parse(text))


def _text(value) -> str:
    """Canonical text of a parsed value (recursive: the caller falls back when too deep)."""
    kind = type(value)
    if kind is dict:
        return "{" + ",".join(_dumps(k) + ":" + _text(value[k]) for k in sorted(value)) + "}"
    if kind is list:
        return "[" + ",".join(map(_text, value)) + "]"
    if kind is str:
        return _dumps(value)
    if kind is int:
        return str(value)
    if kind is Decimal:
        return decimal_text(value)
    if kind is float:  # NaN, Infinity
        return str(Decimal(repr(value)))
    return "null" if value is None else "true" if value is True else "false"


def _parse(text: str):
    """Tokens → tree with an explicit stack: any depth."""
    stack: list[list] = []  # [opener, parts, pending key]
    top: list | None = None
    expect, pos = "value", 0

    def emit(value) -> str:
        nonlocal top
        if not stack:
            top = [value]
            return "end"
        opener, parts, key = stack[-1]
        parts.append(value if opener == "[" else (key, value))
        return "more"

    while expect != "end":
        found = _TOKEN.match(text, pos)
        if not found:
            raise ValueError(f"not JSON at character {pos}")
        pos = found.end()
        punct, string, number, literal = found.groups()
        if expect in ("value", "value]") and (string or number or literal):
            expect = emit(_scalar(string, number, literal))
        elif expect in ("value", "value]") and punct in ("[", "{"):
            stack.append([punct, [], None])
            expect = "value]" if punct == "[" else "key}"
        elif expect in ("key", "key}") and string:
            stack[-1][2] = json.loads(string)
            expect = ":"
        elif expect == ":" and punct == ":":
            expect = "value"
        elif expect == "more" and punct == ",":
            expect = "value" if stack[-1][0] == "[" else "key"
        elif (expect in ("more", "value]", "key}") and stack
              and punct == _CLOSE[stack[-1][0]] and (expect == "more" or expect[-1] == punct)):
            opener, parts, _ = stack.pop()
            if opener == "{":  # the last of a repeated key wins, as in jsonb
                parts = [list(pair) for pair in sorted(dict(parts).items())]
            expect = emit((opener, parts))
        else:
            raise ValueError(f"not JSON at character {found.start()}")
    if _SPACE.match(text, pos).end() != len(text):
        raise ValueError(f"extra data at character {pos}")
    return top[0]


def _render(value) -> str:
    """Flatten the parsed tree into text, iteratively (no recursion, linear time)."""
    out: list[str] = []
    work = [value]
    while work:
        item = work.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        opener, parts = item
        pieces: list = [opener]
        for i, part in enumerate(parts):
            if i:
                pieces.append(",")
            if opener == "{":
                pieces += [_dumps(part[0]), ":", part[1]]
            else:
                pieces.append(part)
        pieces.append(_CLOSE[opener])
        work.extend(reversed(pieces))
    return "".join(out)





def jsonb_text(text: str) -> str | None:
    """What PostgreSQL prints for `text::jsonb` (None: jsonb would refuse it, or too deep).

    jsonb keeps the last of repeated keys, orders keys by byte length and then bytes, keeps a
    number's digits and scale as numeric does (1.50 stays 1.50, 1e2 is 100, -0 is 0), and
    writes `, ` and `: ` between items; strings are escaped as JSON requires, the rest as is.
    """
    try:
        value = json.loads(text, parse_float=Decimal, parse_constant=_refuse)
        return _jsonb(value)
    except (ValueError, TypeError, RecursionError, UnicodeEncodeError):
        return None


def _refuse(name: str):
    raise ValueError(f"jsonb has no {name}")


def _key(k: str) -> tuple[int, bytes]:
    raw = k.encode()
    return len(raw), raw


def _jsonb(value) -> str:
    kind = type(value)
    if kind is dict:
        return "{" + ", ".join(f"{_string(k)}: {_jsonb(value[k])}"
                               for k in sorted(value, key=_key)) + "}"
    if kind is list:
        return "[" + ", ".join(map(_jsonb, value)) + "]"
    if kind is str:
        return _string(value)
    if kind is int:
        return str(value)
    if kind is Decimal:
        return f"{abs(value) if value.is_zero() else value:f}"
    return "null" if value is None else "true" if value is True else "false"


def _string(s: str) -> str:
    if "\x00" in s:  # jsonb refuses \u0000
        raise ValueError("NUL in a JSON string")
    s.encode()  # a lone surrogate: jsonb refuses it (UnicodeEncodeError)
    return _dumps(s)
__all__ = ["canonical", "decimal_text", "jsonb_text"]
