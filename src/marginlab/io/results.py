"""What a replay reports, whichever driver ran it: the exact engine (:mod:`marginlab.analysis.replay`) or the
fast core (:mod:`marginlab.sim.api`).

These types sit below both drivers so that the fast core (``sim``) does not import the use-case layer
(``analysis``) to return its results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from marginlab.domain.enums import Side

__all__ = ["Closest", "Liquidation", "ModeResult", "position_label"]


@dataclass(frozen=True, slots=True)
class Liquidation:
    """A position liquidated during replay.

    ``loss`` is what the account lost on the position, a positive amount in the settlement asset: the
    collateral forfeited in the liquidation plus every fee paid on the position.
    """

    symbol: str
    side: str
    mode: str
    time: str
    mark: Decimal
    price: Decimal
    loss: Decimal
    bar: int


@dataclass(frozen=True, slots=True)
class Closest:
    """The nearest any position came to its liquidation price (distance as a fraction of the mark)."""

    symbol: str
    time: str
    distance: Decimal


@dataclass(slots=True)
class ModeSummary:
    """What a replay of one margin mode reports, exact or fast (money in the settlement asset)."""

    mode: str
    start_equity: Decimal
    final_equity: Decimal
    fees: Decimal
    funding: Decimal
    max_drawdown: Decimal
    liquidations: list[Liquidation]
    closest_to_liquidation: Closest | None

    @property
    def pnl(self) -> Decimal:
        """Return final minus start equity (positive: profit)."""
        return self.final_equity - self.start_equity


@dataclass(slots=True)
class ModeResult(ModeSummary):
    """Outcome of one margin-mode scenario over the bars, series as Decimal."""

    equity: list[Decimal] = field(default_factory=list)
    margin_ratio: list[Decimal] = field(default_factory=list)
    liquidation_prices: dict[str, list[Decimal | None]] = field(default_factory=dict)
    stops: list[str] = field(default_factory=list)


def position_label(symbol: str, side: Side | str) -> str:
    """Return the key of a position's series: ``"BTCUSDT long"``."""
    return f"{symbol} {side}"
