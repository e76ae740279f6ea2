"""The error codes of accounts: each with its default message and HTTP status (see config.errors)."""

from config.errors import ErrorCode

USERNAME_INVALID = ErrorCode("username_invalid", "Usernames are 3 to 30 characters of a-z, 0-9, '_' and '.'.")
USERNAME_RESERVED = ErrorCode("username_reserved", "This username is reserved.")
USERNAME_TAKEN = ErrorCode("username_taken", "This username is taken.", 409)
EMAIL_TAKEN = ErrorCode("email_taken", "An account already uses this email address.", 409)
PASSWORD_WEAK = ErrorCode("password_weak", "Choose a stronger password.")
PASSWORD_WRONG = ErrorCode("password_wrong", "The password is wrong.", 403)
BIRTHDATE_INVALID = ErrorCode("birthdate_invalid", "Enter a real birthdate.")
TOO_YOUNG = ErrorCode("too_young", "You are too young to join Kino.", 403)
INVITE_INVALID = ErrorCode("invite_invalid", "This invite code does not exist.")
INVITE_NOT_FOUND = ErrorCode("invite_not_found", "This invite code does not exist.", 404)
INVITE_USED = ErrorCode("invite_used", "This invite code has already been used.")
INVITE_EXPIRED = ErrorCode("invite_expired", "This invite code has expired.")
INVITE_BATCH_SIZE = ErrorCode("invite_batch_size", "A batch holds 1 to 10,000 invites.")
INVALID_CREDENTIALS = ErrorCode("invalid_credentials", "Wrong username or password.", 401)
USER_NOT_FOUND = ErrorCode("user_not_found", "No such user.", 404)
ACCOUNT_INACTIVE = ErrorCode("account_inactive", "The account was deactivated.", 403)
FOLLOW_SELF = ErrorCode("follow_self", "You cannot follow yourself.")
BLOCK_SELF = ErrorCode("block_self", "You cannot block yourself.")
