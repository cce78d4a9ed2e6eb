"""Stage 03: a consistent snapshot of the SQLite file copied into PostgreSQL.

`Migration` runs the steps one by one (snapshot, introspect, plan, target, value profile,
load, keys/indexes/FKs/sequences) and `run(settings)` runs them all; `stage_checks` turns a
finished migration into the MG0xx checks; `rules_frame` is the type-mapping table users read.
Inside: `source` (snapshot, introspection), `schema` (type rules, DDL plan), `names`
(unique names), `sql_translate` + `derived` (the SQLite file's SQL text regenerated from a
syntax tree, or a follow-up), `profile` +
`scan` (bad values before the copy), `transfer` (COPY workers, text path) +
`transfer_binary` (Arrow and binary COPY), `postload`, `target` (run bookkeeping in the
target), `methods` (loaddata, pgloader), `checks`, `catchup` (what a catch-up sync reuses:
the recorded plan, the same values and bad-value handling, staging).
"""

from .catchup import (
                      SchemaChange,
                      bad_rows,
                      move_sequences,
                      quarantine,
                      schema_changes,
                      snapshot_schema,
                      stage_rows,
                      sync_filter,
                      table_plans,
)
from .checks import stage_checks
from .profile import fail_error
from .schema import TYPE_RULES, rules_frame
from .source import snapshot
from .steps import Migration, MigrationResult, run, source_timezone
from .transfer import BadRows

__all__ = ["Migration", "MigrationResult", "run", "source_timezone", "stage_checks",
           "rules_frame", "TYPE_RULES", "SchemaChange", "bad_rows", "snapshot_schema", "move_sequences",
           "quarantine", "schema_changes", "stage_rows", "sync_filter", "table_plans", "fail_error", "snapshot",
           "BadRows"]
