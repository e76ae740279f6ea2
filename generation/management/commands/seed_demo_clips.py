"""Demo clips for `make run`: a small living feed, made once in an empty one by the configured engine
through the real pipeline (no canned media): alice posts two clips, bob remixes one and posts it,
carol likes and comments, and reports bob's remix, so the moderators' queue has an item; one public
figure is registered by name (a prompt naming him or his best-known role is refused)."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from django.core.management.base import BaseCommand

from accounts.public import member_ids_by_username
from feed.public import comment, like, post, video_count
from generation import services
from generation.models import Job
from moderation.public import figure_register, report_file

# (member, prompt, the index of the clip it remixes or None, caption)
CLIPS = [
    ("alice", "a red ball bouncing on a blue floor", None, "first light on Kino @bob"),
    ("alice", "a yellow star spinning over green grass", None, "spin cycle"),
    ("bob", "a purple ball bouncing on a blue floor", 0, "same bounce, my colour"),
]


# Registered by name only: the registry admin takes reference photos and voice samples.
DEMO_FIGURE = ("Tom Hanks", ["Forrest Gump"])


class Command(BaseCommand):
    help = "Make the demo members' clips, posts, a remix, a like and a comment (only in an empty feed)."

    def handle(self, *args: Any, **options: Any) -> None:
        members = member_ids_by_username(usernames=["alice", "bob", "carol"], viewer_id=uuid.uuid4())
        if video_count() or len(members) < 3:
            return
        self.stdout.write("Making the demo clips (the configured engine, through the worker's pipeline)…")
        posts: list[UUID] = []
        for username, prompt, parent, caption in CLIPS:
            remix_of = posts[parent] if parent is not None else None
            video_id = self._clip(members[username], prompt, remix_of)
            post(owner_id=members[username], video_id=video_id, caption=caption)
            posts.append(video_id)
        like(actor_id=members["carol"], video_id=posts[0])
        comment(actor_id=members["carol"], video_id=posts[2], body="@alice look, a remix of yours")
        report_file(
            reporter_id=members["carol"],
            subject_kind="video",
            subject_id=posts[2],
            reason="spam",
            text="copy",
        )
        figure_register(name=DEMO_FIGURE[0], roles=DEMO_FIGURE[1])
        self.stdout.write(f"  {len(posts)} posts, a remix, a like, a comment and a report; a public figure")

    @staticmethod
    def _clip(user_id: UUID, prompt: str, remix_of: UUID | None) -> UUID:
        # The worker's own code, in this process: the clip exists before the server starts. The job's
        # message still goes to the broker; a worker that takes it later finds it done and steps aside.
        from generation import pipeline

        ask = services.ClipAsk(prompt=prompt, duration_s=4, aspect="portrait", quality="standard")
        job = services.generation_enqueue(
            user_id=user_id, ask=ask if remix_of is None else _remix(ask, remix_of)
        )
        pipeline.job_execute(job_id=job.job.id, worker="seed-demo")
        video_id = Job.objects.values_list("video_id", flat=True).get(id=job.job.id)
        if video_id is None:
            raise RuntimeError(f"the demo clip {prompt!r} was not made")
        return video_id


def _remix(ask: services.ClipAsk, parent: UUID) -> services.ClipAsk:
    from dataclasses import replace

    return replace(ask, remix_of_id=parent)
