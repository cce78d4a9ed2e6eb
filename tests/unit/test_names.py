"""Issue 13, class 12: generated names never collide, and the advice for a taken name is safe.

`a_b(c UNIQUE)` and `a(b_c UNIQUE)` both want `a_b_c_key`; a table `t` beside a table
`t_pkey`; a table named like `t`'s identity sequence; a source index named like a generated
primary key; two foreign keys and two CHECKs of one table that PostgreSQL would name alike.
The plan makes every name unique, the same way each time, and shows what it renamed.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from pathlib import Path

import pytest

from runbook_lib import migrate
from runbook_lib.core import db, diagnose
from runbook_lib.core.errors import MigrationError
from runbook_lib.migrate import checks, schema, source

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from edge_cases import assert_table_equal  # noqa: E402

COLLIDING = """
CREATE TABLE a_b (id INTEGER PRIMARY KEY, c TEXT UNIQUE);
CREATE TABLE a (id INTEGER PRIMARY KEY, b_c TEXT UNIQUE);
CREATE TABLE t_pkey (id INTEGER PRIMARY KEY, w TEXT);
CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, p INTEGER REFERENCES t_pkey(id),
    CHECK (v <> ''), CHECK (length(v) < 10), FOREIGN KEY (p) REFERENCES a(id));
CREATE TABLE t_id_seq (x INTEGER);
CREATE INDEX a_pkey ON a_b (c);
INSERT INTO a_b VALUES (1, 'x'), (2, 'y');
INSERT INTO a VALUES (1, 'x'), (2, 'z');
INSERT INTO t_pkey VALUES (1, 'w1'), (2, 'w2');
INSERT INTO t VALUES (1, 'v1', 1), (2, 'v2', 2), (3, 'v3', NULL);
INSERT INTO t_id_seq VALUES (7);
"""
RENAMED = {"a_b_c_key": "a_b_c_key1", "t_pkey": "t_pkey1", "t_id_seq": "t_id_seq1",
           "a_pkey": "a_pkey1", "t_p_fkey": "t_p_fkey1", "t_check": "t_check1"}


def colliding(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.executescript(COLLIDING)
    conn.close()
    return path


def test_generated_names_are_made_unique_in_the_plan(tmp_path, make_settings):
    path = colliding(tmp_path / "names.sqlite3")
    settings = make_settings(sqlite_path=str(path))
    plan = schema.plan(source.introspect(path), settings)
    assert {r["wanted"]: r["name"] for r in plan.renamed} == RENAMED
    again = schema.plan(source.introspect(path), settings)
    assert again.renamed == plan.renamed and again.ddl == plan.ddl  # deterministic
    names = [s.name for s in plan.steps if s.kind in ("index", "optional")]
    assert len(names) == len(set(names))
    assert 'SEQUENCE NAME "t_id_seq1"' in plan.ddl


def test_colliding_names_migrate(fresh_db, pg):
    colliding(fresh_db.sqlite_file)
    m = migrate.Migration(fresh_db, progress=False)
    for step in (m.take_snapshot, m.introspect, m.make_plan, m.prepare_target, m.check_values,
                 m.load, m.finish):
        step()
    rows = checks.stage_checks(m)
    assert all(c.status in ("ok", "skip") for c in rows), [(c.id, c.status) for c in rows]
    mg002 = next(c for c in rows if c.id == "MG002")
    assert "a_b_c_key → a_b_c_key1" in mg002.message and "t_pkey → t_pkey1" in mg002.message
    section = m.section(completed=True)
    assert {r["wanted"]: r["name"] for r in section["renamed"]} == RENAMED
    assert section["manual_followups"] == []
    with db.connection(fresh_db) as conn:
        for entry in section["tables"]:
            assert assert_table_equal(conn, section["snapshot"], entry) == entry["source_rows"]
    cons = {r[0] for r in pg.execute("SELECT conname FROM pg_constraint WHERE connamespace = "
                                     "'public'::regnamespace AND contype <> 'n'",
                                     fresh_db.db_name)}
    assert {"a_b_c_key", "a_b_c_key1", "t_pkey_pkey", "t_pkey1", "t_p_fkey", "t_p_fkey1",
            "t_check", "t_check1", "a_pkey1"} <= cons
    assert pg.execute("SELECT pg_get_serial_sequence('t', 'id')",
                      fresh_db.db_name) == [("public.t_id_seq1",)]


def _hint_map(hint: str) -> dict:
    return json.loads(re.search(r"name_map: (\{.*?\})", hint).group(1))


def test_name_map_collision_stops_the_plan_with_a_fix_that_works(fresh_db, pg):
    colliding(fresh_db.sqlite_file)
    fresh_db.name_map = {"a": "a_b"}  # two tables called a_b
    with pytest.raises(MigrationError, match="would both be named 'a_b'") as err:
        migrate.run(fresh_db, progress=False)
    assert pg.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                      fresh_db.db_name) == [(0,)]  # nothing was created
    fresh_db.name_map = {**fresh_db.name_map, **_hint_map(err.value.hint)}  # the fix, applied
    assert migrate.run(fresh_db, progress=False).completed


def test_names_the_target_keeps_are_avoided(fresh_db, pg):
    """Relations on the target that are not the migration's: generated names go around them;
    a table name they hold stops the run before any change, with a name_map that works."""
    colliding(fresh_db.sqlite_file)
    pg.execute(f"SET ROLE {fresh_db.db_user}; CREATE TABLE a_b_c_key1 (x int); "
               "CREATE VIEW t AS SELECT 1 AS one", fresh_db.db_name)
    with pytest.raises(MigrationError, match="not a table of this migration") as err:
        migrate.run(fresh_db, progress=False)
    assert pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
                      fresh_db.db_name) == [("a_b_c_key1",)]  # nothing was created
    fresh_db.name_map = _hint_map(err.value.hint)
    result = migrate.run(fresh_db, progress=False)
    assert result.completed
    renamed = {r["wanted"]: r["name"] for r in result.section["renamed"]}
    assert renamed["a_b_c_key"] == "a_b_c_key2"  # 1 is the target's own table
    assert pg.execute("SELECT count(*) FROM a_b_c_key1", fresh_db.db_name) == [(0,)]


def test_relation_exists_advice_is_safe():
    fix = diagnose.explain('psycopg2.errors.DuplicateTable: relation "t_pkey" already exists')
    assert fix.problem_id == "DX011"
    assert fix.fix.count("DROP SCHEMA") == 1 and "Never `DROP SCHEMA public CASCADE`" in fix.fix
    assert "if_exists: replace" in fix.fix and "name_map" in fix.fix
    assert any("t_pkey" in c for c in fix.causes)
