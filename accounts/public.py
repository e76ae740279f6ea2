"""What other apps may use of `accounts`: these names and nothing else (import-linter holds it).

Plain values cross this line (`Standing`, `WorkStop`), never model instances.
"""

from accounts.errors import ACCOUNT_INACTIVE
from accounts.hooks import (
    StopSubject,
    UsernameCheck,
    UsernameRefusal,
    WorkStop,
    WorkStopper,
    member_files_register,
    username_check_register,
    username_check_unregister,
    work_stop,
    work_stopper_register,
)
from accounts.selectors import Standing, member_standing
from accounts.services import member_hold

__all__ = [
    "ACCOUNT_INACTIVE",
    "Standing",
    "StopSubject",
    "UsernameCheck",
    "UsernameRefusal",
    "WorkStop",
    "WorkStopper",
    "member_files_register",
    "member_hold",
    "member_standing",
    "username_check_register",
    "username_check_unregister",
    "work_stop",
    "work_stopper_register",
]
