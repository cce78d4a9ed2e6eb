"""Unique PostgreSQL names for a plan: no two objects of the migration may share a name.

Tables, views, indexes and sequences of one schema share a namespace (`pg_class`); the
constraints of a table share another. Names the user sees and chose (tables, views: the
source's or `name_map`'s) are fixed: two of them alike stop the plan with a `name_map` that
works. Names the runbook generates (`<table>_pkey`, `<table>_<cols>_key`, `…_fkey`,
`…_check`) and index names that collide get the first free suffix (`t_pkey1`, `t_pkey2`, …),
in a fixed order, so the same source always gives the same names; each renaming is listed
in the plan (`Plan.renamed`). So `a_b(c UNIQUE)` beside `a(b_c UNIQUE)`, or a table `t`
beside a table `t_pkey`, migrate without a collision.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from ..core.errors import MigrationError
from ..core.i18n import LANGUAGES, Filled, fill, t
from ..core.identifiers import MAX_BYTES, too_long
from .wording import ERRORS, KINDS

__all__ = ["Names", "first_free", "short_name", "suggest"]


def suggest(name: str) -> str:
    """A short, stable replacement for an over-long identifier."""
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    head = name.encode()[:50].decode(errors="ignore")
    return f"{head}_{digest}"


def short_name(*parts: str) -> str:
    """PostgreSQL-style constraint name, shortened with a hash when over 63 bytes."""
    name = "_".join(parts)
    return name if not too_long(name) else suggest(name)


def first_free(wanted: str, taken: set[str]) -> str:
    """`wanted`, or `wanted` + the first number that makes it free (cut to 63 bytes)."""
    if wanted not in taken:
        return wanted
    n = 1
    while True:
        suffix = str(n)
        head = wanted.encode()[:MAX_BYTES - len(suffix)].decode(errors="ignore")
        if head + suffix not in taken:
            return head + suffix
        n += 1


class Names:
    """The names one plan hands out; `renamed` lists each name that had to change."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self.relations: set[str] = set(taken)
        self.foreign = set(self.relations)  # names of the target that are not the plan's
        self.owner: dict[str, Filled] = {}  # name → whose it is (a Text)
        self.constraints: dict[str, set[str]] = {}
        self.renamed: list[dict] = []

    def fixed(self, name: str, what: str, source: str) -> None:
        """Claim a table's or view's name; a clash is the user's to settle (name_map)."""
        if name in self.foreign:
            raise MigrationError(ERRORS["name_taken"], ERRORS["name_taken_fix"], name=name,
                                 what=KINDS[what], source=source)
        if name in self.owner:
            raise MigrationError(ERRORS["name_twice"], ERRORS["name_twice_fix"],
                                 What=Filled({k: t(KINDS[what], k).capitalize()
                                              for k in LANGUAGES}),
                                 source=source, other=self.owner[name], name=name)
        self.relations.add(name)
        self.owner[name] = fill(ERRORS["owner"], what=KINDS[what], source=repr(source))

    def _use(self, wanted: str, taken: set[str], kind: str, table: str) -> str:
        name = first_free(wanted, taken)
        if name != wanted:
            self.renamed.append({"table": table, "kind": kind, "wanted": wanted, "name": name})
        return name

    def relation(self, wanted: str, kind: str, table: str) -> str:
        """An index's (or an implicit sequence's) name, made unique in the schema."""
        name = self._use(wanted, self.relations, kind, table)
        self.relations.add(name)
        self.owner.setdefault(name, fill(ERRORS["owner_of"], kind=KINDS.get(kind, kind),
                                         table=repr(table)))
        return name

    def constraint(self, wanted: str, kind: str, table: str, index: bool = False) -> str:
        """A constraint's name, unique on its table (and in the schema when an index backs
        it: primary keys and UNIQUE)."""
        mine = self.constraints.setdefault(table, set())
        name = self._use(wanted, mine | self.relations if index else mine, kind, table)
        mine.add(name)
        if index:
            self.relations.add(name)
            self.owner.setdefault(name, fill(ERRORS["owner_of"], kind=KINDS.get(kind, kind),
                                             table=repr(table)))
        return name
