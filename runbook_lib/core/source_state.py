"""Has the live SQLite source moved on since its snapshot was taken?

Stage 03 proves a snapshot; an application still writing to the live file makes that proof
about the past. `capture(path)` records the live file's state when the snapshot is taken
(device and inode, size, mtime, the header's change counter; the `-wal` file's size, mtime
and salts). `moved(state, path, snapshot, scratch)` says how the live file differs now, or
None: the same state is unchanged; a missing file, a higher change counter (rollback
journal) or new WAL frames are certain writes; anything else (a WAL checkpoint, `touch`, a
copy of the same file) is settled by the content: a fresh backup of the live file compared
page by page with the snapshot. `report(...)` words the finding for stages 03 and 04.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from .i18n import t

__all__ = ["capture", "moved", "report", "TEXT"]

SCRATCH = ".source-now.sqlite3"
TEXT = {
    "same": {"en": "the live source {path} is as it was when the snapshot was taken ({at})",
             "ko": "원본 {path} 은(는) 스냅샷을 만든 때({at})와 같습니다"},
    "moved": {"en": "proven: the snapshot {snapshot}, taken from {path} at {at}. The live file "
                    "has moved on since ({how}): what was written after {at} is not in "
                    "PostgreSQL",
              "ko": "증명된 것은 {at}에 {path} 에서 만든 스냅샷 {snapshot} 입니다. 그 뒤 원본 파일이 "
                    "바뀌었습니다({how}): {at} 이후에 기록된 내용은 PostgreSQL에 없습니다"},
    "hint": {"en": "To catch up, run a catch-up sync of the changes (`runbook sync --params "
                   "FILE --run-dir <this run folder> --validate`, or notebook 06's sync cells; "
                   "with the application's writes stopped for the last one), or stop the writes "
                   "and re-run stage 03 with if_exists: replace, then stage 04.",
             "ko": "따라잡으려면 변경분만 옮기는 동기화를 실행하세요 (`runbook sync --params FILE "
                   "--run-dir <이 실행 폴더> --validate` 또는 06 노트북의 동기화 셀; 마지막 동기화는 "
                   "애플리케이션의 쓰기를 멈춘 뒤). 또는 쓰기를 멈추고 if_exists: replace로 03 단계를 "
                   "다시 실행한 뒤 04 단계를 실행하세요."},
    "gone": {"en": "the file is gone", "ko": "파일이 없어졌습니다"},
    "unrecorded": {"en": "no source state recorded by stage 03",
                   "ko": "03 단계가 원본 상태를 기록하지 않았습니다"},
    "counter": {"en": "committed writes: change counter {a} → {b}",
                "ko": "커밋된 쓰기: 변경 카운터 {a} → {b}"},
    "wal": {"en": "committed writes in the -wal file", "ko": "-wal 파일에 커밋된 쓰기"},
    "content": {"en": "its content differs, modified at {mtime}",
                "ko": "내용이 다릅니다, 수정 시각 {mtime}"},
}


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def _read(path: Path, offset: int, size: int) -> bytes:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            return fh.read(size)
    except FileNotFoundError:
        return b""


def capture(path: str | Path) -> dict:
    """The live file's state now (JSON-ready), `{}` when it does not exist."""
    path = Path(path)
    st = _stat(path)
    if st is None:
        return {}
    wal = Path(f"{path}-wal")
    wst = _stat(wal)
    return {"at": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "dev": st.st_dev, "ino": st.st_ino,
            "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "counter": int.from_bytes(_read(path, 24, 4) or b"\0", "big"),
            "wal_mode": _read(path, 18, 1) == b"\x02",
            "wal": None if wst is None else {"size": wst.st_size, "mtime_ns": wst.st_mtime_ns,
                                             "salt": _read(wal, 16, 8).hex()}}


def _same(a: dict, b: dict) -> bool:
    keys = ("dev", "ino", "size", "mtime_ns", "counter", "wal", "wal_mode")
    return all(a.get(k) == b.get(k) for k in keys)


def _written(then: dict, now: dict) -> str | None:
    """A certain write, from the states alone (no content read). In WAL mode the change
    counter also moves at a checkpoint, so only new WAL frames count there."""
    rollback = not (then.get("wal_mode") or now.get("wal_mode"))
    if rollback and now["counter"] != then["counter"] and now["ino"] == then["ino"]:
        return "counter"
    w0, w1 = then.get("wal"), now.get("wal")
    if w1 and w1["size"] > 32 and (not w0 or w1["salt"] != w0["salt"]
                                   or w1["size"] > w0["size"]):
        return "wal"
    return None


def _pages(path: Path, page: int):
    with open(path, "rb") as fh:
        while chunk := fh.read(page):
            yield chunk


def _masked(first: bytes) -> bytes:
    """Page 1 without the header fields a copy rewrites (journal mode, change counter,
    version-valid-for, library version)."""
    out = bytearray(first)
    for start, end in ((18, 20), (24, 28), (92, 100)):
        out[start:end] = bytes(end - start)
    return bytes(out)


def _same_pages(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    size = int.from_bytes(_read(a, 16, 2), "big")
    page = 65536 if size == 1 else size or 4096
    for i, (x, y) in enumerate(zip(_pages(a, page), _pages(b, page), strict=True)):
        if (x != y) if i else (_masked(x) != _masked(y)):
            return False
    return True


def _same_content(path: Path, snapshot: Path, scratch: Path) -> bool:
    """A fresh backup of the live file (commits in its -wal included), page by page."""
    copy = scratch / SCRATCH
    if copy.resolve() == path.resolve() or (copy.exists() and os.path.samefile(copy, path)):
        return False  # never the source itself (stage 03 refuses such a sqlite_path first)
    copy.unlink(missing_ok=True)
    try:
        src = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
        out = sqlite3.connect(copy)
        try:
            out.execute("PRAGMA journal_mode=OFF")
            src.backup(out)
            out.execute("PRAGMA journal_mode=DELETE")
        finally:
            out.close()
            src.close()
        return _same_pages(copy, snapshot)
    except sqlite3.DatabaseError:
        return False
    finally:
        copy.unlink(missing_ok=True)


def moved(state: dict, path: str | Path, snapshot: str | Path,
          scratch: str | Path) -> dict | None:
    """How the live file differs from `state` (`{"how": key, ...}`), or None if unchanged."""
    path, snapshot = Path(path), Path(snapshot)
    if not state:
        return None
    now = capture(path)
    if not now:
        return {"how": "gone"}
    if _same(state, now):
        return None
    how = _written(state, now)
    if how:
        return {"how": how, "a": state["counter"], "b": now["counter"]}
    if snapshot.is_file() and _same_content(path, snapshot, Path(scratch)):
        return None
    return {"how": "content", "mtime": time.strftime("%Y-%m-%d %H:%M:%S",
                                                     time.localtime(now["mtime_ns"] / 1e9))}


def report(state: dict, found: dict | None, path, snapshot, language: str = "en") -> str:
    """The sentence stages 03 and 04 show."""
    at = state.get("at", "?")
    if found is None:
        return t(TEXT["same"], language, path=path, at=at)
    how = t(TEXT[found["how"]], language, **{k: v for k, v in found.items() if k != "how"})
    return t(TEXT["moved"], language, snapshot=snapshot, path=path, at=at, how=how)
