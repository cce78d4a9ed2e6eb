"""A small shop with one third-party app (django-countries)."""
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "smallshop-test-only"
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "django_countries",
                  "shop"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
