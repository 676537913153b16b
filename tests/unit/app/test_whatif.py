"""The what-if use case: the seed example at real prices, checked against the calculator's own figures."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marginlab.app import calculator, whatif
from marginlab.app.inputs import read_portfolio
from marginlab.errors import InputError
from marginlab.io.schema import Portfolio
from support import EXAMPLES, book

SEED = EXAMPLES / "seed.toml"
TICK = D("0.1")  # BTCUSDT's price step


def calculator_portfolio() -> Portfolio:
    return read_portfolio(SEED)


def seed_liquidation_price() -> D:
    report = calculator.liquidation(calculator.PortfolioRequest(portfolio=calculator_portfolio()))
    price = report.positions[0].liquidation_price
    assert price is not None
    return price


@pytest.fixture(scope="module")
def seed() -> whatif.PreparedBook:
    return whatif.prepare(whatif.WhatIfRequest(book=SEED))


def test_the_seed_at_its_marks_loses_nothing(seed: whatif.PreparedBook) -> None:
    report = whatif.move(seed)
    assert seed.marks == {"BTCUSDT": D(100000)}
    assert seed.asset == "USDT"
    assert list(report.scenarios) == ["as-is", "cross", "isolated"]
    for outcome in report.scenarios.values():
        assert outcome.equity_before == D(10000)
        assert outcome.equity_after == D(10000)
        assert outcome.liquidated == ()
    as_is = report.scenarios["as-is"].positions[0]
    assert as_is.liquidation_price == seed_liquidation_price()
    assert abs(as_is.liquidation_price - D(90000) / D("0.996")) < D("1e-20")


def test_the_seed_liquidates_at_its_liquidation_price_on_the_tick_and_not_one_tick_before(
    seed: whatif.PreparedBook,
) -> None:
    liq = seed_liquidation_price()  # 90,361.4457… = 90,000 / 0.996 (isolated, $500 margin, MMR 0.4 %)
    at = whatif.move(seed, {"BTCUSDT": "90361.4"})  # the liquidation price on BTCUSDT's 0.1 tick
    before = whatif.move(seed, {"BTCUSDT": "90361.5"})  # one tick before the market gets there
    assert at.scenarios["as-is"].liquidated == ("BTCUSDT long",)
    assert before.scenarios["as-is"].liquidated == ()
    assert before.scenarios["as-is"].positions[0].liquidation_price == liq
    # at 90,361.4 the isolated margin holds 500 + 0.05 × (90,361.4 − 100,000) = 18.07; Binance takes the
    # position over at its bankruptcy price, so the whole $500 goes and the cross wallet's 9,500 is left
    after = at.scenarios["as-is"]
    assert after.equity_at_prices == D("9518.07")
    assert after.equity_after == D(9500)
    assert after.positions[0].loss == D(500)
    assert after.positions[0].distance_to_liquidation == -(liq - D("90361.4")) / D("90361.4")
    safe = before.scenarios["as-is"].positions[0]
    assert safe.distance_to_liquidation == (D("90361.5") - liq) / D("90361.5")
    # all-isolated is the same book; all-cross has the whole $10,000 behind a $5,000 long: no price liquidates
    assert at.scenarios["isolated"].liquidated == ("BTCUSDT long",)
    assert at.scenarios["cross"].liquidated == ()
    assert at.scenarios["cross"].positions[0].liquidation_price is None
    assert at.scenarios["cross"].equity_after == D("9518.07")


def test_a_move_exactly_to_a_liquidation_price_liquidates_one_tick_before_does_not() -> None:
    # MMR 6.25 %: 500 + 0.05 × (p − 100,000) = 0.0625 × 0.05 × p at p = 90,000 / 0.9375 = 96,000 exactly
    spec = {"symbol": "BTCUSDT", "side": "long", "qty": "0.05", "entry": "100000", "leverage": "10"}
    portfolio = book(spec | {"mode": "isolated", "mmr": "0.0625"}, usdt="9500")
    prepared = whatif.prepare(whatif.WhatIfRequest(book=portfolio))
    (pos,) = calculator.liquidation(calculator.PortfolioRequest(portfolio=portfolio)).positions
    assert pos.liquidation_price == D(96000)
    at = whatif.move(prepared, {"BTCUSDT": pos.liquidation_price})
    before = whatif.move(prepared, {"BTCUSDT": pos.liquidation_price + TICK})
    assert at.scenarios["as-is"].liquidated == ("BTCUSDT long",)
    assert before.scenarios["as-is"].liquidated == ()


def test_a_cross_book_liquidates_as_a_pool_at_the_calculators_cross_price() -> None:
    # $1,500 wallet behind a cross $5,000 long at 10×: 1,500 + 0.05 (p − 100,000) = 0.004 × 0.05 p
    spec = {"symbol": "BTCUSDT", "side": "long", "qty": "0.05", "entry": "100000", "leverage": "10"}
    portfolio = book(spec, usdt="1500")
    prepared = whatif.prepare(whatif.WhatIfRequest(book=portfolio))
    (pos,) = calculator.liquidation(calculator.PortfolioRequest(portfolio=portfolio)).positions
    liq = pos.liquidation_price
    assert liq is not None
    assert abs(liq - D(3500) / D("0.0498")) < D("1e-20")  # 70,281.12…
    at, before = (whatif.move(prepared, {"BTCUSDT": p}) for p in ("70281.1", "70281.2"))
    assert at.scenarios["as-is"].liquidated == ("BTCUSDT long",)
    assert before.scenarios["as-is"].liquidated == ()
    assert before.scenarios["as-is"].positions[0].liquidation_price == liq
    assert at.scenarios["as-is"].equity_after == 0  # the whole cross wallet goes with it
    # all-isolated keeps the $1,000 the position does not need out of its reach
    assert at.scenarios["isolated"].equity_after == D(1000)


def test_a_fall_of_ten_percent_moves_every_symbol(seed: whatif.PreparedBook) -> None:
    report = whatif.move(seed, change=D("-0.1"))
    assert report.prices == {"BTCUSDT": D(90000)}
    assert report.scenarios["as-is"].liquidated == ("BTCUSDT long",)
    assert report.scenarios["cross"].liquidated == ()
    # per-symbol price and the global move compose: 95,000 then −10 % = 85,500
    assert whatif.move(seed, {"BTCUSDT": "95000"}, "-0.1").prices == {"BTCUSDT": D(85500)}


def test_a_venue_book_and_the_same_portfolio_file_agree(seed: whatif.PreparedBook) -> None:
    venue_book = whatif.Book(
        balances={"USDT": D(9500)},
        positions=[
            whatif.BookPosition(
                symbol="BTCUSDT",
                side="long",
                qty=D("0.05"),
                entry=D(100000),
                mark=D(100000),
                leverage=D(10),
                mode="isolated",
                margin=D(500),
            )
        ],
    )
    prepared = whatif.prepare(whatif.WhatIfRequest(book=venue_book))
    assert whatif.move(prepared, change="-0.05") == whatif.move(seed, change="-0.05")


@pytest.mark.parametrize(
    ("prices", "change", "message"),
    [
        ({"ETHUSDT": "3000"}, 0, r"prices\.ETHUSDT: not a symbol of the book \(it holds BTCUSDT\)"),
        ({"BTCUSDT": "-1"}, 0, r"prices\.BTCUSDT: expected a price > 0, was '-1'"),
        ({"BTCUSDT": "abc"}, 0, r"prices\.BTCUSDT: expected a number, was 'abc'"),
        ({}, "-1", r"change: expected a move above -100 %"),
    ],
)
def test_bad_moves_are_refused_in_one_line(
    seed: whatif.PreparedBook, prices: dict[str, str], change: object, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        whatif.move(seed, prices, change)


def test_all_isolated_without_the_cash_is_refused_with_the_reason_and_the_rest_still_runs() -> None:
    spec = {"symbol": "BTCUSDT", "side": "long", "qty": "1", "entry": "100000", "leverage": "5"}
    report = whatif.what_if(whatif.WhatIfRequest(book=book(spec, usdt="15000")), change="-0.01")
    assert report.scenarios["isolated"].refused == (
        "balances.USDT: expected enough to isolate positions[0], was 15000"
    )
    assert report.scenarios["isolated"].positions == ()
    assert report.scenarios["as-is"].equity_after == D(14000)


# ---------------------------------------------------------------------------------------------- properties
SYMBOLS = {"BTCUSDT": D(60000), "ETHUSDT": D(3000), "DOGEUSDT": D("0.2")}


@st.composite
def books(draw: st.DrawFn, mode: str | None = None) -> Portfolio:
    positions = []
    for symbol in draw(st.lists(st.sampled_from(list(SYMBOLS)), min_size=1, max_size=3, unique=True)):
        entry = SYMBOLS[symbol]
        notional = D(draw(st.integers(100, 200_000)))
        positions.append(
            {
                "symbol": symbol,
                "side": draw(st.sampled_from(["long", "short"])),
                "notional": str(notional),
                "entry": str(entry),
                "mark": str(entry * D(draw(st.integers(90, 110))) / 100),
                "leverage": str(draw(st.integers(1, 20))),
                "mode": mode or draw(st.sampled_from(["cross", "isolated"])),
            }
        )
    return book(*positions, usdt=str(draw(st.integers(20_000, 400_000))))


moves = st.integers(-60, 60).map(lambda pct: D(pct) / 100)


@settings(max_examples=25, deadline=None)
@given(portfolio=books(mode="cross"), change=moves)
def test_as_is_equals_all_cross_when_every_position_is_cross(portfolio: Portfolio, change: D) -> None:
    report = whatif.what_if(whatif.WhatIfRequest(book=portfolio), change=change)
    as_is, cross = report.scenarios["as-is"], report.scenarios["cross"]
    assert as_is.positions == cross.positions
    assert (as_is.equity_before, as_is.equity_after) == (cross.equity_before, cross.equity_after)


@settings(max_examples=25, deadline=None)
@given(portfolio=books(mode="isolated"), change=moves)
def test_as_is_equals_all_isolated_when_every_position_is_isolated(portfolio: Portfolio, change: D) -> None:
    report = whatif.what_if(whatif.WhatIfRequest(book=portfolio), change=change)
    as_is, isolated = report.scenarios["as-is"], report.scenarios["isolated"]
    assert as_is.positions == isolated.positions
    assert as_is.equity_after == isolated.equity_after


@settings(max_examples=25, deadline=None)
@given(portfolio=books(), change=moves)
def test_isolated_liquidation_is_the_moved_price_crossing_the_liquidation_price(
    portfolio: Portfolio, change: D
) -> None:
    report = whatif.what_if(whatif.WhatIfRequest(book=portfolio), change=change)
    for r in report.scenarios["isolated"].positions:
        if r.liquidation_price is None:  # 1× long: no positive price empties its margin
            assert r.qty_liquidated == 0
            continue
        beyond = r.price <= r.liquidation_price if r.side == "long" else r.price >= r.liquidation_price
        # the engine liquidates (fully, or a tier step first) exactly when the price is at or past it
        assert (r.qty_liquidated > 0) == beyond
        assert r.liquidated <= beyond
        # an isolated position never costs more than its margin, even past its bankruptcy price
        assert r.loss <= r.at_stake
    for name, outcome in report.scenarios.items():
        if outcome.refused is None:
            assert outcome.equity_after >= 0, name


def test_the_json_document_carries_the_figures_as_decimal_strings(seed: whatif.PreparedBook) -> None:
    from marginlab.render import whatif_book_json, whatif_json

    start = whatif_book_json(seed)
    assert start["marks"] == {"BTCUSDT": "100000"}
    assert start["ticks"] == {"BTCUSDT": "0.1"}
    assert start["scenarios"] == ["as-is", "cross", "isolated"]
    doc = whatif_json(whatif.move(seed, {"BTCUSDT": "90361.4"}))
    as_is = doc["scenarios"]["as-is"]
    assert as_is["equity_after"] == "9500"
    assert as_is["equity_at_prices"] == "9518.07"
    assert as_is["liquidated"] == ["BTCUSDT long"]
    (pos,) = as_is["positions"]
    assert pos["label"] == "BTCUSDT long"
    assert pos["liquidation_price"] == "90361.44578313"
    assert pos["liquidated"] is True
    assert pos["mode"] == "isolated"
    assert doc["scenarios"]["cross"]["positions"][0]["liquidation_price"] is None
