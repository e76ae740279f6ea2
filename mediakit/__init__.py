"""Media that several apps share: a rendered clip, its encoded MP4 and poster, uploaded images.

Plain Python (numpy, PyAV, Pillow), no Django and no app: every app may import it, and
import-linter keeps it from importing any (moderation screens clips, provenance marks
them, feed stores them, generation makes them).
"""

from mediakit.clip import Clip, EncodedClip

__all__ = ["Clip", "EncodedClip"]
