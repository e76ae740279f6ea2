"""The foundation's promise, over the network only: real uvicorn processes, a real Celery worker."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import re
import threading
import time
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import websockets
from django.contrib.auth.hashers import make_password

from accounts.models import Invite, User
from generation.pipeline import STAGES
from mediakit import Clip
from mediakit.encode import clip_encode
from mediakit.sampling import clip_from_file
from provenance.public import WATERMARK_READ_THRESHOLD, watermark_read
from tests.browser import chromium
from tests.factories import PASSWORD, InviteFactory, UserFactory

pytestmark = pytest.mark.slow


def live_user(**kwargs: object) -> User:
    """A user whose password the live servers (production hashers) accept."""
    user = UserFactory(**kwargs)
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    return user


def wait_for_mail(folder: Path, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        files = sorted(folder.glob("*.log"))
        if files:
            return files[0].read_text()
        time.sleep(0.2)
    raise AssertionError("no invite email was written")


def csrf_of(page: httpx.Response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def admin_login(http: httpx.Client, username: str) -> None:
    login_page = http.get("/admin/login/")
    done = http.post(
        "/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": csrf_of(login_page), "username": username, "password": PASSWORD},
    )
    assert done.status_code == 302, done.text[:500]


def admin_admit(http: httpx.Client, email: str) -> None:
    """Log in to the Django admin and run the bulk "admit" action on the entry for `email`."""
    admin_login(http, "staffer")
    changelist = http.get("/admin/accounts/waitlistentry/", params={"q": email})
    entry_id = re.search(r'name="_selected_action" value="([^"]+)"', changelist.text).group(1)
    admitted = http.post(
        "/admin/accounts/waitlistentry/",
        data={
            "csrfmiddlewaretoken": csrf_of(changelist),
            "action": "admit",
            "_selected_action": entry_id,
            "index": "0",
        },
    )
    assert admitted.status_code == 302, admitted.text[:500]


async def next_event(ws, event_type: str, timeout_s: float = 10) -> dict:
    async with asyncio.timeout(timeout_s):
        while True:
            event = json.loads(await ws.recv())
            if event["type"] == event_type:
                return event


def test_join_admit_redeem_login_follow_and_hear_it_live(live_stack):
    # Given a staff member and a member (bob) already on Kino
    live_user(username="staffer", is_staff=True, is_superuser=True)
    live_user(username="bob")
    api = httpx.Client(base_url=live_stack.base + "/api/v1", timeout=10)

    # 1. A newcomer joins the waitlist
    assert api.post("/waitlist", json={"email": "newcomer@example.com"}).status_code == 202

    # 2. Staff admit them in the admin; the worker mails the invite
    with httpx.Client(base_url=live_stack.base, timeout=10) as browser:
        admin_admit(browser, "newcomer@example.com")
    mail = wait_for_mail(live_stack.mail_dir)
    assert "To: newcomer@example.com" in mail
    code = re.search(r"/beta/invite/([A-Z0-9-]+)/", mail).group(1)

    # 3. They redeem it, then log in and read /me
    signup = api.post(
        "/auth/signup",
        json={
            "invite_code": code,
            "username": "newcomer",
            "email": "newcomer@example.com",
            "password": PASSWORD,
            "birthdate": "1998-07-01",
        },
    )
    assert signup.status_code == 201, signup.text
    tokens = api.post("/auth/token", json={"username": "newcomer", "password": PASSWORD}).json()
    me = api.get("/me", headers={"Authorization": f"Bearer {tokens['access']}"})
    assert me.json()["username"] == "newcomer"

    # 4. Bob is connected over the WebSocket; the newcomer follows him; Bob hears it live, whichever
    #    uvicorn process holds his socket (fan-out through the Redis channel layer)
    bob_token = api.post("/auth/token", json={"username": "bob", "password": PASSWORD}).json()["access"]

    async def bob_listens() -> dict:
        async with websockets.connect(f"{live_stack.ws}?token={bob_token}") as ws:
            assert (await next_event(ws, "session.ready"))["data"]["user_id"]
            for _ in range(4):  # several requests, so both uvicorn processes serve some
                follow = await asyncio.to_thread(
                    api.post, "/users/bob/follow", headers={"Authorization": f"Bearer {tokens['access']}"}
                )
                assert follow.status_code in (200, 201)
            return await next_event(ws, "follow.created")

    event = asyncio.run(bob_listens())
    assert event["data"]["follower"]["username"] == "newcomer"
    assert set(event) == {"type", "data", "ts"}


def test_websocket_handshake_without_a_token_is_refused(live_stack):
    async def attempt() -> int:
        try:
            async with websockets.connect(live_stack.ws):
                return 101
        except websockets.InvalidStatus as exc:
            return exc.response.status_code

    assert asyncio.run(attempt()) == 403


def test_concurrent_redemptions_of_one_code_make_exactly_one_account(live_stack):
    # Given one valid invite and 12 people racing to redeem it at the same instant
    invite = InviteFactory()
    barrier = threading.Barrier(12)
    results: list[int] = []

    def redeem(i: int) -> None:
        with httpx.Client(base_url=live_stack.base, timeout=30) as client:
            barrier.wait()
            response = client.post(
                "/api/v1/auth/signup",
                json={
                    "invite_code": invite.code,
                    "username": f"racer{i}",
                    "email": f"racer{i}@example.com",
                    "password": PASSWORD,
                    "birthdate": "1995-01-01",
                },
            )
            results.append(response.status_code)

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # Then exactly one wins; the rest are told the code is used, and no stray account exists
    assert sorted(results) == [201] + [400] * 11
    assert User.objects.filter(username__startswith="racer").count() == 1
    invite.refresh_from_db()
    assert invite.redeemed_by.username.startswith("racer")
    assert Invite.objects.filter(redeemed_by__username__startswith="racer").count() == 1


def test_a_member_makes_a_clip_stage_by_stage_then_leaves_and_nothing_of_them_stays(live_stack):
    # Given a member logged in over the network, listening on the WebSocket with the header
    live_user(username="maker")
    api = httpx.Client(base_url=live_stack.base + "/api/v1", timeout=30)
    token = api.post("/auth/token", json={"username": "maker", "password": PASSWORD}).json()["access"]
    auth = {"Authorization": f"Bearer {token}"}

    async def make_then_leave() -> tuple[list[dict], dict, dict]:
        async with websockets.connect(live_stack.ws, additional_headers=auth) as ws:
            await next_event(ws, "session.ready")
            # 1. A clip, followed stage by stage until its draft is made
            asked = await asyncio.to_thread(
                api.post, "/generations", json={"prompt": "a red ball", "duration_s": 4}, headers=auth
            )
            assert asked.status_code == 201, asked.text
            events: list[dict] = []
            async with asyncio.timeout(120):
                while not events or events[-1]["type"] != "generation.succeeded":
                    events.append(json.loads(await ws.recv()))
            job = (
                await asyncio.to_thread(api.get, f"/generations/{asked.json()['id']}", headers=auth)
            ).json()
            video = (await asyncio.to_thread(api.get, f"/videos/{job['video_id']}", headers=auth)).json()
            # 2. The member deletes their account: this very socket is told, and closed
            gone = await asyncio.to_thread(
                api.request, "DELETE", "/me", json={"password": PASSWORD}, headers=auth
            )
            assert gone.status_code == 204
            closed = await next_event(ws, "session.closed")
            with pytest.raises(websockets.ConnectionClosed) as ended:
                await ws.recv()
            assert ended.value.rcvd.code == 4403
            return events, video, closed

    events, video, closed = asyncio.run(make_then_leave())
    stages = [e["data"]["stage"] for e in events if e["type"] in ("generation.running", "generation.stage")]
    assert stages == [stage.__name__ for stage in STAGES]  # claim, then every stage in order
    assert closed["data"]["reason"] == "account_deleted"
    # 3. Nothing of theirs stays reachable: the old signed link, the token, the account
    assert httpx.get(video["video_url"], timeout=10).status_code == 404
    assert api.get("/me", headers=auth).status_code == 401
    assert not User.objects.filter(username="maker").exists()


def test_a_post_is_liked_commented_remixed_traced_shared_and_exported(live_stack, tmp_path):
    # Given two members over the network: maker listens on the WebSocket, fan reacts
    live_user(username="maker")
    live_user(username="fan")
    api = httpx.Client(base_url=live_stack.base + "/api/v1", timeout=30)
    maker = {"Authorization": f"Bearer {login(api, 'maker')}"}
    fan = {"Authorization": f"Bearer {login(api, 'fan')}"}

    async def story() -> tuple[str, str, list[dict]]:
        async with websockets.connect(live_stack.ws, additional_headers=maker) as ws:
            await next_event(ws, "session.ready")
            # 1. maker generates a clip and posts it
            root = await asyncio.to_thread(clip_made, api, maker, {"prompt": "a red ball bouncing"})
            posted = await asyncio.to_thread(
                api.post, f"/videos/{root}/post", json={"caption": "mine"}, headers=maker
            )
            assert posted.status_code == 200, posted.text
            # 2. fan likes it, comments on it and remixes it (a generation whose parent is the post)
            liked = await asyncio.to_thread(api.post, f"/videos/{root}/like", headers=fan)
            said = await asyncio.to_thread(
                api.post, f"/videos/{root}/comments", json={"body": "love it"}, headers=fan
            )
            assert (liked.status_code, said.status_code) == (201, 201)
            remix = await asyncio.to_thread(
                clip_made, api, fan, {"prompt": "a blue ball bouncing", "remix_of": root}
            )
            reposted = await asyncio.to_thread(api.post, f"/videos/{remix}/post", json={}, headers=fan)
            assert reposted.status_code == 200, reposted.text
            # 3. maker hears each, live
            heard: list[dict] = []
            async with asyncio.timeout(30):
                while {"liked", "commented", "remixed"} - {e["data"]["type"] for e in heard}:
                    heard.append(await next_event(ws, "notification.created"))
            return root, remix, heard

    root, remix, heard = asyncio.run(story())
    assert {e["data"]["actor_id"] for e in heard if e["data"]["type"] != "generation_finished"} == {
        str(User.objects.get(username="fan").id)
    }

    # 4. The lineage reads root -> remix, both ways, and the card names its parent
    ancestors = api.get(f"/videos/{remix}/ancestors", headers=maker).json()["results"]
    assert [node["video"]["id"] for node in ancestors] == [root]
    remixes = api.get(f"/videos/{root}/remixes", headers=maker).json()["results"]
    assert [node["video"]["id"] for node in remixes] == [remix]
    card = api.get(f"/videos/{remix}", headers=maker).json()
    assert (card["remix_of"], card["remix_of_creator"]) == (root, "maker")
    assert api.get(f"/videos/{root}", headers=maker).json()["stats"]["likes"] == 1

    # 5. The remix's share page plays in headless Chromium on a phone
    assert shared_page_plays(card["share_url"])["error"] is None

    # 6. maker's data export holds the post's MP4, byte for byte
    mp4 = httpx.get(api.get(f"/videos/{root}", headers=maker).json()["video_url"], timeout=30).content
    with zipfile.ZipFile(io.BytesIO(exported(api, maker))) as archive:
        held = [
            name
            for name in archive.namelist()
            if name.startswith(f"videos/{root}/") and name.endswith(".mp4")
        ]
        assert held
        assert archive.read(held[0]) == mp4

    # 7. Its file is marked and signed; anyone traces a copy back to the post
    provenance_traced(api, live_stack.base, mp4, root, remix)


def test_a_post_is_reported_taken_down_appealed_and_restored_by_another_moderator(live_stack):
    # Given a maker listening on the WebSocket, a fan, two moderators, and a public figure registered
    live_user(username="maker")
    live_user(username="fan")
    for name in ("mod_one", "mod_two"):
        moderator_made(name)
    figure_registered("Tom Hanks", roles=["Forrest Gump"])
    api = httpx.Client(base_url=live_stack.base + "/api/v1", timeout=30)
    maker = {"Authorization": f"Bearer {login(api, 'maker')}"}
    fan = {"Authorization": f"Bearer {login(api, 'fan')}"}

    # 1. A prompt naming the figure, or the character they played, is refused at the door
    for prompt in ("T0m H4nks eating soup", "forrest gump running across america"):
        refused = api.post("/generations", json={"duration_s": 4, "prompt": prompt}, headers=maker)
        assert refused.status_code == 400, refused.text
        assert "hanks" not in refused.text.lower()  # the code, never whose name matched

    async def story() -> tuple[str, dict, dict]:
        async with websockets.connect(live_stack.ws, additional_headers=maker) as ws:
            await next_event(ws, "session.ready")
            # 2. maker posts a clip; fan reports it
            video = await asyncio.to_thread(clip_made, api, maker, {"prompt": "a red ball bouncing"})
            posted = await asyncio.to_thread(api.post, f"/videos/{video}/post", json={}, headers=maker)
            assert posted.status_code == 200, posted.text
            report = {"subject_kind": "video", "subject_id": video, "reason": "violence", "text": "gory"}
            filed = await asyncio.to_thread(api.post, "/reports", json=report, headers=fan)
            assert filed.status_code == 201, filed.text
            # 3. mod_one works the queue in the admin: claims the item, takes the post down with a reason
            await asyncio.to_thread(
                desk_decide,
                live_stack.base,
                "mod_one",
                video,
                {
                    "action": "take_down",
                    "reason_code": "graphic_violence",
                    "reason_text": "Gore.",
                },
            )
            # 4. maker hears the statement of reasons, live
            return video, (await next_event(ws, "moderation.decision", timeout_s=30))["data"], posted.json()

    video, statement, _ = asyncio.run(story())
    assert statement["reason"]["code"] == "graphic_violence"
    assert api.get(f"/videos/{video}", headers=fan).status_code == 404
    # 5. the reporter is told the outcome once
    told = [
        group
        for group in api.get("/notifications", headers=fan).json()["results"]
        if group["type"] == "moderation"
    ]
    assert len(told) == 1, told

    # 6. maker appeals through the API; mod_one may not review it, mod_two restores the post
    decision = statement["decision_id"]
    appealed = api.post(f"/moderation/decisions/{decision}/appeal", json={"text": "A ball."}, headers=maker)
    assert appealed.status_code == 201, appealed.text
    assert desk_claim(live_stack.base, "mod_one", video, kind="appeal") == "refused"
    desk_decide(
        live_stack.base, "mod_two", video, {"outcome": "overturned", "reason_text": "A ball."}, kind="appeal"
    )
    assert api.get(f"/videos/{video}", headers=fan).status_code == 200


@pytest.fixture
def builtin_stack(transactional_db, tmp_path):
    """Kino's processes with the built-in engine (the default install's), which renders cameos."""
    from tests.live import LiveStack

    (tmp_path / "mail").mkdir()
    stack = LiveStack(tmp_path / "mail", env={"GENERATION_ENGINE": "builtin"}).start()
    yield stack
    stack.stop()


def test_a_cameo_is_registered_shared_cast_overseen_and_withdrawn(builtin_stack):
    # Given alice, bob and carol over the network
    from tests.cameos import selfie

    if selfie.tools_missing():
        pytest.skip(selfie.tools_missing())
    for name in ("alice", "bob", "carol"):
        live_user(username=name)
    api = httpx.Client(base_url=builtin_stack.base + "/api/v1", timeout=60)
    alice, bob, carol = (
        {"Authorization": f"Bearer {login(api, name)}"} for name in ("alice", "bob", "carol")
    )

    # 1. alice registers her cameo: the server's challenge, a selfie video doing it, a worker's checks
    cameo = cameo_registered(api, alice)
    # 2. she opens it to "people I approve"; bob asks, alice approves
    opened = api.patch(f"/cameos/{cameo}", json={"level": "approved"}, headers=alice)
    assert opened.status_code == 200, opened.text
    asked = api.post(f"/cameos/{cameo}/requests", json={"message": "for my beach clip"}, headers=bob)
    assert asked.status_code == 201, asked.text
    approved = api.post(f"/cameos/{cameo}/requests/{asked.json()['id']}/approve", headers=alice)
    assert approved.status_code == 200, approved.text

    # 3. carol, not approved, is refused at the door
    refused = api.post("/generations", json={"prompt": "@alice waving hello", "duration_s": 4}, headers=carol)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "cameo_permission_denied"

    # 4. bob makes a clip with @alice through the built-in engine (screening finds her face: consented)
    draft = clip_made(api, bob, {"prompt": "@alice waving on a sunny beach"})
    assert api.get(f"/videos/{draft}", headers=bob).json()["engine"].startswith("builtin")

    # 5. alice's oversight list shows bob's draft, with who made it and the prompt
    [listed] = api.get(f"/cameos/{cameo}/videos", headers=alice).json()["results"]
    assert (listed["id"], listed["state"], listed["creator"]["username"]) == (draft, "draft", "bob")
    assert listed["prompt"] == "@alice waving on a sunny beach"

    # 5b. bob storyboards three shots, @alice cast in the first, and posts it; carol extends it once
    # alice lets her (her likeness goes on in the extension's first frames)
    board, extension = storyboard_posted_and_extended(
        api, cameo, {"alice": alice, "bob": bob, "carol": carol}
    )

    # 6. alice removes her likeness: the draft is gone for bob, who is told
    removed = api.post(f"/cameos/{cameo}/videos/{draft}/remove", headers=alice)
    assert removed.status_code == 200, removed.text
    assert draft not in [v["id"] for v in api.get("/me/drafts", headers=bob).json()["results"]]
    assert api.get(f"/videos/{draft}", headers=bob).status_code == 404
    told = api.get("/notifications", headers=bob).json()["results"]
    assert "cameo_likeness_removed" in [group["type"] for group in told]

    # 7. bob asks again; alice revokes his approval while the clip renders: the job ends blocked
    job = api.post(
        "/generations", json={"prompt": "@alice dancing in the rain", "duration_s": 12}, headers=bob
    )
    assert job.status_code == 201, job.text
    job_id = job.json()["id"]
    job_reaches(api, bob, job_id, lambda j: j["state"] == "running" and j["stage"] == "render")
    revoked = api.post(f"/cameos/{cameo}/requests/{asked.json()['id']}/revoke", headers=alice)
    assert revoked.status_code == 200, revoked.text
    ended = job_reaches(api, bob, job_id, lambda j: j["state"] not in ("queued", "running"))
    code = (ended.get("error") or {}).get("code")
    assert (ended["state"], code, ended["video_id"]) == ("blocked", "cameo_consent_revoked", None), ended
    listed = [v["id"] for v in api.get(f"/cameos/{cameo}/videos", headers=alice).json()["results"]]
    assert sorted(listed) == sorted([draft, board, extension])  # no clip of the blocked job


# Read by espeak-ng, pocketsphinx hears these digits exactly (tests/cameos/test_registration.py).
SPOKEN_PHRASE = "4 7 2 9 1"


def cameo_registered(api: httpx.Client, auth: dict[str, str]) -> str:
    """Register the member's cameo through the API from a SYNTHESISED selfie (tests/cameos/selfie.py: a
    still of t1.jpg warped into the head turns asked, espeak-ng reading the digits): the cameo's id.
    The digits are set to ones the speech recogniser is measured to hear (a random phrase read by a
    synthetic voice is heard exactly 7 times in 10); the head turns stay the server's."""
    from cameos.models import Registration
    from tests.cameos import selfie

    started = api.post("/cameos/registrations", json={"kind": "person"}, headers=auth)
    assert started.status_code == 201, started.text
    registration = started.json()
    Registration.objects.filter(id=registration["id"]).update(phrase=SPOKEN_PHRASE)
    video = selfie.selfie(
        selfie.person(), digits=SPOKEN_PHRASE, turns=tuple(registration["challenge"]["head_turns"])
    )
    uploaded = api.post(
        f"/cameos/registrations/{registration['id']}/upload",
        files={"video": ("selfie.mp4", video, "video/mp4")},
        headers=auth,
    )
    assert uploaded.status_code == 202, uploaded.text
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = api.get(f"/cameos/registrations/{registration['id']}", headers=auth).json()
        if state["state"] == "succeeded":
            return state["cameo_id"]
        assert state["state"] in ("queued", "processing"), state
        time.sleep(0.5)
    raise AssertionError("the cameo was not registered in time")


def storyboard_posted_and_extended(
    api: httpx.Client, cameo: str, auth: dict[str, dict[str, str]]
) -> tuple[str, str]:
    """bob's storyboard (one job, shot by shot, one draft) casting alice, posted; carol's extension of
    it, once alice approved her, whose lineage names the storyboard: the two videos' ids."""
    bob, carol = auth["bob"], auth["carol"]
    board = storyboard_made(
        api,
        bob,
        [
            {"prompt": "@alice on a sunny beach, a red ball bouncing", "duration_s": 4, "cameos": ["alice"]},
            {"prompt": "the ball rolls to the right", "duration_s": 4},
            {"prompt": "the red ball falls", "duration_s": 4},
        ],
    )
    posted = api.post(f"/videos/{board}/post", json={"caption": "three shots"}, headers=bob)
    assert posted.status_code == 200, posted.text
    assert posted.json()["made_as"] == "storyboard"
    # carol may not extend it before alice lets her use her cameo: the extension goes on from alice
    refused = api.post(
        "/generations",
        json={"prompt": "the ball keeps bouncing", "duration_s": 4, "extend_of": board},
        headers=carol,
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "cameo_permission_denied")
    asked = api.post(f"/cameos/{cameo}/requests", json={"message": "to extend bob's clip"}, headers=carol)
    assert asked.status_code == 201, asked.text
    approve = api.post(f"/cameos/{cameo}/requests/{asked.json()['id']}/approve", headers=auth["alice"])
    assert approve.status_code == 200, approve.text
    # carol extends bob's post: her clip goes on from its end, and the lineage says so
    extension = clip_made(api, carol, {"prompt": "the ball keeps bouncing", "extend_of": board})
    card = api.get(f"/videos/{extension}", headers=carol).json()
    assert (card["made_as"], card["remix_of"]) == ("extension", board)
    api.post(f"/videos/{extension}/post", json={"caption": "and then"}, headers=carol)
    ancestors = api.get(f"/videos/{extension}/ancestors", headers=bob).json()["results"]
    assert [(node["id"], node["video"]["made_as"]) for node in ancestors] == [(board, "storyboard")]
    tree = api.get(f"/videos/{board}/lineage", headers=bob).json()
    assert [(node["id"], node["video"]["made_as"]) for node in tree["children"]] == [(extension, "extension")]
    return board, extension


def storyboard_made(api: httpx.Client, auth: dict[str, str], shots: list[dict[str, object]]) -> str:
    """Ask for a storyboard and follow it shot by shot until its draft exists: the draft's id."""
    job = api.post("/generations/storyboard", json={"shots": shots}, headers=auth)
    assert job.status_code == 201, job.text
    seen: set[int] = set()
    done = job_reaches(
        api,
        auth,
        job.json()["id"],
        lambda j: seen.add(j["progress"]["shot"] or 0) or j["state"] == "succeeded",
    )
    assert {1, len(shots)} <= seen, seen  # the client saw the shots go by
    assert all(shot.get("enhanced_prompt") for shot in done["shots"]), done["shots"]  # in the model's words
    return done["video_id"]


def job_reaches(api: httpx.Client, auth: dict[str, str], job_id: str, done, timeout_s: float = 180) -> dict:
    """Poll the job until `done(job)`: the job as it was then."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = api.get(f"/generations/{job_id}", headers=auth).json()
        if done(job):
            return job
        assert job["state"] in ("queued", "running"), job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not get there in time")


def moderator_made(username: str) -> User:
    from django.contrib.auth.models import Group

    from accounts.roles import MODERATORS, moderators_group_sync

    moderators_group_sync()
    user = live_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=MODERATORS))
    return user


def figure_registered(name: str, roles: list[str]) -> None:
    from moderation.models import PublicFigure
    from moderation.text.names import figure_names_changed

    PublicFigure.objects.create(name=name, roles=roles)
    figure_names_changed()


def desk_item(video: str, kind: str) -> str:
    from moderation.models import QueueItem

    return str(QueueItem.objects.filter(subject_id=video, kind=kind).latest("created_at").id)


def desk_claim(base: str, moderator: str, video: str, *, kind: str = "report") -> str:
    """A moderator claims the open item of `video` on its admin page: "claimed" or "refused"."""
    with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as http:
        admin_login(http, moderator)
        return _claimed(http, desk_item(video, kind))


def _claimed(http: httpx.Client, item: str) -> str:
    page = http.get(f"/admin/moderation/queueitem/{item}/change/")
    assert page.status_code == 200, page.text[:500]
    claim = http.post(
        f"/admin/moderation/queueitem/{item}/claim/", data={"csrfmiddlewaretoken": csrf_of(page)}
    )
    assert claim.status_code == 302, claim.text[:500]
    after = http.get(f"/admin/moderation/queueitem/{item}/change/")
    return "refused" if "errornote" in after.text or 'class="error"' in after.text else "claimed"


def desk_decide(base: str, moderator: str, video: str, form: dict[str, str], *, kind: str = "report") -> None:
    with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as http:
        admin_login(http, moderator)
        item = desk_item(video, kind)
        assert _claimed(http, item) == "claimed"
        page = http.get(f"/admin/moderation/queueitem/{item}/change/")
        done = http.post(
            f"/admin/moderation/queueitem/{item}/decide/",
            data={"csrfmiddlewaretoken": csrf_of(page), **form},
        )
        assert done.status_code == 302, done.text[:800]


def login(api: httpx.Client, username: str) -> str:
    return api.post("/auth/token", json={"username": username, "password": PASSWORD}).json()["access"]


def clip_made(api: httpx.Client, auth: dict[str, str], ask: dict[str, object]) -> str:
    """Ask for a clip and wait (polling, as a client may) until its draft exists: the draft's id."""
    job = api.post("/generations", json={"duration_s": 4, **ask}, headers=auth)
    assert job.status_code == 201, job.text
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        state = api.get(f"/generations/{job.json()['id']}", headers=auth).json()
        if state["state"] == "succeeded":
            return state["video_id"]
        assert state["state"] in ("queued", "running"), state
        time.sleep(0.5)
    raise AssertionError("the clip was not made in time")


def provenance_traced(api: httpx.Client, base: str, mp4: bytes, root: str, remix: str) -> None:
    """maker's post `root` (its file `mp4`) and fan's remix of it, traced as the public and members can."""
    maker = {"Authorization": f"Bearer {login(api, 'maker')}"}
    fan = {"Authorization": f"Bearer {login(api, 'fan')}"}
    # The moving mark reads "@maker" through the clip
    copy = clip_from_file(mp4, fps=8.0)
    assert min(watermark_read(copy.frames, copy.fps, "maker")) >= WATERMARK_READ_THRESHOLD
    # Anyone uploads the file, or a mirrored half-size re-encode, and is told which post it is;
    # an unrelated clip is not from Kino
    mirrored = replace(copy, frames=np.ascontiguousarray(copy.frames[:, ::2, ::-2]))
    for upload in (mp4, clip_encode(mirrored, min_short_side=2, crf=28).mp4):
        traced = traced_to(base, upload)
        assert (traced["verdict"], traced["post"]["id"], traced["post"]["handle"]) == (
            "from_kino",
            root,
            "maker",
        )
    assert traced_to(base, stripes_mp4())["verdict"] == "not_from_kino"
    # The signed manifests: made by Kino for @maker; fan's remix names the post as its input
    made = api.get(f"/videos/{root}/provenance", headers=fan).json()
    assert (made["state"], made["author"]) == ("trusted", "@maker"), made
    remixed = api.get(f"/videos/{remix}/provenance", headers=maker).json()
    assert (remixed["state"], remixed["author"]) == ("trusted", "@fan"), remixed
    assert remixed["ingredients"] == [
        {"title": "Kino clip by @maker", "relationship": "inputTo", "state": "trusted"}
    ]


def traced_to(base: str, data: bytes) -> dict:
    """What the public lookup says of a file, asked anonymously."""
    answer = httpx.post(f"{base}/api/v1/provenance/lookup", files={"file": ("copy.mp4", data)}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def stripes_mp4() -> bytes:
    """4 s of diagonal stripes drifting across a 320 px square: nothing Kino made."""
    y, x = np.mgrid[:320, :320]
    frames = np.stack([((x + y + 6 * t) // 20 % 2 * 200 + 30).astype(np.uint8) for t in range(32)])
    return clip_encode(Clip(frames=np.repeat(frames[..., None], 3, axis=3), fps=8.0), min_short_side=2).mp4


def exported(api: httpx.Client, auth: dict[str, str]) -> bytes:
    started = api.post("/me/export", headers=auth)
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        export = api.get(f"/me/export/{started.json()['id']}", headers=auth).json()
        if export["state"] == "succeeded":
            return httpx.get(export["download_url"], timeout=60).content
        assert export["state"] in ("queued", "running"), export
        time.sleep(0.5)
    raise AssertionError("the export was not made in time")


def shared_page_plays(url: str) -> dict:
    from tests.feed.test_share_browser import PHONE, share_page_plays

    with chromium() as browser:
        page = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
        return share_page_plays(page, url)


def test_members_post_follow_and_scroll_for_you_and_following_feeds(live_stack):
    # Given three members with drafts (alice will scroll; she follows bob, not carol)
    from recommender.models import VideoVector
    from tests.factories import VideoFactory

    members = {name: live_user(username=name) for name in ("alice", "bob", "carol")}
    prompts = {
        "alice": ["a paper boat on a rainy street"],
        "bob": ["grandma's dumplings folded by hand", "slow-motion pasta dough", "a campfire omelette"],
        "carol": ["a lighthouse in a storm", "a cat chasing snowflakes", "neon city rain at night"],
    }
    drafts = {name: [VideoFactory(owner=members[name], prompt=p) for p in ps] for name, ps in prompts.items()}
    api = httpx.Client(base_url=live_stack.base + "/api/v1", timeout=30)
    auth = {name: {"Authorization": f"Bearer {login(api, name)}"} for name in members}

    # 1. Each posts their drafts over the API; alice follows bob
    for name, videos in drafts.items():
        for video in videos:
            posted = api.post(f"/videos/{video.id}/post", json={}, headers=auth[name])
            assert posted.status_code == 200, posted.text
    assert api.post("/users/bob/follow", headers=auth["alice"]).status_code in (200, 201)

    # 2. The worker embeds every post (retrievable by ANN within a minute)
    ids = {str(video.id): name for name, videos in drafts.items() for video in videos}
    deadline = time.monotonic() + 60
    while VideoVector.objects.filter(video_id__in=ids, vector__isnull=False, in_feeds=True).count() < len(
        ids
    ):
        assert time.monotonic() < deadline, "the posts were not embedded within 60 s"
        time.sleep(0.5)

    # 3. Alice scrolls For You: bob's and carol's posts, never her own, never one creator twice in a
    #    row or more than twice a page, each once; pages 2..n continue the session, then it ends
    seen, url = [], "/feed"
    while url:
        page = api.get(url, headers=auth["alice"])
        assert page.status_code == 200, page.text
        cards = [item["video"] for item in page.json()["results"] if item["type"] == "video"]
        creators = [card["creator"]["username"] for card in cards]
        assert all(a != b for a, b in itertools.pairwise(creators)), creators
        assert all(creators.count(c) <= 2 for c in creators), creators
        seen += [card["id"] for card in cards]
        url = page.json()["next"]
        url = url and url.removeprefix(live_stack.base + "/api/v1")
    assert sorted(seen) == sorted(i for i, name in ids.items() if name != "alice")

    # 4. Her following feed is bob's posts, newest first; a forged cursor is refused
    following = api.get("/feed/following", headers=auth["alice"]).json()
    assert [item["video"]["creator"]["username"] for item in following["results"]] == ["bob"]
    assert api.get("/feed", params={"cursor": "forged"}, headers=auth["alice"]).json()["error"]["code"] == (
        "invalid_cursor"
    )

    # 5. Bob's For You has alice's and carol's posts
    bobs = api.get("/feed", headers=auth["bob"]).json()["results"]
    assert {item["video"]["creator"]["username"] for item in bobs} == {"alice", "carol"}

    steer_search_and_a_ban(api, auth, members)


def steer_search_and_a_ban(
    api: httpx.Client, auth: dict[str, dict[str, str]], members: dict[str, Any]
) -> None:
    """The feed story goes on: steering in words, search, and a banned member's posts."""
    from accounts.public import member_deactivate, member_reactivate
    from recommender.models import VideoVector

    # 6. Alice steers in words: the instruction reads back in parts, and a reset clears it
    steered = api.put("/feed/steer", json={"text": "more storms at sea, less food"}, headers=auth["alice"])
    assert steered.status_code == 200, steered.text
    clauses = api.get("/feed/steer", headers=auth["alice"]).json()["clauses"]
    assert {(c["direction"], c["text"]) for c in clauses} >= {("toward", "storms at sea"), ("away", "food")}
    assert api.delete("/feed/steer", headers=auth["alice"]).status_code == 204
    assert api.get("/feed/steer", headers=auth["alice"]).json()["clauses"] == []

    # 7. She finds carol by name, and carol's lighthouse by what it shows (not its words)
    found = api.get("/search", params={"q": "carol"}, headers=auth["alice"]).json()
    assert found["people"]["results"][0]["username"] == "carol"
    storm = api.get(
        "/search/posts", params={"q": "a beacon on a cliff in bad weather"}, headers=auth["alice"]
    )
    assert storm.json()["results"][0]["prompt"] == "a lighthouse in a storm"

    # 8. Carol is banned: her posts leave For You and search at once; active again, they come back
    member_deactivate(user=members["carol"])
    assert not VideoVector.objects.filter(creator_id=members["carol"].id).exists()
    storm = api.get("/search/posts", params={"q": "a beacon on a cliff in bad weather"}, headers=auth["bob"])
    assert "carol" not in {card["creator"]["username"] for card in storm.json()["results"]}
    member_reactivate(user_id=members["carol"].id)
    deadline = time.monotonic() + 60
    while VideoVector.objects.filter(creator_id=members["carol"].id, vector__isnull=False).count() < 3:
        assert time.monotonic() < deadline, "carol's posts were not embedded again within 60 s"
        time.sleep(0.5)
