"""Bundled scenarios: every one loads with its documented shape, sane prices and the known crash lows."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from marginlab.errors import DataError
from marginlab.io.scenarios import list_scenarios, load_scenario
from marginlab.render import scenario_json

EXPECTED = {
    # name: (interval, symbols, start, end)
    "2020-03-12": ("1h", ("BTCUSDT", "ETHUSDT", "XRPUSDT"), "2020-03-10", "2020-03-16"),
    "2021-05-19": ("1h", ("BTCUSDT", "ETHUSDT", "XRPUSDT"), "2021-05-17", "2021-05-22"),
    "2022-06-13": (
        "5min",
        ("BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "XRPUSDT"),
        "2022-06-11",
        "2022-06-20",
    ),
    "2022-11-09": ("1h", ("BTCUSDT", "ETHUSDT", "XRPUSDT"), "2022-11-06", "2022-11-12"),
    "2025-04-07": (
        "5min",
        ("BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "XRPUSDT", "BNBUSDT"),
        "2025-04-05",
        "2025-04-10",
    ),
    "2025-10-10": (
        "5min",
        ("BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "XRPUSDT", "BNBUSDT"),
        "2025-10-09",
        "2025-10-13",
    ),
    "2025-05": ("1min", ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "BNBUSDT"), "2025-05-05", "2025-06-04"),
}

# (scenario, symbol, "last" | "mark", price, bar open time) — lows quoted in the shared data README
LOWS = [
    ("2020-03-12", "BTCUSDT", "last", 3621.81, "2020-03-13 02:00"),
    ("2020-03-12", "BTCUSDT", "mark", 3801.83057975, "2020-03-13 02:00"),
    ("2021-05-19", "BTCUSDT", "last", 28688.0, "2021-05-19 13:00"),
    ("2021-05-19", "ETHUSDT", "last", 1400.73, "2021-05-19 13:00"),
    ("2021-05-19", "ETHUSDT", "mark", 1764.25818052, "2021-05-19 13:00"),
    ("2022-06-13", "BTCUSDT", "last", 17622.0, None),
    ("2022-11-09", "BTCUSDT", "last", 15462.6, "2022-11-09 22:00"),
    ("2025-04-07", "BTCUSDT", "last", 74457.0, "2025-04-07 07:00"),
    # the 10 Oct 2025 bottoms fall in the 15-minute bar 21:15-21:30 (5m bars 21:15 and 21:20)
    ("2025-10-10", "BTCUSDT", "last", 101516.5, "2025-10-10 21:20"),
    ("2025-10-10", "ETHUSDT", "last", 3400.0, "2025-10-10 21:20"),
    ("2025-10-10", "SOLUSDT", "last", 141.28, "2025-10-10 21:20"),
    ("2025-10-10", "DOGEUSDT", "last", 0.08385, "2025-10-10 21:20"),
    ("2025-10-10", "XRPUSDT", "last", 1.1792, "2025-10-10 21:20"),
    ("2025-10-10", "BNBUSDT", "last", 823.6, "2025-10-10 21:15"),
]


def test_list_scenarios_matches_the_documented_set() -> None:
    infos = {i.name: i for i in list_scenarios()}
    assert set(infos) == set(EXPECTED)
    for name, (interval, symbols, start, end) in EXPECTED.items():
        info = infos[name]
        assert info.interval_timedelta == pd.Timedelta(interval)
        assert info.interval == {"1h": "1h", "5min": "5m", "1min": "1m"}[interval]
        doc = scenario_json(info)
        assert doc["start"] == f"{start}T00:00:00Z" and doc["symbols"] == list(symbols)
        assert info.symbols == symbols
        assert (info.start, info.end) == (pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"))
        assert "Binance market data" in info.source
        assert set(info.mark_source) == set(symbols) and set(info.funding_source) == set(symbols)
        assert info.title and info.size_bytes > 0
    assert sum(i.size_bytes for i in infos.values()) < 6_000_000
    assert all("substitute" in s for s in infos["2025-10-10"].mark_source.values())
    assert all("SPOT" in s for s in infos["2022-06-13"].mark_source.values())
    assert all(s.startswith("real") for s in infos["2020-03-12"].mark_source.values())


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_scenario_loads_with_sane_prices(name: str) -> None:
    interval, symbols, start, end = EXPECTED[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no gaps in any bundled window
        data = load_scenario(name)
    assert data.symbols == symbols
    assert data.interval == pd.Timedelta(interval)
    assert data.span == (pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"))
    assert len(data) == (data.span[1] - data.span[0]) // data.interval
    assert data.gaps == ()
    for symbol in symbols:
        for price in ("last", "mark"):
            ohlc = data.ohlc(symbol, price)
            assert ohlc.dtype == np.float64 and np.isfinite(ohlc).all() and (ohlc > 0).all()
            assert (ohlc[:, 1] >= ohlc[:, [0, 3]].max(axis=1)).all()
            assert (ohlc[:, 2] <= ohlc[:, [0, 3]].min(axis=1)).all()
        # closes move less than 50 % bar to bar (the crash wicks are in highs and lows)
        close = data.last[symbol]["close"].to_numpy()
        assert (np.abs(np.diff(close) / close[:-1]) < 0.5).all()
        notes = " ".join(data.notes[symbol])
        assert "mark:" in notes and "funding:" in notes
        rates = data.funding[symbol]["rate"]
        assert (rates.abs() < 0.01).all()
        if not rates.empty:
            assert (rates.index >= data.span[0]).all() and (rates.index < data.span[1]).all()


def test_funding_every_8h_where_the_source_has_it() -> None:
    data = load_scenario("2020-03-12")
    events = data.funding["BTCUSDT"]
    assert len(events) == 18
    assert set(events.index.hour) == {0, 8, 16}
    assert events.loc[pd.Timestamp("2020-03-13 08:00", tz="UTC"), "rate"] == pytest.approx(-0.003)
    spot = load_scenario("2022-06-13")
    assert not spot.funding["BTCUSDT"].empty
    assert spot.funding["SOLUSDT"].empty and "funding = 0" in " ".join(spot.notes["SOLUSDT"])


@pytest.mark.parametrize(("name", "symbol", "price", "low", "when"), LOWS)
def test_crash_lows_are_in_the_bundled_data(
    name: str, symbol: str, price: str, low: float, when: str | None
) -> None:
    data = load_scenario(name)
    table = data.last[symbol] if price == "last" else data.mark[symbol]
    assert table["low"].min() == low
    if when is not None:
        assert table["low"].idxmin() == pd.Timestamp(when, tz="UTC")


def test_2025_04_07_eth_low_of_the_day() -> None:
    eth = load_scenario("2025-04-07").slice("2025-04-07", "2025-04-08").last["ETHUSDT"]
    assert eth["low"].min() == 1410.0


def test_black_thursday_eth_wick_that_mark_ignores() -> None:
    row = load_scenario("2020-03-12").frame("ETHUSDT").loc[pd.Timestamp("2020-03-13 02:00", tz="UTC")]
    assert row["high"] == 323.0
    assert row["mark_high"] == pytest.approx(119.47, abs=0.005)


def test_unknown_scenario_lists_the_known_names() -> None:
    with pytest.raises(DataError, match=r"unknown scenario '2008-09'.*2020-03-12.*2025-10-10"):
        load_scenario("2008-09")
