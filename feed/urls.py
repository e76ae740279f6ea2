from feed.apis import events as event_apis
from feed.apis import export as export_apis
from feed.apis import lineage as lineage_apis
from feed.apis import notifications as notification_apis
from feed.apis import oversight as oversight_apis
from feed.apis import profiles, videos
from feed.apis import reactions as reaction_apis

urlpatterns = [
    *event_apis.urlpatterns,
    *notification_apis.urlpatterns,
    *export_apis.urlpatterns,
    *videos.urlpatterns,
    *lineage_apis.urlpatterns,
    *profiles.urlpatterns,
    *reaction_apis.urlpatterns,
    *oversight_apis.urlpatterns,
]
