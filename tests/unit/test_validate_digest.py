"""Key-range digests: PostgreSQL's codes equal the SQLite side's for every class, the vectorised
codes equal the value-by-value reference, and a table compared by digests finds what the row
path finds (real SQLite + PostgreSQL; PostgreSQL itself makes each faithful target value)."""

from __future__ import annotations

import json
import math
import random
import sqlite3
import struct
import uuid

import pytest
from test_validate import alter, build_source, connect, copy_faithfully, record_migration, verdict

from runbook_lib import validate
from runbook_lib.core import db
from runbook_lib.core.sqlite_file import ro_uri
from runbook_lib.validate import codes, digest, values
from runbook_lib.validate.json_canonical import canonical, jsonb_text


@pytest.fixture
def migrated(fresh_db, tmp_path):
    """test_validate's three tables, copied faithfully, the migration recorded."""
    path = tmp_path / "snapshot.sqlite3"
    build_source(path)
    copy_faithfully(fresh_db, path)
    record_migration(fresh_db, path)
    return fresh_db


U = str(uuid.UUID(int=0x1234567890ABCDEF1234567890ABCDEF))
STAMPS = ["2024-01-01 00:00:00", "2024-02-29 23:59:59.999999", "1970-01-01 00:00:00.000001",
          "0001-01-01 00:00:00", "9999-12-31 23:59:59.999999", "2000-01-01 00:00:00.120000",
          "1969-12-31 23:59:59.500000", "2023-03-26 02:30:00.000000", None]
# class: (SQLite declaration, PostgreSQL type, SQL turning the text of a raw value into the
# faithful target value, raw SQLite values)
CASES = {
    "int": ("INTEGER", "bigint", "%s::bigint", [0, 1, -1, 2**63 - 1, -2**63, None, 42]),
    "float": ("REAL", "double precision", "%s::float8",
              [0.1, 1e308, 5e-324, 1 / 3, 2.5, 1e16, -7.0, float("inf"), None, 297.85000000001]),
    "numeric": ("DECIMAL(30,10)", "numeric", "%s::numeric",
                [1, 1.5, 12.5, 0.1 + 0.2, 2**60 + 1, -3, None, 1e-07, 123456.789, 0.0]),
    "djdecimal:2:10": ("DECIMAL(10,2)", "numeric(10,2)", "%s::numeric",
                       [1.005, 12.5, 3, 0.125, None, 99999999.99, -0.5]),
    "bool": ("BOOL", "boolean", "%s::boolean", [0, 1, None, 1, 0]),
    "text": ("TEXT", "text", "%s", ["", "a", "한국어 텍스트", "tab\there", "x,y", "N", "?",
                                    "1:a", None, "emoji 😀", "line\nbreak", "  "]),
    "bpchar": ("CHAR(5)", "character(5)", "%s", ["ab", "abc  ", None, "x"]),
    "json": ("TEXT", "jsonb", "%s::jsonb",
             ['{"b":1,"a":[1.0,2.50,"x"]}', "[]", "{}", "null", '"s"', "1e2", "-0", "1.0E+2",
              '{"aa":1,"b":2,"a":{"z":null}}', '{"k":"\\u00e9\\n\\"q\\"\\u0001/"}',
              '{"a":1,"a":2}', '{"한":"글", "é": [true, false]}', "0.00001e3", None,
              '[1.50e1, 100e-2, 12345678901234567890123]']),
    "uuid": ("CHAR(32)", "uuid", "%s::uuid", [U.replace("-", ""), U.upper(), None]),
    "timestamptz": ("DATETIME", "timestamp with time zone",
                    "(%s::timestamp AT TIME ZONE 'UTC')", STAMPS),
    "timestamp": ("DATETIME", "timestamp without time zone", "%s::timestamp", STAMPS),
    "wallclock:Asia/Seoul": ("DATETIME", "timestamp with time zone",
                             "(%s::timestamp AT TIME ZONE 'Asia/Seoul')", STAMPS[:-3] + [None]),
    "date": ("DATE", "date", "%s::date", ["2024-02-29", "0001-01-01", "9999-12-31", None]),
    "time": ("TIME", "time without time zone", "%s::time",
             ["00:00:00", "23:59:59.999999", "12:30:00.500000", "08:00:10", None]),
    "interval": ("BIGINT", "interval", "(%s || ' microseconds')::interval",
                 [0, 1, -1, 86_400_000_000, 123_456_789_012, -90_061_000_001, None]),
    "bytes": ("BLOB", "bytea", "decode(%s, 'hex')", [b"", b"\x00\xff,", None, b"N"]),
    "inet": ("TEXT", "inet", "%s::inet",
             ["192.0.2.1", "2001:db8::1", "10.0.0.0/8", "::ffff:1.2.3.4", "192.0.2.1/24", None]),
}


def faithful_text(klass: str, raw):
    """The text PostgreSQL casts into the faithful value (None stays NULL)."""
    if raw is None:
        return None
    if klass.startswith("djdecimal:"):
        return values.source_converter(klass)(raw)
    if klass == "numeric":
        return values.source_converter("numeric")(raw)
    if klass == "bool":
        return str(bool(raw))
    if klass == "float":
        return repr(float(raw)).replace("inf", "Infinity")
    if klass == "bytes":
        return raw.hex()
    return str(raw)


def sqlite_column(tmp_path, decl: str, raws: list) -> str:
    path = tmp_path / "codes.sqlite3"
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, v {decl})")
    conn.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(raws, 1)))
    conn.commit()
    conn.close()
    return str(path)


def target_codes(settings, klass: str, pg_type: str, cast: str, raws: list) -> list[str]:
    with connect(settings) as conn, conn.cursor() as cur:
        for sql in codes.SESSION:
            cur.execute(sql)
        cur.execute(f"DROP TABLE IF EXISTS t; CREATE TABLE t (id bigint PRIMARY KEY, "
                    f"v {pg_type})")
        for i, raw in enumerate(raws, 1):
            text = faithful_text(klass, raw)
            cur.execute(f"INSERT INTO t VALUES (%s, {cast if text is not None else '%s'})",
                        (i, text))
        cur.execute(f"SELECT {codes.pg_code(klass, 'v')} FROM t ORDER BY id")
        return [as_bytes(r[0]) for r in cur.fetchall()]


def source_codes(path: str, klass: str) -> tuple[list[str], list[str] | None]:
    """(codes value by value, vectorised codes or None) of the SQLite column, via Arrow."""
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    spec = validate.stage.rows.TableSpec("t", "t", "public", 1, (
        validate.stage.rows.Column("id", "id", "int"), validate.stage.rows.Column("v", "v",
                                                                                   klass)))
    conn = adbc_sqlite.connect(ro_uri(path))
    cur = conn.cursor()
    cur.execute(digest.source_sql(spec, {"v": CASES[klass][0]}))
    table = cur.fetch_arrow_table().slice(1)
    cur.close()
    conn.close()
    arrays = [table.column(i).combine_chunks() for i in range(2, table.num_columns)]
    zone = values.zone_of("UTC")
    if codes.base(klass) == "numeric":
        whole = codes.numeric_codes(klass, *arrays)
        return split(whole), None
    fast = codes.arrow_codes(klass, arrays[0])
    return split(codes.distinct_codes(klass, arrays[0], zone)), fast and split(fast)


def split(found: codes.Codes) -> list[bytes]:
    return [bytes(found.piece(i, i + 1)) for i in range(len(found.offsets) - 1)]


def as_bytes(code) -> bytes:
    """A code as PostgreSQL (text or bytea) or `codes.py_code` gives it, as bytes."""
    return code.encode("utf-8", "surrogatepass") if isinstance(code, str) else bytes(code)


@pytest.mark.parametrize("klass", list(CASES))
def test_codes_equal_on_both_sides(fresh_db, tmp_path, klass):
    decl, pg_type, cast, raws = CASES[klass]
    path = sqlite_column(tmp_path, decl, raws)
    target = target_codes(fresh_db, klass, pg_type, cast, raws)
    one_by_one, vectorised = source_codes(path, klass)
    assert one_by_one == target
    if vectorised is not None:
        assert vectorised == target
    reference = [as_bytes(codes.json_code(r) if klass == "json" else
                          codes.decimal_code(klass, r) if codes.base(klass) == "numeric" else
                          codes.py_code(klass, values.source_converter(klass)(r)
                                        if values.source_converter(klass) else r))
                 for r in raws]
    assert reference == target


NEAR_MISSES = [  # (class, PostgreSQL type, raw SQLite value, a different target value as SQL)
    ("int", "bigint", 7, "8"), ("float", "double precision", 0.1, "0.1::float4::float8"),
    ("float", "double precision", 1.0, "1.0000000000000002"),
    ("numeric", "numeric(10,2)", 12.5, "12.51"), ("bool", "boolean", 1, "false"),
    ("text", "text", "a", "'a '"), ("text", "text", None, "''"), ("text", "text", "N", "NULL"),
    ("bpchar", "character(3)", "ab", "'abc'"), ("json", "jsonb", '{"a": 1.0}', "'{\"a\": 1}'"),
    ("uuid", "uuid", U.replace("-", ""), f"'{U[:-1]}0'::uuid"),
    ("timestamptz", "timestamptz", "2024-01-01 00:00:00",
     "'2024-01-01 00:00:00.000001+00'"),
    ("timestamptz", "timestamptz", "2024-01-01 00:00:00", "'2024-01-01 00:00:00+00 BC'"),
    ("date", "date", "2024-01-01", "'2024-01-02'"), ("time", "time", "10:00:00", "'10:00:01'"),
    ("interval", "interval", 1, "'2 microseconds'"), ("bytes", "bytea", b"\x00", "'\\x0000'"),
    ("inet", "inet", "192.0.2.1", "'192.0.2.1/24'"), ("int", "bigint", None, "0"),
    ("float", "double precision", None, "0"),
]


@pytest.mark.parametrize("klass, pg_type, raw, other", NEAR_MISSES)
def test_codes_differ_for_a_different_value(fresh_db, tmp_path, klass, pg_type, raw, other):
    decl = CASES[klass][0]
    path = sqlite_column(tmp_path, decl, [raw])
    with connect(fresh_db) as conn, conn.cursor() as cur:
        for sql in codes.SESSION:
            cur.execute(sql)
        cur.execute(f"CREATE TABLE t (id bigint PRIMARY KEY, v {pg_type}); "
                    f"INSERT INTO t VALUES (1, {other})")
        cur.execute(f"SELECT {codes.pg_code(klass, 'v')} FROM t")
        target = as_bytes(cur.fetchone()[0])
    one_by_one, vectorised = source_codes(path, klass)
    assert one_by_one != [target] and vectorised in (None, one_by_one)


def test_unreadable_and_odd_source_values_never_match():
    """A value SQLite holds that the class cannot read is `?`: PostgreSQL never prints it."""
    assert codes.py_code("int", values.source_converter("int")("x")) == b"?" * 9
    assert codes.py_code("timestamptz", values.source_converter("timestamptz")(
        "2024-02-30 00:00:00")) == b"?" * 9
    assert codes.json_code("NaN") == "?" and codes.json_code('{"a": "\\u0000"}') == "?"
    import pyarrow as pa

    odd = pa.array(["2024-01-01T00:00:00.000000", "2024-01-01 00:00:00.00000x",
                    "2024-01-01 00:00:000000000", "2024-13-01 00:00:00.000000"])
    for i in range(len(odd)):
        assert codes.arrow_codes("timestamptz", odd.slice(i, 1)) is None
    assert codes.arrow_codes("date", pa.array(["2024-1-01x"])) is None
    assert codes.arrow_codes("uuid", pa.array(["{" + U + "}"])) is None


def test_jsonb_text_matches_postgresql_on_random_documents(fresh_db):
    rng = random.Random(7)

    def doc(depth=0):
        pick = rng.random()
        if depth > 3 or pick < 0.4:
            return rng.choice([None, True, False, rng.randint(-10**20, 10**20),
                               f"{rng.uniform(-1e6, 1e6):.{rng.randint(0, 8)}f}",
                               rng.choice(["", "é", "a\"b", "\\", "\t", "키", "\u2028", "x" * 9])])
        if pick < 0.7:
            return [doc(depth + 1) for _ in range(rng.randint(0, 4))]
        return {rng.choice(["a", "bb", "é", "ab", "b", "", "키값"]): doc(depth + 1)
                for _ in range(rng.randint(0, 5))}

    texts = []
    for _ in range(300):
        text = json.dumps(doc(), ensure_ascii=rng.random() < 0.5)
        texts.append(text.replace('"1', "1", 0))
    texts += ["1.50", "-0.0", "1E-3", "[1e400]", '{"b": 1, "a": 2, "b": 3}']
    with connect(fresh_db) as conn, conn.cursor() as cur:
        for text in texts:
            cur.execute("SELECT %s::jsonb::text", (text,))
            assert jsonb_text(text) == cur.fetchone()[0], text
            assert canonical(jsonb_text(text)) == canonical(text)


@pytest.mark.parametrize("big", [False, True], ids=["small", "big"])
def test_digests_find_what_rows_find_across_many_chunks(migrated, monkeypatch, big):
    """`big`: every table counts as big (its snapshot read by two threads, its target count
    and orphan check on a connection of their own while it is compared)."""
    monkeypatch.setattr(digest, "ROWS_PER_CHUNK", 3)
    if big:
        monkeypatch.setattr(digest, "PARALLEL_MIN_ROWS", 1)
    report = validate.run(migrated)
    items = verdict(report, "items")
    assert report.ok and items.method["path"] == "digests"
    assert set(items.method["value_by_value"]) == {"cost", "data", "doc"}
    alter(migrated, "UPDATE items SET price = price + 1e-13 WHERE id = 2; "
                    "UPDATE items SET doc = NULL WHERE id = 20; DELETE FROM items WHERE id = 40; "
                    "UPDATE items SET at = at + interval '1 microsecond' WHERE id = 39; "
                    "INSERT INTO items (id, parent_id, qty, label, at, ok) VALUES "
                    "(-5, 1, 1, 'below', now(), true), (100000, 1, 1, 'above', now(), true)")
    v = verdict(validate.run(migrated), "items")
    assert v.method["path"] == "digests" and v.method["differing_chunks"] == 6
    assert (v.missing, v.extra, v.changed) == (1, 2, 3)
    assert v.changed_columns == {"price": 1, "doc": 1, "at": 1}
    assert (v.source_rows, v.target_rows) == (40, 41)


def test_target_without_an_index_on_the_key_is_digested_in_one_scan(migrated):
    alter(migrated, "ALTER TABLE items DROP CONSTRAINT items_pkey CASCADE; "
                    "UPDATE items SET qty = 0 WHERE id = 3")
    v = verdict(validate.run(migrated), "items")
    assert v.method["path"] == "digests"
    assert (v.changed, v.changed_columns) == (1, {"qty": 1})


def test_mixed_storage_classes_are_compared_row_by_row_and_said(migrated, tmp_path):
    conn = sqlite3.connect(tmp_path / "snapshot.sqlite3")
    conn.execute("UPDATE items SET qty = 'seven' WHERE id = 7")
    conn.commit()
    conn.close()
    report = validate.run(migrated)
    v = verdict(report, "items")
    assert v.method["path"] == "rows" and "storage class" in v.method["reason"]
    assert (v.changed, v.changed_columns) == (1, {"qty": 1})
    assert "compared row by row" in v.detail() and "행 단위로 비교" in v.detail("ko")


def test_sparse_keys_make_chunks_of_rows_not_of_key_values(tmp_path):
    conn = sqlite3.connect(tmp_path / "s.sqlite3")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    conn.executemany("INSERT INTO t VALUES (?)", [(i * 10**9,) for i in range(10_000)])
    spec = validate.stage.rows.TableSpec("t", "t", "public", 1,
                                         (validate.stage.rows.Column("id", "id", "int"),))
    cut = digest.chunking(conn, spec, 10_000)
    assert cut.count == 5 and cut.low == 0
    assert cut.ranges([0, 1, 5, -1]) == [(None, cut.width * 2), (cut.width * 5, None)]
    conn.execute("INSERT INTO t VALUES (-9223372036854775808)")
    with pytest.raises(digest.Unfit):
        digest.chunking(conn, spec, 10_001)


@pytest.mark.parametrize("threads, per_thread", [(2, 1), (2, 3), (3, 2)])
def test_threads_and_key_ranges_do_not_change_digests_or_row_hashes(tmp_path, monkeypatch,
                                                                     threads, per_thread):
    """The snapshot read in several key ranges by several threads gives exactly the digests
    and row hashes (keys in order) of one pass."""
    from runbook_lib.validate import row_hash

    path = tmp_path / "p.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, s TEXT, x REAL)")
    rng = random.Random(5)
    conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?)",
                     [(i * 3 + rng.randrange(3), rng.choice([None, rng.randrange(-9, 9)]),
                       rng.choice([None, "", "한글", "a,b"]), rng.random()) for i in range(5000)])
    conn.commit()
    col = validate.stage.rows.Column
    spec = validate.stage.rows.TableSpec("t", "t", "public", 1, (
        col("id", "id", "int"), col("n", "n", "int"), col("s", "s", "text"),
        col("x", "x", "float")))
    monkeypatch.setattr(digest, "ROWS_PER_CHUNK", 97)
    cut = digest.chunking(conn, spec, 5000)
    declared = digest.declared_types(conn, "t")
    conn.close()
    one = digest.source_digests(str(path), spec, cut, declared, 1, row_hash.Hasher(7))
    monkeypatch.setattr(digest, "RANGES_PER_THREAD", per_thread)
    many = digest.source_digests(str(path), spec, cut, declared, threads, row_hash.Hasher(7))
    assert len(one.chunks) == cut.count > 40 and many.chunks == one.chunks
    assert (many.row_hashes.keys == one.row_hashes.keys).all()
    assert (many.row_hashes.hashes == one.row_hashes.hashes).all()
    assert len(one.row_hashes.keys) == 5000


def test_float_codes_are_the_bits(fresh_db):
    numbers = [random.Random(3).uniform(-1e300, 1e300) for _ in range(200)] + \
        [math.pi, 2.0 ** -1074, -1e-300]
    with connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT {codes.pg_code('float', 'v')} FROM unnest(%s::float8[]) v",
                    (numbers,))
        got = [bytes(r[0]) for r in cur.fetchall()]
    assert got == [b"\x01" + struct.pack(">d", x) for x in numbers]
    import pyarrow as pa

    assert split(codes.arrow_codes("float", pa.array(numbers))) == got


def test_sessions_are_read_only_and_reused(migrated):
    sessions = digest.Sessions(db.connect_kwargs(migrated), workers=2)
    try:
        sessions.run("SELECT 1", ())
        sessions.run("SELECT 1", ())
        assert len(sessions.opened) == 1
        with pytest.raises(digest.Unfit):
            sessions.run("CREATE TABLE x (a int)", ())
    finally:
        sessions.close()
