"""App configuration of the SPC app."""

from django.apps import AppConfig


class SpcConfig(AppConfig):
    """The SPC app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.spc"
    verbose_name = "SPC"
