"""Is the restored database the source database? Table by table, and by the validation stage."""

from __future__ import annotations

from ..core import db, state
from ..core.errors import SourceError, ValidationFailed
from ..core.identifiers import quote_ident
from ..core.results import Check
from . import wording as w

TABLES = """
SELECT n.nspname, c.relname,
       (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid) AS indexes,
       (SELECT count(*) FROM pg_constraint k WHERE k.conrelid = c.oid) AS constraints
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%' AND NOT c.relispartition
ORDER BY 1, 2
"""
SEQUENCES = "SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 1, 2"


def fingerprint(settings, dbname: str | None = None) -> dict[tuple, dict]:
    """Per table: rows, an order-independent hash of every row, index and constraint counts."""
    out: dict[tuple, dict] = {}
    with db.connection(settings, dbname=dbname) as conn, conn.cursor() as cur:
        cur.execute(TABLES)
        for schema, name, indexes, constraints in cur.fetchall():
            qualified = f"{quote_ident(schema)}.{quote_ident(name)}"
            cur.execute(f"SELECT count(*), md5(string_agg(h, '' ORDER BY h)) FROM "
                        f"(SELECT md5(t::text) AS h FROM {qualified} t) rows")
            rows, digest = cur.fetchone()
            out[(schema, name)] = {"rows": rows, "hash": digest or "", "indexes": indexes,
                                   "constraints": constraints}
        cur.execute(SEQUENCES)
        for schema, name, last in cur.fetchall():
            out[(schema, name)] = {"rows": None, "hash": f"last_value={last}", "indexes": 0,
                                   "constraints": 0}
    return out


def compare(settings, scratch: str):
    """DataFrame source vs restore per table and sequence, and the verdict as check OP004."""
    import pandas as pd

    source, restored = fingerprint(settings), fingerprint(settings, scratch)
    rows = []
    for key in sorted(set(source) | set(restored)):
        a, b = source.get(key), restored.get(key)
        verdict = "ok" if a == b else ("missing" if b is None else
                                       "extra" if a is None else "mismatch")
        rows.append({"table": ".".join(key), "source rows": (a or {}).get("rows"),
                     "restored rows": (b or {}).get("rows"), "verdict": verdict,
                     "detail": "" if verdict == "ok" else _detail(a, b)})
    frame = pd.DataFrame(rows, columns=["table", "source rows", "restored rows", "verdict",
                                        "detail"])
    bad = frame[frame["verdict"] != "ok"]
    if bad.empty:
        total = int(frame["source rows"].fillna(0).sum())
        return frame, Check("OP004", w.name(settings, "OP004"), "ok",
                            w.say(settings, "equal", n=len(frame), rows=f"{total:,}"))
    names = ", ".join(bad["table"].head(5))
    return frame, Check("OP004", w.name(settings, "OP004"), "fail",
                        w.say(settings, "differ", n=len(bad), names=names),
                        w.say(settings, "differ_fix"), {"tables": list(bad["table"])})


def _detail(a: dict | None, b: dict | None) -> str:
    if a is None or b is None:
        return "only in " + ("restore" if a is None else "source")
    return ", ".join(f"{k}: {a[k]} → {b[k]}" for k in a if a[k] != b[k] and k != "hash") \
        or "row contents differ"


def validation_check(settings, scratch: str) -> Check:
    """The validation stage's checks (SQLite source vs the restore), keeping stage 04's record."""
    label = w.name(settings, "OP005")
    record = state.current(settings)
    if record is None:
        return Check("OP005", label, "skip", w.say(settings, "no_migration"),
                     w.say(settings, "no_migration_fix"))
    from ..validate import run as validate

    try:  # recorded as validation-<scratch>.json; stage 04's record stays as it is
        report = validate(settings, dbname=scratch)
    except (ValidationFailed, SourceError) as exc:
        return Check("OP005", label, "fail", exc.message, exc.hint)
    if report.ok:
        return Check("OP005", label, "ok", w.say(settings, "passes", which=record.describe()),
                     details=record.as_dict())
    return Check("OP005", label, "fail", w.say(settings, "fails"), w.say(settings, "fails_fix"))


__all__ = ["TABLES", "SEQUENCES", "fingerprint", "compare", "validation_check"]
