"""Files the runbook writes: private, inside their folder, named safely, never followed.

Run folders hold copies of the user's data (snapshots, quarantined rows, backups, reports
with sample rows), so everything is created private: folders 0700, files 0600, and the
processes that write them (runner, kernels, embedded server) run with umask 077. A name that
comes from data or a parameter (a table name, a trainee) never becomes a path as it is:
`safe_name` turns it into one harmless, unique file name, and `inside` refuses a path that
would leave its folder. Files at a predictable path are created with O_EXCL and O_NOFOLLOW,
so a planted file or symbolic link is refused instead of written through.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import os
import re
import sqlite3
import stat
import unicodedata
from pathlib import Path
from typing import IO

from .errors import RunbookError

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600
NAME_BYTES = 80  # a file name stem kept well under every filesystem's 255-byte limit
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
             *(f"lpt{i}" for i in range(10))}  # Windows device names, whatever the extension
DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
QUARANTINE_TABLE = "runbook:table"  # first column of a quarantine file: the real table name
MAX_FIELD = 2**31 - 1  # SQLite's largest value (SQLITE_MAX_LENGTH is at most 2^31 - 1)


class UnsafePathError(RunbookError):
    """A path derived from a name or parameter would leave its folder or follow a link."""


ERRORS = {
    "link": {"en": "{folder} is a symbolic link; the runbook writes private data only into a "
                   "real folder.",
             "ko": "{folder}은(는) 심볼릭 링크입니다. 런북은 비공개 데이터를 실제 폴더에만 "
                   "씁니다."},
    "link_fix": {"en": "Remove the link or choose another folder than {folder}.",
                 "ko": "링크를 지우거나 {folder}이(가) 아닌 다른 폴더를 고르세요."},
    "not_folder": {"en": "{folder} exists and is not a folder.",
                   "ko": "{folder}이(가) 이미 있는데 폴더가 아닙니다."},
    "not_folder_fix": {"en": "Move {folder} away or choose another folder.",
                       "ko": "{folder}을(를) 옮기거나 다른 폴더를 고르세요."},
    "not_name": {"en": "{path} is not a file name.", "ko": "{path}은(는) 파일 이름이 아닙니다."},
    "hostile_fix": {"en": "This is a bug or a hostile name; nothing was written.",
                    "ko": "버그이거나 악의적인 이름입니다. 아무것도 쓰지 않았습니다."},
    "outside": {"en": "{path} would be written outside {base}.",
                "ko": "{path}은(는) {base} 바깥에 쓰이게 됩니다."},
    "outside_fix": {"en": "This is a bug or a hostile name; nothing was written. Report it with "
                          "the name that caused it.",
                    "ko": "버그이거나 악의적인 이름입니다. 아무것도 쓰지 않았습니다. 이 오류를 "
                          "일으킨 이름과 함께 알려 주세요."},
    "exists": {"en": "{path} already exists; the runbook does not write into a file it did not "
                     "create.",
               "ko": "{path}이(가) 이미 있습니다. 런북은 자신이 만들지 않은 파일에는 쓰지 "
                     "않습니다."},
    "exists_fix": {"en": "Remove {path} (or use a new run folder), then run again.",
                   "ko": "{path}을(를) 지우고(또는 새 실행 폴더를 쓰고) 다시 실행하세요."},
}


def private_umask() -> int:
    """Make this process create private files from now on (umask 077); return the old one.

    Kept stricter if it already is; children (kernels, pg_dump, manage.py) inherit it.
    """
    old = os.umask(PRIVATE_UMASK)
    os.umask(old | PRIVATE_UMASK)
    return old


def private_dir(path: str | os.PathLike, tighten: bool = True, group_exec: bool = False) -> Path:
    """Create `path` (and missing parents) 0700; with `tighten`, an existing `path` of ours
    loses its group and other rights too. A symbolic link is refused: private data is
    written only into a real folder. `group_exec` keeps a group's right to pass through (the
    embedded server's group on `.runbook/` when the runbook runs as root)."""
    folder = Path(path)
    if folder.is_symlink():
        raise UnsafePathError(ERRORS["link"], ERRORS["link_fix"], folder=str(folder))
    missing = [p for p in (folder, *folder.parents) if not os.path.lexists(p)]
    for created in reversed(missing):
        try:
            created.mkdir(mode=DIR_MODE)
        except FileExistsError:
            pass
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafePathError(ERRORS["not_folder"], ERRORS["not_folder_fix"], folder=str(folder))
    keep = 0o010 if group_exec else 0
    loose = stat.S_IMODE(info.st_mode) & 0o077 & ~keep
    if (tighten or folder in missing) and loose and info.st_uid == os.geteuid():
        folder.chmod(stat.S_IMODE(info.st_mode) & ~loose | DIR_MODE)
    return folder


def inside(folder: str | os.PathLike, path: str | os.PathLike) -> Path:
    """`folder / path`, refused unless it stays inside `folder` once the links of its folders
    are resolved. The last component is not followed: open it with `create_private` or
    `open_nofollow`, which refuse a link there."""
    base = Path(folder).resolve()
    joined = base / path
    if joined.name in ("", ".", ".."):
        raise UnsafePathError(ERRORS["not_name"], ERRORS["hostile_fix"], path=repr(str(path)))
    target = joined.parent.resolve() / joined.name
    if base != target.parent and base not in target.parent.parents:
        raise UnsafePathError(ERRORS["outside"], ERRORS["outside_fix"], path=str(path),
                              base=str(base))
    return target


def open_nofollow(path: str | os.PathLike, mode: str = "r", **kwargs) -> IO:
    """Open an existing file for reading; a symbolic link at `path` is refused (ELOOP)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    return os.fdopen(fd, mode, **kwargs)


def safe_name(name: str, taken: set[str] | None = None, suffix: str = "") -> str:
    """A file name for `name` that is harmless anywhere: letters, digits, `._-` only, no
    leading dot, no device name, at most NAME_BYTES, and unique (case-insensitively) among
    `taken`, which it is added to. A changed or clashing name gets a short hash of the
    original, so two names never share a file."""
    taken = taken if taken is not None else set()
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    stem = _UNSAFE.sub("_", text).strip("._-")[:NAME_BYTES] or "table"
    if stem.split(".")[0].lower() in _RESERVED:
        stem = "_" + stem
    digest = hashlib.sha256(str(name).encode("utf-8", "surrogatepass")).hexdigest()
    candidate, width = stem, 8
    if stem != name or (candidate + suffix).lower() in taken:
        candidate = f"{stem}-{digest[:width]}"
    while (candidate + suffix).lower() in taken:
        width += 4
        candidate = f"{stem}-{digest[:width]}" if width <= len(digest) else f"{candidate}_"
    taken.add((candidate + suffix).lower())
    return candidate + suffix


def create_private(path: str | os.PathLike, mode: str = "w", replace: bool = False,
                   **kwargs) -> IO:
    """Open a new file 0600 for writing: refused if anything (file or link) is already there.

    With `replace`, an earlier file (or a link: the link itself, never its target) at `path`
    is removed first; whatever appears there in between is still refused.
    """
    if replace and os.path.lexists(path) and not os.path.isdir(path):
        os.unlink(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags, FILE_MODE)
    except FileExistsError:
        raise UnsafePathError(ERRORS["exists"], ERRORS["exists_fix"], path=str(path)) from None
    return os.fdopen(fd, mode, **kwargs)


def write_private(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Replace `path` atomically with `text`, 0600 (a temporary file renamed over it)."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        with create_private(tmp, "w", encoding=encoding) as fh:
            fh.write(text)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def is_disk_full(error: BaseException | str) -> bool:
    """No space left (ENOSPC), quota (EDQUOT) or file-size limit (EFBIG), as errno or text."""
    if isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS:
        return True
    if isinstance(error, sqlite3.Error) or isinstance(error, str):
        text = str(error).lower()
        return any(words in text for words in ("no space left", "disk is full", "disk full",
                                               "quota exceeded", "file too large"))
    return False


def free_bytes(folder: str | os.PathLike) -> int | None:
    """Free space for this user on the filesystem holding `folder` (None if unknown)."""
    for candidate in (Path(folder), *Path(folder).parents):
        try:
            info = os.statvfs(candidate)
        except (OSError, AttributeError):
            continue
        return info.f_bavail * info.f_frsize
    return None


def csv_rows(lines) -> list[list[str]]:
    """Every row of quarantined CSV text (a file or StringIO opened with newline=""); a
    field may be as large as SQLite allows, not just csv's default 128 KB."""
    csv.field_size_limit(MAX_FIELD)
    return list(csv.reader(lines))


__all__ = ["QUARANTINE_TABLE", "MAX_FIELD", "csv_rows", "PRIVATE_UMASK", "DIR_MODE", "FILE_MODE", "UnsafePathError", "private_umask",
           "private_dir", "inside", "open_nofollow", "safe_name", "create_private", "write_private",
           "is_disk_full", "free_bytes"]
