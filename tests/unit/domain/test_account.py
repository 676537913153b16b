"""Account operations on the Binance venue, with hand-computed values, and the atomicity of rejections.

Binance rules used (shared/reference/exchange-rules.md §1): taker fee 0.05 %, liquidation fee 1.25 %,
bundled BTCUSDT 2026-09 tiers (tier 1: <= 300k, 0.4 %, cum 0, 150x; tier 2: <= 800k, 0.5 %, cum 300, 100x;
tier 4: <= 12M, 1 %, cum 12,000, 50x; tier 5: <= 70M, 2 %, cum 132,000, 25x), max removable isolated margin
``min(margin - MM, margin + uPnL - notional(mark) / leverage)`` (§1.7), no mode switch with a position (§1.7).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, localcontext
from typing import Any

import pytest

from marginlab.domain import events as ev
from marginlab.domain.account import Account, AutoAddMargin
from marginlab.domain.enums import MarginMode, PositionMode, Side
from marginlab.errors import InputError, InsufficientMargin, OperationRejected, RuleSetError
from marginlab.rules import get_venue

D = Decimal
VENUE = get_venue("binance")
USDT = "USDT"


def conserved(account: Account) -> bool:
    """Money conservation: wallets + isolated margins + fees + fund == deposits + trading PnL + funding."""
    held = sum(account.wallets.values(), D(0)) + sum((p.margin for p in account.positions), D(0))
    return held + account.fees_paid + account.insurance_fund == (
        account.deposits + account.trading_pnl + account.funding
    )


def snapshot(account: Account) -> tuple[Any, ...]:
    return (
        account.wallets,
        account.positions,
        len(account.ledger),
        account.insurance_fund,
        account.fees_paid,
        account.deposits,
        account.trading_pnl,
        account.funding,
        dict(account._settings),
        account.position_mode,
    )


# --- open / increase / reduce / close ---
def test_cross_open_increase_reduce_close_fees_and_pnl() -> None:
    account = Account(VENUE, balances={USDT: D(100000)})
    (opened,) = account.open("BTCUSDT", Side.LONG, D(1), D(100000))
    assert isinstance(opened, ev.PositionOpened)
    assert opened.fee == D(50)
    assert opened.leverage == D(20)  # Binance default
    assert account.wallet(USDT) == D(99950)

    (inc,) = account.increase("BTCUSDT", D(1), D(102000))
    assert isinstance(inc, ev.PositionIncreased)
    assert inc.fee == D(51)
    assert inc.entry == D(101000)
    assert account.wallet(USDT) == D(99899)

    (red,) = account.reduce("BTCUSDT", D("0.5"), D(104000))
    assert isinstance(red, ev.PositionReduced)
    assert red.realized_pnl == D(1500)  # 0.5 * (104,000 - 101,000)
    assert red.fee == D(26)
    assert account.wallet(USDT) == D(101373)
    assert account.position("BTCUSDT").qty == D("1.5")
    assert account.position("BTCUSDT").entry == D(101000)

    (closed,) = account.close("BTCUSDT", D(99000))
    assert isinstance(closed, ev.PositionClosed)
    assert closed.realized_pnl == D(-3000)  # 1.5 * (99,000 - 101,000)
    assert closed.fee == D("74.25")
    assert account.wallet(USDT) == D("98298.75")
    assert account.positions == ()
    assert account.fees_paid == D("201.25")
    assert account.trading_pnl == D(-1500)
    assert conserved(account)


def test_isolated_short_open_reduce_close() -> None:
    account = Account(VENUE, balances={USDT: D(100000)})
    account.open("BTCUSDT", Side.SHORT, D(2), D(50000), leverage=D(10), mode=MarginMode.ISOLATED)
    assert account.position("BTCUSDT").margin == D(10000)
    assert account.wallet(USDT) == D(89950)  # margin 10,000 + fee 50

    (red,) = account.reduce("BTCUSDT", D(1), D(45000))
    assert isinstance(red, ev.PositionReduced)
    assert red.realized_pnl == D(5000)
    assert red.fee == D("22.5")
    # the closed half takes its share of the margin (5,000) plus its PnL minus its fee back to the wallet
    assert red.margin_released == D("9977.5")
    assert account.position("BTCUSDT").margin == D(5000)
    assert account.wallet(USDT) == D("99927.5")

    (closed,) = account.close("BTCUSDT", D(52000))
    assert isinstance(closed, ev.PositionClosed)
    assert closed.realized_pnl == D(-2000)
    assert closed.fee == D(26)
    assert closed.margin_released == D(2974)
    assert account.wallet(USDT) == D("102901.5")
    assert conserved(account)


def test_isolated_reduce_at_a_loss_leaves_the_rest_its_margin() -> None:
    """Long 0.05 @ 100,000, margin 500: closing half at 95,000 loses 125 + fee 1.1875 on that half only."""
    account = Account(VENUE, balances={USDT: D(10000)})
    account.open("BTCUSDT", Side.LONG, D("0.05"), D(100000), leverage=D(10), mode=MarginMode.ISOLATED)
    lp_before = account.liquidation_price(account.position("BTCUSDT"))
    (red,) = account.reduce("BTCUSDT", D("0.025"), D(95000))
    assert isinstance(red, ev.PositionReduced)
    assert red.margin_released == D("123.8125")  # 250 - 125 - 1.1875
    pos = account.position("BTCUSDT")
    assert pos.margin == D(250)
    # same margin per unit of size: the liquidation price of the rest is unchanged
    assert account.liquidation_price(pos) == lp_before
    assert conserved(account)


def test_isolated_partial_close_beyond_bankruptcy_is_rejected() -> None:
    """Bankruptcy price 90,000: a partial fill at 89,000 is beyond it, even if its own half looks solvent."""
    account = Account(VENUE, balances={USDT: D(10000)})
    account.open("BTCUSDT", Side.LONG, D("0.05"), D(100000), leverage=D(10), mode=MarginMode.ISOLATED)
    before = snapshot(account)
    with pytest.raises(OperationRejected, match=r"isolated\.bankruptcy") as info:
        account.reduce("BTCUSDT", D("0.025"), D(89000))
    assert info.value.rule == "isolated.bankruptcy"
    assert snapshot(account) == before


# --- isolated margin add / remove ---
def test_add_and_remove_isolated_margin_binance_cap() -> None:
    account = Account(VENUE, balances={USDT: D(100000)})
    account.open("BTCUSDT", Side.LONG, D(1), D(100000), leverage=D(10), mode=MarginMode.ISOLATED)
    assert account.wallet(USDT) == D(89950)
    (added,) = account.add_margin("BTCUSDT", D(1000))
    assert added == ev.MarginAdded(symbol="BTCUSDT", side=Side.LONG, amount=D(1000), margin=D(11000))
    assert account.wallet(USDT) == D(88950)

    pos = account.position("BTCUSDT")
    # at mark 100,000: min(11,000 - 400, 11,000 + 0 - 10,000) = 1,000
    assert account.max_removable_margin(pos) == D(1000)
    account.update_marks({"BTCUSDT": D(102000)})
    pos = account.position("BTCUSDT")
    # at mark 102,000: min(11,000 - 408, 11,000 + 2,000 - 10,200) = 2,800
    assert account.max_removable_margin(pos) == D(2800)
    before = snapshot(account)
    with pytest.raises(InsufficientMargin, match="remove_margin_cap") as info:
        account.remove_margin("BTCUSDT", D("2800.01"))
    assert info.value.rule == "binance.remove_margin_cap"
    assert info.value.available == D(2800)
    assert snapshot(account) == before
    (removed,) = account.remove_margin("BTCUSDT", D(2800))
    assert removed == ev.MarginRemoved(symbol="BTCUSDT", side=Side.LONG, amount=D(2800), margin=D(8200))
    assert account.wallet(USDT) == D(91750)

    account.update_marks({"BTCUSDT": D(99000)})
    # at 99,000: min(8,200 - 396, 8,200 - 1,000 - 9,900) < 0  ->  0
    assert account.max_removable_margin(account.position("BTCUSDT")) == D(0)
    assert conserved(account)


def test_margin_cap_uses_the_maintenance_term_when_it_binds() -> None:
    """Isolated long at 2x far in profit: margin - MM binds before the initial-margin term."""
    account = Account(VENUE, balances={USDT: D(100000)})
    account.open("BTCUSDT", Side.LONG, D(1), D(10000), leverage=D(2), mode=MarginMode.ISOLATED)
    account.update_marks({"BTCUSDT": D(50000)})
    pos = account.position("BTCUSDT")
    # min(5,000 - 200, 5,000 + 40,000 - 25,000) = 4,800
    assert account.max_removable_margin(pos) == D(4800)


# --- leverage and margin mode ---
def test_set_leverage_checked_against_tier_max_at_notional() -> None:
    account = Account(VENUE, balances={USDT: D(100000)})
    assert account.set_leverage("BTCUSDT", D(150)) == [
        ev.LeverageChanged(symbol="BTCUSDT", leverage=D(150), margin_added=D(0))
    ]
    account.set_leverage("BTCUSDT", D(20))
    account.open("BTCUSDT", Side.LONG, D(5), D(100000))  # 500k: tier 2, max 100x
    before = snapshot(account)
    with pytest.raises(OperationRejected, match="maximum 100") as info:
        account.set_leverage("BTCUSDT", D(101))
    assert info.value.rule == "binance.max_leverage"
    assert snapshot(account) == before
    account.set_leverage("BTCUSDT", D(100))
    assert account.position("BTCUSDT").leverage == D(100)
    assert account.settings("BTCUSDT").leverage == D(100)


def test_lowering_isolated_leverage_tops_up_margin() -> None:
    account = Account(VENUE, balances={USDT: D(100000)})
    account.open("BTCUSDT", Side.LONG, D(1), D(100000), leverage=D(20), mode=MarginMode.ISOLATED)
    (changed,) = account.set_leverage("BTCUSDT", D(10))
    assert changed == ev.LeverageChanged(symbol="BTCUSDT", leverage=D(10), margin_added=D(5000))
    assert account.position("BTCUSDT").margin == D(10000)
    assert account.wallet(USDT) == D(89950)
    assert conserved(account)


def test_margin_mode_switch_rejected_with_a_position_open() -> None:
    account = Account(VENUE, balances={USDT: D(100000)})
    account.open("BTCUSDT", Side.LONG, D(1), D(100000))
    before = snapshot(account)
    with pytest.raises(OperationRejected, match=r"does not allow changing the margin mode") as info:
        account.set_margin_mode("BTCUSDT", MarginMode.ISOLATED)
    assert info.value.rule == "binance.mode_switch"
    assert snapshot(account) == before
    # opening the other mode on the same symbol is the same rule
    account.close("BTCUSDT", D(100000))
    assert account.set_margin_mode("BTCUSDT", MarginMode.ISOLATED) == [
        ev.MarginModeChanged(symbol="BTCUSDT", mode=MarginMode.ISOLATED, margin_moved=D(0))
    ]
    assert account.settings("BTCUSDT").mode is MarginMode.ISOLATED


def test_hedge_mode_one_margin_mode_per_symbol() -> None:
    account = Account(VENUE, balances={USDT: D(100000)}, position_mode=PositionMode.HEDGE)
    account.open("BTCUSDT", Side.LONG, D(1), D(100000), mode=MarginMode.ISOLATED)
    before = snapshot(account)
    with pytest.raises(OperationRejected) as info:
        account.open("BTCUSDT", Side.SHORT, D(1), D(100000), mode=MarginMode.CROSS)
    assert info.value.rule == "binance.mode_switch"
    assert snapshot(account) == before


# --- funding ---
def test_funding_isolated_moves_margin_cross_moves_wallet() -> None:
    account = Account(VENUE, balances={USDT: D(100000)})
    account.open("BTCUSDT", Side.LONG, D(1), D(100000), leverage=D(10), mode=MarginMode.ISOLATED)
    account.open("ETHUSDT", Side.SHORT, D(10), D(3000))
    wallet = account.wallet(USDT)
    events = account.apply_funding({"BTCUSDT": D("0.0001"), "ETHUSDT": D("0.0001")})
    assert events == [
        ev.FundingSettled(symbol="BTCUSDT", side=Side.LONG, rate=D("0.0001"), mark=D(100000), amount=D(-10)),
        ev.FundingSettled(symbol="ETHUSDT", side=Side.SHORT, rate=D("0.0001"), mark=D(3000), amount=D(3)),
    ]
    assert account.position("BTCUSDT").margin == D(9990)  # the long paid from its isolated margin
    assert account.wallet(USDT) == wallet + D(3)  # the short received into the cross wallet
    account.apply_funding({"BTCUSDT": D("-0.0002")})
    assert account.position("BTCUSDT").margin == D(10010)  # negative rate: longs receive
    assert account.funding == D(13)
    assert conserved(account)


# --- liquidation ---
def test_isolated_liquidation_loses_only_its_margin() -> None:
    """Long 0.05 @ 100,000 isolated (margin 500), LP 90,361.45, BP 90,000; mark 90,100 leaves 5 of equity."""
    account = Account(VENUE, balances={USDT: D(10000)})
    account.open("BTCUSDT", Side.LONG, D("0.05"), D(100000), leverage=D(10), mode=MarginMode.ISOLATED)
    account.open("ETHUSDT", Side.LONG, D(1), D(3000))  # a cross position is not touched
    wallet = account.wallet(USDT)
    events = account.update_marks({"BTCUSDT": D(90100)})
    (liq,) = [e for e in events if isinstance(e, ev.Liquidated)]
    assert liq.mode is MarginMode.ISOLATED
    assert liq.realized_pnl == D(-500)
    assert liq.insurance_fund_delta == D(5)
    assert liq.loss == D(500)
    assert account.wallet(USDT) == wallet
    assert [p.symbol for p in account.positions] == ["ETHUSDT"]
    assert account.insurance_fund == D(5)
    assert conserved(account)


def test_cross_liquidation_takes_the_whole_cross_book() -> None:
    """Wallet 9,935 after fees; BTC long 1 @ 100,000 and ETH long 10 @ 3,000 in cross.

    At BTC 90,500: equity 9,935 - 9,500 = 435 < MM 362 + 120 = 482, so both positions go (Binance takes
    the book over at bankruptcy; the 435 left goes to the insurance fund).
    """
    account = Account(VENUE, balances={USDT: D(10000)})
    account.open("BTCUSDT", Side.LONG, D(1), D(100000))
    account.open("ETHUSDT", Side.LONG, D(10), D(3000))
    assert account.wallet(USDT) == D(9935)
    lp = account.liquidation_price(account.position("BTCUSDT"))
    with localcontext() as ctx:
        ctx.prec = 50
        # fixed = 9,935 - ETH MM 120; solved prices are reported to 28 significant digits
        exact = (D(100000) - D(9815)) / D("0.996")
    assert lp == +exact
    assert account.update_marks({"BTCUSDT": D(90600)}) == [ev.MarkUpdated(symbol="BTCUSDT", mark=D(90600))]
    events = account.update_marks({"BTCUSDT": D(90500)})
    liquidated = [e for e in events if isinstance(e, ev.Liquidated)]
    assert {e.symbol for e in liquidated} == {"BTCUSDT", "ETHUSDT"}
    assert all(e.mode is MarginMode.CROSS for e in liquidated)
    assert sum((e.insurance_fund_delta for e in liquidated), D(0)) == D(435)
    assert account.positions == ()
    assert account.wallet(USDT) == D(0)
    assert account.insurance_fund == D(435)
    assert conserved(account)


def test_partial_liquidation_steps_down_one_tier() -> None:
    """Isolated long 130 BTC @ 100,000 (13M, tier 5) at 20x: margin 650,000, LP 95,902.67.

    At mark 95,900: equity 117,000 < MM 117,340. The engine closes down to the tier-4 cap: keep
    floor(12,000,000 / 95,900, 0.001) = 125.130, close 4.870 at mark (PnL -19,967, fee 1.25 % = 5,837.9125).
    The rest (11,999,967 notional, tier 4: MM 107,999.67) has equity 111,162.0875 and survives.
    """
    account = Account(VENUE, balances={USDT: D(1000000)})
    account.open("BTCUSDT", Side.LONG, D(130), D(100000), leverage=D(20), mode=MarginMode.ISOLATED)
    pos = account.position("BTCUSDT")
    assert pos.margin == D(650000)
    lp = account.liquidation_price(pos)
    with localcontext() as ctx:
        ctx.prec = 50
        exact = D(12218000) / D("127.4")
    assert lp == +exact
    events = account.update_marks({"BTCUSDT": D(95900)})
    assert events[1:] == [
        ev.PartiallyLiquidated(
            symbol="BTCUSDT",
            side=Side.LONG,
            qty=D("4.870"),
            mark=D(95900),
            liquidation_fee=D("5837.9125"),
            realized_pnl=D(-19967),
        )
    ]
    pos = account.position("BTCUSDT")
    assert pos.qty == D("125.130")
    assert pos.margin == D("624195.0875")
    assert account.maintenance_margin(pos) == D("107999.67")
    assert not account.is_liquidatable(pos)
    assert account.insurance_fund == D("5837.9125")
    assert conserved(account)


def test_auto_add_margin_tops_up_before_liquidation() -> None:
    account = Account(VENUE, balances={USDT: D(10000)}, auto_add_margin=AutoAddMargin())
    account.open("BTCUSDT", Side.LONG, D("0.05"), D(100000), leverage=D(10), mode=MarginMode.ISOLATED)
    # 91,000: equity 50, MM 18.2, ratio 36.4 % < 80 %: nothing
    assert account.update_marks({"BTCUSDT": D(91000)}) == [ev.MarkUpdated(symbol="BTCUSDT", mark=D(91000))]
    # 90,400: equity 20, MM 18.08, ratio 90.4 %: add 18.08 / 0.5 - 20 = 16.16
    events = account.update_marks({"BTCUSDT": D(90400)})
    assert events[1:] == [
        ev.MarginAdded(symbol="BTCUSDT", side=Side.LONG, amount=D("16.16"), margin=D("516.16"), auto=True)
    ]
    assert account.wallet(USDT) == D("9481.34")
    assert account.margin_ratio(account.position("BTCUSDT")) == D("0.5")
    assert conserved(account)


def test_auto_add_margin_invalid_policy() -> None:
    with pytest.raises(InputError, match="auto_add_margin"):
        AutoAddMargin(trigger=D("0.5"), target=D("0.8"))


def test_insurance_fund_covers_a_gap_beyond_bankruptcy() -> None:
    account = Account(VENUE, balances={USDT: D(10000)})
    account.open("BTCUSDT", Side.LONG, D("0.05"), D(100000), leverage=D(10), mode=MarginMode.ISOLATED)
    events = account.update_marks({"BTCUSDT": D(80000)})
    assert not [e for e in events if isinstance(e, ev.AutoDeleveraged)]
    (liq,) = [e for e in events if isinstance(e, ev.Liquidated)]
    assert liq.insurance_fund_delta == D(-500)
    assert account.insurance_fund == D(-500)
    assert conserved(account)


def test_adl_when_a_finite_insurance_fund_cannot_cover() -> None:
    """Fund 200, deficit 500 (mark 80,000 vs bankruptcy 90,000 on 0.05 BTC): 300 is deleveraged.

    Counterparties take 0.03 BTC at the bankruptcy price 90,000 instead of the mark: 0.03 * 10,000 = 300.
    """
    account = Account(VENUE, balances={USDT: D(10000)}, insurance_fund=D(200))
    account.open("BTCUSDT", Side.LONG, D("0.05"), D(100000), leverage=D(10), mode=MarginMode.ISOLATED)
    events = account.update_marks({"BTCUSDT": D(80000)})
    (liq,) = [e for e in events if isinstance(e, ev.Liquidated)]
    (adl,) = [e for e in events if isinstance(e, ev.AutoDeleveraged)]
    assert liq.insurance_fund_delta == D(-200)
    assert adl == ev.AutoDeleveraged(
        symbol="BTCUSDT", side=Side.SHORT, qty=D("0.03"), price=D(90000), shortfall=D(300)
    )
    assert account.insurance_fund == D(-200)
    assert account.trading_pnl == D(-700)  # 0.02 at mark (-400) + 0.03 at bankruptcy (-300)
    assert account.wallet(USDT) == D("9497.5")
    assert conserved(account)


def test_adl_after_the_fund_is_used_up() -> None:
    """A second deficit finds the fund empty and is deleveraged in full."""
    account = Account(VENUE, balances={USDT: D(10000)}, insurance_fund=D(500))
    account.open("BTCUSDT", Side.LONG, D("0.05"), D(100000), leverage=D(10), mode=MarginMode.ISOLATED)
    account.update_marks({"BTCUSDT": D(80000)})
    assert account.insurance_fund == D(-500)
    account.open("BTCUSDT", Side.LONG, D("0.05"), D(80000), leverage=D(10), mode=MarginMode.ISOLATED)
    events = account.update_marks({"BTCUSDT": D(70000)})  # BP 72,000: deficit 100, fund empty
    (adl,) = [e for e in events if isinstance(e, ev.AutoDeleveraged)]
    assert adl.shortfall == D(100)
    assert adl.qty == D("0.05")
    assert adl.price == D(72000)
    assert account.insurance_fund == D(-500)
    assert conserved(account)


# --- atomicity of rejected operations ---
def loaded_account() -> Account:
    """An account with a cross BTC long, an isolated ETH short and some history."""
    account = Account(VENUE, balances={USDT: D(20000)})
    account.open("BTCUSDT", Side.LONG, D("0.5"), D(100000))
    account.open("ETHUSDT", Side.SHORT, D(2), D(3000), leverage=D(10), mode=MarginMode.ISOLATED)
    account.apply_funding({"BTCUSDT": D("0.0001")})
    account.update_marks({"BTCUSDT": D(101000), "ETHUSDT": D(2990)})
    return account


REJECTIONS: list[tuple[str, Callable[[Account], object], type[Exception], str]] = [
    ("zero qty", lambda a: a.open("SOLUSDT", Side.LONG, D(0), D(100)), InputError, "qty"),
    ("negative qty", lambda a: a.increase("BTCUSDT", D("-0.1"), D(100000)), InputError, "qty"),
    ("qty off the lot", lambda a: a.increase("BTCUSDT", D("0.0005"), D(100000)), InputError, "lot size"),
    ("zero price", lambda a: a.open("SOLUSDT", Side.LONG, D(1), D(0)), InputError, "price"),
    ("negative deposit", lambda a: a.deposit(USDT, D(-5)), InputError, "amount"),
    ("negative margin add", lambda a: a.add_margin("ETHUSDT", D(-1)), InputError, "amount"),
    (
        "insufficient balance",
        lambda a: a.open("SOLUSDT", Side.LONG, D(10000), D(200), leverage=D(10)),
        InsufficientMargin,
        "available_balance",
    ),
    (
        "add more margin than available",
        lambda a: a.add_margin("ETHUSDT", D(100000)),
        InsufficientMargin,
        "available_balance",
    ),
    (
        "remove too much margin",
        lambda a: a.remove_margin("ETHUSDT", D(500)),
        InsufficientMargin,
        "binance.remove_margin_cap",
    ),
    ("add margin to cross", lambda a: a.add_margin("BTCUSDT", D(1)), OperationRejected, "isolated_only"),
    (
        "leverage above tier max",
        lambda a: a.set_leverage("BTCUSDT", D(151)),
        OperationRejected,
        "max_leverage",
    ),
    (
        "open above tier max",
        lambda a: a.open("SOLUSDT", Side.LONG, D(1), D(100), leverage=D(1000)),
        OperationRejected,
        "max_leverage",
    ),
    ("zero leverage", lambda a: a.set_leverage("BTCUSDT", D(0)), InputError, "leverage"),
    ("unknown symbol", lambda a: a.open("NOPEUSDT", Side.LONG, D(1), D(1)), RuleSetError, "NOPEUSDT"),
    ("no position", lambda a: a.reduce("SOLUSDT", D(1), D(100)), OperationRejected, "position.exists"),
    ("reduce beyond size", lambda a: a.reduce("BTCUSDT", D("0.6"), D(100000)), InputError, "qty"),
    (
        "isolated close beyond bankruptcy",
        lambda a: a.close("ETHUSDT", D(3400)),
        OperationRejected,
        "isolated.bankruptcy",
    ),
    (
        "cross close beyond bankruptcy",
        lambda a: a.close("BTCUSDT", D(50000)),
        OperationRejected,
        "cross.bankruptcy",
    ),
    (
        "one-way opposite side",
        lambda a: a.open("BTCUSDT", Side.SHORT, D("0.5"), D(100000)),
        OperationRejected,
        "one_way",
    ),
    (
        "mode switch with position",
        lambda a: a.set_margin_mode("ETHUSDT", MarginMode.CROSS),
        OperationRejected,
        "binance.mode_switch",
    ),
    ("bad funding rate", lambda a: a.apply_funding({"BTCUSDT": D("NaN")}), InputError, "rates.BTCUSDT"),
    (
        "bad mark after a good one",
        lambda a: a.update_marks({"BTCUSDT": D(1000), "ETHUSDT": D(-1)}),
        InputError,
        "prices.ETHUSDT",
    ),
    (
        "position mode with positions",
        lambda a: a.set_position_mode(PositionMode.HEDGE),
        OperationRejected,
        "flat_only",
    ),
]


@pytest.mark.parametrize(("name", "operation", "error", "names"), REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_rejected_operation_leaves_the_account_unchanged(
    name: str, operation: Callable[[Account], object], error: type[Exception], names: str
) -> None:
    account = loaded_account()
    before = snapshot(account)
    ledger = list(account.ledger)
    with pytest.raises(error) as info:
        operation(account)
    assert names in str(info.value) or names in getattr(info.value, "rule", "")
    assert snapshot(account) == before
    assert account.ledger == ledger
    assert conserved(account)


# --- regressions found by the property tests -------------------------------------------------------------
def test_fill_that_leaves_the_position_liquidatable_is_rejected() -> None:
    """Isolated long 0.001 @ 100,000 at 100x (margin 1): an increase at 98,800 moves the mark there, where the
    combined position (margin 1.988, uPnL -1.2) is below its maintenance margin 0.7904."""
    account = Account(VENUE, balances={USDT: D(100)})
    account.open("BTCUSDT", Side.LONG, D("0.001"), D(100000), leverage=D(100), mode=MarginMode.ISOLATED)
    before = snapshot(account)
    with pytest.raises(InsufficientMargin) as info:
        account.increase("BTCUSDT", D("0.001"), D(98800))
    assert info.value.rule == "maintenance_margin"
    assert snapshot(account) == before


def test_cross_pool_past_bankruptcy_is_not_stepped_down_and_adl_books_the_shortfall() -> None:
    """Cross short 3 BTC @ 100,000 at 7x with a 46,000 wallet; mark gaps to 120,000 (equity -14,150).

    No partial liquidation (the pool cannot pay its fee); the empty fund pays nothing, so the whole 14,150
    deficit is deleveraged: 3 * (120,000 - 115,283.33...) at the bankruptcy price."""
    account = Account(VENUE, balances={USDT: D(46000)}, insurance_fund=D(0))
    account.open("BTCUSDT", Side.SHORT, D(3), D(100000), leverage=D(7))
    assert account.wallet(USDT) == D(45850)
    events = account.update_marks({"BTCUSDT": D(120000)})
    assert not [e for e in events if isinstance(e, ev.PartiallyLiquidated)]
    (adl,) = [e for e in events if isinstance(e, ev.AutoDeleveraged)]
    assert adl.shortfall == D(14150)
    assert adl.qty == D(3)
    assert adl.price == account.ledger[-2].bankruptcy_price  # type: ignore[attr-defined]
    # the ADL price (the bankruptcy price, 28 significant digits) times 3 BTC gives the shortfall
    assert abs(D(3) * (D(120000) - adl.price) - D(14150)) <= D(3) * D("1e-8")
    assert account.insurance_fund == D(0)
    assert account.trading_pnl == D(-45850)  # -60,000 at mark + 14,150 borne by the counterparties
    assert conserved(account)
