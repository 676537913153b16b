"""Binance USDⓈ-M perpetuals.

Sources (checked 2026-11-25 against ``shared/reference/exchange-rules.md`` §1, which quotes them):

* Liquidation price, cross and isolated, one-way and hedge; bracket rule (tier at the liquidation price):
  https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93 . No fee term in the formula.
* Maintenance margin ``notional * MMR - cum`` and the cum recurrence: same FAQ, and
  https://www.binance.com/en/futures/trading-rules/perpetual/portfolio-margin/notional-limit .
* Liquidation process (mark price triggers; "Smart Liquidation" first reduces the position to a lower tier;
  otherwise taken over at the bankruptcy price, remaining collateral to the insurance fund; ADL last):
  https://www.binance.com/en-NZ/support/faq/360033525271 .
* Liquidation fee rate: ``liquidationFee`` of ``GET /fapi/v1/exchangeInfo`` ("0.012500" for BTCUSDT).
* Max removable isolated margin: https://www.binance.com/en-NZ/support/faq/360038447311 .
* Margin mode cannot change with an open position or order:
  https://www.binance.com/en/support/articles/360038075852 (all symbols default to cross).
* Fees: 0.05 % taker / 0.02 % maker, the regular-user (VIP 0) USDⓈ-M rates on Binance's fee schedule
  https://www.binance.com/en/fee/futureFee (not re-checked on the page in this session).
* Multi-Assets mode (shared collateral, haircuts, bid/ask rates):
  ``data/binance_multi_assets_2021-05-28.json`` and :mod:`marginlab.domain.collateral`, which cite the
  FAQ, announcement and information pages.
* Tiers: the 2026-09 snapshot of ``/fapi/v1/leverageBracket`` in ccxt format (freqtrade 2026.9 package file
  ``freqtrade/exchange/binance_leverage_tiers.json``), 907 markets, bundled in ``data/``.
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
from marginlab.domain.venue import Source, Venue
from marginlab.rules.base import instruments_from_ccxt, read_bundled_json, tier_rows
from marginlab.rules.collateral import load_collateral_table

TAKER_FEE = Decimal("0.0005")
MAKER_FEE = Decimal("0.0002")
LIQUIDATION_FEE = Decimal("0.0125")
TIER_FILE = "binance_usdm_tiers_2026-09.json.gz"
MULTI_ASSETS_FILE = "binance_multi_assets_2021-05-28.json"

# (tick size, lot size) of the majors: PRICE_FILTER tickSize / LOT_SIZE stepSize of GET /fapi/v1/exchangeInfo
# as commonly published; NOT re-checked against the live endpoint in this session (2026-11-25, no network), so
# treat them as approximate. They only round displayed prices and `notional` sizes. Other symbols are not
# rounded (1e-8) because the tier snapshot carries no filters.
SPECS = {
    "BTCUSDT": (Decimal("0.1"), Decimal("0.001")),
    "ETHUSDT": (Decimal("0.01"), Decimal("0.001")),
    "BNBUSDT": (Decimal("0.01"), Decimal("0.01")),
    "SOLUSDT": (Decimal("0.01"), Decimal("1")),
    "XRPUSDT": (Decimal("0.0001"), Decimal("0.1")),
    "DOGEUSDT": (Decimal("0.00001"), Decimal("1")),
}


def native_symbol(base: str, quote: str, settle: str) -> str:
    """Return Binance's symbol for a unified market: ``BTC/USDT:USDT`` -> ``BTCUSDT``."""
    return f"{base}{quote}"


@cache
def venue() -> Venue:
    """Return the Binance USDⓈ-M rule set with the bundled 2026-09 tiers."""
    doc = read_bundled_json(TIER_FILE)
    snapshot = f"Binance leverageBracket snapshot {doc['snapshot']}"
    markets = {unified: tier_rows(rows) for unified, rows in doc["markets"].items()}
    return Venue(
        name="binance",
        title="Binance USDⓈ-M",
        maintenance_basis=MaintenanceBasis.LIQUIDATION_PRICE,
        fee_in_liquidation=False,
        liquidation_style=LiquidationStyle.BANKRUPTCY,
        mode_switch=ModeSwitchPolicy.FLAT_ONLY,
        remove_margin_cap=RemoveMarginCap.BINANCE,
        partial_liquidation=True,
        default_leverage=Decimal(20),
        supports_hedge=True,
        taker_fee=TAKER_FEE,
        maker_fee=MAKER_FEE,
        liquidation_fee=LIQUIDATION_FEE,
        instruments=instruments_from_ccxt(
            markets,
            source=snapshot,
            native_symbol=native_symbol,
            taker_fee=TAKER_FEE,
            maker_fee=MAKER_FEE,
            liquidation_fee=LIQUIDATION_FEE,
            specs=SPECS,
        ),
        native_symbol=native_symbol,
        tier_snapshot=snapshot,
        collateral=load_collateral_table(MULTI_ASSETS_FILE),
        sources=(
            Source(
                title="How to Calculate Liquidation Price of USDⓈ-M Futures Contracts",
                url="https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93",
                checked="2026-11-25",
            ),
            Source(
                title="Liquidation Protocols",
                url="https://www.binance.com/en-NZ/support/faq/360033525271",
                checked="2026-11-25",
            ),
            Source(
                title="Maximum addable/removable isolated margin",
                url="https://www.binance.com/en-NZ/support/faq/360038447311",
                checked="2026-11-25",
            ),
            Source(
                title="Margin mode switching",
                url="https://www.binance.com/en/support/articles/360038075852",
                checked="2026-11-25",
            ),
        ),
        notes=(
            "Tick and lot sizes are bundled for BTC, ETH, BNB, SOL, XRP and DOGE only (approximate: not "
            "re-checked against exchangeInfo); other symbols are not rounded.",
            "The liquidation fee is BTCUSDT's published 1.25 % for every symbol.",
        ),
    )
