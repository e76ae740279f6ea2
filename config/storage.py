"""What every app does with stored media files (local folder or S3) beyond Django's storage API."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial

from django.core.files.storage import default_storage
from django.db import transaction

logger = logging.getLogger(__name__)


def files_delete(names: Iterable[str]) -> None:
    """Delete stored files. A storage's error (OSError, S3's ClientError) is logged and the rest go on:
    a file left behind is a leak to sweep, never a failed deletion of what owned it."""
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # any storage's error: log it, go on
            logger.warning("storage.file_not_deleted", extra={"file": name}, exc_info=True)


def files_delete_on_commit(names: Iterable[str]) -> None:
    """Delete the files once the surrounding transaction commits (never if it rolls back)."""
    transaction.on_commit(partial(files_delete, list(names)), robust=True)
