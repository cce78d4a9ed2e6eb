"""Stage 00's tables: the map of the runbook and the parameters explained (data, rendered)."""

from __future__ import annotations

from ..core import paths
from ..core.config import PARAMETERS

# notebook stem → (what it does, what it changes). README's stage table says the same.
STAGES: dict[str, tuple[str, str]] = {
    "00_start_here": ("why PostgreSQL, this map, the parameters explained", "nothing"),
    "01_install_checks": ("Python, packages, psycopg2, psql/pg_dump, server reachable, version, "
                          "encoding, authentication method, port; install command for this OS",
                          "training: starts the embedded server, builds the sample SQLite data"),
    "02_create_database": ("application role + database owned by it, password from the secret, "
                           "schema rights, connect-as-app check",
                           "creates what is missing on the server; a second run changes nothing"),
    "03_migrate": ("snapshot of the SQLite file, schema plan, data copy, indexes/FKs/sequences",
                   "writes the tables in the target database"),
    "04_validate": ("counts, checksums, sequences, FK integrity, samples, the guide's checks",
                    "nothing (reads only)"),
    "05_troubleshoot": ("known problems: probe, diagnose, fix; fault drills in training mode",
                        "training drills break and repair the embedded server on purpose"),
    "06_django_cutover": ("settings snippet, .env, .gitignore, settings lint, migrate, superuser, "
                          "runserver smoke, the guide's checklist",
                          "the Django settings only when apply_settings is true; .env"),
    "07_benchmark": ("the guide's SQLite-vs-PostgreSQL table measured here, plotted",
                     "scratch tables, dropped afterwards"),
    "08_operate": ("pg_dump backup + restore test, retention, rollback to SQLite, monitoring",
                   "backup files under backup_dir; a scratch restore database"),
}


def stage_map():
    """The stages as a DataFrame: notebook, what it does, what it changes, present here."""
    import pandas as pd

    folder = paths.project_root() / "notebooks"
    rows = [{"notebook": f"{stem}.ipynb", "what it does": what, "what it changes": changes,
             "present": (folder / f"{stem}.ipynb").is_file()}
            for stem, (what, changes) in STAGES.items()]
    return pd.DataFrame(rows)


def parameters_table(settings=None):
    """Every parameter: default, allowed values, meaning (and this run's value when given)."""
    import pandas as pd

    rows = []
    for name, (default, kind, meaning) in PARAMETERS.items():
        allowed = " | ".join(map(repr, kind)) if isinstance(kind, tuple) else kind.__name__
        row = {"parameter": name, "default": repr(default), "allowed": allowed,
               "meaning": meaning}
        if settings is not None:
            row["this run"] = repr(getattr(settings, name))
        rows.append(row)
    return pd.DataFrame(rows)


def styled(frame):
    """A table as the notebook shows it: no index, every value HTML-escaped (pandas' Styler
    does not escape by default, and a parameter's value is the user's text)."""
    return frame.style.hide(axis="index").format(escape="html")


__all__ = ["STAGES", "stage_map", "parameters_table", "styled"]
