"""Per-row hashes of a snapshot's canonical codes: which keys changed between two snapshots.

While the digest pass (`digest.source_digests`) builds each batch's codes, it can also hash
every row's codes into one 64-bit number: Σ byte·W(position) + length·W(-1) per column group,
mod 2⁶⁴, with W a keyed pseudo-random function of the group and position (splitmix64 of a
random `seed`). Two different code rows collide only if a random linear form vanishes
(probability below 2⁻⁵⁶ for any given pair; the seed is random per sync chain and stays in the
private run folder). Equal codes always hash equal, so a row whose hash is unchanged holds the
same values as PostgreSQL would see them.

A catch-up sync records the keys and hashes of the snapshot it synced to (`save`, a private
`.npz` beside the snapshot); the next sync hashes the new snapshot with the same seed and finds
the inserted, changed and deleted keys with one sorted merge (`changes`) instead of joining the
two snapshots, and without reading the previous one.
"""

from __future__ import annotations

import json
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core import files

__all__ = ["RowHashes", "Hasher", "new_seed", "changes", "save", "load", "recorded", "FILE"]

FILE = "row_hashes.npz"
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def new_seed() -> int:
    return secrets.randbits(63)


def _splitmix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


class Hasher:
    """Row hashes of code groups under one seed (weights grown on demand, per group)."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self.weights: dict[int, np.ndarray] = {}

    def _weights(self, group: int, size: int) -> np.ndarray:
        have = self.weights.get(group)
        if have is None or len(have) < size + 1:
            n = max(size + 1, 64, 2 * (0 if have is None else len(have)))
            base = np.uint64((self.seed + (group << 40)) % 2 ** 64)
            with np.errstate(over="ignore"):
                have = _splitmix(np.arange(n, dtype=np.uint64) + base)
            self.weights[group] = have
        return have

    def hash(self, groups: list) -> np.ndarray:
        """One uint64 per row of `groups` (each a `codes.Codes` of the same rows)."""
        out = None
        for g, found in enumerate(groups):
            h = self._group(g, found)
            out = h if out is None else out + h
        return out

    def _group(self, g: int, found) -> np.ndarray:
        offsets = np.asarray(found.offsets, np.int64)
        lengths = np.diff(offsets)
        start, end = int(offsets[0]), int(offsets[-1])
        data = np.frombuffer(found.data, np.uint8, end - start, start)
        longest = int(lengths.max()) if len(lengths) else 0
        w = self._weights(g, longest)
        with np.errstate(over="ignore"):
            if len(lengths) and (lengths == longest).all():  # fixed width: one product
                h = data.reshape(len(lengths), longest).astype(np.uint64) @ w[1:longest + 1]
            else:
                kind = np.int32 if end - start < 2 ** 31 else np.int64
                pos = np.arange(end - start, dtype=kind)
                pos -= np.repeat((offsets[:-1] - start).astype(kind), lengths)
                product = w[1:][pos]
                product *= data
                if (lengths > 0).all():  # codes are never empty; reduceat needs that
                    h = np.add.reduceat(product, offsets[:-1] - start)
                else:
                    summed = np.zeros(end - start + 1, np.uint64)
                    np.cumsum(product, out=summed[1:])
                    h = summed[offsets[1:] - start] - summed[offsets[:-1] - start]
            return h + lengths.astype(np.uint64) * w[0]


@dataclass
class RowHashes:
    """A snapshot table's keys (ascending) and row hashes, under `seed`."""

    keys: np.ndarray
    hashes: np.ndarray
    seed: int

    @classmethod
    def join(cls, parts: list[tuple[np.ndarray, np.ndarray]], seed: int) -> RowHashes:
        if not parts:
            return cls(np.empty(0, np.int64), np.empty(0, np.uint64), seed)
        return cls(np.concatenate([k for k, _ in parts]), np.concatenate([h for _, h in parts]),
                   seed)


def _span(keys: np.ndarray, low: int | None, high: int | None) -> slice:
    """The stretch of sorted `keys` in [low, high) (None: open)."""
    return slice(0 if low is None else int(np.searchsorted(keys, low)),
                 len(keys) if high is None else int(np.searchsorted(keys, high)))


def _differ(ok: np.ndarray, oh: np.ndarray, nk: np.ndarray, nh: np.ndarray):
    at = np.searchsorted(ok, nk)
    found = at < len(ok)
    found[found] = ok[at[found]] == nk[found]
    same = np.zeros(len(nk), bool)
    same[found] = oh[at[found]] == nh[found]
    back = np.searchsorted(nk, ok)
    kept = back < len(nk)
    kept[kept] = nk[back[kept]] == ok[kept]
    return nk[~same], ok[~kept]


def changes(old: RowHashes, new: RowHashes, ranges: list[tuple] | None = None
            ) -> tuple[list[int], list[int]]:
    """(keys inserted or changed in `new`, keys deleted from it), within `ranges` (disjoint,
    ascending; None: all), each range compared on its own stretch of both sorted arrays."""
    if old.seed != new.seed:
        raise ValueError("row hashes under different seeds")
    changed, gone = [], []
    for low, high in ranges if ranges is not None else [(None, None)]:
        o, n = _span(old.keys, low, high), _span(new.keys, low, high)
        c, g = _differ(old.keys[o], old.hashes[o], new.keys[n], new.hashes[n])
        changed.append(c)
        gone.append(g)
    return _joined(changed), _joined(gone)


def _joined(parts: list[np.ndarray]) -> list[int]:
    return np.concatenate(parts).tolist() if parts else []


def save(path: Path, snapshot: str, tables: dict[str, tuple[list, RowHashes]]) -> None:
    """Write the tables' row hashes (table → (fingerprint, hashes)) to a private file."""
    arrays, meta = {}, {"snapshot": str(snapshot), "tables": {}}
    for i, (table, (fingerprint, found)) in enumerate(tables.items()):
        arrays[f"k{i}"], arrays[f"h{i}"] = found.keys, found.hashes
        meta["tables"][table] = {"i": i, "spec": fingerprint, "seed": found.seed}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    tmp = path.with_name(f".{path.name}.tmp")
    with files.create_private(tmp, "wb", replace=True) as fh:
        np.savez(fh, **arrays)
    tmp.replace(path)


def load(snapshot: str, name: str = FILE) -> tuple[dict, object]:
    """The row hashes recorded beside `snapshot` in `name` (meta, npz), or ({}, None)."""
    path = Path(snapshot).with_name(name)
    if not path.is_file() or path.is_symlink():
        return {}, None
    try:
        data = np.load(path, allow_pickle=False)
        meta = json.loads(bytes(data["meta"]).decode())
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):  # unreadable: not used
        return {}, None
    if meta.get("snapshot") != str(snapshot):
        return {}, None
    return meta, data


def recorded(meta: dict, data, table: str, fingerprint: list) -> RowHashes | None:
    """One table's recorded row hashes, if recorded for this comparison spec."""
    entry = (meta.get("tables") or {}).get(table)
    if not entry or entry.get("spec") != fingerprint:
        return None
    i = int(entry["i"])
    return RowHashes(np.asarray(data[f"k{i}"], np.int64), np.asarray(data[f"h{i}"], np.uint64),
                     int(entry["seed"]))
