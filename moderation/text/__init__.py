"""The text policy: one check for every text a member writes (prompts, captions, comments, usernames,
display names, bios, cameo restrictions). See `policy` for the verdict, `names` for public figures'
names, `categories` for the content classifier, `evaluate` for its measured precision and recall."""

from moderation.text.policy import TextKind, TextVerdict, text_check, text_judge, text_require, texts_judge

__all__ = ["TextKind", "TextVerdict", "text_check", "text_judge", "text_require", "texts_judge"]
