"""Hostile names never become paths: quarantine files, trainees, parameters (issue 13, class 2).

Table names such as `../../x`, `/abs/path/x` or `sub/dir` used to name quarantine files, so
the rows went where the name pointed (or the stage crashed). Now each table gets a safe,
unique file inside the run's quarantine folder, its real name inside the file and in the
manifest, and validation reads the rows back through that mapping.
"""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import stat
import tempfile
from pathlib import Path

import pytest

from runbook_lib import migrate, validate
from runbook_lib.core import files, manifest
from runbook_lib.core.errors import ConfigError


def hostile_tables(outside: Path) -> list[str]:
    return ["../../../escape_up", f"{outside}/abs_target", "sub/dir", "..", ".hidden",
            "CON", "x?y", "x*y", "x_y", "tab\tle\x1b]0;pwned\x07", "한국어/표", "plain"]


def build(path: Path, names: list[str]) -> None:
    conn = sqlite3.connect(path)
    for i, name in enumerate(names):
        quoted = '"' + name.replace('"', '""') + '"'
        conn.execute(f"CREATE TABLE {quoted} (id INTEGER PRIMARY KEY, day DATE)")
        conn.executemany(f"INSERT INTO {quoted} VALUES (?, ?)",  # 2: a day that never was
                         [(1, "2024-01-10"), (2, "2024-02-30"), (3, f"2024-03-{10 + i}")])
    conn.commit()
    conn.close()


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture
def outside():
    """A short absolute folder outside the run (table names are at most 63 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="rb-"))
    yield folder
    shutil.rmtree(folder)


def test_quarantine_files_are_safe_unique_private_and_read_back(fresh_db, tmp_path, outside):
    names = hostile_tables(outside)
    build(fresh_db.sqlite_file, names)
    fresh_db.on_bad_value, fresh_db.schema = "quarantine", "sqlite"
    before = tree(tmp_path)
    result = migrate.run(fresh_db, progress=False)

    run_dir = Path(fresh_db.run_dir)
    folder = run_dir / "quarantine"
    assert result.section["quarantine_dir"] == str(folder)
    created = tree(tmp_path) - before
    assert all(p.startswith("run/") or p == "run" for p in created), created
    assert not list(outside.iterdir()) and not (tmp_path.parent / "escape_up.csv").exists()

    entries = {e["source_table"]: e for e in manifest.read(run_dir)["migration"]["tables"]}
    mapping = {name: entries[name]["quarantine_file"] for name in names}
    assert len(set(map(str.lower, mapping.values()))) == len(names)  # unique, even on macOS
    assert mapping["plain"] == "plain.csv"
    for name, file_name in mapping.items():
        assert "/" not in file_name and not file_name.startswith(".")
        assert file_name.isascii() and file_name.isprintable() and file_name.endswith(".csv")
        path = folder / file_name
        assert path.parent == folder and path.is_file() and not path.is_symlink()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        assert rows == [["runbook:table", "id", "day"], [name, "2", "2024-02-30"]]
        assert entries[name]["quarantined"] == 1 and entries[name]["loaded_rows"] == 2
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {p.name for p in folder.iterdir()} == set(mapping.values())

    report = validate.run(fresh_db)
    for name in names:
        v = next(t for t in report.tables if t.source_table == name)
        assert v.verdict == "ok" and v.missing == 1, (name, v.detail())
        assert list(v.samples["difference"]) == ["quarantined"], name
    assert report.ok


def test_quarantine_runs_twice_into_the_same_folder(fresh_db):
    build(fresh_db.sqlite_file, ["sub/dir", "plain"])
    fresh_db.on_bad_value, fresh_db.schema = "quarantine", "sqlite"
    migrate.run(fresh_db, progress=False)
    fresh_db.if_exists = "replace"
    result = migrate.run(fresh_db, progress=False)  # the earlier files are replaced
    assert sum(t["quarantined"] for t in result.section["tables"]) == 2


def test_planted_link_in_the_quarantine_folder_is_not_followed(fresh_db, tmp_path):
    build(fresh_db.sqlite_file, ["plain"])
    fresh_db.on_bad_value, fresh_db.schema = "quarantine", "sqlite"
    folder = Path(fresh_db.run_dir) / "quarantine"
    folder.mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (folder / "plain.csv").symlink_to(victim)
    migrate.run(fresh_db, progress=False)
    assert victim.read_text() == "precious"
    assert not (folder / "plain.csv").is_symlink()


def test_validation_refuses_a_manifest_name_that_leaves_the_folder(fresh_db, tmp_path, pg):
    build(fresh_db.sqlite_file, ["plain"])
    fresh_db.on_bad_value, fresh_db.schema = "quarantine", "sqlite"
    migrate.run(fresh_db, progress=False)
    data = manifest.read(fresh_db.run_dir)["migration"]
    real = data["tables"][0]["quarantine_file"]
    data["tables"][0]["quarantine_file"] = "../../../etc/passwd"
    manifest.update(fresh_db.run_dir, "migration", data)
    # the record kept with the target wins: the tampered copy is replaced, never followed
    assert validate.run(fresh_db).ok
    assert manifest.read(fresh_db.run_dir)["migration"]["tables"][0]["quarantine_file"] == real
    # a migration known only from the manifest (no record in the target): the name is refused
    manifest.update(fresh_db.run_dir, "migration", data)
    pg.execute("DROP SCHEMA runbook_migration CASCADE", fresh_db.db_name)
    with pytest.raises(files.UnsafePathError, match="outside"):
        validate.run(fresh_db)


@pytest.mark.parametrize("name", ["../x", "a/b", "", "x\n", "Kim", "k" * 31, "/tmp/x"])
def test_trainee_names_that_are_not_plain_are_refused(name):
    from runbook_lib.app import training

    with pytest.raises(ConfigError, match="Trainee name"):
        training.trainee(name)


@pytest.mark.parametrize("name", ["spc_db\n", "../spc", "spc/db", "spc db", "a\x00"])
def test_database_names_that_would_name_files_are_refused(make_settings, name):
    with pytest.raises(ConfigError, match="not a valid role or database name"):
        make_settings(db_name=name)


def test_safe_name_is_unique_and_harmless():
    taken: set[str] = set()
    out = [files.safe_name(n, taken, ".csv") for n in
           ["a", "A", "a/b", "a_b", "a?b", "..", "", "nul", "x" * 300, "é"]]
    assert len({o.lower() for o in out}) == len(out)
    assert out[0] == "a.csv" and out[3] == "a_b.csv"
    for o in out:
        assert o.isascii() and "/" not in o and not o.startswith(".")
        assert len(o.encode()) <= files.NAME_BYTES + 30
        assert o.split(".")[0].lower() not in ("nul", "con")


def test_inside_refuses_escapes(tmp_path):
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "link").symlink_to(tmp_path)
    assert files.inside(tmp_path / "f", "ok.csv") == (tmp_path / "f" / "ok.csv").resolve()
    for bad in ("../x", "/etc/passwd", "link/x"):
        with pytest.raises(files.UnsafePathError):
            files.inside(tmp_path / "f", bad)


def test_create_private_never_follows_or_overwrites(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "planted").symlink_to(victim)
    with pytest.raises(files.UnsafePathError):
        files.create_private(tmp_path / "planted")
    with pytest.raises(files.UnsafePathError):
        files.create_private(victim)
    assert victim.read_text() == "keep"
    with files.create_private(tmp_path / "planted", replace=True) as fh:  # the link goes
        fh.write("new")
    assert victim.read_text() == "keep" and not (tmp_path / "planted").is_symlink()
    assert stat.S_IMODE(os.stat(tmp_path / "planted").st_mode) == 0o600


def test_training_folder_that_is_a_link_is_refused(tmp_path, monkeypatch):
    from runbook_lib.app import training

    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "kim").mkdir(parents=True)
    (elsewhere / "kim" / "precious.txt").write_text("keep")
    home = tmp_path / "project"
    home.mkdir()
    (home / "training").symlink_to(elsewhere)
    monkeypatch.setenv("RUNBOOK_HOME", str(home))
    with pytest.raises(ConfigError, match="symbolic link"):
        training.copy_workspace(training.trainee("kim"))
    assert (elsewhere / "kim" / "precious.txt").read_text() == "keep"


def test_validation_file_name_from_a_database_name_stays_in_the_run(tmp_path):
    from runbook_lib.core.results import table
    from runbook_lib.validate.report import ValidationReport, write

    report = ValidationReport(mode="counts", tables=[], checks=table([]))
    target = write(report, tmp_path, name="../../escape")
    assert target.parent == tmp_path.resolve() and target.name.startswith("validation-")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
