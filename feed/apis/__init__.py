"""HTTP API of the feed app, one module per topic; each module's `urlpatterns` is mounted by
`feed/urls.py` under /api/v1/."""
