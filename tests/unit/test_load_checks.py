"""Values checked as they are copied (issue 17): the first load of a table on the binary path
checks its values itself instead of a value profile reading every row first.

What must hold: every value the profile would refuse also stops that copy (each check of
`load_checks`, attacked one by one), the target is then emptied and the profile names the
rows exactly as before (fail), or applies the policy with no row copied twice (quarantine,
null); a clean file is copied without the profile and arrives exactly (independent check:
`wild_sqlite.same_rows`, multisets of rows read by the test itself).
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from runbook_lib import migrate
from runbook_lib.core.errors import MigrationError
from runbook_lib.migrate import Migration

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from wild_sqlite import build, same_rows  # noqa: E402

GOOD = {"TEXT": "plain", "BOOLEAN": 1, "DATETIME": "2024-01-01 10:00:00.5", "DATE": "2024-02-29",
        "INTEGER": 7, "SMALLINT": 300, "DECIMAL(10,2)": 12.5, "BLOB": b"\x01", "VARCHAR(5)": "abc",
        "DOUBLE": 1.25}
# what the profile refuses and which check of the copy must refuse it too
ATTACKS = {
    "blob_in_text": ("TEXT", b"\x01\x02"),  # the driver reads a blob as a string: the flag
    "nul_in_text": ("TEXT", "a\x00b"),  # Arrow: NUL
    "invalid_utf8": ("TEXT", None),  # Arrow: UTF-8 (written as CAST(x'c328' AS TEXT))
    "boolean_two": ("BOOLEAN", 2),  # int64 → bool would make it true: min/max
    "datetime_hour_only": ("DATETIME", "2024-01-01 10"),  # Arrow parses it: the ISO pattern
    "impossible_date": ("DATE", "2024-02-30"),  # Arrow's cast
    "text_in_integer": ("INTEGER", "abc"),  # the driver's type check
    "smallint_range": ("SMALLINT", 70000),  # Arrow's safe cast
    "text_in_numeric": ("DECIMAL(10,2)", "abc"),  # SQLite's CAST would read 0: the flag
    "number_in_blob": ("BLOB", 5),  # CAST(5 AS BLOB) would send '5': the flag
    "varchar_too_long": ("VARCHAR(5)", "much too long"),  # PostgreSQL's binary input
    "text_in_double": ("DOUBLE", "abc"),  # read as stored: the driver refuses text
}


def _file(path: Path, declared: str, bad, rows: int = 50) -> Path:
    values = [(i, GOOD[declared]) for i in range(1, rows + 1)]
    build(path, f"CREATE TABLE big (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
                f"CREATE TABLE t (id INTEGER PRIMARY KEY, v {declared})",
          {"big": [(i, i * 3) for i in range(1, 2001)], "t": values})
    conn = sqlite3.connect(path)
    if bad is None:
        conn.execute("UPDATE t SET v = CAST(x'c328' AS TEXT) WHERE id = 17")
    else:
        conn.execute("UPDATE t SET v = ? WHERE id = 17", (bad,))
    conn.commit()
    conn.close()
    return path


def _steps(settings, **params) -> Migration:
    for name, value in {"workers": 1, "types": "declared", **params}.items():
        setattr(settings, name, value)
    m = Migration(settings, progress=False)
    m.take_snapshot()
    m.introspect()
    m.make_plan()
    m.prepare_target()
    return m


def _rows(pg, settings, table: str) -> int:
    return pg.execute(f'SELECT count(*) FROM "{table}"', settings.db_name)[0][0]


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_each_value_the_profile_refuses_stops_the_copy(fresh_db, pg, attack):
    """The profile is deferred for both tables; the copy refuses the value; the target is
    emptied; the error names the row as the profile always did (key 17), nothing copied."""
    declared, bad = ATTACKS[attack]
    _file(Path(fresh_db.sqlite_file), declared, bad)
    m = _steps(fresh_db)
    found = m.check_values()
    assert set(found.deferred) == {"big", "t"} and not found.bad  # nothing read before
    with pytest.raises(MigrationError) as err:
        m.load()
    text = err.value.message
    assert "t.v" in text and "1 row(s)" in text and "17" in text, text
    assert any("stopped the copy" in str(n) for n in m.notes)
    assert _rows(pg, fresh_db, "big") == 0 and _rows(pg, fresh_db, "t") == 0


def test_a_clean_file_is_copied_without_the_profile_and_arrives_exactly(fresh_db, pg):
    path = _file(Path(fresh_db.sqlite_file), "TEXT", "also fine")
    m = _steps(fresh_db)
    assert set(m.check_values().deferred) == {"big", "t"}
    summary = m.load()
    m.finish()
    assert set(summary["path"][:-1]) == {"binary"}
    assert m.section(True)["checked_while_copied"] == ["big", "t"]
    assert not any("stopped the copy" in str(n) for n in m.notes)
    for table, cols in (("big", ["id", "n"]), ("t", ["id", "v"])):
        assert same_rows(fresh_db, path, table, table, [(c, c) for c in cols]) == \
            _rows(pg, fresh_db, table)


@pytest.mark.parametrize("policy", ["quarantine", "null"])
def test_policies_after_a_refused_copy_copy_no_row_twice(fresh_db, pg, policy):
    """`big` was fully copied when `t` refused a value: emptied with it, copied once again;
    the bad row is set aside (quarantine) or its value loaded as NULL (null)."""
    path = _file(Path(fresh_db.sqlite_file), "TEXT", "a\x00b")
    result = migrate.run(_settings(fresh_db, on_bad_value=policy), progress=False)
    assert result.completed
    assert any("stopped the copy" in str(n) for n in result.section["notes"])
    assert same_rows(fresh_db, path, "big", "big", [("id", "id"), ("n", "n")]) == 2000
    t_entry = next(e for e in result.section["tables"] if e["table"] == "t")
    if policy == "quarantine":
        assert t_entry["quarantined"] == 1 and _rows(pg, fresh_db, "t") == 49
        arrive = lambda row: None if row["id"] == 17 else row  # noqa: E731
    else:
        assert _rows(pg, fresh_db, "t") == 50
        arrive = lambda row: {**row, "v": None} if row["id"] == 17 else row  # noqa: E731
    assert same_rows(fresh_db, path, "t", "t", [("id", "id"), ("v", "v")], arrive) == \
        _rows(pg, fresh_db, "t")


def _settings(settings, **params):
    for name, value in {"workers": 2, "types": "declared", **params}.items():
        setattr(settings, name, value)
    return settings


def test_a_refused_slice_of_a_split_table_leaves_no_other_slice(fresh_db, pg, monkeypatch):
    """Two workers, the big table in two slices, the bad value in the second: the first
    slice committed before the refusal is emptied too, and the error names the row."""
    from runbook_lib.migrate import transfer

    monkeypatch.setattr(transfer, "SPLIT_MIN_ROWS", 100)
    path = Path(fresh_db.sqlite_file)
    build(path, "CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT)",
          {"big": [(i, f"v{i}") for i in range(1, 3001)]})
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE big SET v = x'00ff' WHERE id = 2999")
    conn.close()
    with pytest.raises(MigrationError) as err:
        migrate.run(_settings(fresh_db), progress=False)
    assert "big.v" in err.value.message and "2999" in err.value.message
    assert _rows(pg, fresh_db, "big") == 0


def test_extreme_integers_do_not_break_the_profile(fresh_db, pg):
    """-2^63 beside a bad value: the profile's ladders (bigint → double precision) once
    overflowed SQLite's abs(); the rows are named instead."""
    path = Path(fresh_db.sqlite_file)
    build(path, "CREATE TABLE t (id INTEGER PRIMARY KEY, big BIGINT, v DATE)",
          {"t": [(1, -2**63, "2024-01-01"), (2, 2**63 - 1, "2024-02-30")]})
    with pytest.raises(MigrationError) as err:
        migrate.run(_settings(fresh_db, workers=1), progress=False)
    assert "t.v" in err.value.message and "2024-02-30" in err.value.message
    assert _rows(pg, fresh_db, "t") == 0
