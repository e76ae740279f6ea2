"""The provenance API under /api/v1/."""

from django.urls import URLPattern, URLResolver, path

from provenance import apis, lookup_api

urlpatterns: list[URLPattern | URLResolver] = [
    path("videos/<uuid:video_id>/provenance", apis.VideoProvenanceApi.as_view(), name="video-provenance"),
    path("provenance/lookup", lookup_api.ProvenanceLookupApi.as_view(), name="provenance-lookup"),
]
