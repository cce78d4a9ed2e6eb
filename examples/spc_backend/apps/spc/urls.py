"""The SPC JSON API (mounted under /api/ by config.urls)."""

from django.urls import path

from . import views

urlpatterns = [
    path("products/", views.product_list, name="product-list"),
    path("products/<int:pk>/measurements/", views.product_measurements,
         name="product-measurements"),
]
