"""Bounded input (issue 13, class 9): profiles and values cannot blow up the runbook.

A YAML alias bomb of 839 bytes grew the runner past 800 MB; a duplicate key silently kept the
last value; JSON nested 900 deep crashed stage 04 with RecursionError.
"""

from __future__ import annotations

import json
import resource
import sqlite3

import pytest

from runbook_lib import migrate, validate
from runbook_lib.app import runner
from runbook_lib.core import config, strict_yaml
from runbook_lib.core.errors import ConfigError
from runbook_lib.validate import json_canonical

# The classic "billion laughs": 9 levels of 9 aliases, 839 bytes here.
BOMB = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n" + "".join(
    f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)) + "name_map: *i\n"


def write(tmp_path, text: str):
    path = tmp_path / "profile.yaml"
    path.write_text(text)
    return path


def test_alias_bomb_is_refused_at_once(tmp_path):
    assert len(BOMB) < 1000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ConfigError, match=r"line 2: an alias \(\*a\)") as err:
        config.load_profile(write(tmp_path, BOMB))
    assert "anchors" in err.value.hint
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 50_000


def test_alias_in_a_command_line_value_is_refused():
    with pytest.raises(ConfigError, match="-p name_map, line 1: an alias"):
        runner.parse_overrides(["name_map=[&x [1,2], *x]"])


def test_plain_anchor_free_profiles_still_load(tmp_path):
    values = config.load_profile(write(tmp_path, "db_name: spc_db\nname_map: {a_b: c}\n"))
    assert values == {"db_name": "spc_db", "name_map": {"a_b": "c"}}
    assert runner.parse_overrides(["workers=3", "type_overrides={'t.c': text}"]) == {
        "workers": 3, "type_overrides": {"t.c": "text"}}


def test_duplicate_keys_are_an_error(tmp_path):
    with pytest.raises(ConfigError, match=r"'db_name' is given twice \(lines 1 and 3\)") as err:
        config.load_profile(write(tmp_path, "db_name: spc_db\nworkers: 2\ndb_name: prod\n"))
    assert "Keep one" in err.value.hint
    with pytest.raises(ConfigError, match="given twice"):
        config.load_profile(write(tmp_path, "name_map:\n  a: b\n  a: c\n"))


def test_size_and_depth_limits(tmp_path):
    big = "# padding\n" * (strict_yaml.MAX_BYTES // 10 + 1) + "workers: 2\n"
    with pytest.raises(ConfigError, match="limited to"):
        config.load_profile(write(tmp_path, big))
    deep = "name_map: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(ConfigError, match="nested more than"):
        config.load_profile(write(tmp_path, deep))


def nested(depth: int, leaf) -> str:
    doc = json.dumps(leaf)
    for i in range(depth):
        doc = f'{{"k{i % 3}": {doc}}}' if i % 2 else f"[{doc}, {i}]"
    return doc


def test_json_canonical_agrees_with_the_iterative_parser_at_any_depth():
    for depth in (0, 1, 5, 50, 900, 3000):
        for leaf in ("x", 1.50, -0.0, None, True, "é\n\"", 10**30, {"b": 1, "a": [2, 2.0]}):
            doc = nested(depth, leaf)
            fast = json_canonical.canonical(doc)
            assert fast == json_canonical._render(json_canonical._parse(doc))
            spaced = doc.replace(",", " , ").replace(":", " : ")
            assert json_canonical.canonical(spaced) == fast
    assert json_canonical.canonical('{"a": 1.0, "a": 2}') == '{"a":2}'  # jsonb: the last wins
    for bad in ("[1,]", '{"a"}', "", "[" * 2000, "1 2", '{"a":1,}', "tru"):
        with pytest.raises(ValueError):
            json_canonical.canonical(bad)


def test_json_nested_900_deep_migrates_and_validates(fresh_db):
    deep = nested(900, {"leaf": [1, 2.5, "x"]})
    other = nested(900, {"leaf": [1, 2.5, "y"]})
    conn = sqlite3.connect(fresh_db.sqlite_file)
    conn.execute("CREATE TABLE doc (id INTEGER PRIMARY KEY, body JSON)")
    conn.executemany("INSERT INTO doc VALUES (?, ?)", [(1, deep), (2, other), (3, "[]")])
    conn.commit()
    conn.close()
    fresh_db.schema = "sqlite"
    migrate.run(fresh_db, progress=False)
    report = validate.run(fresh_db)
    assert report.ok, report.summary()
    from runbook_lib.core import db

    with db.connection(fresh_db, autocommit=True) as pg, pg.cursor() as cur:
        cur.execute("UPDATE doc SET body = %s::jsonb WHERE id = 1", (other,))  # a real change
    changed = validate.run(fresh_db)
    table = next(t for t in changed.tables if t.table == "doc")
    assert not changed.ok and table.changed == 1
