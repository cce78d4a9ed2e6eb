"""Issue 13, class 1: SQL text from a hostile SQLite file never runs on PostgreSQL.

SQLite ends `/* … */` at the first `*/`, PostgreSQL nests comments, reads `E'\\''` and (with
standard_conforming_strings off) `'\\'` as an escaped quote: text that is a harmless string
for SQLite is live SQL for PostgreSQL. Each variant below puts such text in every place the
runbook reads SQL from (view, partial-index predicate, expression index, column DEFAULT,
CHECK, generated column); the payload would create a table and a function and grant a table to
PUBLIC. After the migration the catalogue proves nothing of it happened, the table is intact,
and what was translated means what it meant in SQLite.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from runbook_lib import migrate
from runbook_lib.core import db
from runbook_lib.migrate import sql_translate as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from edge_cases import assert_table_equal  # noqa: E402

PAYLOAD = ("CREATE TABLE pwned_{place} (x int); GRANT ALL ON t TO PUBLIC; CREATE FUNCTION "
           "pwned_{place}() RETURNS int LANGUAGE sql AS $f$SELECT 1$f$")
VARIANTS = {  # name: (an expression over t's columns, a constant expression for DEFAULT)
    "nested_comment": ("'x' /* /* */ || '*/; {P}; --'", "'x' /* /* */ || '*/; {P}; --'"),
    "backslash_scs_off": ("'\\' || '; {P}; --'", "'\\' || '; {P}; --'"),
    "e_string": ("e || '\\' || '; {P}; --'", "'e' || '\\' || '; {P}; --'"),
    "brackets_backticks": ("[b] || `e` || '; {P}; --'", "'[b]' || '`e`' || '; {P}; --'"),
    "dollar_quotes": ("'$$' || '$q$; {P}; --$q$' || \"x$$\"", "'$$' || '$q$; {P}; --$q$'"),
    "unicode_escape": ("u&'\\0027; {P}; --'", "'u&' || '\\0027; {P}; --'"),
    "semicolons": ("';' || \"semi;colon\" || '; {P}; --'", "';' || '; {P}; --'"),
}
PLACES = ("view", "partial", "expr_index", "default", "check", "generated")


def hostile_file(path: Path, variant: str) -> Path:
    expr, const = VARIANTS[variant]

    def e(template: str, place: str) -> str:
        return template.replace("{P}", PAYLOAD.format(place=place))

    result = (e("e'\\' , '; {P}; --' AS y", "view") if variant == "e_string"
              else f"{e(expr, 'view')} AS y")
    script = f"""
        CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, e TEXT, u INTEGER,
            "x$$" TEXT, "semi;colon" TEXT, d TEXT DEFAULT ({e(const, 'default')}),
            g INTEGER GENERATED ALWAYS AS (length({e(expr, 'generated')})) STORED,
            CHECK (b <> {e(expr, 'check')}));
        CREATE VIEW v_hostile AS SELECT {result}, id FROM t;
        CREATE INDEX i_partial ON t (b) WHERE b <> {e(expr, 'partial')};
        CREATE INDEX i_expr ON t (length({e(expr, 'expr_index')}));
        INSERT INTO t (id, a, b, e, u, "x$$", "semi;colon")
            VALUES (1, 1, 'row1', 'e1', 7, 'd1', 's1'), (2, 2, 'row2', NULL, NULL, NULL, NULL);
    """
    with sqlite3.connect(path) as conn:
        conn.executescript(script)
    conn.close()
    return path


CATALOGUE = """
SELECT 'relation', n.nspname || '.' || c.relname || ' ' || c.relkind::text FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
UNION ALL SELECT 'grant', c.relname || ' ' || c.relacl::text FROM pg_class c
  WHERE c.relacl IS NOT NULL AND c.relnamespace <> 'pg_catalog'::regnamespace
  AND c.relnamespace <> 'information_schema'::regnamespace
UNION ALL SELECT 'function', p.oid::regprocedure::text FROM pg_proc p
  WHERE p.pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
UNION ALL SELECT 'trigger', tgname FROM pg_trigger WHERE NOT tgisinternal
UNION ALL SELECT 'role', rolname || ' ' || rolsuper::text FROM pg_roles
UNION ALL SELECT 'schema', nspname || ' ' || coalesce(nspacl::text, '') FROM pg_namespace
UNION ALL SELECT 'database', datname FROM pg_database
UNION ALL SELECT 'extension', extname FROM pg_extension
"""


def catalogue(pg, dbname: str) -> set[tuple[str, str]]:
    return set(pg.execute(CATALOGUE, dbname))


def _sqlite_rows(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_hostile_sql_text_never_runs(fresh_db, pg, variant):
    if variant == "backslash_scs_off":  # a server configured the old way
        pg.execute(f"ALTER DATABASE {fresh_db.db_name} SET standard_conforming_strings = off")
    hostile_file(fresh_db.sqlite_file, variant)
    before = catalogue(pg, fresh_db.db_name)
    result = migrate.run(fresh_db, progress=False)
    after = catalogue(pg, fresh_db.db_name)
    new = after - before
    assert not [x for x in new | before ^ after if "pwned" in x[1]]
    assert {k for k, _ in new} <= {"relation", "schema"}, new  # no function, trigger, grant…
    assert not before - after, before - after  # nothing dropped or changed
    tables = {x[1] for x in new if x[0] == "relation" and x[1].endswith(" r")}
    assert tables == {"public.t r", "runbook_migration.runs r", "runbook_migration.holders r",
                      "runbook_migration.quarantine r"}  # the runbook's own bookkeeping
    assert {x[1] for x in new if x[0] == "schema"} == {"runbook_migration "}
    assert result.completed
    entry = result.section["tables"][0]
    with db.connection(fresh_db) as conn:
        assert assert_table_equal(conn, result.section["snapshot"], entry) == 2
    followed = {(f["kind"], f["name"]) for f in result.section["manual_followups"]}
    present = {x[1].split(".", 1)[1] for x in new if x[0] == "relation"}
    # every place is either on PostgreSQL (translated) or a follow-up, never both, never lost
    assert ("v_hostile v" in present) != (("view", "v_hostile") in followed)
    assert ("i_partial i" in present) != (("index", "i_partial") in followed)
    assert ("i_expr i" in present) != (("index", "i_expr") in followed)
    assert ("generated column", "g") in followed
    if "v_hostile v" in present:  # translated: it means what it meant in SQLite
        rows = pg.execute("SELECT * FROM v_hostile ORDER BY id", fresh_db.db_name)
        assert [tuple(r) for r in rows] == _sqlite_rows(fresh_db.sqlite_file,
                                                         "SELECT * FROM v_hostile ORDER BY id")


def test_the_issues_attack(fresh_db, pg):
    """Verbatim from the issue: a view whose text is a string for SQLite, three statements
    for PostgreSQL."""
    with sqlite3.connect(fresh_db.sqlite_file) as conn:
        conn.executescript("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);"
                           "CREATE VIEW v AS SELECT 1 AS x /* /* */ , '*/; CREATE TABLE pwned "
                           "(x int); GRANT ALL ON t TO PUBLIC; --' AS y;")
    conn.close()
    before = catalogue(pg, fresh_db.db_name)
    assert migrate.run(fresh_db, progress=False).completed
    new = catalogue(pg, fresh_db.db_name) - before
    assert not [x for x in new if "pwned" in x[1] or x[0] == "grant"], new
    assert pg.execute("SELECT * FROM v", fresh_db.db_name) == _sqlite_rows(
        fresh_db.sqlite_file, "SELECT * FROM v")


def test_translated_default_and_check_keep_their_meaning(fresh_db, pg):
    """The nested-comment DEFAULT and CHECK are translated: the payload is data."""
    hostile_file(fresh_db.sqlite_file, "nested_comment")
    result = migrate.run(fresh_db, progress=False)
    kinds = {f["kind"] for f in result.section["manual_followups"]}
    assert "default" not in kinds and "check" not in kinds
    inserted = pg.execute("INSERT INTO t (id, b) VALUES (10, 'row10') RETURNING d",
                          fresh_db.db_name)
    with sqlite3.connect(fresh_db.sqlite_file) as conn:
        expected = conn.execute("INSERT INTO t (id, b) VALUES (10, 'row10') RETURNING d")
        assert inserted == [tuple(r) for r in expected.fetchall()]
    conn.close()
    checks = pg.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE "
                        "contype = 'c' AND conrelid = 't'::regclass", fresh_db.db_name)
    assert len(checks) == 1 and "*/; CREATE TABLE pwned_check" in checks[0][0]


# -- the translator on its own -----------------------------------------------------------------
ATTACK = "CREATE VIEW v AS SELECT 1 AS x /* /* */ , '*/; DROP TABLE t; --' AS y"


def test_the_issues_attack_is_data():
    made = st.view(ATTACK, str, str)
    assert made.sql == "SELECT 1 AS \"x\", '*/; DROP TABLE t; --' AS \"y\""


@pytest.mark.parametrize("text", [
    "pg_read_file('/etc/passwd')",  # an unknown (anonymous) function
    "lo_export(1, '/tmp/x')",
    "replace(a, 'x', 'y')",  # sqlglot falls back to a raw Command: refused
    "a = ?", "a = :name", "a = @v",  # parameters
    "CAST(a AS regclass)",  # a cast to a type outside the list
    "x'00ff'",  # a blob literal PostgreSQL reads as a bit string
    "a COLLATE NOCASE",
    "(SELECT 1)",  # no query inside an expression
    "1; DROP TABLE t",  # two statements
    "(" * 80 + "1" + ")" * 80,  # nesting deeper than the limit
    "'unterminated",
])
def test_refused_expressions(text):
    with pytest.raises(st.Untranslatable):
        st.expression(text)


def test_comments_are_read_as_sqlite_reads_them():
    assert st.without_comments("a /* /* */ + 1 -- x\n") == "a   + 1  "
    assert st.expression("a /* /* */ > '*/ OR 1=1; --'") == "\"a\" > '*/ OR 1=1; --'"
    assert st.expression("a -- '\n > 1") == '"a" > 1'


def test_backslashes_become_e_strings():
    """Correct with standard_conforming_strings on or off."""
    assert st.default("'C:\\dir\\'") == "E'C:\\\\dir\\\\'"
    assert st.expression("a = 'it''s \\'") == "\"a\" = E'it''s \\\\'"


@pytest.mark.parametrize("text", [
    "SELECT 1; SELECT 2", "SELECT 1 -- c", "SELECT 1 /* c */", "SELECT E'x'",
    "SELECT U&'x'", "SELECT $$x$$", "SELECT 'a'\\", "SELECT x'01'", "SELECT \"a\"'b'",
    "SELECT 1 /* unclosed", "SELECT a--b", "SELECT \x00",
])
def test_generated_text_must_lex_plainly(text):
    with pytest.raises(st.Untranslatable):
        st.check_lexically(text)


def test_names_are_quoted_and_renamed():
    cols = st.renamer({"Email": "email_address"})
    assert st.expression('lower(EMAIL) || "a""b"', cols) == \
        'LOWER("email_address") || "a""b"'
    items, where = st.index("CREATE INDEX i ON [t] (lower(email) DESC, \"x\") WHERE x > 0",
                            cols)
    assert items == ['(LOWER("email_address")) DESC', '("x")'] and where == '"x" > 0'


def test_table_parts_follow_sqlite_lexing():
    parts = st.table_parts(
        'CREATE TABLE t (a INTEGER CONSTRAINT pos CHECK (a > 0) DEFAULT (1), '
        'b TEXT GENERATED ALWAYS AS (upper(a)) STORED, c VARYING CHARACTER(5), '
        'u TEXT UNIQUE ON CONFLICT REPLACE, "check" TEXT, '
        "CHECK (a < 10 /* ) */), CONSTRAINT named CHECK (b <> ')'))")
    assert parts.checks == [("pos", "a", "a > 0"), (None, None, "a < 10"),
                            ("named", None, "b <> ')'")]
    assert parts.generated == {"b": "upper(a)"}


def test_djangos_checks(tmp_path, make_settings):
    """Django's SQLite CHECKs: `>= 0` is translated; JSON_VALID is what jsonb already
    enforces (skipped) and, on a text column, a follow-up (no PostgreSQL function)."""
    from runbook_lib.migrate import schema, source

    path = tmp_path / "django.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute('CREATE TABLE "app_m" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, '
                     '"n" integer unsigned NOT NULL CHECK ("n" >= 0), "doc" text NULL CHECK '
                     '((JSON_VALID("doc") OR "doc" IS NULL)))')
    conn.close()
    plain = schema.plan(source.introspect(path), make_settings(sqlite_path=str(path)))
    checks = [s.sql for s in plain.steps if s.label == "check"]
    assert checks == ['ALTER TABLE "app_m" ADD CONSTRAINT "app_m_n_check" CHECK ("n" >= 0)']
    assert [(f["kind"], f["name"]) for f in plain.followups] == [("check", "doc check")]
    typed = schema.plan(source.introspect(path), make_settings(
        sqlite_path=str(path), type_overrides={"app_m.doc": "jsonb"}))
    assert typed.followups == [] and len([s for s in typed.steps if s.label == "check"]) == 1
