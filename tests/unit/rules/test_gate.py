"""Gate rule set: the solver equals Gate's documented formula (taker fee in the liquidation price)."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest

from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, ModeSwitchPolicy, Side
from marginlab.domain.tiers import TierTable
from marginlab.rules import gate

D = Decimal
EXACT = D("1e-20")


def gate_formula(
    side: Side, entry: Decimal, margin: Decimal, size: Decimal, mmr: Decimal, taker: Decimal
) -> Decimal:
    """``(Entry -/+ Margin / Size) / [1 -/+ (MMR + Taker)]`` ("-" long, "+" short), contract multiplier 1."""
    with localcontext() as ctx:
        ctx.prec = 50
        if side is Side.LONG:
            return (entry - margin / size) / (1 - (mmr + taker))
        return (entry + margin / size) / (1 + (mmr + taker))


@pytest.mark.parametrize(
    ("side", "qty", "entry", "margin", "golden"),
    [
        # long 1 BTC @ 20,000, margin 400, MMR 0.5 % + taker 0.05 %: 19,600 / 0.9945
        (Side.LONG, D(1), D(20000), D(400), D("19708.40")),
        # short 2 BTC @ 30,000, margin 3,000: 31,500 / 1.0055
        (Side.SHORT, D(2), D(30000), D(3000), D("31327.70")),
    ],
)
def test_bundled_instrument_matches_gate_formula_and_golden(
    side: Side, qty: Decimal, entry: Decimal, margin: Decimal, golden: Decimal
) -> None:
    venue = gate.venue()
    btc = venue.instrument("BTC/USDT:USDT")
    account = Account(venue, balances={"USDT": D(0)})
    account.import_position(btc, side, qty, entry, leverage=D(20), mode=MarginMode.ISOLATED, margin=margin)
    price = account.liquidation_price(account.position("BTC_USDT"))
    assert price is not None
    assert abs(price - gate_formula(side, entry, margin, qty, D("0.005"), D("0.0005"))) < EXACT
    assert price.quantize(D("0.01")) == golden


@pytest.mark.parametrize("side", [Side.LONG, Side.SHORT])
@pytest.mark.parametrize(("mmr", "taker"), [(D("0.004"), D("0.00075")), (D("0.01"), D("0.0005"))])
def test_custom_instrument_matches_gate_formula(side: Side, mmr: Decimal, taker: Decimal) -> None:
    venue = gate.venue()
    eth = venue.custom_instrument(
        "ETH/USDT:USDT", tiers=TierTable.flat(mmr=mmr, max_leverage=D(50)), taker_fee=taker
    )
    account = Account(venue, balances={"USDT": D(0)})
    account.import_position(
        eth, side, D("3.5"), D(3000), mark=D(3050), leverage=D(10), mode=MarginMode.ISOLATED, margin=D(1200)
    )
    price = account.liquidation_price(account.position("ETH_USDT"))
    assert price is not None
    assert abs(price - gate_formula(side, D(3000), D(1200), D("3.5"), mmr, taker)) < EXACT


def test_fee_moves_the_liquidation_price_toward_entry() -> None:
    venue = gate.venue()
    prices = []
    for taker in (D(0), D("0.001")):
        instrument = venue.custom_instrument(
            "BTC_USDT", tiers=TierTable.flat(mmr=D("0.005"), max_leverage=D(100)), taker_fee=taker
        )
        account = Account(venue, balances={"USDT": D(0)})
        account.import_position(
            instrument, Side.LONG, D(1), D(20000), leverage=D(50), mode=MarginMode.ISOLATED
        )
        price = account.liquidation_price(account.position("BTC_USDT"))
        assert price is not None
        prices.append(price)
    assert prices[0] < prices[1] < D(20000)


def test_mode_switch_with_position_is_allowed() -> None:
    venue = gate.venue()
    assert venue.mode_switch is ModeSwitchPolicy.ANYTIME
    account = Account(venue, balances={"USDT": D(5000)})
    account.import_position(venue.instrument("BTC_USDT"), Side.LONG, D("0.1"), D(30000), leverage=D(10))
    account.set_margin_mode("BTC_USDT", MarginMode.ISOLATED)
    position = account.position("BTC_USDT")
    assert position.mode is MarginMode.ISOLATED
    assert position.margin == D(300)
    assert account.wallet("USDT") == D(4700)


def test_native_symbol() -> None:
    assert gate.native_symbol("BTC", "USDT", "USDT") == "BTC_USDT"
    assert gate.venue().resolve_symbol("ETH/USDT:USDT") == "ETH_USDT"
    assert "APPROXIMATE" in gate.venue().tier_snapshot
