"""Verdicts: each table's accounting (quarantined and nulled rows expected) and the checks.

Turns what `validate.validate_table` found into the table's verdict (ok / mismatch / missing),
adds what differs from Django's own migrations, and sums everything up as the stage's checks
VA001-VA011.
"""

from __future__ import annotations

import csv

from ..core import files
from ..core.errors import RunbookError
from ..core.i18n import t
from ..core.results import Check
from . import django_schema
from .report import TEXT, TableVerdict
from .schema import qualified
from .stream import TableSpec

CHECKS = {  # id: (name, hint)
    "VA001": ("tables present", "Re-run 03_migrate; a table that is missing was never created."),
    "VA002": ("row counts", "Re-run 03_migrate with if_exists: replace; see the missing rows."),
    "VA003": ("content identical", "The samples show source and target side by side; re-run "
              "03_migrate (method: copy) so values keep their exact type."),
    "VA004": ("sequences past max(id)", "Run SELECT setval(seq, max(id)) per table, or re-run "
              "03_migrate, which sets them after the load."),
    "VA005": ("no orphaned foreign keys", "Load the parent rows, or fix the child rows, then "
              "VALIDATE the constraint."),
    "VA006": ("keys, UNIQUE, NOT NULL, FKs", "Re-run 03_migrate; the schema plan creates them."),
    "VA007": ("indexes", "Create the missing index (see 03_migrate's DDL preview)."),
    "VA008": ("column types", "A column was created with another type than planned; re-run "
              "03_migrate with schema: django or check type_overrides."),
    "VA009": ("quarantined rows", "Read the quarantine folder; fix the values and load them."),
    "VA010": ("guide step 4 (Product, QualityMeasurement)", "See the table of the guide's checks."),
    "VA011": ("schema of Django's migrate", "Check django_project and django_settings; "
              "`manage.py sqlmigrate` must run for the comparison."),
    "VA012": ("derived data (search indexes)", "Run the rebuild command shown once the "
              "application uses PostgreSQL; the search index is then complete."),
}


def _note(v: TableVerdict, key: str, first: bool = False, **values) -> None:
    text = {lang: s.format(**values) for lang, s in TEXT[key].items()}
    v.notes.insert(0 if first else len(v.notes), text)


def quarantined_keys(folder: str, entry: dict, spec: TableSpec) -> set[tuple]:
    """Primary keys of the rows stage 03 set aside, read from the file the manifest names
    for the table (`quarantine_file`; a name that would leave the folder is refused)."""
    name = entry.get("quarantine_file") or ""
    if not folder or not name or not spec.key:
        return set()
    file = files.inside(folder, name)
    if not file.is_file() or file.is_symlink():
        return set()
    with files.open_nofollow(file, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        names = [c.source_name for c in spec.columns[:spec.key]]
        offset = 1 if header[:1] == [files.QUARANTINE_TABLE] else 0  # the real table name
        header = header[offset:]
        if not set(names) <= set(header):
            return set()
        at = [header.index(n) + offset for n in names]
        ints = [c.klass == "int" for c in spec.columns[:spec.key]]
        return {tuple(int(r[i]) if n and r[i].lstrip("-").isdigit() else r[i]
                      for i, n in zip(at, ints, strict=True)) for r in reader}


def label_quarantined(v: TableVerdict, folder: str, spec: TableSpec, entry: dict) -> None:
    """Sample rows missing because stage 03 quarantined them say so."""
    keys = quarantined_keys(folder, entry, spec)
    names = spec.names[:spec.key]
    for i, row in v.samples.iterrows():
        if row["difference"] == "missing" and tuple(row[n] for n in names) in keys:
            v.samples.loc[i, "difference"] = "quarantined"


def account(v: TableVerdict, mode: str, quarantine_dir: str, policy: str) -> None:
    """Set the verdict; quarantined (or nulled) rows count as expected differences, named."""
    q = v.quarantined
    if q:
        _note(v, "quarantined", n=q, where=quarantine_dir or "-")
    nulled = v.nulled if policy == "null" else 0
    if nulled:
        _note(v, "nulled", n=nulled)
    explained = v.extra == 0 and v.missing + v.changed - nulled <= q
    v.content_ok = explained
    counted = v.source_rows is not None and v.target_rows is not None and (
        v.source_rows - q <= v.target_rows <= v.source_rows)
    if mode == "full" and not v.problems and explained and counted and not (q or nulled):
        _note(v, "ok", True, rows=v.source_rows)
    elif mode == "counts" and counted:
        _note(v, "counted", True, rows=v.target_rows)
    elif mode == "sample" and explained:
        _note(v, "sampled", True, compared=v.compared)
    if not counted:
        _note(v, "counts", True, source=v.source_rows, target=v.target_rows)
    v.verdict = "ok" if explained and counted and not v.problems else "mismatch"


def derived(ctx: dict, entry: dict) -> TableVerdict:
    """A table of derived data (stage 03 did not copy it): reported as such, with the command
    that rebuilds it, and the rows PostgreSQL holds now."""
    v = TableVerdict(entry["table"], entry["source_table"], verdict="derived",
                     source_rows=entry.get("source_rows"))
    if entry["table"] in ctx["present"]:
        ctx["cur"].execute(f"SELECT count(*) FROM {qualified(ctx['schema'], entry['table'])}")
        v.target_rows = ctx["cur"].fetchone()[0]
    _note(v, "derived", source=v.source_rows, command=entry.get("rebuild", ""))
    return v


def django_inspection(settings, migration: dict, dbname: str | None):
    """(migration SQL, ORM answers) from the project's own Django, or a Check saying why not."""
    strategy = migration.get("schema") or settings.schema
    if strategy != "django" or not settings.django_project:
        return Check("VA011", CHECKS["VA011"][0], "skip", f"schema: {strategy}")
    try:
        if migration.get("django_schema"):  # what migrate built, recorded by stage 03
            return (django_schema.recorded(migration["django_schema"]),
                    django_schema.ask_orm(settings, dbname))
        return django_schema.inspect(settings, dbname)  # else: replay every migration's SQL
    except RunbookError as exc:
        return Check("VA011", CHECKS["VA011"][0], "warn", f"not compared: {exc.message[:300]}",
                     CHECKS["VA011"][1])


def django_problems(inspection, cur, where: str, verdicts: list[TableVerdict]):
    """Add what differs from Django's migrate to the table verdicts; (check, ORM answers)."""
    if isinstance(inspection, Check):
        return inspection, None
    texts, orm = inspection
    recorded = isinstance(texts, django_schema.DjangoSchema)
    schema = texts if recorded else django_schema.parse(texts)
    found = django_schema.compare(cur, where, schema,
                                  {v.table for v in verdicts if v.verdict != "missing"})
    for v in verdicts:
        if found.get(v.table):
            v.problems += found[v.table]
            v.verdict = "mismatch"
    count = sum(len(p) for p in found.values())
    skipped = getattr(texts, "skipped", [])
    left = (f"; {len(skipped)} left out (their SQL depends on the database as it was): "
            f"{', '.join(x.split(':')[0] for x in skipped[:5])}" if skipped else "")
    what = ("the schema Django's migrate built in stage 03 (read from the catalogue then)"
            if recorded else f"{len(texts)} migrations compared")
    return Check("VA011", CHECKS["VA011"][0], "fail" if count else "ok",
                 f"{what}; {count} difference(s){left}",
                 "See VA006-VA008." if count else ""), orm


def summarise(verdicts: list[TableVerdict], guide, mode: str, language: str) -> list[Check]:
    """The stage's checks VA001-VA010 from the per-table verdicts."""
    problems = {i: [f"{v.table}: {t(text, language)}" for v in verdicts
                    for pid, text in v.problems if pid == i] for i in CHECKS}
    problems["VA001"] = [v.table for v in verdicts if v.verdict == "missing"]
    copied = [v for v in verdicts if v.verdict not in ("missing", "derived")]
    problems["VA002"] = [v.table for v in copied if not
                         (v.source_rows - v.quarantined <= v.target_rows <= v.source_rows)]
    problems["VA003"] = [f"{v.table}: {v.missing + v.changed + v.extra}" for v in copied
                         if not v.content_ok]
    out = []
    for cid, (name, hint) in CHECKS.items():
        if cid == "VA011":
            continue  # from django_problems
        found = problems[cid]
        status, message = ("fail", "; ".join(found[:10])) if found else ("ok", "ok")
        if cid == "VA003" and mode == "counts":
            status, message = "skip", "validate_mode: counts"
        elif cid == "VA012":
            held = [f"{v.table}: {t(v.notes[0], language)}" for v in verdicts
                    if v.verdict == "derived"]
            status, message = ("warn", "; ".join(held)) if held else ("ok", "none")
        elif cid == "VA009":
            held = [f"{v.table}: {v.quarantined}" for v in verdicts if v.quarantined]
            status, message = ("warn", "; ".join(held)) if held else ("ok", "none")
        elif cid == "VA010":
            if guide is None:
                status, message = "skip", "no SPC Product table"
            else:
                bad = guide[guide.status != "ok"]
                status = "fail" if len(bad) else "ok"
                message = "; ".join(bad.check) if len(bad) else f"{len(guide)} checks identical"
        out.append(Check(cid, name, status, message, hint if status == "fail" else "",
                         {"problems": found}))
    return out


__all__ = ["CHECKS", "account", "label_quarantined", "quarantined_keys", "summarise",
           "django_inspection", "django_problems"]
