"""Enumerations of the margin domain (string-valued, so they read well in files and JSON)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum


class Side(StrEnum):
    """Direction of a position."""

    LONG = "long"
    SHORT = "short"

    @property
    def sign(self) -> Decimal:
        """Return +1 for long, -1 for short."""
        return Decimal(1) if self is Side.LONG else Decimal(-1)

    @property
    def opposite(self) -> Side:
        """Return the other side."""
        return Side.SHORT if self is Side.LONG else Side.LONG


class MarginMode(StrEnum):
    """How a position is collateralised."""

    CROSS = "cross"
    ISOLATED = "isolated"


class PositionMode(StrEnum):
    """One position per symbol (one-way) or one per side (hedge)."""

    ONE_WAY = "one-way"
    HEDGE = "hedge"


class ContractKind(StrEnum):
    """Contract payoff. Only linear contracts are implemented; inverse is reserved."""

    LINEAR = "linear"
    INVERSE = "inverse"


class MaintenanceBasis(StrEnum):
    """Price at which a venue evaluates the maintenance margin in its liquidation price.

    ``LIQUIDATION_PRICE``: the requirement moves with price (Binance, OKX, Gate, Bitget, Hyperliquid, dYdX).
    ``ENTRY``: the requirement is fixed at the entry price (Bybit's classic help-centre formula).
    """

    LIQUIDATION_PRICE = "liquidation_price"
    ENTRY = "entry"


class LiquidationStyle(StrEnum):
    """What happens to a liquidated position's remaining collateral.

    ``BANKRUPTCY``: the position is taken over at the bankruptcy price; the whole margin is lost and the
    insurance fund keeps what the close at market yields beyond it (Binance, Bybit, Gate, Bitget).
    ``FEE``: the position closes at market; the trader pays a liquidation fee (capped at what is left) to
    the insurance fund and keeps the rest (OKX, Hyperliquid, dYdX).
    """

    BANKRUPTCY = "bankruptcy"
    FEE = "fee"


class ModeSwitchPolicy(StrEnum):
    """When a symbol's margin mode may be changed."""

    FLAT_ONLY = "flat_only"
    ANYTIME = "anytime"


class IsolatedFunding(StrEnum):
    """Where funding paid by an isolated position is taken from.

    ``POSITION_MARGIN``: from the position's own margin, which moves its liquidation price (received funding
    is added to it).
    ``AVAILABLE_FIRST``: from the account's available balance; only the part it cannot cover comes out of
    the position margin (received funding goes to the wallet). Bybit, "Position Margin" help article.
    """

    POSITION_MARGIN = "position_margin"
    AVAILABLE_FIRST = "available_first"


class RemoveMarginCap(StrEnum):
    """Formula that caps how much isolated margin can be removed."""

    BINANCE = "binance"
    INITIAL_OR_10PCT = "initial_or_10pct"
    INITIAL_MARGIN = "initial_margin"


class Liquidity(StrEnum):
    """Fee side of a fill."""

    MAKER = "maker"
    TAKER = "taker"
