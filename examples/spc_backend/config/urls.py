"""URL routes: the admin and the SPC API."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("apps.spc.urls")),
]
