"""Deactivating and deleting an account: tokens die, sockets close, files go, links answer 404,
and a login racing a deletion is a 401, never a 500."""

from __future__ import annotations

import threading
from urllib.parse import urlparse

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services
from accounts.models import User
from tests.factories import PASSWORD, JobFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db


def test_a_deactivated_members_refresh_token_is_a_plain_401(api):
    user = UserFactory()
    refresh = str(RefreshToken.for_user(user))
    services.member_deactivate(user=user)
    response = api.post("/api/v1/auth/token/refresh", {"refresh": refresh}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "token_not_valid")
    assert "deactivat" not in response.json()["error"]["message"].lower()


def test_deleting_an_account_removes_every_file_and_kills_every_link(
    auth_client, client, django_capture_on_commit_callbacks
):
    from io import BytesIO

    from PIL import Image

    user = UserFactory()
    member = auth_client(user)
    video = VideoFactory(owner=user)
    JobFactory(user=user, start_image="generation/start/start.webp")
    default_storage.save("generation/start/start.webp", BytesIO(b"RIFF....WEBP"))
    avatar = BytesIO()
    Image.new("RGB", (8, 8), "red").save(avatar, format="PNG")
    avatar.seek(0)
    avatar.name = "a.png"
    member.put("/api/v1/me/avatar", {"avatar": avatar}, format="multipart")
    links = member.get(f"/api/v1/videos/{video.id}").json()
    user.profile.refresh_from_db()
    files = [video.video.name, video.poster.name, "generation/start/start.webp", user.profile.avatar.name]
    assert all(default_storage.exists(name) for name in files)
    assert client.get(urlparse(links["video_url"]).path).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        assert member.delete("/api/v1/me", {"password": PASSWORD}, format="json").status_code == 204

    assert not [name for name in files if default_storage.exists(name)]
    for url in (links["video_url"], links["poster_url"]):
        response = client.get(urlparse(url).path)
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_a_link_names_the_video_not_a_storage_path(auth_client):
    user = UserFactory()
    video = VideoFactory(owner=user)
    url = auth_client(user).get(f"/api/v1/videos/{video.id}").json()["video_url"]
    token = urlparse(url).path.rsplit("/", 1)[-1]
    assert token.split(":")[:2] == [str(video.id), "video"]
    assert str(user.id) not in token
    assert "videos" not in token


@pytest.mark.slow
def test_logins_racing_a_deletion_get_200_or_401_never_500(transactional_db):
    user = UserFactory(username="leaving")
    barrier = threading.Barrier(16)
    codes: list[int] = []

    def login() -> None:
        try:
            barrier.wait()
            response = APIClient().post(
                "/api/v1/auth/token", {"username": "leaving", "password": PASSWORD}, format="json"
            )
            codes.append(response.status_code)
        finally:
            connection.close()

    def delete() -> None:
        try:
            barrier.wait()
            services.user_delete(user=user, password=PASSWORD)
            codes.append(204)
        finally:
            connection.close()

    threads = [threading.Thread(target=login) for _ in range(15)] + [threading.Thread(target=delete)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 204 in codes
    assert set(codes) <= {200, 204, 401}
    assert not User.objects.filter(username="leaving").exists()
