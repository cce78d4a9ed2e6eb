"""Admin pages of the SPC app."""

from django.contrib import admin

from .models import Product, QualityMeasurement


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    """Products with their spec limits."""

    list_display = ("product_code", "product_name", "lsl", "target", "usl", "unit", "is_active")
    search_fields = ("product_code", "product_name")


@admin.register(QualityMeasurement)
class QualityMeasurementAdmin(admin.ModelAdmin):
    """Measurements, newest first."""

    list_display = ("product", "sample_group", "value", "measured_at", "operator",
                    "is_out_of_spec")
    list_filter = ("is_out_of_spec",)
    raw_id_fields = ("product",)
    ordering = ("-measured_at",)
