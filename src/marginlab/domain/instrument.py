"""Instruments: contract specification plus the venue data that prices its margin."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from marginlab.domain.enums import ContractKind
from marginlab.domain.precision import ZERO
from marginlab.domain.tiers import TierBasis, TierTable
from marginlab.errors import InputError, RuleSetError


@dataclass(frozen=True, slots=True, kw_only=True)
class Instrument:
    """A perpetual contract and its margin parameters on one venue.

    Parameters
    ----------
    symbol : str
        Venue-native symbol, e.g. ``"BTCUSDT"``.
    base, settle : str
        Base asset (``"BTC"``) and settlement/margin asset (``"USDT"``).
    tiers : TierTable
        Maintenance-margin tiers; their ``max_leverage`` bounds the leverage at each size.
    tick_size, lot_size : Decimal
        Price increment and quantity increment (base units), > 0.
    contract_size : Decimal
        Base units per contract (OKX ``ctVal``); 1 where quantities are quoted in base units.
    taker_fee, maker_fee : Decimal
        Fee rates as fractions of notional (0.0005 == 0.05 %); a negative maker fee is a rebate.
    liquidation_fee : Decimal
        Liquidation (clearance) fee rate as a fraction of the liquidated notional.
    kind : ContractKind
        Payoff; only linear is implemented.
    """

    symbol: str
    base: str
    settle: str
    tiers: TierTable
    tick_size: Decimal = Decimal("0.01")
    lot_size: Decimal = Decimal("0.001")
    contract_size: Decimal = Decimal(1)
    taker_fee: Decimal = Decimal("0.0005")
    maker_fee: Decimal = Decimal("0.0002")
    liquidation_fee: Decimal = ZERO
    kind: ContractKind = ContractKind.LINEAR

    def __post_init__(self) -> None:
        if self.kind is not ContractKind.LINEAR:
            raise RuleSetError(f"{self.symbol}: {self.kind} contracts are not supported yet")
        for name in ("tick_size", "lot_size", "contract_size"):
            if getattr(self, name) <= ZERO:
                raise InputError(f"{self.symbol}.{name}", getattr(self, name), "a number > 0")

    def tier_size(self, qty: Decimal, price: Decimal) -> Decimal:
        """Return the size used to pick a tier: notional at ``price``, or contracts (OKX)."""
        if self.tiers.basis is TierBasis.CONTRACTS:
            return abs(qty) / self.contract_size
        return abs(qty) * price

    def round_price(self, price: Decimal) -> Decimal:
        """Round a price to the tick (half up), for display."""
        return (price / self.tick_size).to_integral_value(ROUND_HALF_UP) * self.tick_size

    def round_qty_down(self, qty: Decimal) -> Decimal:
        """Round a quantity down to the lot size."""
        return (qty / self.lot_size).to_integral_value(ROUND_DOWN) * self.lot_size

    @property
    def max_leverage(self) -> Decimal:
        """Return the highest leverage the instrument allows (at the smallest size)."""
        return self.tiers.max_leverage
