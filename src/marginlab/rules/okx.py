"""OKX USDT-margined perpetual swaps (``BTC-USDT-SWAP``).

Sources (taken from ``shared/reference/exchange-rules.md`` §3 and §9, checked 2026-11-25, unless dated
otherwise):

* Liquidation trigger (margin ratio 100 %: equity <= maintenance margin plus liquidation fees; cancellation,
  partial and/or full liquidation): https://okx.huicker.com/fr-fr/help/v-tiered-maintenance-margin-ratio-rules
  (republished copy of OKX "Tiered maintenance margin ratio rules", updated 2025-05-16).
* Isolated MM = position value (mark) x tier MMR; tiers counted in **contracts** per direction:
  https://tr.okx.com/help/tier (2024-05-16). ``GET /api/v5/public/position-tiers`` (``minSz, maxSz, mmr, imr,
  maxLever``); no maintenance deduction; ``ctVal`` of BTC-USDT-SWAP = 0.01 BTC.
* Perpetual isolated liquidation price as freqtrade implements it for OKX
  (``freqtrade/freqtrade:freqtrade/exchange/exchange.py::dry_run_liquidation_price``): ``long (open -
  margin/amount) / (1 - (mmr + taker))``, ``short (open + margin/amount) / (1 + (mmr + taker))``, i.e. the
  general formula with the taker fee added to the maintenance rate.
* Tier rows: ``freqtrade/freqtrade:tests/exchange/test_okx.py::test_get_maintenance_ratio_and_amt_okx``
  (ETH-USDT rows "copied from an OKX response": 0-2,000 contracts 1 % / 75x, 2,001-4,000 1.5 % / 50x,
  4,001-8,000 2 % / 20x), read 2026-11-25 at commit 0680ca2f. Contracts are divisible on OKX, so the band
  ``2,001-4,000`` is bundled as ``(2,000, 4,000]``.
* Margin mode per order (``tdMode = cross | isolated``), so cross and isolated positions may coexist on one
  instrument: freqtrade ``tests/exchange/test_exchange.py::test__get_params``; hence ``ANYTIME``.
* Fees 0.05 % taker / 0.02 % maker: OKX's regular-user (Lv1) swap rates (https://www.okx.com/fees), not in
  exchange-rules.md and not re-checked in this session.
* ETH-USDT-SWAP ``ctVal`` 0.1 ETH: OKX public instruments payload (``GET /api/v5/public/instruments``), not in
  exchange-rules.md and not re-checked in this session.
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
from marginlab.domain.tiers import RiskTier, TierBasis, TierTable
from marginlab.domain.venue import Source, Venue

TAKER_FEE = Decimal("0.0005")
MAKER_FEE = Decimal("0.0002")
LIQUIDATION_FEE = TAKER_FEE
CHECKED = "2026-11-25"
SNAPSHOT = (
    "OKX ETH-USDT position tiers from freqtrade tests/exchange/test_okx.py (commit 0680ca2f, read "
    f"{CHECKED}); BTC-USDT-SWAP approximate (same rows reused)"
)
TINY = Decimal("0.00000001")
ZERO = Decimal(0)

# (minSz, maxSz, mmr, maxLever) in contracts; OKX has no maintenance deduction.
ETH_USDT_ROWS: tuple[tuple[Decimal, Decimal, Decimal, Decimal], ...] = (
    (Decimal(0), Decimal(2000), Decimal("0.01"), Decimal(75)),
    (Decimal(2000), Decimal(4000), Decimal("0.015"), Decimal(50)),
    (Decimal(4000), Decimal(8000), Decimal("0.02"), Decimal(20)),
)
CONTRACT_SIZES = {"BTC": Decimal("0.01"), "ETH": Decimal("0.1")}


def native_symbol(base: str, quote: str, settle: str) -> str:
    """Return OKX's instrument id for a unified swap: ``BTC/USDT:USDT`` -> ``BTC-USDT-SWAP``."""
    return f"{base}-{quote}-SWAP"


def contract_tiers(rows: tuple[tuple[Decimal, Decimal, Decimal, Decimal], ...], *, source: str) -> TierTable:
    """Return a contract-denominated tier table without deductions (OKX sends none)."""
    tiers = tuple(
        RiskTier(floor=floor, cap=cap, mmr=mmr, maintenance_amount=ZERO, max_leverage=lever)
        for floor, cap, mmr, lever in rows
    )
    return TierTable(tiers, basis=TierBasis.CONTRACTS, source=source)


def _instrument(base: str, source: str) -> Instrument:
    return Instrument(
        symbol=native_symbol(base, "USDT", "USDT"),
        base=base,
        settle="USDT",
        tiers=contract_tiers(ETH_USDT_ROWS, source=source),
        tick_size=TINY,
        lot_size=TINY,
        contract_size=CONTRACT_SIZES[base],
        taker_fee=TAKER_FEE,
        maker_fee=MAKER_FEE,
        liquidation_fee=LIQUIDATION_FEE,
    )


@cache
def venue() -> Venue:
    """Return the OKX USDT-swap rule set (freqtrade's isolated formula, contract tiers)."""
    instruments = {
        "ETH-USDT-SWAP": _instrument(
            "ETH", f"OKX ETH-USDT position tiers (freqtrade test_okx.py, {CHECKED})"
        ),
        "BTC-USDT-SWAP": _instrument(
            "BTC", "APPROXIMATE: OKX ETH-USDT position tiers reused for BTC-USDT-SWAP (no BTC rows found)"
        ),
    }
    return Venue(
        name="okx",
        title="OKX USDT perpetual swap",
        maintenance_basis=MaintenanceBasis.LIQUIDATION_PRICE,
        fee_in_liquidation=True,
        liquidation_style=LiquidationStyle.FEE,
        mode_switch=ModeSwitchPolicy.ANYTIME,
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
                title="Tiered maintenance margin ratio rules (republished copy, updated 2025-05-16)",
                url="https://okx.huicker.com/fr-fr/help/v-tiered-maintenance-margin-ratio-rules",
                checked=CHECKED,
            ),
            Source(
                title="Position tiers: MM, contract-count tiers, margin ratio",
                url="https://tr.okx.com/help/tier",
                checked=CHECKED,
            ),
            Source(
                title="freqtrade isolated liquidation price used for OKX and Gate",
                url="freqtrade/freqtrade:freqtrade/exchange/exchange.py",
                checked=CHECKED,
            ),
            Source(
                title="OKX ETH-USDT tier rows (test_get_maintenance_ratio_and_amt_okx)",
                url="freqtrade/freqtrade:tests/exchange/test_okx.py",
                checked=CHECKED,
            ),
            Source(
                title="tdMode per order (test__get_params)",
                url="freqtrade/freqtrade:tests/exchange/test_exchange.py",
                checked=CHECKED,
            ),
        ),
        notes=(
            "The liquidation price is freqtrade's implementation (taker fee added to the MMR); OKX publishes"
            " no closed formula for perpetuals; approximate.",
            "BTC-USDT-SWAP tiers are approximate: the ETH-USDT rows of freqtrade's test (copied from an "
            "older OKX response) are reused; OKX allows 100x on BTC-USDT-SWAP, these rows stop at 75x.",
            "Tier tables end at 8,000 contracts, where the documented rows end.",
            "Margin mode is chosen per order on OKX (cross and isolated positions can coexist); switching "
            "the mode of an open position (set_margin_mode) converts it, which OKX itself does not do: "
            "approximate.",
            "The liquidation fee rate is approximate: the taker fee is used (OKX's perpetual liquidation fee"
            " is not in the reference).",
            "Fees (0.05 % taker / 0.02 % maker, Lv1) and the ETH contract size 0.1 are not re-checked.",
            "Default leverage 10x is an approximate modelling default.",
            "Tick and lot sizes are not bundled (1e-8, i.e. no rounding).",
        ),
    )
