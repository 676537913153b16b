"""The replay's opening rules: one money rule for isolated margin, far entries, open-at-start, skipping."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np
import pytest

from marginlab.analysis.compare import compare, position_outcomes
from marginlab.analysis.replay import prepare_replay, replay_exact
from marginlab.errors import InputError
from marginlab.io.bars import Bars
from marginlab.io.schema import Portfolio, parse
from marginlab.rules import get_venue

VENUE = get_venue("binance")


def bars(prices: dict[str, list[float]]) -> Bars:
    n = len(next(iter(prices.values())))
    times = np.arange(n).astype("timedelta64[h]") + np.datetime64("2025-01-01T00:00", "ns")
    rows = {s: np.column_stack([p, p, p, p]).astype(float) for s, p in prices.items()}
    return Bars(times=times, last=rows, mark=rows, funding={})


def book(balance: str, *positions: dict[str, str]) -> Portfolio:
    return parse(Portfolio, {"balances": {"USDT": balance}, "positions": list(positions)})


BARS = bars({"BTCUSDT": [100_000.0, 99_000.0, 101_000.0], "ETHUSDT": [4_000.0, 4_100.0, 3_900.0]})
ISO_BTC = {"symbol": "BTCUSDT", "side": "long", "qty": "0.05", "leverage": "10", "mode": "isolated"}


def test_isolated_margin_sits_on_top_of_balances_with_or_without_entry() -> None:
    with_entry = book("9500", {**ISO_BTC, "entry": "100000"})
    without = book("9500", ISO_BTC)
    a = replay_exact(prepare_replay(with_entry, VENUE, BARS).portfolio, VENUE, BARS, "hybrid")
    b = replay_exact(prepare_replay(without, VENUE, BARS).portfolio, VENUE, BARS, "hybrid")
    fee = D("0.05") * D(100_000) * VENUE.instrument("BTCUSDT").taker_fee
    assert a.start_equity == D(10_000)  # 9,500 of balances + 500 of isolated margin on top
    assert b.start_equity == D(10_000)  # the same money; it pays the opening fee in the first bar
    assert a.final_equity - b.final_equity == fee


def test_same_money_in_every_mode_for_positions_opened_in_the_replay() -> None:
    model = book("9500", ISO_BTC, {"symbol": "ETHUSDT", "side": "short", "qty": "1", "leverage": "5"})
    result = compare(model, VENUE, BARS)
    starts = {m: r.start_equity for m, r in result.results.items()}
    assert len(set(starts.values())) == 1, starts
    assert starts["hybrid"] == D(10_000)


def test_an_entry_far_from_the_first_bar_is_warned_about_with_what_to_change() -> None:
    eth = {"symbol": "ETHUSDT", "side": "short", "qty": "2", "leverage": "20"}
    model = book("10000", {**eth, "entry": "3500"})
    (warning,) = prepare_replay(model, VENUE, BARS).warnings
    assert "entry 3500 is 12.5 % below the data's first price 4000.0" in warning
    assert "--open-at-start" in warning
    near = book("10000", {**eth, "entry": "3900"})
    assert prepare_replay(near, VENUE, BARS).warnings == ()


def test_open_at_start_ignores_the_file_s_entry_and_mark() -> None:
    model = book("10000", {**ISO_BTC, "entry": "50000", "mark": "60000"})
    prepared = prepare_replay(model, VENUE, BARS, open_at_start=True)
    (spec,) = prepared.portfolio.positions
    assert spec.entry is None and spec.mark is None
    assert prepared.warnings == ()
    assert prepared.portfolio.balances["USDT"] == D(10_500)  # its 500 margin on top, opened at 100,000
    result = replay_exact(prepared.portfolio, VENUE, BARS, "hybrid")
    assert result.liquidations == []


def test_a_position_in_a_symbol_the_data_lacks_is_skipped_with_a_note() -> None:
    model = book("10000", ISO_BTC, {"symbol": "DOGEUSDT", "side": "long", "notional": "100", "leverage": "5"})
    prepared = prepare_replay(model, VENUE, BARS)
    assert [p.symbol for p in prepared.portfolio.positions] == ["BTCUSDT"]
    assert prepared.notes == (
        "positions[1] DOGEUSDT long skipped: the data has no DOGEUSDT (it has BTCUSDT, ETHUSDT)",
    )
    with pytest.raises(InputError, match="at least one position"):
        prepare_replay(book("10000", {"symbol": "DOGEUSDT", "side": "long", "qty": "1"}), VENUE, BARS)


def test_a_book_with_negative_available_balance_is_warned_about() -> None:
    model = book("100", {**ISO_BTC, "qty": "1", "entry": "100000", "mode": "cross"})
    (warning,) = compare(model, VENUE, BARS, ("hybrid",)).warnings
    assert warning.startswith("the available balance is -9900.00 USDT at the start")


def test_closest_call_names_liquidated_positions_and_measures_survivors() -> None:
    crash = bars({"BTCUSDT": [100_000.0, 95_000.0, 80_000.0], "ETHUSDT": [4_000.0, 4_000.0, 4_000.0]})
    model = book(
        "10000",
        {**ISO_BTC, "entry": "100000"},
        {**ISO_BTC, "symbol": "ETHUSDT", "qty": "1", "entry": "4000", "leverage": "5"},
    )
    result = replay_exact(model, VENUE, crash, "hybrid")
    outcomes = {o.label: o for o in position_outcomes(result, crash)}
    btc, eth = outcomes["BTCUSDT long"], outcomes["ETHUSDT long"]
    assert btc.label == "BTCUSDT long" and btc.liquidated_at == "2025-01-01T02:00:00Z"
    assert btc.closest_distance is None
    # ETH 5x isolated: liquidation at 4000 * (1 - 0.2) / (1 - mmr) with ETH's tier-1 mmr
    lp = float(model and result.liquidation_prices["ETHUSDT long"][-1])  # type: ignore[arg-type]
    assert eth.liquidated_at is None
    assert float(eth.closest_distance) == pytest.approx((4000 - lp) / 4000)  # type: ignore[arg-type]
