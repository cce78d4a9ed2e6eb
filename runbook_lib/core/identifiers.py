"""PostgreSQL identifiers: validation of role/database names and correct quoting."""

from __future__ import annotations

import re

from .errors import ConfigError

MAX_BYTES = 63
_PLAIN = re.compile(r"^[a-z_][a-z0-9_$]*$")
_ALLOWED = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


ERRORS = {
    "invalid": {"en": "{what} {name} is not a valid role or database name: use letters, digits "
                      "and underscores, starting with a letter or underscore, at most {limit} "
                      "bytes.",
                "ko": "{what}의 값 {name}은(는) 올바른 역할 또는 데이터베이스 이름이 아닙니다. "
                      "영문자나 밑줄로 시작하고 영문자, 숫자, 밑줄만 쓰며 {limit}바이트 이내여야 "
                      "합니다."},
    "invalid_fix": {"en": "Choose a plain name such as 'spc_db' or 'spc_user' for {what}; "
                          "nothing was changed.",
                    "ko": "{what}에 'spc_db'나 'spc_user' 같은 단순한 이름을 쓰세요. 아무것도 "
                          "바뀌지 않았습니다."},
    "nul": {"en": "identifier {name} contains a NUL byte",
            "ko": "식별자 {name}에 NUL 바이트가 들어 있습니다"},
    "nul_fix": {"en": "Rename it in the source.", "ko": "원본에서 이름을 바꾸세요."},
}


def check_identifier(name: str, what: str = "name") -> str:
    """Refuse a role or database name that is not a plain identifier (no quotes, no SQL)."""
    if not name or not _ALLOWED.fullmatch(name) or len(name.encode()) > MAX_BYTES:
        raise ConfigError(ERRORS["invalid"], ERRORS["invalid_fix"], what=what, name=repr(name),
                          limit=MAX_BYTES)
    return name


def quote_ident(name: str) -> str:
    """Quote an identifier for PostgreSQL DDL, always (reserved words, case, unicode)."""
    if "\x00" in name:
        raise ConfigError(ERRORS["nul"], ERRORS["nul_fix"], name=repr(name))
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote a string literal for PostgreSQL (standard_conforming_strings on)."""
    return "'" + value.replace("'", "''") + "'"


def too_long(name: str) -> bool:
    return len(name.encode()) > MAX_BYTES


__all__ = ["MAX_BYTES", "check_identifier", "quote_ident", "quote_literal", "too_long"]
