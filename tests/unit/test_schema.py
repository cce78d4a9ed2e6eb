"""Type rules, identifiers, bad-value policies, if_exists and killed-run recovery."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

from runbook_lib import migrate
from runbook_lib.core import db
from runbook_lib.core.errors import MigrationError
from runbook_lib.migrate import schema, source

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from edge_cases import EDGE_CASES, assert_table_equal, kill, stuck_migration  # noqa: E402


@pytest.mark.parametrize("declared, alias, expected", [
    ("INTEGER", True, "bigint"), ("INTEGER", False, "bigint"), ("int", False, "bigint"),
    ("SMALLINT", False, "smallint"), ("BOOLEAN", False, "boolean"), ("bool", False, "boolean"),
    ("DATETIME", False, "timestamp with time zone"), ("date", False, "date"),
    ("REAL", False, "double precision"), ("FLOAT", False, "double precision"),
    ("DOUBLE PRECISION", False, "double precision"), ("DECIMAL(10, 2)", False, "numeric(10,2)"),
    ("NUMERIC", False, "numeric"), ("varchar(200)", False, "varchar(200)"),
    ("CHAR(5)", False, "varchar(5)"), ("TEXT", False, "text"), ("BLOB", False, "bytea"),
    ("JSON", False, "jsonb"), ("", False, "text"), ("STRING", False, "text"),
    ("UUID", False, "uuid"),
])
def test_type_rules(declared, alias, expected):
    assert schema.map_type(declared, alias)[0] == expected


def test_rules_are_a_table():
    frame = schema.rules_frame()
    assert len(frame) == len(schema.TYPE_RULES) and frame["postgresql"].notna().all()


def plan_of(tmp_path, make_settings, name, **params):
    path = EDGE_CASES[name](tmp_path / f"{name}.sqlite3")
    return schema.plan(source.introspect(path), make_settings(**params))


def test_long_identifiers_shortened_unless_mapped(tmp_path, make_settings):
    """A name over 63 bytes gets a readable prefix and a hash of the whole name, the same each
    time; name_map still wins."""
    path = tmp_path / "long.sqlite3"
    long = "a_very_long_table_name_" + "x" * 50
    EDGE_CASES["empty_tables"](path)
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute(f"CREATE TABLE {long} (id INTEGER PRIMARY KEY)")
    plan = schema.plan(source.introspect(path), make_settings())
    short = plan.name_map[long]
    assert short.startswith("a_very_long_table_name_xxx") and len(short.encode()) <= 63
    assert short in plan.load_order and plan.name_map == {long: short}
    assert schema.plan(source.introspect(path), make_settings()).name_map == {long: short}
    assert any(r["wanted"] == long and r["name"] == short for r in plan.renamed)
    mapped = schema.plan(source.introspect(path), make_settings(name_map={long: "short_one"}))
    assert "short_one" in mapped.load_order and mapped.name_map == {long: "short_one"}


def test_overrides_order_and_ddl(tmp_path, make_settings):
    plan = plan_of(tmp_path, make_settings, "foreign_keys",
                   type_overrides={"employee.name": "varchar(80)"})
    assert plan.table("employee").column("name").target_type == "varchar(80)"
    assert plan.load_order.index("employee") >= 0 and set(plan.cycles) == {"member", "team"}
    assert '"employee"' in plan.ddl and "NOT VALID" in plan.ddl
    assert {"table", "column", "postgresql type"} <= set(plan.mapping.columns)


def test_bad_values_fail_lists_rows(fresh_db):
    EDGE_CASES["bad_values"](fresh_db.sqlite_file)
    fresh_db.types = "declared"  # every declared type kept: each value that lies is bad
    with pytest.raises(MigrationError) as err:
        migrate.run(fresh_db, progress=False)
    text = str(err.value)
    for where in ("reading.qty", "reading.small", "reading.flag", "reading.at", "reading.label",
                  "reading.body", "reading.price", "reading.doc"):
        assert where in text
    assert "on_bad_value" in err.value.hint


def test_fail_stops_before_any_copy(fresh_db, pg):
    """One bad value in one table: no table keeps a row, the rows are listed by primary key.
    The values are checked as they are copied (`load_checks`): the load cell stops, the target
    is emptied, and the profile lists the rows as the check cell would have."""
    import sqlite3

    EDGE_CASES["keys"](fresh_db.sqlite_file)
    fresh_db.types = "declared"
    with sqlite3.connect(fresh_db.sqlite_file) as conn:
        conn.execute("CREATE TABLE zzz_reading (id INTEGER PRIMARY KEY, qty INTEGER)")
        conn.executemany("INSERT INTO zzz_reading VALUES (?, ?)",
                         [(1, 1), (7, "seven"), (8, 8), (9, "x9")])
    m = migrate.Migration(fresh_db, progress=False)
    for step in (m.take_snapshot, m.introspect, m.make_plan, m.prepare_target):
        step()
    prof = m.check_values()  # shown before the load cell
    assert "zzz_reading" in prof.deferred and not prof.blocking
    assert "checked as they are copied" in prof._repr_html_()
    with pytest.raises(MigrationError) as err:
        m.load()
    prof = m.profile
    assert prof.blocking and [(b.table, b.column, b.count) for b in prof.bad] == \
        [("zzz_reading", "qty", 2)]
    assert [k for k, _ in prof.bad[0].examples] == [7, 9]
    assert "nothing will be copied" in prof._repr_html_()
    text = str(err.value)
    assert "zzz_reading.qty" in text and "(7, 'seven')" in text and "(9, 'x9')" in text
    assert "The copy was undone" in text
    tables = [r[0] for r in pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = "
                                       "'public'", fresh_db.db_name)]
    assert len(tables) > 1
    for name in tables:
        assert pg.execute(f'SELECT count(*) FROM "{name}"', fresh_db.db_name) == [(0,)], name
    assert migrate.target.unfinished_runs(db.connect(fresh_db))  # the next run starts over
    fresh_db.on_bad_value = "null"
    assert migrate.run(fresh_db, progress=False).completed


def test_profile_rescans_columns_whose_type_changed(tmp_path, make_settings):
    """Scans start on the planned types; a type bound later (Django's) is checked again."""
    from runbook_lib.migrate import profile

    path = tmp_path / "typed.sqlite3"
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT, n INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [(1, "12", 1), (2, "x", 2)])
    plan = schema.plan(source.introspect(path), make_settings(django_project=""))
    pending = profile.start(path, plan, workers=2)
    plan.table("t").column("code").target_type = "integer"  # as if migrate made it integer
    prof = profile.profile(path, plan, "fail", tmp_path, 2, pending)
    assert [(b.column, b.count, b.examples) for b in prof.bad] == [("code", 2, [(1, "12"),
                                                                            (2, "x")])]


def test_profile_guesses_djangos_types_up_front(tmp_path, make_settings, monkeypatch):
    """With schema: django the first scan also checks the types migrate will likely choose
    (integer for INTEGER, jsonb for a JSON_VALID text, uuid for char(32)): no second read."""
    import sqlite3

    from runbook_lib.migrate import profile, scan

    path = tmp_path / "django_like.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute('CREATE TABLE t ("id" integer NOT NULL PRIMARY KEY, "n" integer NOT NULL, '
                     '"doc" text NULL CHECK ((JSON_VALID("doc") OR "doc" IS NULL)), '
                     '"u" char(32) NOT NULL)')
        conn.execute("PRAGMA ignore_check_constraints = ON")  # as a careless writer could
        conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?)",
                         [(1, 3_000_000_000, '{"a": 1}', "a0eebc999c0b4ef8bb6d6bb9bd380a11"),
                          (2, 5, "not json", "xyz")])
    plan = schema.plan(source.introspect(path), make_settings(django_project=""))
    pending = profile.start(path, plan, workers=2, django=True)
    for name, django_type in (("n", "integer"), ("doc", "jsonb"), ("u", "uuid")):
        plan.table("t").column(name).target_type = django_type  # what migrate made
    rescans = []
    submit = scan.Scan.submit
    monkeypatch.setattr(scan.Scan, "submit",
                        lambda self, table, conds, *a: (rescans.append(conds),
                                                        submit(self, table, conds, *a)))
    prof = profile.profile(path, plan, "fail", tmp_path, 2, pending)
    assert rescans == [{}]
    assert sorted((b.column, b.count) for b in prof.bad) == [("doc", 1), ("n", 1), ("u", 1)]
    # JSON_VALID in the SQL of *another* column does not make this one a JSON guess
    assert ("guess", "n", "jsonb") not in profile.django_guesses(plan.table("t"))


def test_bad_values_null_and_quarantine(fresh_db):
    EDGE_CASES["bad_values"](fresh_db.sqlite_file)
    fresh_db.on_bad_value, fresh_db.types = "null", "declared"
    result = migrate.run(fresh_db, progress=False)
    entry = result.section["tables"][0]
    assert entry["loaded_rows"] == 6 and entry["quarantined"] == 0
    with db.connection(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT qty, small, flag, label, body FROM reading WHERE id = 1")
        assert cur.fetchone() == (10, 1, True, "ok", "fine")
        cur.execute("SELECT count(*) FROM reading WHERE qty IS NULL")
        assert cur.fetchone()[0] == 3  # 'abc', 5.5 and the NULL row
    fresh_db.on_bad_value, fresh_db.if_exists = "quarantine", "replace"
    result = migrate.run(fresh_db, progress=False)
    entry = result.section["tables"][0]
    assert (entry["loaded_rows"], entry["quarantined"]) == (2, 4)
    assert entry["quarantine_file"] == "reading.csv"
    with open(Path(result.section["quarantine_dir"]) / "reading.csv") as fh:
        kept = list(csv.reader(fh))
    assert kept[0][:2] == ["runbook:table", "id"]
    assert [r[:2] for r in kept[1:]] == [["reading", k] for k in ("2", "3", "4", "5")]
    with db.connection(fresh_db) as conn:
        assert_table_equal(conn, result.section["snapshot"], entry,
                           skip_source_rows={2, 3, 4, 5}) == 2


def test_dangling_references(fresh_db):
    EDGE_CASES["dangling"](fresh_db.sqlite_file)
    with pytest.raises(MigrationError, match="dangling"):
        migrate.run(fresh_db, progress=False)
    fresh_db.on_bad_value, fresh_db.if_exists = "null", "replace"
    migrate.run(fresh_db, progress=False)
    with db.connection(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM child WHERE parent_id IS NULL ORDER BY id")
        assert [r[0] for r in cur.fetchall()] == [2, 3, 5]
    fresh_db.on_bad_value = "quarantine"
    result = migrate.run(fresh_db, progress=False)
    child = next(t for t in result.section["tables"] if t["table"] == "child")
    assert (child["loaded_rows"], child["quarantined"]) == (3, 2)


def test_truncate_keeps_definitions(fresh_db):
    EDGE_CASES["keys"](fresh_db.sqlite_file)
    migrate.run(fresh_db, progress=False)
    fresh_db.if_exists = "truncate"
    result = migrate.run(fresh_db, progress=False)
    assert result.completed
    with db.connection(fresh_db) as conn:
        for entry in result.section["tables"]:
            assert_table_equal(conn, result.section["snapshot"], entry)


def test_killed_run_is_redone(fresh_db, monkeypatch):
    EDGE_CASES["foreign_keys"](fresh_db.sqlite_file)

    def boom(*args, **kwargs):
        raise KeyboardInterrupt("killed")

    with monkeypatch.context() as patch:
        patch.setattr(migrate.postload, "apply", boom)
        with pytest.raises(KeyboardInterrupt):
            migrate.run(fresh_db, progress=False)
    result = migrate.run(fresh_db, progress=False)  # if_exists: fail, yet it redoes cleanly
    assert result.completed and any("did not finish" in n for n in result.notes)
    with db.connection(fresh_db) as conn:
        for entry in result.section["tables"]:
            assert assert_table_equal(conn, result.section["snapshot"], entry) == \
                entry["source_rows"]


def test_dry_run_writes_nothing(fresh_db, pg):
    EDGE_CASES["keys"](fresh_db.sqlite_file)
    fresh_db.dry_run = True
    result = migrate.run(fresh_db, progress=False)
    assert result.dry_run and not result.completed
    tables = pg.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                        fresh_db.db_name)
    assert tables == [(0,)]


def test_silent_misreads_are_caught_during_copy(fresh_db):
    """A blob in a TEXT column and a NUL byte would load silently wrong: both stop the copy
    (types: declared; with types: data the blob makes the column bytea)."""
    import sqlite3

    fresh_db.types = "declared"
    with sqlite3.connect(fresh_db.sqlite_file) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT, x REAL)")
        conn.executemany("INSERT INTO t VALUES (?, ?, ?)",
                         [(1, "fine", 1.5), (2, b"\x01\x02", 2.5), (3, "nul\x00here", None)])
    with pytest.raises(MigrationError) as err:
        migrate.run(fresh_db, progress=False)
    assert "t.body" in str(err.value) and "2 row(s)" in str(err.value)
    assert migrate.target.unfinished_runs(db.connect(fresh_db))  # next run redoes it
    fresh_db.on_bad_value = "null"
    result = migrate.run(fresh_db, progress=False)
    assert result.completed
    with db.connection(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, body FROM t ORDER BY id")
        assert cur.fetchall() == [(1, "fine"), (2, None), (3, None)]


def test_process_killed_mid_copy_is_redone(fresh_db, pg, tmp_path):
    EDGE_CASES["foreign_keys"](fresh_db.sqlite_file)
    child = stuck_migration(pg, fresh_db, tmp_path / "killed")
    kill(child, pg, fresh_db.db_name)
    result = migrate.run(fresh_db, progress=False)
    assert result.completed and any("did not finish" in n for n in result.notes)
    with db.connection(fresh_db) as conn:
        for entry in result.section["tables"]:
            assert assert_table_equal(conn, result.section["snapshot"], entry) == \
                entry["source_rows"]
