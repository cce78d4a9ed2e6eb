"""Django field values as the application reads them, for the copy (schema: django).

SQLite and PostgreSQL hold some Django fields in different forms; the copy converts each into
the one the application reads back the same on PostgreSQL, and the value profile refuses what
cannot be (nothing is cast silently):

- DurationField: SQLite holds microseconds (bigint), PostgreSQL an interval; the text path
  writes `D days +HH:MM:SS.ffffff` computed by SQLite (a bare number would be read as seconds,
  and one over 2^31 not at all).
- DecimalField: Django's SQLite backend reads 15 significant digits, then the field's decimal
  places (round half even); the text path loads exactly that value.
- DateTimeField with USE_TZ = False: the application reads wall-clock time in TIME_ZONE; a
  time in a daylight-saving gap does not exist there and would come back shifted, so it is a
  bad value (listed by primary key; on_bad_value applies).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from ..core.identifiers import quote_literal

__all__ = ["copy_expression", "decimal_field", "gap_condition", "gaps", "problem"]

DAY_US = 86_400_000_000
UTC_NAMES = ("", "UTC", "Etc/UTC", "GMT", "Etc/GMT", "Zulu")


def _kind(col) -> str:
    return (col.field or {}).get("kind", "")


def _duration_sql(c: str) -> str:
    """SQLite expression: bigint microseconds → PostgreSQL interval text, exact for any value
    (days and a positive time of day, as PostgreSQL itself prints an interval)."""
    rem = f"((({c} % {DAY_US}) + {DAY_US}) % {DAY_US})"
    days = f"(({c} - {rem}) / {DAY_US})"
    return (f"CASE WHEN {c} IS NULL THEN NULL ELSE printf('%d days +%02d:%02d:%02d.%06d', "
            f"{days}, {rem} / 3600000000, {rem} / 60000000 % 60, {rem} / 1000000 % 60, "
            f"{rem} % 1000000) END")


def copy_expression(col, expr: str) -> str:
    """The SQLite SELECT expression that sends this column's value (`expr`) to PostgreSQL."""
    if col.target_type == "interval" and _kind(col) == "DurationField":
        return _duration_sql(expr)
    return expr


def decimal_field(col) -> tuple[int, int] | None:
    """(places, max digits) of a DecimalField column, loaded as Django's SQLite backend reads
    it (`core.django_models.sqlite_decimal`, applied on the text path); else None."""
    field = col.field or {}
    if field.get("kind") == "DecimalField" and field.get("places") is not None:
        return int(field["places"]), int(field.get("digits") or 38)
    return None


@lru_cache(maxsize=16)
def gaps(zone: str, first: int = 1900, last: int = 2100) -> tuple[tuple[str, str], ...]:
    """Local wall-clock ranges [start, end) that do not exist in `zone` (daylight-saving and
    other forward jumps), as 'YYYY-MM-DD HH:MM:SS' text."""
    tz = ZoneInfo(zone)
    out = []
    day = datetime(first, 1, 1, tzinfo=UTC)
    end = datetime(last + 1, 1, 1, tzinfo=UTC)
    before = day.astimezone(tz).utcoffset()
    while day < end:
        following = day + timedelta(days=1)
        after = following.astimezone(tz).utcoffset()
        if after != before:
            lo, hi = day, following
            while hi - lo > timedelta(seconds=1):  # the transition instant, to the second
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == before:
                    lo = mid
                else:
                    hi = mid
            moment = lo.replace(microsecond=0) + timedelta(seconds=1)  # lo < it <= hi
            if after > before:  # a jump forward: local times [it+before, it+after) are gone
                out.append(((moment + before).replace(tzinfo=None).isoformat(" "),
                            (moment + after).replace(tzinfo=None).isoformat(" ")))
            before = after
        day = following
    return tuple(out)


def gap_condition(col, quoted: str) -> str:
    """SQL (SQLite) true when a naive date-time value exists in the field's TIME_ZONE."""
    zone = (col.field or {}).get("zone")
    if _kind(col) != "DateTimeField" or not zone or zone in UTC_NAMES:
        return ""
    ranges = gaps(zone)
    if not ranges:
        return ""
    dates = ", ".join(sorted({quote_literal(x[:10]) for r in ranges for x in r}))
    local = f"(substr({quoted}, 1, 10) || ' ' || substr({quoted}, 12))"
    inside = " OR ".join(f"({local} >= {quote_literal(a)} AND {local} < {quote_literal(b)})"
                         for a, b in ranges)
    rest = f"substr({quoted}, 11)"  # an explicit offset (+09:00, -05:00, Z) names the instant
    return (f"instr({rest}, '+') OR instr({rest}, '-') OR instr({rest}, 'Z') OR "
            f"substr({quoted}, 1, 10) NOT IN ({dates}) OR NOT ({inside})")


def problem(col) -> str:
    """What a bad value is, for the columns this module adds a condition to."""
    if gap_condition(col, "x"):
        return (f"not an ISO date-time, or a local time that does not exist in "
                f"{col.field['zone']} (a daylight-saving gap: USE_TZ = False reads it shifted)")
    return ""
