"""Tiered maintenance-margin tables (Binance brackets, Bybit risk limits, Hyperliquid and OKX tiers).

A tier holds the positions whose size lies in ``(floor, cap]`` (the first tier includes 0). The maintenance
margin of a position in tier ``n`` is ``size_value * mmr_n - maintenance_amount_n``. On Binance, Bybit and
Hyperliquid the maintenance amount follows ``cum_n = cum_{n-1} + floor_n * (mmr_n - mmr_{n-1})``, which
makes the requirement continuous in notional; :meth:`TierTable.from_rates` builds a table that way.

Tiers are looked up by **notional** (quote value) or, for OKX, by **contracts**; never by margin.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise

from marginlab.domain.precision import ZERO
from marginlab.errors import RuleSetError


def _plain(number: Decimal) -> str:
    """Return ``number`` without trailing zeros or exponent (``150.0`` -> ``150``), for display."""
    return format(number.normalize(), "f")


class TierBasis(StrEnum):
    """Quantity a tier table is denominated in."""

    NOTIONAL = "notional"
    CONTRACTS = "contracts"


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskTier:
    """One maintenance-margin tier.

    Parameters
    ----------
    floor, cap : Decimal
        Size band ``(floor, cap]`` in the table's basis (quote notional or contracts); ``cap`` is None for an
        open-ended last tier.
    mmr : Decimal
        Maintenance margin rate as a fraction (0.004 == 0.4 %).
    maintenance_amount : Decimal
        Deduction ("cum") in the settlement asset, >= 0.
    max_leverage : Decimal
        Highest leverage allowed for a position in this tier.
    """

    floor: Decimal
    cap: Decimal | None
    mmr: Decimal
    maintenance_amount: Decimal
    max_leverage: Decimal

    def contains(self, size: Decimal) -> bool:
        """Return whether ``size`` (in the table's basis) falls into this tier."""
        return (size > self.floor or self.floor == ZERO) and (self.cap is None or size <= self.cap)


@dataclass(frozen=True, slots=True)
class TierTable:
    """An ordered, gap-free list of tiers with its provenance.

    Parameters
    ----------
    tiers : tuple of RiskTier
        Contiguous tiers, first floor 0, ascending.
    basis : TierBasis
        Whether sizes are quote notional or contracts.
    source : str
        Where the table comes from and its snapshot date, shown to users.
    """

    tiers: tuple[RiskTier, ...]
    basis: TierBasis = TierBasis.NOTIONAL
    source: str = ""

    def __repr__(self) -> str:
        # One line instead of every tier: venues hold hundreds of tables.
        count = f"{len(self.tiers)} tier{'s' if len(self.tiers) > 1 else ''}"
        rates = {self.tiers[0].mmr, self.tiers[-1].mmr}
        mmr = "..".join(_plain(r) for r in sorted(rates))
        return (
            f"<TierTable {count} by {self.basis}, mmr {mmr}, max leverage {_plain(self.max_leverage)}, "
            f"{self.source or 'unnamed'}>"
        )

    def __post_init__(self) -> None:
        if not self.tiers:
            raise RuleSetError(f"tier table ({self.source or 'unnamed'}) has no tiers")
        if self.tiers[0].floor != ZERO:
            raise RuleSetError(f"first tier must start at 0, was {self.tiers[0].floor}")
        for lower, upper in pairwise(self.tiers):
            if lower.cap is None or lower.cap != upper.floor:
                raise RuleSetError(
                    f"tier table ({self.source or 'unnamed'}) has a gap: cap {lower.cap} "
                    f"followed by floor {upper.floor}"
                )
        for tier in self.tiers:
            if tier.cap is not None and tier.cap < tier.floor:
                raise RuleSetError(
                    f"tier table ({self.source or 'unnamed'}) is not ascending: floor {tier.floor}, "
                    f"cap {tier.cap}"
                )
            if not (ZERO <= tier.mmr < Decimal(1)):
                raise RuleSetError(f"tier mmr must be in [0, 1), was {tier.mmr}")
            if tier.max_leverage <= ZERO:
                raise RuleSetError(f"tier max_leverage must be > 0, was {tier.max_leverage}")

    @classmethod
    def from_rates(
        cls,
        bands: Sequence[tuple[Decimal, Decimal | None, Decimal, Decimal]],
        *,
        basis: TierBasis = TierBasis.NOTIONAL,
        source: str = "",
    ) -> TierTable:
        """Build a table from ``(floor, cap, mmr, max_leverage)`` bands, deriving the maintenance amounts.

        The deduction follows ``cum_n = cum_{n-1} + floor_n * (mmr_n - mmr_{n-1})`` (Binance FAQ
        b3c689c1f50a44cabb3a84e663b81d93; Bybit margin-parameters announcement; Hyperliquid margin tiers).
        """
        tiers: list[RiskTier] = []
        cum = ZERO
        previous_mmr: Decimal | None = None
        for floor, cap, mmr, max_leverage in bands:
            if previous_mmr is not None:
                cum += floor * (mmr - previous_mmr)
            tiers.append(
                RiskTier(
                    floor=floor,
                    cap=cap,
                    mmr=mmr,
                    maintenance_amount=cum,
                    max_leverage=max_leverage,
                )
            )
            previous_mmr = mmr
        return cls(tuple(tiers), basis=basis, source=source)

    @classmethod
    def flat(
        cls,
        *,
        mmr: Decimal,
        max_leverage: Decimal,
        maintenance_amount: Decimal = ZERO,
        source: str = "",
    ) -> TierTable:
        """Build a one-tier table (a custom instrument or a venue without tiers)."""
        tier = RiskTier(
            floor=ZERO,
            cap=None,
            mmr=mmr,
            maintenance_amount=maintenance_amount,
            max_leverage=max_leverage,
        )
        return cls((tier,), source=source)

    def follows_recurrence(self) -> bool:
        """Return whether every maintenance amount satisfies the cum recurrence exactly."""
        for lower, upper in pairwise(self.tiers):
            expected = lower.maintenance_amount + upper.floor * (upper.mmr - lower.mmr)
            if upper.maintenance_amount != expected:
                return False
        return True

    def tier_for(self, size: Decimal) -> RiskTier:
        """Return the tier holding ``size`` (absolute, in the table's basis).

        Raises
        ------
        RuleSetError
            If ``size`` lies beyond the last tier's cap.
        """
        size = abs(size)
        caps = [t.cap for t in self.tiers[:-1] if t.cap is not None]  # all but the last cap are set
        index = bisect_left(caps, size)
        tier = self.tiers[index]
        if tier.cap is not None and size > tier.cap:
            raise RuleSetError(
                f"position size {size} ({self.basis}) exceeds the largest tier cap {tier.cap}"
                f" of {self.source or 'the tier table'}"
            )
        return tier

    @property
    def max_leverage(self) -> Decimal:
        """Return the highest leverage of the table (that of the first tier)."""
        return max(t.max_leverage for t in self.tiers)

    def floors(self) -> tuple[Decimal, ...]:
        """Return the tier floors above 0, where the tier in force changes."""
        return tuple(t.floor for t in self.tiers[1:])
