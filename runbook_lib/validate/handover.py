"""What stage 04 hands over to the first catch-up sync: the proven snapshot's digests.

Full validation digests every table with an integer key (`digest.differing`): the snapshot's
chunking and chunk digests, and whether the target held exactly them. A catch-up sync needs the
same for the snapshot the target holds (its "previous" snapshot), so stage 04 leaves them in a
private file beside that snapshot (`FILE`, written atomically, 0600), with what makes them
trustworthy later: the migration's run id, the snapshot's SHA-256, the database (oid and name)
and the oldest transaction running before validation read the target (`threshold`). A sync
uses the record only when all of them still match (`load`); the target itself is then checked
for rows written since (`cutover.sync_find.untouched`), so a stale record costs a re-read,
never a wrong result. With `row hashes` asked for (the profile's `cutover_by_sync`), the
snapshot's row hashes are recorded beside it too (`HASHES`, named in the record by their
random seed, so a file from an earlier migration at the same path is never taken for them).

Why a file and not the target's state tables (where a sync records its own digests): stage 04
opens the target read-only and must be able to run with a role that may only read; the record
describes a file in this run folder (the snapshot), and the row hashes (16 bytes a row) belong
beside it anyway.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..core import files
from . import catchup, row_hash

__all__ = ["FILE", "HASHES", "target_now", "save", "load"]

FILE = "validated_digests.json"
HASHES = "validated_row_hashes.npz"

_NOW = ("SELECT txid_snapshot_xmin(txid_current_snapshot()), d.oid::bigint, d.datname "
        "FROM pg_database d WHERE d.datname = current_database()")


def target_now(cur) -> dict:
    """The oldest transaction running now (any later write to the target has a row version
    from it or a newer one) and which database this is."""
    cur.execute(_NOW)
    oldest, oid, name = cur.fetchone()
    return {"threshold": int(oldest), "database": [int(oid), name]}


def save(snapshot: str | Path, run_id: str, sha256: str, target: dict, tables: dict,
         hasher: row_hash.Hasher | None = None) -> Path:
    """Record the digests of `tables` (table → (spec, digest.Difference)) for `snapshot`; with
    `hasher` (the one the digest pass used), their row hashes too (each Difference's
    `source.row_hashes`), in `HASHES`, named in the record by their random seed."""
    path = Path(snapshot).with_name(FILE)
    found = {name: catchup.record(d.cut, d.source, spec, not d.ranges
                                  and d.source_rows == d.target_rows)
             for name, (spec, d) in tables.items()}
    seed = None
    if hasher is not None:
        hashed = {name: (spec, d.source.row_hashes) for name, (spec, d) in tables.items()
                  if d.source.row_hashes is not None}
        catchup.save_row_hashes(path.parent, str(snapshot), hashed, HASHES)
        seed = hasher.seed if hashed else None
    payload = {"run_id": run_id, "snapshot": str(snapshot), "snapshot_sha256": sha256,
               **target, "tables": found, "row_hashes": seed}
    return files.write_private(path, json.dumps(payload))


def load(cur, snapshot: str | Path, run_id: str, sha256: str) -> dict:
    """The record stage 04 left for `snapshot` ({"threshold", "tables", "row_hashes": the
    seed of its row hashes or None}, as a sync records its own), or {} when there is none or
    it is from another migration, snapshot or database."""
    path = Path(snapshot).with_name(FILE)
    if not sha256 or path.is_symlink() or not path.is_file():
        return {}
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(payload, dict) or [payload.get(k) for k in
                                         ("run_id", "snapshot", "snapshot_sha256")] != \
            [run_id, str(snapshot), sha256]:
        return {}
    if payload.get("database") != target_now(cur)["database"]:
        return {}
    tables, seed = payload.get("tables"), payload.get("row_hashes")
    if not isinstance(tables, dict) or not isinstance(payload.get("threshold"), int) or \
            not all(isinstance(v, dict) for v in tables.values()) or \
            not (seed is None or isinstance(seed, int)):
        return {}
    return {"threshold": payload["threshold"], "tables": tables, "row_hashes": seed}
