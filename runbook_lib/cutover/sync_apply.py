"""The SQL of a catch-up sync, inside one transaction: staged rows compared with the target.

Source rows of the differing key ranges are staged in temporary tables (`migrate.stage_rows`:
the bulk copy's own conversion). A row is compared by its text (`ROW(...)::text` of the
target's own types, so json, floats and timestamps compare as PostgreSQL prints them).
With a primary key: deletes are the target's rows in the ranges that the stage lacks, then
one upsert inserts the new rows and updates only rows whose text differs (`xmax = 0` tells an
insert from an update). Without one: multisets (`EXCEPT ALL`), duplicates removed by ctid.
"""

from __future__ import annotations

from ..core.identifiers import quote_ident

q = quote_ident
MAX_LISTED = 20  # divergent rows named in the refusal


def between(key: str, ranges: list[tuple] | None) -> str:
    """SQL true for keys in the half-open ranges (None: every key)."""
    if ranges is None:
        return "TRUE"
    if not ranges:
        return "FALSE"
    parts = []
    for low, high in ranges:
        bounds = ([f"{key} >= {int(low)}"] if low is not None else []) + \
            ([f"{key} < {int(high)}"] if high is not None else [])
        parts.append("(" + " AND ".join(bounds or ["TRUE"]) + ")")
    return "(" + " OR ".join(parts) + ")"


FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c
WHERE c.contype = 'f' AND NOT c.condeferrable
  AND (c.conrelid = ANY(%(tables)s::regclass[]) OR c.confrelid = ANY(%(tables)s::regclass[]))
"""


def defer_foreign_keys(cur, tables: list[str]) -> list[tuple[str, str]]:
    """Make the foreign keys touching `tables` that cannot be deferred deferrable for this
    transaction (a row re-pointed to a new parent, its old parent deleted): checked at
    `restore_foreign_keys`, before commit. DDL is transactional: a killed sync undoes it."""
    cur.execute(FOREIGN_KEYS, {"tables": [q(t) for t in tables]})
    found = cur.fetchall()
    for table, name in found:
        cur.execute(f"ALTER TABLE {table} ALTER CONSTRAINT {q(name)} DEFERRABLE INITIALLY "
                    "DEFERRED")
    return found


def restore_foreign_keys(cur, found: list[tuple[str, str]]) -> None:
    """Check every deferred foreign key now, then make the altered ones immediate again."""
    cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for table, name in found:
        cur.execute(f"ALTER TABLE {table} ALTER CONSTRAINT {q(name)} NOT DEFERRABLE")


def create_stage(cur, table: str, columns: list[str], name: str) -> str:
    """A temporary table shaped like the target's columns, dropped at commit."""
    cols = ", ".join(q(c) for c in columns)
    cur.execute(f"CREATE TEMP TABLE {q(name)} ON COMMIT DROP AS SELECT {cols} FROM {q(table)} "
                "WITH NO DATA")
    return q(name)


def _row(alias: str, columns: list[str]) -> str:
    return f"ROW({', '.join(f'{alias}.{q(c)}' for c in columns)})::text"


def divergent_keys(cur, table: str, columns: list[str], key: list[str], stage: str,
                   ranges: list[tuple] | None) -> tuple[int, list[tuple]]:
    """Target rows in `ranges` that differ from the staged previous snapshot (by key): how many
    and the first keys."""
    k = ", ".join(q(c) for c in key)
    where = between(f"t.{q(key[0])}", ranges)
    sql = (f"SELECT {k} FROM (SELECT {k}, {_row('t', columns)} AS r FROM {q(table)} t "
           f"WHERE {where}) a FULL JOIN (SELECT {k}, {_row('p', columns)} AS r FROM {stage} p) b "
           f"USING ({k}) WHERE a.r IS DISTINCT FROM b.r")
    cur.execute(f"SELECT count(*) FROM ({sql}) d")
    n = cur.fetchone()[0]
    cur.execute(f"{sql} ORDER BY {k} LIMIT {MAX_LISTED}")
    return n, cur.fetchall()


def divergent_rows(cur, table: str, columns: list[str], stage: str) -> tuple[int, list[tuple]]:
    """Rows of a table without a key whose count differs from the staged previous snapshot."""
    t, p = _row("t", columns), _row("p", columns)
    sql = (f"(SELECT {t} FROM {q(table)} t EXCEPT ALL SELECT {p} FROM {stage} p) UNION ALL "
           f"(SELECT {p} FROM {stage} p EXCEPT ALL SELECT {t} FROM {q(table)} t)")
    cur.execute(f"SELECT count(*) FROM ({sql}) d")
    n = cur.fetchone()[0]
    cur.execute(f"SELECT * FROM ({sql}) d LIMIT {MAX_LISTED}")
    return n, [(r[0],) for r in cur.fetchall()]


def delete_missing(cur, table: str, key: list[str], stage: str, ranges: list[tuple] | None) -> int:
    """Delete the target's rows in `ranges` whose key the stage lacks."""
    match = " AND ".join(f"s.{q(c)} = t.{q(c)}" for c in key)
    cur.execute(f"DELETE FROM {q(table)} t WHERE {between(f't.{q(key[0])}', ranges)} AND NOT "
                f"EXISTS (SELECT 1 FROM {stage} s WHERE {match})")
    return cur.rowcount


def delete_keys(cur, table: str, key: str, keys: list[int]) -> int:
    """Delete the target's rows with these (integer) keys."""
    if not keys:
        return 0
    cur.execute(f"DELETE FROM {q(table)} WHERE {q(key)} = ANY(%s::bigint[])", (list(keys),))
    return cur.rowcount


def upsert(cur, table: str, columns: list[str], key: list[str], stage: str) -> tuple[int, int]:
    """Insert the staged rows the target lacks, update those whose text differs: (inserted,
    updated)."""
    cols = ", ".join(q(c) for c in columns)
    rest = [c for c in columns if c not in key]
    if rest:
        sets = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in rest)
        action = (f"DO UPDATE SET {sets} WHERE {_row('t', columns)} IS DISTINCT FROM "
                  f"{_row('EXCLUDED', columns)}")
    else:
        action = "DO NOTHING"
    cur.execute(f"INSERT INTO {q(table)} AS t ({cols}) SELECT {cols} FROM {stage} "
                f"ON CONFLICT ({', '.join(q(c) for c in key)}) {action} RETURNING (t.xmax = 0)")
    flags = [r[0] for r in cur.fetchall()]
    return sum(flags), len(flags) - sum(flags)


CASCADING = """
SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND confrelid = %s::regclass
  AND (confdeltype != 'a' OR confupdtype != 'a')
"""


def replace_changed(cur, table: str, columns: list[str], key: list[str], stage: str
                    ) -> tuple[int, int] | None:
    """The upsert done as delete-then-insert: rows whose values swap a unique value among
    them (A takes B's, B takes A's) conflict row by row in an upsert, not as a whole. The
    changed rows are deleted, then every staged row the target lacks is inserted: (inserted,
    updated). None when a foreign key pointing here acts on delete (CASCADE, SET NULL,
    RESTRICT…): deleting would touch other rows."""
    cur.execute(CASCADING, (q(table),))
    if cur.fetchone()[0]:
        return None
    match = " AND ".join(f"s.{q(c)} = t.{q(c)}" for c in key)
    cur.execute(f"DELETE FROM {q(table)} t USING {stage} s WHERE {match} AND "
                f"{_row('t', columns)} IS DISTINCT FROM {_row('s', columns)}")
    updated = cur.rowcount
    cols = ", ".join(q(c) for c in columns)
    cur.execute(f"INSERT INTO {q(table)} ({cols}) SELECT {cols} FROM {stage} ON CONFLICT "
                f"({', '.join(q(c) for c in key)}) DO NOTHING")
    return cur.rowcount - updated, updated


def _surplus(columns: list[str], source: str, other: str) -> str:
    """ctids of `source`'s rows beyond their count in `other` (one multiset minus the other)."""
    r, o = _row("x", columns), _row("o", columns)
    return (f"SELECT ctid FROM (SELECT x.ctid, {r} AS r, row_number() OVER (PARTITION BY {r}) "
            f"AS n FROM {source} x) y JOIN (SELECT r, count(*) AS c FROM (SELECT {r} AS r FROM "
            f"{source} x EXCEPT ALL SELECT {o} FROM {other} o) e GROUP BY r) d USING (r) "
            "WHERE y.n <= d.c")


def multiset_apply(cur, table: str, columns: list[str], stage: str) -> tuple[int, int]:
    """A table without a key made equal to the stage as a multiset: (inserted, deleted)."""
    cols = ", ".join(q(c) for c in columns)
    cur.execute(f"DELETE FROM {q(table)} WHERE ctid IN "
                f"({_surplus(columns, q(table), stage)})")
    deleted = cur.rowcount
    cur.execute(f"INSERT INTO {q(table)} ({cols}) SELECT {cols} FROM {stage} WHERE ctid IN "
                f"({_surplus(columns, stage, q(table))})")
    return cur.rowcount, deleted
