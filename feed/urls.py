from feed.apis import reactions as reaction_apis
from feed.apis import videos

urlpatterns = [
    *videos.urlpatterns,
    *reaction_apis.urlpatterns,
]
