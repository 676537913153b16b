"""The Monte Carlo kernel's Multi-Assets pool against the exact engine's Multi-Assets replay.

One constructed path (BTC falling, ETH rising, both with collateral on the line) is replayed bar by bar by
:func:`marginlab.analysis.replay.replay_exact` (Decimal, every coin re-valued from its perpetual's mark) and
walked by :func:`marginlab.sim.montecarlo_nb.mc_run_nb` on the arrays compiled by
:func:`marginlab.sim.compile.compile_pool`: the same liquidation step, and the same USD equity at every step
before it, to a relative 1e-12 (float64 rounding of a few dozen operations, and numba's ``exp`` of the summed
log increments against NumPy's; the Decimal side is exact).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from marginlab.analysis.replay import replay_exact
from marginlab.io.bars import Bars
from marginlab.io.portfolio import portfolio_venue
from marginlab.io.schema import Portfolio, parse
from marginlab.rules import get_venue
from marginlab.sim import dtypes as dt
from marginlab.sim.compile import compile_pool, compile_replay
from marginlab.sim.montecarlo_nb import mc_run_nb, mc_run_ref_nb, ziggurat_tables

VENUE = get_venue("binance")
SYMBOLS = ("BTCUSDT", "ETHUSDT")
START = np.array([100_000.0, 3_000.0])


def pooled_book(**extra: Any) -> Portfolio:
    """1 BTC, 2,000 USDC and 500 USDT back a 1 BTC long (USDT) and a 10 ETH short (USDC), with buffers."""
    doc = {
        "exchange": "binance",
        "multi_assets": True,
        "balances": {"BTC": "1", "USDC": "2000", "USDT": "500"},
        "index_prices": {"USDT": "0.999"},
        "collateral": {"USDT": {"bid_buffer": "0.002", "ask_buffer": "0.001"}},
        "positions": [
            {"symbol": "BTCUSDT", "side": "long", "qty": "1", "entry": "100000", "leverage": "10"},
            {"symbol": "ETHUSDC", "side": "short", "qty": "10", "entry": "3000", "leverage": "10"},
        ],
    } | extra
    return parse(Portfolio, doc)


def path(steps: int) -> np.ndarray:
    """Return (steps + 1, 2) prices: BTC falls 60 % along a straight log line, ETH rises 20 %."""
    t = np.linspace(0.0, 1.0, steps + 1)[:, None]
    return np.asarray(np.exp(np.log(START) + t * np.log([0.4, 1.2])))


def kernel_walk(model: Portfolio, prices: np.ndarray, kernel: Any = mc_run_nb) -> tuple[int, float]:
    """Return (liquidation step or -1, final USD equity) of the kernel walking ``prices``."""
    venue = portfolio_venue(model, VENUE)
    row = {s: np.full((1, 4), p) for s, p in zip(("BTCUSDT", "ETHUSDC"), START, strict=True)}
    one_bar = Bars(times=np.array(["2026-01-01"], "datetime64[ns]"), last=row, mark=row, funding={})
    plan = compile_replay(model, venue, one_bar, pooled=True)
    columns = plan.tier_set.symbols
    pool = compile_pool(model, venue, columns, dict(zip(columns, START, strict=True)))
    pos = plan.positions
    n_pos, steps = len(pos), prices.shape[0] - 1
    x = np.log(prices)
    incr = np.ascontiguousarray(np.diff(x, axis=0)[None, :, :])
    liq = np.empty((1, 1, n_pos), np.int32)
    final, low = np.empty((1, 1)), np.empty((1, 1))
    code = kernel(
        False, incr, 1, steps, np.uint64(0), 0, x[0], np.zeros(2), np.zeros((2, 2)), *ziggurat_tables(),
        pos["sym"].astype(np.int64), pos["side"].astype(np.float64), plan.st[None, :, dt.S_QTY].copy(),
        plan.st[None, :, dt.S_ENTRY].copy(), np.zeros((1, n_pos), np.bool_), np.zeros((1, n_pos)),
        np.where(pos["side"] > 0, -np.inf, np.inf)[None, :], np.zeros(1), plan.tier_set.tiers,
        plan.tier_set.tables, int(plan.tier_set.flags[dt.V_BASIS_ENTRY]),
        pool.pool_of[None, :], pool.wallet[None, :], pool.rate, liq, final, low,
    )  # fmt: skip
    assert code == 0, code
    return int(liq[0, 0].max()), float(final[0, 0])


def exact_replay(model: Portfolio, prices: np.ndarray) -> tuple[int, list[Decimal]]:
    """Return (liquidation bar or -1, USD equity at each bar's close) of the exact engine on ``prices``."""
    n = prices.shape[0]
    bars = {s: np.repeat(prices[:, k : k + 1], 4, axis=1) for k, s in enumerate(("BTCUSDT", "ETHUSDC"))}
    times = np.datetime64("2026-01-01", "ns") + np.arange(n) * np.timedelta64(5, "m")
    result = replay_exact(model, VENUE, Bars(times=times, last=bars, mark=bars, funding={}), "cross")
    bar = result.liquidations[0].bar if result.liquidations else -1
    return bar, result.equity


def test_kernel_liquidates_the_pool_at_the_exact_engine_s_step_with_its_equity() -> None:
    # Arrange: the ETH leg is margined in USDC (rows USDT/USDC/BTC), BTC re-valued with its perpetual
    model, steps = pooled_book(), 240
    prices = np.exp(np.cumsum(np.vstack([np.log(START), np.diff(np.log(path(steps)), axis=0)]), axis=0))
    # Act
    bar, equity = exact_replay(model, prices)
    step, _ = kernel_walk(model, prices)
    # Assert: liquidated inside the path, at the same step, the pool gone in both
    assert 10 < bar < steps
    assert step == bar
    assert equity[bar] == 0
    # the USD equity (every asset at its index, no haircut) agrees at every step before it
    for k in (0, 1, bar // 2, bar - 1):
        _, value = kernel_walk(model, prices[: k + 1])
        assert value == pytest.approx(float(equity[k]), rel=1e-12, abs=1e-9)
    # and the reference kernel walks the same
    assert kernel_walk(model, prices, mc_run_ref_nb)[0] == bar


def test_the_pool_s_haircut_and_buffers_decide_the_step() -> None:
    # Arrange: the same book with BTC at a 50 % collateral value ratio is liquidated earlier, in both engines
    steps = 240
    prices = path(steps)
    base, _ = exact_replay(pooled_book(), prices)
    harsh_book = pooled_book(collateral={"BTC": {"value_ratio": "0.5"}})
    # Act
    harsh, _ = exact_replay(harsh_book, prices)
    step, _ = kernel_walk(harsh_book, prices)
    # Assert
    assert 0 <= harsh < base
    assert step == harsh
