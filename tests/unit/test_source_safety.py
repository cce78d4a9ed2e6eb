"""Issue 13, classes 3 and 11: the source is never deleted, and a source that moved on after
its snapshot is said so.

Class 3: `sqlite_path` pointing at `<run-dir>/snapshot.sqlite3` (a WAL file whose last commit is
only in its `-wal`), reaching it through a symlink or a hard link, or lying in a folder the
runbook rewrites: refused before anything is touched, every byte of the source kept.
Class 11: a writer committing after the snapshot (rollback journal or WAL), or the file
replaced: stage 03 (MG009) and stage 04 (VA013) say which snapshot was proven and that the
live file moved on; a WAL checkpoint or a `touch` is no change.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from runbook_lib import migrate, validate
from runbook_lib.core import source_state
from runbook_lib.core.errors import SourceError
from runbook_lib.migrate import checks

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from edge_cases import EDGE_CASES, rows  # noqa: E402


def family(path: Path) -> dict[str, bytes]:
    return {s: Path(f"{path}{s}").read_bytes() for s in ("", "-wal", "-shm")
            if Path(f"{path}{s}").exists()}


@pytest.mark.parametrize("how", ["snapshot_itself", "symlink", "hard_link", "quarantine"])
def test_the_source_is_never_deleted(fresh_db, pg, tmp_path, how):
    run = Path(fresh_db.run_dir)
    run.mkdir(parents=True, exist_ok=True)
    if how == "snapshot_itself":
        path = EDGE_CASES["wal_pending"](run / "snapshot.sqlite3")
        fresh_db.sqlite_path = str(path)
    elif how == "symlink":
        path = EDGE_CASES["wal_pending"](run / "snapshot.sqlite3")
        (tmp_path / "link.sqlite3").symlink_to(path)
        fresh_db.sqlite_path = str(tmp_path / "link.sqlite3")
    elif how == "hard_link":  # the same file under another name (what a bind mount also does)
        path = EDGE_CASES["wal_pending"](tmp_path / "elsewhere.sqlite3")
        os.link(path, run / "snapshot.sqlite3")
        fresh_db.sqlite_path = str(path)
    else:
        (run / "quarantine").mkdir()
        path = EDGE_CASES["wal_pending"](run / "quarantine" / "db.sqlite3")
        fresh_db.sqlite_path = str(path)
    assert "-wal" in family(path)  # a committed transaction lives only there
    before, listing = family(path), sorted(p.name for p in run.rglob("*"))
    with pytest.raises(SourceError, match="Nothing was touched") as err:
        migrate.run(fresh_db, progress=False)
    assert "sqlite_path" in err.value.hint
    assert family(path) == before and sorted(p.name for p in run.rglob("*")) == listing
    assert rows(path, "event")[-1] == (5, "in wal 5")
    assert pg.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                      fresh_db.db_name) == [(0,)]


def test_a_source_beside_the_run_files_is_fine(fresh_db):
    """Only what the runbook deletes or rewrites is refused, not the whole run folder."""
    run = Path(fresh_db.run_dir)
    run.mkdir(parents=True, exist_ok=True)
    fresh_db.sqlite_path = str(EDGE_CASES["keys"](run / "db.sqlite3"))
    assert migrate.run(fresh_db, progress=False).completed


# -- class 11 ----------------------------------------------------------------------------------
def staged(settings):
    """Stage 03 step by step, up to the data copied and finished."""
    m = migrate.Migration(settings, progress=False)
    m.take_snapshot()
    for step in (m.introspect, m.make_plan, m.prepare_target, m.check_values, m.load,
                 m.finish):
        step()
    return m


def check(m, cid: str):
    return next(c for c in checks.stage_checks(m) if c.id == cid)


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_a_writer_after_the_snapshot_is_reported(fresh_db, journal):
    path = fresh_db.sqlite_file
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA journal_mode={journal}")
        conn.execute("CREATE TABLE reading (id INTEGER PRIMARY KEY, v REAL)")
        conn.executemany("INSERT INTO reading VALUES (?, ?)", [(i, i / 2) for i in range(50)])
    m = migrate.Migration(fresh_db, progress=False)
    m.take_snapshot()
    writer = sqlite3.connect(path)  # the application commits while stage 03 runs
    writer.execute("INSERT INTO reading VALUES (1000, 1.5)")
    writer.commit()
    for step in (m.introspect, m.make_plan, m.prepare_target, m.check_values, m.load, m.finish):
        step()
    mg009 = check(m, "MG009")
    assert mg009.status == "warn"
    assert f"proven: the snapshot {m.snapshot}" in mg009.message
    assert "moved on" in mg009.message and "re-run stage 03" in mg009.hint
    report = validate.run(fresh_db)
    va013 = next(c for c in report.checks if c.id == "VA013")
    assert report.ok and va013.status == "warn" and str(m.snapshot) in va013.message
    writer.close()
    fresh_db.language = "ko"
    assert "스냅샷" in next(c for c in validate.run(fresh_db).checks if c.id == "VA013").message


def test_a_checkpoint_or_touch_is_no_change(fresh_db):
    path = fresh_db.sqlite_file
    EDGE_CASES["wal_pending"](path)
    m = staged(fresh_db)
    with sqlite3.connect(path) as conn:  # the frames of the -wal move into the main file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    os.utime(path)
    assert check(m, "MG009").status == "ok"
    assert next(c for c in validate.run(fresh_db).checks if c.id == "VA013").status == "ok"
    assert not (Path(fresh_db.run_dir) / source_state.SCRATCH).exists()


def test_a_replaced_file_is_reported(fresh_db, tmp_path):
    path = fresh_db.sqlite_file
    EDGE_CASES["keys"](path)
    m = staged(fresh_db)
    other = EDGE_CASES["keys"](tmp_path / "other.sqlite3")
    with sqlite3.connect(other) as conn:
        conn.execute("UPDATE uniq SET a = 99 WHERE id = 1")
    conn.close()
    shutil.move(other, path)  # e.g. a restore from last night's copy
    found = check(m, "MG009")
    assert found.status == "warn" and "content differs" in found.message
