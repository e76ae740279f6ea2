"""The error codes of moderation (see config.errors). A member blocked by a likeness match reads a
code, never whose likeness matched."""

from config.errors import ErrorCode

# --- text policy -------------------------------------------------------------------
TEXT_REFUSED = ErrorCode("text_refused", "This text is not allowed on Kino.", 400)

# --- likeness ----------------------------------------------------------------------
LIKENESS_PUBLIC_FIGURE = ErrorCode(
    "likeness_public_figure", "This shows a public figure's likeness, which Kino does not allow.", 400
)
LIKENESS_REAL_PERSON = ErrorCode(
    "likeness_real_person", "This image shows a real person who is not a cameo you may use.", 400
)
MODERATION_UNAVAILABLE = ErrorCode(
    "moderation_unavailable",
    "Screening is unavailable right now, so nothing was published. Try again later.",
    503,
)

# --- reports, queue, decisions, appeals ---------------------------------------------
