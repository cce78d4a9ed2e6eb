"""Connections to the target: password passed straight to libpq, never through a string."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions

from .errors import ConnectError
from .i18n import LANGUAGES, Filled
from .secrets import scrub

CONNECT_TIMEOUT = 5
COULD_NOT_CONNECT = {"en": "Could not connect as {where}: {title} ({detail}).",
                     "ko": "{where}(으)로 접속할 수 없습니다: {title} ({detail})."}


def connect_kwargs(settings, admin: bool = False, dbname: str | None = None) -> dict:
    """psycopg2.connect keyword arguments for the app role (or the admin role)."""
    secret = settings.admin_password if admin else settings.password
    kwargs = {
        "host": settings.db_host,
        "port": settings.db_port,
        "user": settings.admin_user if admin else settings.db_user,
        "dbname": dbname or ("postgres" if admin else settings.db_name),
        "connect_timeout": CONNECT_TIMEOUT,
        "application_name": "runbook",
    }
    if secret:
        kwargs["password"] = secret.reveal()
    return kwargs


def connect(settings, admin: bool = False, dbname: str | None = None,
            autocommit: bool = False) -> psycopg2.extensions.connection:
    """Connect as the app role (or admin); a failure raises ConnectError with cause and fix."""
    kwargs = connect_kwargs(settings, admin, dbname)
    try:
        conn = psycopg2.connect(**kwargs)
    except psycopg2.Error as exc:
        raise connect_error(exc, settings, admin, kwargs["dbname"]) from None
    conn.autocommit = autocommit
    return conn


@contextmanager
def connection(settings, admin: bool = False, dbname: str | None = None,
               autocommit: bool = False) -> Iterator[psycopg2.extensions.connection]:
    conn = connect(settings, admin, dbname, autocommit)
    try:
        yield conn
        if not autocommit:
            conn.commit()
    except BaseException:
        if not autocommit and not conn.closed:
            conn.rollback()
        raise
    finally:
        conn.close()


def connect_error(exc: Exception, settings, admin: bool, dbname: str) -> ConnectError:
    """Turn a driver error into a one-paragraph message naming the cause and the fix."""
    from .diagnose import explain

    role = settings.admin_user if admin else settings.db_user
    where = f"{role}@{settings.db_host}:{settings.db_port}/{dbname}"
    found = {lang: explain(exc, settings, language=lang) for lang in LANGUAGES}
    detail = scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    return ConnectError(COULD_NOT_CONNECT, Filled({k: d.fix_text() for k, d in found.items()}),
                        where=where, detail=detail,
                        title=Filled({k: d.title for k, d in found.items()}))


def engine(settings, admin: bool = False, dbname: str | None = None):
    """A SQLAlchemy engine whose URL carries no password (it is passed to libpq directly)."""
    from sqlalchemy import create_engine

    return create_engine("postgresql+psycopg2://", creator=lambda: connect(settings, admin, dbname),
                         pool_pre_ping=True)


__all__ = ["CONNECT_TIMEOUT", "connect_kwargs", "connect", "connection", "connect_error", "engine"]
