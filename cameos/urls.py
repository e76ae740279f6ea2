"""The cameos API under /api/v1/: registration, cameos and their permissions, usage log."""

from django.urls import URLPattern, URLResolver, include, path

from cameos import apis

# Permissions and use (the registration endpoints live under cameos/registrations).
urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("cameos.registration.urls")),
    path("cameos", apis.CameoListApi.as_view(), name="cameo-list"),
    path("cameos/usable", apis.CameoUsableListApi.as_view(), name="cameo-usable"),
    path("cameos/requests/mine", apis.MyRequestListApi.as_view(), name="cameo-requests-mine"),
    path("cameos/handle/<str:handle>", apis.CameoByHandleApi.as_view(), name="cameo-by-handle"),
    path("cameos/<uuid:cameo_id>", apis.CameoDetailApi.as_view(), name="cameo-detail"),
    path(
        "cameos/<uuid:cameo_id>/restrictions", apis.CameoRestrictionsApi.as_view(), name="cameo-restrictions"
    ),
    path("cameos/<uuid:cameo_id>/requests", apis.CameoRequestApi.as_view(), name="cameo-requests"),
    path(
        "cameos/<uuid:cameo_id>/requests/<uuid:request_id>/approve",
        apis.CameoRequestApproveApi.as_view(),
        name="cameo-request-approve",
    ),
    path(
        "cameos/<uuid:cameo_id>/requests/<uuid:request_id>/deny",
        apis.CameoRequestDenyApi.as_view(),
        name="cameo-request-deny",
    ),
    path(
        "cameos/<uuid:cameo_id>/requests/<uuid:request_id>/revoke",
        apis.CameoRequestRevokeApi.as_view(),
        name="cameo-request-revoke",
    ),
    path("cameos/<uuid:cameo_id>/uses", apis.CameoUseListApi.as_view(), name="cameo-uses"),
]
