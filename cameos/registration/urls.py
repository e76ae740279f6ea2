"""Registration's endpoints, under /api/v1/cameos/registrations."""

from django.urls import URLPattern, path

from cameos.registration import apis

urlpatterns: list[URLPattern] = [
    path("cameos/registrations", apis.RegistrationListCreateApi.as_view(), name="cameo-registrations"),
    path(
        "cameos/registrations/<uuid:registration_id>",
        apis.RegistrationDetailApi.as_view(),
        name="cameo-registration-detail",
    ),
    path(
        "cameos/registrations/<uuid:registration_id>/upload",
        apis.RegistrationUploadApi.as_view(),
        name="cameo-registration-upload",
    ),
    path(
        "cameos/registrations/<uuid:registration_id>/review",
        apis.RegistrationReviewApi.as_view(),
        name="cameo-registration-review",
    ),
]
