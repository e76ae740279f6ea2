"""Factories for cameos' rows (other parts' tests import these).

`CameoFactory` makes an active person cameo with a face embedding (a seeded random unit vector,
unlike any real face's: it never matches a real one in screening); `face=` gives it one of your own.
`RestrictionFactory` embeds its text as `cameos_restrictions_set` does (the sentence encoder loads
on first use).
"""

from __future__ import annotations

import io

import factory
import numpy as np
from django.core.files.base import ContentFile

from cameos.models import FACE_DIMENSIONS, Approval, Cameo, CameoReference, Restriction, Use
from tests.factories import UserFactory


def face_vector(seed: int) -> list[float]:
    vector = np.random.default_rng(seed).normal(size=FACE_DIMENSIONS)
    return (vector / np.linalg.norm(vector) * 0.6).astype(np.float32).tolist()


class CameoFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cameo
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    kind = Cameo.Kind.PERSON
    handle = factory.LazyAttribute(lambda c: c.owner.username)
    display_name = factory.LazyAttribute(lambda c: c.owner.username.title())
    level = Cameo.Level.ONLY_ME
    state = Cameo.State.ACTIVE
    face_embedding = factory.Sequence(lambda n: face_vector(1000 + n))


class CharacterCameoFactory(CameoFactory):
    kind = Cameo.Kind.CHARACTER
    handle = factory.Sequence(lambda n: f"character{n}")
    display_name = factory.Sequence(lambda n: f"Character {n}")
    personality = "A cheerful cardboard robot who loves puns."
    face_embedding = None


def reference_image(color: tuple[int, int, int] = (200, 120, 90), size: int = 64) -> ContentFile:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, format="WEBP")
    return ContentFile(buffer.getvalue(), name="ref.webp")


class CameoReferenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CameoReference

    cameo = factory.SubFactory(CameoFactory)
    image = factory.LazyFunction(reference_image)
    position = factory.Sequence(lambda n: n)


class ApprovalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Approval

    cameo = factory.SubFactory(CameoFactory, level=Cameo.Level.APPROVED)
    user = factory.SubFactory(UserFactory)
    state = Approval.State.APPROVED


class RestrictionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Restriction

    cameo = factory.SubFactory(CameoFactory)
    text = "no political content"
    embedding = factory.LazyAttribute(lambda r: _embed(r.text))


def _embed(text: str) -> list[float]:
    from cameos.restrictions import restrictions_embed

    return restrictions_embed([text])[0].tolist()


class UseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Use

    cameo = factory.SubFactory(CameoFactory)
    user = factory.SubFactory(UserFactory)
    stage = Use.Stage.REQUEST
    allowed = True
    prompt = factory.LazyAttribute(lambda u: f"@{u.cameo.handle} dancing in the rain")
