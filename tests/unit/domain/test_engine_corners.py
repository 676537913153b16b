"""Corners of the exact engine found by random operation sequences (issue 8, points 1-4).

Each test reproduces the issue's sequence and asserts what the engine must do instead: a mode switch
leaves positions already in the target mode alone and never leaves the cross wallet short, an isolated
liquidation caused by funding is never booked as a gain nor closed at a price better than the mark, and
``reduce``/``close`` move the mark to their fill and run the liquidation check like ``open``.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from marginlab.domain import events as ev
from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, PositionMode, Side
from marginlab.errors import InsufficientMargin, OperationRejected
from marginlab.rules import get_venue

D = Decimal
USDT = "USDT"
GATE = get_venue("gate")
BINANCE = get_venue("binance")


def conserved(account: Account) -> bool:
    held = sum(account.wallets.values(), D(0)) + sum((p.margin for p in account.positions), D(0))
    return held + account.fees_paid + account.insurance_fund == (
        account.deposits + account.trading_pnl + account.funding
    )


# --- 1. a mode switch leaves positions already in the target mode alone -----------------------------
def test_gate_hedge_switch_to_isolated_keeps_the_isolated_side_as_it_is() -> None:
    # Arrange: long 0.1 isolated at 10x (margin 1,000), short 0.1 cross, both at 100,000 (fees 5 + 5)
    account = Account(GATE, balances={USDT: D(10000)}, position_mode=PositionMode.HEDGE)
    account.open("BTC_USDT", Side.LONG, D("0.1"), D(100000), leverage=D(10), mode=MarginMode.ISOLATED)
    account.open("BTC_USDT", Side.SHORT, D("0.1"), D(100000), leverage=D(10), mode=MarginMode.CROSS)
    assert account.wallet(USDT) == D(8990)

    # Act
    (changed,) = account.set_margin_mode("BTC_USDT", MarginMode.ISOLATED)

    # Assert: only the short's 1,000 moves; the long keeps its margin; nothing is created or destroyed
    assert isinstance(changed, ev.MarginModeChanged)
    assert changed.margin_moved == D(1000)
    assert account.wallet(USDT) == D(7990)
    assert account.position("BTC_USDT", Side.LONG).margin == D(1000)
    assert account.position("BTC_USDT", Side.SHORT).margin == D(1000)
    assert account.wallet(USDT) + D(2000) + account.fees_paid == account.deposits
    assert conserved(account)


def test_gate_hedge_switch_to_cross_returns_only_isolated_margin() -> None:
    account = Account(GATE, balances={USDT: D(10000)}, position_mode=PositionMode.HEDGE)
    account.open("BTC_USDT", Side.LONG, D("0.1"), D(100000), leverage=D(10), mode=MarginMode.ISOLATED)
    account.open("BTC_USDT", Side.SHORT, D("0.1"), D(100000), leverage=D(10), mode=MarginMode.CROSS)
    account.set_margin_mode("BTC_USDT", MarginMode.ISOLATED)
    account.open("ETH_USDT", Side.LONG, D(1), D(3000), leverage=D(10), mode=MarginMode.CROSS)

    (changed,) = account.set_margin_mode("BTC_USDT", MarginMode.CROSS)

    assert isinstance(changed, ev.MarginModeChanged)
    assert changed.margin_moved == D(-2000)
    assert all(p.margin == 0 for p in account.positions)
    assert conserved(account)


# --- 2. a switch paid by unrealized profit would leave the cross wallet negative -------------------
def test_gate_switch_funded_by_unrealized_profit_is_refused() -> None:
    # Arrange: $600, short 0.05 at 100,000 cross; mark 60,000; increase 0.2 at 60,000; mark 40,000
    account = Account(GATE, balances={USDT: D(600)})
    account.open("BTC_USDT", Side.SHORT, D("0.05"), D(100000), mode=MarginMode.CROSS)
    account.update_marks({"BTC_USDT": D(60000)})
    account.increase("BTC_USDT", D("0.2"), D(60000))
    account.update_marks({"BTC_USDT": D(40000)})
    wallet, positions, ledger = account.wallets, account.positions, len(account.ledger)

    # Act / Assert: isolating needs 1,700 of margin from a cross wallet holding 591.5; the short's own
    # unrealized profit would leave with it, so the cross pool cannot fund the move
    with pytest.raises(InsufficientMargin, match="isolating BTC_USDT") as info:
        account.set_margin_mode("BTC_USDT", MarginMode.ISOLATED)
    assert info.value.required == D(1700)
    assert account.wallets == wallet
    assert account.positions == positions
    assert len(account.ledger) == ledger


def test_gate_switch_funded_by_another_cross_position_profit_is_allowed() -> None:
    # the other cross position keeps its unrealized profit in the pool, which backs the wallet
    account = Account(GATE, balances={USDT: D(600)}, position_mode=PositionMode.HEDGE)
    account.open("ETH_USDT", Side.SHORT, D(1), D(3000), leverage=D(10), mode=MarginMode.CROSS)
    account.open("BTC_USDT", Side.LONG, D("0.01"), D(100000), leverage=D(10), mode=MarginMode.CROSS)
    account.update_marks({"ETH_USDT": D(2000)})

    account.set_margin_mode("BTC_USDT", MarginMode.ISOLATED)

    assert account.position("BTC_USDT").margin == D(100)
    assert account.available_balance(USDT) >= 0
    assert conserved(account)


# --- 3. an isolated liquidation caused by funding ---------------------------------------------------
def test_funding_that_empties_an_isolated_margin_is_not_booked_as_a_gain() -> None:
    # Arrange: 1 ETH long at 3,000, 100x isolated (margin 30)
    account = Account(BINANCE, balances={USDT: D(1000)})
    account.open("ETHUSDT", Side.LONG, D(1), D(3000), leverage=D(100), mode=MarginMode.ISOLATED)
    assert account.position("ETHUSDT").margin == D(30)

    # Act: funding 2 % takes 60 from a margin of 30
    events = account.apply_funding({"ETHUSDT": D("0.02")})

    # Assert: closed at the mark (never better for the trader); the trader lost its 30 of margin to the
    # funding and nothing more; the insurance fund pays the 30 of funding the margin could not
    funding, liquidated = events
    assert isinstance(funding, ev.FundingSettled)
    assert funding.amount == D(-60)
    assert isinstance(liquidated, ev.Liquidated)
    assert liquidated.price == D(3000)
    assert liquidated.realized_pnl == 0
    assert liquidated.loss == 0
    assert liquidated.insurance_fund_delta == D(-30)
    assert account.positions == ()
    assert account.wallet(USDT) == D(1000) - D(30) - D("1.5")
    assert conserved(account)


def test_funding_rate_5_liquidates_at_the_mark_not_beyond_it() -> None:
    account = Account(BINANCE, balances={USDT: D(100000)})
    account.open("BTCUSDT", Side.LONG, D(1), D(100000), leverage=D(100), mode=MarginMode.ISOLATED)

    events = account.apply_funding({"BTCUSDT": D(5)})

    (liquidated,) = [e for e in events if isinstance(e, ev.Liquidated)]
    assert liquidated.mark == D(100000)
    assert liquidated.price == D(100000)
    assert liquidated.realized_pnl <= 0
    assert liquidated.loss >= 0
    assert liquidated.insurance_fund_delta == D(1000) - D(500000)
    assert conserved(account)


@pytest.mark.parametrize("side", [Side.LONG, Side.SHORT])
def test_isolated_margin_never_negative_while_the_position_survives(side: Side) -> None:
    # Arrange: an isolated position deep in profit, then a funding charge larger than its margin
    account = Account(BINANCE, balances={USDT: D(100000)})
    account.open("BTCUSDT", side, D(1), D(100000), leverage=D(100), mode=MarginMode.ISOLATED)
    account.update_marks({"BTCUSDT": D(110000) if side is Side.LONG else D(90000)})
    rate = D("0.02") if side is Side.LONG else D("-0.02")

    # Act: the margin of 1,000 owes about 2,000 of funding
    events = account.apply_funding({"BTCUSDT": rate})

    # Assert: a margin that cannot pay its funding liquidates the position (at or worse than the mark)
    (liquidated,) = [e for e in events if isinstance(e, ev.Liquidated)]
    assert side.sign * (liquidated.price - liquidated.mark) <= 0
    assert liquidated.loss >= 0
    assert all(p.margin >= 0 for p in account.positions)
    assert conserved(account)


def test_funding_that_leaves_the_margin_positive_does_not_liquidate() -> None:
    account = Account(BINANCE, balances={USDT: D(100000)})
    account.open("BTCUSDT", Side.LONG, D(1), D(100000), leverage=D(10), mode=MarginMode.ISOLATED)

    events = account.apply_funding({"BTCUSDT": D("0.0001")})

    assert [type(e) for e in events] == [ev.FundingSettled]
    assert account.position("BTCUSDT").margin == D(10000) - D(10)


# --- 4. reduce and close move the mark and run the liquidation check -------------------------------
def test_reduce_at_a_price_past_the_pool_is_refused() -> None:
    # Arrange: $100, 0.03 BTC long at 100,000 cross 50x; mark 97,500
    account = Account(BINANCE, balances={USDT: D(100)})
    account.open("BTCUSDT", Side.LONG, D("0.03"), D(100000), leverage=D(50), mode=MarginMode.CROSS)
    account.update_marks({"BTCUSDT": D(97500)})
    before = (account.wallets, account.positions, len(account.ledger))

    # Act / Assert: at 95,500 the cross pool is past bankruptcy; the account would be liquidated first
    with pytest.raises(OperationRejected):
        account.reduce("BTCUSDT", D("0.01"), D(95500))
    assert (account.wallets, account.positions, len(account.ledger)) == before


def test_reduce_moves_the_mark_to_its_fill() -> None:
    account = Account(BINANCE, balances={USDT: D(1000)})
    account.open("BTCUSDT", Side.LONG, D("0.03"), D(100000), leverage=D(50), mode=MarginMode.CROSS)

    account.reduce("BTCUSDT", D("0.01"), D(99000))

    assert account.position("BTCUSDT").mark == D(99000)


def test_reduce_that_leaves_the_rest_liquidatable_is_refused() -> None:
    # Arrange: 0.03 BTC long at 100,000 cross 50x on $100 (fee 1.5), then 0.01 reduced at 97,000 (loss 30, fee
    # 0.485): equity at 97,000 is 68.015 - 60 = 8.015 against a maintenance of 0.02 * 97,000 * 0.4 % = 7.76
    account = Account(BINANCE, balances={USDT: D(100)})
    account.open("BTCUSDT", Side.LONG, D("0.03"), D(100000), leverage=D(50), mode=MarginMode.CROSS)
    account.reduce("BTCUSDT", D("0.01"), D(97000))
    assert account.wallet(USDT) == D("68.015")
    assert not account.is_liquidatable(account.position("BTCUSDT"))

    # Act / Assert: a reduce of 0.001 at 96,800 leaves equity 3.9666 against a maintenance of 7.3568
    with pytest.raises(InsufficientMargin, match="liquidated at once"):
        account.reduce("BTCUSDT", D("0.001"), D(96800))
    assert account.position("BTCUSDT").qty == D("0.02")


def test_close_runs_the_liquidation_check_at_its_fill() -> None:
    # Arrange (Gate, hedge): ETH long isolated at 100x (margin 30) and ETH short cross, both at 3,000
    account = Account(GATE, balances={USDT: D(1000)}, position_mode=PositionMode.HEDGE)
    account.open("ETH_USDT", Side.LONG, D(1), D(3000), leverage=D(100), mode=MarginMode.ISOLATED)
    account.open("ETH_USDT", Side.SHORT, D(1), D(3000), leverage=D(100), mode=MarginMode.CROSS)

    # Act: the short closes at 2,960; the mark moves there, where the long's equity is 30 - 40 < 0
    events = account.close("ETH_USDT", D(2960), side=Side.SHORT)

    # Assert: the close, then the long's liquidation at the new mark
    assert [type(e) for e in events] == [ev.PositionClosed, ev.Liquidated]
    liquidated = events[1]
    assert isinstance(liquidated, ev.Liquidated)
    assert liquidated.side is Side.LONG
    assert liquidated.mark == D(2960)
    assert account.positions == ()
    assert conserved(account)
