"""The error codes of recommender (see config.errors). Each part appends its own, under its heading."""

from config.errors import ErrorCode

# --- vectors and cold start (R1) ---
TOPICS_INVALID = ErrorCode(
    "feed_topics_invalid", "Topics are up to 10 short words or phrases (1-40 characters each).", 400
)
