"""The engine's types the venue's front end names (so that ``marginlab.api`` imports only the venue)."""

from __future__ import annotations

from marginlab.domain.enums import MarginMode
from marginlab.domain.instrument import Instrument

__all__ = ["Instrument", "MarginMode"]
