"""The cast of a clip in words, for the engines that read text (the request side's preview and the
worker's render both use it)."""

from __future__ import annotations

from cameos.public import CameoCast


def cast_notes(casts: tuple[CameoCast, ...]) -> str:
    """The cast in words: "@robo (Robo): a cheerful cardboard robot. @alice (Alice): always wearing a
    red cap." (a character's personality, then any cameo's preferences)."""
    notes = []
    for cast in casts:
        asks = "; ".join(
            text.strip().rstrip(".") for text in (cast.personality, cast.preferences) if text.strip()
        )
        name = f"@{cast.handle} ({cast.display_name})" if cast.display_name else f"@{cast.handle}"
        notes.append(f"{name}: {asks}." if asks else f"{name}.")
    return " ".join(notes)
