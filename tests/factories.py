from __future__ import annotations

import uuid
from datetime import date, timedelta

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import Block, Follow, Invite, Profile, User, WaitlistEntry
from feed.models import Comment, Like, Mention, Video, VideoCameo, VideoStats
from generation.models import Job

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"member{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    birthdate = date(1994, 5, 6)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)
    profile = factory.RelatedFactory("tests.factories.ProfileFactory", factory_related_name="user")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Profile

    display_name = factory.Faker("first_name")


class InviteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invite

    code = factory.Sequence(lambda n: f"TEST{n:012d}"[:16].ljust(16, "A"))
    source = Invite.Source.BATCH
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class WaitlistEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WaitlistEntry

    email = factory.Sequence(lambda n: f"waiting{n}@example.com")


class FollowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Follow

    follower = factory.SubFactory(UserFactory)
    followee = factory.SubFactory(UserFactory)


class BlockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Block

    blocker = factory.SubFactory(UserFactory)
    blocked = factory.SubFactory(UserFactory)


class JobFactory(factory.django.DjangoModelFactory):
    """A queued generation job, as `generation_enqueue` leaves it (without taking a quota unit)."""

    class Meta:
        model = Job

    user = factory.SubFactory(UserFactory)
    prompt = factory.Sequence(lambda n: f"a paper boat drifting down a gutter, take {n}")
    duration_s = 4
    aspect = Job.Aspect.PORTRAIT
    quality = Job.Quality.STANDARD
    seed = factory.Sequence(lambda n: 1000 + n)
    tier = "standard"
    # The quota day is a UTC date, as the service counts it.
    quota_day = factory.LazyFunction(lambda: timezone.now().date())


# Stand-ins that start the way the real files do: an ISO-BMFF `ftyp` box and a JPEG SOI marker.
MP4_BYTES = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 4
POSTER_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"


class VideoFactory(factory.django.DjangoModelFactory):
    """A draft, as a finished job leaves it: small files in storage and the job's id."""

    class Meta:
        model = Video
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    source_job_id = factory.LazyFunction(uuid.uuid4)
    prompt = factory.Sequence(lambda n: f"a paper boat drifting down a gutter, take {n}")
    video = factory.LazyFunction(lambda: ContentFile(MP4_BYTES, name="clip.mp4"))
    poster = factory.LazyFunction(lambda: ContentFile(POSTER_BYTES, name="poster.jpg"))
    width = 256
    height = 448
    duration_ms = 4000
    fps = 24.0
    has_audio = True
    engine = "tiny-ltx2"
    stats = factory.RelatedFactory("tests.factories.VideoStatsFactory", factory_related_name="video")


class VideoStatsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VideoStats


class PostFactory(VideoFactory):
    """A posted video. For a remix, pass `parent=<post>`: its lineage follows the parent's."""

    class Params:
        parent = None

    state = Video.State.POSTED
    posted_at = factory.LazyFunction(timezone.now)
    caption = factory.Sequence(lambda n: f"caption {n}")
    remix_of_id = factory.LazyAttribute(lambda v: v.parent.id if v.parent else None)
    lineage = factory.LazyAttribute(lambda v: [*v.parent.lineage, v.parent.id] if v.parent else [])
    depth = factory.LazyAttribute(lambda v: len(v.lineage))


class VideoCameoFactory(factory.django.DjangoModelFactory):
    """A cameo cast in a video (the cameos issue fills these; its owner sees the drafts)."""

    class Meta:
        model = VideoCameo

    video = factory.SubFactory(PostFactory)
    cameo_id = factory.LazyFunction(uuid.uuid4)
    cameo_owner = factory.SubFactory(UserFactory)


class LikeFactory(factory.django.DjangoModelFactory):
    """A like stored as a row (the counter is the service's business: it stays as it was)."""

    class Meta:
        model = Like

    user = factory.SubFactory(UserFactory)
    video = factory.SubFactory(PostFactory)


class CommentFactory(factory.django.DjangoModelFactory):
    """A comment stored as a row (no counter, no notification). Pass `parent=<comment>` for a reply
    (it goes on the parent's video) and `mentions=[<user>, ...]` for the members it links."""

    class Meta:
        model = Comment
        skip_postgeneration_save = True

    parent = None
    video = factory.Maybe(
        "parent",
        yes_declaration=factory.SelfAttribute("parent.video"),
        no_declaration=factory.SubFactory(PostFactory),
    )
    author = factory.SubFactory(UserFactory)
    body = factory.Sequence(lambda n: f"comment {n}")

    @factory.post_generation
    def mentions(obj, create, extracted, **kwargs):
        for user in extracted or ():
            Mention.objects.create(comment=obj, user=user, written_as=user.username)


def signup_payload(code: str, **overrides: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "invite_code": code,
        "username": "newbie",
        "email": "newbie@example.com",
        "password": PASSWORD,
        "birthdate": "1999-03-04",
        "display_name": "New Bie",
    }
    payload.update(overrides)
    return payload
