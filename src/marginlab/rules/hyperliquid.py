"""Hyperliquid perpetuals (USDC-margined, one-way only).

Sources (taken from ``shared/reference/exchange-rules.md`` §4 and §9, checked 2026-11-25; that file quotes
them):

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
* Margin-mode switching: ``MetaMask/core`` PR #10136 rejects changing the margin mode of an asset with an open
  position or order. Hyperliquid's docs do not state the rule, so the policy ``FLAT_ONLY`` rests on that
  client guard (exchange-rules.md §9: "apparently no").
* One-way only (``type: oneWay`` in exchange-rules.md §9): no hedge mode.
* Fees 0.045 % taker / 0.015 % maker: Hyperliquid's base-tier perp rates
  (https://hyperliquid.gitbook.io/hyperliquid-docs/trading/fees), not in exchange-rules.md and not
  re-checked in this session.
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

TAKER_FEE = Decimal("0.00045")
MAKER_FEE = Decimal("0.00015")
LIQUIDATION_FEE = Decimal(0)
CHECKED = "2026-11-25"
SNAPSHOT = (
    f"Hyperliquid mainnet margin tiers (margin-tiers docs via exchange-rules.md §4.1, checked {CHECKED})"
)
ONE = Decimal(1)

# (lower bound of the second tier in USDC, max leverage below it, max leverage above it)
MAINNET_TIERS: dict[str, tuple[Decimal, Decimal, Decimal]] = {
    "BTC": (Decimal(150_000_000), Decimal(40), Decimal(20)),
    "ETH": (Decimal(100_000_000), Decimal(25), Decimal(15)),
    "SOL": (Decimal(70_000_000), Decimal(20), Decimal(10)),
    "XRP": (Decimal(40_000_000), Decimal(20), Decimal(10)),
}
ALT_DEFAULT: tuple[Decimal, Decimal, Decimal] = (Decimal(20_000_000), Decimal(10), Decimal(5))
ALT_DEFAULT_COINS = ("DOGE", "BNB")


def maintenance_rate(max_leverage: Decimal) -> Decimal:
    """Return the maintenance margin rate of a tier: half the initial margin at its max leverage."""
    return ONE / (2 * max_leverage)


def tier_table(bound: Decimal, low_leverage: Decimal, high_leverage: Decimal, *, source: str) -> TierTable:
    """Return a two-tier table: ``low_leverage`` up to ``bound`` USDC of notional, ``high_leverage`` above.

    The deduction of the upper tier follows from Hyperliquid's recurrence (``TierTable.from_rates``).
    """
    return TierTable.from_rates(
        (
            (Decimal(0), bound, maintenance_rate(low_leverage), low_leverage),
            (bound, None, maintenance_rate(high_leverage), high_leverage),
        ),
        source=source,
    )


def native_symbol(base: str, quote: str, settle: str) -> str:
    """Return Hyperliquid's coin name for a unified market: ``BTC/USDC:USDC`` -> ``BTC``."""
    return base


def _instrument(coin: str, tiers: TierTable) -> Instrument:
    return unrounded_instrument(
        symbol=coin,
        base=coin,
        settle="USDC",
        tiers=tiers,
        taker_fee=TAKER_FEE,
        maker_fee=MAKER_FEE,
        liquidation_fee=LIQUIDATION_FEE,
    )


@cache
def venue() -> Venue:
    """Return the Hyperliquid rule set with the documented mainnet margin tiers."""
    instruments = {
        coin: _instrument(coin, tier_table(*bands, source=f"{SNAPSHOT}: {coin}"))
        for coin, bands in MAINNET_TIERS.items()
    }
    for coin in ALT_DEFAULT_COINS:
        instruments[coin] = _instrument(
            coin,
            tier_table(*ALT_DEFAULT, source=f"APPROXIMATE: Hyperliquid alt default tiers used for {coin}"),
        )
    return Venue(
        name="hyperliquid",
        title="Hyperliquid perpetuals",
        maintenance_basis=MaintenanceBasis.LIQUIDATION_PRICE,
        fee_in_liquidation=False,
        liquidation_style=LiquidationStyle.FEE,
        mode_switch=ModeSwitchPolicy.FLAT_ONLY,
        remove_margin_cap=RemoveMarginCap.INITIAL_OR_10PCT,
        partial_liquidation=False,
        default_leverage=Decimal(10),
        supports_hedge=False,
        taker_fee=TAKER_FEE,
        maker_fee=MAKER_FEE,
        liquidation_fee=LIQUIDATION_FEE,
        instruments=instruments,
        native_symbol=native_symbol,
        tier_snapshot=SNAPSHOT,
        sources=(
            Source(
                title="Liquidations (maintenance margin, liquidation price formula)",
                url="https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations",
                checked=CHECKED,
            ),
            Source(
                title="Margin tiers",
                url="https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers",
                checked=CHECKED,
            ),
            Source(
                title="Margining (isolated margin removal floor)",
                url="https://hyperliquid.gitbook.io/Hyperliquid-docs/trading/margining",
                checked=CHECKED,
            ),
            Source(
                title="Reference liquidation-price code",
                url="hyperliquid-dex/ts-examples:examples/LiquidationPx.tsx",
                checked=CHECKED,
            ),
            Source(
                title="Client guard: no margin-mode change with an open position (PR #10136)",
                url="https://github.com/MetaMask/core/pull/10136",
                checked=CHECKED,
            ),
            Source(
                title="Partial liquidation (HIP-3 copy of the HL text)",
                url="https://docs.tings.xyz/core-mechanics/liquidations",
                checked=CHECKED,
            ),
        ),
        notes=(
            "DOGE and BNB use Hyperliquid's documented alt default (0-20M 10x, >20M 5x): approximate, their "
            "own tiers are not in the reference.",
            "The margin-mode policy FLAT_ONLY rests on MetaMask/core's client guard (PR #10136); "
            "Hyperliquid's docs do not state it.",
            "Partial liquidation (20 % of positions above 100k USDC, 30 s cooldown) and the backstop "
            "liquidation at 2/3 of MM are not modelled: a liquidation closes the whole position at mark; "
            "approximate.",
            "The reference (ts-examples) keeps a floor max(accountValue - crossMMUsed + ..., ntl/leverage) "
            "on the cross account value; the solver uses the account value itself (approximate when that "
            "floor binds).",
            "Fees (0.045 % taker / 0.015 % maker, base tier) are approximate: not re-checked on HL's fee "
            "page.",
            "Default leverage 10x is an approximate modelling default (valid for every bundled coin); HL's "
            "default depends on the asset.",
            "Tick and lot sizes are not bundled (1e-8, i.e. no rounding).",
        ),
    )
