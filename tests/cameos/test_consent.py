"""Consent decisions (cameos.public): what generation asks at the request, in the worker and before
the draft. One decision per cameo named, with 404 semantics for what the member may not see."""

from __future__ import annotations

import pytest
from django.db import transaction

from cameos.hooks import cameo_listener_register, cameo_listener_unregister
from cameos.models import Approval, Cameo, Use
from cameos.public import (
    ConsentDecision,
    cameo_handles_in_prompt,
    cameo_uses_record,
    consent_decide,
    consent_require,
)
from cameos.selectors import _consent_statement
from config.errors import KinoError
from tests.cameos.factories import ApprovalFactory, CameoFactory, CharacterCameoFactory, RestrictionFactory
from tests.factories import BlockFactory, FollowFactory, UserFactory

pytestmark = pytest.mark.django_db


def decide(user, *handles, prompt="", teen=False, lock=False):
    prompt = prompt or " and ".join(f"@{h}" for h in handles) + " dancing in the rain"
    return consent_decide(user_id=user.id, handles=handles, prompt=prompt, teen=teen, lock=lock)


@pytest.mark.parametrize(
    ("prompt", "handles"),
    [
        ("@Alice and @bob_2 at the beach", ("alice", "bob_2")),
        ("@alice meets @ALICE", ("alice",)),
        ("mail me at someone@example.com", ()),
        ("@carol. Then @dan.", ("carol", "dan")),
        ("no handles here", ()),
    ],
)
def test_handles_in_a_prompt(prompt, handles):
    assert cameo_handles_in_prompt(prompt) == handles


def test_the_owner_may_always_cast_their_active_cameo():
    cameo = CameoFactory(preferences="always wearing a red cap", consent_version=3)
    (decision,) = decide(cameo.owner, cameo.handle)
    assert decision.allowed
    assert decision.error is None
    assert decision.cast is not None
    assert decision.cast.preferences == "always wearing a red cap"
    assert decision.cast.consent_version == 3
    assert decision.cast.owner_id == cameo.owner_id


@pytest.mark.parametrize(
    ("level", "relation", "code"),
    [
        ("only_me", "stranger", "cameo_not_found"),
        ("approved", "stranger", "cameo_permission_denied"),
        ("approved", "approved", None),
        ("approved", "revoked", "cameo_permission_denied"),
        ("mutuals", "stranger", "cameo_not_found"),
        ("mutuals", "mutual", None),
        ("everyone", "stranger", None),
        ("everyone", "blocked", "cameo_not_found"),
        ("everyone", "blocking", "cameo_not_found"),
    ],
)
def test_level_and_relation_decide(level, relation, code):
    cameo = CameoFactory(level=level)
    user = UserFactory()
    if relation in ("approved", "revoked"):
        ApprovalFactory(cameo=cameo, user=user, state=relation)
    if relation == "mutual":
        FollowFactory(follower=user, followee=cameo.owner)
        FollowFactory(follower=cameo.owner, followee=user)
    if relation == "blocked":
        BlockFactory(blocker=cameo.owner, blocked=user)
    if relation == "blocking":
        BlockFactory(blocker=user, blocked=cameo.owner)
    (decision,) = decide(user, cameo.handle)
    assert decision.allowed is (code is None)
    assert (decision.error.code if decision.error else None) == code
    if code == "cameo_not_found":
        assert decision.cameo_id is None  # 404 semantics: nothing about it leaks
        assert decision.owner_id is None


@pytest.mark.parametrize("state", ["suspended", "deleted"])
def test_suspended_and_deleted_cameos_are_not_found(state):
    cameo = CameoFactory(level="everyone", state=state)
    (decision,) = decide(UserFactory(), cameo.handle)
    assert decision.error.code == "cameo_not_found"
    (own,) = decide(cameo.owner, cameo.handle)
    assert not own.allowed


def test_an_inactive_owners_cameo_is_not_found():
    cameo = CameoFactory(level="everyone")
    cameo.owner.is_active = False
    cameo.owner.save(update_fields=["is_active"])
    (decision,) = decide(UserFactory(), cameo.handle)
    assert decision.error.code == "cameo_not_found"


def test_unknown_handle_is_not_found():
    (decision,) = decide(UserFactory(), "nobody_here")
    assert decision == ConsentDecision(
        handle="nobody_here", cameo_id=None, owner_id=None, allowed=False, error=decision.error
    )
    assert decision.error.code == "cameo_not_found"


def test_at_most_two_cameos():
    cameos = CameoFactory.create_batch(3, level="everyone")
    decisions = decide(UserFactory(), *(c.handle for c in cameos))
    assert {d.error.code for d in decisions} == {"too_many_cameos"}
    with pytest.raises(KinoError) as raised:
        consent_require(user_id=UserFactory().id, handles=[c.handle for c in cameos], prompt="x", teen=False)
    assert raised.value.code == "too_many_cameos"
    assert raised.value.fields["cameos"][0]["code"] == "too_many_cameos"


def test_two_cameos_each_decided_in_order():
    mine = CharacterCameoFactory()
    theirs = CameoFactory(level="approved")
    decisions = decide(mine.owner, mine.handle, theirs.handle)
    assert [d.handle for d in decisions] == [mine.handle, theirs.handle]
    assert [d.allowed for d in decisions] == [True, False]
    assert decisions[0].cast.kind == "character"
    assert decisions[0].cast.personality


def test_require_raises_the_first_refusal_on_the_cameos_field():
    cameo = CameoFactory(level="approved")
    with pytest.raises(KinoError) as raised:
        consent_require(user_id=UserFactory().id, handles=[cameo.handle], prompt="@x", teen=False)
    assert raised.value.code == "cameo_permission_denied"
    assert raised.value.status_code == 403
    assert "cameos" in raised.value.fields


def test_a_restriction_refuses_with_the_restriction_quoted():
    cameo = CameoFactory(level="everyone")
    RestrictionFactory(cameo=cameo, text="no political content")
    user = UserFactory()
    (refused,) = decide(user, cameo.handle, prompt=f"@{cameo.handle} giving a speech at a campaign rally")
    assert refused.error.code == "cameo_restriction"
    assert refused.restriction == "no political content"
    with pytest.raises(KinoError) as raised:
        consent_require(
            user_id=user.id,
            handles=[cameo.handle],
            prompt=f"@{cameo.handle} giving a speech at a campaign rally",
            teen=False,
        )
    assert '"no political content"' in str(raised.value.detail)
    (allowed,) = decide(user, cameo.handle, prompt=f"@{cameo.handle} surfing a huge wave at sunset")
    assert allowed.allowed


def test_restrictions_bind_others_not_the_owner():
    cameo = CameoFactory(level="everyone")
    RestrictionFactory(cameo=cameo, text="no alcohol")
    prompt = f"@{cameo.handle} drinking beer at a crowded bar"
    assert decide(cameo.owner, cameo.handle, prompt=prompt)[0].allowed
    assert not decide(UserFactory(), cameo.handle, prompt=prompt)[0].allowed


def test_a_changed_restriction_applies_at_once(auth_client):
    cameo = CameoFactory(level="everyone")
    user = UserFactory()
    prompt = f"@{cameo.handle} drinking beer at a crowded bar"
    assert decide(user, cameo.handle, prompt=prompt)[0].allowed
    response = auth_client(cameo.owner).put(
        f"/api/v1/cameos/{cameo.id}/restrictions", {"restrictions": ["no alcohol"]}, format="json"
    )
    assert response.status_code == 200
    assert decide(user, cameo.handle, prompt=prompt)[0].error.code == "cameo_restriction"
    auth_client(cameo.owner).put(
        f"/api/v1/cameos/{cameo.id}/restrictions", {"restrictions": []}, format="json"
    )
    assert decide(user, cameo.handle, prompt=prompt)[0].allowed


def test_the_consent_query_is_compiled_once_and_bound_afresh_each_time():
    # consent_rows runs a statement compiled once per number of handles: the member and the handles
    # are parameters, so the next decision (another member, other handles) reads its own answer.
    approved_only = CameoFactory(level="approved")
    open_one = CameoFactory(level="everyone")
    approved, stranger = UserFactory(), UserFactory()
    ApprovalFactory(cameo=approved_only, user=approved, state="approved")
    BlockFactory(blocker=open_one.owner, blocked=stranger)
    assert [d.allowed for d in decide(approved, approved_only.handle, open_one.handle)] == [True, True]
    compiled = _consent_statement.cache_info()
    assert [d.error.code for d in decide(stranger, approved_only.handle, open_one.handle)] == [
        "cameo_permission_denied",
        "cameo_not_found",
    ]
    assert [d.handle for d in decide(stranger, open_one.handle, approved_only.handle)] == [
        open_one.handle,
        approved_only.handle,
    ]
    assert decide(approved_only.owner, approved_only.handle)[0].allowed
    assert decide(approved, open_one.handle)[0].allowed
    assert _consent_statement.cache_info().misses <= compiled.misses + 1  # the one-handle statement


def test_lock_needs_a_transaction_and_takes_it():
    cameo = CameoFactory(level="everyone")
    with transaction.atomic():
        (decision,) = decide(UserFactory(), cameo.handle, lock=True)
    assert decision.allowed


def test_a_decision_makes_two_queries_and_three_with_restrictions(django_assert_max_num_queries):
    a = CameoFactory(level="everyone")
    b = CameoFactory(level="everyone")
    RestrictionFactory(cameo=a, text="no alcohol")
    user = UserFactory()
    decide(user, a.handle, b.handle)  # the encoder loaded
    with django_assert_max_num_queries(2):
        decide(user, a.handle, b.handle)


@pytest.fixture
def events():
    heard = []
    cameo_listener_register(heard.append)
    yield heard
    cameo_listener_unregister(heard.append)


def test_uses_are_logged_and_a_draft_tells_the_owner(events):
    cameo = CameoFactory(level="approved")
    user = UserFactory()
    ApprovalFactory(cameo=cameo, user=user)
    decisions = decide(user, cameo.handle, "nobody_here")
    cameo_uses_record(user_id=user.id, decisions=decisions, stage="request", prompt="p")
    assert events == []
    import uuid

    job, video = uuid.uuid4(), uuid.uuid4()
    cameo_uses_record(
        user_id=user.id, decisions=decisions, stage="draft", job_id=job, video_id=video, prompt="p"
    )
    uses = list(Use.objects.order_by("created_at").values_list("stage", "allowed", "job_id"))
    assert uses == [("request", True, None), ("draft", True, job)]  # the unknown handle names no cameo
    assert [(e.kind, e.recipient_id, e.actor_id, e.data["video_id"]) for e in events] == [
        ("used", cameo.owner_id, user.id, video)
    ]


def test_uses_of_an_everyone_cameo_are_batched(events):
    import uuid

    cameo = CameoFactory(level="everyone")
    for _ in range(3):
        user = UserFactory()
        decisions = decide(user, cameo.handle)
        cameo_uses_record(
            user_id=user.id, decisions=decisions, stage="draft", job_id=uuid.uuid4(), video_id=uuid.uuid4()
        )
    assert [e.kind for e in events] == ["used"]  # one per CAMEO_USE_NOTIFY_WINDOW_S
    assert Use.objects.filter(cameo=cameo).count() == 3


def test_a_refused_use_is_logged_with_its_code():
    cameo = CameoFactory(level="approved")
    user = UserFactory()
    decisions = decide(user, cameo.handle)
    cameo_uses_record(user_id=user.id, decisions=decisions, stage="request", prompt="p")
    assert list(Use.objects.values_list("allowed", "code")) == [(False, "cameo_permission_denied")]
    assert Approval.objects.count() == 0
    assert Cameo.objects.get(id=cameo.id).consent_version == 0
