"""The error codes of generation (see config.errors).

Requests refused up front answer with the status given; jobs that end `failed` or
`blocked` carry one of these codes in `error.code` (their status is what a request
refused for the same reason would get).
"""

from config.errors import ErrorCode

# Asking for a clip
PROMPT_EMPTY = ErrorCode("prompt_empty", "Describe the clip you want.")
PROMPT_TOO_LONG = ErrorCode("prompt_too_long", "The prompt is too long.")
START_IMAGE_UNSUPPORTED = ErrorCode(
    "start_image_unsupported", "This server's video model cannot start from an image."
)
IDEMPOTENCY_KEY_INVALID = ErrorCode(
    "idempotency_key_invalid", "Idempotency-Key must be 1-64 of A-Z a-z 0-9 _ . : -"
)
IDEMPOTENCY_CONFLICT = ErrorCode(
    "idempotency_conflict", "A request with this Idempotency-Key is in progress.", 409
)
DURATION_OVER_TIER = ErrorCode("duration_over_tier", "Clips this long are not part of your plan.", 403)
DURATION_UNSUPPORTED = ErrorCode(
    "duration_unsupported", "This server's video model cannot make a clip this long."
)
EXTEND_UNSUPPORTED = ErrorCode("extend_unsupported", "This server's video model cannot extend a clip.")
EXTEND_AND_REMIX = ErrorCode(
    "extend_and_remix",
    "An extension starts from its source: it cannot also remix a video or start from an image.",
)
STORYBOARD_TOO_LONG = ErrorCode(
    "storyboard_too_long", "The storyboard's shots add up to more than your clips may last.", 403
)
EXTEND_SOURCE_GONE = ErrorCode(
    "extend_source_gone", "The video to extend was deleted before the extension was made.", 409
)
STITCH_TOO_LONG = ErrorCode("stitch_too_long", "The videos add up to more than your clips may last.", 403)
STITCH_PART_GONE = ErrorCode("stitch_part_gone", "A part of the stitch was deleted before it was made.", 409)
QUOTA_EXCEEDED = ErrorCode("quota_exceeded", "You have used today's seconds of video.", 429)
TOO_MANY_ACTIVE = ErrorCode("too_many_active", "Too many generations are queued or running at once.", 429)
GENERATION_NOT_FOUND = ErrorCode("generation_not_found", "No such generation.", 404)
JOB_FINISHED = ErrorCode("job_finished", "The job has already finished.", 409)
JOB_ACTIVE = ErrorCode("job_active", "Cancel the job before deleting it.", 409)

# How a job can end other than with a draft: blocked (policy) ...
WORK_STOPPED = ErrorCode("work_stopped", "This generation was stopped.", 403)
# ... or failed (the system); the quota unit comes back either way.
STORAGE_UNAVAILABLE = ErrorCode(
    "storage_unavailable", "Storage was unavailable; the clip was not saved.", 503
)
OUT_OF_MEMORY = ErrorCode("out_of_memory", "The GPU ran out of memory.", 503)
ATTEMPTS_EXHAUSTED = ErrorCode("attempts_exhausted", "Gave up after the worker kept dying.", 503)
INTERNAL_ERROR = ErrorCode("internal_error", "Something went wrong while making the clip.", 500)
