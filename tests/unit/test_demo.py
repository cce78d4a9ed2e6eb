"""The sample SPC database: built through the project's own migrate, realistic and consistent."""

from __future__ import annotations

import json
import re
import sqlite3
from types import SimpleNamespace

import pytest

from runbook_lib.app import cli
from runbook_lib.core.config import load_settings
from runbook_lib.core.errors import SourceError
from runbook_lib.prepare import demo

ROWS = 3000
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "db.sqlite3"
    info = demo.build(path, rows=ROWS, seed=7)
    return path, info


def query(path, sql: str) -> list:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def scalar(path, sql: str):
    return query(path, sql)[0][0]


def test_counts(built):
    path, info = built
    assert info["rows"] == ROWS and info["products"] == 20 and info["bytes"] > 0
    assert scalar(path, "SELECT count(*) FROM spc_qualitymeasurement") == ROWS
    assert scalar(path, "SELECT count(*) FROM spc_product") == 20
    assert scalar(path, "SELECT seq FROM sqlite_sequence WHERE name='spc_qualitymeasurement'") == ROWS
    assert not list(path.parent.glob(".*building*")), "temp file left behind"


def test_users_admin_unusable_password(built):
    path, _ = built
    users = dict(query(path, "SELECT username, password FROM auth_user"))
    assert set(users) == {"admin", "operator1", "analyst"}
    assert all(p.startswith("!") and len(p) > 20 for p in users.values())
    assert scalar(path, "SELECT is_superuser FROM auth_user WHERE username='admin'") == 1


def test_every_measurement_has_its_product(built):
    path, _ = built
    orphans = scalar(path, "SELECT count(*) FROM spc_qualitymeasurement m "
                           "LEFT JOIN spc_product p ON p.id = m.product_id WHERE p.id IS NULL")
    assert orphans == 0
    assert query(path, "PRAGMA foreign_key_check") == []
    assert scalar(path, "PRAGMA integrity_check") == "ok"


def test_out_of_spec_flags_match_limits(built):
    path, _ = built
    wrong = scalar(path, "SELECT count(*) FROM spc_qualitymeasurement m JOIN spc_product p "
                         "ON p.id = m.product_id WHERE m.is_out_of_spec != "
                         "(m.value > p.usl OR m.value < p.lsl)")
    assert wrong == 0
    share = scalar(path, "SELECT avg(is_out_of_spec) FROM spc_qualitymeasurement")
    assert 0.003 < share < 0.05
    assert scalar(path, "SELECT count(*) FROM spc_product WHERE NOT (lsl < target AND "
                        "target < usl)") == 0


def test_sample_groups_of_five(built):
    path, _ = built
    sizes = {n for (n,) in query(path, "SELECT count(*) FROM spc_qualitymeasurement "
                                        "GROUP BY product_id, sample_group")}
    assert sizes == {5}


def test_timestamps_as_django_writes_them(built):
    path, _ = built
    stamps = [s for (s,) in query(path, "SELECT measured_at FROM spc_qualitymeasurement")]
    stamps += [s for row in query(path, "SELECT created_at, updated_at FROM spc_product")
               for s in row]
    assert all(STAMP.match(s) for s in stamps)
    assert all(not s.endswith(".000000") for s in stamps)
    assert sum(s[-3:] != "000" for s in stamps) > len(stamps) * 0.9  # below-millisecond detail


def test_varied_text_notes_and_json(built):
    path, _ = built
    notes = [n for (n,) in query(path, "SELECT DISTINCT note FROM spc_qualitymeasurement")]
    assert "" in notes and any("\n" in n for n in notes)
    assert any(re.search("[가-힣]", n) for n in notes)
    assert scalar(path, "SELECT count(*) FROM spc_qualitymeasurement WHERE extra IS NOT NULL "
                        "AND json_valid(extra)") > 0
    names = [n for (n,) in query(path, "SELECT product_name FROM spc_product")]
    assert any(re.search("[가-힣]", n) for n in names) and any(n.isascii() for n in names)


def test_final_file_in_normal_journal_mode(built):
    path, _ = built
    assert scalar(path, "PRAGMA journal_mode") == "delete"


def test_django_check_and_migrations_clean(built):
    path, _ = built
    assert "no issues" in demo.manage(path, "check").stdout
    shown = demo.manage(path, "showmigrations").stdout
    assert "[X]" in shown and "[ ]" not in shown
    demo.manage(path, "makemigrations", "--check", "--dry-run")


def test_deterministic_for_a_seed(built, tmp_path):
    path, _ = built
    again = tmp_path / "again.sqlite3"
    demo.build(again, rows=ROWS, seed=7)
    for table in ("spc_product", "spc_qualitymeasurement", "auth_user"):
        sql = f"SELECT * FROM {table} ORDER BY id"
        assert query(path, sql) == query(again, sql)


def test_refuses_to_overwrite(tmp_path):
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"keep me")
    with pytest.raises(demo.DemoExists, match="already exists") as info:
        demo.build(path, rows=10)
    assert "force" in info.value.hint
    assert path.read_bytes() == b"keep me"
    demo.build(path, rows=10, force=True)
    assert scalar(path, "SELECT count(*) FROM spc_qualitymeasurement") == 10


def test_ensure_sample_missing_other_path(tmp_path):
    missing = tmp_path / "nowhere" / "app.sqlite3"
    settings = load_settings(target="server", django_project="", sqlite_path=str(missing),
                             run_dir=str(tmp_path / "run"))
    with pytest.raises(SourceError) as info:
        demo.ensure_sample(settings)
    assert str(missing) in info.value.message and "sqlite_path" in info.value.hint
    assert not missing.exists()


def test_ensure_sample_builds_the_sample(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path))
    sample = tmp_path / "examples" / "spc_backend" / "db.sqlite3"
    settings = SimpleNamespace(sqlite_file=sample, demo_rows=200)
    assert demo.ensure_sample(settings) == sample
    assert scalar(sample, "SELECT count(*) FROM spc_qualitymeasurement") == 200
    before = sample.stat().st_mtime_ns
    assert demo.ensure_sample(settings) == sample and sample.stat().st_mtime_ns == before


def test_cli_builds_and_refuses(tmp_path, capsys):
    out = tmp_path / "cli.sqlite3"
    assert cli.main(["demo-data", "--rows", "250", "--out", str(out), "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "rows: 250" in printed and "products: 20" in printed and "MB" in printed
    assert cli.main(["demo-data", "--rows", "250", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert cli.main(["demo-data", "--rows", "100", "--out", str(out), "--force"]) == 0


ORM_PROBE = """
import json
from django.db import connection
from django.utils import timezone
from apps.spc.models import Product, QualityMeasurement
p = Product.objects.order_by('id').first()
m = QualityMeasurement.objects.exclude(extra=None).order_by('id').first()
new = QualityMeasurement.objects.create(product=p, sample_group=999, value=1.5,
                                        measured_at=timezone.now(), operator='orm')
p2 = Product.objects.create(product_code='ORM-1', product_name='orm', usl=2, lsl=1, target=1.5,
                            unit='mm', unit_cost='12.34')
with connection.cursor() as c:
    c.execute('select cast(measured_at as text), typeof(extra) from spc_qualitymeasurement '
              'where id in (%s, %s) order by id', [m.id, new.id])
    rows = c.fetchall()
    c.execute('select typeof(unit_cost), cast(created_at as text) from spc_product '
              'where id in (%s, %s) and unit_cost is not null order by id', [p.id, p2.id])
    rows += c.fetchall()
guide = [f'{x.product_code}: {x.product_name}' for x in Product.objects.all()[:5]]
print(json.dumps({'tz': str(m.measured_at.tzinfo), 'extra': type(m.extra).__name__,
                  'cost': str(p.unit_cost), 'rows': rows, 'guide': guide}))
"""


def test_django_orm_reads_it_and_writes_the_same_formats(built, tmp_path):
    path, _ = built
    copy = tmp_path / "orm.sqlite3"
    copy.write_bytes(path.read_bytes())
    out = json.loads(demo.manage(copy, "shell", "-c", ORM_PROBE).stdout.strip().splitlines()[-1])
    assert out["tz"] == "UTC" and out["extra"] == "dict" and out["cost"]
    ours, django_written, *costs = out["rows"]
    assert STAMP.match(ours[0]) and STAMP.match(django_written[0])
    assert ours[1] == "text" and django_written[1] == "null"
    assert costs[0][0] == costs[1][0] == "real"  # NUMERIC affinity, as Django's own writes
    assert all(STAMP.match(row[1]) for row in costs)
    assert len(out["guide"]) == 5 and all(":" in line for line in out["guide"])


def test_killed_build_leaves_no_half_database(tmp_path):
    path = tmp_path / "db.sqlite3"
    stale = tmp_path / ".db.sqlite3.building-999999999"  # a build killed mid-way
    stale.write_bytes(b"half a database")
    demo.build(path, rows=5)
    assert path.is_file() and not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db.sqlite3"]


def test_near_miss_of_the_sample_path_is_an_error_not_a_new_sample(tmp_path, monkeypatch):
    """`db.sqlite` (the 3 missing) next to the sample: the closest file is named, nothing is
    built; the hint, applied, works."""
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path))
    folder = tmp_path / "examples" / "spc_backend"
    folder.mkdir(parents=True)
    real = folder / "db.sqlite3"
    sqlite3.connect(real).execute("CREATE TABLE t (id INTEGER)").connection.close()
    before = sorted(p.name for p in folder.iterdir())
    typo = load_settings(target="server", django_project="", run_dir=str(tmp_path / "run"),
                         sqlite_path="examples/spc_backend/db.sqlite")
    assert not demo.is_sample_path(typo.sqlite_file) and demo.is_sample_path(real)
    with pytest.raises(SourceError) as info:
        demo.ensure_sample(typo)
    assert str(typo.sqlite_file) in info.value.message and str(real) in info.value.message
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written
    fix = info.value.hint.split("set sqlite_path: ", 1)[1].split(" ", 1)[0]
    fixed = load_settings(target="server", django_project="", run_dir=str(tmp_path / "run"),
                          sqlite_path=fix)
    assert demo.ensure_sample(fixed) == real


def test_missing_path_without_a_near_file_points_at_the_sample(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path))
    settings = load_settings(target="server", django_project="", run_dir=str(tmp_path / "run"),
                             sqlite_path=str(tmp_path / "data" / "zzz.bin"))
    with pytest.raises(SourceError) as info:
        demo.check_source(settings)
    assert "no file with a similar name" in info.value.message
    assert demo.SAMPLE_DB in info.value.hint and not (tmp_path / "data").exists()
