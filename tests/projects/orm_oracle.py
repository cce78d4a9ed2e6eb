"""The test oracle, run inside a project's own process: `manage.py shell -c <this file>`.

Independent of the runbook (it imports nothing of it): the project's ORM reads every model's
rows, field by field (`RUNBOOK_ORACLE=dump`), or inserts one new object per model that has
rows (`RUNBOOK_ORACLE=insert`): a copy of its last row with every unique value made new (a
unique reference points at a new copy of its target), saved with force_insert, so the
database hands out the next key from its sequence.
Output: one line `ORACLE <json>`.
"""
import datetime
import decimal
import json
import os
import uuid

from django.apps import apps
from django.db import IntegrityError, models, transaction

AUTO = (models.AutoField, models.BigAutoField, models.SmallAutoField)


def plain(value):
    """A value as a comparable [type, text] pair (bytes and memoryview alike)."""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return ["bytes", value.hex()]
    if isinstance(value, float):
        return ["float", repr(value)]
    if isinstance(value, datetime.timedelta):
        return ["timedelta", str(value // datetime.timedelta(microseconds=1))]
    if isinstance(value, (dict, list)):
        return ["json", json.dumps(value, sort_keys=True)]
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return [type(value).__name__, value.isoformat()]
    if value is None or isinstance(value, (bool, int, str)):
        return [type(value).__name__, value]
    return [type(value).__name__, str(value)]


def concrete_models():
    for model in apps.get_models(include_auto_created=True):
        opts = model._meta
        if not (opts.proxy or opts.swapped or not opts.managed):
            yield model


def dump():
    out = {}
    for model in concrete_models():
        fields = [f.attname for f in model._meta.concrete_fields]
        rows = model._base_manager.order_by("pk").values_list(*fields)
        out[model._meta.label] = {"fields": fields, "rows": [[plain(v) for v in r] for r in rows]}
    return out


def fresh(field, value):
    """A new value for a unique field, of the same kind."""
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, (models.IntegerField, models.DecimalField, models.FloatField)):
        top = field.model._base_manager.aggregate(m=models.Max(field.attname))["m"] or 0
        return top + 1
    if isinstance(field, models.CharField):
        text = f"new-{uuid.uuid4().hex[:8]}"
        return text[:field.max_length] if field.max_length else text
    return value


def clone(model, depth=0):
    """Insert a copy of the model's last row with every unique value new; its key."""
    rows = model._base_manager.all()
    if hasattr(rows, "non_polymorphic"):  # django-polymorphic: this model's own row
        rows = rows.non_polymorphic()
    obj = rows.order_by("pk").last()
    if obj is None:
        return None
    opts = model._meta
    together = {name for group in opts.unique_together for name in group}
    for constraint in opts.constraints:
        together |= set(getattr(constraint, "fields", ()) or ())
    for f in opts.concrete_fields:
        if f.primary_key and isinstance(f, AUTO):
            setattr(obj, f.attname, None)
        elif f.primary_key and f.is_relation:  # multi-table inheritance: copy the parent
            parent = clone(f.related_model, depth + 1)
            setattr(obj, f.attname, parent)
            setattr(obj, f.target_field.attname, parent)
        elif f.unique or f.primary_key or f.name in together:
            if f.is_relation and getattr(obj, f.attname) is None:
                continue  # an empty unique reference stays empty
            if f.is_relation and depth < 3:
                setattr(obj, f.attname, clone(f.related_model, depth + 1))
            elif not f.is_relation:
                setattr(obj, f.attname, fresh(f, getattr(obj, f.attname)))
    obj._state.adding = True
    obj.save_base(raw=True, force_insert=True)
    return obj.pk


def insert():
    out = {}
    for model in concrete_models():
        label = model._meta.label
        if not model._base_manager.exists():
            continue
        pk = model._meta.pk
        before = (model._base_manager.aggregate(m=models.Max(pk.attname))["m"]
                  if isinstance(pk, AUTO) else None)
        try:
            with transaction.atomic():
                key = clone(model)
        except (IntegrityError, ValueError, TypeError, decimal.InvalidOperation) as exc:
            out[label] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
            continue
        past = not isinstance(pk, AUTO) or (key is not None and key > before)
        out[label] = {"ok": past, "key": str(key), "before": str(before)}
    return out


print("ORACLE " + json.dumps({"dump": dump, "insert": insert}[os.environ["RUNBOOK_ORACLE"]]()))
