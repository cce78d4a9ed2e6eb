"""Check results: small typed records with a stable id, shown as a table, raised in batch."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from .errors import CheckFailed
from .escape import terminal
from .i18n import as_is

FAILED = {"en": "{n} check(s) failed: {lines}", "ko": "점검 {n}개 실패: {lines}"}

STATUSES = ("ok", "warn", "fail", "skip")
_COLOURS = {"ok": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e", "skip": "#57606a"}


@dataclass(frozen=True)
class Check:
    """One check: stable id (e.g. PG001), status ok/warn/fail/skip, message, hint, details."""

    id: str
    name: str
    status: str
    message: str
    hint: str = ""
    details: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {self.status!r}")

    def as_dict(self) -> dict:
        return asdict(self)

    def _repr_html_(self) -> str:
        return CheckTable([self])._repr_html_()


class CheckTable(list):
    """A list of checks that renders as a status table in Jupyter."""

    def frame(self):
        import pandas as pd

        return pd.DataFrame([{k: v for k, v in c.as_dict().items() if k != "details"}
                             for c in self], columns=["id", "name", "status", "message", "hint"])

    def _repr_html_(self) -> str:
        """The status table in the notebook's language (`i18n.current()`), left-aligned."""
        from .display import NO_MATH, NONE, escape, header, word
        from .i18n import t

        if not self:
            return f"<p><i>{escape(t(NONE))}</i></p>"
        left = "style='text-align:left;vertical-align:top'"
        rows = "".join(
            f"<tr><td {left}><code>{escape(c.id)}</code></td><td {left}>{escape(c.name)}</td>"
            f"<td style='text-align:left;vertical-align:top;color:{_COLOURS[c.status]};"
            f"font-weight:bold'>{escape(word(c.status))}</td>"
            f"<td {left}>{escape(c.message)}</td><td {left}>{escape(c.hint)}</td></tr>"
            for c in self)
        heads = "".join(f"<th {left}>{escape(header(h))}</th>"
                        for h in ("id", "check", "status", "result", "fix"))
        return (f"<div class='{NO_MATH}'><table class='runbook-status'><thead><tr>{heads}"
                f"</tr></thead><tbody>{rows}</tbody></table></div>")

    def __repr__(self) -> str:
        """One line per check; names and values from data cannot act on a terminal."""
        return "\n".join(f"{c.id:<7} {c.status:<5} {terminal(c.name)}: {terminal(c.message)}"
                         + (f"  → {terminal(c.hint)}" if c.hint and c.status != "ok" else "")
                         for c in self)


def table(checks: Iterable[Check]) -> CheckTable:
    return CheckTable(checks)


def verdict(checks: Iterable[Check]) -> str:
    """The stage status to record: 'fail', else 'warn' when any check warns, else 'ok'."""
    statuses = {c.status for c in checks}
    return "fail" if "fail" in statuses else "warn" if "warn" in statuses else "ok"


def batch_mode() -> bool:
    """True under `runbook run` / papermill (no one is there to read a warning)."""
    return os.environ.get("RUNBOOK_BATCH") == "1"


def require_ok(checks: Iterable[Check], allow_warn: bool = True) -> CheckTable:
    """Raise CheckFailed listing the failed checks (and warnings when not allowed)."""
    checks = table(checks)
    bad = [c for c in checks if c.status == "fail" or (c.status == "warn" and not allow_warn)]
    if bad:
        lines = "; ".join(f"{c.id} {c.name}: {c.message}" for c in bad)
        hints = " ".join(f"{c.id}: {c.hint}" for c in bad if c.hint)
        raise CheckFailed(FAILED, as_is(hints), n=len(bad), lines=lines)
    return checks


__all__ = ["STATUSES", "Check", "CheckTable", "table", "verdict", "batch_mode", "require_ok"]
