"""Content vectors: a post is embedded off the request path and found by what it is about; its row
follows it through unposting, takedown, restore and deletion, and its flags follow its labels."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import numpy as np
import pytest

from config.errors import KinoError
from feed.moderation import video_restore
from feed.services import video_delete, video_post, video_remove, video_unpost, video_update
from moderation.public import MODERATION_UNAVAILABLE
from recommender import tasks
from recommender.candidates import EXPLORE_KEY, redis_client
from recommender.models import VideoVector
from recommender.vectors import as_array, content_embed, videos_embed, videos_waiting
from tests.factories import UserFactory, VideoFactory
from tests.moderation.casework import decide, moderator, open_item, report

pytestmark = pytest.mark.django_db


def posted(owner, prompt: str, caption: str, capture) -> object:
    draft = VideoFactory(owner=owner, prompt=prompt)
    with capture(execute=True):
        video_post(owner_id=owner.id, video_id=draft.id, caption=caption)
    return draft


def test_content_embed_gives_unit_rows_that_rank_by_meaning():
    vectors = content_embed(["a chef chopping onions", "cooking pasta in a kitchen", "a rocket launch"])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    assert content_embed([]).shape == (0, 384)


def test_a_post_is_embedded_on_commit_and_found_by_what_it_is_about(django_capture_on_commit_callbacks):
    # Given three posts on different subjects, each embedded by the task queued when it was posted
    ann = UserFactory()
    cooking = posted(
        ann,
        "a chef slices garlic and tosses pasta in a pan",
        "dinner in ten minutes",
        django_capture_on_commit_callbacks,
    )
    space = posted(
        ann, "a rocket lifts off from the launch pad at dawn", "liftoff", django_capture_on_commit_callbacks
    )
    posted(ann, "a cat chases a red laser dot across the carpet", "", django_capture_on_commit_callbacks)

    # Then each has its row, in feeds, with unit content and ANN vectors
    rows = {row.video_id: row for row in VideoVector.objects.all()}
    assert set(rows) >= {cooking.id, space.id}
    assert len(rows) == 3
    row = rows[cooking.id]
    assert (row.creator_id, row.in_feeds, row.teen_ok, row.remix_of_id) == (ann.id, True, True, None)
    assert row.teen_text_ok is True
    # And each waits for its exploratory impressions (the fresh source's set)
    waiting = redis_client().zrange(EXPLORE_KEY, 0, -1)
    assert {UUID(raw.decode()) for raw in waiting} == set(rows)
    assert np.allclose(as_array(row.content), as_array(row.vector))

    # And the nearest to a query about cooking is the cooking post, to one about space the launch
    for query, expected in (
        ("how to cook a quick pasta", cooking.id),
        ("astronauts and spaceflight", space.id),
    ):
        q = content_embed([query])[0]
        best = max(rows.values(), key=lambda r: float(as_array(r.vector) @ q))
        assert best.video_id == expected


def test_a_burst_of_posts_is_embedded_in_one_batch(django_capture_on_commit_callbacks, settings):
    # Given five posts whose tasks have not run yet (their rows wait without a vector)
    settings.RECOMMENDER_EMBED_BATCH = 4
    ann = UserFactory()
    drafts = [VideoFactory(owner=ann, prompt=f"waves breaking on rocks, take {i}") for i in range(5)]
    with django_capture_on_commit_callbacks(execute=False):
        for draft in drafts:
            video_post(owner_id=ann.id, video_id=draft.id, caption="")
    assert VideoVector.objects.filter(content__isnull=True).count() == 5

    # When one task runs for the first post: it takes the batch (4), the next one the rest
    assert videos_embed([drafts[0].id]) == 4
    assert VideoVector.objects.filter(video_id=drafts[0].id, content__isnull=False).exists()
    assert videos_embed([]) == 1
    assert videos_embed([]) == 0


SAD = "a sad teenager who feels like nobody would miss her"  # self_harm, about 0.6


def test_words_unfit_for_teens_keep_a_post_from_teens_only(
    auth_client, django_capture_on_commit_callbacks, settings
):
    # Given self-harm refused at 0.8 for everyone and at 0.5 for teens, and two posts: one whose
    # words pass for adults but not for teens, and one about a cat (by two members); neither labelled
    settings.MODERATION_TEXT_THRESHOLDS = {**settings.MODERATION_TEXT_THRESHOLDS, "self_harm": 0.8}
    settings.MODERATION_TEXT_TEEN_THRESHOLDS = {**settings.MODERATION_TEXT_TEEN_THRESHOLDS, "self_harm": 0.5}
    sad = posted(UserFactory(), SAD, "", django_capture_on_commit_callbacks)
    cat = posted(UserFactory(), "a cat naps in a sunny window", "", django_capture_on_commit_callbacks)

    # Then the embedding task judged their words for teens
    rows = {row.video_id: row for row in VideoVector.objects.all()}
    assert (rows[sad.id].teen_ok, rows[sad.id].teen_text_ok) == (True, False)
    assert (rows[cat.id].teen_ok, rows[cat.id].teen_text_ok) == (True, True)

    # And a teen's feed holds the cat only, an adult's both
    today = date.today()
    teen, adult = UserFactory(birthdate=today.replace(year=today.year - 15)), UserFactory()
    served = {
        who: {item["video"]["id"] for item in auth_client(who).get("/api/v1/feed").json()["results"]}
        for who in (teen, adult)
    }
    assert served[teen] == {str(cat.id)}
    assert served[adult] == {str(cat.id), str(sad.id)}


def test_a_post_not_judged_yet_is_judged_by_the_sweep_and_keeps_its_blend(
    django_capture_on_commit_callbacks, monkeypatch, settings
):
    # Given a post embedded while the text policy could not judge (its model did not load)
    def unavailable(*args, **kwargs):
        raise KinoError(MODERATION_UNAVAILABLE)

    monkeypatch.setattr("recommender.vectors.texts_judge", unavailable)
    ann = UserFactory()
    video = posted(ann, "a lighthouse in a storm", "", django_capture_on_commit_callbacks)
    row = VideoVector.objects.get(video_id=video.id)
    assert row.content is not None
    assert row.teen_text_ok is None  # not served to teens meanwhile
    blended = np.zeros(384, dtype=np.float32)
    blended[0] = 1.0
    VideoVector.objects.filter(video_id=video.id).update(vector=blended.tolist())

    # When the policy is back and a worker's sweep queues the waiting posts (the task runs at once)
    monkeypatch.undo()
    settings.RECOMMENDER_EMBED_SWEEP_S = 0
    ran = []
    monkeypatch.setattr(
        tasks.videos_embed_task, "delay", lambda **kwargs: ran.append(tasks.videos_embed_task(**kwargs))
    )
    assert tasks.videos_embed_sweep() == 1
    assert ran == [1]

    # Then it is judged, and its vector (blended by a training) is not embedded afresh
    row = VideoVector.objects.get(video_id=video.id)
    assert row.teen_text_ok is True
    assert np.allclose(as_array(row.vector), blended)
    assert videos_waiting(older_than_s=-1) == []


def test_the_row_follows_the_post_through_its_life(django_capture_on_commit_callbacks):
    ann = UserFactory()
    video = posted(ann, "a lighthouse in a storm", "", django_capture_on_commit_callbacks)
    before = as_array(VideoVector.objects.get(video_id=video.id).content)

    # A caption edit re-embeds
    with django_capture_on_commit_callbacks(execute=True):
        video_update(owner_id=ann.id, video_id=video.id, caption="grandma's apple pie recipe")
    after = as_array(VideoVector.objects.get(video_id=video.id).content)
    assert float(before @ after) < 0.9

    # Unposted: no row (nothing recommends a draft) and no longer waiting to be explored; posted
    # again: back
    assert redis_client().zscore(EXPLORE_KEY, str(video.id)) is not None
    with django_capture_on_commit_callbacks(execute=True):
        video_unpost(owner_id=ann.id, video_id=video.id)
    assert not VideoVector.objects.filter(video_id=video.id).exists()
    assert redis_client().zscore(EXPLORE_KEY, str(video.id)) is None
    with django_capture_on_commit_callbacks(execute=True):
        video_post(owner_id=ann.id, video_id=video.id)
    assert VideoVector.objects.filter(video_id=video.id, content__isnull=False).exists()

    # Taken down: gone; restored: back
    assert video_remove(video_id=video.id, by_id=None, reason="test")
    assert not VideoVector.objects.filter(video_id=video.id).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert video_restore(video_id=video.id, by_id=None)
    assert VideoVector.objects.filter(video_id=video.id, in_feeds=True).exists()

    # Deleted: gone with its text
    video_delete(owner_id=ann.id, video_id=video.id)
    assert not VideoVector.objects.filter(video_id=video.id).exists()


def test_labels_set_the_flags_that_ann_filters_on(auth_client, django_capture_on_commit_callbacks):
    # Given a post reported by Bob
    ann, bob = UserFactory(), UserFactory()
    video = posted(ann, "a street fight filmed on a phone", "", django_capture_on_commit_callbacks)
    assert report(auth_client(bob), "video", video.id, "violence").status_code == 201

    # When a moderator labels it not in feeds and not for teens
    decide(open_item("video", video.id), moderator(), "label", labels=["not_in_feeds", "not_for_teens"])

    # Then its row says so, at once
    row = VideoVector.objects.get(video_id=video.id)
    assert (row.in_feeds, row.teen_ok) == (False, False)


def test_a_member_leaving_takes_their_rows(django_capture_on_commit_callbacks):
    from accounts.services import member_delete

    ann = UserFactory()
    video = posted(ann, "a sunrise over the sea", "", django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        member_delete(user=ann)
    assert not VideoVector.objects.filter(video_id=video.id).exists()


def test_a_deactivated_members_posts_leave_feeds_until_they_are_active_again(
    django_capture_on_commit_callbacks,
):
    from accounts.services import member_deactivate, member_reactivate

    # Given Ann's post, embedded
    ann = UserFactory()
    video = posted(ann, "a sunrise over the sea", "", django_capture_on_commit_callbacks)
    assert VideoVector.objects.get(video_id=video.id).vector is not None

    # When she is banned: her post's row goes, so no feed or search can find it
    with django_capture_on_commit_callbacks(execute=True):
        member_deactivate(user=ann)
    assert not VideoVector.objects.filter(video_id=video.id).exists()

    # When an appeal makes her active again: the row is back, in feeds, embedded afresh
    with django_capture_on_commit_callbacks(execute=True):
        member_reactivate(user_id=ann.id)
    row = VideoVector.objects.get(video_id=video.id)
    assert row.in_feeds
    assert row.vector is not None


def test_reactivating_a_member_already_active_leaves_their_rows_as_they_are(
    django_capture_on_commit_callbacks,
):
    from accounts.services import member_reactivate

    # Given Ann's post, its vector blended with behaviour by a training
    ann = UserFactory()
    video = posted(ann, "a sunrise over the sea", "", django_capture_on_commit_callbacks)
    blended = np.zeros(384, dtype=np.float32)
    blended[0] = 1.0
    VideoVector.objects.filter(video_id=video.id).update(vector=blended.tolist())

    # When an appeal "reactivates" her while she is active
    with django_capture_on_commit_callbacks(execute=True):
        member_reactivate(user_id=ann.id)

    # Then the post is not embedded afresh: its blend stays
    assert np.allclose(as_array(VideoVector.objects.get(video_id=video.id).vector), blended)
