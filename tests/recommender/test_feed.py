"""The For You and following feeds (R2): candidates, eligibility, ranking, mix, snapshot pages."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import numpy as np
import pytest
import redis
from django.conf import settings
from django.utils import timezone

from recommender.candidates import explore_pending_update
from recommender.mix import Pool, Rules, mix, rules_hold
from recommender.models import DIMENSIONS, Impression, RankerModel, SteerClause, UserVector, VideoVector
from recommender.ranking import FALLBACK_VERSION, FEATURES, ranker_train, scorer_active
from tests.factories import BlockFactory, FollowFactory, LikeFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db

RULES = Rules(page_size=20, creator_max=2, follow_share=0.5, fresh_share=0.1, mmr_lambda=0.75)
rng = np.random.default_rng(25)
TOPICS = [v / np.linalg.norm(v) for v in rng.normal(size=(6, DIMENSIONS))]


def near(topic: int, noise: float = 0.15) -> np.ndarray:
    v = TOPICS[topic] + noise * rng.normal(size=DIMENSIONS) / np.sqrt(DIMENSIONS)
    return (v / np.linalg.norm(v)).astype(np.float32)


def posted(
    owner: Any,
    vector: np.ndarray,
    *,
    age_h: float = 5.0,
    in_feeds: bool = True,
    teen_ok: bool = True,
    post: Any = None,
) -> Any:
    """A post with its vector row, as the recommender's listeners leave it once it is embedded
    (`post`: an existing post to give the row to, instead of a new one)."""
    post = post or PostFactory(owner=owner, posted_at=timezone.now() - timedelta(hours=age_h))
    VideoVector.objects.update_or_create(
        video_id=post.id,
        defaults={
            "creator_id": owner.id,
            "posted_at": post.posted_at,
            "remix_of_id": post.remix_of_id,
            "content": vector.tolist(),
            "vector": vector.tolist(),
            "in_feeds": in_feeds,
            "teen_ok": teen_ok,
            "teen_text_ok": True,
        },
    )
    explore_pending_update([(post.id, post.posted_at)])  # a post in its first hour waits to be explored
    return post


def interested(user: Any, topic: int) -> None:
    UserVector.objects.create(user_id=user.id, slot=0, vector=TOPICS[topic].tolist(), weight=1.0, events=10)


def catalogue(
    creators: int, per_creator: int, topic_of: Any = lambda i: i % len(TOPICS), **fields: Any
) -> list[Any]:
    posts = []
    for i in range(creators):
        owner = UserFactory()
        posts += [posted(owner, near(topic_of(i)), **fields) for _ in range(per_creator)]
    return posts


def pages(client: Any, path: str = "/api/v1/feed", most: int = 10) -> list[list[dict[str, Any]]]:
    out, url = [], path
    for _ in range(most):
        response = client.get(url)
        assert response.status_code == 200, response.content[:300]
        out.append([item["video"] for item in response.json()["results"] if item["type"] == "video"])
        url = response.json()["next"]
        if url is None:
            break
    return out


def creators_of(page: list[dict[str, Any]]) -> list[str]:
    return [card["creator"]["id"] for card in page]


# --- the mix --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6), ids=lambda s: f"pool{s}")
def test_the_mix_never_breaks_the_creator_rules(seed):
    # Given pools where a few creators hold most of the best-scored candidates
    local = np.random.default_rng(seed)
    creators = [uuid4() for _ in range(12)]
    n = 300
    owners = [creators[min(int(local.exponential(2.5)), 11)] for _ in range(n)]
    vectors = local.normal(size=(n, 16))
    pool = Pool(
        creators=owners,
        scores=local.normal(size=n),
        vectors=vectors / np.linalg.norm(vectors, axis=1, keepdims=True),
        followed=local.random(n) < 0.3,
        fresh=local.random(n) < 0.05,
    )
    # When they are mixed
    pages = mix(pool, limit=200, rules=RULES)
    # Then no creator comes twice in a row (across pages too) nor more than twice in a page
    order = [i for page in pages for i in page]
    assert len(order) == 200
    assert len(set(order)) == len(order)
    assert all(rules_hold([owners[i] for i in page], RULES) for page in pages)
    assert all(owners[a] != owners[b] for a, b in itertools.pairwise(order))


def test_the_mix_gives_about_half_to_follows_and_a_share_to_fresh_posts():
    local = np.random.default_rng(1)
    n = 200
    owners = [uuid4() for _ in range(n)]
    followed = np.arange(n) < 60
    fresh = (np.arange(n) >= 60) & (np.arange(n) < 70)
    # Follows and fresh posts score lowest: only the shares bring them up.
    scores = np.where(followed | fresh, 0.0, 1.0) + local.random(n) * 0.01
    pool = Pool(owners, scores, np.eye(n, 8, dtype=np.float64) + 0.01, followed, fresh)
    pages = mix(pool, limit=40, rules=RULES)
    assert [len(page) for page in pages] == [20, 20]
    for page in pages:
        assert sum(followed[i] for i in page) in (9, 10)
        assert sum(fresh[i] for i in page) == 2


def test_while_steering_a_share_of_the_page_comes_from_the_instruction():
    local = np.random.default_rng(2)
    n = 200
    owners = [uuid4() for _ in range(n)]
    followed, steered = np.arange(n) < 60, (np.arange(n) >= 60) & (np.arange(n) < 100)
    scores = np.where(steered, 0.0, 1.0) + local.random(n) * 0.01  # the instruction's score lowest
    pool = Pool(owners, scores, np.eye(n, 8) + 0.01, followed, np.zeros(n, bool), steered)
    rules = Rules(follow_share=0.5 * 0.4, fresh_share=0.1, steer_share=0.6)
    for page in mix(pool, limit=40, rules=rules):
        assert sum(steered[i] for i in page) == 12
        assert sum(followed[i] for i in page) >= 3  # about 0.5 x the rest


def test_a_page_ends_short_rather_than_break_a_rule():
    # Two creators, ten posts each: four fit a page (two each, alternating), then the next page.
    creator_a, creator_b = uuid4(), uuid4()
    owners = [creator_a] * 10 + [creator_b] * 10
    pool = Pool(owners, np.arange(20.0), np.ones((20, 4)) / 2, np.zeros(20, bool), np.zeros(20, bool))
    pages = mix(pool, limit=20, rules=RULES)
    assert [len(page) for page in pages] == [4] * 5
    assert [owners[i] for i in pages[0]] == [creator_b, creator_a, creator_b, creator_a]


# --- pages ----------------------------------------------------------------------------------------


def test_pages_are_full_diverse_and_continue_the_snapshot_without_repeats_or_skips(auth_client):
    # Given a member who follows ten creators, in a catalogue of 40 creators
    viewer = UserFactory()
    interested(viewer, 0)
    posts = catalogue(40, 5)
    followed = {post.owner_id for post in posts[:50]}
    for owner_id in followed:
        FollowFactory(follower=viewer, followee_id=owner_id)
    # When they scroll
    served = pages(auth_client(viewer), most=6)
    # Then every page is full and keeps the creator rules, and nothing comes twice
    ids = [card["id"] for page in served for card in page]
    assert [len(page) for page in served] == [20] * 6
    assert len(ids) == len(set(ids))
    for page in served:
        assert rules_hold([UUID(c) for c in creators_of(page)], RULES)
    # ... pages 2..n are the one snapshot's next items, in order (no skips)
    logged = list(
        Impression.objects.filter(user_id=viewer.id).order_by("id").values_list("page_key", "position")
    )
    assert {key for key, _ in logged} == {logged[0][0]}
    assert [position for _, position in logged] == list(range(120))
    # ... about half of a page is from the follows (they have enough)
    first = served[0]
    assert 8 <= sum(UUID(c) in followed for c in creators_of(first)) <= 14


def test_the_features_model_version_and_source_of_every_served_item_are_logged(auth_client):
    viewer = UserFactory()
    interested(viewer, 1)
    catalogue(25, 2)
    served = pages(auth_client(viewer), most=1)[0]
    rows = list(Impression.objects.filter(user_id=viewer.id).order_by("position"))
    assert [str(row.video_id) for row in rows] == [card["id"] for card in served]
    assert all(len(row.features) == len(FEATURES) for row in rows)
    assert {row.model_version for row in rows} == {FALLBACK_VERSION}
    assert {row.source for row in rows} <= {"ann", "follow", "fresh", "trending", "remix", "steer"}
    assert "ann" in {row.source for row in rows}


def test_remixes_of_what_the_member_liked_are_candidates():
    # Given a post Ann liked, two posted remixes of it by people she does not follow, and a remix of
    # something she did not like
    from recommender.candidates import candidates_gather
    from recommender.eligibility import audience_for
    from recommender.feeds import _for_you_plan

    ann = UserFactory()
    interested(ann, 0)
    liked = posted(UserFactory(), near(3))
    LikeFactory(user=ann, video=liked)
    remixes = []
    for _ in range(2):
        remix = PostFactory(owner=UserFactory(), parent=liked)
        remixes.append(posted(remix.owner, near(4), post=remix))
    other = PostFactory(owner=UserFactory(), parent=posted(UserFactory(), near(5)))
    posted(other.owner, near(5), post=other)
    # When her candidates are gathered
    audience = audience_for(ann.id, teen=False)
    _, plan = _for_you_plan(audience, personal=True, steer=None)
    found = {c.video_id: c.sources for c in candidates_gather(plan, audience)}
    # Then the remixes of what she liked come as "remix", the other does not
    assert all("remix" in found[r.id] for r in remixes)
    assert "remix" not in found.get(other.id, [])


def test_what_the_member_may_not_see_is_never_served(auth_client):
    # Given their own posts, posts of people blocked either way, removed ones and not-in-feeds ones
    viewer = UserFactory()
    interested(viewer, 2)
    hidden = [posted(viewer, near(2)) for _ in range(3)]
    blocked, blocker = UserFactory(), UserFactory()
    BlockFactory(blocker=viewer, blocked=blocked)
    BlockFactory(blocker=blocker, blocked=viewer)
    hidden += [posted(blocked, near(2)) for _ in range(3)] + [posted(blocker, near(2)) for _ in range(3)]
    hidden += [posted(UserFactory(), near(2), in_feeds=False) for _ in range(3)]
    catalogue(30, 2, topic_of=lambda i: 2)
    # When they scroll to the end
    served = pages(auth_client(viewer), most=10)
    # Then none of it came
    ids = {card["id"] for page in served for card in page}
    assert len(ids) == 60
    assert not ids & {str(post.id) for post in hidden}


def test_a_teen_gets_only_teen_appropriate_posts_and_the_page_still_fills(auth_client, settings):
    # Given a catalogue where only a few posts are teen-appropriate, none near the teen's interest,
    # and an HNSW scan budget too small to reach them (the exact path must)
    settings.RECOMMENDER_ANN_MAX_SCAN_TUPLES = 30
    today = date.today()
    teen = UserFactory(birthdate=today.replace(year=today.year - 15))
    interested(teen, 3)
    catalogue(40, 4, topic_of=lambda i: 3, teen_ok=False)
    ok = [posted(UserFactory(), near(4), teen_ok=True) for _ in range(25)]
    # When the teen opens the feed
    page = pages(auth_client(teen), most=1)[0]
    # Then the page is full, of teen-appropriate posts only, found by ANN too
    assert len(page) == 20
    assert {card["id"] for card in page} <= {str(post.id) for post in ok}
    assert Impression.objects.filter(user_id=teen.id, source="ann").exists()


def test_a_bad_cursor_is_refused_and_a_lost_snapshot_goes_on_without_repeats(auth_client):
    viewer = UserFactory()
    interested(viewer, 0)
    catalogue(30, 2)
    client = auth_client(viewer)
    bad = client.get("/api/v1/feed", {"cursor": "not-a-cursor"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_cursor"
    first = client.get("/api/v1/feed")
    # Redis loses the snapshot (expired, restarted)
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    second = client.get(first.json()["next"])
    assert second.status_code == 200
    first_ids = {item["video"]["id"] for item in first.json()["results"]}
    second_ids = {item["video"]["id"] for item in second.json()["results"]}
    assert len(second_ids) == 20
    assert not first_ids & second_ids


def test_the_following_feed_is_followed_creators_newest_first(auth_client):
    viewer = UserFactory()
    friends = UserFactory.create_batch(4)
    for friend in friends:
        FollowFactory(follower=viewer, followee=friend)
    mine = [posted(friend, near(1), age_h=i + 0.5 * j) for i in range(6) for j, friend in enumerate(friends)]
    catalogue(10, 2)  # others', never here
    scrolled = pages(auth_client(viewer), "/api/v1/feed/following")
    served = [card for page in scrolled for card in page]
    assert {card["id"] for card in served} == {str(post.id) for post in mine}
    # Four creators: eight a page (two each), alternating, until all is seen
    assert [len(page) for page in scrolled] == [8, 8, 8]
    assert all(rules_hold([UUID(c) for c in creators_of(page)], RULES) for page in scrolled)
    times = [card["posted_at"] for card in served]
    # Newest first, but for the creator rules' swaps of neighbours.
    assert sum(a >= b for a, b in itertools.pairwise(times)) >= len(times) * 0.8


def test_a_fresh_post_gets_exploratory_impressions_then_stops_needing_them(auth_client, settings):
    settings.RECOMMENDER_EXPLORE_TARGET = 2
    catalogue(30, 3, topic_of=lambda i: 0)
    newcomer = posted(UserFactory(), near(5), age_h=0.1)  # far from everyone's interest
    first_viewers = UserFactory.create_batch(3)
    for viewer in first_viewers:
        interested(viewer, 0)
    seen = [str(newcomer.id) in {c["id"] for c in pages(auth_client(v), most=1)[0]} for v in first_viewers]
    assert seen == [True, True, False]


def test_every_post_of_a_busy_hour_is_explored_not_only_the_newest(auth_client, settings):
    # Given 40 posts in the last hour, far from everyone's interest, while a snapshot looks at 10
    settings.RECOMMENDER_EXPLORE_TARGET = 1
    settings.RECOMMENDER_FRESH_SCAN = 10
    settings.RECOMMENDER_FRESH_SHARE = 0.25
    catalogue(30, 3, topic_of=lambda i: 0)
    newcomers = {str(posted(UserFactory(), near(5), age_h=0.9 - i * 0.02).id) for i in range(40)}
    # When 14 members scroll a first page each (5 fresh slots a page)
    served: set[str] = set()
    for _ in range(14):
        viewer = UserFactory()
        interested(viewer, 0)
        served |= {card["id"] for card in pages(auth_client(viewer), most=1)[0]}
    # Then each newcomer was shown (scanning the newest 10 would show those 10 only)
    assert newcomers <= served
    assert not redis.Redis.from_url(settings.REDIS_URL).zcard("kino:rec:explore")


def test_steering_moves_the_next_page_toward_the_instruction(auth_client):
    viewer = UserFactory()
    interested(viewer, 0)
    catalogue(30, 3, topic_of=lambda i: i % 2)  # topics 0 and 1, half each
    before = pages(auth_client(viewer), most=1)[0]
    SteerClause.objects.create(
        user_id=viewer.id,
        source="instruction",
        direction="toward",
        text="topic one",
        vector=TOPICS[1].tolist(),
    )
    after = pages(auth_client(viewer), most=1)[0]
    vectors = dict(VideoVector.objects.values_list("video_id", "content"))

    def toward_one(page: list[dict[str, Any]]) -> int:
        return sum(
            float(np.dot(np.asarray(vectors[UUID(c["id"])], dtype=np.float32), TOPICS[1])) > 0.5 for c in page
        )

    assert toward_one(after) >= 10 > toward_one(before)


def test_a_muted_creator_leaves_the_feed(auth_client):
    viewer = UserFactory()
    interested(viewer, 0)
    posts = catalogue(20, 3, topic_of=lambda i: 0)
    muted = posts[0]
    from recommender.models import SeeLess

    SeeLess.objects.create(user_id=viewer.id, video_id=muted.id, creator_id=muted.owner_id)
    served = pages(auth_client(viewer), most=3)
    assert str(muted.owner_id) not in {c for page in served for c in creators_of(page)}


# --- the ranker -----------------------------------------------------------------------------------


def test_with_no_data_the_fallback_ranks_and_training_keeps_it():
    assert ranker_train() == FALLBACK_VERSION
    assert scorer_active().version == FALLBACK_VERSION
    assert not RankerModel.objects.exists()


def test_the_ranker_learns_from_impressions_and_outcomes(settings):
    # Given impressions where liked posts were those of followed creators
    settings.RECOMMENDER_RANKER_MIN_IMPRESSIONS = 100
    local = random.Random(3)
    viewers = UserFactory.create_batch(4)
    followed_col = FEATURES.index("followed")
    rows = []
    for n in range(300):
        viewer, post = local.choice(viewers), PostFactory()
        features = [local.random() for _ in FEATURES]
        features[followed_col] = float(n % 3 == 0)
        if n % 3 == 0 and local.random() < 0.8:
            LikeFactory(user=viewer, video=post)
        rows.append(
            Impression(
                user_id=viewer.id,
                video_id=post.id,
                page_key="k",
                position=n,
                source="ann",
                score=0.0,
                features=features,
                model_version=FALLBACK_VERSION,
            )
        )
    Impression.objects.bulk_create(rows)
    # When the ranker trains
    version = ranker_train()
    # Then a model is active, it learned the pattern, and it scores by it
    model = RankerModel.objects.get(active=True)
    assert version == model.version != FALLBACK_VERSION
    assert model.metrics["auc"]["liked"] > 0.75
    scorer = scorer_active()
    assert scorer.version == version
    x = np.full((2, len(FEATURES)), 0.5, dtype=np.float32)
    x[0, followed_col], x[1, followed_col] = 1.0, 0.0
    high, low = scorer(x)
    assert high > low


def test_an_outcome_counts_only_when_it_follows_the_impression():
    from feed.models import Like
    from recommender.ranking import UTILITY, outcomes_of

    # Given a post a member liked an hour before it was served to them, and one liked after
    viewer, before, after = UserFactory(), PostFactory(), PostFactory()
    served = timezone.now() - timedelta(minutes=30)
    LikeFactory(user=viewer, video=before)
    Like.objects.filter(video=before).update(created_at=served - timedelta(hours=1))
    LikeFactory(user=viewer, video=after)
    rows = [(viewer.id, video.id, [], served) for video in (before, after)]
    # Then only the later like is the impression's outcome
    liked = outcomes_of(rows, since=served - timedelta(days=1))[:, list(UTILITY).index("liked")]
    assert liked.tolist() == [0.0, 1.0]


def test_the_members_als_factors_meet_the_videos_in_a_feature():
    # Given a member and two videos with ALS factors from a training, and one without
    from recommender.candidates import candidates_for_videos
    from recommender.eligibility import audience_for
    from recommender.models import COLLAB_DIMENSIONS, UserFactors, VideoFactors
    from recommender.ranking import Member, features_of, member_factors

    viewer = UserFactory()
    user = np.zeros(COLLAB_DIMENSIONS, dtype=np.float32)
    user[:2] = [1.0, 0.5]
    UserFactors.objects.create(user_id=viewer.id, collab=user.tolist(), model_version="als-test")
    posts = [posted(UserFactory(), near(0)) for _ in range(3)]
    for post, first in zip(posts[:2], (2.0, -1.0), strict=True):
        item = np.zeros(COLLAB_DIMENSIONS, dtype=np.float32)
        item[0] = first
        VideoFactors.objects.create(video_id=post.id, collab=item.tolist(), model_version="als-test")
    # When the candidates' features are read
    candidates = candidates_for_videos(audience_for(viewer.id, teen=False), [p.id for p in posts])
    member = Member(interests=np.zeros((0, 0)), followees=frozenset(), factors=member_factors(viewer.id))
    x = features_of(member, candidates)
    # Then the "als" feature is their dot product (0 without factors)
    als = dict(zip([c.video_id for c in candidates], x[:, FEATURES.index("als")].tolist(), strict=True))
    assert als == {posts[0].id: 2.0, posts[1].id: -1.0, posts[2].id: 0.0}


# --- teens and wellbeing (R3's policy, as the feed applies it) --------------------------------------


def a_teen() -> Any:
    today = date.today()
    return UserFactory(birthdate=today.replace(year=today.year - 15))


def test_a_teen_is_served_up_to_the_daily_cap_then_refused(auth_client, settings):
    settings.RECOMMENDER_TEEN_DAILY_ITEMS = 25
    teen = a_teen()
    interested(teen, 0)
    catalogue(40, 2)
    client = auth_client(teen)
    first = client.get("/api/v1/feed").json()
    second = client.get(first["next"]).json()
    assert [len(first["results"]), len(second["results"])] == [20, 5]
    refused = client.get(second["next"])
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "feed_daily_limit_reached"
    assert Impression.objects.filter(user_id=teen.id).count() == 25


def test_a_guardians_switches_end_the_scroll_and_the_personalisation(auth_client):
    from recommender.models import FeedProfile

    teen = a_teen()
    interested(teen, 0)
    catalogue(30, 2)
    FeedProfile.objects.create(user_id=teen.id, personalisation_off=True, continuous_scroll_off=True)
    page = auth_client(teen).get("/api/v1/feed").json()
    assert len(page["results"]) == 20
    assert page["next"] is None
    sources = set(Impression.objects.filter(user_id=teen.id).values_list("source", flat=True))
    assert sources
    assert not sources & {"ann", "steer", "remix"}


def test_a_check_in_card_follows_the_page_when_one_is_due(auth_client, settings):
    settings.RECOMMENDER_CHECKIN_EVERY_ITEMS = 30
    viewer = UserFactory()
    interested(viewer, 0)
    catalogue(40, 2)
    client = auth_client(viewer)
    first = client.get("/api/v1/feed").json()
    second = client.get(first["next"]).json()
    assert [item["type"] for item in first["results"]] == ["video"] * 20
    assert [item["type"] for item in second["results"]] == ["video"] * 20 + ["checkin"]
    card = second["results"][-1]
    assert card["video"] is None
    assert card["checkin"]["question"]
