"""Development settings: the guide's SQLite database next to manage.py."""

from .base import *  # noqa: F401,F403
from .base import BASE_DIR

DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.sqlite3',
        'NAME': BASE_DIR / 'db.sqlite3',
    }
}
