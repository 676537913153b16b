"""Bitget USDT-M perpetual futures (``BTCUSDT``).

Sources (taken from ``shared/reference/exchange-rules.md`` §5 and §9, checked 2026-11-25; that file quotes
them):

* Isolated estimated liquidation price ``[position margin - size * entry * direction] / [size * (MMR +
  TakerFeeRatio - direction)]``: https://www.bgportable.com/support/articles/12560603808759 (2025-09-18). A
  later version adds a "pre-calculated offset" to the numerator
  (https://www.bitgetpro.site/ar/support/articles/12560603808759), not modelled. freqtrade implements the same
  formula (``freqtrade/freqtrade:freqtrade/exchange/bitget.py``).
* Position tiers (isolated: per direction; cross: long and short summed; liquidation when ``(margin + uPnL) /
  position value <= MMR``): https://www.bitget.com/support/articles/360052911052 .
* Position margin at the mark price since 2025-09:
  https://www.bitgetapp.com/id/support/articles/12560603838731 .

Mode-switch reasoning: exchange-rules.md §9 marks Bitget's rule as "not established". Lacking a documented
permission to convert an open position, we model the conservative ``FLAT_ONLY`` (Binance's documented rule),
so the model never performs a switch the venue may refuse.

Tiers: exchange-rules.md gives no Bitget tier table. BTCUSDT and ETHUSDT use one flat, **approximate** tier
(MMR 0.5 %, 100x), the tier-1 values Bybit documents for BTCUSDT (exchange-rules.md §2.4). Fees 0.06 % taker /
0.02 % maker are Bitget's VIP 0 futures rates (https://www.bitget.com/fee), not in exchange-rules.md and not
re-checked in this session (freqtrade's formula defaults to a 0.1 % taker fee).
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

TAKER_FEE = Decimal("0.0006")
MAKER_FEE = Decimal("0.0002")
LIQUIDATION_FEE = Decimal(0)
CHECKED = "2026-11-25"
DEFAULT_MMR = Decimal("0.005")
DEFAULT_MAX_LEVERAGE = Decimal(100)
SNAPSHOT = (
    "APPROXIMATE default, no Bitget tiers in the reference: one tier MMR 0.5 %, 100x "
    f"(Bybit BTCUSDT tier 1, exchange-rules.md §2.4, checked {CHECKED})"
)


def native_symbol(base: str, quote: str, settle: str) -> str:
    """Return Bitget's symbol for a unified market: ``BTC/USDT:USDT`` -> ``BTCUSDT``."""
    return f"{base}{quote}"


def _instrument(base: str) -> Instrument:
    return unrounded_instrument(
        symbol=native_symbol(base, "USDT", "USDT"),
        base=base,
        settle="USDT",
        tiers=TierTable.flat(mmr=DEFAULT_MMR, max_leverage=DEFAULT_MAX_LEVERAGE, source=SNAPSHOT),
        taker_fee=TAKER_FEE,
        maker_fee=MAKER_FEE,
        liquidation_fee=LIQUIDATION_FEE,
    )


@cache
def venue() -> Venue:
    """Return the Bitget USDT-M rule set (approximate flat tiers)."""
    return Venue(
        name="bitget",
        title="Bitget USDT-M perpetual futures",
        maintenance_basis=MaintenanceBasis.LIQUIDATION_PRICE,
        fee_in_liquidation=True,
        liquidation_style=LiquidationStyle.BANKRUPTCY,
        mode_switch=ModeSwitchPolicy.FLAT_ONLY,
        remove_margin_cap=RemoveMarginCap.INITIAL_MARGIN,
        partial_liquidation=True,
        default_leverage=Decimal(10),
        supports_hedge=True,
        taker_fee=TAKER_FEE,
        maker_fee=MAKER_FEE,
        liquidation_fee=LIQUIDATION_FEE,
        instruments={f"{b}USDT": _instrument(b) for b in ("BTC", "ETH")},
        native_symbol=native_symbol,
        tier_snapshot=SNAPSHOT,
        sources=(
            Source(
                title="Bitget futures: Estimated liquidation price (2025-09-18)",
                url="https://www.bgportable.com/support/articles/12560603808759",
                checked=CHECKED,
            ),
            Source(
                title="Estimated liquidation price, later version with offset",
                url="https://www.bitgetpro.site/ar/support/articles/12560603808759",
                checked=CHECKED,
            ),
            Source(
                title="Position tier rules",
                url="https://www.bitget.com/support/articles/360052911052",
                checked=CHECKED,
            ),
            Source(
                title="Position margin at mark price (2025-09 change)",
                url="https://www.bitgetapp.com/id/support/articles/12560603838731",
                checked=CHECKED,
            ),
            Source(
                title="freqtrade dry_run_liquidation_price for Bitget",
                url="freqtrade/freqtrade:freqtrade/exchange/bitget.py",
                checked=CHECKED,
            ),
        ),
        notes=(
            "Tiers are approximate: one flat tier (MMR 0.5 %, 100x) for BTCUSDT and ETHUSDT; Bitget's tiers "
            "are not in the reference; load real tiers for real numbers.",
            "The cross-margin formulas (hedge and one-way) are only partly documented; cross liquidation "
            "uses the general condition (wallet + other uPnL - other MM), approximate.",
            "The later formula's 'pre-calculated offset' is not modelled.",
            "The margin-mode policy FLAT_ONLY is a conservative choice: the rule is not established.",
            "No separate liquidation fee: bankruptcy-style liquidation; approximate.",
            "Fees (0.06 % taker / 0.02 % maker, VIP 0) are approximate: not re-checked on Bitget's fee page.",
            "Default leverage 10x is an approximate modelling default.",
            "Tick and lot sizes are not bundled (1e-8, i.e. no rounding).",
        ),
    )
