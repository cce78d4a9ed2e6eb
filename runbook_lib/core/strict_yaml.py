"""YAML as the runbook reads it: small, plain, unambiguous.

Profiles and `-p name=value` values are YAML, and YAML can be made to explode: an 839-byte
"billion laughs" document of nested aliases grew the runner past 800 MB. So aliases are
refused (a profile never needs one), documents are limited in size and nesting depth, and a
key given twice is an error instead of YAML's silent last-one-wins.
"""

from __future__ import annotations

from typing import Any

import yaml

from .errors import ConfigError
from .i18n import Text, fill

MAX_BYTES = 256 * 1024
MAX_DEPTH = 32


ERRORS = {
    "alias": {"en": "an alias (*{anchor}) refers back to an anchor; aliases are not accepted "
                    "(they can make a small file expand without bound)",
              "ko": "별칭(*{anchor})이 앵커를 가리킵니다. 별칭은 받지 않습니다(작은 파일을 "
                    "끝없이 불릴 수 있습니다)"},
    "alias_fix": {"en": "Write each value out in full; a parameters profile needs no anchors "
                        "(&name) or aliases (*name).",
                  "ko": "값을 모두 그대로 적으세요. 매개변수 프로필에는 앵커(&name)나 "
                        "별칭(*name)이 필요 없습니다."},
    "deep": {"en": "values are nested more than {depth} levels deep",
             "ko": "값이 {depth}단계보다 깊게 중첩되어 있습니다"},
    "deep_fix": {"en": "Parameters are flat values or one-level mappings; remove the nesting.",
                 "ko": "매개변수는 단순 값이나 한 단계 매핑입니다. 중첩을 없애세요."},
    "twice": {"en": "the key {key} is given twice (lines {first} and {second}); YAML would "
                    "silently keep the last one",
              "ko": "키 {key}이(가) 두 번 나옵니다({first}행과 {second}행). YAML은 말없이 "
                    "마지막 것만 남깁니다"},
    "twice_fix": {"en": "Keep one '{name}:' line and delete the other.",
                  "ko": "'{name}:' 줄 하나만 남기고 다른 줄은 지우세요."},
    "size": {"en": "{where} is {size:,} bytes; parameters are limited to {limit:,} bytes.",
             "ko": "{where}의 크기가 {size:,}바이트입니다. 매개변수는 {limit:,}바이트까지만 "
                   "받습니다."},
    "size_fix": {"en": "A profile holds a few dozen short lines: check that this is the right "
                       "file.",
                 "ko": "프로필은 짧은 줄 수십 개입니다. 올바른 파일인지 확인하세요."},
    "refused": {"en": "{where}, line {line}: {problem}.", "ko": "{where}, {line}행: {problem}."},
    "invalid": {"en": "{where} is not valid YAML: {problem}.",
                "ko": "{where}은(는) 올바른 YAML이 아닙니다: {problem}."},
    "invalid_at": {"en": "{where} is not valid YAML at line {line}, column {column}: {problem}.",
                   "ko": "{where}은(는) 올바른 YAML이 아닙니다({line}행 {column}열): {problem}."},
    "invalid_fix": {"en": "Fix the YAML syntax: one 'name: value' per line.",
                    "ko": "YAML 문법을 고치세요: 한 줄에 'name: value' 하나씩."},
    "too_deep": {"en": "{where} is nested too deeply.", "ko": "{where}의 중첩이 너무 깊습니다."},
    "too_deep_fix": {"en": "Parameters are flat values or one-level mappings.",
                     "ko": "매개변수는 단순 값이나 한 단계 매핑입니다."},
}


class _Refused(yaml.YAMLError):
    """What the strict loader refuses; `load` turns it into a ConfigError (in both languages)."""

    def __init__(self, what: str, mark, **values) -> None:
        super().__init__(what)
        self.what, self.mark, self.values = what, mark, values


class StrictLoader(yaml.SafeLoader):
    """SafeLoader without aliases, duplicate keys or deep nesting."""

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused("alias", event.start_mark, anchor=event.anchor)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused("deep", self.peek_event().start_mark, depth=MAX_DEPTH)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:  # an unhashable key: SafeLoader says so below
                continue
            if first is not key_node.start_mark:
                raise _Refused("twice", key_node.start_mark, key=repr(key), name=str(key),
                               first=first.line + 1, second=key_node.start_mark.line + 1)
        return super().construct_mapping(node, deep=deep)


def load(text: str, where: Text | str) -> Any:
    """Parse `text` (from `where`: a file name or `-p name`) or raise ConfigError."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise ConfigError(ERRORS["size"], ERRORS["size_fix"], where=where, size=size,
                          limit=MAX_BYTES)
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 (a SafeLoader)
    except _Refused as exc:
        problem = fill(ERRORS[exc.what], **exc.values)
        raise ConfigError(ERRORS["refused"], ERRORS[f"{exc.what}_fix"], where=where,
                          line=exc.mark.line + 1, problem=problem, **exc.values) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = {"line": mark.line + 1, "column": mark.column + 1} if mark else {}
        raise ConfigError(ERRORS["invalid_at" if mark else "invalid"], ERRORS["invalid_fix"],
                          where=where, problem=str(getattr(exc, "problem", None) or exc),
                          **at) from None
    except RecursionError:
        raise ConfigError(ERRORS["too_deep"], ERRORS["too_deep_fix"], where=where) from None


__all__ = ["MAX_BYTES", "MAX_DEPTH", "StrictLoader", "load"]
