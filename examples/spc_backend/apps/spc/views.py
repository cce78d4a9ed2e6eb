"""A small JSON API over the SPC data: plain Django views, no framework.

Every response names the database vendor it was read from (`"database": "postgresql"`), so
the runbook's smoke test can prove the application reads PostgreSQL after the cutover.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Avg, Count, Max, Min, Q, StdDev
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404

from .models import Product, QualityMeasurement

PRODUCT_FIELDS = ("id", "product_code", "product_name", "usl", "lsl", "target", "unit",
                  "is_active")
MEASUREMENT_FIELDS = ("id", "sample_group", "value", "measured_at", "operator",
                      "is_out_of_spec")
MAX_LIMIT = 1000


def _limit(request: HttpRequest, default: int) -> int:
    """The `?limit=` query parameter, clamped to 0..MAX_LIMIT."""
    try:
        return max(0, min(int(request.GET.get("limit", default)), MAX_LIMIT))
    except ValueError:
        return default


def capability(usl: float, lsl: float, mean: float | None, std: float | None) -> dict:
    """Cp and Cpk of a process with this mean and (sample) standard deviation."""
    if mean is None or not std:
        return {"cp": None, "cpk": None}
    return {"cp": (usl - lsl) / (6 * std), "cpk": min(usl - mean, mean - lsl) / (3 * std)}


def product_list(request: HttpRequest) -> JsonResponse:
    """GET /api/products/: every product with its specification limits."""
    products = list(Product.objects.order_by("id").values(*PRODUCT_FIELDS))
    return JsonResponse({"database": connection.vendor, "count": len(products),
                         "products": products})


def product_measurements(request: HttpRequest, pk: int) -> JsonResponse:
    """GET /api/products/<id>/measurements/: statistics, Cp/Cpk and the latest values."""
    product = get_object_or_404(Product, pk=pk)
    rows = QualityMeasurement.objects.filter(product=product)
    stats = rows.aggregate(count=Count("id"), mean=Avg("value"), std=StdDev("value", sample=True),
                           min=Min("value"), max=Max("value"),
                           out_of_spec=Count("id", filter=Q(is_out_of_spec=True)))
    latest = list(rows.order_by("-measured_at", "-id")
                  .values(*MEASUREMENT_FIELDS)[:_limit(request, 100)])
    product_info = {f: getattr(product, f) for f in PRODUCT_FIELDS}
    return JsonResponse({"database": connection.vendor, "product": product_info, **stats,
                         **capability(product.usl, product.lsl, stats["mean"], stats["std"]),
                         "measurements": latest})
