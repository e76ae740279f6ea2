from feed.apis import videos

urlpatterns = [
    *videos.urlpatterns,
]
