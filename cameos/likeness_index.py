"""The cameos' face index for moderation's output screening: is a face in a clip a registered cameo?

Moderation sits below cameos, so it asks through the hook `moderation.public.cameo_faces_nearest_register`
(registered in CameosConfig.ready). Live cameos (not deleted: a suspended cameo's face is still its
owner's) are searched by pgvector's L2 distance over `Cameo.face_embedding` (HNSW), the job's
consented cameos left out; moderation judges the distance against MODERATION_FACE_MATCH_DISTANCE, the
line public figures' faces are held to.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import numpy as np
from pgvector.django import L2Distance

from cameos.models import Cameo
from moderation.public import CameoFaceHit


def cameo_faces_nearest(
    descriptors: Sequence[np.ndarray], allowed_cameo_ids: frozenset[UUID]
) -> list[CameoFaceHit]:
    """For each descriptor, the nearest live cameo's face outside `allowed_cameo_ids` (none when no
    other cameo has a face)."""
    rows = Cameo.objects.exclude(state=Cameo.State.DELETED).filter(face_embedding__isnull=False)
    if allowed_cameo_ids:
        rows = rows.exclude(id__in=list(allowed_cameo_ids))
    hits = []
    for index, descriptor in enumerate(descriptors):
        nearest = (
            rows.annotate(distance=L2Distance("face_embedding", np.asarray(descriptor, dtype=np.float32)))
            .order_by("distance")
            .values_list("id", "distance")
            .first()
        )
        if nearest is not None:
            hits.append(CameoFaceHit(face=index, cameo_id=nearest[0], distance=round(float(nearest[1]), 4)))
    return hits
