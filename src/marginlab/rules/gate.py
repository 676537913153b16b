"""Gate USDT-margined perpetual futures (``BTC_USDT``).

Sources (taken from ``shared/reference/exchange-rules.md`` §7 and §9, checked 2026-11-25; that file quotes
them):

* Liquidation price ``(Entry -/+ Margin / Contract Multiplier / Size) / [1 -/+ (MMR + Taker Rate)]`` ("-"
  long, "+" short): Gate support answer https://www.gatenode.pro/post/status/3870211 , cited by freqtrade
  (``freqtrade/freqtrade:freqtrade/exchange/exchange.py``) as
  https://www.gate.io/help/futures/futures/27724/liquidation-price-bankruptcy-price . The taker fee enters the
  liquidation price; no maintenance deduction.
* Liquidation process (mark price triggers; isolated: position margin incl. uPnL reaches MM; cross: whole
  balance; market close, then insurance fund, then ADL):
  https://gate.tv/en/help/futures/perpetual/22159/liquidation-process .
* Margin mode in the API: ``leverage = 0`` means cross (with ``cross_leverage_limit``), a non-zero leverage
  switches to isolated, through the *position* leverage endpoint (gateio/gateapi-python issue #117).

Mode-switch reasoning: Gate selects cross or isolated by updating the leverage of the position itself (``POST
/futures/usdt/positions/{contract}/leverage``), an operation defined on an existing position, and
exchange-rules.md §9 records no prohibition. We therefore model ``ANYTIME``: switching with a position open
moves its initial margin between the cross wallet and the position. This is an inference, noted below.

Tiers: exchange-rules.md gives no Gate risk-limit table. The bundled BTC_USDT and ETH_USDT use one flat,
**approximate** tier (MMR 0.5 %, 100x), the tier-1 values Bybit documents for BTCUSDT (exchange-rules.md
§2.4), until Gate's ``risk_limit_tiers`` are loaded (``--tiers``). Fees 0.05 % taker / 0.02 % maker are Gate's
regular-user futures rates (https://www.gate.io/fee), not in exchange-rules.md and not re-checked in this
session.
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
MAKER_FEE = Decimal("0.0002")
LIQUIDATION_FEE = Decimal(0)
CHECKED = "2026-11-25"
DEFAULT_MMR = Decimal("0.005")
DEFAULT_MAX_LEVERAGE = Decimal(100)
SNAPSHOT = (
    "APPROXIMATE default, no Gate tiers in the reference: one tier MMR 0.5 %, 100x "
    f"(Bybit BTCUSDT tier 1, exchange-rules.md §2.4, checked {CHECKED})"
)


def native_symbol(base: str, quote: str, settle: str) -> str:
    """Return Gate's contract name for a unified market: ``BTC/USDT:USDT`` -> ``BTC_USDT``."""
    return f"{base}_{quote}"


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
    """Return the Gate USDT-futures rule set (approximate flat tiers)."""
    return Venue(
        name="gate",
        title="Gate USDT perpetual futures",
        maintenance_basis=MaintenanceBasis.LIQUIDATION_PRICE,
        fee_in_liquidation=True,
        liquidation_style=LiquidationStyle.BANKRUPTCY,
        mode_switch=ModeSwitchPolicy.ANYTIME,
        remove_margin_cap=RemoveMarginCap.INITIAL_MARGIN,
        partial_liquidation=True,
        default_leverage=Decimal(10),
        supports_hedge=True,
        taker_fee=TAKER_FEE,
        maker_fee=MAKER_FEE,
        liquidation_fee=LIQUIDATION_FEE,
        instruments={f"{b}_USDT": _instrument(b) for b in ("BTC", "ETH")},
        native_symbol=native_symbol,
        tier_snapshot=SNAPSHOT,
        sources=(
            Source(
                title="Liquidation price / bankruptcy price (Gate support answer)",
                url="https://www.gatenode.pro/post/status/3870211",
                checked=CHECKED,
            ),
            Source(
                title="Liquidation price and bankruptcy price (as cited by freqtrade)",
                url="https://www.gate.io/help/futures/futures/27724/liquidation-price-bankruptcy-price",
                checked=CHECKED,
            ),
            Source(
                title="Liquidation process",
                url="https://gate.tv/en/help/futures/perpetual/22159/liquidation-process",
                checked=CHECKED,
            ),
            Source(
                title="leverage=0 means cross, non-zero isolated (issue #117)",
                url="https://github.com/gateio/gateapi-python/issues/117",
                checked=CHECKED,
            ),
            Source(
                title="freqtrade dry_run_liquidation_price (Gate and OKX)",
                url="freqtrade/freqtrade:freqtrade/exchange/exchange.py",
                checked=CHECKED,
            ),
        ),
        notes=(
            "Tiers are approximate: one flat tier (MMR 0.5 %, 100x) for BTC_USDT and ETH_USDT; Gate's "
            "risk-limit tiers are not in the reference; load real tiers for real numbers.",
            "The margin-mode policy ANYTIME is an inference from Gate's position-leverage API (see the "
            "module docstring), not a documented permission.",
            "Hedge (two-way) cross mode, where only the net loss counts, is not modelled separately.",
            "No separate liquidation fee: bankruptcy-style liquidation, the remaining margin goes to the "
            "insurance fund; approximate.",
            "Fees (0.05 % taker / 0.02 % maker) are approximate: not re-checked on Gate's fee page.",
            "Default leverage 10x is an approximate modelling default.",
            "Quantities are in base units (contract multiplier 1); tick and lot sizes are not bundled.",
        ),
    )
