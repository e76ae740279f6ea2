"""The error codes of recommender (see config.errors). Each part appends its own, under its heading."""

from config.errors import ErrorCode

# --- vectors and cold start (R1) ---
TOPICS_INVALID = ErrorCode(
    "feed_topics_invalid", "Topics are up to 10 short words or phrases (1-40 characters each).", 400
)

# --- steering, teens, wellbeing (R3) ---
STEER_EMPTY = ErrorCode(
    "steer_empty", 'Say what you want more or less of, e.g. "more cooking, less horror".', 400
)
FEED_DAILY_LIMIT_REACHED = ErrorCode(
    "feed_daily_limit_reached", "That is all of today's feed for teen accounts; more tomorrow.", 429
)
GUARDIANSHIP_NOT_FOUND = ErrorCode("guardianship_not_found", "No such guardian link.", 404)
GUARDIANSHIP_ROLES = ErrorCode(
    "guardianship_roles", "A guardian link joins an adult account (the guardian) and a teen account.", 400
)
GUARDIANSHIP_TEEN_LINKED = ErrorCode(
    "guardianship_teen_linked", "This teen account already has a guardian: that link must end first.", 409
)
GUARDIANSHIP_STATE = ErrorCode(
    "guardianship_state", "The link is not in a state that allows this (see its state).", 409
)
GUARDIANSHIP_OTHER_SIDE = ErrorCode(
    "guardianship_other_side",
    "The invitation is confirmed by the account it invites, not by its sender.",
    403,
)
GUARDIANSHIP_GUARDIAN_ONLY = ErrorCode(
    "guardianship_guardian_only", "Only the guardian sets a teen's feed switches.", 403
)
CHECKIN_NOT_FOUND = ErrorCode("checkin_not_found", "No such check-in.", 404)
CHECKIN_ANSWERED = ErrorCode("checkin_answered", "This check-in is already answered.", 409)
