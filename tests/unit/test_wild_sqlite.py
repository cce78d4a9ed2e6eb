"""Issue 15: plain SQLite files from the wild (schema: sqlite).

Each case either migrates exactly with the defaults (the plan follows the values where the
declaration lies, each decision listed with its reason and count) or stops before any COPY
naming the rows and fixes that work when applied: every bad-value kind under every
`on_bad_value` policy, every printed fix pasted into a profile and loaded as `runbook run
--params` loads it. An independent check compares every source row with the target as
multisets (tests/wild_sqlite.py), and stage 04 must agree.
"""

from __future__ import annotations

import csv
import re
import sqlite3
import sys
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from runbook_lib import migrate
from runbook_lib.core import config, diagnose
from runbook_lib.core.errors import MigrationError
from runbook_lib.prepare import demo
from runbook_lib.validate import stage as validation

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from wild_sqlite import build, same_rows, source_rows  # noqa: E402

POLICIES = ("fail", "null", "quarantine")


def run(settings, **params):
    """migrate.run with these parameters (one worker: small files)."""
    for name, value in {"workers": 1, **params}.items():
        setattr(settings, name, value)
    return migrate.run(settings, progress=False)


def validated(settings):
    report = validation.run(settings)
    assert report.ok, [(v.table, v.verdict, v.detail()) for v in report.tables]
    return report


def empty_target(pg, settings) -> None:
    """No table of the target holds a row (the run stopped before any COPY)."""
    names = [r[0] for r in pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = "
                                      "'public'", settings.db_name)]
    for name in names:
        assert pg.execute(f'SELECT count(*) FROM "{name}"', settings.db_name) == [(0,)], name


# -- 1. the plan follows the data where the declaration lies ---------------------------------
GPKG_POINT = bytes.fromhex("47500001e6100000") + bytes.fromhex(
    "0101000000000000000000f03f0000000000000040")  # GeoPackage header + WKB POINT(1 2)
LIES = {  # name: (script, rows, table, column, chosen type, reason key)
    "integer_holding_text": (
        "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)",
        [(1, 5), (2, "abc"), (3, 2.5), (4, None), (5, 2**62)], "t", "n", "text", "text"),
    "integer_holding_reals": (
        "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)",
        [(1, 5), (2, 2.5), (3, -0.125)], "t", "n", "double precision", "double precision"),
    "smallint_beyond_range": (
        "CREATE TABLE t (id INTEGER PRIMARY KEY, n SMALLINT)",
        [(1, 5), (2, 70000)], "t", "n", "integer", "wider"),
    "real_nan_infinity": (
        "CREATE TABLE t (id INTEGER PRIMARY KEY, x REAL)",
        [(1, 1.5), (2, "NaN"), (3, "Infinity"), (4, "-Infinity"), (5, float("inf"))], "t",
        "x", "double precision", "double words"),
    "blob_in_text": (
        "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)",
        [(1, "plain"), (2, b"\x00\xff\x01"), (3, "nul\x00inside"), (4, "한국어")], "t", "body",
        "bytea", "bytea"),
    "geometry_blobs": (
        "CREATE TABLE features (fid INTEGER PRIMARY KEY, name TEXT, geom POINT);"
        "CREATE TABLE gpkg_geometry_columns (table_name TEXT, column_name TEXT, "
        "geometry_type_name TEXT, srs_id INTEGER);"
        "INSERT INTO gpkg_geometry_columns VALUES ('features', 'geom', 'POINT', 4326);"
        "CREATE VIRTUAL TABLE rtree_features_geom USING rtree(id, minx, maxx, miny, maxy);"
        "INSERT INTO rtree_features_geom VALUES (1, 1, 1, 2, 2);",
        [(1, "a", GPKG_POINT), (2, "b", None)], "features", "geom", "bytea", ""),
    "json_duplicate_keys": (
        "CREATE TABLE t (id INTEGER PRIMARY KEY, doc JSON)",
        [(1, '{"a": 1, "a": 2}'), (2, '{"b": [1, {"c": 1, "c": 1}]}'), (3, '{"ok": true}')],
        "t", "doc", "json", "json"),
    "varchar_too_long": (
        "CREATE TABLE t (id INTEGER PRIMARY KEY, code VARCHAR(5))",
        [(1, "short"), (2, "much too long")], "t", "code", "text", "text"),
    "text_in_blob": (
        "CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB)",
        [(1, b"\x01\x02"), (2, "some text")], "t", "data", "bytea", "text as bytes"),
}


def _lie(path: Path, name: str) -> Path:
    script, rows, table, *_ = LIES[name]
    return build(path, script, {table: rows})


def _columns(path: Path, table: str) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        return [(r[1], r[1]) for r in conn.execute(f'PRAGMA table_info("{table}")')]
    finally:
        conn.close()


@pytest.mark.parametrize("name", list(LIES))
def test_declarations_that_lie_follow_the_data(fresh_db, pg, name):
    """With the defaults the plan takes the narrowest type that holds every value, lists the
    decision (reason and count), and every row arrives exactly; stage 04 agrees."""
    _, rows, table, column, chosen, reason = LIES[name]
    path = _lie(fresh_db.sqlite_file, name)
    result = run(fresh_db)
    assert result.completed
    entry = next(e for e in result.section["tables"] if e["source_table"] == table)
    planned = {c["source_name"]: c["target_type"] for c in entry["columns"]}
    assert planned[column] == chosen
    decisions = result.section["type_decisions"]
    if reason:  # a decision of the data, with its reason and count
        [d] = [d for d in decisions if d["column"] == column]
        assert (d["target_type"], d["reason"]) == (chosen, reason) and d["rows"] >= 1
    else:  # the declaration itself maps the geometry to bytea
        assert not decisions and any(f["kind"] == "geometry" for f in
                                     result.section["manual_followups"])
    assert same_rows(fresh_db, path, table, entry["table"], _columns(path, table)) == len(rows)
    validated(fresh_db)


def test_geopackage_spatial_index_is_derived(fresh_db):
    path = _lie(fresh_db.sqlite_file, "geometry_blobs")
    result = run(fresh_db)
    derived = {d["table"]: d for d in result.section["derived"]}
    assert derived["rtree_features_geom"]["kind"] == "spatial"
    assert derived["rtree_features_geom"]["owner"] == "features.geom"
    assert {"rtree_features_geom_node", "rtree_features_geom_parent",
            "rtree_features_geom_rowid"} <= set(derived)
    assert same_rows(fresh_db, path, "gpkg_geometry_columns", "gpkg_geometry_columns",
                     _columns(path, "gpkg_geometry_columns")) == 1
    report = validated(fresh_db)
    verdicts = {v.table: v.verdict for v in report.tables}
    assert verdicts["rtree_features_geom"] == "derived" and verdicts["features"] == "ok"


@pytest.mark.parametrize("name", [n for n in LIES if LIES[n][5]])
def test_types_declared_restores_the_strict_plan(fresh_db, pg, name):
    """types: declared keeps every declared type: the lie stops the run before any COPY, and
    each printed fix (types: data, type_overrides, on_bad_value) makes it complete."""
    _, _, table, column, chosen, _ = LIES[name]
    _lie(fresh_db.sqlite_file, name)
    with pytest.raises(MigrationError) as err:
        run(fresh_db, types="declared")
    assert f"{table}.{column}" in err.value.message
    empty_target(pg, fresh_db)
    lines = fix_lines(err.value.hint)
    assert "types: data" in lines
    assert f"type_overrides: {{{table}.{column}: {chosen}}}" in lines
    for line in lines:
        apply_profile(fresh_db, line, types="declared")
        assert run(fresh_db, if_exists="replace").completed, line
        validated(fresh_db)


def test_type_overrides_win_over_the_data(fresh_db):
    _lie(fresh_db.sqlite_file, "integer_holding_text")
    with pytest.raises(MigrationError, match="t.n"):  # bigint kept: 'abc' and 2.5 are bad
        run(fresh_db, type_overrides={"t.n": "bigint"})
    result = run(fresh_db, type_overrides={"t.n": "text"}, if_exists="replace")
    assert result.section["type_decisions"] == []
    assert result.section["tables"][0]["columns"][1]["target_type"] == "text"


def test_decisions_shown_in_the_plan(fresh_db):
    _lie(fresh_db.sqlite_file, "integer_holding_text")
    m = migrate.Migration(fresh_db, progress=False)
    m.take_snapshot()
    m.introspect()
    plan = m.make_plan()
    row = plan.mapping.set_index("column").loc["n"]
    assert row["postgresql type"] == "text" and row["rule"] == "values"
    assert "2 value(s) are not bigint" in row["why"]
    frame = m.type_decisions
    assert list(frame["column"]) == ["n"] and list(frame["rows"]) == [2]
    assert any("types: data" in n for n in m.notes)
    m.close()


def test_django_schema_keeps_django_types(fresh_db, tmp_path):
    """types: data is for schema: sqlite only: with schema: django a column keeps the type
    the project's model gives it, and text in it stays a bad value."""
    path = tmp_path / "spc.sqlite3"
    demo.build(path, rows=50)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE spc_qualitymeasurement SET sample_group = 'abc' WHERE id = 1")
    conn.close()
    fresh_db.sqlite_path, fresh_db.django_project = str(path), "examples/spc_backend"
    result = run(fresh_db, schema="django", on_bad_value="quarantine")
    assert result.section["type_decisions"] == []
    entry = next(e for e in result.section["tables"] if e["table"] == "spc_qualitymeasurement")
    assert {c["name"]: c["target_type"] for c in entry["columns"]}["sample_group"] == "integer"
    assert entry["quarantined"] == 1


# -- 2. identifiers over 63 bytes ----------------------------------------------------------
LONG_TABLE = "measurement_results_of_the_production_line_quality_control_" + "x" * 10
LONG_COLUMN = "측정값_" * 12  # 120 bytes of UTF-8
LONG_INDEX = "index_on_" + "y" * 60


def test_long_identifiers_shortened_and_recorded(fresh_db, pg):
    path = build(fresh_db.sqlite_file, f'''
        CREATE TABLE "{LONG_TABLE}" (id INTEGER PRIMARY KEY, "{LONG_COLUMN}" REAL, note TEXT);
        CREATE INDEX "{LONG_INDEX}" ON "{LONG_TABLE}" ("{LONG_COLUMN}");
        CREATE TABLE child (id INTEGER PRIMARY KEY,
                            m_id INTEGER REFERENCES "{LONG_TABLE}"(id));''',
                 {LONG_TABLE: [(1, 1.5, "a"), (2, None, "b")], "child": [(1, 1), (2, 2)]})
    result = run(fresh_db)
    used = result.section["name_map"]
    assert set(used) == {LONG_TABLE, LONG_COLUMN, LONG_INDEX}
    for long, short in used.items():
        assert len(short.encode()) <= 63 and short != long
        assert long.encode()[:20] == short.encode()[:20]  # a readable prefix
    again = run(fresh_db, if_exists="replace")
    assert again.section["name_map"] == used  # deterministic
    entry = next(e for e in result.section["tables"] if e["source_table"] == LONG_TABLE)
    assert entry["table"] == used[LONG_TABLE]
    assert same_rows(fresh_db, path, LONG_TABLE, used[LONG_TABLE],
                     [("id", "id"), (LONG_COLUMN, used[LONG_COLUMN]), ("note", "note")]) == 2
    assert pg.execute(f"SELECT count(*) FROM pg_indexes WHERE indexname = '{used[LONG_INDEX]}'",
                      fresh_db.db_name) == [(1,)]
    assert any(r["wanted"] == LONG_TABLE for r in result.section["renamed"])
    validated(fresh_db)
    # name_map still wins, and the run records what it used
    mine = {LONG_TABLE: "measurements"}
    result = run(fresh_db, name_map=mine, if_exists="replace")
    assert result.section["name_map"][LONG_TABLE] == "measurements"
    validated(fresh_db)


# -- 3. bad values PostgreSQL cannot hold, under every policy --------------------------------
def _utf8_bad(v) -> bool:
    try:
        v.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _bad_date(v) -> bool:
    try:
        date.fromisoformat(v.decode())
    except ValueError:
        return True
    return False


def _bad_stamp(v) -> bool:
    try:
        datetime.fromisoformat(v.decode().replace("Z", "+00:00"))
    except ValueError:
        return True
    return False


# kind: (script, table, column, is_bad(value) for a non-NULL value, key column NULL-able)
KINDS = {
    "nul_in_text": ("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT);"
                    "INSERT INTO t VALUES (1, 'ok'), (2, 'nul' || char(0) || 'here'), (3, NULL),"
                    " (4, '한국어');", "t", "body", lambda v: b"\x00" in v),
    "invalid_utf8": ("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT);"
                     "INSERT INTO t VALUES (1, 'ok'), (2, CAST(x'c328' AS TEXT)), "
                     "(3, CAST(x'ff' AS TEXT)), (4, '한국어');", "t", "body", _utf8_bad),
    "impossible_date": ("CREATE TABLE t (id INTEGER PRIMARY KEY, day DATE);"
                        "INSERT INTO t VALUES (1, '2024-01-31'), (2, '2024-02-30'), "
                        "(3, '0000-01-01'), (4, NULL);", "t", "day", _bad_date),
    "impossible_timestamp": ("CREATE TABLE t (id INTEGER PRIMARY KEY, at DATETIME);"
                             "INSERT INTO t VALUES (1, '2024-01-01 10:00:00'), "
                             "(2, '0000-01-01T00:00:00.000Z'), (3, '2023-02-29 12:00:00');",
                             "t", "at", _bad_stamp),
    "impossible_time": ("CREATE TABLE t (id INTEGER PRIMARY KEY, tm TIME);"
                        "INSERT INTO t VALUES (1, '23:59:59'), (2, '25:61:00');", "t", "tm",
                        lambda v: v == b"25:61:00"),
    "null_primary_key": ("CREATE TABLE t (code TEXT PRIMARY KEY, v INTEGER);"
                         "INSERT INTO t VALUES (NULL, 1), (NULL, 2), ('a', 3);", "t", "code",
                         None),
    "dangling_reference": ("CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);"
                           "CREATE TABLE t (id INTEGER PRIMARY KEY, parent_id INTEGER "
                           "REFERENCES parent(id), note TEXT);"
                           "INSERT INTO parent VALUES (1, 'p');"
                           "INSERT INTO t VALUES (1, 1, 'ok'), (2, 99, 'dangles'), "
                           "(3, NULL, 'none');", "t", "parent_id", lambda v: v != 1),
}


def _bad_row(kind: str, row: dict) -> bool:
    _, _, column, is_bad = KINDS[kind]
    value = row[column]
    if is_bad is None:  # NULL in the key
        return value is None
    return value is not None and is_bad(value)


def _case(settings, kind: str) -> Path:
    path = Path(settings.sqlite_file)
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as conn:
        conn.executescript(KINDS[kind][0])
    conn.close()
    return path


def _expected(kind: str, policy: str):
    """The source row as it must arrive: NULL in place of the bad value (a key cannot be
    NULL: that row is set aside), or the row set aside."""
    column = KINDS[kind][2]

    def arrive(row: dict):
        if not _bad_row(kind, row):
            return row
        if policy == "null" and kind != "null_primary_key":
            return {**row, column: None}
        return None
    return arrive


def _bad_count(path: Path, kind: str) -> int:
    table, column = KINDS[kind][1], KINDS[kind][2]
    return len(source_rows(path, table, [column], lambda r: _bad_row(kind, r)))


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("kind", list(KINDS))
def test_bad_value_under_each_policy(fresh_db, pg, kind, policy):
    path = _case(fresh_db, kind)
    table = KINDS[kind][1]
    bad = _bad_count(path, kind)
    assert bad
    if policy == "fail":
        with pytest.raises(MigrationError) as err:
            run(fresh_db)
        text = err.value.message
        assert f"{table}.{KINDS[kind][2]}" in text and f"{bad} row(s)" in text
        assert "The copy stopped" not in text and "COPY" not in text  # found before any COPY
        if kind == "null_primary_key":  # named by rowid: the key itself is NULL
            assert "'rowid 1'" in text and "'rowid 2'" in text
        empty_target(pg, fresh_db)
        return
    result = run(fresh_db, on_bad_value=policy)
    assert result.completed
    entry = next(e for e in result.section["tables"] if e["source_table"] == table)
    set_aside = bad if policy == "quarantine" or kind == "null_primary_key" else 0
    assert entry["quarantined"] == set_aside
    [found] = result.section["bad_values"]
    assert (found["column"], found["rows"]) == (KINDS[kind][2], bad)
    if kind == "null_primary_key" and policy == "null":  # NULL is not a policy for a key
        assert found["action"] == "quarantine_key" and "cannot be NULL" in found["what happens"]
    assert same_rows(fresh_db, path, table, entry["table"], _columns(path, table),
                     _expected(kind, policy)) == entry["source_rows"] - set_aside
    report = validated(fresh_db)
    verdict = next(v for v in report.tables if v.table == entry["table"])
    assert verdict.quarantined == set_aside


# -- 5. every fix text works ---------------------------------------------------------------
def fix_lines(hint: str) -> list[str]:
    """The YAML lines a fix prints (`    name: value    # what it does`)."""
    return [m.group(1) for m in re.finditer(r"^    (\w+: .+?)    # ", hint, re.M)]


def apply_profile(settings, line: str, **reset) -> None:
    """Paste one printed line into a profile file and load it as `runbook run --params`."""
    folder = Path(settings.run_dir).parent
    folder.mkdir(parents=True, exist_ok=True)
    profile = folder / "fix.yaml"
    profile.write_text(f"schema: sqlite\n{line}\n", encoding="utf-8")
    values = config.load_profile(profile)
    for name in ("on_bad_value", "type_overrides", "types"):
        setattr(settings, name, config.PARAMETERS[name][0])
    for name, value in {**reset, **values}.items():
        setattr(settings, name, value)


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_printed_fix_makes_the_run_complete(fresh_db, kind):
    _case(fresh_db, kind)
    with pytest.raises(MigrationError) as err:
        run(fresh_db)
    lines = fix_lines(err.value.hint)
    assert "on_bad_value: quarantine" in lines
    if kind == "null_primary_key":  # NULL cannot replace a key: not offered
        assert "on_bad_value: 'null'" not in lines
    else:
        assert "on_bad_value: 'null'" in lines
    if kind in ("nul_in_text", "invalid_utf8"):
        assert f"type_overrides: {{t.{KINDS[kind][2]}: bytea}}" in lines
    if kind.startswith("impossible"):
        assert f"type_overrides: {{t.{KINDS[kind][2]}: text}}" in lines
    for line in lines:
        apply_profile(fresh_db, line)
        assert run(fresh_db, if_exists="replace").completed, line
        validated(fresh_db)


def test_bad_values_said_in_korean_with_the_same_fixes(fresh_db):
    _case(fresh_db, "impossible_date")
    with pytest.raises(MigrationError) as en:
        run(fresh_db)
    with pytest.raises(MigrationError) as ko:
        run(fresh_db, language="ko")
    assert re.search("[\uac00-\ud7a3]", ko.value.message), ko.value.message
    assert re.search("[\uac00-\ud7a3]", ko.value.hint), ko.value.hint
    assert "t.day" in ko.value.message and "2024-02-30" in ko.value.message
    assert fix_lines(ko.value.hint) == fix_lines(en.value.hint) != []


CATALOGUE_CASES = {  # problem: (pasted error that names it, case, profile lines besides)
    "DX016": ('invalid byte sequence for encoding "UTF8": 0x00', "nul_in_text", ""),
    "DX017": ('invalid byte sequence for encoding "UTF8": 0xc3 0x28', "invalid_utf8", ""),
    "DX018": ('value "70000" is out of range for type smallint', "smallint_beyond_range",
              "types: declared"),
    "DX019": ("value too long for type character varying(5)", "varchar_too_long",
              "types: declared"),
    "DX020": ('date/time field value out of range: "2024-02-30"', "impossible_date", ""),
    "DX027": ('insert or update on table "t" violates foreign key constraint "t_parent_id_fkey"',
              "dangling_reference", ""),
}


@pytest.mark.parametrize("problem", list(CATALOGUE_CASES))
def test_catalogue_fixes_work_when_applied(fresh_db, problem):
    """Each diagnosis that suggests a parameter: its YAML, pasted into the profile with the
    table and column filled in, makes the failing run complete."""
    pasted, case, base = CATALOGUE_CASES[problem]
    found = diagnose.explain(pasted)
    assert found.problem_id == problem
    lines = re.findall(r"`((?:on_bad_value|type_overrides|types): [^`]+)`", found.fix)
    assert lines, found.fix
    if case in LIES:
        _lie(fresh_db.sqlite_file, case)
        table, column = LIES[case][2], LIES[case][3]
    else:
        _case(fresh_db, case)
        table, column = KINDS[case][1], KINDS[case][2]
    with pytest.raises(MigrationError):
        run(fresh_db, **({"types": "declared"} if base else {}))
    for line in lines:
        line = line.replace("<table>", table).replace("<column>", column)
        keep = base and not line.startswith(base.split(":")[0] + ":")  # the line replaces it
        apply_profile(fresh_db, f"{base}\n{line}" if keep else line)
        assert run(fresh_db, if_exists="replace").completed, (problem, line)
        validated(fresh_db)


def test_yaml_null_reads_as_the_policy(tmp_path):
    for text in ("on_bad_value: null", "on_bad_value: 'null'", 'on_bad_value: "null"',
                 "on_bad_value:"):
        (tmp_path / "p.yaml").write_text(text + "\n")
        assert config.load_profile(tmp_path / "p.yaml") == {"on_bad_value": "null"}, text


def test_printed_yaml_round_trips_hostile_names():
    from runbook_lib.core import strict_yaml
    from runbook_lib.migrate.bad_values import yaml_line

    overrides = {'t.a: b': "text", "표.열 #x": "bytea", "t.'q'\"": "json", "t.null": "text",
                 "yes.no": "text", "t.&x *y": "text"}
    for name, value in (("type_overrides", overrides), ("on_bad_value", "null"),
                        ("types", "data")):
        line = yaml_line(name, value)
        assert "\n" not in line and strict_yaml.load(line, "fix") == {name: value}


# -- 4. SQLite-only structures ---------------------------------------------------------------
SEARCH = """
CREATE TABLE article (id INTEGER PRIMARY KEY, title TEXT, body TEXT);
INSERT INTO article VALUES (1, 'SQLite', 'small and fast'), (2, 'PostgreSQL', 'big and fast');
CREATE VIRTUAL TABLE notes USING fts5(title, body, tokenize = 'porter');
INSERT INTO notes (rowid, title, body) VALUES (7, 'first', 'hello world'),
    (9, 'second', 'goodbye 세계'), (11, NULL, 42);
CREATE VIRTUAL TABLE legacy USING fts4(subject, content);
INSERT INTO legacy (docid, subject, content) VALUES (3, 'old', 'text');
CREATE VIRTUAL TABLE oldest USING fts3(body);
INSERT INTO oldest (docid, body) VALUES (5, 'fts3 text'), (6, '한국어 본문');
CREATE VIRTUAL TABLE article_fts USING fts5(title, body, content='article',
    content_rowid='id');
INSERT INTO article_fts (article_fts) VALUES ('rebuild');
CREATE VIRTUAL TABLE boxes USING rtree(id, minx, maxx, miny, maxy);
INSERT INTO boxes VALUES (1, 0.5, 1.5, -2, 2), (2, 10, 20, 10, 20);
CREATE INDEX article_title ON article (title);
ANALYZE;
"""


def test_fts_rtree_and_statistics(fresh_db):
    path = build(fresh_db.sqlite_file, SEARCH)
    result = run(fresh_db)
    tables = {e["source_table"]: e for e in result.section["tables"]}
    assert {"article", "notes", "legacy", "oldest", "boxes"} == set(tables)
    for name in ("notes", "legacy", "oldest"):  # the FTS text, rowid kept as the key
        cols = [("rowid", "rowid")] + [(c["source_name"], c["name"])
                                       for c in tables[name]["columns"][1:]]
        assert same_rows(fresh_db, path, name, name, cols) == {"notes": 3, "legacy": 1,
                                                               "oldest": 2}[name]
    assert same_rows(fresh_db, path, "boxes", "boxes", _columns(path, "boxes")) == 2
    assert same_rows(fresh_db, path, "article", "article", _columns(path, "article")) == 2
    derived = {d["table"]: d["kind"] for d in result.section["derived"]}
    assert derived["article_fts"] == "fulltext"  # an index of article's rows
    assert derived["sqlite_stat1"] == "statistics"
    for shadow in ("notes_data", "notes_idx", "notes_content", "notes_docsize", "notes_config",
                   "legacy_content", "legacy_segments", "legacy_segdir", "oldest_content",
                   "oldest_segments", "oldest_segdir", "boxes_node",
                   "boxes_parent", "boxes_rowid"):
        assert shadow in derived, shadow
    kinds = {(f["kind"], f["name"]) for f in result.section["manual_followups"]}
    assert {("full-text search", "notes"), ("full-text search", "legacy"),
            ("full-text search", "oldest"), ("R-tree", "boxes")} <= kinds
    note = next(f["todo"] for f in result.section["manual_followups"] if f["name"] == "notes")
    assert "to_tsvector" in note and "gin" in note
    m_drift = [r for r in result.section["drift"] if r["side"] == "derived"]
    assert {r["table"] for r in m_drift} == set(derived)
    report = validated(fresh_db)
    verdicts = {v.table: v.verdict for v in report.tables}
    assert {n: verdicts[n] for n in tables} == dict.fromkeys(tables, "ok")
    assert all(verdicts[n] == "derived" for n in derived)
    va012 = next(c for c in report.checks if c.id == "VA012")
    assert va012.status == "warn" and "sqlite_stat1" in va012.message


def test_custom_collation_is_read_as_binary(fresh_db):
    path = build(fresh_db.sqlite_file, """
        CREATE TABLE tag (id INTEGER PRIMARY KEY, name TEXT COLLATE unicase UNIQUE,
                          label TEXT);
        CREATE INDEX tag_label ON tag (label COLLATE unicase);
        INSERT INTO tag VALUES (1, 'Alpha', 'b'), (2, 'beta', 'A'), (3, 'Ärger', 'ä');""",
                 collations=("unicase",))
    with pytest.raises(sqlite3.OperationalError, match="no such collation"):
        sqlite3.connect(path).execute("PRAGMA integrity_check").fetchall()  # as found
    with pytest.warns(UserWarning, match="unicase"):
        result = run(fresh_db)
    assert result.completed
    [item] = [f for f in result.section["manual_followups"] if f["kind"] == "collation"]
    assert item["name"] == "unicase" and "ordering" in item["todo"] and item["table"] == "tag"
    assert same_rows(fresh_db, path, "tag", "tag", _columns(path, "tag")) == 3
    validated(fresh_db)


# -- 6. quarantined rows of any size round-trip into validation -------------------------------
def _quarantined_csv(path: Path) -> list[list[str]]:
    """The quarantine file read with csv alone (its field limit raised only meanwhile: the
    runbook must raise it itself)."""
    default = csv.field_size_limit(2**31 - 1)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.reader(fh))
    finally:
        csv.field_size_limit(default)


def test_quarantine_of_a_megabyte_value(fresh_db, pg):
    """Values far over csv's 128 KB field limit are set aside, kept byte for byte in the
    quarantine file and in the target's record, and validation reads them back from either."""
    big = "가" * 400_000  # 1.2 MB of UTF-8
    path = build(fresh_db.sqlite_file,
                 "CREATE TABLE doc (id INTEGER PRIMARY KEY, day DATE, body TEXT)",
                 {"doc": [(1, "2024-02-30", big), (2, "2024-01-01", "small"),
                          (3, "2024-13-01", big + "x")]})
    result = run(fresh_db, on_bad_value="quarantine")
    entry = result.section["tables"][0]
    assert entry["quarantined"] == 2
    quarantine = Path(result.section["quarantine_dir"]) / entry["quarantine_file"]
    assert quarantine.stat().st_size > 2_400_000
    kept = _quarantined_csv(quarantine)
    source = source_rows(path, "doc", ["id", "day", "body"], lambda r: r["id"] != 2)
    assert kept[0] == ["runbook:table", "id", "day", "body"]
    assert Counter(tuple(r) for r in kept[1:]) == Counter(
        ("doc", str(r["id"]), r["day"].decode(), r["body"].decode()) for r in source)
    same_rows(fresh_db, path, "doc", "doc", _columns(path, "doc"),
              lambda r: r if r["id"] == 2 else None)
    csv.field_size_limit(131072)  # csv's default, as a fresh process has it
    for held in ("target", "file"):  # the record in the target, then the run folder's file
        if held == "file":
            pg.execute("DELETE FROM runbook_migration.quarantine", fresh_db.db_name)
        report = validated(fresh_db)
        v = report.tables[0]
        assert v.quarantined == 2 and v.missing == 2, held
        assert list(v.samples["difference"]) == ["quarantined", "quarantined"], held
