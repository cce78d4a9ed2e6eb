"""`Step`: one statement of the post-load (keys, indexes, foreign keys, translated SQL)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Step"]


@dataclass(frozen=True)
class Step:
    """One post-load statement; kind: index, constraint, fk, validate, optional. An optional
    step translated from the SQLite file carries what it is (`label`: view, index, default,
    check) and the SQLite text it came from (`source`), for the follow-up if it is refused."""

    kind: str
    table: str
    name: str
    sql: str
    label: str = ""
    source: str = ""
