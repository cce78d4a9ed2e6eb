"""Validation (stage 04): proof that nothing was lost between the SQLite snapshot and the target.

For every migrated table: row counts, full content through canonical values compared row by
row in key order (`rows`), the planned keys / NOT NULL / indexes / types / foreign
keys (`schema`), sequences that would not collide, orphaned foreign keys, the
migration's quarantined rows accounted as expected differences, and for an SPC project the
guide's step 4. `run(settings)` returns a `ValidationReport`, writes `validation.json` and the
manifest's `validation` section, and in batch runs raises `ValidationFailed` on any mismatch.
It holds the target's advisory lock shared (`core.target_lock`): a migration running on the
same database stops it with a message naming that run; VA013 says whether the live source
has moved on since the snapshot that was proven.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

from tqdm.auto import tqdm

from ..core import db, manifest, target_lock
from ..core.errors import ConfigError, SourceError, ValidationFailed
from ..core.identifiers import quote_ident
from ..core.results import batch_mode, table
from . import rows, schema, stream, values, verdicts
from .guide import step4
from .report import TableVerdict, ValidationReport
from .report import write as write_report
from .verdicts import CHECKS

MODES = ("full", "sample", "counts")
def _snapshot(settings, migration: dict) -> Path:
    path = Path(migration.get("snapshot") or settings.sqlite_file)
    if not path.is_file():
        raise SourceError(f"The source snapshot {path} does not exist.",
                          "Run 03_migrate first (it records the snapshot in the run's manifest),"
                          " or set sqlite_path to the SQLite file.")
    return path


def entries_from_snapshot(src: sqlite3.Connection) -> list[dict]:
    """Tables to compare when no migration was recorded: every table, same names."""
    names = [r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                       "name NOT LIKE 'sqlite_%' ORDER BY name")]
    out = []
    for name in names:
        info = schema.source_columns(src, name)
        out.append({"table": name, "source_table": name, "quarantined": 0,
                    "columns": [{"name": r[1], "source_name": r[1]} for r in info],
                    "primary_key": [r[1] for r in sorted((r for r in info if r[5]),
                                                         key=lambda r: r[5])]})
    return out


def plan_summary(settings):
    """What stage 03 recorded (snapshot, tables, counts) as a DataFrame; empty if nothing."""
    import pandas as pd

    migration = manifest.read(settings.run_dir).get("migration") or {}
    cols = ["table", "source_table", "source_rows", "loaded_rows", "quarantined"]
    return pd.DataFrame([{k: e.get(k) for k in cols} for e in migration.get("tables") or []],
                        columns=cols)


def _names(src: sqlite3.Connection, entries: list[dict]) -> dict:
    out = {}
    for e in entries:
        cols = {c.get("source_name", c["name"]): c["name"] for c in e.get("columns") or []}
        if not cols:
            cols = {r[1]: r[1] for r in schema.source_columns(src, e["source_table"])}
            e["columns"] = [{"name": v, "source_name": k} for k, v in cols.items()]
        out[e["source_table"]] = (e["table"], cols)
    return out


def spec_for(entry: dict, p: schema.Plan, actual: dict, where: str, zone: str,
             fraction: float) -> rows.TableSpec:
    """Compared columns, primary key first, each read as its target type."""
    cols = [rows.Column(c["name"], c.get("source_name", c["name"]), values.field_class(
                values.type_class(actual["columns"][c["name"]][0]), c.get("field")))
            for c in entry["columns"] if c["name"] in actual["columns"]]
    key = [c for name in p.primary_key for c in cols if c.name == name]
    if len(key) != len(p.primary_key):
        key = []
    rest = [c for c in cols if c not in key]
    return rows.TableSpec(entry["table"], entry["source_table"], where, len(key),
                          tuple(key + rest), zone, fraction)


def _count(src, cur, where: str, entry: dict) -> tuple[int, int]:
    n = src.execute(f"SELECT count(*) FROM {quote_ident(entry['source_table'])}").fetchone()[0]
    cur.execute(f"SELECT count(*) FROM {schema.qualified(where, entry['table'])}")
    return n, cur.fetchone()[0]


def _shown(value):
    """A float as its exact repr (pandas would round 297.85000000001 to 297.85)."""
    return repr(value) if isinstance(value, float) else value


def _samples(src, cur, spec: rows.TableSpec, diff: rows.RowDiff):
    """Differing rows side by side (source | target), primary key first; None if none."""
    import pandas as pd

    if not diff.samples:
        return None
    names = spec.names
    if spec.key == 0:
        return pd.DataFrame([{"difference": kind, **dict(zip(names, row, strict=True))}
                             for kind, row in diff.samples])
    keys, shown = names[:spec.key], list(diff.changed_columns) or names[spec.key:]
    key_cols = spec.columns[:spec.key]
    lookable = all(c.klass in KEY_LOOKUP for c in key_cols)
    src_where = " AND ".join(KEY_LOOKUP.get(c.klass, ("", ""))[0].format(
        c=quote_ident(c.source_name)) for c in key_cols)
    tgt_where = " AND ".join(KEY_LOOKUP.get(c.klass, ("", ""))[1].format(
        c=quote_ident(c.name)) for c in key_cols)
    src_cols = ", ".join(quote_ident(c.source_name) for c in spec.columns)
    tgt_cols = ", ".join(quote_ident(n) for n in names)
    out = []
    for kind, key in diff.samples:
        left = right = None
        shown_key = [_key_text(c.klass, k) for c, k in zip(key_cols, key, strict=True)]
        if lookable and not any(isinstance(k, tuple) for k in key):
            params = [_key_param(c.klass, k) for c, k in zip(key_cols, key, strict=True)]
            left = src.execute(f"SELECT {src_cols} FROM {quote_ident(spec.source_table)} "
                               f"WHERE {src_where}", params).fetchone()
            cur.execute(f"SELECT {tgt_cols} FROM {schema.qualified(spec.schema, spec.table)} "
                        f"WHERE {tgt_where}", params)
            right = cur.fetchone()
        row = {**dict(zip(keys, shown_key, strict=True)), "difference": kind}
        for name in shown:
            i = names.index(name)
            row[f"{name} (source)"] = _shown(left[i]) if left else None
            row[f"{name} (target)"] = _shown(right[i]) if right else None
        out.append(row)
    return pd.DataFrame(out)


# key class → (SQLite condition, PostgreSQL condition) finding a row by its canonical key
KEY_LOOKUP = {"int": ("{c} = ?", "{c} = %s"), "text": ("{c} = ?", "{c} = %s"),
              "other": ("{c} = ?", "{c}::text = %s"),
              "uuid": ("lower(replace({c}, '-', '')) = ?", "{c} = %s::uuid")}


def _key_param(klass: str, key):
    """A canonical key value as the lookup's parameter (a UUID's 128-bit int as its hex)."""
    return f"{key:032x}" if klass == "uuid" and isinstance(key, int) else key


def _key_text(klass: str, key):
    return str(uuid.UUID(int=key)) if klass == "uuid" and isinstance(key, int) else key


def validate_table(ctx: dict, entry: dict) -> TableVerdict:
    """Every check of one table."""
    src, cur, where = ctx["src"], ctx["cur"], ctx["schema"]
    v = TableVerdict(entry["table"], entry["source_table"],
                     quarantined=int(entry.get("quarantined") or 0))
    if entry["table"] not in ctx["present"]:
        v.verdict = "missing"
        v.source_rows = src.execute(
            f"SELECT count(*) FROM {quote_ident(entry['source_table'])}").fetchone()[0]
        return v
    actual = schema.target_structure(cur, where, entry["table"])
    p = schema.plan(src, entry, ctx["names"])
    v.problems += schema.check_columns(p, actual, ctx["types"]) + schema.check_keys(p, actual)
    mode = ctx["mode"]
    fraction = ctx["fraction"] if mode == "sample" else 1.0
    spec = spec_for(entry, p, actual, where, ctx["zone"], fraction)
    v.source_rows, v.target_rows = _count(src, cur, where, entry)
    if mode != "counts":
        diff = rows.compare(ctx["snapshot"], ctx["kwargs"], spec, v.source_rows, ctx["limit"])
        v.compared = diff.source_rows
        v.missing, v.extra, v.changed = diff.missing, diff.extra, diff.changed
        v.nulled = diff.nulled
        v.changed_columns = dict(diff.changed_columns.most_common())
        v.samples = _samples(src, cur, spec, diff)
    v.problems += schema.check_sequences(cur, where, entry["table"],
                                         schema.sqlite_sequence(src, entry["source_table"]))
    v.problems += schema.check_orphans(cur, where, p, actual)
    verdicts.account(v, mode, ctx["quarantine_dir"], ctx["policy"])
    if v.quarantined and v.samples is not None:
        verdicts.label_quarantined(v, ctx["quarantine_dir"], spec, entry)
    return v


def _context(settings, migration: dict, snapshot: Path, src, cur, dbname: str | None,
             mode: str) -> dict:
    """Everything validate_table needs, read once."""
    cur.execute("SELECT current_schema(), current_database()")
    where, database = cur.fetchone()
    entries = [dict(e) for e in migration.get("tables") or entries_from_snapshot(src)]
    names = _names(src, entries)
    present = schema.target_tables(cur, where)
    spellings = {c.get("target_type", "") for e in entries for c in e["columns"]}
    spellings |= {r[0] for e in entries if e["table"] in present
                  for r in schema.target_structure(cur, where, e["table"])["columns"].values()}
    return {"src": src, "cur": cur, "schema": where, "database": database, "entries": entries,
            "present": present, "names": names, "mode": mode,
            "types": schema.canonical_types(cur, spellings),
            "fraction": settings.sample_fraction, "snapshot": str(snapshot),
            "kwargs": db.connect_kwargs(settings, dbname=dbname),
            "zone": migration.get("source_timezone") or settings.source_timezone or "UTC",
            "limit": settings.diff_samples, "policy": settings.on_bad_value,
            "quarantine_dir": migration.get("quarantine_dir")}


def run(settings, dbname: str | None = None, mode: str | None = None) -> ValidationReport:
    """Validate the target database (or `dbname`) against the migration's SQLite snapshot."""
    mode = mode or settings.validate_mode
    if mode not in MODES:
        raise ConfigError(f"validate_mode {mode!r} is not one of {MODES}.",
                          "Set validate_mode to full, sample or counts.")
    started = time.perf_counter()
    migration = manifest.read(settings.run_dir).get("migration") or {}
    snapshot = _snapshot(settings, migration)
    lock = target_lock.TargetLock(settings, Path(settings.run_dir).name, "validation",
                                  shared=True, dbname=dbname)  # never beside a migration
    with lock, ThreadPoolExecutor(1) as pool, closing(stream.open_source(str(snapshot))) as src, \
            db.connection(settings, dbname=dbname) as conn:
        django = pool.submit(verdicts.django_inspection, settings, migration, dbname)  # overlaps
        conn.set_session(readonly=True)
        ctx = _context(settings, migration, snapshot, src, conn.cursor(), dbname, mode)
        entries = ctx["entries"]
        found = [validate_table(ctx, e) for e in tqdm(entries, desc="validate", unit="table",
                                                      disable=len(entries) < 2
                                                      or batch_mode())]
        found += [verdicts.derived(ctx, d) for d in migration.get("derived") or []]
        va011, orm = verdicts.django_problems(django.result(), ctx["cur"], ctx["schema"], found,
                                              settings.language)
        guide = step4(src, ctx["cur"], ctx["schema"], entries, ctx["present"],
                                     orm)
    checks = verdicts.summarise(found, guide, mode, settings.language) + [
        va011, verdicts.source_check(settings, migration, snapshot)]
    report = ValidationReport(mode, found, table(checks), guide,
                              time.perf_counter() - started, settings.language, ctx["database"])
    write_report(report, settings.run_dir,
                          "" if dbname in (None, settings.db_name) else dbname)
    if batch_mode() and not report.ok:
        raise failure(report)
    return report


def failure(report: ValidationReport) -> ValidationFailed:
    """The error a failed validation raises in batch runs (it carries the report)."""
    shown = next((v for v in report.failed if v.samples is not None), None)
    rows_text = "" if shown is None else (
        f"\nFirst differing rows of {shown.table} (source vs target):\n"
        + shown.samples.head(3).to_string(index=False, max_colwidth=40))
    exc = ValidationFailed(f"Validation found differences: {report.summary()}{rows_text}",
                           "Open 04_validate's sample tables (source vs target side by side) "
                           "and validation.json; fix the cause and re-run 03_migrate and 04.")
    exc.report = report
    return exc


__all__ = ["run", "plan_summary", "MODES", "CHECKS", "failure", "ValidationReport", "TableVerdict"]
