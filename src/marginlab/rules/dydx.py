"""dYdX v4 (dYdX Chain) perpetuals, USDC-margined (``BTC-USD``).

Sources (checked 2026-11-25):

* Margin: ``dydxprotocol/v4-documentation:docs/pages/concepts/trading/margin.mdx`` (commit 35d58de6) — ``IMR =
  |S * P * I|``, ``MMR = |S * P * M|``, account value ``Q + sum(S_i * P_i)`` at the **oracle** price;
  liquidatable when account value < total MMR; the open-interest-based IMF scaling leaves the MMF unchanged.
* Liquidations: ``dydxprotocol/v4-documentation:docs/pages/concepts/trading/liquidations.mdx`` (commit
  df2cc995) — isolated ``p' = (e - s*p) / (|s|*MMF - s)``, cross ``p' = (e - s*p - MMR_o) / (|s|*MMF - s)``;
  worked examples (short 3 ETH @ 3,000, e = 1,000, MMF 5 % -> 3,174.60; short 1.5 ETH @ 3,000 with 1,000 STRK
  @ 1.75 at MMF 10 % -> 3,380.95); maximum liquidation penalty 1.5 % to the insurance fund, the rest stays
  with the account. Also summarised in ``shared/reference/exchange-rules.md`` §6 (commit 3e475b73,
  2026-04-22).
* Liquidity tiers: ``dydxprotocol/v4-chain:protocol/scripts/genesis/sample_pregenesis.json`` (commit
  012df2d4): Large-Cap ``initial_margin_ppm`` 50,000, ``maintenance_fraction_ppm`` 600,000 (IMF 5 %, MMF 3 %);
  Mid-Cap 100,000 / 500,000 (IMF 10 %, MMF 5 %); Long-Tail 200,000 / 500,000 (IMF 20 %, MMF 10 %); BTC-USD and
  ETH-USD in Large-Cap, SOL-USD, DOGE-USD and XRP-USD in Mid-Cap. The maintenance fraction is a fraction of
  the IMF (``maintenance_fraction_ppm``: "the fraction of the initial-margin that the maintenance-margin is").
* Fees: ``dydxprotocol/v4-chain:protocol/app/testdata/default_genesis_state.json`` (commit 012df2d4) fee tier
  1, ``taker_fee_ppm`` 500, ``maker_fee_ppm`` -110.
* Isolated positions are child subaccounts (``isolated-positions.md``, exchange-rules.md §6): one position
  each, no hedge mode.

Mode-switch reasoning: dYdX has no margin-mode switch. "Isolated" is a frontend convention — the position
lives in its own child subaccount — so an open position cannot be moved between cross and isolated; it must be
closed and reopened. We therefore model ``FLAT_ONLY``.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from marginlab.domain.enums import (
    LiquidationStyle,
    MaintenanceBasis,
    ModeSwitchPolicy,
    RemoveMarginCap,
)
from marginlab.domain.instrument import Instrument
from marginlab.domain.tiers import TierTable
from marginlab.domain.venue import Source, Venue
from marginlab.rules.base import unrounded_instrument

TAKER_FEE = Decimal("0.0005")
MAKER_FEE = Decimal("-0.00011")
LIQUIDATION_FEE = Decimal("0.015")
CHECKED = "2026-11-25"
PPM = Decimal(1_000_000)
SNAPSHOT = (
    "dYdX v4 liquidity tiers of dydxprotocol/v4-chain protocol/scripts/genesis/sample_pregenesis.json "
    f"(commit 012df2d4, read {CHECKED}); governance may have changed live values"
)

# name: (initial_margin_ppm, maintenance_fraction_ppm)
LIQUIDITY_TIERS: dict[str, tuple[int, int]] = {
    "Large-Cap": (50_000, 600_000),
    "Mid-Cap": (100_000, 500_000),
    "Long-Tail": (200_000, 500_000),
}
MARKETS: dict[str, str] = {
    "BTC": "Large-Cap",
    "ETH": "Large-Cap",
    "SOL": "Mid-Cap",
    "DOGE": "Mid-Cap",
    "XRP": "Mid-Cap",
}


def fractions(liquidity_tier: str) -> tuple[Decimal, Decimal]:
    """Return (IMF, MMF) of a liquidity tier; the MMF is ``IMF * maintenance_fraction``."""
    initial_ppm, maintenance_ppm = LIQUIDITY_TIERS[liquidity_tier]
    imf = Decimal(initial_ppm) / PPM
    return imf, imf * Decimal(maintenance_ppm) / PPM


def native_symbol(base: str, quote: str, settle: str) -> str:
    """Return dYdX's ticker for a unified market: ``BTC/USD:USDC`` -> ``BTC-USD``."""
    return f"{base}-USD"


def _instrument(base: str, liquidity_tier: str) -> Instrument:
    imf, mmf = fractions(liquidity_tier)
    max_leverage = 1 / imf
    if max_leverage == max_leverage.to_integral_value():
        max_leverage = max_leverage.quantize(Decimal(1))
    return unrounded_instrument(
        symbol=native_symbol(base, "USD", "USDC"),
        base=base,
        settle="USDC",
        tiers=TierTable.flat(mmr=mmf, max_leverage=max_leverage, source=f"{SNAPSHOT}: {liquidity_tier}"),
        taker_fee=TAKER_FEE,
        maker_fee=MAKER_FEE,
        liquidation_fee=LIQUIDATION_FEE,
    )


@cache
def venue() -> Venue:
    """Return the dYdX v4 rule set with the genesis liquidity tiers."""
    return Venue(
        name="dydx",
        title="dYdX v4 perpetuals",
        maintenance_basis=MaintenanceBasis.LIQUIDATION_PRICE,
        fee_in_liquidation=False,
        liquidation_style=LiquidationStyle.FEE,
        mode_switch=ModeSwitchPolicy.FLAT_ONLY,
        remove_margin_cap=RemoveMarginCap.INITIAL_MARGIN,
        partial_liquidation=False,
        default_leverage=Decimal(10),
        supports_hedge=False,
        taker_fee=TAKER_FEE,
        maker_fee=MAKER_FEE,
        liquidation_fee=LIQUIDATION_FEE,
        instruments={native_symbol(b, "USD", "USDC"): _instrument(b, t) for b, t in MARKETS.items()},
        native_symbol=native_symbol,
        tier_snapshot=SNAPSHOT,
        sources=(
            Source(
                title="Margining (IMR, MMR, account value, OI-based IMF)",
                url="dydxprotocol/v4-documentation:docs/pages/concepts/trading/margin.mdx",
                checked=CHECKED,
            ),
            Source(
                title="Liquidations (isolated and cross formulas, examples, 1.5 % penalty)",
                url="dydxprotocol/v4-documentation:docs/pages/concepts/trading/liquidations.mdx",
                checked=CHECKED,
            ),
            Source(
                title="Liquidity tiers and market assignment (sample pregenesis)",
                url="dydxprotocol/v4-chain:protocol/scripts/genesis/sample_pregenesis.json",
                checked=CHECKED,
            ),
            Source(
                title="Fee tiers (default genesis state)",
                url="dydxprotocol/v4-chain:protocol/app/testdata/default_genesis_state.json",
                checked=CHECKED,
            ),
        ),
        notes=(
            "Liquidity-tier fractions (Large-Cap IMF 5 %/MMF 3 %, Mid-Cap IMF 10 %/MMF 5 %) come from the "
            "sample pregenesis file; live mainnet values are set by governance and may differ: approximate.",
            "The open-interest-based IMF increase is not modelled (it changes initial, not maintenance, "
            "margin).",
            "The oracle price triggers liquidation on dYdX; the engine's mark price stands for it.",
            "dYdX has no leverage setting: initial margin is notional * IMF. Leverage here only sizes "
            "isolated margin; the maximum leverage is 1/IMF. Default leverage 10x is an approximate "
            "modelling default.",
            "The 1.5 % liquidation penalty is the documented maximum; the default genesis test file sets "
            "max_liquidation_fee_ppm 5,000 (0.5 %). Config-driven partial liquidation is not modelled.",
            "Fees are fee tier 1 of the default genesis (0.05 % taker, -0.011 % maker); approximate.",
            "Tick and lot sizes are not bundled (1e-8, i.e. no rounding).",
        ),
    )
