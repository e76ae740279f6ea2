"""A client generated from the schema by a third-party generator (openapi-python-client) works:
signup, login, the lists as cursor pages, a generation made by the live worker, all through its
typed functions and parsed models."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.factories import PASSWORD, InviteFactory

pytestmark = pytest.mark.slow

PACKAGE = "kino_generated_client"
PROMPT = "a red ball bouncing on a blue floor"


def generate_client(base: str, folder: Path) -> Any:
    """Fetch the schema from the live server, generate the client into `folder`, import it."""
    schema = httpx.get(f"{base}/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    assert schema.status_code == 200, schema.text[:300]
    (folder / "openapi.json").write_text(schema.text)
    (folder / "generator.yaml").write_text("post_hooks: []\n")  # no formatter run: ruff may be absent
    generator = Path(sys.executable).parent / "openapi-python-client"
    done = subprocess.run(
        [
            str(generator),
            "generate",
            "--path", str(folder / "openapi.json"),
            "--output-path", str(folder / PACKAGE),
            "--meta", "none",
            "--config", str(folder / "generator.yaml"),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(folder))
    return importlib.import_module(PACKAGE)


def module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture
def generated(live_stack, tmp_path):
    client = generate_client(live_stack.base, tmp_path)
    yield client
    sys.path.remove(str(tmp_path))
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def wait_until_finished(client: Any, job_id: Any, timeout_s: float = 120) -> Any:
    retrieve = module("api.generations.generations_retrieve")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = retrieve.sync(client=client, job_id=job_id)
        if job.state.value not in ("queued", "running"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still {job.state} after {timeout_s} s")


def signup_and_login(generated: Any, base: str) -> Any:
    models = module("models")
    public = generated.Client(base_url=base, raise_on_unexpected_status=True, timeout=httpx.Timeout(30))
    invite = InviteFactory()
    signed_up = module("api.auth.auth_signup_create").sync(
        client=public,
        body=models.SignupInputRequest(
            invite_code=invite.code,
            username="walker",
            email="walker@example.com",
            password=PASSWORD,
            birthdate=date(1998, 7, 1),
        ),
    )
    assert isinstance(signed_up, models.SignupOutput), signed_up
    assert (signed_up.user.username, signed_up.user.birthdate) == ("walker", date(1998, 7, 1))
    tokens = module("api.auth.auth_token_create").sync(
        client=public, body=models.TokenObtainInputRequest(username="walker", password=PASSWORD)
    )
    assert isinstance(tokens, models.TokenPair), tokens
    return generated.AuthenticatedClient(
        base_url=base, token=tokens.access, raise_on_unexpected_status=True, timeout=httpx.Timeout(30)
    )


def ask_for_clips(member: Any, keys: tuple[str, ...]) -> list[Any]:
    models, ask = module("models"), module("api.generations.generations_create")
    made = []
    for key in keys:
        body = models.GenerationListCreateInputRequest(prompt=PROMPT, duration_s=models.DurationSEnum.VALUE_4)
        job = ask.sync(client=member, body=body, idempotency_key=key)
        assert isinstance(job, models.Job), job
        assert job.state == models.JobStateEnum.QUEUED
        made.append(job.id)
    return made


def refused(member: Any) -> Any:
    models = module("models")
    body = models.GenerationListCreateInputRequest(prompt="x" * 1001, duration_s=models.DurationSEnum.VALUE_4)
    return module("api.generations.generations_create").sync_detailed(client=member, body=body)


def test_a_generated_client_walks_signup_login_lists_and_a_generation(live_stack, generated):
    models = module("models")
    my_generations = module("api.generations.generations_list")
    my_drafts = module("api.me.me_drafts_list")

    # Given a newcomer with an invite, signed up and logged in through the generated client
    member = signup_and_login(generated, live_stack.base)

    # Their lists are empty cursor pages, and a refusal parses as the error body
    page = my_generations.sync(client=member, limit=5)
    assert isinstance(page, models.JobPage)
    assert (page.results, page.next_, page.previous) == ([], None, None)
    assert my_drafts.sync(client=member).results == []
    error = refused(member).parsed
    assert isinstance(error, models.Error)
    assert (error.error.code, list(error.error.fields.additional_properties)) == ("invalid_input", ["prompt"])

    # When they ask for two clips and the worker makes them
    made = ask_for_clips(member, ("walk-1", "walk-2"))
    finished = [wait_until_finished(member, job_id) for job_id in made]

    # Then each job reads succeeded, with its draft, parsed into the generated models
    assert [job.state for job in finished] == [models.JobStateEnum.SUCCEEDED] * 2
    assert all(job.video_id and job.progress.percent == 100 for job in finished)

    # And the lists page with their cursors, newest first
    first = my_generations.sync(client=member, limit=1)
    assert [job.id for job in first.results] == [made[1]]
    cursor = parse_qs(urlsplit(first.next_).query)["cursor"][0]
    second = my_generations.sync(client=member, limit=1, cursor=cursor)
    assert [job.id for job in second.results] == [made[0]]
    assert second.next_ is None
    assert second.previous is not None
    drafts = my_drafts.sync(client=member, limit=10)
    assert isinstance(drafts, models.VideoPage)
    assert {video.generation_id for video in drafts.results} == set(made)
    video = module("api.videos.videos_retrieve").sync(client=member, video_id=finished[0].video_id)
    assert isinstance(video, models.Video)
    assert video.video_url.startswith(live_stack.base)
