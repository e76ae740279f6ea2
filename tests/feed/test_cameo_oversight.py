"""A cameo owner's oversight (feed/apis/oversight.py, feed/cameos.py): every video casting their cameo,
their likeness taken out of one (down everywhere, the creator told, for good), a report to the
moderators; and cameos' events stored as notifications."""

from __future__ import annotations

from uuid import uuid4

import pytest

from cameos import services as cameo_services
from cameos.models import Approval, Cameo
from cameos.public import consent_decide
from feed.models import NotificationGroup, Video
from feed.moderation import video_restore
from feed.services import video_remove
from moderation.models import QueueItem, Report
from tests.cameos.factories import ApprovalFactory, CameoFactory
from tests.factories import PostFactory, UserFactory, VideoCameoFactory, VideoFactory

pytestmark = pytest.mark.django_db


def cast(cameo: Cameo, video: Video) -> Video:
    VideoCameoFactory(video=video, cameo_id=cameo.id, cameo_owner=cameo.owner)
    return video


def videos_url(cameo: Cameo) -> str:
    return f"/api/v1/cameos/{cameo.id}/videos"


def notified(user, type: str) -> list[NotificationGroup]:
    return list(NotificationGroup.objects.filter(recipient=user, type=type))


# --- the list -------------------------------------------------------------------------------------


def test_the_owner_sees_every_video_casting_their_cameo_drafts_of_others_included(auth_client):
    # Given alice's cameo cast in bob's draft, carol's post and a post bob deleted, and another
    # cameo's video
    alice_cameo = CameoFactory()
    bob, carol = UserFactory(username="bob"), UserFactory(username="carol")
    draft = cast(alice_cameo, VideoFactory(owner=bob, prompt="@alice surfing a wave"))
    post = cast(alice_cameo, PostFactory(owner=carol))
    deleted = cast(alice_cameo, VideoFactory(owner=bob, state=Video.State.DELETED, prompt=""))
    cast(CameoFactory(), VideoFactory(owner=bob))

    # When alice reads her cameo's videos
    response = auth_client(alice_cameo.owner).get(videos_url(alice_cameo))

    # Then she sees the three, newest first, with who made them, when, the prompt and the state
    assert response.status_code == 200, response.json()
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [str(deleted.id), str(post.id), str(draft.id)]
    by_id = {row["id"]: row for row in rows}
    assert by_id[str(draft.id)]["creator"]["username"] == "bob"
    assert by_id[str(draft.id)]["prompt"] == "@alice surfing a wave"
    assert by_id[str(draft.id)]["created_at"]
    assert [by_id[str(v.id)]["state"] for v in (draft, post, deleted)] == ["draft", "posted", "deleted"]
    assert by_id[str(draft.id)]["video_url"]
    assert by_id[str(deleted.id)]["video_url"] is None


@pytest.mark.parametrize("who", ["stranger", "creator", "approved member"])
def test_nobody_but_the_owner_reads_the_list(auth_client, who):
    approval = ApprovalFactory()
    cameo = approval.cameo
    draft = cast(cameo, VideoFactory(owner=approval.user))
    actor = {"stranger": UserFactory(), "creator": draft.owner, "approved member": approval.user}[who]

    hidden = auth_client(actor).get(videos_url(cameo))
    unknown = auth_client(actor).get(f"/api/v1/cameos/{uuid4()}/videos")

    assert hidden.status_code == 404
    assert (hidden.status_code, hidden.content) == (unknown.status_code, unknown.content)
    assert hidden.json()["error"]["code"] == "cameo_not_found"


def test_a_deleted_cameo_has_no_list(auth_client):
    cameo = CameoFactory(state=Cameo.State.DELETED)
    assert auth_client(cameo.owner).get(videos_url(cameo)).status_code == 404


def test_the_list_is_paged_with_a_cursor(auth_client):
    cameo = CameoFactory()
    made = [cast(cameo, VideoFactory()) for _ in range(5)]
    client = auth_client(cameo.owner)

    first = client.get(videos_url(cameo), {"limit": 3}).json()
    second = client.get(first["next"]).json()

    seen = [row["id"] for row in first["results"] + second["results"]]
    assert sorted(seen) == sorted(str(v.id) for v in made)
    assert len(set(seen)) == 5
    assert second["next"] is None


def test_the_list_takes_the_same_queries_for_one_video_or_many(auth_client, django_assert_num_queries):
    cameo = CameoFactory()
    client = auth_client(cameo.owner)
    cast(cameo, VideoFactory())
    with django_assert_num_queries(3) as one:  # the token's member, the cameo's owner, the page
        assert len(client.get(videos_url(cameo)).json()["results"]) == 1
    for _ in range(6):
        cast(cameo, PostFactory())
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(client.get(videos_url(cameo)).json()["results"]) == 7


# --- removing the likeness ------------------------------------------------------------------------


def test_removing_the_likeness_takes_the_video_down_everywhere_and_tells_its_creator(auth_client):
    # Given bob's draft and bob's post, both casting alice's cameo
    cameo = CameoFactory()
    bob = UserFactory()
    draft = cast(cameo, VideoFactory(owner=bob))
    post = cast(cameo, PostFactory(owner=bob))
    alice, fan = auth_client(cameo.owner), auth_client(UserFactory())
    assert auth_client(bob).get("/api/v1/me/drafts").json()["results"][0]["id"] == str(draft.id)

    # When alice removes her likeness from both
    for video in (draft, post):
        removed = alice.post(f"{videos_url(cameo)}/{video.id}/remove")
        assert removed.status_code == 200, removed.json()
        assert (removed.json()["state"], removed.json()["removed_by_you"]) == ("removed", True)

    # Then the draft is gone from bob's drafts and neither can be seen, posted, downloaded or remixed
    creator = auth_client(bob)
    assert creator.get("/api/v1/me/drafts").json()["results"] == []
    for video in (draft, post):
        assert creator.get(f"/api/v1/videos/{video.id}").status_code == 404
        assert creator.post(f"/api/v1/videos/{video.id}/download").status_code == 404
    assert creator.post(f"/api/v1/videos/{draft.id}/post", {}, format="json").status_code == 404
    assert fan.get(f"/api/v1/videos/{post.id}").status_code == 404
    remix = fan.post(
        "/api/v1/generations", {"prompt": "the same, at night", "duration_s": 4, "remix_of": str(post.id)}
    )
    assert remix.status_code == 404
    assert remix.json()["error"]["code"] == "video_not_found"
    # and bob is told, once per video
    told = notified(bob, "cameo_likeness_removed")
    assert sorted(group.target_id for group in told) == sorted([draft.id, post.id])
    assert {group.data["reason"] for group in told} == {"likeness_removed"}
    # and alice still sees both in her list, removed
    states = {row["id"]: row["state"] for row in alice.get(videos_url(cameo)).json()["results"]}
    assert states == {str(draft.id): "removed", str(post.id): "removed"}


def test_removing_twice_is_harmless(auth_client):
    cameo = CameoFactory()
    draft = cast(cameo, VideoFactory())
    client = auth_client(cameo.owner)

    answers = [client.post(f"{videos_url(cameo)}/{draft.id}/remove").status_code for _ in range(2)]

    assert answers == [200, 200]
    assert len(notified(draft.owner, "cameo_likeness_removed")) == 1


def test_no_moderator_restore_brings_a_removed_likeness_back(auth_client):
    # Given a post a moderator took down, then the cameo's owner removed their likeness from
    cameo = CameoFactory()
    post = cast(cameo, PostFactory())
    video_remove(video_id=post.id, by_id=None, reason="Gore.")
    assert auth_client(cameo.owner).post(f"{videos_url(cameo)}/{post.id}/remove").status_code == 200

    # When a moderator restores the post (an appeal upheld), it stays down
    assert video_restore(video_id=post.id, by_id=None) is False
    post.refresh_from_db()
    assert post.state == Video.State.REMOVED


def test_only_the_owner_removes_and_only_videos_casting_the_cameo(auth_client):
    cameo = CameoFactory()
    draft = cast(cameo, VideoFactory())
    other = VideoFactory(owner=draft.owner)

    stranger = auth_client(draft.owner).post(f"{videos_url(cameo)}/{draft.id}/remove")
    not_cast = auth_client(cameo.owner).post(f"{videos_url(cameo)}/{other.id}/remove")

    assert (stranger.status_code, stranger.json()["error"]["code"]) == (404, "cameo_not_found")
    assert (not_cast.status_code, not_cast.json()["error"]["code"]) == (404, "video_not_found")
    draft.refresh_from_db()
    other.refresh_from_db()
    assert (draft.state, other.state) == ("draft", "draft")


# --- reporting ------------------------------------------------------------------------------------


def test_the_owner_reports_a_video_to_the_moderators_before_or_after_removing_it(auth_client):
    cameo = CameoFactory()
    draft = cast(cameo, VideoFactory())
    client = auth_client(cameo.owner)

    first = client.post(f"{videos_url(cameo)}/{draft.id}/report", {"text": "not me"}, format="json")
    client.post(f"{videos_url(cameo)}/{draft.id}/remove")
    again = client.post(f"{videos_url(cameo)}/{draft.id}/report", {}, format="json")

    assert first.status_code == 201, first.json()
    assert again.json()["report_id"] == first.json()["report_id"]
    report = Report.objects.get(id=first.json()["report_id"])
    assert (report.reason, report.subject_id, report.reporter_id) == (
        "cameo_misuse",
        draft.id,
        cameo.owner_id,
    )
    assert QueueItem.objects.filter(subject_kind="video", subject_id=draft.id).count() == 1


def test_a_report_after_removal_reaches_the_queue(auth_client):
    cameo = CameoFactory()
    post = cast(cameo, PostFactory())
    client = auth_client(cameo.owner)
    client.post(f"{videos_url(cameo)}/{post.id}/remove")

    filed = client.post(f"{videos_url(cameo)}/{post.id}/report", {"reason": "harassment"}, format="json")

    assert filed.status_code == 201, filed.json()
    assert QueueItem.objects.filter(subject_kind="video", subject_id=post.id).exists()


def test_a_report_with_an_unknown_reason_is_refused(auth_client):
    cameo = CameoFactory()
    draft = cast(cameo, VideoFactory())
    refused = auth_client(cameo.owner).post(
        f"{videos_url(cameo)}/{draft.id}/report", {"reason": "boredom"}, format="json"
    )
    assert refused.status_code == 400


# --- cameos' events as notifications --------------------------------------------------------------


def test_requests_and_answers_are_notified_both_ways():
    # Given alice's cameo at "people I approve" and bob, who asks to use it
    cameo = CameoFactory(level=Cameo.Level.APPROVED)
    alice, bob, carol = cameo.owner, UserFactory(), UserFactory()
    approval, _ = cameo_services.approval_request(user_id=bob.id, cameo_id=cameo.id, message="please")
    denied, _ = cameo_services.approval_request(user_id=carol.id, cameo_id=cameo.id)

    # When alice approves bob, denies carol, then revokes bob
    cameo_services.approval_decide(
        owner_id=alice.id, cameo_id=cameo.id, approval_id=approval.id, action="approve"
    )
    cameo_services.approval_decide(owner_id=alice.id, cameo_id=cameo.id, approval_id=denied.id, action="deny")
    cameo_services.approval_decide(
        owner_id=alice.id, cameo_id=cameo.id, approval_id=approval.id, action="revoke"
    )

    # Then each is a stored notification to the member concerned, about the cameo
    requested = notified(alice, "cameo_requested")
    assert sorted(g.latest_actor_ids[0] for g in requested) == sorted([bob.id, carol.id])
    assert {(g.target_kind, g.target_id) for g in requested} == {("cameo", cameo.id)}
    assert requested[0].data["handle"] == cameo.handle
    assert [len(notified(bob, t)) for t in ("cameo_approved", "cameo_revoked", "cameo_denied")] == [1, 1, 0]
    assert len(notified(carol, "cameo_denied")) == 1
    assert notified(bob, "cameo_approved")[0].latest_actor_ids == [alice.id]


def test_a_level_change_tells_the_approved_members():
    approval = ApprovalFactory(cameo__level=Cameo.Level.MUTUALS)
    cameo = approval.cameo
    bystander = UserFactory()

    cameo_services.cameo_update(user_id=cameo.owner_id, cameo_id=cameo.id, teen=False, level="approved")

    [told] = notified(approval.user, "cameo_level_changed")
    assert (told.data["level"], told.data["previous"]) == ("approved", "mutuals")
    assert notified(bystander, "cameo_level_changed") == []


def test_a_use_in_a_draft_tells_the_owner_about_that_video():
    approval = ApprovalFactory()
    cameo, bob = approval.cameo, approval.user
    draft = VideoFactory(owner=bob)
    prompt = f"@{cameo.handle} riding a bike"
    decisions = consent_decide(user_id=bob.id, handles=[cameo.handle], prompt=prompt, teen=False)

    cameo_services.cameo_uses_record(
        user_id=bob.id,
        decisions=decisions,
        stage="draft",
        job_id=draft.source_job_id,
        video_id=draft.id,
        prompt=prompt,
    )

    [used] = notified(cameo.owner, "cameo_used")
    assert (used.target_kind, used.target_id, used.latest_actor_ids) == ("video", draft.id, [bob.id])
    assert used.data["prompt"] == prompt


def test_deleting_a_cameo_takes_down_every_video_casting_it(auth_client):
    # Given alice's cameo, approved for bob, cast in bob's draft and his post
    approval = ApprovalFactory()
    cameo, bob = approval.cameo, approval.user
    draft = cast(cameo, VideoFactory(owner=bob))
    post = cast(cameo, PostFactory(owner=bob))

    # When alice deletes the cameo
    cameo_services.cameo_delete(user_id=cameo.owner_id, cameo_id=cameo.id)

    # Then both are down, bob is told of the deletion and of each video
    for video in (draft, post):
        video.refresh_from_db()
        assert (video.state, video.removed_reason) == ("removed", "cameo_deleted")
    assert len(notified(bob, "cameo_deleted")) == 1
    assert len(notified(bob, "cameo_likeness_removed")) == 2
    assert auth_client(bob).get("/api/v1/me/drafts").json()["results"] == []
    assert Approval.objects.filter(cameo=cameo).exists()  # the rows stay; the videos do not


def test_deleting_a_cameo_nobody_asked_for_takes_its_videos_down_too():
    # Given an "everyone" cameo cast without any request, in a stranger's post
    cameo = CameoFactory(level=Cameo.Level.EVERYONE)
    post = cast(cameo, PostFactory())

    # When its owner deletes it
    cameo_services.cameo_delete(user_id=cameo.owner_id, cameo_id=cameo.id)

    # Then the post is down and its creator told; the owner gets no notification of their own act
    post.refresh_from_db()
    assert (post.state, post.removed_reason) == ("removed", "cameo_deleted")
    assert len(notified(post.owner, "cameo_likeness_removed")) == 1
    assert notified(cameo.owner, "cameo_deleted") == []
