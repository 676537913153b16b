"""The sizing use case: the quantity that risks a share of equity to the stop, and where it liquidates."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from marginlab.analysis.sizing import SizeRequest, SizeResult, size_position
from marginlab.app.inputs import load_venue
from marginlab.domain.enums import MarginMode, Side

__all__ = ["MarginMode", "Side", "SizeRequest", "SizeResult", "Sizing", "SizingRequest", "size"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SizingRequest:
    """What to size (:class:`SizeRequest`: exact values, shares as fractions) and on which rule set."""

    position: SizeRequest
    exchange: str = "binance"
    tiers_file: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Sizing:
    """A sized position, with the side and the instrument's tick (the table rounds prices to it)."""

    side: Side
    result: SizeResult
    tick_size: Decimal

    def __getattr__(self, name: str) -> Any:
        """Read the sized position's fields (``qty``, ``liquidation_price``, …) from :attr:`result`."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.result, name)

    def __repr__(self) -> str:
        """Return one line: the size, its liquidation price and the loss at the stop."""
        r = self.result
        liq = "none" if r.liquidation_price is None else f"{r.liquidation_price.quantize(self.tick_size)}"
        warned = f", {len(r.warnings)} warning(s)" if r.warnings else ""
        loss = "— (the stop cannot fill)" if r.loss_at_stop is None else f"{r.loss_at_stop:,.2f}"
        return (
            f"<Sizing {r.symbol} {self.side} qty {r.qty} ({r.notional:,.2f} at {r.leverage}x), liq. {liq}, "
            f"loss at stop {loss}{warned}>"
        )


def size(request: SizingRequest) -> Sizing:
    """Size the request's position (see :func:`marginlab.analysis.sizing.size_position`)."""
    venue = load_venue(request.exchange, tiers_file=request.tiers_file)
    position = request.position
    result = size_position(position, venue)
    return Sizing(side=position.side, result=result, tick_size=venue.instrument(position.symbol).tick_size)
