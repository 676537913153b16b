"""Bitget rule set: the solver equals Bitget's isolated estimated-liquidation-price formula."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest

from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, ModeSwitchPolicy, Side
from marginlab.domain.tiers import TierTable
from marginlab.errors import OperationRejected
from marginlab.rules import bitget

D = Decimal
EXACT = D("1e-20")


def bitget_formula(
    side: Side, entry: Decimal, margin: Decimal, size: Decimal, mmr: Decimal, taker: Decimal
) -> Decimal:
    """``[margin - size * entry * dir] / [size * (MMR + taker - dir)]``."""
    with localcontext() as ctx:
        ctx.prec = 50
        direction = side.sign
        return (margin - size * entry * direction) / (size * (mmr + taker - direction))


@pytest.mark.parametrize(
    ("side", "qty", "entry", "margin", "golden"),
    [
        # long 1 BTC @ 20,000, margin 400, MMR 0.5 % + taker 0.06 %: 19,600 / 0.9944 = 19,710.38
        (Side.LONG, D(1), D(20000), D(400), D("19710.38")),
        # short 0.5 ETH @ 3,000, margin 150: (150 + 1,500)/(0.5 * 1.0056) = 3,281.62
        (Side.SHORT, D("0.5"), D(3000), D(150), D("3281.62")),
    ],
)
def test_bundled_instrument_matches_bitget_formula_and_golden(
    side: Side, qty: Decimal, entry: Decimal, margin: Decimal, golden: Decimal
) -> None:
    venue = bitget.venue()
    symbol = "BTCUSDT" if entry > 10000 else "ETHUSDT"
    account = Account(venue, balances={"USDT": D(0)})
    account.import_position(
        venue.instrument(symbol), side, qty, entry, leverage=D(10), mode=MarginMode.ISOLATED, margin=margin
    )
    price = account.liquidation_price(account.position(symbol))
    assert price is not None
    assert abs(price - bitget_formula(side, entry, margin, qty, D("0.005"), D("0.0006"))) < EXACT
    assert price.quantize(D("0.01")) == golden


@pytest.mark.parametrize("side", [Side.LONG, Side.SHORT])
@pytest.mark.parametrize(("mmr", "taker"), [(D("0.004"), D("0.001")), (D("0.02"), D("0.0006"))])
def test_custom_instrument_matches_bitget_formula(side: Side, mmr: Decimal, taker: Decimal) -> None:
    venue = bitget.venue()
    sol = venue.custom_instrument(
        "SOL/USDT:USDT", tiers=TierTable.flat(mmr=mmr, max_leverage=D(50)), taker_fee=taker
    )
    account = Account(venue, balances={"USDT": D(0)})
    account.import_position(
        sol, side, D(40), D(150), mark=D(148), leverage=D(20), mode=MarginMode.ISOLATED, margin=D(420)
    )
    price = account.liquidation_price(account.position("SOLUSDT"))
    assert price is not None
    assert abs(price - bitget_formula(side, D(150), D(420), D(40), mmr, taker)) < EXACT


def test_mode_switch_with_position_is_rejected() -> None:
    venue = bitget.venue()
    assert venue.mode_switch is ModeSwitchPolicy.FLAT_ONLY
    account = Account(venue, balances={"USDT": D(10000)})
    account.import_position(venue.instrument("BTCUSDT"), Side.SHORT, D("0.1"), D(30000), leverage=D(10))
    with pytest.raises(OperationRejected, match=r"bitget\.mode_switch"):
        account.set_margin_mode("BTCUSDT", MarginMode.ISOLATED)


def test_native_symbol() -> None:
    assert bitget.native_symbol("BTC", "USDT", "USDT") == "BTCUSDT"
    assert bitget.venue().resolve_symbol("ETH/USDT:USDT") == "ETHUSDT"
    assert bitget.venue().fee_in_liquidation is True
