"""Fixtures shared by every test directory (helpers and strategies: ``tests/support.py``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support import CHROMIUM, EXAMPLES, no_browser_reason, write


@pytest.fixture
def examples() -> Path:
    """Return the bundled example files' folder (``src/marginlab/examples``)."""
    return EXAMPLES


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str], Path]:
    """Return ``write(name, text)``: a file in this test's temporary folder."""
    return lambda name, text: write(tmp_path, name, text)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium (the system's, driven by Playwright), one per test session.

    Without Chromium or Playwright the browser tests skip with a one-line reason; with ``CI=true`` they fail
    instead, so CI cannot pass without having run them.
    """
    reason = no_browser_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
