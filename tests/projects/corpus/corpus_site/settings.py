"""A project built from well-known third-party apps (the runbook's real-world test corpus)."""
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "corpus-test-only"
DEBUG = True
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
SITE_ID = 1

INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
    "django.contrib.sites",
    "wagtail.contrib.forms", "wagtail.contrib.redirects", "wagtail.embeds", "wagtail.sites",
    "wagtail.users", "wagtail.snippets", "wagtail.documents", "wagtail.images",
    "wagtail.search", "wagtail.admin", "wagtail", "modelcluster", "taggit",
    "mptt", "treebeard", "polymorphic", "import_export", "django_celery_beat",
    "django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static",
    "oauth2_provider", "waffle", "constance", "djmoney", "django_countries",
    "rest_framework", "rest_framework.authtoken", "simple_history", "guardian",
    "allauth", "allauth.account", "allauth.socialaccount", "reversion",
    "customer_accounts", "storefront",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]
ROOT_URLCONF = "corpus_site.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [],
              "APP_DIRS": True, "OPTIONS": {"context_processors": [
                  "django.template.context_processors.request",
                  "django.contrib.auth.context_processors.auth",
                  "django.contrib.messages.context_processors.messages"]}}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
AUTH_USER_MODEL = "customer_accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend",
                           "guardian.backends.ObjectPermissionBackend"]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
MEDIA_ROOT = BASE_DIR / "media"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
WAGTAIL_SITE_NAME = "corpus"
WAGTAILADMIN_BASE_URL = "http://localhost"
CONSTANCE_BACKEND = "constance.backends.database.DatabaseBackend"
CONSTANCE_CONFIG = {"SITE_BANNER": ("welcome", "banner text"), "MAX_ITEMS": (10, "max items")}
