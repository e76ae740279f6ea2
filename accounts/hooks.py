"""Extension points that apps above `accounts` plug into, so the arrow keeps pointing one way.

`moderation` registers a username check at startup that refuses public figures'
names; `accounts` never imports `moderation`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class UsernameRefusal:
    code: str  # stable API error code, e.g. "username_public_figure"
    message: str


UsernameCheck = Callable[[str], UsernameRefusal | None]
_username_checks: list[UsernameCheck] = []


def username_check_register(check: UsernameCheck) -> UsernameCheck:
    if check not in _username_checks:
        _username_checks.append(check)
    return check


def username_check_unregister(check: UsernameCheck) -> None:
    if check in _username_checks:
        _username_checks.remove(check)


def username_checks_run(username: str) -> UsernameRefusal | None:
    for check in _username_checks:
        refusal = check(username)
        if refusal is not None:
            return refusal
    return None
