"""Liquidation and bankruptcy prices of linear positions, solved exactly with tier iteration.

One general condition covers every venue (see ``docs/formulas.md``): at the liquidation price ``P`` the
equity backing a group of legs (all the positions of one symbol that share a price) equals their maintenance
requirement::

    fixed + sum_i s_i * Q_i * (P - E_i)  =  sum_i MM_i(P)
    MM_i(P) = Q_i * B_i * mmr_i - cum_i + Q_i * P * f_i

``fixed`` is the isolated margin (isolated) or the cross wallet balance plus the other cross positions'
unrealized PnL minus their maintenance margin at their marks (cross: Binance's ``WB - TMM1 + UPNL1``).
``B_i`` is ``P`` on most venues and the entry price on Bybit classic; ``f_i`` is the close-fee rate where a
venue puts the fee in the condition. With ``B_i = P`` this is Binance's formula
(FAQ b3c689c1f50a44cabb3a84e663b81d93).

The tier of each leg is the one holding its notional **at the liquidation price**: the condition is linear
between tier boundaries, so we solve it on every interval between boundaries and keep the roots that fall
inside their interval (Binance's bracket rule, done exhaustively instead of by trial).
The bankruptcy price solves the same condition with no requirement (equity = 0).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from itertools import pairwise

from marginlab.domain.enums import MaintenanceBasis, Side
from marginlab.domain.instrument import Instrument
from marginlab.domain.precision import ZERO
from marginlab.domain.tiers import RiskTier, TierBasis

PRECISION = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class Leg:
    """One position inside a liquidation condition.

    Parameters
    ----------
    side : Side
        Long or short.
    qty : Decimal
        Size in base units, > 0.
    entry : Decimal
        Entry price.
    instrument : Instrument
        Supplies the tiers.
    close_fee_rate : Decimal
        Fee rate added to the maintenance rate where the venue includes the close fee (else 0).
    basis : MaintenanceBasis
        Price at which the maintenance rate applies.
    """

    side: Side
    qty: Decimal
    entry: Decimal
    instrument: Instrument
    close_fee_rate: Decimal = ZERO
    basis: MaintenanceBasis = MaintenanceBasis.LIQUIDATION_PRICE

    def tier_at(self, price: Decimal) -> RiskTier:
        """Return the tier in force at ``price`` (the last tier beyond the table's end)."""
        tiers = self.instrument.tiers
        size = self.instrument.tier_size(
            self.qty, self.entry if self.basis is MaintenanceBasis.ENTRY else price
        )
        for tier in tiers.tiers:
            if tier.cap is None or size <= tier.cap:
                return tier
        return tiers.tiers[-1]

    def maintenance(self, price: Decimal) -> Decimal:
        """Return the requirement of this leg at ``price``, close fee included where configured."""
        tier = self.tier_at(price)
        basis_price = self.entry if self.basis is MaintenanceBasis.ENTRY else price
        return (
            self.qty * basis_price * tier.mmr
            - tier.maintenance_amount
            + self.qty * price * self.close_fee_rate
        )

    def breakpoints(self) -> tuple[Decimal, ...]:
        """Return the prices where this leg's tier changes (none when the tier does not move with price)."""
        tiers = self.instrument.tiers
        if self.basis is MaintenanceBasis.ENTRY or tiers.basis is TierBasis.CONTRACTS:
            return ()
        return tuple(floor / self.qty for floor in tiers.floors())


def equity_minus_requirement(
    legs: Sequence[Leg], fixed: Decimal, price: Decimal, *, maintenance: bool = True
) -> Decimal:
    """Return ``fixed + sum(PnL of legs at price) - sum(requirements at price)``; <= 0 means liquidatable."""
    total = fixed
    for leg in legs:
        total += leg.side.sign * leg.qty * (price - leg.entry)
        if maintenance:
            total -= leg.maintenance(price)
    return total


def solve_price(
    legs: Sequence[Leg], fixed: Decimal, *, reference: Decimal, maintenance: bool = True
) -> Decimal | None:
    """Return the positive price at which ``equity_minus_requirement`` is zero, or None if there is none.

    Parameters
    ----------
    legs : sequence of Leg
        Positions that move with the price (one symbol; both sides in hedge mode).
    fixed : Decimal
        Price-independent part of the equity minus requirement (see the module docstring).
    reference : Decimal
        Current mark price; where several prices satisfy the condition, the one nearest to it is returned
        (the first one the market would reach).
    maintenance : bool
        False solves for the bankruptcy price (no requirement, no fee).
    """
    if not legs:
        return None
    with localcontext() as ctx:
        ctx.prec = PRECISION
        points = sorted({b for leg in legs for b in leg.breakpoints() if b > ZERO})
        roots: list[Decimal] = []
        for lo, hi in _intervals(points):
            probe = lo * 2 if hi is None else (lo + hi) / 2
            slope, intercept = _linear_piece(legs, fixed, probe, maintenance=maintenance)
            if slope == ZERO:
                continue
            root = -intercept / slope
            if root > ZERO and root >= lo and (hi is None or root <= hi):
                roots.append(root)
    if not roots:
        return None
    return min(roots, key=lambda r: (abs(r - reference), r))


def _intervals(points: list[Decimal]) -> list[tuple[Decimal, Decimal | None]]:
    """Return the price intervals between tier breakpoints; the last one is open-ended."""
    if not points:
        return [(ZERO, None)]
    bounds: list[Decimal] = [ZERO, *points]
    return [*pairwise(bounds), (bounds[-1], None)]


def _linear_piece(
    legs: Sequence[Leg], fixed: Decimal, probe: Decimal, *, maintenance: bool
) -> tuple[Decimal, Decimal]:
    """Return (slope, intercept) of the condition on the tier interval that contains ``probe``."""
    slope = ZERO
    intercept = fixed
    for leg in legs:
        slope += leg.side.sign * leg.qty
        intercept -= leg.side.sign * leg.qty * leg.entry
        if not maintenance:
            continue
        tier = leg.tier_at(probe)
        intercept += tier.maintenance_amount
        slope -= leg.qty * leg.close_fee_rate
        if leg.basis is MaintenanceBasis.ENTRY:
            intercept -= leg.qty * leg.entry * tier.mmr
        else:
            slope -= leg.qty * tier.mmr
    return slope, intercept


def solve_piecewise_linear(
    condition: Callable[[Decimal], Decimal], kinks: Iterable[Decimal], *, reference: Decimal
) -> Decimal | None:
    """Return the positive root of a condition that is linear between known kinks, nearest to ``reference``.

    Used where the condition is not a sum of :class:`Leg` terms, e.g. Multi-Assets mode, whose equity
    values each asset at its bid or ask rate and haircut (a kink where an asset's equity changes sign) and
    whose collateral may move with the price. On each interval between kinks the condition is one straight
    line; two evaluations inside it give that line exactly (at ``PRECISION`` digits), and its root is kept
    if it falls inside the interval.

    Parameters
    ----------
    condition : callable
        Equity minus requirement at a price (``<= 0``: liquidatable); linear between ``kinks``.
    kinks : iterable of Decimal
        Every price where the condition's slope may change (non-positive ones are ignored).
    reference : Decimal
        Current mark, > 0; of several roots the nearest to it is returned.
    """
    with localcontext() as ctx:
        ctx.prec = PRECISION
        points = sorted({k for k in kinks if k > ZERO})
        roots: list[Decimal] = []
        for lo, hi in _intervals(points):
            if hi is not None:
                a, b = lo + (hi - lo) / 3, lo + (hi - lo) * 2 / 3
            elif lo > ZERO:
                a, b = lo * 2, lo * 3
            else:
                a, b = reference, reference * 2
            fa, fb = condition(a), condition(b)
            slope = (fb - fa) / (b - a)
            if slope == ZERO:
                continue
            root = a - fa / slope
            if root > ZERO and root >= lo and (hi is None or root <= hi):
                roots.append(root)
    if not roots:
        return None
    return min(roots, key=lambda r: (abs(r - reference), r))
