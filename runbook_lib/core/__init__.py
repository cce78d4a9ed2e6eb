"""The core every stage stands on; it imports no stage package and nothing of the app layer.

`config` (parameters, `Settings`), `secrets` (masked values, `scrub`), `errors` (the exception
tree), `diagnose` + `catalogue` (any exception → a known problem and its fix), `db`
(connections that fail with a diagnosis), `server` (the embedded PostgreSQL, client tools),
`django_project` (runs the project's `manage.py`), `results` (checks), `manifest` (state
between stages), `state` (the migration's record kept with the target), `port_memory` (the
embedded server's remembered port), `i18n`, `display` (how tables and checks look in a
notebook), `paths`, `files` (private, safely named files), `escape` (text from data shown in
HTML, Markdown or a terminal), `strict_yaml` (bounded profiles), `identifiers`, `hba`
(pg_hba.conf address rules), `target_lock` (one run per target database), `source_state`
(has the live source moved on).
Import the modules by name: `from runbook_lib.core import db, server`.
"""

__all__ = ["catalogue", "config", "db", "diagnose", "display", "django_project", "errors",
           "escape", "files", "hba", "i18n", "identifiers", "manifest", "paths", "port_memory",
           "results", "secrets", "server", "source_state", "state", "strict_yaml", "target_lock"]
