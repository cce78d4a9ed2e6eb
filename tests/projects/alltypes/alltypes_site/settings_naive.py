"""The same project with USE_TZ = False: naive wall-clock times in America/New_York."""
from .settings_tz import *  # noqa: F401,F403

USE_TZ = False
