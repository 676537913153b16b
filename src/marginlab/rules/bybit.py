"""Bybit USDT perpetuals (classic account, isolated-margin help-centre formula).

Sources (taken from ``shared/reference/exchange-rules.md`` §2, §9, checked 2026-11-25; that file quotes them):

* Isolated liquidation price, maintenance margin **at the entry price** and the three published examples
  (19,700; 23,300; 19,900):
  https://testnet.bybit.com/en-US/help-center/s/article/Liquidation-Price-USDT-Contract .
  ``LP = Entry -/+ (IM - MM + extra margin) / size`` with ``MM = size * Entry * MMR - deduction``; no fee term
  in the classic formula (the Unified Trading Account adds a fee to close, not modelled here).
* Bankruptcy price (long ``Entry * (1 - IMR)``; example long 1 BTC @ 10,000 at 50x -> 9,800), summary of
  Bybit's page at https://mobie.io/faq/what-is-bybits-bankruptcy-price-how-can-i-calculate-it ; "the position
  will be settled at the bankruptcy price" (bankruptcy-style liquidation).
* Risk-limit tiers, ``MM = PV * MMR - deduction`` and the deduction recurrence:
  https://bybitglobal.com/en/announcement-info/margin-parameters ; BTCUSDT tier values from the help page
  https://www.fourbit.net/en/help-center/article/Maintenance-Margin-USDT-Contract (2,000,000 -> 0.5 %,
  2,600,000 -> 0.56 %) and from the ``GET /v5/market/risk-limit`` payload (newer layout: 300,000 / 0.33 % /
  150x, 2,000,000 / 0.5 % / 100x / deduction 510, 2,600,000 / 0.56 % / 90x / deduction 1,710) quoted in
  exchange-rules.md §2.4 (a third-party fixture, consistent with the recurrence). The bundled table is the
  newer layout; it ends at 2,600,000 USDT, where the documented data ends.
* Liquidation process (tiered/partial liquidation by FillOrKill down to the lower tier, then take-over at the
  bankruptcy price):
  https://help.bybit.com/hc/en-us/articles/900000167723-Liquidation-Process-USDT-Contract- .
* Margin mode switching: https://bybit-exchange.github.io/docs/v5/account/set-margin-mode (UTA, account level;
  the listed failure reasons include open positions and active orders) and
  ``POST /v5/position/switch-isolated`` (classic, per symbol).
* Fees 0.055 % taker / 0.02 % maker: Bybit's VIP 0 derivatives rates
  (https://www.bybit.com/en/help-center/article/Trading-Fee-Structure), not in exchange-rules.md and not
  re-checked in this session.

Mode-switch reasoning: exchange-rules.md §9 says the UTA switch is account-level "with conditions" and the
documented rejection reasons of ``set-margin-mode`` include "no positions" / "no active orders"; the classic
per-symbol switch carries no documented permission to convert an open position. We therefore model the
conservative policy ``FLAT_ONLY`` (as on Binance): a symbol's margin mode changes only when it has no
position.
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

TAKER_FEE = Decimal("0.00055")
MAKER_FEE = Decimal("0.0002")
LIQUIDATION_FEE = Decimal(0)
CHECKED = "2026-11-25"
SNAPSHOT = (
    "Bybit BTCUSDT risk limits as quoted in exchange-rules.md §2.4 (GET /v5/market/risk-limit, newer layout; "
    f"checked {CHECKED}); ETHUSDT approximate (BTCUSDT tiers reused)"
)

# (floor, cap, mmr, max leverage); deductions follow the recurrence (0, 510, 1,710 as in the payload).
BTCUSDT_BANDS: tuple[tuple[Decimal, Decimal | None, Decimal, Decimal], ...] = (
    (Decimal(0), Decimal(300_000), Decimal("0.0033"), Decimal(150)),
    (Decimal(300_000), Decimal(2_000_000), Decimal("0.005"), Decimal(100)),
    (Decimal(2_000_000), Decimal(2_600_000), Decimal("0.0056"), Decimal(90)),
)


def native_symbol(base: str, quote: str, settle: str) -> str:
    """Return Bybit's symbol for a unified market: ``BTC/USDT:USDT`` -> ``BTCUSDT``."""
    return f"{base}{quote}"


def _instrument(base: str, source: str) -> Instrument:
    return unrounded_instrument(
        symbol=native_symbol(base, "USDT", "USDT"),
        base=base,
        settle="USDT",
        tiers=TierTable.from_rates(BTCUSDT_BANDS, source=source),
        taker_fee=TAKER_FEE,
        maker_fee=MAKER_FEE,
        liquidation_fee=LIQUIDATION_FEE,
    )


@cache
def venue() -> Venue:
    """Return the Bybit USDT-perpetual (classic) rule set with the documented BTCUSDT risk limits."""
    instruments = {
        "BTCUSDT": _instrument(
            "BTC", f"Bybit BTCUSDT risk limits (exchange-rules.md §2.4, checked {CHECKED})"
        ),
        "ETHUSDT": _instrument(
            "ETH", "APPROXIMATE: Bybit BTCUSDT risk limits reused for ETHUSDT (no ETHUSDT tiers documented)"
        ),
    }
    return Venue(
        name="bybit",
        title="Bybit USDT perpetual (classic)",
        maintenance_basis=MaintenanceBasis.ENTRY,
        fee_in_liquidation=False,
        liquidation_style=LiquidationStyle.BANKRUPTCY,
        mode_switch=ModeSwitchPolicy.FLAT_ONLY,
        remove_margin_cap=RemoveMarginCap.INITIAL_MARGIN,
        partial_liquidation=True,
        default_leverage=Decimal(10),
        supports_hedge=True,
        taker_fee=TAKER_FEE,
        maker_fee=MAKER_FEE,
        liquidation_fee=LIQUIDATION_FEE,
        instruments=instruments,
        native_symbol=native_symbol,
        tier_snapshot=SNAPSHOT,
        sources=(
            Source(
                title="Liquidation Price (USDT Contract), isolated formula and examples",
                url="https://testnet.bybit.com/en-US/help-center/s/article/Liquidation-Price-USDT-Contract",
                checked=CHECKED,
            ),
            Source(
                title="Bankruptcy price (summary of Bybit's page)",
                url="https://mobie.io/faq/what-is-bybits-bankruptcy-price-how-can-i-calculate-it",
                checked=CHECKED,
            ),
            Source(
                title="Margin parameters: MM deduction recurrence",
                url="https://bybitglobal.com/en/announcement-info/margin-parameters",
                checked=CHECKED,
            ),
            Source(
                title="Maintenance Margin (USDT Contract): BTCUSDT tiers",
                url="https://www.fourbit.net/en/help-center/article/Maintenance-Margin-USDT-Contract",
                checked=CHECKED,
            ),
            Source(
                title="Liquidation Process (USDT Contract)",
                url="https://help.bybit.com/hc/en-us/articles/900000167723-Liquidation-Process-USDT-Contract-",
                checked=CHECKED,
            ),
            Source(
                title="Set margin mode (v5 API)",
                url="https://bybit-exchange.github.io/docs/v5/account/set-margin-mode",
                checked=CHECKED,
            ),
        ),
        notes=(
            "Classic-account isolated formula: maintenance margin is evaluated at the entry price and no fee"
            " to close enters the liquidation price; the Unified Trading Account (fee to close inside IM and"
            " MM) is not modelled.",
            "ETHUSDT tiers are approximate: Bybit's BTCUSDT risk limits reused (no ETHUSDT tiers "
            "documented).",
            "The tier tables end at 2,600,000 USDT, where the documented data ends; larger positions are "
            "rejected as beyond the last tier.",
            "Fees (0.055 % taker / 0.02 % maker, VIP 0) are approximate: not re-checked against Bybit's "
            "page.",
            "The margin-mode policy FLAT_ONLY is an inference from the documented rejection reasons (see the"
            " module docstring), not an explicit rule of the classic account.",
            "No separate liquidation fee: the position is taken over at the bankruptcy price and the "
            "remaining margin goes to the insurance fund.",
            "Default leverage 10x is an approximate modelling default.",
            "Tick and lot sizes are not bundled (1e-8, i.e. no rounding).",
        ),
    )
