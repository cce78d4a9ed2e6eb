"""What a catch-up sync needs from the migration: the recorded plan, the same values, staging.

`table_plans` rebuilds the migration's table plans from a new snapshot and the manifest's
record (target names, Django fields, the target's column types as they are now);
`schema_changes` lists what differs between the two (a table or column added, removed or
retyped), which a sync cannot carry. `sync_filter` is the copy's `on_bad_value` handling for rows
nobody profiled yet (every validity predicate applied, as the profile's filter would for a bad
value); `bad_rows` lists them under `fail`. `stage_rows` streams chosen source rows through the
copy's own SELECT and COPY-text encoder into a table in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.identifiers import quote_ident
from . import profile as profiles
from . import transfer
from .postload import set_sequences
from .schema import ColumnPlan, Plan, TablePlan
from .source import SourceSchema, introspect

__all__ = ["table_plans", "schema_changes", "SchemaChange", "sync_filter", "bad_rows", "stage_rows",
           "move_sequences", "snapshot_schema", "quarantine"]

q = quote_ident


@dataclass
class SchemaChange:
    """One difference between the migrated schema and the new snapshot's."""

    table: str
    what: str  # "table added", "table removed", "column added", "column removed", "type", "key"
    detail: str = ""


def _recorded(entry: dict) -> dict[str, str]:
    return {c.get("source_name", c["name"]): c.get("source_type", "") for c in entry["columns"]}


def snapshot_schema(path, section: dict) -> SourceSchema:
    """A snapshot's schema read as the migration read its own: with `schema: django` virtual
    and shadow tables (a search index's) are left to Django's reconciliation, not copied."""
    return introspect(path, plain=section.get("schema") == "sqlite")


def schema_changes(section: dict, schema: SourceSchema) -> list[SchemaChange]:
    """What the new snapshot's schema has that the migration did not copy (or lost). Tables
    the migration recorded as derived (a search index, statistics: rebuilt by a command, never
    copied) are no change."""
    recorded = {e["source_table"]: e for e in section.get("tables") or []}
    derived = {d.get("source_table") or d.get("table") for d in section.get("derived") or []}
    now = {t.name: t for t in schema.tables if t.name not in derived}
    out = [SchemaChange(n, "table added") for n in sorted(now.keys() - recorded.keys())]
    out += [SchemaChange(n, "table removed") for n in sorted(recorded.keys() - now.keys())]
    for name in sorted(recorded.keys() & now.keys()):
        before = _recorded(recorded[name])
        after = {c.name: c.declared_type for c in now[name].columns}
        out += [SchemaChange(name, "column added", c) for c in after if c not in before]
        out += [SchemaChange(name, "column removed", c) for c in before if c not in after]
        out += [SchemaChange(name, "type", f"{c}: {before[c]} → {after[c]}") for c in after
                if c in before and before[c] and before[c] != after[c]]
        keys = [k for k in now[name].primary_key]
        recorded_keys = [_source_of(recorded[name], k) for k in
                         recorded[name].get("primary_key") or []]
        if keys != recorded_keys:
            out.append(SchemaChange(name, "key", f"{recorded_keys} → {keys}"))
    return out


def _source_of(entry: dict, target_name: str) -> str:
    return next((c.get("source_name", c["name"]) for c in entry["columns"]
                 if c["name"] == target_name), target_name)


def table_plans(section: dict, schema: SourceSchema, types: dict[str, dict[str, str]]) -> Plan:
    """The migration's plan for the tables it copied, in its load order: names and Django
    fields as recorded, the target's column types as they are now (`types`: table → column
    → type), the source's NOT NULL, key and sqlite_sequence from the new snapshot."""
    tables = []
    for entry in section.get("tables") or []:
        table = schema.table(entry["source_table"])
        alias = table.rowid_alias
        have = types.get(entry["table"], {})
        cols = []
        for c in entry["columns"]:
            src = c.get("source_name", c["name"])
            col = table.column(src)
            cols.append(ColumnPlan(c["name"], src, col.declared_type,
                                   have.get(c["name"], c.get("target_type", "text")), "recorded",
                                   col.notnull or src in table.primary_key,
                                   identity=src == alias, field=c.get("field")))
        tables.append(TablePlan(table, entry["table"], cols, list(entry.get("primary_key") or [])))
    names = [tp.name for tp in tables]
    return Plan(tables, [], [], names, [])


def sync_filter(tp: TablePlan, policy: str) -> profiles.TableFilter:
    """The load filter of `on_bad_value` for rows not profiled: every predicate applied (a
    value that fits passes through unchanged), as the profile's filter does for bad ones."""
    if policy == "fail":
        return profiles.TableFilter()
    bad = []
    for kind, which in profiles.conditions(tp):
        if kind == "fk":
            fk = tp.source.foreign_keys[which]
            cols = [tp.column(c) for c in fk.columns]
            bad.append(profiles.BadValues(tp.name, ", ".join(c.name for c in cols),
                                          f"→ {fk.ref_table}", "", 1, kind="fk",
                                          nullable=not any(c.notnull for c in cols)))
            continue
        col, pk = tp.column(which), which in tp.source.primary_key
        bad.append(profiles.BadValues(tp.name, col.name, col.target_type, "", 1, kind=kind,
                                      nullable=kind != "null" and not col.notnull, key=pk))
    return profiles._filter(tp, bad, policy)


def quarantine(snapshot, plan: Plan, policy: str, folder) -> dict[str, tuple[int, str]]:
    """Under `quarantine`: every row of the snapshot that the filter sets aside, written to
    `folder/<safe name>.csv` as stage 03 writes them; table → (rows, file name)."""
    if policy != "quarantine":
        return {}
    from pathlib import Path

    from .source import connect_ro

    out, taken = {}, set()
    conn = connect_ro(snapshot)
    try:
        for tp in plan.tables:
            flt = sync_filter(tp, policy)
            if not flt.keep:
                continue
            n = conn.execute(f"SELECT count(*) FROM {q(tp.source_name)} WHERE NOT "
                             f"({flt.where})").fetchone()[0]
            if n:
                profiles._quarantine(conn, tp, flt, Path(folder), taken)
                out[tp.name] = (flt.quarantined, flt.file)
    finally:
        conn.close()
    return out


def bad_rows(src, tp: TablePlan, where: str) -> list[profiles.BadValues]:
    """The values among the rows `where` selects that do not fit (under `fail`: the sync stops
    listing them by key, as the migration does)."""
    found = profiles.conditions(tp)
    if not found:
        return []
    # one pass over the selected rows, every predicate counted in it
    sums = ", ".join(f"sum(CASE WHEN NOT {cond} THEN 1 ELSE 0 END)" for cond in found.values())
    row = src.execute(f"SELECT {sums} FROM {q(tp.source_name)}"
                      + (f" WHERE {where}" if where else "")).fetchone()
    counts = {key: n for key, n in zip(found, row, strict=True) if n}
    return profiles._scan_table(src, tp, counts) if counts else []


def stage_rows(src, cur, tp: TablePlan, flt: profiles.TableFilter, dest: str, where: str,
          timezone: str = "UTC") -> int:
    """COPY the source rows `where` selects (SQLite SQL; "" for all) into `dest` through the
    bulk copy's own SELECT (`on_bad_value` filter, Django field forms) and text encoder, in
    the caller's transaction; returns the rows sent."""
    kinds = [transfer._kind(tp, c, c.source_name in flt.null_columns) for c in tp.columns]
    select = transfer._select(tp, flt, [where] if where else [])
    encode = transfer.Encoder(kinds, transfer._decimals(tp))
    reader = transfer.ChunkReader(src.execute(select), encode, lambda n: None)
    cols = ", ".join(q(c.name) for c in tp.columns)
    cur.execute("SELECT set_config('TimeZone', %s, true)", (timezone,))
    try:
        cur.copy_expert(f"COPY {dest} ({cols}) FROM STDIN", reader, size=1 << 20)
    except transfer.BadRows as exc:
        raise transfer.BadRows(f"{tp.name}: {exc}") from None
    return reader.rows


def move_sequences(conn, plan: Plan) -> list[dict]:
    """Every identity/serial sequence past max(column) and past sqlite_sequence."""
    return set_sequences(conn, plan)
