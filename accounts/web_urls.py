from django.urls import path

from accounts import web

app_name = "beta"
urlpatterns = [
    path("", web.waitlist_page, name="waitlist"),
    path("invite/", web.invite_enter, name="invite"),
    path("invite/<str:code>/", web.invite_redeem_page, name="redeem"),
]
