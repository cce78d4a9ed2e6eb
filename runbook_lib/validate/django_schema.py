"""What Django's `migrate` creates on PostgreSQL, compared with the target (schema: django).

The project's own `sqlmigrate` output for every migration (one `manage.py shell` process,
nothing executed) names each table's column types, indexes (including PostgreSQL-only
`_like` pattern indexes) and constraints. A target missing one of them, or holding a column
of another type, is reported against the table.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..core import django_project
from .schema import Problem, canonical_types

ORM = """
import json
from django.apps import apps
models = {m.__name__: m for m in apps.get_models()}
product, measure = models.get("Product"), models.get("QualityMeasurement")
if product is not None and measure is not None:
    first = [f"{p.product_code}: {p.product_name}" for p in product.objects.order_by("pk")[:5]]
    print("RUNBOOK-ORM " + json.dumps({"Products: count()": product.objects.count(),
                                       "Measurements: count()": measure.objects.count(),
                                       "first": first}))
"""
SCRIPT = """
import io, json
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
loader = MigrationLoader(connection)
order = []
for leaf in sorted(loader.graph.leaf_nodes()):
    order += [k for k in loader.graph.forwards_plan(leaf) if k not in order]
texts, skipped = [], []
for app, name in order:
    buf = io.StringIO()
    try:  # some need the database as it was (a unique_together removed later): skip those
        call_command("sqlmigrate", app, name, stdout=buf, no_color=True)
    except Exception as exc:  # noqa: BLE001
        skipped.append("%s.%s: %s" % (app, name, str(exc).splitlines()[0][:200]))
        continue
    texts.append(buf.getvalue())
print("RUNBOOK-SQL " + json.dumps(texts))
print("RUNBOOK-SKIPPED " + json.dumps(skipped))
""" + ORM
Q = r'"([^"]+)"'
CREATE_TABLE = re.compile(rf"^CREATE TABLE {Q} \((.*)\);$")
COLUMN = re.compile(rf"^{Q} (.+?)(?= NOT NULL| NULL| PRIMARY| UNIQUE| CHECK| DEFAULT| "
                    r"GENERATED| REFERENCES|$)")
STATEMENTS = [
    ("index", re.compile(rf"^CREATE (?:UNIQUE )?INDEX (?:CONCURRENTLY )?{Q} ON {Q}")),
    ("constraint", re.compile(rf"^ALTER TABLE {Q} ADD CONSTRAINT {Q}")),
    ("drop_index", re.compile(rf"^DROP INDEX (?:IF EXISTS )?{Q}")),
    ("drop_constraint", re.compile(rf"^ALTER TABLE {Q} DROP CONSTRAINT {Q}")),
    ("rename_index", re.compile(rf"^ALTER INDEX {Q} RENAME TO {Q}")),
    ("column_type", re.compile(rf"^ALTER TABLE {Q} ALTER COLUMN {Q} TYPE (.+?)(?: USING .*)?;$")),
    ("add_column", re.compile(rf"^ALTER TABLE {Q} ADD COLUMN (.+?);$")),
    ("drop_table", re.compile(rf"^DROP TABLE {Q}")),
]


@dataclass
class DjangoSchema:
    """Per table: column → type, index names and constraint names Django creates."""

    types: dict[str, dict[str, str]] = field(default_factory=dict)
    indexes: dict[str, str] = field(default_factory=dict)  # name → table
    constraints: dict[str, str] = field(default_factory=dict)  # name → table


def recorded(record: dict) -> DjangoSchema:
    """The schema stage 03 read from the catalogue right after Django's migrate built it."""
    return DjangoSchema(types=record.get("types", {}), indexes=record.get("indexes", {}),
                        constraints=record.get("constraints", {}))


def ask_orm(settings, dbname: str | None = None) -> dict | None:
    """Only the guide's step-4 questions, asked of the project's ORM on the target."""
    done = django_project.manage(settings, "shell", "-c", ORM, dbname=dbname, timeout=300)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RUNBOOK-ORM ")), None)
    return json.loads(line.split(" ", 1)[1]) if line else None


def inspect(settings, dbname: str | None = None) -> tuple[list[str], dict | None]:
    """The project on the target, through its own Django: every migration's SQL, in order
    (nothing runs), and for an SPC project the guide's step 4 asked of the ORM. A migration
    whose SQL Django can only write against the database as it was then (one that drops a
    constraint a later one re-creates) is left out: `skipped(texts)` lists them."""
    done = django_project.manage(settings, "shell", "-c", SCRIPT, dbname=dbname, timeout=600)
    found = {x.split(" ", 1)[0]: json.loads(x.split(" ", 1)[1])
             for x in done.stdout.splitlines()
             if x.startswith(("RUNBOOK-SQL ", "RUNBOOK-ORM ", "RUNBOOK-SKIPPED "))}
    texts = SqlTexts(found["RUNBOOK-SQL"])
    texts.skipped = found.get("RUNBOOK-SKIPPED", [])
    return texts, found.get("RUNBOOK-ORM")


class SqlTexts(list):
    """The migrations' SQL texts, with the migrations whose SQL could not be written."""

    skipped: list[str] = []


def _columns(schema: DjangoSchema, table: str, body: str) -> None:
    for part in re.split(r', (?=")', body):
        if m := COLUMN.match(part):
            schema.types.setdefault(table, {})[m[1]] = m[2]


def _apply(schema: DjangoSchema, kind: str, m: re.Match) -> None:
    if kind == "index":
        schema.indexes[m[1]] = m[2]
    elif kind == "constraint":
        schema.constraints[m[2]] = m[1]
    elif kind == "drop_index":
        schema.indexes.pop(m[1], None)
    elif kind == "drop_constraint":
        schema.constraints.pop(m[2], None)
    elif kind == "rename_index" and m[1] in schema.indexes:
        schema.indexes[m[2]] = schema.indexes.pop(m[1])
    elif kind == "column_type":
        schema.types.setdefault(m[1], {})[m[2]] = m[3]
    elif kind == "add_column":
        _columns(schema, m[1], m[2])
    elif kind == "drop_table":
        schema.types.pop(m[1], None)


def parse(texts: list[str]) -> DjangoSchema:
    """Fold the statements of every migration into the schema they leave behind."""
    schema = DjangoSchema()
    for line in (x.strip() for text in texts for x in text.splitlines()):
        if m := CREATE_TABLE.match(line):
            _columns(schema, m[1], m[2])
            continue
        for kind, pattern in STATEMENTS:
            if m := pattern.match(line):
                _apply(schema, kind, m)
                break
    return schema


def compare(cur, where: str, schema: DjangoSchema, tables: set[str]) -> dict[str, list[Problem]]:
    """Problems per target table: Django's indexes/constraints missing, column types changed."""
    cur.execute("SELECT indexname::text FROM pg_indexes WHERE schemaname = %s", (where,))
    have_idx = {r[0] for r in cur.fetchall()}
    cur.execute("SELECT conname::text FROM pg_constraint c JOIN pg_namespace n ON "
                "n.oid = c.connamespace WHERE n.nspname = %s", (where,))
    have_con = {r[0] for r in cur.fetchall()} | have_idx
    out: dict[str, list[Problem]] = {}
    for name, table in schema.indexes.items():
        if table in tables and name not in have_idx:
            out.setdefault(table, []).append(("VA007", {
                "en": f"Django's index {name} missing", "ko": f"Django 인덱스 {name} 가 없습니다"}))
    for name, table in schema.constraints.items():
        if table in tables and name not in have_con:
            out.setdefault(table, []).append(("VA006", {
                "en": f"Django's constraint {name} missing",
                "ko": f"Django 제약 조건 {name} 이(가) 없습니다"}))
    for table, problems in _types(cur, where, schema, tables).items():
        out.setdefault(table, []).extend(problems)
    return out


def _types(cur, where: str, schema: DjangoSchema, tables: set[str]) -> dict:
    cur.execute("SELECT table_name::text, column_name::text, format_type(a.atttypid, "
                "a.atttypmod) FROM information_schema.columns c JOIN pg_attribute a ON "
                "a.attrelid = format('%%I.%%I', c.table_schema, c.table_name)::regclass AND "
                "a.attname = c.column_name WHERE c.table_schema = %s", (where,))
    actual = {(t, c): ty for t, c, ty in cur.fetchall()}
    wanted = {(t, c): ty for t, cols in schema.types.items() if t in tables
              for c, ty in cols.items()}
    canon = canonical_types(cur, set(wanted.values()) | set(actual.values()))
    out: dict[str, list[Problem]] = {}
    for (table, col), want in wanted.items():
        have = actual.get((table, col))
        if have is not None and canon.get(have) != canon.get(want):
            out.setdefault(table, []).append(("VA008", {
                "en": f"column {col} is {have}; Django's migrations make it {want}",
                "ko": f"열 {col} 의 타입이 {have} 입니다 (Django 마이그레이션: {want})"}))
    return out


__all__ = ["inspect", "parse", "compare", "DjangoSchema", "recorded", "ask_orm"]
