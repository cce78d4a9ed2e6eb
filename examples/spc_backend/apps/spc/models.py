"""Products with specification limits and the quality measurements taken on them."""

from django.db import models
from django.utils import timezone


class Product(models.Model):
    """A product whose measurements are controlled against USL/LSL around a target."""

    product_code = models.CharField(max_length=50, unique=True)
    product_name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    usl = models.FloatField(help_text="upper specification limit")
    lsl = models.FloatField(help_text="lower specification limit")
    target = models.FloatField()
    unit = models.CharField(max_length=20)
    unit_cost = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=['product_code']),
            models.Index(fields=['-created_at']),
        ]

    def __str__(self) -> str:
        return f"{self.product_code}: {self.product_name}"


class QualityMeasurement(models.Model):
    """One measured value of a product, taken in a timestamped sample group."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="measurements")
    sample_group = models.IntegerField()
    value = models.FloatField()
    measured_at = models.DateTimeField(db_index=True)
    operator = models.CharField(max_length=50)
    note = models.TextField(blank=True, default="")
    is_out_of_spec = models.BooleanField(default=False)
    extra = models.JSONField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.product_id} #{self.sample_group}: {self.value}"
