from django.urls import path

from feed import apis

urlpatterns = [
    path("videos/<uuid:video_id>", apis.VideoDetailApi.as_view(), name="video-detail"),
    path("me/drafts", apis.DraftListApi.as_view(), name="me-drafts"),
]
