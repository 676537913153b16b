"""Past-tense events returned by every account operation; together they form the account's ledger.

Amounts are in the settlement asset. Signs: ``realized_pnl`` and ``amount`` of funding are positive when the
trader receives money; fees are positive amounts paid.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import ClassVar

from marginlab.domain.enums import MarginMode, PositionMode, Side


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base class: ``kind`` names the event in JSON."""

    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, object]:
        """Return the event as a flat dict with ``kind`` first (enums as strings)."""
        out: dict[str, object] = {"kind": self.kind}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = str(value) if isinstance(value, Side | MarginMode | PositionMode) else value
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Deposited(Event):
    """Money entered the cross wallet from outside."""

    kind: ClassVar[str] = "deposited"
    asset: str
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionImported(Event):
    """An existing position was placed in the account as it stands (no fill, no fee).

    ``liquidatable`` is True when the position's margin pool was already at or below its maintenance
    requirement at the mark it was imported with: the venue would liquidate it.
    """

    kind: ClassVar[str] = "position_imported"
    symbol: str
    side: Side
    qty: Decimal
    entry: Decimal
    mode: MarginMode
    leverage: Decimal
    margin: Decimal
    liquidatable: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Filled(Event):
    """A trade filled: a position was opened, increased, reduced or closed."""

    kind: ClassVar[str] = "filled"
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal
    realized_pnl: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionOpened(Filled):
    """A new position was opened."""

    kind: ClassVar[str] = "opened"
    mode: MarginMode
    leverage: Decimal
    margin: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionIncreased(Filled):
    """An open position grew; ``entry`` is the new average entry price."""

    kind: ClassVar[str] = "increased"
    entry: Decimal
    margin_added: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionReduced(Filled):
    """Part of a position was closed; ``margin_released`` went back to the cross wallet."""

    kind: ClassVar[str] = "reduced"
    margin_released: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionClosed(Filled):
    """A position was closed in full; ``margin_released`` went back to the cross wallet."""

    kind: ClassVar[str] = "closed"
    margin_released: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginAdded(Event):
    """Margin moved from the cross wallet into an isolated position (``auto`` by the auto-add policy)."""

    kind: ClassVar[str] = "margin_added"
    symbol: str
    side: Side
    amount: Decimal
    margin: Decimal
    auto: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginRemoved(Event):
    """Margin moved from an isolated position back to the cross wallet."""

    kind: ClassVar[str] = "margin_removed"
    symbol: str
    side: Side
    amount: Decimal
    margin: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class LeverageChanged(Event):
    """A symbol's leverage setting changed; ``margin_added`` topped up isolated positions."""

    kind: ClassVar[str] = "leverage_changed"
    symbol: str
    leverage: Decimal
    margin_added: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginModeChanged(Event):
    """A symbol's margin mode changed; ``margin_moved`` is what went to (+) or left (-) isolated margin."""

    kind: ClassVar[str] = "margin_mode_changed"
    symbol: str
    mode: MarginMode
    margin_moved: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionModeChanged(Event):
    """The account switched between one-way and hedge mode."""

    kind: ClassVar[str] = "position_mode_changed"
    position_mode: PositionMode


@dataclass(frozen=True, slots=True, kw_only=True)
class FundingSettled(Event):
    """Funding was exchanged; ``amount`` > 0 received, < 0 paid. Isolated funding moves its margin."""

    kind: ClassVar[str] = "funding_settled"
    symbol: str
    side: Side
    rate: Decimal
    mark: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkUpdated(Event):
    """A symbol's mark price changed."""

    kind: ClassVar[str] = "mark_updated"
    symbol: str
    mark: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PartiallyLiquidated(Event):
    """A liquidation stepped a position down a tier by closing ``qty`` at the mark price."""

    kind: ClassVar[str] = "partially_liquidated"
    symbol: str
    side: Side
    qty: Decimal
    mark: Decimal
    liquidation_fee: Decimal
    realized_pnl: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class Liquidated(Event):
    """A position was liquidated in full.

    ``price`` is where the trader's position was closed (the bankruptcy price on venues that take it over
    there, else the mark); ``insurance_fund_delta`` is what the insurance fund gained (+) or paid (-);
    ``loss`` (= -realized_pnl) is the collateral the trader lost to the liquidation: the isolated margin, or
    the position's share of the cross wallet, minus what was returned.
    """

    kind: ClassVar[str] = "liquidated"
    symbol: str
    side: Side
    mode: MarginMode
    qty: Decimal
    entry: Decimal
    mark: Decimal
    price: Decimal
    bankruptcy_price: Decimal | None
    realized_pnl: Decimal
    liquidation_fee: Decimal
    insurance_fund_delta: Decimal
    loss: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class AutoDeleveraged(Event):
    """The insurance fund could not cover a deficit: ``qty`` was closed against counterparties at ``price``.

    ``shortfall`` is the part of the deficit borne by the deleveraged counterparties.
    """

    kind: ClassVar[str] = "auto_deleveraged"
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    shortfall: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class CollateralSeized(Event):
    """Multi-Assets mode: a liquidation of the account took this wallet (asset units; negative: a debt).

    ``value`` is its USD market value at ``index_price`` (no buffer, no haircut).
    """

    kind: ClassVar[str] = "collateral_seized"
    asset: str
    amount: Decimal
    index_price: Decimal
    value: Decimal
