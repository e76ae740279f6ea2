"""A storage that fails the next N saves (set `FlakyStorage.failures`), for tests of storage outages."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.files.storage import FileSystemStorage


class FlakyStorage(FileSystemStorage):
    failures: ClassVar[int] = 0
    attempts: ClassVar[int] = 0

    def _save(self, name: str, content: Any) -> str:
        type(self).attempts += 1
        if type(self).failures > 0:
            type(self).failures -= 1
            raise OSError("storage unavailable")
        return super()._save(name, content)
