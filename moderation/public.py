"""What other apps may use of `moderation`: these names and nothing else (import-linter holds it)."""

from moderation.errors import TEXT_REFUSED
from moderation.text import TextKind, TextVerdict, text_check

__all__ = ["TEXT_REFUSED", "TextKind", "TextVerdict", "text_check"]
