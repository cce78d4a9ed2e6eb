"""Catch-up sync (issue 19): a migrated target brought up to the live SQLite file, proven.

Real SQLite files in WAL mode written by test code, the session's embedded PostgreSQL, the real
migration (stage 03) first. Every check of content is independent of the sync's code: the live
file's rows and the target's, normalised and compared as sorted multisets
(`edge_cases.assert_table_equal`), and stage 04's own validation on the synced snapshot.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from runbook_lib import migrate, validate
from runbook_lib.core import db, manifest
from runbook_lib.cutover.sync import SyncError, sync

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from edge_cases import assert_table_equal, kill  # noqa: E402

PARENTS, CHILDREN = 20000, 3000
SCHEMA = """
PRAGMA journal_mode=WAL;
CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, qty INTEGER,
    ok BOOLEAN, at DATETIME, data BLOB, doc JSON, amount DECIMAL(10,2));
CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id), note TEXT);
CREATE TABLE tags (name TEXT, weight INTEGER);
CREATE TABLE codes (code TEXT PRIMARY KEY, label TEXT);
CREATE TABLE scratch (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);
"""


def build(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    conn.executemany("INSERT INTO parent VALUES (?,?,?,?,?,?,?,?,?)", [
        (i, f"p{i}", i / 7, i * 3, i % 2, f"2024-01-{1 + i % 28:02d} 10:{i % 60:02d}:00",
         bytes([i % 256, 0, 255]), f'{{"n": {i}, "tags": ["a", "b"]}}', round(i * 1.25, 2))
        for i in range(1, PARENTS + 1)])
    conn.executemany("INSERT INTO child VALUES (?,?,?)",
                     [(i, 1 + i % PARENTS, f"c{i}") for i in range(1, CHILDREN + 1)])
    conn.executemany("INSERT INTO tags VALUES (?,?)", [("x", 1), ("x", 1), ("y", 2), ("z", None)])
    conn.executemany("INSERT INTO codes VALUES (?,?)", [(f"k{i}", f"l{i}") for i in range(50)])
    conn.executemany("INSERT INTO scratch (v) VALUES (?)", [(f"s{i}",) for i in range(30)])
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def migrated(fresh_db, tmp_path):
    """The source built and migrated (schema: sqlite); the settings point at the live file."""
    source = build(tmp_path / "live.sqlite3")
    settings = fresh_db
    settings.sqlite_path, settings.schema = str(source), "sqlite"
    result = migrate.run(settings, progress=False)
    assert result.completed
    return settings


def write(path, *statements, params=()) -> None:
    conn = sqlite3.connect(path)
    for sql in statements:
        conn.execute(sql, params) if params else conn.execute(sql)
    conn.commit()
    conn.close()


def assert_same(settings, path=None) -> int:
    """The live file (or `path`) and the target, every table as a multiset."""
    section = manifest.read(settings.run_dir)["migration"]
    compared = 0
    with db.connection(settings) as conn:
        for entry in section["tables"]:
            compared += assert_table_equal(conn, path or settings.sqlite_path, entry)
    return compared


def counts(report) -> dict:
    return {x.table: (x.inserted, x.updated, x.deleted) for x in report.tables if x.changes}


def test_every_kind_of_change_is_carried_and_validated(migrated):
    live = migrated.sqlite_path
    write(live,
          "INSERT INTO parent VALUES (90001, 'new', 1.5, 7, 1, '2025-05-05 05:05:05', x'00ff', "
          "'[1, 2.50]', 3.25)",
          "UPDATE parent SET name = 'renamed' WHERE id = 10",           # text
          "UPDATE parent SET price = 0.1 + 0.2 WHERE id = 11",           # float
          "UPDATE parent SET qty = -9223372036854775808 WHERE id = 12",  # int
          "UPDATE parent SET ok = 1 - ok WHERE id = 13",                 # bool
          "UPDATE parent SET at = '1999-12-31 23:59:59.999999' WHERE id = 14",  # timestamp
          "UPDATE parent SET data = x'deadbeef' WHERE id = 15",          # bytes
          "UPDATE parent SET doc = '{\"n\": {\"deep\": [null, true]}}' WHERE id = 16",  # json
          "UPDATE parent SET amount = 99999999.99 WHERE id = 17",        # numeric
          "UPDATE parent SET price = NULL, doc = NULL WHERE id = 18",    # value → NULL
          "DELETE FROM parent WHERE id BETWEEN 3000 AND 3004",
          "UPDATE child SET parent_id = 90001 WHERE id = 5",
          "UPDATE parent SET id = 200000 WHERE id = 7",                   # primary key change
          "UPDATE child SET parent_id = 200000 WHERE parent_id = 7",
          "DELETE FROM child WHERE parent_id BETWEEN 3000 AND 3004",
          "INSERT INTO tags VALUES ('x', 1)",                            # no key: a third x
          "DELETE FROM tags WHERE name = 'y'",
          "UPDATE codes SET label = 'changed' WHERE code = 'k3'",       # text key: whole table
          "INSERT INTO codes VALUES ('new', NULL)",
          "DELETE FROM scratch")                                         # table emptied
    before = assert_table_count(migrated, "scratch")
    assert before == 30
    report = sync(migrated)
    found = counts(report)
    assert found["parent"] == (2, 9, 6)  # 90001 and 200000 in; ids 10-18 updated; 7, 3000-3004 out
    assert found["scratch"] == (0, 0, 30)
    assert found["tags"] == (1, 0, 1)
    assert found["codes"] == (1, 1, 0)
    assert found["child"][1] >= 2
    methods = {x.table: x.method for x in report.tables}
    assert methods == {"parent": "digests", "child": "digests", "tags": "multiset",
                       "codes": "whole", "scratch": "digests"}
    staged = next(x for x in report.tables if x.table == "parent").staged
    assert 0 < staged < PARENTS  # only the differing key ranges were read
    assert assert_same(migrated) > 0
    checked = validate.run(migrated)
    assert checked.ok, checked.summary()
    again = sync(migrated)
    assert again.changes == 0 and counts(again) == {}
    assert validate.run(migrated).ok


def test_a_later_sync_reads_only_the_key_ranges_whose_pages_changed(migrated):
    """After a sync recorded its digests, the next compares the two snapshots page by page
    (`validate.pages`): the ranges the application left alone are not read, and what it
    changed near the end of the keys is still carried and proven."""
    sync(migrated)
    write(migrated.sqlite_path, "UPDATE parent SET name = 'late' WHERE id = 19990",
          "DELETE FROM parent WHERE id = 19991",
          "INSERT INTO parent VALUES (30000, 'appended', 1, 1, 1, NULL, NULL, NULL, 1)")
    report = sync(migrated)
    parent = next(x for x in report.tables if x.table == "parent")
    assert (parent.inserted, parent.updated, parent.deleted) == (1, 1, 1)
    assert parent.chunks > 4 and parent.reused >= parent.chunks // 2  # all below id 18000
    assert "unchanged page by page" in report.how(parent)
    assert not report.unproven
    assert assert_same(migrated) > 0
    assert validate.run(migrated).ok


def test_a_long_value_changed_only_at_its_end_is_carried(migrated):
    """The end of a value longer than a page lies on an overflow page; SQLite rewrites it in
    place and the row's leaf stays byte for byte the same: the sync must still see it."""
    long = "n" * 20000
    write(migrated.sqlite_path, "UPDATE parent SET name = ? WHERE id = 500", params=(long,))
    sync(migrated)
    write(migrated.sqlite_path, "UPDATE parent SET name = ? WHERE id = 500",
          params=(long[:-1] + "!",))
    report = sync(migrated)
    assert counts(report)["parent"] == (0, 1, 0)
    assert assert_same(migrated) > 0


def assert_table_count(settings, table: str) -> int:
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute(f'SELECT count(*) FROM "{table}"')
        return cur.fetchone()[0]


def test_sequences_move_past_the_new_rows(migrated):
    write(migrated.sqlite_path, "INSERT INTO parent (id, name) VALUES (500000, 'far')",
          "INSERT INTO scratch (v) VALUES ('one more')")
    sync(migrated)
    with db.connection(migrated) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO parent (name) VALUES ('app') RETURNING id")
        assert cur.fetchone()[0] > 500000
        cur.execute("INSERT INTO scratch (v) VALUES ('app') RETURNING id")
        assert cur.fetchone()[0] > 31
        conn.rollback()


def test_schema_change_is_refused_in_both_languages(migrated):
    write(migrated.sqlite_path, "ALTER TABLE parent ADD COLUMN extra TEXT",
          "UPDATE parent SET name = 'not carried' WHERE id = 1",
          "CREATE TABLE brand_new (id INTEGER PRIMARY KEY)")
    with pytest.raises(SyncError) as err:
        sync(migrated)
    text = str(err.value)
    assert "SY002" in text and "parent" in text and "extra" in text and "brand_new" in text
    assert "03" in err.value.hint
    assert_name(migrated, 1, "p1")  # nothing applied
    migrated.language = "ko"
    with pytest.raises(SyncError) as err:
        sync(migrated)
    assert "스키마" in str(err.value) and "03 단계" in err.value.hint
    # the fix as it reads: stage 03 again with if_exists: replace, then stage 04; syncs work
    assert "if_exists: replace" in err.value.hint
    migrated.if_exists = "replace"
    assert migrate.run(migrated, progress=False).completed
    assert validate.run(migrated).ok
    write(migrated.sqlite_path, "UPDATE parent SET extra = 'carried' WHERE id = 2")
    assert counts(sync(migrated)) == {"parent": (0, 1, 0)}
    assert assert_same(migrated) > 0


def assert_name(settings, key: int, name: str) -> None:
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT name FROM parent WHERE id = %s", (key,))
        assert cur.fetchone()[0] == name


def test_writes_on_postgresql_stop_the_sync_unless_overwrite(migrated, pg):
    write(migrated.sqlite_path, "UPDATE parent SET name = 'from sqlite' WHERE id = 2")
    pg.execute("UPDATE parent SET name = 'written on pg' WHERE id = 4321", migrated.db_name)
    pg.execute("DELETE FROM child WHERE id = 77", migrated.db_name)
    pg.execute("INSERT INTO tags VALUES ('pg', 9)", migrated.db_name)
    with pytest.raises(SyncError) as err:
        sync(migrated)
    text = str(err.value)
    assert "SY003" in text and "4321" in text and "77" in text and "pg" in text
    assert "--overwrite" in err.value.hint
    assert err.value.rows["parent"] == [(4321,)]
    assert_name(migrated, 2, "p2")  # nothing applied, not even SQLite's change
    assert_name(migrated, 4321, "written on pg")
    report = sync(migrated, overwrite=True)
    assert report.overwritten == 3
    assert_same(migrated)
    assert validate.run(migrated).ok
    assert sync(migrated).changes == 0


def test_bad_values_follow_on_bad_value(migrated):
    write(migrated.sqlite_path, "UPDATE parent SET qty = 'twelve' WHERE id = 20")
    with pytest.raises(SyncError) as err:
        sync(migrated)
    assert "SY005" in str(err.value) and "qty" in str(err.value) and "20" in str(err.value)
    migrated.on_bad_value = "null"
    report = sync(migrated)
    assert counts(report) == {"parent": (0, 1, 0)}
    with db.connection(migrated) as conn, conn.cursor() as cur:
        cur.execute("SELECT qty, name FROM parent WHERE id = 20")
        assert cur.fetchone() == (None, "p20")
    assert sync(migrated).changes == 0
    migrated.on_bad_value = "quarantine"  # rows loaded as NULL would not be set aside
    with pytest.raises(SyncError) as err:
        sync(migrated)
    assert "SY007" in str(err.value) and "on_bad_value: null" in err.value.hint
    migrated.on_bad_value = "null"
    write(migrated.sqlite_path, "DELETE FROM parent WHERE id = 2")  # child rows point at it
    with pytest.raises(SyncError) as err:
        sync(migrated)
    assert "SY006" in str(err.value) and "child" in str(err.value)
    assert_name(migrated, 2, "p2")


def test_quarantine_sets_changed_rows_aside(migrated):
    migrated.on_bad_value = "quarantine"
    write(migrated.sqlite_path, "INSERT INTO parent (id, name, qty) VALUES (77777, 'bad', 'x')",
          "UPDATE parent SET qty = 'y' WHERE id = 19000")
    report = sync(migrated)
    assert counts(report)["parent"] == (0, 0, 1)  # 19000 set aside (so gone), 77777 not loaded
    section = manifest.read(migrated.run_dir)["migration"]
    entry = next(e for e in section["tables"] if e["table"] == "parent")
    assert entry["quarantined"] == 2  # 19000 and 77777 as of this snapshot
    assert (Path(section["quarantine_dir"]) / entry["quarantine_file"]).is_file()
    checked = validate.run(migrated)
    assert checked.ok, checked.summary()
    assert sync(migrated).changes == 0


KILLED = """
import sys, time
from pathlib import Path
from runbook_lib.core.config import load_settings
from runbook_lib.cutover import sync_apply
from runbook_lib.cutover.sync import sync
real = sync_apply.upsert
def upsert(*args):
    found = real(*args)
    Path(sys.argv[5]).write_text("applying")
    time.sleep(120)  # killed here, mid-transaction
    return found
sync_apply.upsert = upsert
settings = load_settings(target="server", db_host="localhost", db_port=int(sys.argv[1]),
                         db_name=sys.argv[2], db_user=sys.argv[2], run_dir=sys.argv[3],
                         sqlite_path=sys.argv[4], django_project="", schema="sqlite")
sync(settings)
"""


def test_a_killed_sync_leaves_the_target_as_it_was_and_the_next_completes(migrated, pg,
                                                                           tmp_path):
    before = manifest.read(migrated.run_dir)["migration"]["snapshot"]
    write(migrated.sqlite_path, "DELETE FROM child WHERE id < 100",
          "UPDATE parent SET name = 'x' WHERE id < 50", "INSERT INTO codes VALUES ('q', 'q')")
    marker = tmp_path / "marker"
    child = subprocess.Popen([sys.executable, "-c", KILLED, str(pg.port), migrated.db_name,
                              migrated.run_dir, migrated.sqlite_path, str(marker)],
                             start_new_session=True)
    for _ in range(600):
        if marker.exists() or child.poll() is not None:
            break
        time.sleep(0.1)
    assert marker.exists(), "the child never reached the apply step"
    kill(child, pg, migrated.db_name)
    for _ in range(100):
        if not pg.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND "
                          "pid <> pg_backend_pid()".replace("%s", f"'{migrated.db_name}'"))[0][0]:
            break
        time.sleep(0.1)
    assert_same(migrated, before)  # the target holds the migration's snapshot, unchanged
    assert manifest.read(migrated.run_dir)["migration"]["snapshot"] == before
    report = sync(migrated)
    assert report.changes > 0
    assert_same(migrated)
    assert len(list((Path(migrated.run_dir) / "sync").iterdir())) == 1  # the killed one removed


def test_a_writer_during_the_sync_loses_nothing(migrated):
    live = migrated.sqlite_path
    stop = threading.Event()
    written = []

    def writer():
        conn = sqlite3.connect(live, timeout=30)
        n = 0
        while not stop.is_set():
            n += 1
            conn.execute("INSERT INTO parent (id, name, price) VALUES (?, ?, ?)",
                         (1_000_000 + n, f"w{n}", n / 3))
            conn.execute("UPDATE parent SET qty = ? WHERE id = ?", (n, 1 + n % PARENTS))
            conn.execute("INSERT INTO child (parent_id, note) VALUES (?, ?)", (1_000_000 + n, "w"))
            conn.commit()
            written.append(n)
            time.sleep(0.002)
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.2)
        first = sync(migrated)
        time.sleep(0.1)
    finally:
        stop.set()
        thread.join()
    assert first.changes > 0 and len(written) > 10
    sync(migrated)  # picks up what was written during and after the first
    assert_same(migrated)
    assert sync(migrated).changes == 0


def test_no_migration_is_refused(make_settings, tmp_path):
    build(tmp_path / "source.sqlite3")
    settings = make_settings(db_name="nothing_here", run_dir=str(tmp_path / "empty-run"))
    with pytest.raises(SyncError) as err:
        sync(settings)
    assert "SY001" in str(err.value) and "--run-dir" in err.value.hint


def test_the_sync_snapshot_is_private(migrated):
    sync(migrated)
    folder = Path(migrated.run_dir) / "sync"
    assert folder.stat().st_mode & 0o077 == 0
    for path in folder.rglob("*"):
        assert path.stat().st_mode & 0o077 == 0, path


def test_runbook_sync_command(migrated, tmp_path, capsys):
    from runbook_lib.app.cli import main

    profile = tmp_path / "profile.yaml"
    profile.write_text(f"target: server\ndb_host: localhost\ndb_port: {migrated.db_port}\n"
                       f"db_name: {migrated.db_name}\ndb_user: {migrated.db_user}\n"
                       f"sqlite_path: {migrated.sqlite_path}\nschema: sqlite\n"
                       "django_project: ''\n")
    write(migrated.sqlite_path, "UPDATE parent SET name = 'cli' WHERE id = 3")
    assert main(["sync", "--params", str(profile), "--run-dir", migrated.run_dir,
                 "--validate"]) == 0
    out = capsys.readouterr().out
    assert "1 updated" in out and "parent" in out and "nothing lost" in out
    assert_name(migrated, 3, "cli")
    pg_write = "UPDATE parent SET name = 'pg' WHERE id = 8"
    with db.connection(migrated) as conn, conn.cursor() as cur:
        cur.execute(pg_write)
        conn.commit()
    assert main(["sync", "--params", str(profile), "--run-dir", migrated.run_dir]) == 2
    assert "SY003" in capsys.readouterr().err
    assert main(["sync", "--params", str(profile), "--run-dir", migrated.run_dir,
                 "--overwrite"]) == 0
    assert_name(migrated, 8, "p8")


def test_later_syncs_use_recorded_digests_and_still_see_writes_on_postgresql(migrated, pg):
    live = migrated.sqlite_path
    write(live, "INSERT INTO parent (id, name) VALUES (30000, 'beyond')")
    first = sync(migrated)
    assert first.changes == 1 and not first.unproven and "parent" in first.proven
    write(live, "INSERT INTO parent (id, name) VALUES (45000, 'further')",
          "INSERT INTO parent (id, name) VALUES (-5, 'below')",
          "UPDATE parent SET price = 2.5 WHERE id = 19999", "DELETE FROM parent WHERE id = 15000")
    second = sync(migrated)  # the recorded chunking grown both ways; the target not re-read
    assert counts(second)["parent"] == (2, 1, 1)
    assert not next(x for x in second.tables if x.table == "parent").target_read
    assert not second.unproven and "parent" in second.proven
    assert_same(migrated)
    pg.execute("DELETE FROM parent WHERE id = 15003", migrated.db_name)  # a delete on PG
    with pytest.raises(SyncError) as err:
        sync(migrated)
    assert "SY003" in str(err.value) and err.value.rows["parent"] == [(15003,)]
    sync(migrated, overwrite=True)
    pg.execute("UPDATE child SET note = 'pg' WHERE id = 9", migrated.db_name)  # an update
    with pytest.raises(SyncError) as err:
        sync(migrated)
    assert err.value.rows == {"child": [(9,)]}


@pytest.fixture
def spc(fresh_db, tmp_path):
    """The sample SPC database (small), migrated with schema: sqlite."""
    from runbook_lib.prepare import demo

    path = tmp_path / "spc.sqlite3"
    demo.build(path, rows=3000)
    settings = fresh_db
    settings.sqlite_path, settings.schema, settings.run_drills = str(path), "sqlite", True
    assert migrate.run(settings, progress=False).completed
    return settings


def test_the_training_drill_shows_the_downtime_and_the_proof(spc, monkeypatch):
    from runbook_lib.cutover import app_up, catch_up, start_writer, stop_writes, window

    assert not window._drill_allowed(spc)  # target: server: never on a real server
    monkeypatch.setattr(window, "_drill_allowed", lambda settings: True)
    writer = start_writer(spc)
    assert writer.process is not None
    first = catch_up(spc)  # the writer adds and corrects measurements meanwhile
    time.sleep(0.3)
    notes = stop_writes(spc, writer)
    assert writer.written > 0 and str(writer.written) in " ".join(notes)
    final = catch_up(spc)
    assert first.changes > 0 and final.changes > 0  # what was written during the first
    assert not final.unproven and "spc_qualitymeasurement" in final.proven
    assert f"{len(final.proven)} table" in final.proof()
    shown = app_up(spc, final)
    window_rec = manifest.read(spc.run_dir)["cutover"]["window"]
    assert window_rec["downtime_s"] >= window_rec["final_sync_s"] > 0
    assert any("downtime" in k for k in shown)
    assert_same(spc)
    assert validate.run(spc).ok


def test_the_drill_never_writes_outside_training(make_settings, tmp_path):
    from runbook_lib.cutover import start_writer

    source = build(tmp_path / "source.sqlite3")
    for params in ({"run_drills": True}, {"run_drills": False, "target": "embedded"}):
        settings = make_settings(db_name="x", **params)
        writer = start_writer(settings)
        assert writer.process is None and writer.notes
    assert sqlite3.connect(source).execute("SELECT count(*) FROM parent").fetchone()[0] == PARENTS


def test_catch_up_without_a_migration_says_so(make_settings, tmp_path):
    from runbook_lib.cutover import app_up, catch_up

    settings = make_settings(db_name="x", run_dir=str(tmp_path / "nothing"), language="ko")
    notes = catch_up(settings)
    assert "SY001" in " ".join(notes) and "동기화" in " ".join(notes)
    assert "다운타임" in " ".join(app_up(settings))


def test_hostile_names_and_values_are_carried_as_data(fresh_db, tmp_path):
    """Names and values from the SQLite file are data: quoted, never spliced as SQL."""
    path = tmp_path / "hostile.sqlite3"
    table, column = 'x"; DROP TABLE parent; --', "c'); DELETE FROM t; --"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f'CREATE TABLE "{table.replace(chr(34), chr(34) * 2)}" (id INTEGER PRIMARY KEY, '
                 f'"{column}" TEXT)')
    conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    conn.executemany(f'INSERT INTO "{table.replace(chr(34), chr(34) * 2)}" VALUES (?, ?)',
                     [(i, f"v{i}'; DROP TABLE parent; --\t\\") for i in range(1, 200)])
    conn.commit()
    conn.close()
    settings = fresh_db
    settings.sqlite_path, settings.schema = str(path), "sqlite"
    assert migrate.run(settings, progress=False).completed
    quoted = '"' + table.replace('"', '""') + '"'
    write(path, f"UPDATE {quoted} SET \"{column}\" = 'new''; --' WHERE id = 5",
          f"INSERT INTO {quoted} VALUES (1000, '\x1b[31mred')", f"DELETE FROM {quoted} WHERE id = 7")
    report = sync(settings)
    assert counts(report)[table] == (1, 1, 1)
    src = sorted(sqlite3.connect(path).execute(f"SELECT * FROM {quoted}").fetchall())
    with db.connection(settings) as pgc, pgc.cursor() as cur:
        cur.execute(f"SELECT * FROM {quoted}")
        assert sorted(cur.fetchall()) == src
        cur.execute("SELECT count(*) FROM parent")  # still there
    assert "\x1b" not in report.frame().to_string()
    assert sync(settings).changes == 0
