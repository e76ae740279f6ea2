from moderation import apis

urlpatterns = [*apis.urlpatterns]
