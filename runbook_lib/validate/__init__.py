"""Stage 04: proof that nothing was lost between the SQLite snapshot and the target.

`run(settings)` compares every migrated table (counts, every value by its canonical form,
keys, types, sequences, foreign keys, the quarantine accounted) and returns a
`ValidationReport`; `plan_summary` says what will be compared. Inside: `values` (canonical
values by target type), `stream` + `rows` (reading both sides in key order), `schema` and
`django_schema` (planned vs. actual structure), `guide` (the guide's step 4), `verdicts`
(VA0xx), `report` (validation.json and the tables), `catchup` (the specs and digests a
catch-up sync compares; `pages`: which chunks two snapshots hold byte for byte alike),
`handover` (what full validation leaves for the first sync).
"""

from .catchup import (
    changed_chunks,
    changed_keys,
    changed_ranges,
    chunk_digests,
    compare_pages,
    fingerprint,
    previous_row_hashes,
    row_codes,
    row_hashes,
    rows_differ,
    save_row_hashes,
    spec_of,
    target_chunks,
)
from .catchup import record as digest_record
from .digest import Sessions as DigestSessions
from .digest import Unfit
from .handover import HASHES as HANDED_ROW_HASHES
from .handover import load as handed_over
from .stage import CHECKS, MODES, TableVerdict, ValidationReport, failure, plan_summary, run

__all__ = ["run", "plan_summary", "failure", "ValidationReport", "TableVerdict", "MODES", "CHECKS",
           "spec_of", "chunk_digests", "changed_ranges", "changed_chunks",
           "target_chunks", "digest_record", "DigestSessions", "Unfit", "fingerprint",
           "row_hashes", "rows_differ", "row_codes", "changed_keys", "previous_row_hashes",
           "save_row_hashes", "handed_over", "HANDED_ROW_HASHES", "compare_pages"]
