"""mark: what every clip that may leave its owner's drafts carries, drawn before it is encoded.

The frames are scaled to the size phones get (`mediakit.encode.frames_for_phones`: the mark is drawn
at the delivered size, not on small native frames scaled up after) and the moving watermark (the Kino
mark and the creator's @handle, `provenance.watermark`) is burned in. The C2PA facts are drawn up for
`encode` to sign into the MP4: the engine and its model version, the creator's public handle and, for
a remix, the parent's signed file (an `inputTo` ingredient). A parent deleted while the remix was made
(or whose file cannot be read) has no file: the remix is signed without the ingredient (feed still
records its lineage). An edit's sources (an extension's, read by `render`; a stitch's parts, read by
`assemble`) are already in the context for `encode`.
"""

from __future__ import annotations

from dataclasses import replace

from accounts.public import ACCOUNT_INACTIVE, member_standing
from feed.public import video_file_read
from generation.models import Job
from generation.pipeline.context import PASSED, JobContext, StageResult, block
from mediakit.encode import frames_for_phones
from provenance.public import Creation, watermark_burn

STITCHER = "kino/stitch"  # what "made" a stitch: no model, Kino's own cut


def mark(ctx: JobContext) -> StageResult:
    assert ctx.clip is not None
    job = ctx.claimed
    standing = member_standing(user_id=job.user_id)
    if standing is None:
        return block(ACCOUNT_INACTIVE)
    frames = frames_for_phones(ctx.clip.frames)
    if job.kind != Job.Kind.STITCH:  # a stitch's parts carry their marks already
        frames = watermark_burn(frames, ctx.clip.fps, standing.username)
    ctx.clip = replace(ctx.clip, frames=frames)
    ctx.handle = standing.username
    parent = video_file_read(video_id=job.remix_of_id) if job.remix_of_id else None
    ctx.creation = Creation(
        engine=ctx.engine.name if ctx.engine is not None else STITCHER,
        model_version=ctx.engine.version if ctx.engine is not None else "",
        handle=standing.username,
        parent_mp4=parent,
    )
    return PASSED
