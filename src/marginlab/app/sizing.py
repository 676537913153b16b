"""The sizing use case: the quantity that risks a share of equity to the stop, and where it liquidates."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from marginlab.analysis.sizing import SizeRequest, SizeResult, size_position
from marginlab.app.inputs import load_venue
from marginlab.domain.enums import MarginMode, Side

__all__ = ["MarginMode", "Side", "SizeRequest", "SizeResult", "Sizing", "SizingRequest", "size"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SizingRequest:
    """What to size, on which rule set (exact values; see :class:`SizeRequest` for the fields).

    ``risk`` and ``buffer`` are fractions (0.01 = 1 %).
    """

    symbol: str
    side: Side
    equity: Decimal
    risk: Decimal
    entry: Decimal
    stop: Decimal
    exchange: str = "binance"
    tiers_file: Path | None = None
    mode: MarginMode = MarginMode.ISOLATED
    leverage: Decimal | None = None
    buffer: Decimal = Decimal("0.005")


@dataclass(frozen=True, slots=True, kw_only=True)
class Sizing:
    """A sized position, with the side and the instrument's tick (the table rounds prices to it)."""

    side: Side
    result: SizeResult
    tick_size: Decimal


def size(request: SizingRequest) -> Sizing:
    """Size the request's position (see :func:`marginlab.analysis.sizing.size_position`)."""
    venue = load_venue(request.exchange, tiers_file=request.tiers_file)
    result = size_position(
        SizeRequest(
            symbol=request.symbol,
            side=request.side,
            equity=request.equity,
            risk=request.risk,
            entry=request.entry,
            stop=request.stop,
            mode=request.mode,
            leverage=request.leverage,
            buffer=request.buffer,
        ),
        venue,
    )
    return Sizing(side=request.side, result=result, tick_size=venue.instrument(request.symbol).tick_size)
