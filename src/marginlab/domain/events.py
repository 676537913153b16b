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
class WalletEvent(Event):
    """Base class: an amount of ``asset`` (asset units) entered or left a wallet."""

    asset: str
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class Deposited(WalletEvent):
    """Money entered the cross wallet from outside."""

    kind: ClassVar[str] = "deposited"


@dataclass(frozen=True, slots=True, kw_only=True)
class SymbolEvent(Event):
    """Base class: an event about one symbol's settings or market."""

    symbol: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionEvent(SymbolEvent):
    """Base class: an event about one position (``symbol`` and ``side``)."""

    side: Side


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionImported(PositionEvent):
    """An existing position was placed in the account as it stands (no fill, no fee).

    ``liquidatable`` is True when the position's margin pool was already at or below its maintenance
    requirement at the mark it was imported with: the venue would liquidate it.
    """

    kind: ClassVar[str] = "position_imported"
    qty: Decimal
    entry: Decimal
    mode: MarginMode
    leverage: Decimal
    margin: Decimal
    liquidatable: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Filled(PositionEvent):
    """A trade filled: a position was opened, increased, reduced or closed."""

    kind: ClassVar[str] = "filled"
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
class Released(Filled):
    """Base class: a fill closed part or all of a position; ``margin_released`` went to the cross wallet."""

    margin_released: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionReduced(Released):
    """Part of a position was closed."""

    kind: ClassVar[str] = "reduced"


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionClosed(Released):
    """A position was closed in full."""

    kind: ClassVar[str] = "closed"


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginMoved(PositionEvent):
    """Base class: ``amount`` moved between the cross wallet and an isolated position (now ``margin``)."""

    amount: Decimal
    margin: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginAdded(MarginMoved):
    """Margin moved from the cross wallet into an isolated position (``auto`` by the auto-add policy)."""

    kind: ClassVar[str] = "margin_added"
    auto: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginRemoved(MarginMoved):
    """Margin moved from an isolated position back to the cross wallet."""

    kind: ClassVar[str] = "margin_removed"


@dataclass(frozen=True, slots=True, kw_only=True)
class LeverageChanged(SymbolEvent):
    """A symbol's leverage setting changed; ``margin_added`` topped up isolated positions."""

    kind: ClassVar[str] = "leverage_changed"
    leverage: Decimal
    margin_added: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginModeChanged(SymbolEvent):
    """A symbol's margin mode changed; ``margin_moved`` is what went to (+) or left (-) isolated margin."""

    kind: ClassVar[str] = "margin_mode_changed"
    mode: MarginMode
    margin_moved: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionModeChanged(Event):
    """The account switched between one-way and hedge mode."""

    kind: ClassVar[str] = "position_mode_changed"
    position_mode: PositionMode


@dataclass(frozen=True, slots=True, kw_only=True)
class FundingSettled(PositionEvent):
    """Funding was exchanged; ``amount`` > 0 received, < 0 paid. Isolated funding moves its margin."""

    kind: ClassVar[str] = "funding_settled"
    rate: Decimal
    mark: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkUpdated(SymbolEvent):
    """A symbol's mark price changed."""

    kind: ClassVar[str] = "mark_updated"
    mark: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PartiallyLiquidated(PositionEvent):
    """A liquidation stepped a position down a tier by closing ``qty`` at the mark price."""

    kind: ClassVar[str] = "partially_liquidated"
    qty: Decimal
    mark: Decimal
    liquidation_fee: Decimal
    realized_pnl: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class Liquidated(PositionEvent):
    """A position was liquidated in full.

    ``price`` is where the trader's position was closed (the bankruptcy price on venues that take it over
    there, else the mark); ``insurance_fund_delta`` is what the insurance fund gained (+) or paid (-);
    ``loss`` (= -realized_pnl) is the collateral the trader lost to the liquidation: the isolated margin, or
    the position's share of the cross wallet, minus what was returned.
    """

    kind: ClassVar[str] = "liquidated"
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
class AutoDeleveraged(PositionEvent):
    """The insurance fund could not cover a deficit: ``qty`` was closed against counterparties at ``price``.

    ``shortfall`` is the part of the deficit borne by the deleveraged counterparties.
    """

    kind: ClassVar[str] = "auto_deleveraged"
    qty: Decimal
    price: Decimal
    shortfall: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class CollateralSeized(WalletEvent):
    """Multi-Assets mode: a liquidation of the account took this wallet (asset units; negative: a debt).

    ``value`` is its USD market value at ``index_price`` (no buffer, no haircut).
    """

    kind: ClassVar[str] = "collateral_seized"
    index_price: Decimal
    value: Decimal
