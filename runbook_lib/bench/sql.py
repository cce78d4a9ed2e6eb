"""What the benchmark runs: the tables it finds, the SQL it sends, the copies it works on."""

from __future__ import annotations

import random
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import RunbookError
from ..core.identifiers import quote_ident

SCRATCH = "runbook_bench_writes"
PREFERRED = ("spc_qualitymeasurement", "spc_product")
_NUMERIC = re.compile(r"REAL|FLOA|DOUB|DEC|NUMERIC", re.IGNORECASE)
_TABLE_NAME = re.compile(r'^CREATE TABLE\s+("(?:[^"]|"")+"|\S+)', re.IGNORECASE)
_INDEX_NAME = re.compile(r'^(CREATE (?:UNIQUE )?INDEX)\s+.*?\s+ON\s+("(?:[^"]|"")+"|[^\s(]+)',
                         re.IGNORECASE | re.DOTALL)
_UPPER = re.compile(r"^(usl|upper_spec_limit|upper_limit|spec_upper|upper)$", re.IGNORECASE)
_LOWER = re.compile(r"^(lsl|lower_spec_limit|lower_limit|spec_lower|lower)$", re.IGNORECASE)


class ShapeError(RunbookError):
    """The SQLite file has no table the benchmark can use."""


ERRORS = {
    "pg_empty": {"en": "{table} is empty on PostgreSQL but not in SQLite.",
                 "ko": "{table}이(가) SQLite에는 데이터가 있는데 PostgreSQL에서는 비어 있습니다."},
    "migrate_first": {"en": "Run 03_migrate (and 04_validate) before the benchmark.",
                      "ko": "벤치마크 전에 03_migrate(와 04_validate)를 실행하세요."},
    "no_int_pk": {"en": "{table} has no single integer primary key.",
                  "ko": "{table}에 정수 기본 키가 하나만 있지 않습니다."},
    "no_int_pk_fix": {"en": "The benchmark needs a Django-style table with an integer id.",
                      "ko": "벤치마크에는 정수 id가 있는 Django 방식의 테이블이 필요합니다."},
    "no_fk": {"en": "No table with a foreign key in the SQLite file: nothing like products and "
                    "measurements to benchmark.",
              "ko": "SQLite 파일에 외래 키가 있는 테이블이 없습니다: 제품과 측정값처럼 벤치마크할 "
                    "테이블이 없습니다."},
    "no_fk_fix": {"en": "Point sqlite_path at your application's database (e.g. the sample SPC "
                        "backend's db.sqlite3).",
                  "ko": "sqlite_path를 애플리케이션의 데이터베이스(예: 샘플 SPC 백엔드의 "
                        "db.sqlite3)로 지정하세요."},
    "empty": {"en": "{table} is empty: nothing to measure.",
              "ko": "{table}이(가) 비어 있어 측정할 것이 없습니다."},
    "empty_fix": {"en": "Load data first (runbook demo-data for the sample).",
                  "ko": "먼저 데이터를 넣으세요(샘플은 runbook demo-data)."},
}


def q(name: str) -> str:
    return quote_ident(name)


@dataclass
class Shape:
    """The measurement-like table (largest with a foreign key) and its parent table."""

    table: str
    pk: str
    fk: str
    parent: str
    parent_pk: str
    columns: list[str]  # every column but the primary key, in order
    value: str | None = None
    label: str | None = None
    upper: str | None = None
    lower: str | None = None
    rows: int = 0
    journal: str = ""  # SQLite journal mode of the copy (delete, wal, ...)
    id_range: tuple[int, int] = (1, 1)
    sqlite_template: list = field(default_factory=list)
    pg_template: list = field(default_factory=list)

    def insert_sql(self, mark: str | None, table: str) -> str:
        """INSERT of one row (mark '?' or '%s'), or the VALUES %s form for execute_values."""
        cols = ", ".join(q(c) for c in [self.pk, *self.columns])
        values = "%s" if mark is None else "(" + ", ".join([mark] * (len(self.columns) + 1)) + ")"
        return f"INSERT INTO {q(table)} ({cols}) VALUES {values}"

    def select_sql(self, mark: str) -> str:
        return f"SELECT * FROM {q(self.table)} WHERE {q(self.pk)} = {mark}"

    def join_sql(self) -> str:
        """Per-product report: count, mean, min, max and out-of-spec count of the values."""
        m, p = "m", "p"
        label = f"{p}.{q(self.label or self.parent_pk)}"
        aggregates = [f"COUNT({m}.{q(self.pk)}) AS n"]
        if self.value:
            v = f"{m}.{q(self.value)}"
            aggregates += [f"AVG({v}) AS mean", f"MIN({v}) AS low", f"MAX({v}) AS high"]
            if self.upper and self.lower:
                aggregates.append(f"SUM(CASE WHEN {v} > {p}.{q(self.upper)} OR {v} < "
                                  f"{p}.{q(self.lower)} THEN 1 ELSE 0 END) AS out_of_spec")
        group = f"{p}.{q(self.parent_pk)}" + (f", {label}" if self.label else "")
        return (f"SELECT {label} AS label, {', '.join(aggregates)} FROM {q(self.table)} {m} "
                f"JOIN {q(self.parent)} {p} ON {p}.{q(self.parent_pk)} = {m}.{q(self.fk)} "
                f"GROUP BY {group} ORDER BY n DESC, label")

    def pick_id(self) -> int:
        return random.randint(*self.id_range)

    def load_pg_template(self, conn) -> None:
        """The template row as PostgreSQL returns it (booleans, timestamps in its types)."""
        cols = ", ".join(q(c) for c in self.columns)
        with conn.cursor() as cur:
            cur.execute(f"SELECT {cols} FROM {q(self.table)} ORDER BY {q(self.pk)} LIMIT 1")
            row = cur.fetchone()
        if row is None:
            raise ShapeError(ERRORS["pg_empty"], ERRORS["migrate_first"], table=self.table)
        self.pg_template = list(row)

    def next_id(self, sconn: sqlite3.Connection, pconn, scratch: str) -> int:
        """A primary-key value above every existing one on both sides."""
        top = sconn.execute(f"SELECT MAX({q(self.pk)}) FROM {q(self.table)}").fetchone()[0]
        with pconn.cursor() as cur:
            cur.execute(f"SELECT MAX({q(self.pk)}) FROM {q(self.table)}")
            pg_top = cur.fetchone()[0]
        return max(top or 0, pg_top or 0) + 1_000_000


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                        "AND name NOT LIKE 'sqlite_%'").fetchall()
    return [r[0] for r in rows]


def _candidate(conn: sqlite3.Connection, tables: list[str]) -> tuple[str, tuple] | None:
    """The preferred SPC table, else the largest table with a foreign key."""
    best = None
    for name in tables:
        fks = conn.execute(f"PRAGMA foreign_key_list({q(name)})").fetchall()
        if not fks:
            continue
        fk = next((f for f in fks if f[2] == PREFERRED[1]), fks[0])
        if name == PREFERRED[0]:
            return name, fk
        count = conn.execute(f"SELECT COUNT(*) FROM {q(name)}").fetchone()[0]
        if best is None or count > best[0]:
            best = (count, name, fk)
    return (best[1], best[2]) if best else None


def _integer_pk(info: list[tuple], table: str) -> str:
    pks = [c for c in info if c[5] > 0]
    if len(pks) != 1 or "INT" not in (pks[0][2] or "").upper():
        raise ShapeError(ERRORS["no_int_pk"], ERRORS["no_int_pk_fix"], table=table)
    return pks[0][1]


def discover(conn: sqlite3.Connection) -> Shape:
    """Find the measurement-like table, its parent, value and spec-limit columns."""
    found = _candidate(conn, _tables(conn))
    if found is None:
        raise ShapeError(ERRORS["no_fk"], ERRORS["no_fk_fix"])
    table, fk = found
    info = conn.execute(f"PRAGMA table_info({q(table)})").fetchall()
    parent_info = conn.execute(f"PRAGMA table_info({q(fk[2])})").fetchall()
    pk = _integer_pk(info, table)
    parent_pk = fk[4] or _integer_pk(parent_info, fk[2])
    names = [c[1] for c in parent_info]
    shape = Shape(table=table, pk=pk, fk=fk[3], parent=fk[2], parent_pk=parent_pk,
                  columns=[c[1] for c in info if c[1] != pk],
                  value=next((c[1] for c in info if c[1] not in (pk, fk[3])
                              and _NUMERIC.search(c[2] or "")), None),
                  label=next((n for n in names if n.endswith(("_code", "code", "name"))), None),
                  upper=next((n for n in names if _UPPER.match(n)), None),
                  lower=next((n for n in names if _LOWER.match(n)), None))
    low, high, rows = conn.execute(f"SELECT MIN({q(pk)}), MAX({q(pk)}), COUNT(*) "
                                   f"FROM {q(table)}").fetchone()
    if not rows:
        raise ShapeError(ERRORS["empty"], ERRORS["empty_fix"], table=table)
    shape.rows, shape.id_range = rows, (low, high)
    shape.journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    cols = ", ".join(q(c) for c in shape.columns)
    shape.sqlite_template = list(conn.execute(
        f"SELECT {cols} FROM {q(table)} ORDER BY {q(pk)} LIMIT 1").fetchone())
    conn.execute("PRAGMA foreign_keys = ON")  # as Django runs SQLite
    return shape


def sqlite_copy(source: Path, target: Path) -> Path:
    """A consistent copy of the snapshot (backup API, source opened read-only)."""
    target.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target


def sqlite_scratch(conn: sqlite3.Connection, shape: Shape) -> str:
    """In the copy, an empty table built from the measurement table's own DDL and indexes."""
    rows = conn.execute("SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT "
                        "NULL ORDER BY type = 'index'", [shape.table]).fetchall()
    conn.execute(f"DROP TABLE IF EXISTS {q(SCRATCH)}")
    for number, (kind, sql) in enumerate(rows):
        if kind == "table":
            sql = _TABLE_NAME.sub(f"CREATE TABLE {q(SCRATCH)}", sql, count=1)
        elif kind == "index":
            sql = _INDEX_NAME.sub(f"\\1 {q(SCRATCH + '_' + str(number))} ON {q(SCRATCH)}", sql,
                                  count=1)
        else:
            continue  # triggers stay with the real table
        conn.execute(sql)
    conn.commit()
    return SCRATCH


@contextmanager
def pg_scratch(conn, shape: Shape) -> Iterator[str]:
    """A scratch table shaped like the measurement table (indexes, checks, FK); dropped after."""
    scratch = q(SCRATCH)
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {scratch}")
        cur.execute(f"CREATE TABLE {scratch} (LIKE {q(shape.table)} INCLUDING CONSTRAINTS "
                    "INCLUDING INDEXES)")
        cur.execute(f"ALTER TABLE {scratch} ADD FOREIGN KEY ({q(shape.fk)}) "
                    f"REFERENCES {q(shape.parent)} ({q(shape.parent_pk)})")
    try:
        yield SCRATCH
    finally:
        if not conn.closed:
            if not conn.autocommit:
                conn.rollback()
            with conn.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {scratch}")


__all__ = ["SCRATCH", "PREFERRED", "ShapeError", "q", "Shape", "discover", "sqlite_copy",
           "sqlite_scratch", "pg_scratch"]
