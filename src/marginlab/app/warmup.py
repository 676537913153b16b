"""Compile every fast-core kernel once, ahead of first use, into numba's on-disk cache.

Every kernel is ``@njit(cache=True)`` (``_nrt=False`` and ``parallel=True`` kernels included): numba writes
the machine code next to the sources (``sim/__pycache__``, or ``$NUMBA_CACHE_DIR``) on first compile and later
processes, Dask workers included, load it in well under a second. Compiling takes ~30 s on a 2-core machine,
so ``make install`` runs ``python -m marginlab.app.warmup``: the first ``compare`` or ``risk`` after install
finds the cache warm. The warm-up goes through the public entry points with tiny inputs, so it compiles
exactly the signatures (dtypes, layouts) the commands use.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from marginlab.io.bars import Bars
from marginlab.io.schema import Portfolio, parse
from marginlab.rules import get_venue

__all__ = ["warm_up"]

_SYMBOLS = {"BTCUSDT": 60000.0, "ETHUSDT": 3000.0}


def _bars(n: int) -> Bars:
    times = np.datetime64("2025-01-01T00:00", "ns") + np.arange(n) * np.timedelta64(5, "m")
    last = {s: np.tile([p, p * 1.01, p * 0.99, p], (n, 1)) for s, p in _SYMBOLS.items()}
    funding = {s: np.zeros(n) for s in _SYMBOLS}
    return Bars(times=times, last=last, mark={s: a.copy() for s, a in last.items()}, funding=funding)


def _portfolio() -> Portfolio:
    return parse(
        Portfolio,
        {
            "balances": {"USDT": "10000"},
            "positions": [
                {"symbol": "BTCUSDT", "side": "long", "notional": "5000", "leverage": "10"},
                {"symbol": "ETHUSDT", "side": "short", "notional": "2000", "mode": "isolated"},
            ],
        },
    )


def warm_up() -> float:
    """Compile (or load from the cache) the replay, liquidation-price and Monte Carlo kernels; return s."""
    from marginlab.app.risk import run_risk
    from marginlab.sim.api import compile_tiers, cross_fixed, liquidation_prices, replay_fast_arrays
    from marginlab.sim.paths import ModelParams

    start = time.perf_counter()
    venue = get_venue("binance")
    portfolio = _portfolio()
    replay_fast_arrays(portfolio, venue, _bars(4), "hybrid")
    tiers = compile_tiers(venue, list(_SYMBOLS))
    one: dict[str, Any] = {"table": [0], "side": [1], "qty": [0.1], "entry": [60000.0], "mark": [60000.0]}
    fixed = cross_fixed(tiers, **one, cross=[True], wallet=10000.0)
    liquidation_prices(tiers, **one, fixed=fixed)
    params = ModelParams(vol=np.full(2, 0.5), drift=np.zeros(2), corr=np.eye(2))
    run_risk(portfolio, venue, model="gbm", horizon=0.01, paths=8, seed=0, params=params, chunk_size=8)
    run_risk(portfolio, venue, model="student-t", horizon=0.01, paths=8, seed=0, params=params, chunk_size=8)
    return time.perf_counter() - start


if __name__ == "__main__":  # pragma: no cover - `make install` runs it
    print(f"fast core compiled and cached in {warm_up():.1f} s")
