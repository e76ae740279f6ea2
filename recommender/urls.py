"""The recommender's routes under /api/v1/: each part's API module adds its patterns (one line each)."""

from recommender.apis import feed, guardians, search, steer, topics

urlpatterns = [
    *feed.urlpatterns,
    *steer.urlpatterns,  # R3: steering, check-ins
    *guardians.urlpatterns,  # R3: guardian links
    *search.urlpatterns,  # R4: search
    *topics.urlpatterns,  # R1: cold-start topics
]
