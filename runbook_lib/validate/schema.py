"""Structure of the target compared with the plan: keys, NOT NULL, indexes, types, FKs, sequences.

The plan is the SQLite snapshot's own schema (primary keys, UNIQUE, NOT NULL, indexes, foreign
keys; Django's migrate writes the same ones to SQLite) mapped through the migration's names,
plus the manifest's planned target type of every column. Everything here only reads: sequence
positions come from the sequence relation itself, never from nextval().
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field

from ..core.identifiers import quote_ident

Problem = tuple[str, dict]  # (check id, {"en": ..., "ko": ...})
ALIASES = {"serial": "integer", "bigserial": "bigint", "smallserial": "smallint",
           "serial4": "integer", "serial8": "bigint", "serial2": "smallint"}
_CLAUSE = re.compile(r"\s+(generated|primary|not|null|default|references|unique|check|collate)\b.*",
                     re.I)


@dataclass
class Plan:
    """What the target table must have, in target names."""

    table: str
    source_table: str
    columns: dict[str, str]  # source column → target column
    types: dict[str, str] = field(default_factory=dict)  # target column → planned type
    primary_key: list[str] = field(default_factory=list)
    not_null: list[str] = field(default_factory=list)
    unique: list[list[str]] = field(default_factory=list)
    indexes: list[list[str]] = field(default_factory=list)
    foreign_keys: list[tuple[list[str], str, list[str]]] = field(default_factory=list)


def _pragma(conn: sqlite3.Connection, name: str, arg: str) -> list[tuple]:
    return conn.execute(f"PRAGMA {name}({quote_ident(arg)})").fetchall()


def source_columns(conn: sqlite3.Connection, table: str) -> list[tuple]:
    """PRAGMA table_info rows: (cid, name, type, notnull, default, pk)."""
    return _pragma(conn, "table_info", table)


def plan(conn: sqlite3.Connection, entry: dict, names: dict[str, tuple[str, dict]]) -> Plan:
    """The target's expected structure from the snapshot and the manifest entry of a table.

    `names` maps each source table to (target table, its source→target column map).
    """
    src = entry["source_table"]
    cols = names[src][1]
    info = source_columns(conn, src)
    result = Plan(entry["table"], src, cols,
                  types={c["name"]: c.get("target_type", "") for c in entry.get("columns", [])})
    pk = sorted((r for r in info if r[5]), key=lambda r: r[5])
    result.primary_key = entry.get("primary_key") or [cols.get(r[1], r[1]) for r in pk]
    result.not_null = [cols.get(r[1], r[1]) for r in info if r[3] and not r[5]]
    for _seq, index, unique, origin, *_ in _pragma(conn, "index_list", src):
        parts = [r[2] for r in _pragma(conn, "index_info", index)]
        if origin == "pk" or not parts or None in parts:
            continue  # the primary key is checked on its own; expression indexes are skipped
        mapped = [cols.get(p, p) for p in parts]
        (result.unique if unique else result.indexes).append(mapped)
    fks: dict[int, list] = {}
    for fid, _seq, ref, frm, to, *_ in _pragma(conn, "foreign_key_list", src):
        fks.setdefault(fid, []).append((ref, frm, to))
    for parts in fks.values():
        ref = parts[0][0]
        ref_target, ref_cols = names.get(ref, (ref, {}))
        to = [p[2] for p in parts]
        if None in to:
            to = [r[1] for r in sorted((r for r in source_columns(conn, ref) if r[5]),
                                       key=lambda r: r[5])]
        result.foreign_keys.append(([cols.get(p[1], p[1]) for p in parts], ref_target,
                                    [ref_cols.get(t, t) for t in to]))
    return result


TARGET_COLUMNS = """
SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum"""
TARGET_INDEXES = """
SELECT i.indisprimary, i.indisunique, i.indexprs IS NOT NULL,
       array(SELECT a.attname::text FROM unnest(i.indkey[0:i.indnkeyatts - 1])
             WITH ORDINALITY k(num, n)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num ORDER BY k.n)
FROM pg_index i WHERE i.indrelid = %s::regclass"""
TARGET_FKS = """
SELECT con.conname::text, con.convalidated,
       array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, n)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.n),
       cf.relname::text,
       array(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, n)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.n)
FROM pg_constraint con JOIN pg_class cf ON cf.oid = con.confrelid
WHERE con.conrelid = %s::regclass AND con.contype = 'f'"""


def qualified(schema: str, table: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def target_tables(cur, schema: str) -> set[str]:
    cur.execute("SELECT tablename::text FROM pg_tables WHERE schemaname = %s", (schema,))
    return {r[0] for r in cur.fetchall()}


def target_structure(cur, schema: str, table: str) -> dict:
    """Columns (type, NOT NULL), indexes and foreign keys of one target table."""
    name = qualified(schema, table)
    cur.execute(TARGET_COLUMNS, (name,))
    columns = {r[0]: (r[1], r[2]) for r in cur.fetchall()}
    cur.execute(TARGET_INDEXES, (name,))
    indexes = [{"primary": r[0], "unique": r[1], "expression": r[2], "columns": r[3]}
               for r in cur.fetchall()]
    cur.execute(TARGET_FKS, (name,))
    fks = [{"name": r[0], "validated": r[1], "columns": r[2], "ref": r[3], "ref_columns": r[4]}
           for r in cur.fetchall()]
    return {"columns": columns, "indexes": indexes, "foreign_keys": fks}


def _split_type(spelling: str) -> tuple[str, str]:
    text = _CLAUSE.sub("", spelling.strip().lower())
    mods = ",".join(m.replace(" ", "") for m in re.findall(r"\(([^)]*)\)", text))
    base = re.sub(r"\s+", " ", re.sub(r"\([^)]*\)", "", text)).strip()
    return ALIASES.get(base, base), mods


def canonical_types(cur, spellings: set[str]) -> dict[str, tuple[str, str]]:
    """Each type spelling → (format_type base name, modifiers), as PostgreSQL resolves it."""
    split = {s: _split_type(s) for s in spellings if s}
    bases = sorted({b for b, _ in split.values()})
    cur.execute("SELECT b, format_type(to_regtype(b), NULL) FROM unnest(%s::text[]) b", (bases,))
    resolved = {b: (name or b) for b, name in cur.fetchall()}
    return {s: (resolved[b], m) for s, (b, m) in split.items()}


def _msg(en: str, ko: str) -> dict:
    return {"en": en, "ko": ko}


def check_columns(p: Plan, actual: dict, types: dict) -> list[Problem]:
    """Every planned column exists with its planned type; NOT NULL kept."""
    out: list[Problem] = []
    for col in p.columns.values():
        if col not in actual["columns"]:
            out.append(("VA008", _msg(f"column {col} is missing", f"열 {col} 이(가) 없습니다")))
            continue
        have, notnull = actual["columns"][col]
        want = p.types.get(col, "")
        if want and types.get(want) != types.get(have):
            out.append(("VA008", _msg(f"column {col} is {have}, planned {want}",
                                      f"열 {col} 의 타입이 {have} 입니다 (계획: {want})")))
        if col in p.not_null and not notnull:
            out.append(("VA006", _msg(f"NOT NULL missing on {col}",
                                      f"{col} 에 NOT NULL 제약이 없습니다")))
    return out


def check_keys(p: Plan, actual: dict) -> list[Problem]:
    """Primary key, UNIQUE sets, indexes and foreign-key constraints exist."""
    out: list[Problem] = []
    idx = [i for i in actual["indexes"] if not i["expression"]]
    primary = next((i["columns"] for i in idx if i["primary"]), None)
    if p.primary_key and primary != list(p.primary_key):
        out.append(("VA006", _msg(f"primary key {p.primary_key} missing (found {primary})",
                                  f"기본 키 {p.primary_key} 가 없습니다 (현재 {primary})")))
    for cols in p.unique:
        if not any(i["unique"] and set(i["columns"]) == set(cols) for i in idx):
            out.append(("VA006", _msg(f"UNIQUE on {cols} missing", f"{cols} 의 UNIQUE 제약이 없습니다")))
    for cols in p.indexes:
        if not any(i["columns"][:len(cols)] == cols for i in idx):
            out.append(("VA007", _msg(f"index on {cols} missing", f"{cols} 인덱스가 없습니다")))
    for cols, ref, ref_cols in p.foreign_keys:
        if not any(f["columns"] == cols and f["ref"] == ref for f in actual["foreign_keys"]):
            out.append(("VA006", _msg(f"foreign key {cols} → {ref}{ref_cols} missing",
                                      f"외래 키 {cols} → {ref}{ref_cols} 가 없습니다")))
    return out


def check_orphans(cur, schema: str, p: Plan, actual: dict) -> list[Problem]:
    """Rows whose foreign key points at no parent row (planned or existing constraints)."""
    relations = {(tuple(c), r, tuple(rc)) for c, r, rc in p.foreign_keys}
    relations |= {(tuple(f["columns"]), f["ref"], tuple(f["ref_columns"]))
                  for f in actual["foreign_keys"]}
    out: list[Problem] = []
    for cols, ref, ref_cols in sorted(relations):
        if not ref_cols:
            continue
        notnull = " AND ".join(f"c.{quote_ident(c)} IS NOT NULL" for c in cols)
        match = " AND ".join(f"p.{quote_ident(r)} = c.{quote_ident(c)}"
                             for c, r in zip(cols, ref_cols, strict=True))
        cur.execute(f"SELECT count(*) FROM {qualified(schema, p.table)} c WHERE {notnull} AND "
                    f"NOT EXISTS (SELECT 1 FROM {qualified(schema, ref)} p WHERE {match})")
        n = cur.fetchone()[0]
        if n:
            out.append(("VA005", _msg(f"{n} row(s) whose {list(cols)} point at no {ref} row",
                                      f"{n}개 행의 {list(cols)} 이(가) 없는 {ref} 행을 가리킵니다")))
    return out


SEQUENCES = """
SELECT a.attname::text, pg_get_serial_sequence(%s, a.attname::text)
FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped"""


def sqlite_sequence(conn: sqlite3.Connection, table: str) -> int | None:
    """The highest id SQLite's AUTOINCREMENT ever handed out for `table` (None: not used)."""
    try:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    except sqlite3.OperationalError:  # no AUTOINCREMENT table in the file
        return None
    return row[0] if row and isinstance(row[0], int) else None


def check_sequences(cur, schema: str, table: str, floor: int | None = None) -> list[Problem]:
    """The next value of every owned sequence/identity lies past the column's max (read only).

    `floor` is SQLite's AUTOINCREMENT high-water mark: ids up to it were handed out once and
    must never be handed out again, even when their rows were deleted.
    """
    name = qualified(schema, table)
    cur.execute(SEQUENCES, (name, name))
    out: list[Problem] = []
    for col, seq in cur.fetchall():
        if not seq:
            continue
        cur.execute(f"SELECT s.last_value, s.is_called, q.seqincrement FROM {seq} s, "
                    "pg_sequence q WHERE q.seqrelid = %s::regclass", (seq,))
        last, called, step = cur.fetchone()
        cur.execute(f"SELECT max({quote_ident(col)}) FROM {name}")
        high = max((x for x in (cur.fetchone()[0], floor) if x is not None), default=None)
        following = last + step if called else last
        if high is not None and step > 0 and following <= high:
            out.append(("VA004", _msg(
                f"sequence {seq} would give {following} next, but {col} already reached {high}",
                f"시퀀스 {seq} 의 다음 값 {following} 이(가) {col} 의 기존 최댓값 {high} 과 충돌합니다")))
    return out


__all__ = ["Plan", "plan", "target_structure", "target_tables", "canonical_types",
           "check_columns", "check_keys", "check_orphans", "check_sequences", "source_columns",
           "sqlite_sequence"]
