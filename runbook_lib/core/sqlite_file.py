"""Facts about a SQLite file every stage needs: its read-only URI and a column's affinity."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

__all__ = ["ro_uri", "affinity"]


def ro_uri(path: str | Path) -> str:
    """SQLite URI opening a file read-only (its name quoted: '?' or '#' in it stay a name)."""
    return f"file:{quote(str(Path(path).resolve()))}?mode=ro"


def affinity(declared: str) -> str:
    """SQLite's column affinity of a declared type (datatype3.html, section 3.1)."""
    t = (declared or "").upper()
    if "INT" in t:
        return "INTEGER"
    if any(s in t for s in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in t or not t.strip():
        return "BLOB"
    return "REAL" if any(s in t for s in ("REAL", "FLOA", "DOUB")) else "NUMERIC"
