"""make run's demo cameo: alice's character @robo, at "people I approve", bob approved."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from cameos.models import Cameo
from cameos.public import consent_decide

pytestmark = pytest.mark.django_db


def test_alice_gets_a_character_cameo_bob_may_use_and_carol_may_ask_for(auth_client):
    # Given the demo members
    call_command("seed_demo", stdout=StringIO())

    # When the demo cameo is seeded, twice
    call_command("seed_demo_cameos", stdout=StringIO())
    call_command("seed_demo_cameos", stdout=StringIO())

    # Then alice has one character cameo with a reference image, at "people I approve"
    alice, bob, carol = (User.objects.get(username=name) for name in ("alice", "bob", "carol"))
    [cameo] = Cameo.objects.filter(owner=alice)
    assert (cameo.kind, cameo.handle, cameo.level) == ("character", "robo", "approved")
    assert cameo.references.count() == 1
    # and bob may cast it, carol sees it but may not (she may ask)
    prompt = "@robo dancing in the rain"
    [for_bob] = consent_decide(user_id=bob.id, handles=["robo"], prompt=prompt, teen=False)
    [for_carol] = consent_decide(user_id=carol.id, handles=["robo"], prompt=prompt, teen=False)
    assert for_bob.allowed
    assert (for_carol.allowed, for_carol.error.code) == (False, "cameo_permission_denied")
    asked = auth_client(carol).post(f"/api/v1/cameos/{cameo.id}/requests", {}, format="json")
    assert asked.status_code == 201, asked.content
