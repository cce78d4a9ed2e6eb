"""The binary path (SQLite → Arrow → binary COPY): when it is taken, that it loads exactly what
the text path loads, and that it hands a table over to the text path when it cannot."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runbook_lib import migrate
from runbook_lib.core import db, secrets
from runbook_lib.migrate import transfer, transfer_binary

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from edge_cases import CLEAN_CASES, EDGE_CASES, _make, assert_table_equal  # noqa: E402


def run(settings, compare: bool = True, **changes):
    for key, value in changes.items():
        setattr(settings, key, value)
    result = migrate.run(settings, progress=False)
    assert result.completed
    with db.connection(settings) as conn:
        for entry in result.section["tables"] if compare else []:
            assert assert_table_equal(conn, result.section["snapshot"], entry,
                                      result.section["source_timezone"]) == entry["source_rows"]
    return result, dict(zip(result.summary["table"], result.summary["path"], strict=True))


@pytest.mark.parametrize("name", CLEAN_CASES)
def test_text_path_alone_still_loads_every_case(fresh_db, name, monkeypatch):
    """With the binary path switched off, every edge case loads through the text encoder."""
    monkeypatch.setattr(transfer, "ARROW", False)
    EDGE_CASES[name](fresh_db.sqlite_file)
    _, paths = run(fresh_db)
    assert all(p.startswith("text") for t, p in paths.items() if t != "TOTAL")


def test_which_tables_take_the_binary_path(fresh_db):
    EDGE_CASES["all_types"](fresh_db.sqlite_file)
    _, paths = run(fresh_db)
    assert paths["typed"].startswith("text (") and "numeric" in paths["typed"]
    EDGE_CASES["numbers"](fresh_db.sqlite_file)
    _, paths = run(fresh_db, if_exists="replace")
    assert paths["nums"] == "binary"


def _write(path: Path, script: str, rows: list[tuple]) -> None:
    """Table `t` of `script`, holding `rows` (the edge cases' own file builder)."""
    _make(path, script, {"t": rows})


def test_columns_that_start_with_nulls(fresh_db):
    """The driver guesses a column's type from its first rows: 20,000 NULLs first must not
    make text, JSON or blobs int64 (the witness row fixes each column's type)."""
    nulls = [(i, None, None, None, None) for i in range(1, 20_001)]
    values = [(20_001, "late text", '{"k": [1, 2]}', b"\x00\x01", "2025-01-02 03:04:05.5")]
    _write(fresh_db.sqlite_file, "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, j TEXT, "
           "b BLOB, ts DATETIME)", nulls + values)
    fresh_db.schema = "sqlite"
    fresh_db.type_overrides = {"t.j": "jsonb"}  # Django's JSONField: declared text in SQLite
    _, paths = run(fresh_db)
    assert paths["t"] == "binary"


def test_failures_fall_back_to_text(fresh_db):
    """Values the profile accepts but Arrow cannot read exactly (seven fractional digits,
    boolean words) are loaded by the text path; the summary says why."""
    _write(fresh_db.sqlite_file, "CREATE TABLE t (id INTEGER PRIMARY KEY, ts DATETIME, "
           "flag BOOL)", [(1, "2025-01-01 10:00:00.1234567", "yes"),
                          (2, "2025-01-01 10:00:00", 1)])
    fresh_db.schema = "sqlite"
    _, paths = run(fresh_db, compare=False)  # Python's fromisoformat cuts the 7th digit
    assert paths["t"].startswith("text (binary path failed")
    with db.connection(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute("SELECT ts::text, flag FROM t ORDER BY id")
        assert cur.fetchall() == [("2025-01-01 10:00:00.123457+00", True),
                                  ("2025-01-01 10:00:00+00", True)]


def test_uuid_spellings(fresh_db):
    """Django's 32 hex digits and the canonical form go binary; another spelling PostgreSQL
    also reads (a dash every four digits) sends the table to the text path."""
    value = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    _write(fresh_db.sqlite_file, "CREATE TABLE t (id INTEGER PRIMARY KEY, u CHAR(32))",
           [(1, value.replace("-", "")), (2, value.upper()), (3, None)])
    fresh_db.schema = "sqlite"
    fresh_db.type_overrides = {"t.u": "uuid"}
    _, paths = run(fresh_db)
    assert paths["t"] == "binary"
    _write(fresh_db.sqlite_file, "CREATE TABLE t (id INTEGER PRIMARY KEY, u CHAR(32))",
           [(1, "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11")])
    _, paths = run(fresh_db, if_exists="replace")
    assert paths["t"].startswith("text (binary path failed")
    with db.connection(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT u::text FROM t")
        assert cur.fetchone() == (value,)


def test_local_naive_timestamps_take_the_text_path(fresh_db):
    """timestamptz from naive local time needs PostgreSQL's own zone rules: text path."""
    _write(fresh_db.sqlite_file, "CREATE TABLE t (id INTEGER PRIMARY KEY, at DATETIME)",
           [(1, "2024-03-09 02:30:00"), (2, "2024-07-01 23:59:59.999999")])
    fresh_db.schema = "sqlite"
    fresh_db.type_overrides = {"t.at": "timestamp with time zone"}
    result, paths = run(fresh_db, source_timezone="America/New_York")
    assert paths["t"] == "text (at: naive timestamps in America/New_York)"
    assert result.section["source_timezone"] == "America/New_York"


def test_connection_failure_falls_back_without_leaking(fresh_db, monkeypatch):
    """A binary-path login failure (here a wrong password, on the real server) is reported in
    the summary with no secret in it, and the text path loads the table."""
    wrong = "Wr0ng-" + "pass-" * 3
    secrets.register(wrong)
    real = transfer_binary.connect_target
    monkeypatch.setattr(transfer_binary, "connect_target",
                        lambda kwargs: real({**kwargs, "password": wrong}))
    EDGE_CASES["tricky_text"](fresh_db.sqlite_file)
    result, paths = run(fresh_db, workers=1)
    assert paths["notes"].startswith("text (binary path failed")
    assert "password authentication failed" in paths["notes"]
    shown = str(result.summary.to_dict()) + str(result.section)
    assert wrong not in shown and fresh_db.password.reveal() not in shown


def test_affinity_rules():
    assert [transfer_binary.affinity(t) for t in ("INTEGER", "varchar(5)", "", "BLOB",
                                                  "DOUBLE", "datetime", "bool")] == \
        ["INTEGER", "TEXT", "BLOB", "BLOB", "REAL", "NUMERIC", "NUMERIC"]
    assert transfer_binary.rule_for("character varying(50)") is transfer_binary.RULES[
        "character varying"]
    assert transfer_binary.rule_for("numeric(10,2)").send == "decimal:10:2"
    assert transfer_binary.rule_for("numeric(20,2)") is None  # 10^18 is not exact in a double
    assert transfer_binary.rule_for("numeric") is None
    assert transfer_binary.rule_for("timestamp(3) with time zone") is None


def test_decimals_exact_or_text(fresh_db):
    """DECIMAL(10,2) goes binary with the digits `repr` gives; a double with more decimals
    than the scale (PostgreSQL rounds it) hands the table to the text path."""
    exact = [(1, 12.5), (2, 0.1), (3, 5), (4, None), (5, -99999999.99), (6, -0.0), (7, 0.01)]
    _write(fresh_db.sqlite_file, "CREATE TABLE t (id INTEGER PRIMARY KEY, amount DECIMAL(10,2))",
           exact)
    fresh_db.schema = "sqlite"
    _, paths = run(fresh_db)
    assert paths["t"] == "binary"
    with db.connection(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT amount::text FROM t ORDER BY id")
        assert [r[0] for r in cur.fetchall()] == ["12.50", "0.10", "5.00", None,
                                                  "-99999999.99", "0.00", "0.01"]
    _write(fresh_db.sqlite_file, "CREATE TABLE t (id INTEGER PRIMARY KEY, amount DECIMAL(10,2))",
           [(1, 0.1 + 0.2), (2, 1.005)])
    _, paths = run(fresh_db, compare=False, if_exists="replace")  # rounded, as the text path
    assert paths["t"].startswith("text (binary path failed")
    with db.connection(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT amount::text FROM t ORDER BY id")
        assert [r[0] for r in cur.fetchall()] == ["0.30", "1.01"]  # repr '1.005', rounded


def _random_rows(n: int, seed: int = 20261126) -> list[tuple]:
    """Random values of every type the binary path handles (NULLs included)."""
    import json
    import random
    import struct
    import uuid
    from datetime import date, datetime, timedelta

    rnd = random.Random(seed)
    alphabet = "aZ09 \t\n\r\\\"',;{}가힣😀é\u2028\x01\x7f"

    def text(k):
        return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, k)))

    def double():
        while True:  # any bit pattern but NaN (SQLite stores NaN as NULL)
            x = struct.unpack("<d", rnd.getrandbits(64).to_bytes(8, "little"))[0]
            if x == x:
                return rnd.choice([x, -0.0, float("inf"), 5e-324, rnd.uniform(-1e6, 1e6)])

    def stamp():
        moment = datetime(1, 1, 1) + timedelta(microseconds=rnd.randrange(315_537_897_600
                                                                          * 10**6))
        digits = rnd.randint(0, 6)
        tail = f".{moment.microsecond:06d}"[:digits + 1] if digits else ""
        return (f"{moment.year:04d}-{moment:%m-%d}{rnd.choice(' T')}{moment:%H:%M:%S}" + tail)

    def maybe(value):
        return None if rnd.random() < 0.1 else value

    def uid():
        value = uuid.UUID(int=rnd.getrandbits(128))
        return rnd.choice([value.hex, value.hex.upper(), str(value)])

    rows = []
    for i in range(1, n + 1):
        doc = {text(5): [rnd.randint(-10**18, 10**18), rnd.uniform(-1e9, 1e9), text(8), None,
                         rnd.random() < .5]}
        rows.append((i, maybe(rnd.randint(-2**63, 2**63 - 1)), maybe(rnd.randint(-32768, 32767)),
                     maybe(double()), maybe(rnd.randint(0, 1)), maybe(text(40)), maybe(text(30)),
                     maybe(json.dumps(doc, ensure_ascii=rnd.random() < .5)),
                     maybe(rnd.randbytes(rnd.randint(0, 40))),
                     maybe((date(1, 1, 1) + timedelta(days=rnd.randrange(3_652_058))).isoformat()),
                     maybe(stamp()), maybe(float(f"{rnd.uniform(-1e8, 1e8):.{rnd.randint(0, 3)}f}")),
                     maybe(uid())))
    return rows


def test_binary_and_text_paths_agree_on_random_values(fresh_db, monkeypatch):
    """3,000 rows of random values: PostgreSQL holds exactly the same after either path."""
    _write(fresh_db.sqlite_file, "CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, s SMALLINT, "
           "d DOUBLE, b BOOLEAN, tx TEXT, vc VARCHAR(30), js TEXT, bl BLOB, dt DATE, "
           "ts DATETIME, dec DECIMAL(12,3), u CHAR(32))", _random_rows(3000))
    fresh_db.schema = "sqlite"
    fresh_db.type_overrides = {"t.js": "jsonb", "t.s": "smallint", "t.u": "uuid"}

    def content() -> list[tuple]:
        with db.connection(fresh_db) as conn, conn.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'; SET extra_float_digits = 3")
            cur.execute("SELECT id, t::text FROM t ORDER BY id")
            return cur.fetchall()

    _, paths = run(fresh_db)
    assert paths["t"] == "binary"
    binary = content()
    monkeypatch.setattr(transfer, "ARROW", False)
    _, paths = run(fresh_db, if_exists="replace")
    assert paths["t"].startswith("text")
    assert content() == binary and len(binary) == 3000
