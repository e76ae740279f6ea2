"""Profile edits, avatars checked by content, and account deletion."""

from __future__ import annotations

import io
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.models import Follow, Invite, Profile, User, WaitlistEntry
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def png_bytes(size=(64, 48), color=(200, 30, 60), fmt="PNG", **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt, **save)
    return out.getvalue()


def png_bomb(width=60000, height=60000) -> bytes:
    """A valid PNG header claiming a huge image, with a tiny compressed body."""
    import struct

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def test_edit_profile(auth_client):
    user = UserFactory()
    response = auth_client(user).patch(
        "/api/v1/me", {"display_name": "  New Name ", "bio": "Hello"}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["display_name"], response.json()["bio"]) == ("New Name", "Hello")
    too_long = auth_client(user).patch("/api/v1/me", {"bio": "x" * 301}, format="json")
    assert too_long.status_code == 400
    assert "bio" in too_long.json()["error"]["fields"]


def test_avatar_is_reencoded_and_stripped(auth_client):
    user = UserFactory()
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc."  # camera make, standing in for GPS and serials
    upload = SimpleUploadedFile(
        "me.jpg", png_bytes(fmt="JPEG", exif=exif.tobytes()), content_type="image/jpeg"
    )
    response = auth_client(user).put("/api/v1/me/avatar", {"avatar": upload}, format="multipart")
    assert response.status_code == 200, response.json()
    assert response.json()["avatar_url"].endswith(".webp")
    stored = Profile.objects.get(user=user).avatar
    with stored.open("rb") as fh:
        data = fh.read()
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size) == ("WEBP", (512, 512))
    assert b"SpyCam" not in data


def test_polyglot_loses_its_payload(auth_client):
    user = UserFactory()
    payload = b"PK\x03\x04<?php system($_GET['c']); ?>"
    upload = SimpleUploadedFile("me.png", png_bytes() + payload, content_type="image/png")
    assert (
        auth_client(user).put("/api/v1/me/avatar", {"avatar": upload}, format="multipart").status_code == 200
    )
    with Profile.objects.get(user=user).avatar.open("rb") as fh:
        assert b"system(" not in fh.read()


@pytest.mark.parametrize(
    ("content", "name", "code"),
    [
        pytest.param(png_bomb(), "bomb.png", "image_too_many_pixels", id="decompression-bomb"),
        pytest.param(b"#!/bin/sh\necho hi\n" * 10, "evil.png", "image_invalid", id="script-named-png"),
        pytest.param(png_bytes(fmt="GIF"), "anim.gif", "image_type_unsupported", id="gif"),
        pytest.param(png_bytes()[:60], "cut.png", "image_invalid", id="truncated"),
        pytest.param(b"\x00" * (5 * 1024 * 1024 + 1), "huge.png", "image_too_large", id="too-large"),
    ],
)
def test_bad_avatars_are_refused_with_a_4xx(auth_client, content, name, code):
    user = UserFactory()
    upload = SimpleUploadedFile(name, content, content_type="image/png")
    response = auth_client(user).put("/api/v1/me/avatar", {"avatar": upload}, format="multipart")
    assert response.status_code == 400, response.content[:200]
    assert response.json()["error"]["code"] == code
    assert not Profile.objects.get(user=user).avatar


def test_account_deletion_removes_personal_data(auth_client, api):
    # Given a member with an avatar, follows, a waitlist entry and unshared invites
    user = UserFactory(username="leaving", email="leaving@example.com")
    friend = UserFactory()
    Follow.objects.create(follower=user, followee=friend)
    Follow.objects.create(follower=friend, followee=user)
    WaitlistEntry.objects.create(email="leaving@example.com")
    from accounts import services

    services.member_invites_grant(user=user)
    client = auth_client(user)
    upload = SimpleUploadedFile("me.png", png_bytes(), content_type="image/png")
    client.put("/api/v1/me/avatar", {"avatar": upload}, format="multipart")
    avatar = Profile.objects.get(user=user).avatar
    storage, name = avatar.storage, avatar.name
    refresh = api.post(
        "/api/v1/auth/token", {"username": "leaving", "password": PASSWORD}, format="json"
    ).json()

    # When they delete the account (wrong password first)
    wrong = client.delete("/api/v1/me", {"password": "nope"}, format="json")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (403, "password_wrong")
    with pytest.MonkeyPatch.context() as mp:
        from django.db import transaction

        mp.setattr(transaction, "on_commit", lambda fn, **kw: fn())
        assert client.delete("/api/v1/me", {"password": PASSWORD}, format="json").status_code == 204

    # Then nothing personal remains, and old tokens are dead
    assert not User.objects.filter(username="leaving").exists()
    assert not Profile.objects.filter(user_id=user.id).exists()
    assert not Follow.objects.filter(follower=friend).exists()
    assert not WaitlistEntry.objects.filter(email="leaving@example.com").exists()
    assert not Invite.objects.filter(created_by_id=user.id).exists()
    assert not storage.exists(name)
    assert client.get("/api/v1/me").status_code == 401
    again = api.post("/api/v1/auth/token/refresh", {"refresh": refresh["refresh"]}, format="json")
    assert again.status_code == 401
