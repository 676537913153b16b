"""The advisor on the seed's canonical situations, with market data built by the test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marginlab import InputError, MarginMode, get_venue
from marginlab.analysis.advisor import (
    Evidence,
    Experience,
    Profile,
    Tolerance,
    advise,
    parse_profile,
    parse_trade,
)
from marginlab.io.candles import MarketData
from marginlab.io.schema import Portfolio, parse
from marginlab.render import advice_json

BINANCE = get_venue("binance")
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "XRPUSDT", "BNBUSDT")
START = {
    "BTCUSDT": 100000.0,
    "ETHUSDT": 4000.0,
    "SOLUSDT": 200.0,
    "DOGEUSDT": 0.2,
    "XRPUSDT": 2.5,
    "BNBUSDT": 1000.0,
}


def market(correlation: float, *, bars: int = 2000, seed: int = 7, calm_end: bool = True) -> MarketData:
    """Return 5m random walks whose pairwise return correlation is ``correlation``."""
    rng = np.random.default_rng(seed)
    common = rng.standard_normal(bars)
    index = pd.date_range("2025-01-01", periods=bars, freq="5min", tz="UTC").as_unit("ns")
    last = {}
    for symbol in SYMBOLS:
        own = rng.standard_normal(bars)
        shocks = 0.002 * (np.sqrt(correlation) * common + np.sqrt(1 - correlation) * own)
        close = START[symbol] * np.exp(np.cumsum(shocks))
        open_ = np.concatenate([[START[symbol]], close[:-1]])
        frame = pd.DataFrame(
            {
                "open": open_,
                "high": np.maximum(open_, close) * 1.0005,
                "low": np.minimum(open_, close) * 0.9995,
                "close": close,
            },
            index=index,
        )
        last[symbol] = frame
    return MarketData(index=index, interval=pd.Timedelta("5min"), last=last, mark=dict(last), funding={})


def portfolio(*positions: dict[str, str]) -> Portfolio:
    return parse(Portfolio, {"balances": {"USDT": "10000"}, "positions": list(positions)})


def test_a_newcomers_50x_altcoin_punt_is_isolated() -> None:
    advice = advise(
        portfolio(),
        parse_trade("DOGEUSDT long notional=1000 leverage=50"),
        BINANCE,
        market(0.8),
        Profile(experience=Experience.NEW, risk=Tolerance.MEDIUM, monitoring=False),
    )
    assert advice.recommendation is MarginMode.ISOLATED
    weights = {r.criterion: r.weight for r in advice.reasons}
    assert weights["experience"] == -2
    assert weights["conviction / leverage"] == -2
    assert "2.0 % move" in next(r.text for r in advice.reasons if r.criterion == "conviction / leverage")


def test_a_hedged_btc_long_short_pair_is_cross() -> None:
    book = portfolio({"symbol": "BTCUSDT", "side": "long", "qty": "0.1", "entry": "100000", "leverage": "10"})
    advice = advise(book, parse_trade("BTCUSDT short qty=0.1 leverage=10"), BINANCE, market(0.8), Profile())
    assert advice.recommendation is MarginMode.CROSS
    hedge = next(r for r in advice.reasons if r.criterion == "hedge")
    assert hedge.weight == 3
    assert "correlation 1.00" in hedge.text


def test_many_uncorrelated_positions_favour_cross() -> None:
    book = portfolio(
        {"symbol": "ETHUSDT", "side": "long", "qty": "0.5", "entry": "4000", "leverage": "10"},
        {"symbol": "SOLUSDT", "side": "short", "qty": "10", "entry": "200", "leverage": "10"},
        {"symbol": "XRPUSDT", "side": "long", "qty": "800", "entry": "2.5", "leverage": "10"},
    )
    advice = advise(
        book, parse_trade("BNBUSDT long notional=2000 leverage=10"), BINANCE, market(0.0), Profile()
    )
    diversified = next(r for r in advice.reasons if r.criterion == "diversified book")
    assert diversified.weight == 1
    assert advice.recommendation is MarginMode.CROSS
    # the same book in a market where everything moves together gives no diversification credit
    together = advise(
        book, parse_trade("BNBUSDT long notional=2000 leverage=10"), BINANCE, market(0.9), Profile()
    )
    assert next(r for r in together.reasons if r.criterion == "diversified book").weight == 0


def test_a_high_conviction_trade_by_an_experienced_monitoring_trader_is_cross() -> None:
    advice = advise(
        portfolio(),
        parse_trade("BTCUSDT long notional=20000 leverage=3"),
        BINANCE,
        market(0.8),
        Profile(experience=Experience.EXPERIENCED, risk=Tolerance.MEDIUM, monitoring=True),
    )
    assert advice.recommendation is MarginMode.CROSS
    assert advice.score == 3  # experienced +1, monitoring +1, 3x conviction +1


def test_monte_carlo_evidence_can_overrule_and_is_reported() -> None:
    def evidence(as_cross: Portfolio, as_isolated: Portfolio) -> dict[str, Evidence]:
        assert as_cross.positions[-1].mode is MarginMode.CROSS
        assert as_isolated.positions[-1].mode is MarginMode.ISOLATED
        return {
            "cross": Evidence(
                p_trade_liquidated=0.01, p_wipeout=0.08, expected_loss=900, es95=5000, es99=9900
            ),
            "isolated": Evidence(
                p_trade_liquidated=0.05, p_wipeout=0.0, expected_loss=300, es95=700, es99=700
            ),
        }

    profile = Profile(experience=Experience.EXPERIENCED, risk=Tolerance.LOW, monitoring=True)
    advice = advise(
        portfolio(),
        parse_trade("BTCUSDT long notional=20000 leverage=3"),
        BINANCE,
        market(0.8),
        profile,
        evidence=evidence,
    )
    wipe = next(r for r in advice.reasons if r.criterion == "Monte Carlo: wipe-out")
    assert wipe.weight == -2
    assert "0.00% to 8.00%" in wipe.text
    assert advice.recommendation is MarginMode.ISOLATED  # +1 +1 +1 −1 (low risk) −2 = 0: ties go isolated
    assert advice_json(advice)["evidence"]["cross"]["p_wipeout"] == 0.08


def test_open_positions_whose_mode_no_longer_fits_are_flagged() -> None:
    book = portfolio({"symbol": "DOGEUSDT", "side": "long", "qty": "5000", "entry": "0.2", "leverage": "50"})
    advice = advise(
        book,
        parse_trade("BTCUSDT long notional=1000 leverage=5"),
        BINANCE,
        market(0.8),
        Profile(experience=Experience.NEW),
    )
    assert any("DOGEUSDT long is cross" in flag and "favour isolated" in flag for flag in advice.flags)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("experience=guru", "--profile experience"),
        ("risk=extreme", "--profile risk"),
        ("monitoring=maybe", "--profile monitoring"),
        ("colour=blue", "--profile"),
    ],
)
def test_bad_profiles_name_the_field(text: str, field: str) -> None:
    with pytest.raises(InputError) as info:
        parse_profile(text)
    assert info.value.field == field


def test_bad_trades_are_clear_errors() -> None:
    with pytest.raises(InputError, match="--trade"):
        parse_trade("BTCUSDT")
    with pytest.raises(InputError, match="size=3"):
        parse_trade("BTCUSDT long size=3")
    with pytest.raises(InputError, match="side"):
        parse_trade("BTCUSDT sideways notional=10")


# --- one rule for the recommendation and the revisit list ----------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

MIXED = market(0.5, calm_end=False)
profiles = st.builds(
    Profile,
    experience=st.sampled_from(list(Experience)),
    risk=st.sampled_from(list(Tolerance)),
    monitoring=st.booleans(),
)
position = st.fixed_dictionaries(
    {
        "side": st.sampled_from(["long", "short"]),
        "leverage": st.sampled_from(["2", "5", "10", "20", "50"]),
        "mode": st.sampled_from(["cross", "isolated"]),
        "notional": st.sampled_from(["500", "2000", "10000"]),
    }
)


@settings(max_examples=60, deadline=None)
@given(
    profile=profiles,
    held=st.lists(position, max_size=4),
    trade=position,
    trade_symbol=st.sampled_from(SYMBOLS),
)
def test_the_recommendation_and_the_revisit_list_never_disagree(
    profile: Profile, held: list[dict[str, str]], trade: dict[str, str], trade_symbol: str
) -> None:
    specs = [{"symbol": s, **p} for s, p in zip(SYMBOLS, held, strict=False)]
    book = portfolio(*specs)
    words = f"{trade_symbol} {trade['side']} notional={trade['notional']} leverage={trade['leverage']}"
    advice = advise(book, parse_trade(words), BINANCE, MIXED, profile)
    flagged = {int(f.split("]")[0].removeprefix("positions[")): f for f in advice.flags}
    adds_to = next(
        (i for i, s in enumerate(specs) if s["symbol"] == trade_symbol and s["side"] == trade["side"]), None
    )
    assert adds_to not in flagged  # the position the trade adds to is the recommendation's subject
    for i, spec in enumerate(specs):
        if i == adds_to:
            continue
        rest = portfolio(*(s for j, s in enumerate(specs) if j != i))
        # the held position asked about as a trade beside the rest of the book: the same answer
        as_trade = parse_trade(
            f"{spec['symbol']} {spec['side']} notional={spec['notional']} leverage={spec['leverage']}"
        )
        fits = advise(rest, as_trade, BINANCE, MIXED, profile).recommendation
        if i in flagged:
            assert fits.value != spec["mode"] and f"favour {fits}" in flagged[i]
            assert "close it and reopen it" in flagged[i]  # Binance: no mode switch with a position open
        else:
            assert fits.value == spec["mode"]


def test_a_trade_in_a_held_symbol_is_advice_on_adding_to_it() -> None:
    book = portfolio(
        {
            "symbol": "DOGEUSDT",
            "side": "long",
            "qty": "5000",
            "entry": "0.2",
            "leverage": "25",
            "mode": "cross",
        }
    )
    advice = advise(
        book,
        parse_trade("DOGEUSDT long notional=1000 leverage=25"),
        BINANCE,
        market(0.8),
        Profile(experience=Experience.NEW, monitoring=False),
    )
    assert advice.recommendation is MarginMode.ISOLATED
    assert advice.adds_to == "positions[0] DOGEUSDT long (cross)"
    assert advice.action.startswith("the open DOGEUSDT long position is cross; the criteria favour isolated")
    assert "close it and reopen it isolated" in advice.action
    assert advice.flags == ()
    okx = advise(
        book, parse_trade("DOGEUSDT long notional=1000 leverage=25"), get_venue("okx"), market(0.8),
        Profile(experience=Experience.NEW, monitoring=False),
    )  # fmt: skip
    assert "switch it to isolated in place" in okx.action
