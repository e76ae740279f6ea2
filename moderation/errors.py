"""The error codes of moderation (see config.errors). A member blocked by a likeness match reads a
code, never whose likeness matched."""

# The policy refusals that accounts answers too (names, bios and avatars, through the checks this app
# registers in its hooks) are declared in config.errors, so accounts' API can list them; re-exported.
from config.errors import LIKENESS_PUBLIC_FIGURE as LIKENESS_PUBLIC_FIGURE
from config.errors import MODERATION_UNAVAILABLE as MODERATION_UNAVAILABLE
from config.errors import TEXT_PUBLIC_FIGURE as TEXT_PUBLIC_FIGURE
from config.errors import TEXT_REFUSED as TEXT_REFUSED
from config.errors import ErrorCode

# --- likeness ----------------------------------------------------------------------
LIKENESS_REAL_PERSON = ErrorCode(
    "likeness_real_person", "This image shows a real person who is not a cameo you may use.", 400
)
LIKENESS_UNCONSENTED_CAMEO = ErrorCode(
    "likeness_unconsented_cameo",
    "The clip shows a registered cameo that was not consented to for this generation.",
    403,
)
# --- reports, queue, decisions, appeals ---------------------------------------------
SUBJECT_NOT_FOUND = ErrorCode("subject_not_found", "There is nothing to report there.", 404)
REPORT_OWN = ErrorCode("report_own", "You cannot report yourself or what you made.", 400)
ITEM_NOT_FOUND = ErrorCode("item_not_found", "No such queue item.", 404)
ITEM_CLAIMED = ErrorCode("item_claimed", "Another moderator is working on this item.", 409)
ITEM_NOT_CLAIMED = ErrorCode("item_not_claimed", "Claim the item before acting on it.", 409)
ITEM_DECIDED = ErrorCode("item_decided", "This item has already been decided.", 409)
ITEM_IS_APPEAL = ErrorCode("item_is_appeal", "This item is an appeal: uphold or overturn it.", 400)
ITEM_NOT_APPEAL = ErrorCode("item_not_appeal", "This item is not an appeal.", 400)
MODERATOR_REQUIRED = ErrorCode("moderator_required", "Only moderators may do this.", 403)
APPEAL_SAME_MODERATOR = ErrorCode(
    "appeal_same_moderator", "The moderator who decided may not review its appeal.", 403
)
REASON_CODE_UNKNOWN = ErrorCode("reason_code_unknown", "Pick a reason from the list.", 400)
REASON_REQUIRED = ErrorCode("reason_required", "Say why, in words the affected person will read.", 400)
ACTION_NOT_APPLICABLE = ErrorCode("action_not_applicable", "This action does not fit this item.", 400)
DECISION_NOT_FOUND = ErrorCode("decision_not_found", "No such decision.", 404)
DECISION_NOT_APPEALABLE = ErrorCode("decision_not_appealable", "This decision cannot be appealed.", 409)
APPEAL_WINDOW_CLOSED = ErrorCode("appeal_window_closed", "The time to appeal this decision has passed.", 409)
APPEAL_TOKEN_INVALID = ErrorCode(
    "appeal_token_invalid", "This appeal code is not valid, or its time to appeal has passed.", 400
)
APPEAL_EXISTS = ErrorCode("appeal_exists", "You have already appealed this decision.", 409)

# --- estates ----------------------------------------------------------------------
ESTATE_REQUEST_HANDLED = ErrorCode(
    "estate_request_handled", "This estate request has already been handled.", 409
)
