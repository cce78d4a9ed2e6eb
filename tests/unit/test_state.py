"""The migration's record lives with the target: a later stage in a new run folder (or the
lab) validates against the right migration, the quarantine accounted, and says which one."""

from __future__ import annotations

import csv
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from runbook_lib import migrate, validate
from runbook_lib.core import db, manifest, state
from runbook_lib.core.config import load_settings
from runbook_lib.core.errors import SourceError, ValidationFailed

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from edge_cases import EDGE_CASES  # noqa: E402


def later_run(settings, tmp_path, name: str = "later", **params):
    """The same target seen from a new run folder, with the profile's defaults (as a plain
    `runbook run --only 04` or a notebook opened in the lab would)."""
    values = {k: getattr(settings, k) for k in ("target", "db_host", "db_port", "db_name",
                                                "db_user", "django_project", "sqlite_path")}
    return load_settings(**{**values, "run_dir": str(tmp_path / name), **params})


def check(report, cid: str):
    return next(c for c in report.checks if c.id == cid)


def source_rows(path, ids) -> list[tuple]:
    """The quarantined rows read straight from the SQLite file (not through the runbook)."""
    conn = sqlite3.connect(path)
    try:
        marks = ", ".join("?" * len(ids))
        return conn.execute(f"SELECT * FROM reading WHERE id IN ({marks}) ORDER BY id",
                            list(ids)).fetchall()
    finally:
        conn.close()


@pytest.fixture
def quarantined(fresh_db):
    """A finished migration that set rows 2-5 of `reading` aside (on_bad_value: quarantine;
    types: declared, so text in the INTEGER is a bad value rather than a reason for text)."""
    EDGE_CASES["bad_values"](fresh_db.sqlite_file)
    fresh_db.on_bad_value, fresh_db.types = "quarantine", "declared"
    result = migrate.run(fresh_db, progress=False)
    assert result.completed
    return fresh_db, result


def test_record_is_kept_in_the_target(quarantined):
    settings, result = quarantined
    with db.connection(settings) as conn:
        record = state.latest(conn)
        rows = state.quarantine_rows(conn, record.run_id, "reading")
    section = result.section
    assert record.run_id == section["run_id"] and record.completed
    assert record.snapshot == section["snapshot"]
    assert record.snapshot_sha256 == state.sha256(section["snapshot"])
    assert record.section["tables"] == section["tables"]
    assert record.section["on_bad_value"] == "quarantine"
    types = {c["name"]: c["target_type"] for c in record.section["tables"][0]["columns"]}
    assert types["qty"] == "bigint" and types["doc"] == "jsonb"  # the type plan
    # the quarantine content itself: rows 2-5 as the source holds them (NUL byte included)
    header, body = rows[0], rows[1:]
    assert header[:2] == ["runbook:table", "id"] and {r[0] for r in body} == {"reading"}
    assert [r[1] for r in body] == ["2", "3", "4", "5"]
    raw = source_rows(section["snapshot"], [2, 3, 4, 5])
    assert [r[header.index("body")] for r in body] == [r[6] for r in raw]
    assert "nul\x00byte" in [r[header.index("body")] for r in body]


def test_new_run_folder_validates_against_the_recorded_migration(quarantined, tmp_path):
    settings, result = quarantined
    later = later_run(settings, tmp_path)  # on_bad_value back to its default: fail
    assert later.on_bad_value == "fail" and not manifest.read(later.run_dir)
    report = validate.run(later)
    reading = next(v for v in report.tables if v.table == "reading")
    assert report.ok, report.summary()
    assert (reading.verdict, reading.quarantined, reading.missing) == ("ok", 4, 4)
    assert check(report, "VA009").status == "warn"
    which = check(report, "VA014")
    assert which.status == "ok" and result.section["run_id"] in which.message
    assert result.section["snapshot"] in which.message and "sha256" in which.message
    copy = manifest.read(later.run_dir)["migration"]
    assert copy["run_id"] == result.section["run_id"]
    assert copy["tables"] == result.section["tables"]
    assert report.as_dict()["migration"]["run_id"] == result.section["run_id"]


def test_quarantine_is_read_from_the_target_when_the_folder_is_gone(quarantined, tmp_path):
    settings, result = quarantined
    shutil.rmtree(result.section["quarantine_dir"])
    later = later_run(settings, tmp_path, diff_samples=10)
    reading = next(v for v in validate.run(later).tables if v.table == "reading")
    assert reading.verdict == "ok"
    assert sorted(reading.samples["difference"]) == ["quarantined"] * 4
    assert "runbook_migration.quarantine" in reading.detail()


def test_nulled_rows_follow_the_recorded_policy(fresh_db, tmp_path):
    EDGE_CASES["bad_values"](fresh_db.sqlite_file)
    fresh_db.on_bad_value = "null"
    assert migrate.run(fresh_db, progress=False).completed
    report = validate.run(later_run(fresh_db, tmp_path))
    reading = next(v for v in report.tables if v.table == "reading")
    assert report.ok and reading.verdict == "ok" and reading.nulled > 0


def test_unfinished_migration_is_said_not_diffed(fresh_db, tmp_path):
    """A migration that stopped after creating the schema (killed): 04 says so, lists nothing."""
    EDGE_CASES["keys"](fresh_db.sqlite_file)
    m = migrate.Migration(fresh_db, progress=False)
    for step in (m.take_snapshot, m.introspect, m.make_plan, m.prepare_target):
        step()
    m.close()  # the process ends here without finishing: nothing marks it done
    with pytest.raises(ValidationFailed) as err:
        validate.run(later_run(fresh_db, tmp_path))
    text = str(err.value)
    assert m.run_id in text and "did not finish" in text and "--resume" in text
    assert "missing" not in err.value.message


def test_replaced_snapshot_is_refused(quarantined, tmp_path):
    settings, result = quarantined
    snapshot = Path(result.section["snapshot"])
    with sqlite3.connect(snapshot) as conn:
        conn.execute("INSERT INTO reading (id) VALUES (99)")
    conn.close()
    with pytest.raises(SourceError, match="SHA-256 differs") as err:
        validate.run(later_run(settings, tmp_path))
    assert "03_migrate" in err.value.hint


def test_cutover_counts_accept_the_recorded_quarantine(quarantined, tmp_path):
    from runbook_lib.cutover import guide_checklist

    settings, result = quarantined
    later = later_run(settings, tmp_path)
    status, detail = guide_checklist._data_loaded(later)
    assert status == "ok" and result.section["run_id"] in detail and "4 row(s)" in detail
    validate.run(later_run(settings, tmp_path, "validated"))  # stage 04 in its own run
    status, detail = guide_checklist._data_loaded(later_run(settings, tmp_path, "third"))
    assert status == "ok" and "stage 04 validation ok" in detail


def test_records_of_older_runbooks_are_upgraded(fresh_db, pg):
    pg.execute("CREATE SCHEMA runbook_migration AUTHORIZATION " + fresh_db.db_user,
               fresh_db.db_name)
    pg.execute(f"CREATE TABLE runbook_migration.runs (run_id text PRIMARY KEY, started_at "
               "timestamptz NOT NULL DEFAULT now(), finished_at timestamptz, tables text[] "
               f"NOT NULL DEFAULT '{{}}'); ALTER TABLE runbook_migration.runs OWNER TO "
               f"{fresh_db.db_user}; INSERT INTO runbook_migration.runs VALUES ('old', now(), "
               "now(), '{}')", fresh_db.db_name)
    with db.connection(fresh_db) as conn:
        assert state.latest(conn).run_id == "old"
    EDGE_CASES["keys"](fresh_db.sqlite_file)
    fresh_db.if_exists = "replace"
    result = migrate.run(fresh_db, progress=False)
    with db.connection(fresh_db) as conn:
        assert state.latest(conn).run_id == result.section["run_id"]


def test_quarantine_csv_matches_the_target_copy(quarantined):
    settings, result = quarantined
    entry = result.section["tables"][0]
    with open(Path(result.section["quarantine_dir"]) / entry["quarantine_file"], newline="",
              encoding="utf-8") as fh:
        on_disk = list(csv.reader(fh))
    with db.connection(settings) as conn:
        assert state.quarantine_rows(conn, result.section["run_id"], "reading") == on_disk


def test_guide_step4_counts_expect_the_quarantine(fresh_db, tmp_path):
    src = sqlite3.connect(fresh_db.sqlite_file)
    src.executescript("CREATE TABLE spc_product (id INTEGER PRIMARY KEY, product_code TEXT, "
                      "product_name TEXT); CREATE TABLE spc_qualitymeasurement (id INTEGER "
                      "PRIMARY KEY, product_id INTEGER REFERENCES spc_product (id), "
                      "value REAL NOT NULL);")
    src.executemany("INSERT INTO spc_product VALUES (?, ?, ?)",
                    [(i, f"P-{i}", f"제품 {i}") for i in range(1, 8)])
    src.executemany("INSERT INTO spc_qualitymeasurement VALUES (?, ?, ?)",
                    [(i, i % 7 + 1, "abc" if i in (4, 9) else i / 3) for i in range(1, 30)])
    src.commit()
    src.close()
    fresh_db.on_bad_value, fresh_db.types = "quarantine", "declared"  # 'abc' is no REAL
    assert migrate.run(fresh_db, progress=False).completed
    report = validate.run(later_run(fresh_db, tmp_path))
    assert report.ok, report.summary()
    guide = report.guide.set_index("check")
    row = guide.loc["Measurements: count()"]
    assert (row.source, row["expected (less quarantined)"], row.target, row.status) == \
        (29, 27, 27, "ok")
    assert check(report, "VA010").status == "ok" and check(report, "VA009").status == "warn"
    # the independent check: the target holds exactly the source's other rows
    with db.connection(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, product_id, value FROM spc_qualitymeasurement ORDER BY id")
        target = cur.fetchall()
    lite = sqlite3.connect(fresh_db.sqlite_file)
    source = lite.execute("SELECT id, product_id, value FROM spc_qualitymeasurement WHERE id "
                          "NOT IN (4, 9) ORDER BY id").fetchall()
    lite.close()
    assert sorted(target) == sorted(source)


def test_plan_summary_names_the_migration(quarantined, tmp_path):
    from runbook_lib.core import display

    settings, result = quarantined
    shown = validate.plan_summary(later_run(settings, tmp_path))
    assert result.section["run_id"] in shown.attrs["caption"]
    assert list(shown["quarantined"]) == [4]
    assert result.section["run_id"] in display.frame_html(shown)  # as the notebook shows it
    korean = validate.plan_summary(later_run(settings, tmp_path, "ko", language="ko"))
    assert "마이그레이션" in korean.attrs["caption"] and "대상 데이터베이스에 기록됨" in \
        display.frame_html(korean, "ko")


def test_which_migration_speaks_korean(quarantined, tmp_path):
    settings, result = quarantined
    report = validate.run(later_run(settings, tmp_path, language="ko"))
    which = check(report, "VA014")
    assert which.name == "검증한 마이그레이션" and result.section["run_id"] in which.message
    assert "시작" in which.message and "started" not in which.message


def test_a_snapshot_hash_is_remembered_only_while_the_file_is_unchanged(tmp_path, monkeypatch):
    """state.sha256 reads a file once while its identity (inode, size, mtime, ctime) holds;
    any change, even one that keeps size and mtime, is hashed again; the memo is private and
    a forged or broken one is ignored."""
    import hashlib
    import os

    path = tmp_path / "snapshot.sqlite3"
    path.write_bytes(b"a" * 4096)
    old = os.stat(path).st_mtime_ns - 5 * 10**9
    os.utime(path, ns=(old, old))  # written long enough ago to be remembered
    first = state.sha256(path)
    memo = tmp_path / "snapshot.sqlite3.sha256"
    assert first == hashlib.sha256(b"a" * 4096).hexdigest()
    assert memo.is_file() and memo.stat().st_mode & 0o777 == 0o600
    reads = []
    real = hashlib.file_digest
    monkeypatch.setattr(hashlib, "file_digest", lambda *a: reads.append(1) or real(*a))
    assert state.sha256(path) == first and not reads  # remembered: not read again
    with open(path, "r+b") as fh:  # same size, mtime set back: only the ctime moves
        fh.write(b"b")
    os.utime(path, ns=(old, old))
    assert state.sha256(path) == hashlib.sha256(b"b" + b"a" * 4095).hexdigest() and reads
    memo.write_text('{"identity": [1, 2, 3], "sha256": "' + "0" * 64 + '"}')
    assert state.sha256(path) != "0" * 64  # a memo of another identity is not believed
    memo.unlink()
    memo.write_text("not json")
    assert state.sha256(path) == hashlib.sha256(b"b" + b"a" * 4095).hexdigest()


def test_a_file_written_a_moment_ago_is_not_remembered(tmp_path):
    path = tmp_path / "fresh.sqlite3"
    path.write_bytes(b"x")
    state.sha256(path)
    assert not (tmp_path / "fresh.sqlite3.sha256").exists()
