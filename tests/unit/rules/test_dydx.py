"""dYdX v4 rule set: the documented liquidation formulas and the worked examples of liquidations.mdx."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest

from marginlab.domain.account import Account
from marginlab.domain.enums import LiquidationStyle, MarginMode, ModeSwitchPolicy, PositionMode, Side
from marginlab.domain.tiers import TierTable
from marginlab.errors import OperationRejected
from marginlab.rules import dydx

D = Decimal
EXACT = D("1e-20")


def isolated_formula(
    e: Decimal, s: Decimal, p: Decimal, mmf: Decimal, mmr_o: Decimal = Decimal(0)
) -> Decimal:
    """liquidations.mdx: ``p' = (e - s*p - MMR_o) / (|s|*MMF - s)`` (``MMR_o = 0`` for isolated)."""
    with localcontext() as ctx:
        ctx.prec = 50
        return (e - s * p - mmr_o) / (abs(s) * mmf - s)


def test_liquidity_tiers_from_genesis() -> None:
    venue = dydx.venue()
    btc = venue.instrument("BTC/USD:USDC")
    assert btc.symbol == "BTC-USD"
    assert btc.tiers.tiers[0].mmr == D("0.03")
    assert btc.max_leverage == D(20)
    sol = venue.instrument("SOL-USD")
    assert sol.tiers.tiers[0].mmr == D("0.05")
    assert sol.max_leverage == D(10)
    assert dydx.fractions("Long-Tail") == (D("0.2"), D("0.1"))


def test_docs_isolated_example_3174_60() -> None:
    # e = 1,000, short 3 ETH @ 3,000, MMF 5 % -> p' = 10,000 / 3.15 = 3,174.60
    venue = dydx.venue()
    eth = venue.custom_instrument(
        "ETH/USD:USDC", tiers=TierTable.flat(mmr=D("0.05"), max_leverage=D(10)), settle="USDC"
    )
    account = Account(venue, balances={"USDC": D(0)})
    account.import_position(
        eth, Side.SHORT, D(3), D(3000), leverage=D(9), mode=MarginMode.ISOLATED, margin=D(1000)
    )
    price = account.liquidation_price(account.position("ETH-USD"))
    assert price is not None
    assert price.quantize(D("0.01")) == D("3174.60")
    assert abs(price - isolated_formula(D(1000), D(-3), D(3000), D("0.05"))) < EXACT
    # remaining equity equals the maintenance requirement there: 3 * 3,174.6 * 5 % ≈ 476.2
    assert (3 * price * D("0.05")).quantize(D("0.1")) == D("476.2")


def test_docs_cross_example_3380_95() -> None:
    # e = 1,000; short 1.5 ETH @ 3,000 (MMF 5 %); long 1,000 STRK @ 1.75 (MMF 10 %): MMR_o = 175
    venue = dydx.venue()
    eth = venue.custom_instrument(
        "ETH/USD:USDC", tiers=TierTable.flat(mmr=D("0.05"), max_leverage=D(10)), settle="USDC"
    )
    strk = venue.custom_instrument(
        "STRK/USD:USDC", tiers=TierTable.flat(mmr=D("0.1"), max_leverage=D(5)), settle="USDC"
    )
    account = Account(venue, balances={"USDC": D(1000)})
    account.import_position(eth, Side.SHORT, D("1.5"), D(3000), leverage=D(10))
    account.import_position(strk, Side.LONG, D(1000), D("1.75"), leverage=D(5))
    assert account.maintenance_margin(account.position("STRK-USD")) == D(175)
    price = account.liquidation_price(account.position("ETH-USD"))
    assert price is not None
    assert price.quantize(D("0.01")) == D("3380.95")
    assert abs(price - isolated_formula(D(1000), D("-1.5"), D(3000), D("0.05"), D(175))) < EXACT


@pytest.mark.parametrize(
    ("symbol", "side", "qty", "entry", "mark", "margin"),
    [
        ("BTC-USD", Side.LONG, D("0.3"), D(60000), D(60000), D(2000)),
        ("BTC-USD", Side.SHORT, D("0.3"), D(60000), D(61000), D(2500)),
        ("ETH-USD", Side.LONG, D("4"), D(3000), D(2900), D(1500)),
        ("SOL-USD", Side.SHORT, D("40"), D(150), D(140), D(900)),
    ],
)
def test_isolated_solver_equals_docs_formula(
    symbol: str, side: Side, qty: Decimal, entry: Decimal, mark: Decimal, margin: Decimal
) -> None:
    venue = dydx.venue()
    instrument = venue.instrument(symbol)
    account = Account(venue, balances={"USDC": D(0)})
    account.import_position(
        instrument, side, qty, entry, mark=mark, leverage=D(5), mode=MarginMode.ISOLATED, margin=margin
    )
    s = side.sign * qty
    equity = margin + s * (mark - entry)  # subaccount equity at the current oracle price
    expected = isolated_formula(equity, s, mark, instrument.tiers.tiers[0].mmr)
    price = account.liquidation_price(account.position(symbol))
    assert price is not None
    assert abs(price - expected) < EXACT


def test_cross_solver_equals_docs_formula_with_other_position() -> None:
    venue = dydx.venue()
    account = Account(venue, balances={"USDC": D(4000)})
    account.import_position(
        venue.instrument("BTC-USD"), Side.LONG, D("0.5"), D(60000), mark=D(59000), leverage=D(10)
    )
    account.import_position(
        venue.instrument("DOGE-USD"), Side.SHORT, D(20000), D("0.2"), mark=D("0.21"), leverage=D(5)
    )
    equity = D(4000) + D("0.5") * (59000 - 60000) - D(20000) * (D("0.21") - D("0.2"))
    mmr_o = D(20000) * D("0.21") * D("0.05")
    expected = isolated_formula(equity, D("0.5"), D(59000), D("0.03"), mmr_o)
    price = account.liquidation_price(account.position("BTC-USD"))
    assert price is not None
    assert abs(price - expected) < EXACT


def test_liquidation_keeps_the_rest_after_the_penalty() -> None:
    venue = dydx.venue()
    assert venue.liquidation_style is LiquidationStyle.FEE
    assert venue.liquidation_fee == D("0.015")
    account = Account(venue, balances={"USDC": D(0)})
    account.import_position(
        venue.instrument("ETH-USD"),
        Side.LONG,
        D(1),
        D(3000),
        leverage=D(10),
        mode=MarginMode.ISOLATED,
        margin=D(300),
    )
    # at 2,790: equity 90, MM 83.7 -> safe; at 2,780: equity 80 <= MM 83.4 -> liquidated, penalty 1.5 % of
    # 2,780 = 41.7 to the fund, 38.3 returned.
    account.update_marks({"ETH-USD": D(2790)})
    assert account.positions
    account.update_marks({"ETH-USD": D(2780)})
    assert not account.positions
    assert account.wallet("USDC") == D("38.3")
    assert account.insurance_fund == D("41.7")


def test_mode_switch_with_position_is_rejected() -> None:
    venue = dydx.venue()
    assert venue.mode_switch is ModeSwitchPolicy.FLAT_ONLY
    account = Account(venue, balances={"USDC": D(10000)})
    account.import_position(venue.instrument("ETH-USD"), Side.LONG, D(1), D(3000), leverage=D(10))
    with pytest.raises(OperationRejected, match=r"dydx\.mode_switch"):
        account.set_margin_mode("ETH-USD", MarginMode.ISOLATED)


def test_no_hedge_mode_and_native_symbol() -> None:
    with pytest.raises(OperationRejected, match=r"dydx\.position_mode"):
        Account(dydx.venue(), position_mode=PositionMode.HEDGE)
    assert dydx.native_symbol("BTC", "USD", "USDC") == "BTC-USD"
    assert dydx.venue().resolve_symbol("XRP/USD:USDC") == "XRP-USD"
