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

MAX_BYTES = 256 * 1024
MAX_DEPTH = 32


class _Refused(yaml.YAMLError):
    def __init__(self, message: str, hint: str, mark) -> None:
        super().__init__(message)
        self.message, self.hint, self.mark = message, hint, mark


class StrictLoader(yaml.SafeLoader):
    """SafeLoader without aliases, duplicate keys or deep nesting."""

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(f"an alias (*{event.anchor}) refers back to an anchor; aliases are "
                           "not accepted (they can make a small file expand without bound)",
                           "Write each value out in full; a parameters profile needs no "
                           "anchors (&name) or aliases (*name).", event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"values are nested more than {MAX_DEPTH} levels deep",
                               "Parameters are flat values or one-level mappings; remove the "
                               "nesting.", self.peek_event().start_mark)
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
                raise _Refused(f"the key {key!r} is given twice (lines {first.line + 1} and "
                               f"{key_node.start_mark.line + 1}); YAML would silently keep "
                               "the last one",
                               f"Keep one '{key}:' line and delete the other.",
                               key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def load(text: str, where: str) -> Any:
    """Parse `text` (from `where`: a file name or `-p name`) or raise ConfigError."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise ConfigError(f"{where} is {size:,} bytes; parameters are limited to "
                          f"{MAX_BYTES:,} bytes.",
                          "A profile holds a few dozen short lines: check that this is the "
                          "right file.")
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 (a SafeLoader)
    except _Refused as exc:
        raise ConfigError(f"{where}, line {exc.mark.line + 1}: {exc.message}.",
                          exc.hint) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{where} is not valid YAML{line}: "
                          f"{getattr(exc, 'problem', None) or exc}.",
                          "Fix the YAML syntax: one 'name: value' per line.") from None
    except RecursionError:
        raise ConfigError(f"{where} is nested too deeply.",
                          "Parameters are flat values or one-level mappings.") from None


__all__ = ["MAX_BYTES", "MAX_DEPTH", "StrictLoader", "load"]
