"""`make run`'s demo feed: the demo members' clips made through the pipeline, posted, remixed, liked,
commented and reported, once; a public figure registered."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from feed.models import Comment, Like, Video
from generation.models import Job
from moderation.models import PublicFigure, QueueItem

pytestmark = pytest.mark.django_db


def test_the_demo_feed_is_made_once_through_the_pipeline(fake_engine, django_capture_on_commit_callbacks):
    # Given the demo members (seed_demo) and an empty feed
    call_command("seed_demo", stdout=None)

    # When the demo clips are made, twice (a second `make run`)
    with django_capture_on_commit_callbacks(execute=False):  # no broker round trip for the jobs' messages
        call_command("seed_demo_clips")
        call_command("seed_demo_clips")

    # Then three posts exist, made by real jobs; bob's remixes alice's first; carol liked and commented
    posts = Video.objects.filter(state="posted").order_by("created_at")
    assert [p.owner.username for p in posts] == ["alice", "alice", "bob"]
    assert set(Job.objects.values_list("state", flat=True)) == {"succeeded"}
    assert posts[2].lineage == [posts[0].id]
    assert posts[0].stats.remixes == 1
    assert Like.objects.filter(user__username="carol", video=posts[0]).exists()
    assert Comment.objects.filter(author__username="carol", video=posts[2]).exists()
    assert len(fake_engine.renders) == 3
    # carol's report of bob's remix waits in the moderators' queue; the demo figure is registered
    item = QueueItem.objects.get()
    assert (item.subject_id, item.reports_count, item.queue) == (posts[2].id, 1, "spam")
    assert PublicFigure.objects.get().name == "Tom Hanks"
