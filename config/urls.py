from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.api import HANDLERS, api_not_found
from config.asyncapi import asyncapi_view
from config.health import healthz
from feed.export import export_signed
from feed.media import media_signed
from feed.share import share_media, share_page
from provenance.views import trust_anchors

admin.site.site_header = "Kino moderation"
admin.site.site_title = "Kino admin"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="beta:waitlist", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("beta/", include("accounts.web_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/asyncapi/", asyncapi_view, name="asyncapi"),
    # The split view serves Swagger UI's start-up script from a URL: no inline script, so the CSP holds.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("accounts.urls")),
    path("api/v1/", include("generation.urls")),
    path("api/v1/", include("cameos.urls")),
    path("api/v1/", include("feed.urls")),
    path("api/v1/", include("moderation.urls")),
    path("api/v1/", include("provenance.urls")),
    path("api/v1/", include("recommender.urls")),
    path("media/signed/<str:token>", media_signed, name="media-signed"),
    path("exports/signed/<str:token>", export_signed, name="export-signed"),
    # A post's public page and its media, for anyone with the link (no login).
    path("v/<uuid:video_id>", share_page, name="share"),
    path("v/<uuid:video_id>/<str:name>", share_media, name="share-media"),
    # Kino's C2PA root(s), so anyone can check that a file it signed reads as trusted.
    path(".well-known/c2pa/trust-anchors.pem", trust_anchors, name="c2pa-trust-anchors"),
    # Unknown API paths answer in the API's error shape, also with DEBUG on.
    re_path(r"^api/", api_not_found),
]
if settings.SERVE_MEDIA:
    # Only public files (avatars) by plain path; drafts go through signed, expiring URLs.
    media = settings.MEDIA_URL.lstrip("/")
    urlpatterns.append(
        re_path(rf"^{media}(?P<path>avatars/.*)$", serve, {"document_root": settings.MEDIA_ROOT})
    )

handler400 = HANDLERS["handler400"]
handler403 = HANDLERS["handler403"]
handler404 = HANDLERS["handler404"]
handler500 = HANDLERS["handler500"]
