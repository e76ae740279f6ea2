"""Demo cameo for `make run`: alice's character @robo (a drawn cardboard robot, no human face), at
"people I approve", with bob approved, so the demo shows the consent flow at once: bob may cast
@robo, carol may see it and ask, alice reads the requests, the usage log and every video casting it.

Rows written directly (a character's registration would take an upload through the checks); made
once, when alice has no cameo yet and the demo members exist.
"""

from __future__ import annotations

import io
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image, ImageDraw

from cameos.models import Approval, Cameo, CameoReference

HANDLE = "robo"


def robot_image(size: int = 256) -> bytes:
    """A cardboard robot drawn with boxes and circles: a character, not a person."""
    image = Image.new("RGB", (size, size), (236, 226, 204))
    draw = ImageDraw.Draw(image)
    s = size / 256
    draw.rectangle(
        (48 * s, 40 * s, 208 * s, 200 * s), fill=(196, 150, 96), outline=(90, 60, 30), width=int(6 * s)
    )
    draw.rectangle((88 * s, 8 * s, 168 * s, 40 * s), fill=(170, 126, 80))
    for x in (96, 160):
        draw.ellipse(((x - 20) * s, 80 * s, (x + 20) * s, 120 * s), fill=(250, 250, 250))
        draw.ellipse(((x - 8) * s, 92 * s, (x + 8) * s, 108 * s), fill=(30, 120, 220))
    draw.rectangle((88 * s, 148 * s, 168 * s, 164 * s), fill=(60, 40, 20))
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP")
    return buffer.getvalue()


class Command(BaseCommand):
    help = "Give the demo member alice a character cameo (@robo) with bob approved (once)."

    def handle(self, *args: Any, **options: Any) -> None:
        users = {u.username: u for u in get_user_model().objects.filter(username__in=["alice", "bob"])}
        if len(users) < 2 or Cameo.objects.filter(owner=users["alice"]).exists():
            return
        with transaction.atomic():
            cameo = Cameo.objects.create(
                owner=users["alice"],
                kind=Cameo.Kind.CHARACTER,
                handle=HANDLE,
                display_name="Robo",
                personality="A cheerful cardboard robot who loves puns.",
                preferences="always has a little antenna",
                level=Cameo.Level.APPROVED,
            )
            reference = CameoReference(cameo=cameo, position=0)
            reference.image.save("robo.webp", ContentFile(robot_image()), save=False)
            reference.save()
            Approval.objects.create(cameo=cameo, user=users["bob"], state=Approval.State.APPROVED)
        self.stdout.write(f"  alice's cameo @{HANDLE} (people I approve; bob approved)")
