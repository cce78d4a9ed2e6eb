"""Stage 03's verdict as check records (MG0xx), read from a finished `Migration`."""

from __future__ import annotations

from ..core.results import Check, CheckTable, table

__all__ = ["stage_checks", "IDS"]

IDS = {
    "MG001": "snapshot of the source",
    "MG002": "schema plan",
    "MG003": "bad values",
    "MG004": "rows loaded",
    "MG005": "keys, indexes, foreign keys, sequences",
    "MG006": "manual follow-ups",
    "MG007": "run completed",
    "MG008": "schema drift (Django's PostgreSQL schema vs the SQLite file)",
}


def _check(cid: str, status: str, message: str, hint: str = "", **details) -> Check:
    return Check(cid, IDS[cid], status, message, hint, details)


def _rows(m) -> Check:
    section = m.section(completed=False)
    wrong = [t["table"] for t in section["tables"]
             if t["loaded_rows"] != t["source_rows"] - t["quarantined"]]
    total = sum(t["loaded_rows"] for t in section["tables"])
    if not m.settings.data:
        return _check("MG004", "skip", "schema only (data: false)")
    if wrong:
        return _check("MG004", "fail", f"row counts differ in {', '.join(wrong)}",
                      "Re-run the stage with if_exists: replace.", tables=wrong)
    return _check("MG004", "ok", f"{total} rows in {len(section['tables'])} tables")


def _bad(m) -> Check:
    prof = m.profile
    if not m.settings.data:
        return _check("MG003", "skip", "schema only (data: false): values not profiled")
    if prof is None or not prof.bad:
        return _check("MG003", "ok", "every value fits its target type")
    n = sum(b.count for b in prof.bad)
    where = f"quarantined in {prof.quarantine_dir}" if prof.quarantine_dir else "loaded as NULL"
    return _check("MG003", "warn", f"{n} bad value(s), {where} (on_bad_value: "
                  f"{m.settings.on_bad_value})", "Review them before the cut-over.")


def _drift(m) -> Check:
    if m.settings.schema != "django":
        return _check("MG008", "skip", "schema: sqlite (the schema follows the SQLite file)")
    rows = m.drift.rows
    if not [r for r in rows if r["side"] != "renamed"]:
        renamed = len(rows)
        return _check("MG008", "ok", "the SQLite file matches Django's PostgreSQL schema" +
                      (f" ({renamed} table(s) under Django's shorter PostgreSQL names)"
                       if renamed else ""))
    shown = "; ".join(f"{r['side']}: {r['table']}{'.' + r['column'] if r['column'] else ''} → "
                      f"{r['what happens']}" for r in rows if r["side"] != "renamed")
    derived = [d["rebuild"] for d in m.drift.derived]
    hint = (f"After the cut-over, rebuild the derived data: {'; '.join(sorted(set(derived)))}."
            if derived else "Review the listed tables and columns before the cut-over.")
    return _check("MG008", "warn", shown[:1500], hint, drift=rows)


def stage_checks(m) -> CheckTable:
    """MG001–MG007 for a migration (a dry run reports the plan only)."""
    m.wait_integrity()
    rows = [_check("MG001", "ok", f"{m.snapshot} passed PRAGMA integrity_check"),
            _check("MG002", "ok", f"{len(m.plan.tables)} tables planned ({m.settings.schema} "
                   "strategy), identifiers fit 63 bytes")]
    if m.settings.dry_run:
        return table(rows + [_check("MG007", "skip", "dry_run: the plan only, nothing written")])
    rows += [_bad(m), _rows(m),
             _check("MG005", "ok", f"{len(m.plan.steps)} post-load statement(s) applied, "
                    "sequences past max(id)")]
    manual = m.manual
    rows.append(_check("MG006", "warn" if manual else "ok",
                       f"{len(manual)} item(s) to carry over by hand" if manual else "none",
                       "See the follow-up table (SQLite SQL included)." if manual else ""))
    rows.append(_drift(m))
    done = m._finished()
    rows.append(_check("MG007", "ok" if done else "fail",
                       "manifest section `migration` completed" if done else "not completed",
                       "" if done else "Re-run the stage; an unfinished run is redone cleanly."))
    return table(rows)


