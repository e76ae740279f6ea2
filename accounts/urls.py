from django.urls import path

from accounts import apis

urlpatterns = [
    path("waitlist", apis.WaitlistJoinApi.as_view(), name="waitlist-join"),
    path("invites/<str:code>", apis.InviteCheckApi.as_view(), name="invite-check"),
    path("auth/signup", apis.SignupApi.as_view(), name="signup"),
    path("auth/token", apis.TokenObtainApi.as_view(), name="token-obtain"),
    path("auth/token/refresh", apis.TokenRefreshApi.as_view(), name="token-refresh"),
    path("auth/logout", apis.LogoutApi.as_view(), name="logout"),
    path("me", apis.MeApi.as_view(), name="me"),
    path("me/avatar", apis.AvatarApi.as_view(), name="me-avatar"),
    path("me/invites", apis.MyInvitesApi.as_view(), name="me-invites"),
    path("me/mutuals", apis.MutualsApi.as_view(), name="me-mutuals"),
    path("me/blocks", apis.BlocksApi.as_view(), name="me-blocks"),
    path("users/<str:username>", apis.UserDetailApi.as_view(), name="user-detail"),
    path("users/<str:username>/followers", apis.FollowersApi.as_view(), name="user-followers"),
    path("users/<str:username>/following", apis.FollowingApi.as_view(), name="user-following"),
    path("users/<str:username>/follow", apis.FollowApi.as_view(), name="user-follow"),
    path("users/<str:username>/block", apis.BlockApi.as_view(), name="user-block"),
]
