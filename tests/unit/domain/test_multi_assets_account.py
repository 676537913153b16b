"""The account in Binance Multi-Assets mode: one pool of every coin behind every cross position."""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from marginlab.domain import events as ev
from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, Side
from marginlab.domain.instrument import Instrument
from marginlab.domain.liquidation import solve_price
from marginlab.domain.tiers import TierTable
from marginlab.errors import InputError, MarginLabError, OperationRejected
from marginlab.rules import get_venue

D = Decimal
ZERO = D(0)
BINANCE = get_venue("binance")
FLAT = TierTable.flat(mmr=D("0.005"), max_leverage=D(100))
BTCUSDT = replace(BINANCE.instrument("BTCUSDT"), tiers=FLAT)
TABLE = BINANCE.collateral
assert TABLE is not None
PLAIN = TABLE.with_overrides({"USDT": {"value_ratio": D(1)}, "USDC": {"value_ratio": D(1)}})


def ratio(numerator: int, denominator: str) -> Decimal:
    """Return numerator / denominator at the solver's 50 digits."""
    with localcontext() as ctx:
        ctx.prec = 50
        return D(numerator) / D(denominator)


def btc_long_on_btc_wallet() -> Account:
    account = Account(BINANCE, balances={"BTC": D(1)}, multi_assets=True)
    account.import_position(BTCUSDT, Side.LONG, D(1), D(100_000), leverage=D(10))
    return account


# ---------------------------------------------------------------- the bundled table


def test_bundled_table_holds_the_faq_haircuts() -> None:
    assert TABLE.published == "2021-05-28"
    ratios = {a: row.value_ratio for a, row in TABLE.assets.items()}
    assert ratios["BTC"] == ratios["ETH"] == ratios["BNB"] == D("0.95")
    assert ratios["XRP"] == ratios["ADA"] == ratios["DOT"] == ratios["SOL"] == D("0.90")
    assert ratios["USDT"] == ratios["USDC"] == D("0.9999")
    assert ratios["BUSD"] == D(1)
    assert TABLE.assets["BTC"].index_symbol == "BTCUSDT"
    assert any("c983a9268cfa4e70a4916c276bb3b7bc" in url for _, url in TABLE.sources)


def test_other_venues_refuse_multi_assets_naming_the_venue() -> None:
    with pytest.raises(OperationRejected, match=r"Bybit.*no Multi-Assets mode"):
        Account(get_venue("bybit"), balances={"BTC": D(1)}, multi_assets=True)


def test_unknown_collateral_asset_is_an_error_naming_it() -> None:
    with pytest.raises(InputError, match=r"balances\.DOGE.*BTC"):
        Account(BINANCE, balances={"DOGE": D(1)}, multi_assets=True)
    with pytest.raises(InputError, match=r"index_prices\.PEPE"):
        Account(BINANCE, multi_assets=True, index_prices={"PEPE": D(1)})


# ---------------------------------------------------------------- collateral that moves with the position


def test_btc_wallet_is_valued_at_the_btcusdt_mark_with_its_haircut() -> None:
    account = btc_long_on_btc_wallet()
    margin = account.multi_assets_margin()
    assert account.index_price("BTC") == D(100_000)
    assert margin.asset_value("BTC") == D(95_000)  # 95 % haircut
    assert margin.account_maintenance_margin() == D(500)  # 100,000 * 0.5 % at USDT ask 1
    assert account.margin_ratio(account.position("BTCUSDT")) == D(500) / D(95_000)


def test_liquidation_price_counts_the_collateral_falling_with_the_position() -> None:
    # 0.95 P (the BTC wallet) + (P - 100,000) (a USDT debt at ask 1) = 0.005 P  ->  P = 100,000 / 1.945
    account = btc_long_on_btc_wallet()
    btc = account.position("BTCUSDT")
    liq = account.liquidation_price(btc)
    assert liq is not None
    assert liq == +ratio(100_000, "1.945")  # the exact root, reported to 28 significant digits
    bankruptcy = account.bankruptcy_price(btc)
    assert bankruptcy is not None
    assert bankruptcy == +ratio(100_000, "1.95")
    # a wallet that did not move with BTC (USDT worth 95,000 after haircut) would put it at 5,025.13
    assert liq > D(51_000)


def test_marks_one_tick_either_side_of_the_liquidation_price() -> None:
    account = btc_long_on_btc_wallet()
    liq = account.liquidation_price(account.position("BTCUSDT"))
    assert liq is not None
    above = liq.quantize(D("0.1")) + D("0.1")
    assert account.update_marks({"BTCUSDT": above})[-1] == ev.MarkUpdated(symbol="BTCUSDT", mark=above)
    assert account.positions
    events = account.update_marks({"BTCUSDT": above - D("0.2")})
    assert any(isinstance(e, ev.Liquidated) for e in events)
    assert not account.positions


def test_a_plain_usdt_pool_gives_the_single_asset_liquidation_price() -> None:
    # index 1, no buffer, no haircut: Multi-Assets must agree with Binance's single-asset cross formula
    tiers = BINANCE.instrument("BTCUSDT")
    multi = Account(BINANCE, balances={"USDT": D(1000)}, multi_assets=True, collateral=PLAIN)
    single = Account(BINANCE, balances={"USDT": D(1000)})
    for account in (multi, single):
        account.import_position(tiers, Side.SHORT, D("0.7"), D(60_000), mark=D(61_000), leverage=D(50))
    m, s = multi.position("BTCUSDT"), single.position("BTCUSDT")
    assert m.mode is MarginMode.CROSS
    lm, ls = multi.liquidation_price(m), single.liquidation_price(s)
    assert lm is not None and ls is not None
    assert abs(lm - ls) < D("1e-30")
    legs = [single.leg(s)]
    exact = solve_price(legs, D(1000), reference=s.mark)
    assert exact is not None
    assert ls == +exact  # the exact root, reported to 28 significant digits


def test_tier_breakpoints_are_honoured_with_collateral() -> None:
    # bundled BTCUSDT tiers: the notional at the liquidation price picks the tier (no approximation)
    instrument = BINANCE.instrument("BTCUSDT")
    account = Account(BINANCE, balances={"BTC": D(30)}, multi_assets=True)
    account.import_position(instrument, Side.LONG, D(40), D(100_000), leverage=D(10))
    pos = account.position("BTCUSDT")
    liq = account.liquidation_price(pos)
    assert liq is not None
    with localcontext() as ctx:
        ctx.prec = 50
        there = account.multi_assets_margin().repriced(
            "BTCUSDT", liq, reference=pos.mark, coins=account.moving_collateral("BTCUSDT")
        )
        gap = there.account_equity() - there.account_maintenance_margin()
    assert abs(gap) < D("1e-18")  # the price is reported to 28 significant digits (~1e-23 here)
    # the notional at the liquidation price lies beyond the first tiers: the solver used a deeper tier
    assert pos.tier(liq) != pos.tier(pos.mark)


# ---------------------------------------------------------------- rules


def test_isolated_is_refused_in_multi_assets_mode() -> None:
    account = Account(BINANCE, balances={"USDT": D(1000)}, multi_assets=True)
    with pytest.raises(OperationRejected, match="cross only"):
        account.open("ETHUSDT", Side.LONG, D(1), D(3000), mode=MarginMode.ISOLATED)
    with pytest.raises(OperationRejected, match="cross only"):
        account.set_margin_mode("ETHUSDT", MarginMode.ISOLATED)
    assert account.wallets == {"USDT": D(1000)}


def test_usdc_wallet_margins_a_usdt_position() -> None:
    account = Account(BINANCE, balances={"USDC": D(1000)}, multi_assets=True)
    account.open("BTCUSDT", Side.LONG, D("0.1"), D(100_000), leverage=D(20))
    # the USDT fee is a USDT debt; the USDC wallet still backs the position
    assert account.wallet("USDT") == D(-5)
    assert account.wallet("USDC") == D(1000)
    margin = account.multi_assets_margin()
    assert margin.account_equity() == D(1000) * D("0.9999") - D(5)
    with pytest.raises(OperationRejected):  # single-asset mode: nothing in USDT
        Account(BINANCE, balances={"USDC": D(1000)}).open(
            "BTCUSDT", Side.LONG, D("0.1"), D(100_000), leverage=D(20)
        )


def test_liquidation_takes_the_whole_pool() -> None:
    account = Account(BINANCE, balances={"BTC": D(1), "USDT": D(100)}, multi_assets=True)
    account.open("BTCUSDT", Side.LONG, D(1), D(100_000), leverage=D(10))  # fee 50 USDT
    events = account.update_marks({"BTCUSDT": D(50_000)})
    liquidated = [e for e in events if isinstance(e, ev.Liquidated)]
    seized = {e.asset: e for e in events if isinstance(e, ev.CollateralSeized)}
    assert len(liquidated) == 1
    # the pool before the loss: 1 BTC at 50,000 + 50 USDT
    assert liquidated[0].loss == D(50_050)
    assert seized["BTC"].amount == D(1)
    assert seized["BTC"].value == D(50_000)
    assert seized["USDT"].amount == D(50) - D(50_000)
    assert account.wallets == {"BTC": D(0), "USDT": D(0)}
    # money is conserved per asset: BTC deposited = BTC seized; USDT deposits + PnL = fees + seized
    assert account.collateral_seized["BTC"] == D(1)
    assert D(100) + account.trading_pnl == account.fees_paid + account.collateral_seized["USDT"]


def test_a_failed_operation_leaves_the_collateral_state_unchanged() -> None:
    account = btc_long_on_btc_wallet()
    before = (account.wallets, account.index_price("BTC"), account.positions)
    with pytest.raises(OperationRejected):
        account.increase("BTCUSDT", D(100), D(100_000))
    assert (account.wallets, account.index_price("BTC"), account.positions) == before


def test_index_of_a_coin_without_mark_must_be_given() -> None:
    account = Account(BINANCE, balances={"ETH": D(2)}, multi_assets=True)
    with pytest.raises(InputError, match=r"index_prices\.ETH.*ETHUSDT mark"):
        account.multi_assets_margin()
    priced = Account(BINANCE, balances={"ETH": D(2)}, multi_assets=True, index_prices={"ETH": D(3000)})
    assert priced.multi_assets_margin().account_equity() == D(5700)


def test_stablecoin_index_prices_the_coin_marks() -> None:
    account = Account(BINANCE, balances={"BTC": D(1)}, multi_assets=True, index_prices={"USDT": D("0.99")})
    account.update_marks({"BTCUSDT": D(100_000)})
    assert account.index_price("BTC") == D(99_000)  # BTCUSDT mark x USDTUSD


def test_custom_instrument_settling_in_an_unknown_asset_is_refused() -> None:
    odd = Instrument(symbol="BTCDAI", base="BTC", settle="DAI", tiers=FLAT)
    account = Account(BINANCE, balances={"USDT": D(1000)}, multi_assets=True)
    with pytest.raises(InputError, match=r"DAI"):
        account.import_position(odd, Side.LONG, D("0.01"), D(100_000), leverage=D(10))


# ---------------------------------------------------------------- property: money in a shared pool

STABLES = ("USDT", "USDC")
COINS = {"BTC": "BTCUSDT", "ETH": "ETHUSDT"}
MARKETS = {"BTCUSDT": D(100_000), "ETHUSDT": D(3000), "ETHUSDC": D(3000)}
opens = st.tuples(
    st.just("open"),
    st.sampled_from(sorted(MARKETS)),
    st.sampled_from([Side.LONG, Side.SHORT]),
    st.integers(min_value=20, max_value=95),
    st.sampled_from([D(5), D(10), D(20), D(50)]),
)
steps = st.lists(
    st.one_of(
        opens,
        st.tuples(
            st.just("mark"),
            st.sampled_from(sorted(MARKETS)),
            st.sampled_from([-500, -300, -150, -50, 50, 150, 300]),
        ),
        st.tuples(
            st.just("close"), st.sampled_from(sorted(MARKETS)), st.integers(min_value=-50, max_value=50)
        ),
        st.tuples(
            st.just("funding"), st.sampled_from(sorted(MARKETS)), st.sampled_from([D("0.0001"), D("-0.003")])
        ),
    ),
    max_size=25,
)
scenarios = st.tuples(opens, steps).map(lambda first_and_rest: [first_and_rest[0], *first_and_rest[1]])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=scenarios, btc=st.integers(min_value=0, max_value=3), usdc=st.integers(min_value=0, max_value=20_000)
)
def test_pool_conserves_every_asset_and_never_stays_liquidatable(
    ops: list[tuple[Any, ...]], btc: int, usdc: int
) -> None:
    balances = {"BTC": D(btc), "ETH": D(1), "USDC": D(usdc), "USDT": D(500)}
    account = Account(BINANCE, balances=balances, multi_assets=True)
    account.update_marks({"BTCUSDT": MARKETS["BTCUSDT"], "ETHUSDT": MARKETS["ETHUSDT"]})
    marks = dict(MARKETS)
    for op in ops:
        before = (account.wallets, account.positions, account.collateral_seized, account.fees_paid)
        try:
            if op[0] == "open":
                _, symbol, side, percent, leverage = op
                # a share of what the pool makes available, in the contract's settlement asset
                settle = BINANCE.instrument(symbol).settle
                budget = account.available_balance(settle) * leverage * percent / 100 / marks[symbol]
                account.open(
                    symbol,
                    side,
                    max(budget, D("0.001")).quantize(D("0.001"), ROUND_DOWN),
                    marks[symbol],
                    leverage=leverage,
                )
            elif op[0] == "mark":
                _, symbol, move = op
                marks[symbol] = (marks[symbol] * (1000 + move) / 1000).quantize(D("0.01"))
                account.update_marks({symbol: marks[symbol]})
            elif op[0] == "close":
                _, symbol, move = op
                account.close(symbol, (marks[symbol] * (1000 + move) / 1000).quantize(D("0.01")))
            else:
                _, symbol, rate = op
                account.apply_funding({symbol: rate})
        except MarginLabError:
            assert (
                account.wallets,
                account.positions,
                account.collateral_seized,
                account.fees_paid,
            ) == before
            continue
        # coins are never traded: what was deposited is in the wallet or was seized by a liquidation
        for coin in COINS:
            assert account.wallet(coin) + account.collateral_seized.get(coin, ZERO) == balances[coin]
        # stablecoins: deposits + trading PnL + funding = wallets + fees + seized, exactly
        held = sum((account.wallet(a) + account.collateral_seized.get(a, ZERO) for a in STABLES), ZERO)
        deposits = sum((balances[a] for a in STABLES), ZERO)
        assert held + account.fees_paid == deposits + account.trading_pnl + account.funding
        if account.positions:
            assert not account.multi_assets_margin().is_liquidatable()
        event("pool liquidated" if account.collateral_seized else "pool intact")


def test_ccxt_view_reports_the_pool_as_the_cross_collateral() -> None:
    from marginlab.app.calculator import ccxt_position

    account = btc_long_on_btc_wallet()
    view = ccxt_position(account, account.position("BTCUSDT"))
    assert view["collateral"] == D(95_000)  # 1 BTC at 100,000 after the 95 % haircut, USDT ask 1
    assert view["marginRatio"] == D(500) / D(95_000)
