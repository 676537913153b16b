"""dYdX v4 (dYdX Chain) perpetuals, USDC-margined (``BTC-USD``): data in ``data/dydx.toml``, plus what is
dYdX's own: liquidity tiers in parts per million, and markets defined by their maintenance fraction alone.

Sources (checked 2026-11-25):

* Margin: ``dydxprotocol/v4-documentation:docs/pages/concepts/trading/margin.mdx`` (commit 35d58de6) — ``IMR =
  |S * P * I|``, ``MMR = |S * P * M|``, account value ``Q + sum(S_i * P_i)`` at the **oracle** price;
  liquidatable when account value < total MMR; the open-interest-based IMF scaling leaves the MMF unchanged.
  Every market is quoted in USD and settles in USDC: one cross pool per subaccount.
* Liquidations: ``dydxprotocol/v4-documentation:docs/pages/concepts/trading/liquidations.mdx`` (commit
  df2cc995) — isolated ``p' = (e - s*p) / (|s|*MMF - s)``, cross ``p' = (e - s*p - MMR_o) / (|s|*MMF - s)``;
  worked examples (short 3 ETH @ 3,000, e = 1,000, MMF 5 % -> 3,174.60; short 1.5 ETH @ 3,000 with 1,000 STRK
  @ 1.75 at MMF 10 % -> 3,380.95); maximum liquidation penalty 1.5 % to the insurance fund, the rest stays
  with the account. The formulas need each market's MMF only, never its IMF.
* Liquidity tiers: ``dydxprotocol/v4-chain:protocol/scripts/genesis/sample_pregenesis.json`` (commit
  012df2d4): Large-Cap ``initial_margin_ppm`` 50,000, ``maintenance_fraction_ppm`` 600,000 (IMF 5 %, MMF 3 %);
  Mid-Cap 100,000 / 500,000 (IMF 10 %, MMF 5 %); Long-Tail 200,000 / 500,000 (IMF 20 %, MMF 10 %); BTC-USD and
  ETH-USD in Large-Cap, SOL-USD, DOGE-USD and XRP-USD in Mid-Cap. The maintenance fraction is a fraction of
  the IMF (``maintenance_fraction_ppm``: "the fraction of the initial-margin that the maintenance-margin is").
* Fees: ``dydxprotocol/v4-chain:protocol/app/testdata/default_genesis_state.json`` (commit 012df2d4) fee tier
  1, ``taker_fee_ppm`` 500, ``maker_fee_ppm`` -110.
* Isolated positions are child subaccounts (``dydxprotocol/v4-documentation``
  ``docs/pages/concepts/trading/isolated-positions.md``): one position each, no hedge mode.

Mode-switch reasoning: dYdX has no margin-mode switch. "Isolated" is a frontend convention — the position
lives in its own child subaccount — so an open position cannot be moved between cross and isolated; it must be
closed and reopened. We therefore model ``FLAT_ONLY``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import Any

from marginlab.domain.tiers import TierTable
from marginlab.rules.spec import VenueSpec, number

PPM = Decimal(1_000_000)
ONE = Decimal(1)


def _fractions(table: Mapping[str, Any]) -> tuple[Decimal, Decimal]:
    imf = number(table["initial_margin_ppm"]) / PPM
    return imf, imf * number(table["maintenance_fraction_ppm"]) / PPM


def fractions(liquidity_tier: str) -> tuple[Decimal, Decimal]:
    """Return (IMF, MMF) of a bundled liquidity tier; the MMF is ``IMF * maintenance_fraction``."""
    return _fractions(SPEC.doc["tables"][liquidity_tier])


def liquidity_tier(table: Mapping[str, Any]) -> TierTable:
    """Return the flat table of a ``kind = "liquidity-tier"`` entry: MMR = MMF, max leverage = 1 / IMF."""
    imf, mmf = _fractions(table)
    max_leverage = ONE / imf
    if max_leverage == max_leverage.to_integral_value():
        max_leverage = max_leverage.quantize(ONE)
    return TierTable.flat(mmr=mmf, max_leverage=max_leverage, source=table["source"])


def derive_rates(
    symbol: str, mmr: Decimal | None, max_leverage: Decimal | None, bundled_max: Decimal | None
) -> tuple[Decimal | None, Decimal | None]:
    """Complete a market's (mmr, max leverage): the MMF alone defines a dYdX market's liquidation.

    The liquidation formulas (liquidations.mdx) use the MMF only; the maximum leverage (1 / IMF) only bounds
    the opening leverage. Without it, the bundled one stays, else ``1 / mmr`` bounds it: IMF >= MMF on dYdX
    (the maintenance fraction is at most 1), so no valid opening leverage exceeds it.
    """
    if max_leverage is None:
        max_leverage = bundled_max if bundled_max is not None else (ONE / mmr if mmr else None)
    return mmr, max_leverage


SPEC = VenueSpec.read("dydx", tables={"liquidity-tier": liquidity_tier}, derive_rates=derive_rates)
native_symbol = SPEC.native_symbol
venue = cache(SPEC.venue)
