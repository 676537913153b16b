"""The engine's types and constants the venue's front end names (``marginlab.api`` imports only the venue)."""

from __future__ import annotations

from marginlab.domain.enums import MarginMode
from marginlab.domain.instrument import Instrument
from marginlab.domain.precision import ZERO

__all__ = ["ZERO", "Instrument", "MarginMode"]
