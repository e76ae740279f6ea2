"""The cameos API under /api/v1/: registration, cameos and their permissions, usage log."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
