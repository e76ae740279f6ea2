"""The error codes of cameos (see config.errors).

Registration's checks end a registration `failed` with one of the first group (the status is what
a request refused for the same reason would get); consent decisions refuse a generation with one of
the second; a job whose cameo's consent was withdrawn while it was queued or running ends `blocked`
with `cameo_consent_revoked`.
"""

from config.errors import ErrorCode

# Registration
CHALLENGE_EXPIRED = ErrorCode("challenge_expired", "The challenge has expired: start again.", 410)
REGISTRATION_NOT_FOUND = ErrorCode("registration_not_found", "No such registration.", 404)
REGISTRATION_STATE = ErrorCode("registration_state", "This registration does not take an upload now.", 409)
UPLOAD_INVALID = ErrorCode("upload_invalid", "The upload is not a video or image this server reads.", 400)
UPLOAD_TOO_LARGE = ErrorCode("upload_too_large", "The upload is too large.", 413)
DURATION_OUT_OF_RANGE = ErrorCode("duration_out_of_range", "The video must last 3 to 15 seconds.", 400)
NO_FACE = ErrorCode("no_face", "No face was found in the video.", 400)
SEVERAL_FACES = ErrorCode("several_faces", "More than one face was found: film yourself alone.", 400)
FACE_CHANGED = ErrorCode("face_changed", "The face changed during the video.", 400)
LIVENESS_FAILED = ErrorCode("liveness_failed", "The head turns did not match the challenge.", 400)
NO_SPEECH = ErrorCode("no_speech", "No speech was heard: read the digits aloud.", 400)
PHRASE_MISMATCH = ErrorCode("phrase_mismatch", "The digits read did not match the challenge.", 400)
PUBLIC_FIGURE_BLOCKED = ErrorCode(
    "public_figure_blocked", "This likeness belongs to a public figure and cannot be a cameo.", 403
)
LIKENESS_ALREADY_REGISTERED = ErrorCode(
    "likeness_already_registered",
    "This likeness is already another account's cameo. If it is yours, ask the moderators to review.",
    409,
)
HUMAN_FACE_IN_CHARACTER = ErrorCode(
    "human_face_in_character", "A character cannot show a real person's face.", 400
)
HANDLE_TAKEN = ErrorCode("handle_taken", "This handle is taken.", 409)
CAMEO_EXISTS = ErrorCode("cameo_exists", "You already have a cameo: delete it to register again.", 409)
REVIEW_NOT_APPLICABLE = ErrorCode(
    "review_not_applicable", "Only a registration refused as already registered can be reviewed.", 409
)

# Permissions and use
CAMEO_NOT_FOUND = ErrorCode("cameo_not_found", "No such cameo.", 404)
CAMEO_PERMISSION_DENIED = ErrorCode(
    "cameo_permission_denied", "You may not use this cameo: ask its owner for permission.", 403
)
CAMEO_RESTRICTION = ErrorCode(
    "cameo_restriction", "The prompt goes against a restriction of this cameo.", 403
)
CAMEO_CONSENT_REVOKED = ErrorCode(
    "cameo_consent_revoked", "The cameo's owner withdrew consent; the clip was not made.", 403
)
TOO_MANY_CAMEOS = ErrorCode("too_many_cameos", "At most 2 cameos per generation.", 400)
LEVEL_NOT_ALLOWED = ErrorCode("level_not_allowed", "Teens cannot open their cameo to everyone.", 403)
APPROVAL_NOT_FOUND = ErrorCode("approval_not_found", "No such request.", 404)
APPROVAL_STATE = ErrorCode("approval_state", "This request cannot change that way now.", 409)
APPROVAL_NOT_NEEDED = ErrorCode("approval_not_needed", "You may already use this cameo.", 409)

# Permissions and use: the owner's settings (consent part)
TOO_MANY_RESTRICTIONS = ErrorCode("too_many_restrictions", "At most 10 restrictions per cameo.", 400)
APPROVAL_STATE_UNKNOWN = ErrorCode(
    "approval_state_unknown", "state must be one of requested, approved, denied, revoked.", 400
)

# Registration (reg part): a character's handle that does not read like a username
HANDLE_INVALID = ErrorCode("handle_invalid", "A handle is 3 to 30 letters, digits, _ or . characters.", 400)
