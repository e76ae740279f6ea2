"""Cards of given posts through the statement compiled once (`post_cards_by_id`, what feed pages and
search render) read exactly what the card queryset reads: the same posts for each viewer, with the
same fields and annotations."""

from __future__ import annotations

import pytest
from django.utils import timezone

from feed.models import Like, Mention, Video
from feed.selectors import post_cards_by_id, posts_visible_to, video_cards
from tests.factories import BlockFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db

POSTED = Video.State.POSTED


def _post(owner, **fields):
    return VideoFactory(owner=owner, **{"state": POSTED, "posted_at": timezone.now(), **fields})


def _queryset_cards(viewer_id, ids):
    return video_cards(posts_visible_to(viewer_id=viewer_id).filter(id__in=ids), viewer_id=viewer_id)


def _card(video) -> dict:
    return {
        "id": video.id,
        "state": video.state,
        "owner": (video.owner.username, video.owner.profile.display_name),
        "stats": video.stats.likes,
        "liked_by_me": video.liked_by_me,
        "remix_of_username": video.remix_of_username,
        "mention_list": video.mention_list,
        "prompt": video.prompt,
    }


def test_post_cards_by_id_read_what_the_card_queryset_reads():
    # Given a viewer, posts they may see (one liked, one mentioning someone, a remix of a blocked
    # member's post), and posts they may not (a draft, a removed post, a blocked member's post, a
    # deactivated member's post)
    viewer, blocked, gone, ann = UserFactory(), UserFactory(), UserFactory(is_active=False), UserFactory()
    BlockFactory(blocker=blocked, blocked=viewer)
    parent = _post(blocked)
    visible = [
        _post(ann),
        _post(ann, caption="with @someone"),
        _post(ann, remix_of_id=parent.id),
    ]
    Like.objects.create(user=viewer, video=visible[0])
    Mention.objects.create(video=visible[1], user=UserFactory(), written_as="someone")
    hidden = [
        VideoFactory(owner=ann),
        _post(ann, state=Video.State.REMOVED),
        parent,
        _post(gone),
    ]
    ids = [v.id for v in visible + hidden]

    # When the cards are read both ways, for the viewer and for someone else
    for who in (viewer, ann):
        compiled = {v.id: _card(v) for v in post_cards_by_id(viewer_id=who.id, video_ids=ids)}
        queried = {v.id: _card(v) for v in _queryset_cards(who.id, ids)}

        # Then they agree, field by field
        assert compiled == queried
    mine = {v.id: v for v in post_cards_by_id(viewer_id=viewer.id, video_ids=ids)}
    assert set(mine) == {v.id for v in visible}
    assert mine[visible[0].id].liked_by_me
    assert mine[visible[1].id].mention_list
    assert mine[visible[2].id].remix_of_username is None  # the parent's creator blocked the viewer
    theirs = {v.id: v for v in post_cards_by_id(viewer_id=ann.id, video_ids=ids)}
    assert theirs[visible[2].id].remix_of_username == blocked.username
    assert post_cards_by_id(viewer_id=viewer.id, video_ids=[]) == []
