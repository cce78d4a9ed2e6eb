"""PostgreSQL identifiers: validation of role/database names and correct quoting."""

from __future__ import annotations

import re

from .errors import ConfigError

MAX_BYTES = 63
_PLAIN = re.compile(r"^[a-z_][a-z0-9_$]*$")
_ALLOWED = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


def check_identifier(name: str, what: str = "name") -> str:
    """Refuse a role or database name that is not a plain identifier (no quotes, no SQL)."""
    if not name or not _ALLOWED.fullmatch(name) or len(name.encode()) > MAX_BYTES:
        raise ConfigError(
            f"{what} {name!r} is not a valid role or database name: use letters, digits and "
            f"underscores, starting with a letter or underscore, at most {MAX_BYTES} bytes.",
            f"Choose a plain name such as 'spc_db' or 'spc_user' for {what}; nothing was changed.",
        )
    return name


def quote_ident(name: str) -> str:
    """Quote an identifier for PostgreSQL DDL, always (reserved words, case, unicode)."""
    if "\x00" in name:
        raise ConfigError(f"identifier {name!r} contains a NUL byte", "rename it in the source")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote a string literal for PostgreSQL (standard_conforming_strings on)."""
    return "'" + value.replace("'", "''") + "'"


def too_long(name: str) -> bool:
    return len(name.encode()) > MAX_BYTES


__all__ = ["MAX_BYTES", "check_identifier", "quote_ident", "quote_literal", "too_long"]
