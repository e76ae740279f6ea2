"""Headless Chromium (Debian's, driven by Playwright) for the tests that open pages: the beta pages,
the share page, the end-to-end story."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.conftest import in_ci

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched headless Chromium; skips (fails, in CI) where it is not installed."""
    # Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run beside one
    # unless told it is safe, and it is: nothing else shares these connections.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    if CHROMIUM is None:
        if in_ci():
            pytest.fail("chromium is missing in CI: `make test` installs Debian's chromium")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                yield launched
            finally:
                launched.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
