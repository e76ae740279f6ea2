"""Likes raced over real connections (one per thread, each request its own transaction): the
`like_once` constraint settles them, and the counter moves only with a row that really came or went."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from feed.models import Like, NotificationGroup, VideoStats
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at once, one thread each, released together; their answers (or errors) in order."""
    barrier = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            answers[index] = call()
        except Exception as exc:  # a thread's error must reach the test
            answers[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def like(client: Any, post: Any) -> Callable[[], Any]:
    return lambda: client.post(f"/api/v1/videos/{post.id}/like")


def unlike(client: Any, post: Any) -> Callable[[], Any]:
    return lambda: client.delete(f"/api/v1/videos/{post.id}/like")


def statuses(answers: list[Any]) -> list[int]:
    assert not [a for a in answers if isinstance(a, Exception)], answers
    return sorted(answer.status_code for answer in answers)


def likes_of(post: Any) -> int:
    return VideoStats.objects.get(video=post).likes


def test_fifty_members_liking_one_post_at_once_make_fifty(auth_client):
    # Given a post and fifty members, each with their own client
    post = PostFactory()
    clients = [auth_client(fan) for fan in UserFactory.create_batch(50)]

    # When all of them like it at once
    answers = race([like(client, post) for client in clients])

    # Then fifty likes, fifty counted, all in the owner's one group
    assert statuses(answers) == [201] * 50
    assert Like.objects.filter(video=post).count() == 50
    assert likes_of(post) == 50
    [group] = NotificationGroup.objects.filter(recipient=post.owner, type="liked")
    assert group.count == 50


def test_one_member_liking_twenty_times_at_once_makes_one(auth_client):
    # Given a post and one member on twenty devices
    post, fan = PostFactory(), UserFactory()

    # When they like it twenty times at once
    answers = race([like(auth_client(fan), post) for _ in range(20)])

    # Then one stored it (201) and the others found it there (200): one row, counted once
    assert statuses(answers) == [200] * 19 + [201]
    assert {answer.json()["likes"] for answer in answers} == {1}
    assert Like.objects.filter(video=post).count() == 1
    assert likes_of(post) == 1
    [group] = NotificationGroup.objects.filter(recipient=post.owner, type="liked")
    assert group.count == 1


def test_one_member_unliking_twenty_times_at_once_takes_one(auth_client):
    post, fan = PostFactory(), UserFactory()
    assert auth_client(fan).post(f"/api/v1/videos/{post.id}/like").status_code == 201

    answers = race([unlike(auth_client(fan), post) for _ in range(20)])

    assert statuses(answers) == [200] * 20
    assert {answer.json()["likes"] for answer in answers} == {0}
    assert not Like.objects.filter(video=post).exists()
    assert likes_of(post) == 0


def test_likes_and_unlikes_of_many_members_at_once_leave_the_count_right(auth_client):
    # Given thirty members who like a post, and twenty who do not yet
    post = PostFactory()
    leaving, coming = UserFactory.create_batch(30), UserFactory.create_batch(20)
    for fan in leaving:
        auth_client(fan).post(f"/api/v1/videos/{post.id}/like")

    # When the thirty unlike while the twenty like, all at once, each from two devices
    calls = [unlike(auth_client(fan), post) for fan in leaving * 2]
    calls += [like(auth_client(fan), post) for fan in coming * 2]
    statuses(race(calls))

    # Then the count is the rows: twenty
    assert Like.objects.filter(video=post).count() == 20
    assert likes_of(post) == 20
