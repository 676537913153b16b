"""Monte Carlo risk: the GBM barrier-hitting probability, determinism across workers and chunks, the CIs."""

from __future__ import annotations

import math
from dataclasses import fields
from decimal import Decimal

import numba
import numpy as np
import pytest
from scipy.stats import norm

from marginlab.app import risk as risk_app
from marginlab.app.risk import parse_horizon, run_risk
from marginlab.errors import InputError
from marginlab.io.history import load_history
from marginlab.io.scenarios import load_scenario
from marginlab.io.schema import Portfolio, parse
from marginlab.render import risk_json
from marginlab.rules import get_venue
from marginlab.sim.api import compile_tiers, liquidation_prices
from marginlab.sim.montecarlo import (
    ChunkResult,
    Job,
    expected_shortfall,
    run_chunk,
    run_chunk_one_thread,
    wilson,
)
from marginlab.sim.paths import ModelParams

VENUE = get_venue("binance")
CRASH = load_scenario("2025-10-10")
BGK = 0.5826  # Broadie-Glasserman-Kou: -zeta(1/2) / sqrt(2 pi)


def one_position(side: str, leverage: str) -> Portfolio:
    position = {"symbol": "BTCUSDT", "side": side, "qty": "1", "entry": "60000", "leverage": leverage}
    return parse(Portfolio, {"balances": {"USDT": "10000"}, "positions": [position | {"mode": "isolated"}]})


def first_passage(b: float, nu: float, sigma: float, t: float) -> float:
    """Return P(min or max of nu t + sigma W reaches log-barrier b within t) (down if b < 0, up if b > 0)."""
    st = sigma * math.sqrt(t)
    if b > 0:
        b, nu = -b, -nu  # reflect: an up barrier of X is a down barrier of -X
    return float(norm.cdf((b - nu * t) / st) + math.exp(2 * nu * b / sigma**2) * norm.cdf((b + nu * t) / st))


@pytest.mark.parametrize(("side", "drift"), [("long", 0.0), ("short", 0.6)])
def test_gbm_liquidation_probability_matches_barrier_hitting(side: str, drift: float) -> None:
    vol, days, steps_per_day, paths = 0.8, 1.0, 96, 200_000
    portfolio = one_position(side, "20")
    params = ModelParams(vol=np.array([vol]), drift=np.array([drift]), corr=np.eye(1))
    report = run_risk(
        portfolio, VENUE, model="gbm", horizon=days, steps_per_day=steps_per_day, paths=paths, seed=11,
        params=params, modes=("isolated",),
    )  # fmt: skip
    p_mc = report.modes["isolated"].positions[0].p_liquidation
    s = 1 if side == "long" else -1
    lp = liquidation_prices(
        compile_tiers(VENUE, ["BTCUSDT"]), table=[0], side=[s], qty=[1.0], entry=[60000.0], fixed=[3000.0],
        mark=[60000.0],
    )[0]  # fmt: skip
    t, dt_years = days / 365, 1 / (365 * steps_per_day)
    shift = BGK * vol * math.sqrt(dt_years)
    b = (
        math.log(lp / 60000.0) - s * shift
    )  # discrete monitoring: the barrier moves away by exp(0.5826 sigma sqrt dt)
    p_theory = first_passage(b, drift - vol**2 / 2, vol, t)
    se = math.sqrt(p_theory * (1 - p_theory) / paths)
    assert 0.1 < p_theory < 0.5
    assert abs(p_mc - p_theory) < 3 * se, (p_mc, p_theory, se)
    lo, hi = report.modes["isolated"].positions[0].ci
    assert lo < p_mc < hi


def book() -> Portfolio:
    positions = [
        {"symbol": "BTCUSDT", "side": "long", "notional": "40000", "leverage": "10"},
        {"symbol": "ETHUSDT", "side": "short", "notional": "20000", "leverage": "10"},
        {"symbol": "SOLUSDT", "side": "long", "notional": "15000", "leverage": "20", "mode": "isolated"},
    ]
    return parse(Portfolio, {"balances": {"USDT": "8000"}, "positions": positions})


@pytest.mark.parametrize("model", ["gbm", "bootstrap"])
def test_same_seed_same_report_whatever_the_workers(model: str) -> None:
    from distributed import Client, LocalCluster

    kwargs = {"model": model, "horizon": "12h", "paths": 3000, "seed": 5, "chunk_size": 1000, "data": CRASH}
    local = risk_json(run_risk(book(), VENUE, **kwargs))  # type: ignore[arg-type]
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        remote = risk_json(run_risk(book(), VENUE, scheduler=client, **kwargs))  # type: ignore[arg-type]
    assert remote == local
    assert local != risk_json(run_risk(book(), VENUE, **(kwargs | {"seed": 6})))  # type: ignore[arg-type]


def test_chunks_are_independent_units() -> None:
    # chunk c only depends on (seed, c): the first chunk of a longer run is the whole of a shorter run
    kwargs = {"model": "student-t", "horizon": "6h", "seed": 3, "chunk_size": 500, "modes": ("cross",)}
    short = run_risk(book(), VENUE, paths=500, **kwargs)  # type: ignore[arg-type]
    again = run_risk(book(), VENUE, paths=500, **kwargs)  # type: ignore[arg-type]
    assert risk_json(short) == risk_json(again)
    long = run_risk(book(), VENUE, paths=1000, **kwargs)  # type: ignore[arg-type]
    p_short = short.modes["cross"].p_any_liquidation
    p_long = long.modes["cross"].p_any_liquidation
    second_half = 2 * p_long - p_short
    assert 0.0 <= second_half <= 1.0


def test_modes_follow_the_documented_semantics() -> None:
    report = run_risk(book(), VENUE, horizon="1d", paths=4000, seed=1, data=CRASH)
    iso, cross = report.modes["isolated"], report.modes["cross"]
    margins = 40000 / 10 + 20000 / 10 + 15000 / 20
    assert iso.start_equity == pytest.approx(cross.start_equity)
    # isolated: at most the isolated margins are lost; the wallet left over survives
    assert iso.es99 <= margins + 1e-6
    assert iso.p_wipeout == 0.0
    # cross: a cross liquidation takes the whole cross book and wallet at the same step
    positions = cross.positions
    assert positions[0].p_liquidation == positions[1].p_liquidation == positions[2].p_liquidation
    assert cross.p_any_liquidation == positions[0].p_liquidation
    if cross.p_any_liquidation > 0.01:
        assert cross.es99 > 0.9 * cross.start_equity
    hybrid = report.modes["hybrid"].positions
    assert [p.mode for p in hybrid] == ["cross", "cross", "isolated"]
    data = risk_json(report)
    assert set(data["modes"]) == {"cross", "isolated", "hybrid"}
    assert {"p_any_liquidation", "p_wipeout", "expected_loss", "es95", "es99"} <= set(data["modes"]["cross"])
    assert data["modes"]["cross"]["positions"][0]["symbol"] == "BTCUSDT"
    assert report.start.startswith("2025-10-12T23:55")


def test_wilson_interval_covers_about_95_percent() -> None:
    rng = np.random.default_rng(0)
    for p, n in ((0.02, 300), (0.3, 100)):
        k = rng.binomial(n, p, 4000)
        covered = np.mean([lo <= p <= hi for lo, hi in (wilson(int(x), n) for x in k)])
        assert 0.92 < covered < 0.98, (p, n, covered)
    assert wilson(0, 100)[0] == 0.0 and wilson(100, 100)[1] == 1.0


def test_expected_shortfall_and_horizon() -> None:
    losses = np.arange(100, dtype=float)
    assert expected_shortfall(losses, 0.95) == pytest.approx(np.mean(np.arange(95, 100)))
    assert expected_shortfall(losses, 0.99) == 99.0
    assert parse_horizon("12h") == 0.5 and parse_horizon(2) == 2.0 and parse_horizon("90m") == 90 / 1440
    with pytest.raises(InputError):
        parse_horizon("soon")


def test_bad_arguments() -> None:
    with pytest.raises(InputError):
        run_risk(book(), VENUE, model="levy", paths=10)
    with pytest.raises(InputError):
        run_risk(book(), VENUE, modes=("portfolio",), paths=10)
    with pytest.raises(InputError):
        run_risk(book(), VENUE, paths=0)
    with pytest.raises(InputError):
        run_risk(book(), VENUE, model="bootstrap", steps_per_day=7, paths=10, data=CRASH)
    params = ModelParams(vol=np.array([0.5]), drift=np.zeros(1), corr=np.eye(1))
    with pytest.raises(InputError):
        run_risk(book(), VENUE, params=params, paths=10)
    assert Decimal("1") > 0


def test_paths_start_at_the_position_s_own_mark_unless_the_data_s_price_is_asked_for() -> None:
    # a 20x isolated long booked at 100,000 without a mark (liq reads mark = entry): about 25 % one-day
    # liquidation risk at 80 % volatility, whatever the data's last price (BTC ~115k in the crash data)
    portfolio = one_position("long", "20").model_copy(
        update={
            "positions": [
                one_position("long", "20").positions[0].model_copy(update={"entry": Decimal(100000)})
            ]
        }
    )
    kwargs = {"horizon": "1d", "paths": 20_000, "seed": 2, "vol": 0.8, "data": CRASH, "modes": ("isolated",)}
    own = run_risk(portfolio, VENUE, **kwargs)  # type: ignore[arg-type]
    assert own.start_prices["BTCUSDT"] == 100000.0
    assert 0.2 < own.modes["isolated"].positions[0].p_liquidation < 0.3
    data = run_risk(portfolio, VENUE, start_from="data", **kwargs)  # type: ignore[arg-type]
    assert data.start_prices["BTCUSDT"] == float(CRASH.ohlc("BTCUSDT", "mark")[-1, 3])
    assert data.modes["isolated"].positions[0].p_liquidation < 0.01


def test_default_volatility_is_the_bundled_normal_market_window_and_is_reported() -> None:
    report = run_risk(book(), VENUE, horizon="1d", paths=1000, seed=1, modes=("hybrid",))
    history = load_history()
    closes = np.log(history.ohlc("ETHUSDT", "mark")[:, 3])
    expected = float(np.std(np.diff(closes), ddof=1) * math.sqrt(365 * 24))
    assert report.volatility["ETHUSDT"] == pytest.approx(expected)
    assert 0.3 < report.volatility["BTCUSDT"] < 1.0  # a normal market, not the crash window's > 100 %
    doc = risk_json(report)
    assert doc["volatility"]["ETHUSDT"]["source"] == "estimated"
    assert doc["estimation_window"]["start"] == "2025-11-21T18:00:00Z"
    assert doc["estimation_window"]["interval"] == "1h"
    assert doc["asset"] == "USDT" and "positive = money lost" in doc["amounts"]


def test_volatility_per_coin_overrides_the_estimate_of_that_coin_only() -> None:
    report = run_risk(book(), VENUE, paths=500, seed=1, vol={"BTC": 0.6, "ETHUSDT": 0.9}, modes=("hybrid",))
    assert report.volatility["BTCUSDT"] == 0.6 and report.volatility["ETHUSDT"] == 0.9
    assert report.vol_source == {"BTCUSDT": "given", "ETHUSDT": "given", "SOLUSDT": "estimated"}
    every = run_risk(book(), VENUE, paths=500, seed=1, vol=0.5, modes=("hybrid",))
    assert set(every.volatility.values()) == {0.5}
    with pytest.raises(InputError, match="a coin of the portfolio"):
        run_risk(book(), VENUE, paths=10, vol={"ADA": 0.5})


def test_a_dask_task_computes_the_chunk_on_one_thread_with_the_same_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Arrange: the compiled job of a GBM run (run_risk stops before simulating)
    jobs: list[Job] = []

    def keep(job: Job, **_: object) -> list[ChunkResult]:
        jobs.append(job)
        raise StopIteration

    monkeypatch.setattr(risk_app, "execute", keep)
    with pytest.raises(StopIteration):
        run_risk(book(), VENUE, horizon="1d", paths=600, seed=2, chunk_size=300, data=CRASH,
                 modes=("cross", "isolated"))  # fmt: skip
    job = jobs[0]
    threads = numba.get_num_threads()
    # Act
    pairs = [(run_chunk(job, c), run_chunk_one_thread(job, c)) for c in range(job.n_chunks)]
    # Assert: the same tallies and losses, liquidations among them, and the caller's thread count kept
    for every, one in pairs:
        for f in fields(ChunkResult):
            assert getattr(every, f.name).tobytes() == getattr(one, f.name).tobytes()
    assert sum(int(every.liq_hist.sum()) for every, _ in pairs) > 0
    assert numba.get_num_threads() == threads
