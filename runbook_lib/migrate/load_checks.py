"""Values checked as they are copied: the value profile's guarantee, kept by the binary path.

The value profile (`profile`) reads every row before the load to find the values PostgreSQL
cannot hold, which costs as much as the copy itself. For a table on the binary path most of
its checks are made by the copy anyway: the ADBC driver refuses a value of another storage
class than the column's (text in an integer column, a real in an integer column), Arrow's
casts refuse an integer out of range, an impossible date, a fraction of a microsecond or a
spelling that is not a date, and PostgreSQL's binary input refuses invalid JSON, a varchar
too long and a NULL in a NOT NULL column. What those would let through is checked here:

* in the same SELECT (SQLite), one `flag` column per row: a blob read as text, a number in a
  bytea column, an integer a double cannot hold exactly, text in a numeric column;
* per batch, in C (Arrow): NUL or invalid UTF-8 in text, a boolean other than 0 and 1, a
  date-time not in ISO form (`2024-01-01 10` would parse), NULL in a NOT NULL column.

Any of these, or any other failure of such a copy, stops the whole load: the target is
emptied and the full value profile runs, as it always did, to name the rows and apply
`on_bad_value` (`Migration.load`). So a first load that finds nothing has checked every value
at least as strictly as the profile (a few values the profile accepts, 'true' in a boolean,
stop it too and are then copied by the profiled path). A table qualifies only when every
column's family is in `FLAGS`; the others, and every foreign key, are profiled before the
load as before.
"""

from __future__ import annotations

from ..core.errors import RunbookError
from ..core.identifiers import quote_ident as q
from . import django_values
from .validity import family
from .wording import REASONS

__all__ = ["FLAGS", "Refused", "flag_sql", "column_checks", "check_batch", "qualifies"]

_BIG = 9007199254740992  # 2^53: beyond it a double does not hold every integer
# validity family → SQLite SQL over {c}, true for a value the copy would read without refusing
# but the PostgreSQL type does not hold as the profile would ("" : the driver refuses them all)
FLAGS: dict[str, str] = {
    "smallint": "", "integer": "", "bigint": "", "boolean": "",
    "double precision": f"typeof({{c}}) = 'integer' AND ({{c}} > {_BIG} OR {{c}} < -{_BIG})",
    "numeric": "typeof({c}) IN ('text', 'blob')",
    "text": "typeof({c}) = 'blob'",
    "varchar": "typeof({c}) = 'blob'",
    "json": "typeof({c}) = 'blob'",
    "jsonb": "typeof({c}) = 'blob'",
    "date": "typeof({c}) = 'blob'",
    "timestamp": "typeof({c}) = 'blob'",
    "bytea": "typeof({c}) IN ('integer', 'real')",
    "blob": "typeof({c}) IN ('integer', 'real', 'text')",
}
_STRINGS = ("text", "varchar", "json", "jsonb")
# a date, or a date and a time to the microsecond, as the profile's predicates accept them
_ISO = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?$"


class Refused(RunbookError, RuntimeError):
    """A batch held a value the profile would have named: the load stops."""


def _family(col) -> str:
    return col.validity or family(col.target_type)[0]


def qualifies(tp) -> bool:
    """Every column of the table can be checked as it is copied."""
    for col in tp.columns:
        if _family(col) not in FLAGS or django_values.gap_condition(col, "x"):
            return False
        if django_values.copy_expression(col, "x") != "x":
            return False
    return True


def flag_sql(tp) -> str:
    """SQLite expression, 1 for a row holding a value only the profile would refuse."""
    parts = [FLAGS[_family(c)].format(c=q(c.source_name)) for c in tp.columns
             if FLAGS[_family(c)]]
    return "(" + " OR ".join(f"({p})" for p in parts) + ")" if parts else "0"


def column_checks(tp) -> list[tuple[str, ...]]:
    """Per column, the checks made on each batch in Arrow."""
    out = []
    for col in tp.columns:
        fam = _family(col)
        checks = ("notnull",) if col.notnull and not col.identity else ()
        checks += ("text",) if fam in _STRINGS else ("bool",) if fam == "boolean" else \
            ("iso",) if fam in ("date", "timestamp") else ()
        out.append(checks)
    return out


def _fails(array, check: str) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    if check == "notnull":
        return array.null_count > 0
    if check == "text":
        try:
            array.validate(full=True)  # UTF-8 of every value
        except pa.ArrowInvalid:
            return True
        return bool(pc.any(pc.match_substring(array, "\x00")).as_py())
    if check == "bool":
        low_high = pc.min_max(array).as_py()
        return low_high["min"] is not None and (low_high["min"] < 0 or low_high["max"] > 1)
    return not pc.all(pc.match_substring_regex(array, _ISO)).as_py() \
        if array.null_count < len(array) else False


def check_batch(batch, names: list[str], checks: list[tuple[str, ...]], flag: int) -> None:
    """Refused, naming the column, when the batch holds a value the profile would refuse;
    `flag` is the index of the SELECT's flag column, the columns start at 1."""
    import pyarrow.compute as pc

    if pc.any(pc.not_equal(batch.column(flag), 0)).as_py():
        raise Refused(REASONS["refused_flag"])
    for i, (name, wanted) in enumerate(zip(names, checks, strict=True)):
        for check in wanted:
            if _fails(batch.column(i + 1), check):
                raise Refused(REASONS["refused"], column=name, what=REASONS[f"refused_{check}"])
