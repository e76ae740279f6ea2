from django.urls import path

from generation import apis

urlpatterns = [
    path("generations", apis.GenerationListCreateApi.as_view(), name="generations"),
    path("generations/enhance", apis.GenerationEnhanceApi.as_view(), name="generation-enhance"),
    path("generations/storyboard", apis.GenerationStoryboardApi.as_view(), name="generation-storyboard"),
    path("generations/stitch", apis.GenerationStitchApi.as_view(), name="generation-stitch"),
    path("generations/<uuid:job_id>", apis.GenerationDetailApi.as_view(), name="generation-detail"),
    path("generations/<uuid:job_id>/cancel", apis.GenerationCancelApi.as_view(), name="generation-cancel"),
]
