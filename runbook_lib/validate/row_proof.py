"""Single rows compared exactly: the target's canonical codes of some keys against a snapshot's.

The codes are the digests' own (`codes`, one string per column group as `digest.groups` makes
them), but compared row by row and byte for byte rather than hashed: PostgreSQL computes them for
the keys asked (one indexed query per slice of keys, run while the snapshot's are computed), the
snapshot's come from the same Arrow reading and kernels as its digests. A catch-up sync uses
this after its commit to prove the rows it wrote (and the keys it deleted) without re-digesting
every chunk they fall in.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..core.identifiers import quote_ident
from . import codes, digest, values
from .stream import TableSpec

__all__ = ["differing_keys", "snapshot_codes", "SLICE"]

SLICE = 20_000  # keys per query


def _target_sql(spec: TableSpec) -> str:
    key = quote_ident(spec.columns[0].name)
    return (f"SELECT {key}, {', '.join(digest.group_codes(spec))} FROM "
            f"{quote_ident(spec.schema)}.{quote_ident(spec.table)} "
            f"WHERE {key} = ANY(%s::bigint[]) ORDER BY {key}")


def _target(sessions: digest.Sessions, spec: TableSpec, keys: list[int]) -> dict:
    sql = _target_sql(spec)
    return {int(k): tuple(c.encode() if isinstance(c, str) else bytes(c) for c in found)
            for k, *found in sessions.run(sql, (keys,))}


def _snapshot(snapshot: str, spec: TableSpec, declared: dict, keys: list[int]) -> dict:
    zone = values.zone_of(spec.zone)
    reads = [digest._reads(c.klass, declared.get(c.source_name, "")) for c in spec.columns]
    out, last, scratch = {}, None, digest.Digests()
    for batch in digest.batches(snapshot, digest.source_sql(spec, declared, among=keys)):
        found, grouped = digest.batch_codes(batch, spec, reads, zone, scratch, last)
        out.update(zip(found.tolist(), zip(*(_split(g) for g in grouped)), strict=True))
        last = int(found[-1])
    return out


def _split(found: codes.Codes) -> list[bytes]:
    """Each row's code as bytes (one copy of the group, then slices of it)."""
    start = int(found.offsets[0])
    data = bytes(found.piece(0, len(found.offsets) - 1))
    at = (np.asarray(found.offsets) - start).tolist()
    return [data[a:b] for a, b in zip(at[:-1], at[1:], strict=True)]


def snapshot_codes(snapshot: str, spec: TableSpec, declared: dict, keys: list[int]) -> dict:
    """key → the snapshot's codes of that row (one bytes per column group), for `keys`."""
    keys = sorted(set(int(k) for k in keys))
    out: dict = {}
    for at in range(0, len(keys), SLICE):
        out.update(_snapshot(snapshot, spec, declared, keys[at:at + SLICE]))
    return out


def differing_keys(snapshot: str, sessions: digest.Sessions, spec: TableSpec, declared: dict,
                   keys: list[int], mine: dict | None = None) -> list[int]:
    """The keys among `keys` whose row differs between the snapshot and the target: present
    on one side only, or any column group's codes differ (`mine`: the snapshot's codes of
    these keys, `snapshot_codes`, when computed beforehand). Raises `digest.Unfit` when the
    snapshot's values cannot be coded exactly."""
    keys = sorted(set(int(k) for k in keys))
    out = []
    with ThreadPoolExecutor(1, thread_name_prefix="row-proof") as pool:
        for at in range(0, len(keys), SLICE):
            part = keys[at:at + SLICE]
            theirs = pool.submit(_target, sessions, spec, part)  # PostgreSQL meanwhile
            try:
                ours = mine if mine is not None else _snapshot(snapshot, spec, declared, part)
            finally:
                found = theirs.result()
            out += [k for k in part if ours.get(k) != found.get(k)]
    return out
