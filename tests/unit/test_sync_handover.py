"""The first catch-up sync after stage 04 starts from what validation proved (issue 19).

Stage 04 leaves the snapshot's chunk digests (and, with `cutover_by_sync`, its row hashes)
beside it (`validate.handover`); the first sync then reads neither the target nor the previous
snapshot. Every content check is independent of that machinery: the live file and the target
compared as sorted multisets (`edge_cases.assert_table_equal`) and stage 04's validation. The
calls that read the previous snapshot or digest the target are counted by wrapping them.
"""

from __future__ import annotations

import json
import shutil
import stat
import uuid
from pathlib import Path

import pytest
import test_sync
from test_sync import assert_same, counts, write
from test_sync_rows import by_table, scattered

from runbook_lib import migrate, validate
from runbook_lib.core import db, state
from runbook_lib.cutover import sync_find
from runbook_lib.cutover.sync import SyncError, sync
from runbook_lib.validate import digest, handover

migrated = test_sync.migrated  # the fixture: stage 03 done on a WAL-mode source
DIGESTED = ("parent", "child", "scratch")  # the tables with an integer key


@pytest.fixture
def reads(monkeypatch):
    """Which snapshots the digest pass read and how often the target was digested."""
    seen = {"sources": [], "target": 0}
    source, target = digest.source_digests, digest.target_digests

    def counted_source(snapshot, *args, **kwargs):
        seen["sources"].append(str(snapshot))
        return source(snapshot, *args, **kwargs)

    def counted_target(*args, **kwargs):
        seen["target"] += 1
        return target(*args, **kwargs)

    monkeypatch.setattr(digest, "source_digests", counted_source)
    monkeypatch.setattr(digest, "target_digests", counted_target)
    return seen


def _validated(settings) -> Path:
    report = validate.run(settings)
    assert report.ok, report.summary()
    return Path(state.current(settings).snapshot)


def test_the_first_sync_after_validation_reads_neither_target_nor_previous_snapshot(
        migrated, reads):
    migrated.cutover_by_sync = True
    old = _validated(migrated)
    for name in (handover.FILE, handover.HASHES):  # private, beside the snapshot
        assert stat.S_IMODE(old.with_name(name).stat().st_mode) == 0o600
    scattered(migrated.sqlite_path, 0)  # every key chunk of parent changed
    reads["sources"].clear()
    reads["target"] = 0
    report = sync(migrated)
    tables = by_table(report)
    for name in DIGESTED:
        assert not tables[name].target_read and not tables[name].previous_read, name
    assert tables["parent"].narrowed == "row hashes" and tables["parent"].proved == "rows"
    assert str(old) not in reads["sources"] and reads["target"] == 0
    assert counts(report)["parent"][1] > 0 and not report.unproven
    assert assert_same(migrated) > 0  # every change carried, by an independent comparison
    assert validate.run(migrated).ok
    assert sync(migrated).changes == 0


def test_without_row_hashes_the_recorded_digests_still_spare_the_target(migrated, reads):
    old = _validated(migrated)  # cutover_by_sync off: digests only, no row hashes
    assert old.with_name(handover.FILE).is_file()
    assert not old.with_name(handover.HASHES).exists()
    write(migrated.sqlite_path, "UPDATE parent SET name = 'one' WHERE id = 5",
          "DELETE FROM child WHERE id = 7", "INSERT INTO scratch (v) VALUES ('new')")
    reads["target"] = 0
    report = sync(migrated)
    tables = by_table(report)
    assert not any(tables[name].target_read for name in DIGESTED) and reads["target"] == 0
    assert tables["parent"].narrowed == "join" and tables["parent"].updated == 1
    assert counts(report)["child"] == (0, 0, 1) and counts(report)["scratch"] == (1, 0, 0)
    assert assert_same(migrated) > 0


def test_a_write_to_the_target_after_validation_is_still_detected(migrated, pg):
    migrated.cutover_by_sync = True
    _validated(migrated)
    pg.execute("UPDATE parent SET qty = 5 WHERE id = 19990", migrated.db_name)
    scattered(migrated.sqlite_path, 0)
    with pytest.raises(SyncError) as err:
        sync(migrated)
    assert "SY003" in str(err.value) and (19990,) in err.value.rows["parent"]


def test_a_delete_on_the_target_after_validation_makes_the_sync_read_it(migrated, pg):
    _validated(migrated)
    pg.execute("DELETE FROM child WHERE id = 2998", migrated.db_name)  # no new row version
    write(migrated.sqlite_path, "UPDATE child SET note = 'x' WHERE id = 3")
    with pytest.raises(SyncError) as err:
        sync(migrated)
    assert (2998,) in err.value.rows["child"]


def test_a_record_of_an_earlier_migration_at_the_same_path_is_not_trusted(migrated, reads):
    migrated.cutover_by_sync = True
    old = _validated(migrated)
    kept = {name: old.with_name(name).read_bytes() for name in (handover.FILE, handover.HASHES)}
    write(migrated.sqlite_path, "UPDATE parent SET name = 'between' WHERE id BETWEEN 1 AND 9000")
    migrated.if_exists = "replace"
    assert migrate.run(migrated, progress=False).completed  # a new run id, the same path
    assert Path(state.current(migrated).snapshot) == old
    for name, data in kept.items():  # as if stage 04 of the earlier migration had left them
        old.with_name(name).write_bytes(data)
    scattered(migrated.sqlite_path, 0)
    reads["target"] = 0
    report = sync(migrated)
    parent = by_table(report)["parent"]
    assert parent.target_read and parent.previous_read and reads["target"] > 0
    assert assert_same(migrated) > 0
    assert validate.run(migrated).ok


def test_the_record_is_checked_against_run_snapshot_and_database(migrated, tmp_path):
    migrated.cutover_by_sync = True
    old = _validated(migrated)
    record = state.current(migrated)
    path = old.with_name(handover.FILE)
    with db.connection(migrated) as conn, conn.cursor() as cur:
        found = handover.load(cur, old, record.run_id, record.snapshot_sha256)
        assert found["tables"].keys() >= set(DIGESTED) and found["row_hashes"]
        assert all(found["tables"][t]["target_equal"] for t in DIGESTED)
        assert handover.load(cur, old, "other-run", record.snapshot_sha256) == {}
        assert handover.load(cur, old, record.run_id, "0" * 64) == {}
        assert handover.load(cur, old, record.run_id, "") == {}
        copy = tmp_path / "elsewhere" / old.name  # the same files beside another path
        copy.parent.mkdir()
        shutil.copy(path, copy.with_name(handover.FILE))
        assert handover.load(cur, copy, record.run_id, record.snapshot_sha256) == {}
        payload = json.loads(path.read_text())
        payload["database"][0] += 1  # another database (a restored copy) has another oid
        path.write_text(json.dumps(payload))
        assert handover.load(cur, old, record.run_id, record.snapshot_sha256) == {}
        path.write_text("{not json")
        assert handover.load(cur, old, record.run_id, record.snapshot_sha256) == {}


def test_a_threshold_from_another_server_is_not_trusted(migrated):
    with db.connection(migrated) as conn:
        rows = migrated_rows(conn, "parent")
        cached = {"target_equal": True, "rows": rows}
        with conn.cursor() as cur:
            cur.execute("SELECT txid_snapshot_xmin(txid_current_snapshot())")
            now = cur.fetchone()[0]
        conn.rollback()
        assert sync_find.untouched(conn, "parent", cached, now)
        assert not sync_find.untouched(conn, "parent", cached, now + 2 ** 33)  # "the future"
        assert not sync_find.untouched(conn, "parent", {**cached, "rows": rows - 1}, now)


def migrated_rows(conn, table: str) -> int:
    with conn.cursor() as cur:
        cur.execute(f'SELECT count(*) FROM "{table}"')
        n = cur.fetchone()[0]
    conn.rollback()
    return n


def test_another_database_validated_leaves_no_record(migrated, pg):
    name = "t_" + uuid.uuid4().hex[:10]
    pg.execute(f"CREATE DATABASE {name} TEMPLATE {migrated.db_name} OWNER {migrated.db_user}")
    try:
        validate.run(migrated, dbname=name)
        snapshot = Path(state.current(migrated).snapshot)
        assert not snapshot.with_name(handover.FILE).exists()
    finally:
        pg.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_write_between_finding_and_applying_leaves_the_table_unproven(migrated, pg,
                                                                         monkeypatch):
    """The target was found untouched (not read): the proof counts from that moment, so a
    write by anyone else before the sync's transaction is not mistaken for the sync's own."""
    import importlib

    sync_module = importlib.import_module("runbook_lib.cutover.sync")
    migrated.cutover_by_sync = True
    _validated(migrated)
    scattered(migrated.sqlite_path, 0)
    original = sync_module.before_apply

    def meanwhile(settings, works):
        pg.execute("UPDATE parent SET qty = 5 WHERE id = 19990", migrated.db_name)
        return original(settings, works)

    monkeypatch.setattr(sync_module, "before_apply", meanwhile)
    report = sync(migrated)
    parent = by_table(report)["parent"]
    assert not parent.target_read and parent.proved == "rows"
    assert "parent" in report.unproven
    monkeypatch.setattr(sync_module, "before_apply", original)
    with pytest.raises(SyncError) as err:  # the next sync reads the target and names it
        sync(migrated)
    assert (19990,) in err.value.rows["parent"]
