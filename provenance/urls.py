"""The provenance API under /api/v1/."""

from django.urls import URLPattern, URLResolver, path

from provenance import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("videos/<uuid:video_id>/provenance", apis.VideoProvenanceApi.as_view(), name="video-provenance"),
]
