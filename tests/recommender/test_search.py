"""Search: people by name, cameos by handle, posts by meaning and by caption words; blocks and
visibility, cursor pages per kind, a constant number of queries, pg_trgm's measure."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from accounts.public import members_visible_to
from moderation.public import text_embed
from recommender.models import VideoVector
from recommender.search import DISPLAY_NAME, USERNAME, names_ranked, search_bench
from tests.cameos.factories import CameoFactory, CharacterCameoFactory
from tests.factories import BlockFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def member(username: str, display_name: str = "", **fields: Any) -> Any:
    user: Any = UserFactory(username=username, **fields)
    user.profile.display_name = display_name
    user.profile.save()
    return user


def posted(owner: Any, caption: str, *, prompt: str = "", in_feeds: bool = True, teen_ok: bool = True) -> Any:
    """A post with its vector row as the recommender leaves it once embedded (prompt + caption)."""
    post: Any = PostFactory(owner=owner, caption=caption, prompt=prompt or caption)
    vector = text_embed([f"{post.prompt}\n{caption}"])[0].tolist()
    VideoVector.objects.create(
        video_id=post.id,
        creator_id=owner.id,
        posted_at=timezone.now(),
        content=vector,
        vector=vector,
        in_feeds=in_feeds,
        teen_ok=teen_ok,
        teen_text_ok=True,
    )
    return post


def names(response: Any, key: str = "username") -> list[str]:
    assert response.status_code == 200, response.content[:300]
    return [row[key] for row in response.json()["results"]]


def test_the_trigram_measure_is_pg_trgms():
    # Values pg_trgm 1.6 gives: show_trgm('Ab c'), similarity('jonathan', 'jonathn') = 0.54545456.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT kino_trgm('Ab c'), kino_trgm_similarity('jonathan', kino_trgm('jonathn')),"
            " kino_trgm('--x_Y--'), kino_trgm('!!'), kino_trgm_similarity('abc', kino_trgm('xyz'))"
        )
        trigrams, similarity, split, empty, unrelated = cursor.fetchone()
    assert trigrams == ["  a", "  c", " ab", " c ", "ab "]
    assert similarity == pytest.approx(0.54545456, abs=1e-7)
    assert split == ["  x", "  y", " x ", " y "]
    assert empty == []
    assert unrelated == 0


def test_names_score_pg_trgms_similarity_and_follow_renames():
    viewer = member("viewer")
    someone = member("jonathan_b", "Jon Smith")
    visible = members_visible_to(viewer_id=viewer.id).order_by().values_list("id")

    def ranked(q: str) -> dict[Any, float]:
        return dict(names_ranked(visible, fields=[USERNAME, DISPLAY_NAME], q=q, after=None, limit=10))

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT greatest(kino_trgm_similarity('jonathan_b', kino_trgm('jonathn')),"
            " kino_trgm_similarity('Jon Smith', kino_trgm('jonathn')))"
        )
        (expected,) = cursor.fetchone()
    assert ranked("jonathn") == {someone.id: pytest.approx(expected, abs=1e-12)}

    someone.username = "marguerite"
    someone.save()
    someone.profile.display_name = ""
    someone.profile.save()
    assert ranked("jonathn") == {}
    assert list(ranked("marguerite")) == [someone.id]
    gone = someone.id
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM recommender_searchtrigram WHERE owner_id = %s", [gone])
        assert cursor.fetchone()[0] > 0
        someone.delete()
        cursor.execute("SELECT count(*) FROM recommender_searchtrigram WHERE owner_id = %s", [gone])
        assert cursor.fetchone() == (0,)


def test_people_by_username_and_display_name(auth_client):
    viewer = member("viewer")
    member("jonathan", "Jon Smith")
    member("jonathan_b", "")
    member("zed", "Jonathan Price")
    member("unrelated", "Nobody Here")
    client = auth_client(viewer)

    found = names(client.get("/api/v1/search/people", {"q": "Jonathan"}))
    assert found[0] == "jonathan"  # the same name
    assert set(found) == {"jonathan", "jonathan_b", "zed"}  # a longer username, a display name
    assert names(client.get("/api/v1/search/people", {"q": "@jona"}))[:2] == ["jonathan", "jonathan_b"]
    assert names(client.get("/api/v1/search/people", {"q": "jonathn"}))[0] == "jonathan"  # a typo


def test_people_hides_blocked_either_way_and_deactivated(auth_client):
    viewer = member("viewer")
    blocked, blocker = member("ana_blocked"), member("ana_blocker")
    BlockFactory(blocker=viewer, blocked=blocked)
    BlockFactory(blocker=blocker, blocked=viewer)
    member("ana_gone", is_active=False)
    member("ana_here")

    assert names(auth_client(viewer).get("/api/v1/search/people", {"q": "ana"})) == ["ana_here"]


def test_cameos_the_viewer_may_cast_by_handle(auth_client):
    viewer = member("viewer")
    CharacterCameoFactory(handle="captain_comet", level="everyone")
    CameoFactory(owner=member("cometfan"), level="everyone")
    CharacterCameoFactory(handle="comet_private", level="only_me")  # someone else's, only theirs
    mine = CharacterCameoFactory(owner=viewer, handle="comet_mine", level="only_me")
    blocked = CharacterCameoFactory(handle="comet_blocked", level="everyone")
    BlockFactory(blocker=blocked.owner, blocked=viewer)

    found = names(auth_client(viewer).get("/api/v1/search/cameos", {"q": "@comet"}), key="handle")
    assert set(found) == {"captain_comet", "cometfan", mine.handle}
    assert found.index("cometfan") < found.index("captain_comet")  # shorter: closer by trigrams
    assert names(auth_client(viewer).get("/api/v1/search/cameos", {"q": "xylophone"}), key="handle") == []


def test_posts_by_meaning_and_by_words(auth_client):
    viewer, creator = member("viewer"), member("creator")
    cooking = posted(creator, "a chef sautéing garlic and tomatoes for a pasta sauce in a kitchen")
    posted(creator, "a cat asleep on a sunny windowsill")
    surf = posted(creator, "surfing a huge wave at sunset")
    client = auth_client(viewer)

    by_meaning = names(client.get("/api/v1/search/posts", {"q": "making dinner"}), key="id")
    assert by_meaning[0] == str(cooking.id)  # no word in common
    by_words = names(client.get("/api/v1/search/posts", {"q": "waves"}), key="id")
    assert by_words[0] == str(surf.id)  # "waves" stems to the caption's "wave"


def test_posts_keep_blocks_visibility_and_teen_labels(auth_client):
    viewer, teen = member("viewer"), member("teen", birthdate=timezone.localdate().replace(year=2012))
    ok = posted(member("friend"), "a red balloon over the city")
    blocked_creator = member("blocked")
    BlockFactory(blocker=blocked_creator, blocked=viewer)
    sea = posted(blocked_creator, "a red balloon over the sea")
    posted(member("labelled"), "a red balloon in a storm", in_feeds=False)
    adult_only = posted(member("adults"), "a red balloon at night", teen_ok=False)
    gone = posted(member("unposted"), "a red balloon in the rain")
    gone.state = "draft"
    gone.save(update_fields=["state"])

    for_viewer = set(names(auth_client(viewer).get("/api/v1/search/posts", {"q": "red balloon"}), key="id"))
    assert for_viewer == {str(ok.id), str(adult_only.id)}
    for_teen = set(names(auth_client(teen).get("/api/v1/search/posts", {"q": "red balloon"}), key="id"))
    assert for_teen == {str(ok.id), str(sea.id)}  # the block is the viewer's, not the teen's


@pytest.mark.parametrize("kind", ["people", "cameos", "posts"])
def test_cursor_pages_per_kind_have_no_duplicates_or_gaps(auth_client, kind):
    viewer = member("viewer")
    for i in range(7):
        owner = member(f"river{i}", f"River {i}")
        CharacterCameoFactory(owner=owner, handle=f"river_c{i}", level="everyone")
        posted(owner, f"a river {i} flowing through a forest")
    client, key = auth_client(viewer), "handle" if kind == "cameos" else "id"
    everything = names(client.get(f"/api/v1/search/{kind}", {"q": "river", "limit": 100}), key=key)
    assert len(everything) == 7

    seen: list[str] = []
    url: str | None = f"/api/v1/search/{kind}?q=river&limit=3"
    while url:
        response = client.get(url)
        seen += names(response, key=key)
        url = response.json()["next"]
    assert seen == everything


def test_first_page_of_every_kind_and_a_bad_cursor(auth_client):
    viewer = member("viewer")
    owner = member("orbit", "Orbit Star")
    CharacterCameoFactory(owner=owner, handle="orbit_cam", level="everyone")
    posted(owner, "a satellite in orbit")
    client = auth_client(viewer)

    body = client.get("/api/v1/search", {"q": "orbit"}).json()
    assert [row["username"] for row in body["people"]["results"]] == ["orbit"]
    assert [row["handle"] for row in body["cameos"]["results"]] == ["orbit_cam"]
    assert len(body["posts"]["results"]) == 1
    assert body["people"]["next"] is None

    bad = client.get("/api/v1/search/people", {"q": "orbit", "cursor": "not-a-cursor"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_cursor")
    nested = "[" * 1100 + "]" * 1100  # json.loads would recurse past Python's limit: too long
    for forged in ([0.5, 5], [0.5, [1]], [0.5, {"a": 1}], [0.5, True], nested):  # made by hand
        text = forged if isinstance(forged, str) else json.dumps(forged)
        cursor = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
        for kind in ("people", "cameos", "posts"):
            bad = client.get(f"/api/v1/search/{kind}", {"q": "orbit", "cursor": cursor})
            assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_cursor"), forged


@pytest.mark.parametrize("query", [{}, {"q": ""}, {"q": "   "}, {"q": "x" * 101}, {"q": "a\x00b"}])
def test_a_bad_query_is_a_400(auth_client, query):
    response = auth_client(member("viewer")).get("/api/v1/search", query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"


def test_search_makes_as_many_queries_for_many_results_as_for_one(auth_client, django_assert_num_queries):
    viewer = member("viewer")
    client = auth_client(viewer)
    text_embed(["warm up"])  # the encoder loads once per process, not inside the count

    def add(n: int, start: int) -> None:
        for i in range(start, start + n):
            owner = member(f"lumen{i}", f"Lumen {i}")
            CharacterCameoFactory(owner=owner, handle=f"lumen_c{i}", level="everyone")
            posted(owner, f"lumen glowing lantern {i}")

    add(1, 0)
    # Authentication; people: ids, cards; cameos: any handle, ids, cards; posts: HNSW settings, both
    # lists, cards.
    with django_assert_num_queries(9):
        body = client.get("/api/v1/search", {"q": "lumen"}).json()
    assert [len(body[k]["results"]) for k in ("people", "cameos", "posts")] == [1, 1, 1]
    add(9, 1)
    with django_assert_num_queries(9):
        body = client.get("/api/v1/search", {"q": "lumen"}).json()
    assert [len(body[k]["results"]) for k in ("people", "cameos", "posts")] == [10, 10, 10]


def test_the_benchmark_times_whole_searches():
    for i in range(3):
        posted(member(f"bench{i}", f"Bench {i}"), f"a lighthouse in a storm {i}")

    figures = search_bench(queries=6)

    assert figures["search_queries"] == 6
    assert 0 < figures["search_p50_ms"] <= figures["search_p99_ms"]
