"""Who may call what: every operation in the schema, called by an anonymous client and by a member.

Public operations are listed here on purpose; any other operation that answers an anonymous
caller with anything but 401 fails this test, including operations added later. Every operation
whose path names an object is also called by a member who may not see that object: 404, as if
it did not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import pytest

from accounts.models import User
from feed.models import DataExport, NotificationGroup
from feed.notifications import notification_send
from tests import openapi
from tests.factories import (
    BlockFactory,
    CommentFactory,
    InviteFactory,
    JobFactory,
    PostFactory,
    UserFactory,
    VideoCameoFactory,
    VideoFactory,
)
from tests.moderation.casework import a_decision_about

pytestmark = pytest.mark.django_db


def operations(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path, item in schema["paths"].items():
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method, path


def concrete(path: str) -> str:
    return (
        path.replace("{username}", "alice")
        .replace("{code}", "ABCD-ABCD-ABCD-ABCD")
        .replace("{job_id}", "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11")
        .replace("{video_id}", "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11")
        .replace("{comment_id}", "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11")
        .replace("{export_id}", "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11")
        .replace("{group_id}", "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11")
        .replace("{decision_id}", "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11")
        .replace("{cameo_id}", "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11")
        .replace("{request_id}", "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11")
        .replace("{registration_id}", "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11")
        .replace("{handle}", "alice")
        .replace("{guardianship_id}", "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11")
        .replace("{checkin_id}", "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11")
    )


def test_every_non_public_operation_refuses_anonymous_callers(client):
    UserFactory(username="alice")
    InviteFactory(code="ABCDABCDABCDABCD")
    seen = 0
    for method, path in operations(client):
        response = getattr(client, method)(concrete(path), content_type="application/json")
        if (method, path) in openapi.PUBLIC:
            assert response.status_code != 401, (method, path)
        else:
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json()["error"]["code"] == "not_authenticated"
        seen += 1
    assert seen >= 20


def test_members_reach_only_their_own_account(auth_client):
    # "me" endpoints act on the caller; there is no way to name another account's private data
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    alice_view = auth_client(alice).get("/api/v1/users/bob").json()
    assert "email" not in alice_view
    assert "birthdate" not in alice_view
    assert auth_client(bob).get("/api/v1/me").json()["username"] == "bob"
    assert auth_client(alice).patch("/api/v1/me", {"bio": "mine"}, format="json").status_code == 200
    bob.profile.refresh_from_db()
    assert bob.profile.bio != "mine"


# --- objects named in a path ------------------------------------------------------------------


@dataclass(frozen=True)
class Hidden:
    """An object of member A's, named in a path, with a member who may not see it and one who may."""

    path_values: dict[str, str]
    stranger: User  # must get 404, exactly as for an id that does not exist
    allowed: User  # must not get 404: that proves the ids are real, so the stranger's 404 means something
    unknown_values: dict[str, str]  # ids that name nothing at all


def owned(param: str, make) -> Hidden:
    """An object `make(owner)` names by `param`: its owner sees it, a stranger gets 404."""
    owner, stranger = UserFactory.create_batch(2)
    return Hidden(
        path_values={param: str(make(owner).id)},
        stranger=stranger,
        allowed=owner,
        unknown_values={param: str(uuid4())},
    )


def a_job() -> Hidden:
    return owned("job_id", lambda owner: JobFactory(user=owner))


def a_draft() -> Hidden:
    return owned("video_id", lambda owner: VideoFactory(owner=owner))


def a_post_whose_owner_blocked_the_stranger() -> Hidden:
    # A post is everyone's but those blocked either way; its owner is allowed (also to edit it).
    post, stranger = PostFactory(), UserFactory()
    BlockFactory(blocker=post.owner, blocked=stranger)
    return Hidden(
        path_values={"video_id": str(post.id)},
        stranger=stranger,
        allowed=post.owner,
        unknown_values={"video_id": str(uuid4())},
    )


def a_member_who_blocked_the_stranger() -> Hidden:
    # `user_get_for_viewer`: someone who blocked you does not exist for you; a bystander sees them.
    member, stranger, bystander = UserFactory.create_batch(3)
    BlockFactory(blocker=member, blocked=stranger)
    return Hidden(
        path_values={"username": member.username},
        stranger=stranger,
        allowed=bystander,
        unknown_values={"username": "nobody-at-all"},
    )


def a_notification() -> Hidden:
    def followed(owner: User) -> NotificationGroup:
        group_id = notification_send(
            recipient_id=owner.id,
            type="followed",
            actor_id=UserFactory().id,
            target_kind="user",
            target_id=owner.id,
        )
        return NotificationGroup.objects.get(id=group_id)

    return owned("group_id", followed)


def an_export() -> Hidden:
    return owned("export_id", lambda owner: DataExport.objects.create(user=owner))


def a_comment_on_a_post_whose_owner_blocked_the_stranger() -> Hidden:
    # The post, and so every comment on it, does not exist for the stranger; the comment's author
    # reaches it (reads its replies, replies, edits, deletes).
    comment, stranger = CommentFactory(), UserFactory()
    BlockFactory(blocker=comment.video.owner, blocked=stranger)
    return Hidden(
        path_values={"comment_id": str(comment.id)},
        stranger=stranger,
        allowed=comment.author,
        unknown_values={"comment_id": str(uuid4())},
    )


def a_cameo() -> Hidden:
    # A cameo at "only me": nobody but its owner knows it exists (cameos' endpoints and its oversight).
    from tests.cameos.factories import CameoFactory

    return owned("cameo_id", lambda owner: CameoFactory(owner=owner))


def a_video_casting_a_cameo() -> Hidden:
    # A draft casting the owner's cameo: its oversight is the cameo owner's alone (the draft's
    # creator, who sees the video, gets 404 there too).
    from tests.cameos.factories import CameoFactory

    cameo = CameoFactory()
    draft = VideoFactory()
    VideoCameoFactory(video=draft, cameo_id=cameo.id, cameo_owner=cameo.owner)
    return Hidden(
        path_values={"cameo_id": str(cameo.id), "video_id": str(draft.id)},
        stranger=draft.owner,
        allowed=cameo.owner,
        unknown_values={"cameo_id": str(uuid4()), "video_id": str(uuid4())},
    )


def a_cameo_by_handle() -> Hidden:
    from tests.cameos.factories import CameoFactory

    owner, stranger = UserFactory.create_batch(2)
    return Hidden(
        path_values={"handle": CameoFactory(owner=owner).handle},
        stranger=stranger,
        allowed=owner,
        unknown_values={"handle": "nobody-at-all"},
    )


def a_request_for_a_cameo() -> Hidden:
    # Someone's request, waiting, to use the owner's cameo: the owner answers it; nobody else knows it.
    from tests.cameos.factories import ApprovalFactory, CameoFactory

    cameo, stranger = CameoFactory(level="approved"), UserFactory()
    request = ApprovalFactory(cameo=cameo, state="requested")
    return Hidden(
        path_values={"cameo_id": str(cameo.id), "request_id": str(request.id)},
        stranger=stranger,
        allowed=cameo.owner,
        unknown_values={"cameo_id": str(uuid4()), "request_id": str(uuid4())},
    )


def a_registration() -> Hidden:
    from datetime import timedelta

    from django.utils import timezone

    from cameos.models import Registration

    return owned(
        "registration_id",
        lambda owner: Registration.objects.create(
            owner=owner,
            head_turns=["left", "right"],
            phrase="4 7 2 9",
            expires_at=timezone.now() + timedelta(minutes=5),
        ),
    )


def a_decision() -> Hidden:
    # A statement of reasons is its affected member's alone.
    return owned("decision_id", a_decision_about)


def a_guardianship() -> Hidden:
    # A guardian link is its two members' alone (the guardian here); anyone else reads 404.
    from django.utils import timezone

    from recommender.models import Guardianship

    def make(owner: User) -> Guardianship:
        today = timezone.localdate()
        teen = UserFactory(birthdate=today.replace(year=today.year - 15))
        return Guardianship.objects.create(guardian=owner, teen=teen, invited_by="guardian")

    return owned("guardianship_id", make)


def a_checkin() -> Hidden:
    # A wellbeing check-in card is answered by the member it was shown to.
    from recommender.models import CheckIn

    return owned("checkin_id", lambda owner: CheckIn.objects.create(user_id=owner.id))


# Keyed by an operation's path parameters, in order. A new kind of object in a path needs one here.
BUILDERS: dict[tuple[str, ...], Callable[[], Hidden]] = {
    ("job_id",): a_job,
    ("export_id",): an_export,
    ("video_id",): a_draft,
    ("comment_id",): a_comment_on_a_post_whose_owner_blocked_the_stranger,
    ("username",): a_member_who_blocked_the_stranger,
    ("group_id",): a_notification,
    ("decision_id",): a_decision,
    ("cameo_id",): a_cameo,
    ("cameo_id", "video_id"): a_video_casting_a_cameo,
    ("cameo_id", "request_id"): a_request_for_a_cameo,
    ("handle",): a_cameo_by_handle,
    ("registration_id",): a_registration,
    ("guardianship_id",): a_guardianship,
    ("checkin_id",): a_checkin,
}

# Operations whose path names something anyone may look up.
PUBLIC_OBJECTS = {
    ("get", "/api/v1/invites/{code}"): "whoever holds an invite code checks it before signing up",
}

# Operations that answer a hidden object as they answer an unknown one, but not with a 404.
SAME_AS_UNKNOWN = {
    ("delete", "/api/v1/users/{username}/block"): (
        "unblocking looks among the caller's own blocks and answers 204 for any name"
    ),
}

NAMING_OPERATIONS = [
    op for op in openapi.operations() if op.path_params and (op.method, op.path) not in PUBLIC_OBJECTS
]


def call(client: Any, operation: openapi.Operation, values: dict[str, str]) -> Any:
    # A body that parses, so that only the lookup can refuse the stranger.
    body = {"data": {}, "format": "json"} if "requestBody" in operation.spec else {}
    return getattr(client, operation.method)(operation.url(values), **body)


def described(response: Any) -> str:
    return f"{response.status_code} {response.content[:300]!r}"


def test_the_exception_lists_name_real_operations():
    known = {(op.method, op.path) for op in openapi.operations()}
    assert set(PUBLIC_OBJECTS) <= known, set(PUBLIC_OBJECTS) - known
    assert set(SAME_AS_UNKNOWN) <= known, set(SAME_AS_UNKNOWN) - known


def test_the_sweep_sees_every_kind_of_object():
    # A schema that lost its path parameters would make the sweep below pass vacuously.
    swept = {op.path_params for op in NAMING_OPERATIONS}
    assert {("job_id",), ("video_id",), ("username",)} <= swept, swept


@pytest.mark.parametrize(
    "operation", NAMING_OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path.removeprefix('/api/v1')}"
)
def test_an_object_is_hidden_from_members_who_may_not_see_it(api, auth_client, operation):
    builder = BUILDERS.get(operation.path_params)
    if builder is None:
        pytest.fail(
            f"{operation.id}: no builder for path parameters {operation.path_params}. Add one to "
            "BUILDERS in tests/test_access.py (the object, a member who may not see it, one who may), "
            "or list the operation in PUBLIC_OBJECTS with the reason anyone may name it."
        )
    assert_hidden(api, auth_client, operation, builder())


# More objects of a kind already in BUILDERS, each swept over the same operations.
MORE_BUILDERS: dict[tuple[str, ...], Callable[[], Hidden]] = {
    ("video_id",): a_post_whose_owner_blocked_the_stranger,
}


@pytest.mark.parametrize(
    "operation",
    [op for op in NAMING_OPERATIONS if op.path_params in MORE_BUILDERS],
    ids=lambda op: f"{op.method.upper()} {op.path.removeprefix('/api/v1')}",
)
def test_a_post_is_hidden_from_members_its_owner_blocked(api, auth_client, operation):
    assert_hidden(api, auth_client, operation, MORE_BUILDERS[operation.path_params]())


def assert_hidden(api: Any, auth_client: Any, operation: openapi.Operation, hidden: Hidden) -> None:
    # Given an object of A's; when an anonymous caller, then a stranger, then someone allowed ask for it
    anonymous = call(api, operation, hidden.path_values)
    assert anonymous.status_code == 401, f"{operation.id} anonymous: {described(anonymous)}"
    assert anonymous.json()["error"]["code"] == "not_authenticated"

    stranger = call(auth_client(hidden.stranger), operation, hidden.path_values)
    if (operation.method, operation.path) not in SAME_AS_UNKNOWN:
        assert stranger.status_code == 404, f"{operation.id} stranger: {described(stranger)}"
        error = stranger.json()["error"]
        assert set(error) == {"code", "message", "fields"}, error
        assert error["code"].endswith("not_found"), error
    # As if it did not exist: the same answer, word for word, as for an id that names nothing
    unknown = call(auth_client(hidden.stranger), operation, hidden.unknown_values)
    assert (stranger.status_code, stranger.content) == (unknown.status_code, unknown.content), (
        f"{operation.id}: hidden answers {described(stranger)}, unknown answers {described(unknown)}"
    )

    allowed = call(auth_client(hidden.allowed), operation, hidden.path_values)
    assert allowed.status_code != 404, (
        f"{operation.id}: the member allowed to see the object got {described(allowed)}, "
        "so the builder's ids are wrong and the stranger's 404 proves nothing"
    )
