"""assemble: a stitch's drafts read back and joined into one clip (`mediakit.join.clips_join`: cuts,
short sound fades), one part a step. The parts must still be the member's own videos: one deleted
since the request blocks the job (`stitch_part_gone`). Other kinds were made by `render` and pass.

The parts are Kino's own clips, already marked with their creator's handle (the member's own), so
`mark` does not burn a second mark over them; the C2PA manifest names each part (`componentOf`)."""

from __future__ import annotations

from django.conf import settings

from config.errors import KinoError
from feed.public import video_file_read, videos_media_for_owner
from generation import errors
from generation.models import Job
from generation.pipeline.context import PASSED, JobContext, StageResult, block, transient
from mediakit import Clip
from mediakit.join import clips_join
from mediakit.sampling import MediaUnreadable, clip_from_file


class _PartGone(Exception):
    pass


def assemble(ctx: JobContext) -> StageResult:
    job = ctx.claimed
    if job.kind != Job.Kind.STITCH:
        return PASSED
    try:
        files, clips = _parts(ctx)
    except OSError as exc:
        return transient(errors.STORAGE_UNAVAILABLE, str(exc))
    except (_PartGone, KinoError):
        return block(errors.STITCH_PART_GONE)
    ctx.parts = tuple(files)
    ctx.clip = clips_join(clips, fade_ms=settings.GENERATION_STITCH_FADE_MS)
    ctx.advance(
        width=ctx.clip.frames.shape[2], height=ctx.clip.frames.shape[1], num_frames=len(ctx.clip.frames)
    )
    return PASSED


def _parts(ctx: JobContext) -> tuple[list[bytes], list[Clip]]:
    """Each part's signed file and its clip, read in order; progress one step a part."""
    job = ctx.claimed
    media = videos_media_for_owner(owner_id=job.user_id, video_ids=list(job.parts), field="drafts")
    ctx.advance(steps=len(media))
    files, clips = [], []
    for index, part in enumerate(media):
        ctx.advance(shot=index + 1)
        data = video_file_read(part.video_id)
        if data is None:
            raise _PartGone
        try:
            clips.append(clip_from_file(data, fps=part.fps, max_seconds=part.duration_ms / 1000 + 1))
        except MediaUnreadable:
            raise _PartGone from None
        files.append(data)
        ctx.on_step(index + 1, len(media))
    return files, clips
