"""runbook_lib: the helper library behind the migration runbook's notebooks."""

from .config import Settings, load_settings
from .errors import RunbookError
from .results import Check, require_ok
from .secrets import Secret

__all__ = ["Settings", "load_settings", "RunbookError", "Check", "require_ok", "Secret"]
__version__ = "0.1.0"
