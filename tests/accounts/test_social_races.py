"""Follows and blocks of one pair, raced: no follow survives a block; toggles notify once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef, Q

from accounts import services
from accounts.models import Block, Follow
from config.errors import KinoError
from tests.factories import UserFactory

ROUNDS = 50


def follow_with_block_rows() -> int:
    """Follows between two members with a block between them, either way (the invariant: none)."""
    blocked = Block.objects.filter(
        Q(blocker=OuterRef("follower"), blocked=OuterRef("followee"))
        | Q(blocker=OuterRef("followee"), blocked=OuterRef("follower"))
    )
    return Follow.objects.filter(Exists(blocked)).count()


def race(*calls) -> None:
    barrier = threading.Barrier(len(calls))

    def run(call) -> None:
        try:
            barrier.wait()
            call()
        except KinoError:
            pass  # the follow lost to the block: 404, as it should
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.slow
def test_a_follow_raced_by_a_block_never_survives_it(transactional_db):
    pairs = [(UserFactory(), UserFactory(birthdate="2011-01-01")) for _ in range(ROUNDS)]  # teens too
    for follower, followee in pairs:
        race(
            lambda f=follower, t=followee: services.follow_create(actor=f, target=t),
            lambda f=follower, t=followee: services.block_create(actor=t, target=f),
        )
    assert Block.objects.count() == ROUNDS
    assert follow_with_block_rows() == 0


@pytest.mark.django_db
def test_unfollowing_and_following_again_notifies_once(listen, django_capture_on_commit_callbacks):
    fan, star = UserFactory(), UserFactory()
    heard = listen(star.id)
    for _ in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            services.follow_create(actor=fan, target=star)
        services.follow_delete(actor=fan, target=star)
    assert [event["type"] for event in heard()] == ["notification.created", "follow.created"]
