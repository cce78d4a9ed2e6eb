"""The guide's step 4 ("데이터 검증") for an SPC project: counts and the first five products.

The guide runs `Product.objects.count()`, `QualityMeasurement.objects.count()` and prints the
first five products in `manage.py shell`. Here the same questions are asked of both the SQLite
snapshot and the target, side by side, for any project with an SPC `product` table.
"""

from __future__ import annotations

import re
import sqlite3

from ..core.identifiers import quote_ident

PRODUCT = re.compile(r"(^|_)product$")
MEASUREMENT = re.compile(r"(^|_)qualitymeasurement$")


def find(entries: list[dict]) -> tuple[dict | None, dict | None]:
    """The manifest entries of the Product and QualityMeasurement tables, if any."""
    product = next((e for e in entries if PRODUCT.search(e["table"])), None)
    measure = next((e for e in entries if MEASUREMENT.search(e["table"])), None)
    return product, measure


def _column(entry: dict, name: str) -> tuple[str, str] | None:
    for c in entry.get("columns") or []:
        if c["name"] == name:
            return c.get("source_name", name), name
    return None


def _first_five(src: sqlite3.Connection, cur, schema: str, entry: dict) -> tuple[list, list]:
    code, name, ident = (_column(entry, "product_code"), _column(entry, "product_name"),
                         _column(entry, "id"))
    if not (code and name and ident):
        return [], []
    left = src.execute(f"SELECT {quote_ident(code[0])}, {quote_ident(name[0])} FROM "
                       f"{quote_ident(entry['source_table'])} ORDER BY {quote_ident(ident[0])} "
                       "LIMIT 5").fetchall()
    cur.execute(f"SELECT {quote_ident(code[1])}, {quote_ident(name[1])} FROM "
                f"{quote_ident(schema)}.{quote_ident(entry['table'])} "
                f"ORDER BY {quote_ident(ident[1])} LIMIT 5")
    return [f"{a}: {b}" for a, b in left], [f"{a}: {b}" for a, b in cur.fetchall()]


def _orm_column(checks: list[str], orm: dict) -> list:
    """The ORM's answer to each check (counts by name, products by position)."""
    first, out = orm.get("first", []), []
    for check in checks:
        if check.startswith("product #"):
            i = int(check.removeprefix("product #")) - 1
            out.append(first[i] if i < len(first) else None)
        else:
            out.append(orm.get(check))
    return out


def step4(src: sqlite3.Connection, cur, schema: str, entries: list[dict], present: set[str],
          counts: dict[str, tuple[int, int]], orm: dict | None = None):
    """DataFrame (check, source, target[, Django ORM], status); None without SPC tables.

    `orm` holds the same answers from the project's own models on the target (schema: django):
    the guide's literal `Product.objects.count()` and first five products (ordered by pk).
    `counts`: table → (source rows, target rows), as validation counted them.
    """
    import pandas as pd

    product, measure = find(entries)
    if product is None or product["table"] not in present:
        return None
    rows, expected = [], []  # the target should hold the source's rows less the quarantined
    for label, entry in (("Products", product), ("Measurements", measure)):
        if entry is not None and entry["table"] in present:
            a, b = counts[entry["table"]]
            rows.append((f"{label}: count()", a, b))
            expected.append(a - int(entry.get("quarantined") or 0))
    left, right = _first_five(src, cur, schema, product)
    for i in range(max(len(left), len(right))):
        rows.append((f"product #{i + 1}", left[i] if i < len(left) else None,
                     right[i] if i < len(right) else None))
        expected.append(rows[-1][1])
    frame = pd.DataFrame(rows, columns=["check", "source", "target"])
    if any(e != r[1] for e, r in zip(expected, rows, strict=True)):
        frame.insert(2, "expected (less quarantined)", expected)
    same = [e == b for e, b in zip(expected, frame.target, strict=True)]
    if orm is not None:
        frame["target (Django ORM)"] = _orm_column(list(frame.check), orm)
        same = [s and e == b for s, e, b in zip(same, expected, frame["target (Django ORM)"],
                                                strict=True)]
    frame["status"] = ["ok" if s else "fail" for s in same]
    frame.attrs["code"] = [c for c in frame.columns if c not in ("check", "status")]  # data
    return frame


__all__ = ["step4", "find"]
