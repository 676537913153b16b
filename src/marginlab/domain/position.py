"""Position value object: one open position and what it is worth at its mark price."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TypedDict

from marginlab.domain.enums import MarginMode, Side
from marginlab.domain.instrument import Instrument
from marginlab.domain.precision import ZERO
from marginlab.domain.tiers import RiskTier


class PositionSnapshot(TypedDict):
    """A position's identity and state as it stands, under the names events and reports give them.

    Unpacked (``**``) into a constructor that names these fields, it is type-checked key by key.
    """

    symbol: str
    side: Side
    mode: MarginMode
    qty: Decimal
    entry: Decimal
    mark: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    """An open linear position. Immutable: the account replaces it on every change.

    Parameters
    ----------
    instrument : Instrument
        Contract and its tiers.
    side : Side
        Long or short.
    qty : Decimal
        Size in base units, > 0.
    entry : Decimal
        Average entry price, quote per base.
    mark : Decimal
        Current mark price used for unrealized PnL and margin.
    leverage : Decimal
        Leverage setting; initial margin is ``notional(mark) / leverage``.
    mode : MarginMode
        Cross or isolated.
    margin : Decimal
        Isolated wallet balance of the position in the settlement asset (0 for cross positions).
    """

    instrument: Instrument
    side: Side
    qty: Decimal
    entry: Decimal
    mark: Decimal
    leverage: Decimal
    mode: MarginMode
    margin: Decimal = ZERO

    @property
    def symbol(self) -> str:
        """Return the instrument's symbol."""
        return self.instrument.symbol

    @property
    def signed_qty(self) -> Decimal:
        """Return the size with its sign (+ long, - short)."""
        return self.side.sign * self.qty

    def notional(self, price: Decimal | None = None) -> Decimal:
        """Return the absolute position value at ``price`` (default: mark), in the settlement asset."""
        return self.qty * (self.mark if price is None else price)

    def unrealized_pnl(self, price: Decimal | None = None) -> Decimal:
        """Return profit (positive) or loss (negative) at ``price`` (default: mark)."""
        return self.signed_qty * ((self.mark if price is None else price) - self.entry)

    def tier(self, price: Decimal | None = None) -> RiskTier:
        """Return the tier holding the position's size at ``price`` (default: mark)."""
        price = self.mark if price is None else price
        return self.instrument.tiers.tier_for(self.instrument.tier_size(self.qty, price))

    def initial_margin(self) -> Decimal:
        """Return the initial margin at mark: ``notional(mark) / leverage``."""
        return self.notional() / self.leverage

    def snapshot(self) -> PositionSnapshot:
        """Return the symbol, side, margin mode, size, entry and mark of the position as it stands."""
        return PositionSnapshot(
            symbol=self.symbol,
            side=self.side,
            mode=self.mode,
            qty=self.qty,
            entry=self.entry,
            mark=self.mark,
        )

    def with_mark(self, mark: Decimal) -> Position:
        """Return a copy at a new mark price."""
        return replace(self, mark=mark)

    def __repr__(self) -> str:
        """Return a one-line summary."""
        extra = f", margin {self.margin}" if self.mode is MarginMode.ISOLATED else ""
        return (
            f"<Position {self.symbol} {self.side} {self.qty} @ {self.entry} (mark {self.mark}, "
            f"{self.leverage}x {self.mode}{extra})>"
        )
