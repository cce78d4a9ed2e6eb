"""What the project's Django says about its models: tables, columns, field types, settings.

`SCRIPT` runs inside the project's own process (`manage.py shell -c`, or after `migrate` in
`Ahead`), so the answers are those of the project's Django (4.2 LTS or 5.x) on the backend
that process is configured for: `_meta.db_table` is what Django names the table on that
backend (it shortens names over 63 characters on PostgreSQL, never on SQLite). The script is
plain Python and imports nothing of the runbook. `sqlite_decimal` is how Django's SQLite
backend reads a DecimalField value (what the application sees).
"""

from __future__ import annotations

import decimal
import json
from dataclasses import dataclass, field

from .errors import RunbookError
from .secrets import scrub

MARK = "RUNBOOK-MODELS "
SCRIPT = """\
import json as _json
import django as _django
from django.apps import apps as _apps
from django.conf import settings as _settings
from django.db import connection as _connection


def _kind(f):
    seen = 0
    while getattr(f, "is_relation", False) and getattr(f, "target_field", None) is not None \\
            and seen < 10:
        f, seen = f.target_field, seen + 1
    return f.get_internal_type()


_models = []
for _m in _apps.get_models(include_auto_created=True):
    _o = _m._meta
    if _o.proxy or _o.swapped:
        continue
    _fields = [{"name": _f.name, "column": _f.column, "type": _f.get_internal_type(),
                "kind": _kind(_f), "null": bool(_f.null), "pk": bool(_f.primary_key),
                "places": getattr(_f, "decimal_places", None),
                "digits": getattr(_f, "max_digits", None)}
               for _f in _o.local_concrete_fields]
    _models.append({"label": _o.label, "app": _o.app_label, "table": _o.db_table,
                    "managed": bool(_o.managed), "fields": _fields})
print("RUNBOOK-MODELS " + _json.dumps({
    "vendor": _connection.vendor, "django": _django.get_version(),
    "use_tz": bool(_settings.USE_TZ), "time_zone": str(_settings.TIME_ZONE or "UTC"),
    "apps": [a.label for a in _apps.get_app_configs()], "models": _models}))
"""


@dataclass
class ModelInfo:
    label: str
    app: str
    table: str
    managed: bool
    fields: list[dict]

    def column(self, name: str) -> dict | None:
        return next((f for f in self.fields if f["column"] == name), None)


@dataclass
class ProjectModels:
    """The project's models as its Django sees them on one backend."""

    vendor: str
    django: str
    use_tz: bool
    time_zone: str
    apps: list[str] = field(default_factory=list)
    models: list[ModelInfo] = field(default_factory=list)

    def by_label(self) -> dict[str, ModelInfo]:
        return {m.label: m for m in self.models}

    def by_table(self) -> dict[str, ModelInfo]:
        return {m.table: m for m in self.models}


class ModelsError(RunbookError):
    """The project's process did not describe its models."""


NO_ANSWER = {"en": "The project's Django process gave no description of its models; its "
                   "output ended: {tail}",
             "ko": "프로젝트의 Django 프로세스가 모델 설명을 내놓지 않았습니다. 출력의 끝: {tail}"}
NO_ANSWER_FIX = {"en": "Run `python manage.py shell -c \"print(1)\"` in the project: it must "
                       "print 1. A shell command replaced by a third-party app (or a settings "
                       "module that prints or exits) stops the runbook from asking Django.",
                 "ko": "프로젝트에서 `python manage.py shell -c \"print(1)\"`을 실행해 보세요: 1이 "
                       "출력되어야 합니다. 서드파티 앱이 shell 명령을 바꿨거나 settings 모듈이 "
                       "출력하거나 종료하면 runbook이 Django에 물어볼 수 없습니다."}


def parse(stdout: str) -> ProjectModels:
    """The script's answer from a process's output."""
    line = next((x for x in reversed(stdout.splitlines()) if x.startswith(MARK)), None)
    if line is None:
        tail = scrub("\n".join(stdout.strip().splitlines()[-5:])) or "-"
        raise ModelsError(NO_ANSWER, NO_ANSWER_FIX, tail=tail)
    data = json.loads(line[len(MARK):])
    models = [ModelInfo(**m) for m in data.pop("models")]
    return ProjectModels(models=models, **data)


def describe(settings, database: str = "postgresql", sqlite_path=None) -> ProjectModels:
    """Ask the project's Django (in its own interpreter) about its models on `database`."""
    from .django_project import manage

    done = manage(settings, "shell", "-c", SCRIPT, database=database, sqlite_path=sqlite_path,
                  timeout=600)
    return parse(done.stdout)


def sqlite_decimal(value, places: int, digits: int):
    """A DecimalField value as Django's SQLite backend reads it (15 significant digits, then
    the field's decimal places); None stays None; anything else is returned unchanged."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    read = decimal.Context(prec=15).create_decimal_from_float(value)
    try:
        return read.quantize(decimal.Decimal(1).scaleb(-places),
                             context=decimal.Context(prec=digits))
    except decimal.InvalidOperation:  # more digits than the field holds: Django fails too
        return value


__all__ = ["SCRIPT", "MARK", "ModelInfo", "ProjectModels", "parse", "describe", "sqlite_decimal"]
