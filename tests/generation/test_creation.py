"""Creation tools through the API and the worker's pipeline: prompt enhancement (and its preview),
storyboards, stitches and extensions, with a fake engine (the engines' own tests cover the pictures)."""

from __future__ import annotations

from uuid import UUID

import numpy as np
import pytest
from django.contrib.auth.models import Group

from feed.models import Video
from generation import engines
from generation.models import DailyUsage, Job
from generation.pipeline import job_execute
from mediakit.sampling import clip_from_file
from provenance.public import manifest_summary
from tests.factories import UserFactory
from tests.generation.fakes import FakeEngine

pytestmark = pytest.mark.django_db

ASK = {"duration_s": 4, "aspect": "square", "quality": "draft"}


@pytest.fixture
def world_engine(settings):
    """A fake engine that says it is the built-in model, so the built-in enhancer runs for it."""
    settings.GENERATION_STAGE_BACKOFF_S = 0
    engine = FakeEngine(name="builtin/fake")
    engines.engine_install(engine)
    yield engine
    engines.engine_install(None)


def priority_member():
    """A member of the priority tier (clips up to 60 s)."""
    member = UserFactory()
    member.groups.add(Group.objects.get_or_create(name="priority")[0])
    return member


def ask(client, path="/api/v1/generations", **body):
    return client.post(path, body, format="json")


def made(client, capture, *, path="/api/v1/generations", **body):
    """Ask, run the job's worker in this process, and return the finished job's JSON."""
    with capture(execute=False):
        response = ask(client, path, **body)
    assert response.status_code == 201, response.content
    job_execute(job_id=response.json()["id"])
    return client.get(f"/api/v1/generations/{response.json()['id']}").json()


def test_the_preview_maps_a_paraphrase_and_reports_what_it_cannot(auth_client, settings):
    settings.GENERATION_ENGINE = "builtin"  # the preview enhances for the configured engine
    member = UserFactory()
    response = ask(
        auth_client(member),
        "/api/v1/generations/enhance",
        prompt="crimson ball bouncing, blue ground, saxophone",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["prompt"] == "crimson ball bouncing, blue ground, saxophone"
    assert "red ball" in body["enhanced_prompt"]
    assert "bounc" in body["enhanced_prompt"]
    assert "saxophone" in body["unmapped"]
    assert body["enhancer"].startswith("builtin")
    assert not DailyUsage.objects.filter(user=member).exists()  # a preview spends nothing
    empty = ask(auth_client(member), "/api/v1/generations/enhance", prompt="   ")
    assert empty.status_code == 400

    settings.GENERATION_ENGINE = "tiny-ltx2"  # a diffusers model: a template, with the sound it makes
    ltx2 = ask(auth_client(member), "/api/v1/generations/enhance", prompt="a crimson ball").json()
    assert ltx2["enhanced_prompt"].startswith("a crimson ball")
    assert "Sound" in ltx2["enhanced_prompt"]
    assert ltx2["unmapped"] == []


def test_a_job_renders_the_enhanced_caption_and_keeps_both(
    auth_client, world_engine, django_capture_on_commit_callbacks
):
    client = auth_client(UserFactory())
    job = made(client, django_capture_on_commit_callbacks, prompt="a scarlet orb hopping, navy floor", **ASK)
    assert job["state"] == "succeeded"
    assert job["prompt"] == "a scarlet orb hopping, navy floor"
    assert job["enhanced_prompt"]
    assert "red" in job["enhanced_prompt"]
    assert world_engine.renders[-1].prompt == job["enhanced_prompt"]
    assert "enhance" in [t["stage"] for t in job["timings"]]

    plain = made(
        client, django_capture_on_commit_callbacks, prompt="a scarlet orb hopping", enhance=False, **ASK
    )
    assert plain["enhanced_prompt"] is None
    assert plain["unmapped"] == []
    assert world_engine.renders[-1].prompt == "a scarlet orb hopping"  # as typed


def test_a_storyboard_renders_its_shots_in_order_into_one_draft(
    auth_client, world_engine, django_capture_on_commit_callbacks
):
    member = UserFactory()
    shots = [
        {"prompt": "a red fish swims right on the beach", "duration_s": 4},
        {"prompt": "the fish bounces", "duration_s": 4},
        {"prompt": "the fish shrinks", "duration_s": 4},
    ]
    job = made(
        auth_client(member),
        django_capture_on_commit_callbacks,
        path="/api/v1/generations/storyboard",
        shots=shots,
        aspect="square",
        quality="draft",
    )
    assert (job["state"], job["kind"], job["duration_s"]) == ("succeeded", "storyboard", 12)
    assert [shot["prompt"] for shot in job["shots"]] == [shot["prompt"] for shot in shots]
    assert all("red fish" in shot["enhanced_prompt"] for shot in job["shots"])  # carried across shots
    assert len(world_engine.renders) == 3
    assert [r.prompt for r in world_engine.renders] == [shot["enhanced_prompt"] for shot in job["shots"]]
    video = Video.objects.get(id=job["video_id"])
    frames = sum(r.num_frames for r in world_engine.renders)
    assert video.made_as == "storyboard"
    assert abs(video.duration_ms - frames / video.fps * 1000) <= 1000 / video.fps
    assert DailyUsage.objects.get(user=member).seconds == 12  # the quota counts every shot's seconds


def test_a_storyboard_cancelled_in_shot_three_stops_there(
    auth_client, world_engine, django_capture_on_commit_callbacks
):
    member = priority_member()
    client = auth_client(member)
    shots = [{"prompt": f"a blue box moving left, shot {i}", "duration_s": 4} for i in range(1, 5)]
    with django_capture_on_commit_callbacks(execute=False):
        job_id = ask(client, "/api/v1/generations/storyboard", shots=shots, enhance=False).json()["id"]
    seen: list[int] = []

    def meanwhile(step: int) -> None:
        job = Job.objects.get(id=job_id)
        seen.append(job.shot)
        if job.shot == 3 and step == 1:
            assert client.post(f"/api/v1/generations/{job_id}/cancel").status_code == 200

    world_engine.after_step = meanwhile
    assert job_execute(job_id=job_id).state == "cancelled"
    assert len(world_engine.renders) == 3  # shot 4 never started
    assert sorted(set(seen)) == [1, 2, 3]
    progress = client.get(f"/api/v1/generations/{job_id}").json()["progress"]
    assert progress["shot"] == 3
    assert DailyUsage.objects.get(user=member).seconds == 0  # a cancelled job gives its seconds back


def test_storyboard_limits(auth_client, settings, django_capture_on_commit_callbacks):
    client = auth_client(UserFactory())
    with django_capture_on_commit_callbacks(execute=False):
        long = [{"prompt": "a green star spinning", "duration_s": 8}] * 2  # 16 s: over the standard 12
        too_long = ask(client, "/api/v1/generations/storyboard", shots=long)
        nine = ask(
            client, "/api/v1/generations/storyboard", shots=[{"prompt": "a ball", "duration_s": 4}] * 9
        )
        empty = ask(client, "/api/v1/generations/storyboard", shots=[{"prompt": " ", "duration_s": 4}])
    assert (too_long.status_code, too_long.json()["error"]["code"]) == (403, "storyboard_too_long")
    assert nine.status_code == 400
    assert "shots" in nine.json()["error"]["fields"]
    assert empty.status_code == 400


def drafts_of(client, capture, count: int, seconds: int = 4) -> list[str]:
    return [
        made(client, capture, prompt=f"a white heart growing {i}", **{**ASK, "duration_s": seconds})[
            "video_id"
        ]
        for i in range(count)
    ]


def test_a_stitch_joins_drafts_into_one_as_long_as_its_parts_naming_each(
    auth_client, world_engine, django_capture_on_commit_callbacks
):
    member = priority_member()
    client = auth_client(member)
    parts = drafts_of(client, django_capture_on_commit_callbacks, 2) + drafts_of(
        client, django_capture_on_commit_callbacks, 1, seconds=8
    )
    before = DailyUsage.objects.get(user=member).seconds
    job = made(client, django_capture_on_commit_callbacks, path="/api/v1/generations/stitch", drafts=parts)
    assert (job["state"], job["kind"], job["parts"]) == ("succeeded", "stitch", parts)
    assert job["progress"]["steps"] == 3
    assert job["progress"]["shot"] == 3
    stitched = Video.objects.get(id=job["video_id"])
    sources = Video.objects.filter(id__in=parts)
    assert abs(stitched.duration_ms - sum(v.duration_ms for v in sources)) <= 1000 / stitched.fps
    assert stitched.made_as == "stitch"
    assert DailyUsage.objects.get(user=member).seconds - before == job["duration_s"]
    with stitched.video.open("rb") as handle:
        data = handle.read()
    summary = manifest_summary(data)
    components = [i for i in summary["ingredients"] if i["relationship"] == "componentOf"]
    assert len(components) == 3  # the manifest names each part
    clip = clip_from_file(data, fps=stitched.fps, max_seconds=60)
    assert clip.audio is not None
    assert clip.audio.shape[1] == pytest.approx(len(clip.frames) / stitched.fps * 16000, abs=1600)


def test_a_stitch_takes_only_your_own_videos_and_blocks_when_a_part_is_gone(
    auth_client, world_engine, django_capture_on_commit_callbacks
):
    member, other = UserFactory(), UserFactory()
    client = auth_client(member)
    mine = drafts_of(client, django_capture_on_commit_callbacks, 2)
    theirs = drafts_of(auth_client(other), django_capture_on_commit_callbacks, 1)
    with django_capture_on_commit_callbacks(execute=False):
        refused = ask(client, "/api/v1/generations/stitch", drafts=[mine[0], theirs[0]])
        one = ask(client, "/api/v1/generations/stitch", drafts=[mine[0]])
        accepted = ask(client, "/api/v1/generations/stitch", drafts=mine)
    assert (refused.status_code, refused.json()["error"]["code"]) == (404, "video_not_found")
    assert one.status_code == 400
    assert accepted.status_code == 201
    client.delete(f"/api/v1/videos/{mine[1]}")
    before = DailyUsage.objects.get(user=member).seconds
    assert job_execute(job_id=accepted.json()["id"]).state == "blocked"
    assert Job.objects.get(id=accepted.json()["id"]).error_code == "stitch_part_gone"
    assert DailyUsage.objects.get(user=member).seconds == before - accepted.json()["duration_s"]  # given back


def test_an_extension_goes_on_from_its_source_and_lineage_says_so(
    auth_client, world_engine, django_capture_on_commit_callbacks
):
    owner, fan = UserFactory(), UserFactory()
    source = drafts_of(auth_client(owner), django_capture_on_commit_callbacks, 1)[0]
    mine = made(
        auth_client(owner),
        django_capture_on_commit_callbacks,
        prompt="it keeps growing",
        extend_of=source,
        **ASK,
    )
    assert (mine["state"], mine["kind"], mine["extend_of"]) == ("succeeded", "extension", source)
    request = world_engine.renders[-1]
    assert request.prefix_frames is not None
    assert len(request.prefix_frames) == 8  # the last second at 8 fps (GENERATION_EXTEND_CONTEXT_S)
    src = Video.objects.get(id=source)
    with src.video.open("rb") as handle:
        tail = clip_from_file(handle.read(), fps=src.fps, max_seconds=60).frames[-8:]
    assert np.abs(request.prefix_frames.astype(int) - tail.astype(int)).mean() < 3
    assert request.prefix_audio is not None
    assert request.prefix_sample_rate == 16000
    extension = Video.objects.get(id=mine["video_id"])
    assert (extension.made_as, extension.remix_of_id, extension.lineage) == ("extension", src.id, [src.id])
    with extension.video.open("rb") as handle:
        parents = manifest_summary(handle.read())["ingredients"]
    assert [i["relationship"] for i in parents] == ["parentOf"]

    # Someone else's video: only a post that allows remixing
    with django_capture_on_commit_callbacks(execute=False):
        draft = ask(auth_client(fan), prompt="more", extend_of=source, **ASK)
        assert (draft.status_code, draft.json()["error"]["code"]) == (404, "video_not_found")
        auth_client(owner).post(f"/api/v1/videos/{source}/post", {"caption": "grow"}, format="json")
        assert ask(auth_client(fan), prompt="more", extend_of=source, **ASK).status_code == 201
        both = ask(auth_client(fan), prompt="more", extend_of=source, remix_of=source, **ASK)
        assert (both.status_code, both.json()["error"]["code"]) == (400, "extend_and_remix")


def test_an_extension_whose_source_was_deleted_is_blocked(
    auth_client, world_engine, django_capture_on_commit_callbacks
):
    client = auth_client(UserFactory())
    source = drafts_of(client, django_capture_on_commit_callbacks, 1)[0]
    with django_capture_on_commit_callbacks(execute=False):
        job_id = ask(client, prompt="more", extend_of=source, **ASK).json()["id"]
    client.delete(f"/api/v1/videos/{source}")
    assert job_execute(job_id=job_id).state == "blocked"
    assert Job.objects.get(id=job_id).error_code == "extend_source_gone"


def test_a_stitch_casts_its_parts_cameos_again(auth_client, world_engine, django_capture_on_commit_callbacks):
    from feed.models import VideoCameo
    from tests.cameos.factories import CameoFactory

    member = UserFactory()
    cameo = CameoFactory(level="everyone")
    client = auth_client(member)
    cast = made(client, django_capture_on_commit_callbacks, prompt=f"@{cameo.handle} waving", **ASK)
    plain = drafts_of(client, django_capture_on_commit_callbacks, 1)[0]
    job = made(
        client,
        django_capture_on_commit_callbacks,
        path="/api/v1/generations/stitch",
        drafts=[cast["video_id"], plain],
    )
    assert job["cameos"] == [cameo.handle]
    assert VideoCameo.objects.filter(
        video_id=job["video_id"], cameo_id=cameo.id
    ).exists()  # its owner sees it

    # Consent withdrawn: the likeness cannot come back in a stitch
    cameo.level = "only_me"
    cameo.save()
    with django_capture_on_commit_callbacks(execute=False):
        refused = ask(client, "/api/v1/generations/stitch", drafts=[cast["video_id"], plain])
    assert (refused.status_code, refused.json()["error"]["code"]) == (404, "cameo_not_found")  # hidden now


def test_an_extension_casts_its_sources_cameos_again(
    auth_client, world_engine, django_capture_on_commit_callbacks
):
    from feed.models import VideoCameo
    from tests.cameos.factories import CameoFactory

    owner, fan = UserFactory(), UserFactory()
    cameo = CameoFactory(level="everyone")
    source = made(
        auth_client(owner), django_capture_on_commit_callbacks, prompt=f"@{cameo.handle} waving", **ASK
    )
    auth_client(owner).post(f"/api/v1/videos/{source['video_id']}/post", {"caption": "hi"}, format="json")
    extension = made(
        auth_client(fan),
        django_capture_on_commit_callbacks,
        prompt="waving on",
        extend_of=source["video_id"],
        **ASK,
    )
    assert extension["cameos"] == [cameo.handle]  # the likeness goes on in its first frames
    assert VideoCameo.objects.filter(video_id=extension["video_id"], cameo_id=cameo.id).exists()

    cameo.level = "only_me"
    cameo.save()
    with django_capture_on_commit_callbacks(execute=False):
        refused = ask(auth_client(fan), prompt="more", extend_of=source["video_id"], **ASK)
    assert (refused.status_code, refused.json()["error"]["code"]) == (404, "cameo_not_found")


def test_the_worker_blocks_an_extension_whose_source_was_taken_down(
    auth_client, world_engine, django_capture_on_commit_callbacks
):
    owner, fan = UserFactory(), UserFactory()
    source = drafts_of(auth_client(owner), django_capture_on_commit_callbacks, 1)[0]
    auth_client(owner).post(f"/api/v1/videos/{source}/post", {"caption": "hi"}, format="json")
    with django_capture_on_commit_callbacks(execute=False):
        job_id = ask(auth_client(fan), prompt="more", extend_of=source, **ASK).json()["id"]
    Video.objects.filter(id=source).update(state=Video.State.REMOVED)  # behind the stop hook's back
    assert job_execute(job_id=job_id).state == "blocked"
    assert Job.objects.get(id=job_id).error_code == "extend_source_gone"


def test_an_edit_keeps_its_sources_labels(auth_client, world_engine, django_capture_on_commit_callbacks):
    from moderation.models import Label
    from moderation.public import labels_for

    client = auth_client(UserFactory())
    source = drafts_of(client, django_capture_on_commit_callbacks, 1)[0]
    Label.objects.create(subject_kind="video", subject_id=source, label="not_for_teens")
    extension = made(client, django_capture_on_commit_callbacks, prompt="more", extend_of=source, **ASK)
    assert labels_for("video", [extension["video_id"]]) == {
        UUID(extension["video_id"]): frozenset({"not_for_teens"})
    }


def test_each_storyboard_shot_is_consented_against_its_own_prompt(
    auth_client, django_capture_on_commit_callbacks
):
    from tests.cameos.factories import CameoFactory, RestrictionFactory

    cameo = CameoFactory(level="everyone")
    RestrictionFactory(cameo=cameo, text="no political content")
    client = auth_client(priority_member())
    harmless = {"prompt": f"@{cameo.handle} surfing a huge wave at sunset", "duration_s": 4}
    political = {"prompt": "a speech at a campaign rally", "duration_s": 4}
    with django_capture_on_commit_callbacks(execute=False):
        allowed = ask(client, "/api/v1/generations/storyboard", shots=[harmless, political])
        refused = ask(
            client,
            "/api/v1/generations/storyboard",
            shots=[{"prompt": "a calm sea", "duration_s": 4}, {**political, "cameos": [cameo.handle]}],
        )
    assert allowed.status_code == 201, allowed.content  # the cameo is not in the political shot
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "cameo_restriction")
    assert "shots[1].cameos" in refused.json()["error"]["fields"]


def test_creation_limits_and_keys(auth_client, world_engine, django_capture_on_commit_callbacks):
    member = UserFactory()
    client = auth_client(member)
    eights = [
        made(client, django_capture_on_commit_callbacks, prompt="a pink star", **{**ASK, "duration_s": 8})[
            "video_id"
        ]
        for _ in range(2)
    ]
    with django_capture_on_commit_callbacks(execute=False):
        too_long = ask(client, "/api/v1/generations/stitch", drafts=eights)  # 16 s: over the standard 12
        board = client.post(
            "/api/v1/generations/storyboard",
            {"shots": [{"prompt": "a ball", "duration_s": 4}]},
            format="json",
            HTTP_IDEMPOTENCY_KEY="k-1",
        )
        reused = client.post(
            "/api/v1/generations", {"prompt": "a ball", **ASK}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
        )
    assert (too_long.status_code, too_long.json()["error"]["code"]) == (403, "stitch_too_long")
    assert board.status_code == 201
    assert (reused.status_code, reused.json()["error"]["code"]) == (409, "idempotency_conflict")
