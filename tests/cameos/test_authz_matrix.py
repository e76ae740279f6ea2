"""Who may do what with a cameo: every cameo endpoint and the generation request, called by each kind
of member, against the table below. A forbidden object answers 404 (`*_not_found`), as if it did not
exist; a refusal of something one may see answers its own code (403 `cameo_permission_denied`, 409
`approval_not_needed`).

The scene, built afresh for each row: alice owns a person cameo (@alice) at the row's level and a
registration waiting for its upload; bob is approved to use the cameo and made a draft casting it;
dana has a request waiting. The actors:

- owner: alice;  approved: bob (also the draft's creator);  mutual: follows alice and is followed back;
- follower: follows alice, one way;  stranger: no tie;  blocked: alice blocked them;
- blocker: they blocked alice;  teen: a 15-year-old stranger;  moderator: staff in the moderators
  group (moderators act in the admin, so through the API they are members like any other).

Every cell is one call; the owner calls last, so a write that must succeed for the owner alone finds
the scene untouched by the others. `KINO_AUTHZ_RESULTS=<file>` appends each row's counts to that
file as a JSON line (bench/cameos_authz.py runs this module and sums them).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.roles import MODERATORS, moderators_group_sync
from cameos.models import Approval, Cameo, Registration
from tests.cameos.factories import ApprovalFactory, CameoFactory
from tests.factories import BlockFactory, FollowFactory, UserFactory, VideoCameoFactory, VideoFactory

pytestmark = pytest.mark.django_db

ACTORS = ("owner", "approved", "mutual", "follower", "stranger", "blocked", "blocker", "teen", "moderator")

# The expected status of each call. Rows with a level are about seeing and using the cameo at that
# level; the owner's rows ("any" level: run at "approved", where everyone but the blocked may see the
# cameo) must answer the owner alone.
TABLE = """
level     action       owner approved mutual follower stranger blocked blocker teen moderator
only_me   view         200   404      404    404      404      404     404     404  404
only_me   by_handle    200   404      404    404      404      404     404     404  404
only_me   use          201   404      404    404      404      404     404     404  404
only_me   ask          409   404      404    404      404      404     404     404  404
approved  view         200   200      200    200      200      404     404     200  200
approved  by_handle    200   200      200    200      200      404     404     200  200
approved  use          201   201      403    403      403      404     404     403  403
approved  ask          409   409      201    201      201      404     404     201  201
mutuals   view         200   200      200    404      404      404     404     404  404
mutuals   by_handle    200   200      200    404      404      404     404     404  404
mutuals   use          201   201      201    404      404      404     404     404  404
mutuals   ask          409   409      409    404      404      404     404     404  404
everyone  view         200   200      200    200      200      404     404     200  200
everyone  by_handle    200   200      200    200      200      404     404     200  200
everyone  use          201   201      201    201      201      404     404     201  201
everyone  ask          409   409      409    409      409      404     404     409  409
any       oversight    200   404      404    404      404      404     404     404  404
any       remove       200   404      404    404      404      404     404     404  404
any       report       201   404      404    404      404      404     404     404  404
any       uses         200   404      404    404      404      404     404     404  404
any       requests     200   404      404    404      404      404     404     404  404
any       set_level    200   404      404    404      404      404     404     404  404
any       restrict     200   404      404    404      404      404     404     404  404
any       approve      200   404      404    404      404      404     404     404  404
any       deny         200   404      404    404      404      404     404     404  404
any       revoke       200   404      404    404      404      404     404     404  404
any       delete       204   404      404    404      404      404     404     404  404
any       reg_view     200   404      404    404      404      404     404     404  404
any       reg_upload   400   404      404    404      404      404     404     404  404
any       reg_review   409   404      404    404      404      404     404     404  404
"""


def _rows() -> list[tuple[str, str, dict[str, int]]]:
    lines = [line.split() for line in TABLE.strip().splitlines()]
    header, body = lines[0], lines[1:]
    assert tuple(header[2:]) == ACTORS
    return [(row[0], row[1], dict(zip(ACTORS, map(int, row[2:]), strict=True))) for row in body]


ROWS = _rows()


@dataclass
class Scene:
    cameo: Cameo
    actors: dict[str, Any]
    draft_id: str
    waiting_id: str  # dana's request, waiting for an answer
    approval_id: str  # bob's approval
    registration_id: str  # alice's registration, waiting for its upload


def scene_build(level: str) -> Scene:
    alice = UserFactory(username="alice")
    cameo = CameoFactory(owner=alice, handle="alice", level=level)
    bob = UserFactory(username="bob")
    approval = ApprovalFactory(cameo=cameo, user=bob, state=Approval.State.APPROVED)
    waiting = ApprovalFactory(cameo=cameo, user=UserFactory(username="dana"), state=Approval.State.REQUESTED)
    draft = VideoFactory(owner=bob, prompt="@alice waving hello")
    VideoCameoFactory(video=draft, cameo_id=cameo.id, cameo_owner=alice)
    mutual, follower = UserFactory(username="mutual"), UserFactory(username="follower")
    FollowFactory(follower=mutual, followee=alice)
    FollowFactory(follower=alice, followee=mutual)
    FollowFactory(follower=follower, followee=alice)
    blocked, blocker = UserFactory(username="blocked"), UserFactory(username="blocker")
    BlockFactory(blocker=alice, blocked=blocked)
    BlockFactory(blocker=blocker, blocked=alice)
    teen = UserFactory(username="teen", birthdate=date(date.today().year - 15, 1, 1))
    moderators_group_sync()
    moderator = UserFactory(username="moderator", is_staff=True)
    moderator.groups.add(Group.objects.get(name=MODERATORS))
    actors = {
        "owner": alice,
        "approved": bob,
        "mutual": mutual,
        "follower": follower,
        "stranger": UserFactory(username="stranger"),
        "blocked": blocked,
        "blocker": blocker,
        "teen": teen,
        "moderator": moderator,
    }
    registration = Registration.objects.create(
        owner=alice,
        head_turns=["left", "right"],
        phrase="4 7 2 9",
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    return Scene(cameo, actors, str(draft.id), str(waiting.id), str(approval.id), str(registration.id))


def _cameo(s: Scene) -> str:
    return f"/api/v1/cameos/{s.cameo.id}"


ASK = {"prompt": "@alice waving hello", "cameos": ["alice"], "duration_s": 4}

# Each action: one call by `client` in scene `s`.
ACTIONS: dict[str, Callable[[Any, Scene], Any]] = {
    "view": lambda c, s: c.get(_cameo(s)),
    "by_handle": lambda c, s: c.get("/api/v1/cameos/handle/alice"),
    "use": lambda c, s: c.post("/api/v1/generations", ASK, format="json"),
    "ask": lambda c, s: c.post(f"{_cameo(s)}/requests", {}, format="json"),
    "oversight": lambda c, s: c.get(f"{_cameo(s)}/videos"),
    "remove": lambda c, s: c.post(f"{_cameo(s)}/videos/{s.draft_id}/remove"),
    "report": lambda c, s: c.post(f"{_cameo(s)}/videos/{s.draft_id}/report", {}, format="json"),
    "uses": lambda c, s: c.get(f"{_cameo(s)}/uses"),
    "requests": lambda c, s: c.get(f"{_cameo(s)}/requests"),
    "set_level": lambda c, s: c.patch(_cameo(s), {"level": "mutuals"}, format="json"),
    "restrict": lambda c, s: c.put(f"{_cameo(s)}/restrictions", {"restrictions": []}, format="json"),
    "approve": lambda c, s: c.post(f"{_cameo(s)}/requests/{s.waiting_id}/approve"),
    "deny": lambda c, s: c.post(f"{_cameo(s)}/requests/{s.waiting_id}/deny"),
    "revoke": lambda c, s: c.post(f"{_cameo(s)}/requests/{s.approval_id}/revoke"),
    "delete": lambda c, s: c.delete(_cameo(s)),
    # Registration: the owner's upload without a file is a 400, their review of a registration not
    # refused as already registered a 409; for anyone else the registration does not exist.
    "reg_view": lambda c, s: c.get(f"/api/v1/cameos/registrations/{s.registration_id}"),
    "reg_upload": lambda c, s: c.post(f"/api/v1/cameos/registrations/{s.registration_id}/upload", {}),
    "reg_review": lambda c, s: c.post(f"/api/v1/cameos/registrations/{s.registration_id}/review"),
}


@dataclass(frozen=True)
class Outcome:
    cases: int
    unexpected: int  # a success where a refusal was expected: the one failure that must never happen
    mismatched: list[str]  # every cell whose answer differs from the table


def matrix_row(auth_client: Any, level: str, action: str, expected: dict[str, int]) -> Outcome:
    scene = scene_build("approved" if level == "any" else level)
    order = [actor for actor in ACTORS if actor != "owner"] + ["owner"]
    unexpected, mismatched = 0, []
    for actor in order:
        response = ACTIONS[action](auth_client(scene.actors[actor]), scene)
        want, got = expected[actor], response.status_code
        body = response.json() if response.content else {}
        code = (body.get("error") or {}).get("code", "") if isinstance(body, dict) else ""
        if got < 300 and want >= 300:
            unexpected += 1
        if got != want or (want == 404 and not code.endswith("not_found")):
            mismatched.append(f"{level} {action} by {actor}: expected {want}, got {got} {code}".rstrip())
    return Outcome(cases=len(order), unexpected=unexpected, mismatched=mismatched)


def _record(outcome: Outcome) -> None:
    path = os.environ.get("KINO_AUTHZ_RESULTS")
    if path:
        row = {
            "cases": outcome.cases,
            "unexpected": outcome.unexpected,
            "mismatched": len(outcome.mismatched),
        }
        with open(path, "a") as handle:
            handle.write(json.dumps(row) + "\n")


@pytest.mark.parametrize(
    ("level", "action", "expected"), ROWS, ids=[f"{level}-{action}" for level, action, _ in ROWS]
)
def test_the_matrix(auth_client, level, action, expected):
    outcome = matrix_row(auth_client, level, action, expected)
    _record(outcome)
    assert outcome.unexpected == 0, outcome.mismatched
    assert outcome.mismatched == []


@pytest.mark.parametrize(("teen", "expected"), [(True, 403), (False, 200)], ids=["teen", "adult"])
def test_only_an_adult_opens_their_cameo_to_everyone(auth_client, teen, expected):
    birth = date(date.today().year - 15, 1, 1) if teen else date(1990, 1, 1)
    cameo = CameoFactory(owner=UserFactory(birthdate=birth), level=Cameo.Level.APPROVED)

    response = auth_client(cameo.owner).patch(
        f"/api/v1/cameos/{cameo.id}", {"level": "everyone"}, format="json"
    )

    assert response.status_code == expected, response.content
    if teen:
        assert response.json()["error"]["code"] == "level_not_allowed"
    _record(Outcome(cases=1, unexpected=int(teen and response.status_code < 300), mismatched=[]))
