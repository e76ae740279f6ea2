"""Staff see which videos the lookup can find, and how much of each is stored; nobody edits prints."""

from __future__ import annotations

import numpy as np
import pytest

from provenance.fingerprints import clip_prints, prints_store
from provenance.models import VideoPrint
from tests.factories import VideoFactory

pytestmark = pytest.mark.django_db


def test_staff_see_each_videos_prints_counted_and_cannot_change_them(admin_client):
    video = VideoFactory()
    frames = np.random.default_rng(0).integers(0, 255, (16, 64, 64, 3), dtype=np.uint8)
    prints = clip_prints(frames, 8.0, None, None, handle="maya")
    prints_store(video.id, prints, width=64, height=64, duration_ms=2000)

    listing = admin_client.get("/admin/provenance/videoprint/", {"q": "maya"})
    assert listing.status_code == 200
    row = listing.content.decode()
    assert str(video.id) in row
    assert f'<td class="field-frame_hashes">{len(prints.hashes)}</td>' in row
    page = admin_client.get(f"/admin/provenance/videoprint/{video.id}/change/")
    assert page.status_code == 200
    assert admin_client.post(f"/admin/provenance/videoprint/{video.id}/delete/").status_code == 403
    assert VideoPrint.objects.filter(video_id=video.id).exists()
