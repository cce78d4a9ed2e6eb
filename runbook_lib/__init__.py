"""runbook_lib: the helper library behind the migration runbook's notebooks.

Layout (imports run one way, app → stages → core; `tests/unit/test_layout.py` keeps it so):

- `core/`: settings, secrets, errors and their diagnosis, connections, the embedded server,
  the Django project runner, results, manifest, i18n, paths.
- stages, one package per notebook group: `prepare/` (01-02), `migrate/` (03), `validate/`
  (04), `troubleshoot/` (05), `cutover/` (06), `bench/` (07), `operate/` (08).
- `app/`: the ways a person drives the runbook (CLI, runner, report, widgets, training).

The names below are what every notebook needs first.
"""

from .core.config import Settings, load_settings
from .core.errors import RunbookError
from .core.results import Check, require_ok, verdict
from .core.secrets import Secret

__all__ = ["Settings", "load_settings", "RunbookError", "Check", "require_ok", "verdict", "Secret"]
__version__ = "0.1.0"
