"""Who may see and use a cameo, through the API: levels, follows, blocks, requests and approvals,
the owner's settings, the usage log, and the events each change fires."""

from __future__ import annotations

import pytest

from cameos.hooks import cameo_listener_register, cameo_listener_unregister
from cameos.models import Approval, Cameo, Use
from tests.cameos.factories import ApprovalFactory, CameoFactory, CharacterCameoFactory, UseFactory
from tests.factories import BlockFactory, FollowFactory, UserFactory

pytestmark = pytest.mark.django_db

ONLY_ME, APPROVED, MUTUALS, EVERYONE = (level.value for level in Cameo.Level)


def relate(owner, other, relation):
    if relation in ("mutual", "mutual_blocked"):
        FollowFactory(follower=owner, followee=other)
        FollowFactory(follower=other, followee=owner)
    if relation == "follower":
        FollowFactory(follower=other, followee=owner)
    if relation == "approved":
        return
    if relation in ("blocked_by_owner", "mutual_blocked"):
        BlockFactory(blocker=owner, blocked=other)
    if relation == "blocks_owner":
        BlockFactory(blocker=other, blocked=owner)


# (level, relation) -> (status of GET, can_use)
CASES = {
    (ONLY_ME, "stranger"): (404, None),
    (ONLY_ME, "mutual"): (404, None),
    (APPROVED, "stranger"): (200, False),
    (APPROVED, "mutual"): (200, False),
    (APPROVED, "approved"): (200, True),
    (APPROVED, "blocked_by_owner"): (404, None),
    (APPROVED, "blocks_owner"): (404, None),
    (MUTUALS, "stranger"): (404, None),
    (MUTUALS, "follower"): (404, None),
    (MUTUALS, "mutual"): (200, True),
    (MUTUALS, "approved"): (200, True),
    (MUTUALS, "mutual_blocked"): (404, None),
    (EVERYONE, "stranger"): (200, True),
    (EVERYONE, "blocked_by_owner"): (404, None),
    (EVERYONE, "blocks_owner"): (404, None),
}


@pytest.mark.parametrize(("level", "relation"), list(CASES), ids=[f"{lv}-{r}" for lv, r in CASES])
def test_who_sees_and_may_use_a_cameo(auth_client, level, relation):
    # given a cameo at `level` and a member related to its owner by `relation`
    cameo = CameoFactory(level=level)
    other = UserFactory()
    relate(cameo.owner, other, relation)
    if relation == "approved":
        ApprovalFactory(cameo=cameo, user=other)
    expected_status, expected_use = CASES[(level, relation)]
    client = auth_client(other)
    # when they look it up by id and by handle
    by_id = client.get(f"/api/v1/cameos/{cameo.id}")
    by_handle = client.get(f"/api/v1/cameos/handle/{cameo.handle.upper()}")
    usable = client.get("/api/v1/cameos/usable").json()["results"]
    # then both answer alike, and a hidden one is 404 cameo_not_found
    assert by_id.status_code == by_handle.status_code == expected_status
    if expected_status == 404:
        assert by_id.json()["error"]["code"] == "cameo_not_found"
        assert usable == []
        return
    card = by_id.json()
    assert card["can_use"] is expected_use
    assert card["owner_detail"] is None  # others never read restrictions or preferences
    assert [c["id"] for c in usable] == ([str(cameo.id)] if expected_use else [])


@pytest.mark.parametrize("state", [Cameo.State.SUSPENDED, Cameo.State.DELETED])
def test_a_suspended_cameo_is_its_owners_alone_and_a_deleted_one_nobodys(auth_client, state):
    cameo = CameoFactory(level=EVERYONE, state=state)
    stranger = UserFactory()
    assert auth_client(stranger).get(f"/api/v1/cameos/{cameo.id}").status_code == 404
    mine = auth_client(cameo.owner).get(f"/api/v1/cameos/{cameo.id}")
    if state == Cameo.State.SUSPENDED:
        assert mine.status_code == 200
        assert mine.json()["state"] == "suspended"
        assert mine.json()["can_use"] is False
    else:
        assert mine.status_code == 404


def test_an_inactive_owners_cameo_is_hidden(auth_client):
    cameo = CameoFactory(level=EVERYONE)
    cameo.owner.is_active = False
    cameo.owner.save(update_fields=["is_active"])
    assert auth_client(UserFactory()).get(f"/api/v1/cameos/{cameo.id}").status_code == 404


def test_the_owner_reads_the_full_detail(auth_client):
    cameo = CameoFactory(level=APPROVED, preferences="always wearing a red cap")
    ApprovalFactory(cameo=cameo, state=Approval.State.REQUESTED)
    ApprovalFactory(cameo=cameo)
    body = auth_client(cameo.owner).get(f"/api/v1/cameos/{cameo.id}").json()
    assert body["is_mine"]
    assert body["can_use"]
    assert body["owner_detail"]["preferences"] == "always wearing a red cap"
    assert body["owner_detail"]["requests"] == 1
    assert body["owner_detail"]["approved"] == 1
    assert body["owner_detail"]["has_face"] is True
    assert "face_embedding" not in str(body)


def test_only_the_owner_changes_a_cameo(auth_client):
    cameo = CameoFactory(level=EVERYONE)
    stranger = UserFactory()
    for method in ("patch", "delete"):
        response = getattr(auth_client(stranger), method)(
            f"/api/v1/cameos/{cameo.id}", {"level": ONLY_ME}, format="json"
        )
        assert response.status_code == 404, method
    put = auth_client(stranger).put(
        f"/api/v1/cameos/{cameo.id}/restrictions", {"restrictions": ["no hats"]}, format="json"
    )
    assert put.status_code == 404
    cameo.refresh_from_db()
    assert cameo.level == EVERYONE
    assert cameo.state == Cameo.State.ACTIVE


def test_the_owner_changes_level_and_texts(auth_client):
    cameo = CameoFactory()
    response = auth_client(cameo.owner).patch(
        f"/api/v1/cameos/{cameo.id}",
        {"level": MUTUALS, "preferences": "always wearing a red cap", "display_name": "Al"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["level"] == MUTUALS
    assert response.json()["owner_detail"]["preferences"] == "always wearing a red cap"


def test_teens_cannot_open_their_cameo_to_everyone(auth_client):
    from datetime import date

    teen = UserFactory(birthdate=date.today().replace(year=date.today().year - 15))
    cameo = CameoFactory(owner=teen)
    response = auth_client(teen).patch(f"/api/v1/cameos/{cameo.id}", {"level": EVERYONE}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "level_not_allowed"
    assert (
        auth_client(teen).patch(f"/api/v1/cameos/{cameo.id}", {"level": MUTUALS}, format="json").status_code
        == 200
    )


@pytest.mark.parametrize(
    "body",
    [
        {"level": "friends"},
        {"level": None},
        {"preferences": "x" * 301},
        {"owner": "someone"},
        {"display_name": 5},
    ],
    ids=["unknown-level", "null-level", "long-preferences", "unknown-field", "not-text"],
)
def test_bad_settings_are_400(auth_client, body):
    cameo = CameoFactory()
    response = auth_client(cameo.owner).patch(f"/api/v1/cameos/{cameo.id}", body, format="json")
    assert response.status_code == 400, response.content


def test_restrictions_are_bounded(auth_client):
    cameo = CameoFactory()
    client = auth_client(cameo.owner)
    url = f"/api/v1/cameos/{cameo.id}/restrictions"
    assert (
        client.put(url, {"restrictions": [f"no hats {i}" for i in range(11)]}, format="json").status_code
        == 400
    )
    assert client.put(url, {"restrictions": ["x" * 201]}, format="json").status_code == 400
    saved = client.put(url, {"restrictions": ["no political content", "no alcohol"]}, format="json")
    assert saved.status_code == 200
    assert saved.json() == {"restrictions": ["no political content", "no alcohol"]}
    detail = client.get(f"/api/v1/cameos/{cameo.id}").json()
    assert detail["owner_detail"]["restrictions"] == ["no political content", "no alcohol"]


@pytest.fixture
def events():
    heard = []
    cameo_listener_register(heard.append)
    yield heard
    cameo_listener_unregister(heard.append)


def test_ask_approve_revoke(auth_client, events):
    # given alice's cameo for "people I approve", and bob
    cameo = CameoFactory(level=APPROVED)
    alice, bob = cameo.owner, UserFactory()
    as_bob, as_alice = auth_client(bob), auth_client(alice)
    # when bob asks (twice)
    first = as_bob.post(
        f"/api/v1/cameos/{cameo.id}/requests", {"message": "for my birthday clip"}, format="json"
    )
    again = as_bob.post(f"/api/v1/cameos/{cameo.id}/requests", {}, format="json")
    # then one request stands, and alice heard of it once
    assert first.status_code == 201
    assert again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert [(e.kind, e.recipient_id, e.actor_id) for e in events] == [("requested", alice.id, bob.id)]
    request_id = first.json()["id"]
    listed = as_alice.get(f"/api/v1/cameos/{cameo.id}/requests?state=requested").json()["results"]
    assert [r["id"] for r in listed] == [request_id]
    assert as_bob.get("/api/v1/cameos/requests/mine").json()["results"][0]["state"] == "requested"
    assert as_bob.get(f"/api/v1/cameos/{cameo.id}").json()["my_request"]["state"] == "requested"
    # bob cannot answer his own request
    assert as_bob.post(f"/api/v1/cameos/{cameo.id}/requests/{request_id}/approve").status_code == 404
    # when alice approves
    approved = as_alice.post(f"/api/v1/cameos/{cameo.id}/requests/{request_id}/approve")
    assert approved.status_code == 200
    assert approved.json()["state"] == "approved"
    assert as_bob.get(f"/api/v1/cameos/{cameo.id}").json()["can_use"] is True
    # asking again is not needed now
    assert as_bob.post(f"/api/v1/cameos/{cameo.id}/requests", {}, format="json").json()["error"]["code"] == (
        "approval_not_needed"
    )
    # when alice revokes
    version = Cameo.objects.get(id=cameo.id).consent_version
    revoked = as_alice.post(f"/api/v1/cameos/{cameo.id}/requests/{request_id}/revoke")
    assert revoked.json()["state"] == "revoked"
    assert as_bob.get(f"/api/v1/cameos/{cameo.id}").json()["can_use"] is False
    assert Cameo.objects.get(id=cameo.id).consent_version == version + 1
    # revoking twice is harmless; denying a revoked approval is not a move
    assert as_alice.post(f"/api/v1/cameos/{cameo.id}/requests/{request_id}/revoke").status_code == 200
    deny = as_alice.post(f"/api/v1/cameos/{cameo.id}/requests/{request_id}/deny")
    assert deny.status_code == 409
    assert deny.json()["error"]["code"] == "approval_state"
    assert [e.kind for e in events] == ["requested", "approved", "revoked"]
    assert all(e.recipient_id == bob.id for e in events[1:])


def test_a_denied_member_cannot_nag(auth_client):
    approval = ApprovalFactory(state=Approval.State.REQUESTED)
    as_owner = auth_client(approval.cameo.owner)
    url = f"/api/v1/cameos/{approval.cameo_id}/requests"
    assert as_owner.post(f"{url}/{approval.id}/deny").json()["state"] == "denied"
    again = auth_client(approval.user).post(url, {}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "approval_state"


def test_no_request_where_none_is_needed_or_possible(auth_client):
    open_cameo = CameoFactory(level=EVERYONE)
    hidden = CameoFactory(level=ONLY_ME)
    client = auth_client(UserFactory())
    assert client.post(f"/api/v1/cameos/{open_cameo.id}/requests", {}, format="json").status_code == 409
    assert client.post(f"/api/v1/cameos/{hidden.id}/requests", {}, format="json").status_code == 404
    mine = auth_client(open_cameo.owner).post(f"/api/v1/cameos/{open_cameo.id}/requests", {}, format="json")
    assert mine.json()["error"]["code"] == "approval_not_needed"


def test_level_change_is_told_to_members_with_a_request_or_approval(auth_client, events):
    cameo = CameoFactory(level=APPROVED)
    approved = ApprovalFactory(cameo=cameo)
    asked = ApprovalFactory(cameo=cameo, state=Approval.State.REQUESTED)
    ApprovalFactory(cameo=cameo, state=Approval.State.DENIED)
    auth_client(cameo.owner).patch(f"/api/v1/cameos/{cameo.id}", {"level": EVERYONE}, format="json")
    assert {(e.kind, e.recipient_id) for e in events} == {
        ("level_changed", approved.user_id),
        ("level_changed", asked.user_id),
    }
    assert events[0].data == {"level": EVERYONE, "previous": APPROVED}


def test_the_usage_log_is_the_owners(auth_client):
    cameo = CameoFactory(level=EVERYONE)
    user = UserFactory()
    UseFactory(cameo=cameo, user=user, allowed=False, code="cameo_restriction", stage=Use.Stage.REQUEST)
    UseFactory(cameo=cameo, user=user, stage=Use.Stage.DRAFT)
    log = auth_client(cameo.owner).get(f"/api/v1/cameos/{cameo.id}/uses").json()["results"]
    assert [(u["stage"], u["allowed"], u["code"]) for u in log] == [
        ("draft", True, ""),
        ("request", False, "cameo_restriction"),
    ]
    assert log[0]["member"]["username"] == user.username
    assert auth_client(user).get(f"/api/v1/cameos/{cameo.id}/uses").status_code == 404


def test_my_cameos_lists_mine_only(auth_client):
    owner = UserFactory()
    mine = [CameoFactory(owner=owner), CharacterCameoFactory(owner=owner)]
    CameoFactory(level=EVERYONE)
    results = auth_client(owner).get("/api/v1/cameos").json()["results"]
    assert {r["id"] for r in results} == {str(c.id) for c in mine}
    assert all(r["owner_detail"] is not None for r in results)


def test_deleting_a_cameo_erases_its_likeness(auth_client, events, django_capture_on_commit_callbacks):
    from tests.cameos.factories import CameoReferenceFactory, RestrictionFactory

    cameo = CameoFactory(level=APPROVED)
    approval = ApprovalFactory(cameo=cameo)
    ref = CameoReferenceFactory(cameo=cameo)
    RestrictionFactory(cameo=cameo)
    storage, name = ref.image.storage, ref.image.name
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client(cameo.owner).delete(f"/api/v1/cameos/{cameo.id}")
    assert response.status_code == 204
    cameo.refresh_from_db()
    assert cameo.state == Cameo.State.DELETED
    assert cameo.face_embedding is None
    assert not cameo.references.exists()
    assert not cameo.restrictions.exists()
    assert sorted((e.kind, e.recipient_id) for e in events) == sorted(
        [("deleted", cameo.owner_id), ("deleted", approval.user_id)]
    )
    assert not storage.exists(name)  # deleted once the deletion committed
    assert auth_client(cameo.owner).get(f"/api/v1/cameos/{cameo.id}").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("patch", "", {"level": "friends"}),
        ("put", "/restrictions", {}),
        ("post", "/requests", {"message": 5}),
    ],
    ids=["patch", "restrictions", "request"],
)
def test_a_hidden_cameo_is_404_before_any_bad_input(auth_client, method, path, body):
    cameo = CameoFactory(level=ONLY_ME)
    response = getattr(auth_client(UserFactory()), method)(
        f"/api/v1/cameos/{cameo.id}{path}", body, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "cameo_not_found"
