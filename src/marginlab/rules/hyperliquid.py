"""Hyperliquid perpetuals (USDC-margined, one-way only): data in ``data/hyperliquid.toml``, plus the one rule
that is Hyperliquid's own: a market's maintenance rate is defined by its maximum leverage.

Sources (checked 2026-11-25):

* Liquidation rules: https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations — maintenance margin
  is half of the initial margin at max leverage; the mark price triggers; no clearance fee; backstop
  liquidation at 2/3 of MM. Liquidation price
  ``liq = price - side * margin_available / position_size / (1 - l * side)``, ``l = 1 / (2 * max leverage)``,
  ``margin_available = account_value (cross) or isolated_margin (isolated) - maintenance_margin_required``;
  a cross liquidation price may be null.
* Margin tiers: https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers — ``mmr(tier n) =
  1 / (2 * max leverage of tier n)``, ``deduction_n = deduction_{n-1} + lower_bound_n * (mmr_n - mmr_{n-1})``.
  Mainnet: BTC 0-150M 40x / >150M 20x; ETH 0-100M 25x / >100M 15x; SOL 0-70M 20x / 10x; XRP 0-40M 20x / 10x;
  many alts 0-20M 10x / >20M 5x (the alt default, used here for DOGE and BNB).
* Margining: https://hyperliquid.gitbook.io/Hyperliquid-docs/trading/margining — cross is the default;
  isolated margin can be added/removed; margin may be removed only while ``max(initial margin, 10 % of
  position value)`` remains (``RemoveMarginCap.INITIAL_OR_10PCT``).
* Official reference code ``hyperliquid-dex/ts-examples:examples/LiquidationPx.tsx`` (maintenance leverage =
  2 x max leverage) and ``freqtrade/freqtrade:freqtrade/exchange/hyperliquid.py::dry_run_liquidation_price``.
* Partial liquidation (20 % of positions above 100k USDC, 30 s cooldown):
  https://docs.tings.xyz/core-mechanics/liquidations (HIP-3 copy of the HL text).
* Margin-mode switching: ``MetaMask/core`` PR #10136 (https://github.com/MetaMask/core/pull/10136) rejects
  changing the margin mode of an asset with an open position or order. Hyperliquid's docs do not state the
  rule, so the policy ``FLAT_ONLY`` rests on that client guard.
* One-way only: the API's position ``type`` is ``oneWay``; no hedge mode.
* Fees 0.045 % taker / 0.015 % maker: Hyperliquid's base-tier perp rates
  (https://hyperliquid.gitbook.io/hyperliquid-docs/trading/fees), not re-checked in this session.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import Any

from marginlab.domain.tiers import TierTable
from marginlab.errors import InputError
from marginlab.rules.spec import VenueSpec, number

ONE = Decimal(1)


def maintenance_rate(max_leverage: Decimal) -> Decimal:
    """Return the maintenance margin rate of a tier: half the initial margin at its max leverage."""
    return ONE / (2 * max_leverage)


def margin_tiers(table: Mapping[str, Any]) -> TierTable:
    """Return a ``kind = "margin-tiers"`` table: rows of ``[lower bound (USDC notional), max leverage]``.

    Each tier's MMR is :func:`maintenance_rate` of its leverage, the last tier is open-ended and the
    deductions follow Hyperliquid's recurrence (``TierTable.from_rates``).
    """
    rows = [(number(bound), number(leverage)) for bound, leverage in table["rows"]]
    caps: list[Decimal | None] = [bound for bound, _ in rows[1:]]
    caps.append(None)
    bands = [
        (bound, cap, maintenance_rate(leverage), leverage)
        for (bound, leverage), cap in zip(rows, caps, strict=True)
    ]
    return TierTable.from_rates(bands, source=table["source"])


def derive_rates(
    symbol: str, mmr: Decimal | None, max_leverage: Decimal | None, bundled_max: Decimal | None
) -> tuple[Decimal | None, Decimal | None]:
    """Complete a market's (mmr, max leverage): on Hyperliquid each defines the other, ``mmr = 1 / (2 L)``.

    Source: https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers (checked 2026-11-25). A
    given ``max_leverage`` alone (an asset's value at the time, or a HIP-3 market) yields its MMR; a given
    ``mmr`` alone yields ``1 / (2 mmr)``. Both given are taken as given.

    Raises
    ------
    InputError
        If ``mmr`` is 0 and no ``max_leverage`` is given (no leverage corresponds to it).
    """
    if mmr is None and max_leverage is not None:
        return maintenance_rate(max_leverage), max_leverage
    if max_leverage is None and mmr is not None:
        if mmr == 0:
            raise InputError(f"{symbol}.mmr", mmr, "a rate > 0 (Hyperliquid: max leverage = 1 / (2 * mmr))")
        return mmr, ONE / (2 * mmr)
    return mmr, max_leverage


SPEC = VenueSpec.read("hyperliquid", tables={"margin-tiers": margin_tiers}, derive_rates=derive_rates)
native_symbol = SPEC.native_symbol
venue = cache(SPEC.venue)
