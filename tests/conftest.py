"""Fixtures shared by every test directory (helpers and strategies: ``tests/support.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from support import EXAMPLES, write


@pytest.fixture
def examples() -> Path:
    """Return the bundled example files' folder (``src/marginlab/examples``)."""
    return EXAMPLES


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str], Path]:
    """Return ``write(name, text)``: a file in this test's temporary folder."""
    return lambda name, text: write(tmp_path, name, text)
