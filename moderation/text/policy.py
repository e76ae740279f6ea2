"""The text policy: one check for every text a member writes (prompts, captions, comments, names,
bios, cameo restrictions).

This is the seam the moderation issue fills (public figures' names, aliases and roles, with
normalisation). Until then it allows every text; callers already ask it at every door, so
filling it changes no caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from config.errors import ErrorCode

TextKind = Literal["prompt", "caption", "comment", "username", "display_name", "bio", "cameo_restriction"]


@dataclass(frozen=True)
class TextVerdict:
    allowed: bool
    error: ErrorCode | None = None  # what the writer reads when refused (never whose name matched)
    reason: str = ""  # for moderators and logs


ALLOWED = TextVerdict(allowed=True)


def text_check(text: str, *, kind: TextKind) -> TextVerdict:
    """The verdict on `text` written as `kind`."""
    return ALLOWED
