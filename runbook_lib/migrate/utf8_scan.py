"""Text that is not UTF-8, counted per column before the copy (PostgreSQL refuses it).

SQL has no UTF-8 test, and a Python function called per value costs about a microsecond,
as much as the rest of the value profile. So the text is read as bytes through Arrow (the
ADBC SQLite driver, in C, without the GIL) and each batch's column is validated at once by
Arrow's own UTF-8 check; only a batch that fails is looked at value by value. A table the
driver cannot read (a virtual table whose module it lacks) is counted in SQL instead, with
`runbook_utf8` (`core.sqlite_quirks`).
"""

from __future__ import annotations

from ..core.identifiers import quote_ident as q
from ..core.sqlite_quirks import UTF8_OK

__all__ = ["count_invalid"]

BATCH_ROWS = 65_536


def _valid(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _bounds(params: tuple) -> str:
    return f" WHERE rowid >= {int(params[0])} AND rowid < {int(params[1])}" if params else ""


def _arrow(snapshot: str, table: str, columns: list[str], params: tuple) -> list[int]:
    import adbc_driver_sqlite.dbapi as adbc_sqlite
    import pyarrow as pa

    from .source import ro_uri

    witness = ", ".join("x''" for _ in columns)  # the driver types each column from row 1
    texts = ", ".join(f"CASE WHEN typeof({q(c)}) = 'text' THEN CAST({q(c)} AS BLOB) END"
                      for c in columns)
    sql = f"SELECT {witness} UNION ALL SELECT {texts} FROM {q(table)}{_bounds(params)}"
    counts = [0] * len(columns)
    with adbc_sqlite.connect(ro_uri(snapshot)) as conn, conn.cursor() as cur:
        cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
        cur.execute(sql)
        for batch in cur.fetch_record_batch():
            for i in range(len(columns)):
                array = batch.column(i)
                if array.type != pa.binary():
                    raise TypeError(f"{columns[i]} read as {array.type}")
                try:
                    array.cast(pa.string())  # Arrow validates the UTF-8 of the whole batch
                except pa.ArrowInvalid:
                    counts[i] += sum(1 for v in array.to_pylist()
                                     if v is not None and not _valid(v))
    return counts


def _sql(snapshot: str, table: str, columns: list[str], params: tuple) -> list[int]:
    from .source import connect_ro

    sums = ", ".join(f"sum(NOT {UTF8_OK.format(c=q(c))})" for c in columns)
    conn = connect_ro(snapshot)
    try:
        return [n or 0 for n in conn.execute(f"SELECT {sums} FROM {q(table)}"
                                             f"{_bounds(params)}").fetchone()]
    finally:
        conn.close()


def count_invalid(snapshot: str, table: str, columns: list[str], params: tuple = ()) -> list[int]:
    """Per column, the rows (of this rowid slice) whose text is not valid UTF-8."""
    if not columns:
        return []
    try:
        return _arrow(snapshot, table, columns, params)
    except Exception:  # noqa: BLE001 - any reason the driver cannot: SQL counts the same
        return _sql(snapshot, table, columns, params)
