"""Stage 06: switch the Django project to PostgreSQL and prove it, with the way back.

`settings_block` (the DATABASES block, `.env`, `.gitignore`), `settings_lint` (the guide's
settings and the project's own, linted), `check_target` / `record` / `remember_source`
(manage.py checks, superuser, a live runserver smoke test), `checklist` (guide_checklist: the guide's
checklist as checks), `verify_rollback` / `left_behind` (the rollback to SQLite, proven),
`sync` (catch-up sync of the migrated target from the live SQLite file; `runbook sync`) with
`sync_find`, `sync_keys`, `sync_apply`, and `window` (the cutover procedure: `start_writer`
for the training drill, `catch_up`, `stop_writes`, `app_up`: the write-downtime window).
"""

from . import settings_block, settings_lint
from .checks import check_target, record, remember_source
from .guide_checklist import checklist
from .rollback import left_behind, verify_rollback
from .sync import SyncError, SyncReport, sync
from .window import app_up, catch_up, start_writer, stop_writes

__all__ = ["settings_block", "settings_lint", "check_target", "record", "remember_source",
           "checklist", "verify_rollback", "left_behind", "sync", "SyncReport", "SyncError", "catch_up",
           "start_writer", "stop_writes", "app_up"]
