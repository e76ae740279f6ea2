"""Follow, block and the lists built on them."""

from __future__ import annotations

import pytest

from accounts.models import Follow
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return UserFactory(username="alice")


@pytest.fixture
def bob():
    return UserFactory(username="bob")


def test_follow_unfollow_roundtrip(auth_client, alice, bob):
    client = auth_client(alice)
    assert client.post("/api/v1/users/bob/follow").status_code == 201
    assert client.post("/api/v1/users/bob/follow").status_code == 200  # repeating is harmless
    profile = client.get("/api/v1/users/bob").json()
    assert (profile["followers_count"], profile["is_following"], profile["follows_you"]) == (1, True, False)
    assert client.delete("/api/v1/users/bob/follow").status_code == 204
    assert client.get("/api/v1/users/bob").json()["followers_count"] == 0


def test_cannot_follow_self_or_unknown(auth_client, alice):
    client = auth_client(alice)
    assert client.post("/api/v1/users/alice/follow").json()["error"]["code"] == "follow_self"
    missing = client.post("/api/v1/users/nobody/follow")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "user_not_found")


def test_mutuals(auth_client, alice, bob):
    carol = UserFactory(username="carol")
    Follow.objects.bulk_create(
        [
            Follow(follower=alice, followee=bob),
            Follow(follower=bob, followee=alice),
            Follow(follower=alice, followee=carol),
        ]
    )
    names = [
        row["user"]["username"] for row in auth_client(alice).get("/api/v1/me/mutuals").json()["results"]
    ]
    assert names == ["bob"]


def test_block_hides_both_sides_and_ends_follows(auth_client, alice, bob):
    Follow.objects.bulk_create([Follow(follower=alice, followee=bob), Follow(follower=bob, followee=alice)])
    assert auth_client(alice).post("/api/v1/users/bob/block").status_code == 200
    assert not Follow.objects.exists()
    # Neither can see or follow the other: it is as if they did not exist
    for client, other in ((auth_client(alice), "bob"), (auth_client(bob), "alice")):
        assert client.get(f"/api/v1/users/{other}").status_code == 404
        assert client.post(f"/api/v1/users/{other}/follow").status_code == 404
        assert client.get(f"/api/v1/users/{other}/followers").status_code == 404
    # and they vanish from third parties' lists as seen by either of them
    carol = UserFactory(username="carol")
    Follow.objects.create(follower=bob, followee=carol)
    rows = auth_client(alice).get("/api/v1/users/carol/followers").json()["results"]
    assert rows == []
    blocks = auth_client(alice).get("/api/v1/me/blocks").json()["results"]
    assert [b["user"]["username"] for b in blocks] == ["bob"]
    # Unblocking restores visibility
    assert auth_client(alice).delete("/api/v1/users/bob/block").status_code == 204
    assert auth_client(alice).get("/api/v1/users/bob").status_code == 200


def test_followers_pages_with_a_cursor(auth_client, alice):
    fans = UserFactory.create_batch(25)
    Follow.objects.bulk_create([Follow(follower=f, followee=alice) for f in fans])
    client = auth_client(alice)
    first = client.get("/api/v1/users/alice/followers?limit=10").json()
    seen = [row["user"]["username"] for row in first["results"]]
    url = first["next"]
    while url:
        page = client.get(url).json()
        seen += [row["user"]["username"] for row in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(f.username for f in fans)
    assert len(seen) == len(set(seen)) == 25


def test_bad_cursor_is_a_400(auth_client, alice):
    response = auth_client(alice).get("/api/v1/users/alice/followers?cursor=%%%garbage")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/users/alice/followers",
        "/api/v1/users/alice/following",
        "/api/v1/me/mutuals",
        "/api/v1/me/blocks",
        "/api/v1/me/invites",
    ],
)
def test_list_endpoints_make_a_constant_number_of_queries(
    auth_client, alice, django_assert_max_num_queries, url
):
    from accounts import services
    from accounts.models import Block

    others = UserFactory.create_batch(15)
    Follow.objects.bulk_create(
        [Follow(follower=o, followee=alice) for o in others]
        + [Follow(follower=alice, followee=o) for o in others]
    )
    Block.objects.bulk_create([Block(blocker=alice, blocked=u) for u in UserFactory.create_batch(15)])
    services.member_invites_grant(user=alice, count=15)
    client = auth_client(alice)
    with django_assert_max_num_queries(4):  # auth user + list + count/lookup, whatever the page size
        response = client.get(url + "?limit=15")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 15
