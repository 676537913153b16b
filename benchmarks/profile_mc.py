"""Where the Monte Carlo kernel's time goes: ``python benchmarks/profile_mc.py [paths]``.

Times, on one thread, kernels that do a growing share of :func:`marginlab.sim.montecarlo_nb.mc_run_nb`'s
work per path step, built from the same inline helpers: the random numbers alone, plus the Cholesky
product, plus one ``exp`` per asset, then the real kernel with the isolated mode only, the cross mode only
and both (the bench's six-asset book, GBM, 288 steps). Prints CPU nanoseconds per path step (median of 3;
CPU time rather than wall time, so that a shared machine's other load does not count).
``--reference`` adds the one-path-at-a-time reference kernel (:func:`mc_run_ref_nb`). Written up in
``docs/montecarlo.md``.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
from numba import njit

from marginlab.app import risk as risk_app
from marginlab.sim import montecarlo as mc
from marginlab.sim.montecarlo_nb import (
    _GAMMA,
    _LOW32,
    _S32,
    _gbm_step_nb,
    _mix_nb,
    _normal_nb,
    exp_nb,
    mc_run_ref_nb,
    path_state_nb,
)

sys.path.insert(0, str(Path(__file__).parent))
from run import six_symbol_portfolio

from marginlab.rules import get_venue
from marginlab.sim.paths import ModelParams


@njit  # not cached: its inlined helpers live in other files, which numba's cache key does not cover
def rng_only(key, n, steps, n_assets, zk, zw, zf):
    total = 0.0
    for i in range(n):
        s = path_state_nb(key, i)
        for _ in range(steps):
            for _b in range(0, n_assets, 2):
                s = s + _GAMMA
                u = _mix_nb(s)
                s, z0 = _normal_nb(s, u & _LOW32, zk, zw, zf)
                s, z1 = _normal_nb(s, u >> _S32, zk, zw, zf)
                total += z0 + z1
    return total


@njit  # not cached: its inlined helpers live in other files, which numba's cache key does not cover
def rng_cholesky(key, n, steps, x0, drift_dt, chol_dt, zk, zw, zf, with_exp):
    total = 0.0
    n_assets = x0.shape[0]
    price = np.empty(n_assets)
    for i in range(n):
        s = path_state_nb(key, i)
        x = x0.copy()
        z = np.empty(n_assets)
        for _ in range(steps):
            s = _gbm_step_nb(s, x, z, drift_dt, chol_dt, False, zk, zw, zf)
            if with_exp:
                for a in range(n_assets):
                    price[a] = exp_nb(x[a])
                total += price[0]
            else:
                total += x[0]
    return total


def capture_job(modes: tuple[str, ...]) -> Any:
    """Return the compiled Job of the bench's book (run_risk stops before simulating)."""
    captured: dict[str, Any] = {}

    def keep(job: Any, **_: Any) -> list[Any]:
        captured["job"] = job
        raise StopIteration

    real = risk_app.execute
    risk_app.execute = keep  # type: ignore[assignment]
    try:
        try:
            corr = np.full((6, 6), 0.6) + 0.4 * np.eye(6)
            risk_app.run_risk(
                six_symbol_portfolio(), get_venue("binance"), model="gbm", horizon=1.0, steps_per_day=288,
                paths=10, seed=1, modes=modes,
                params=ModelParams(vol=np.full(6, 0.8), drift=np.zeros(6), corr=corr),
            )  # fmt: skip
        except StopIteration:
            pass
    finally:
        risk_app.execute = real  # type: ignore[assignment]
    return captured["job"]


def per_step_ns(fn: Callable[[], object], paths: int, steps: int) -> float:
    """Return CPU nanoseconds per path step (process CPU time: on one thread, robust to a busy machine)."""
    fn()
    times = []
    for _ in range(3):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times) / (paths * steps) * 1e9


def main(paths: int, *, reference: bool = False) -> None:
    numba.set_num_threads(1)
    job = capture_job(("cross", "isolated"))
    drift_dt, chol_dt = mc._gbm_arrays(job)
    zig = mc._ZIG
    key = np.uint64(12345)
    steps = job.steps
    rows = {
        "random normals (ziggurat, splitmix64)": per_step_ns(
            lambda: rng_only(key, paths, steps, 6, *zig), paths, steps
        ),
        "+ Cholesky product": per_step_ns(
            lambda: rng_cholesky(key, paths, steps, job.x0, drift_dt, chol_dt, *zig, False), paths, steps
        ),
        "+ exp per asset": per_step_ns(
            lambda: rng_cholesky(key, paths, steps, job.x0, drift_dt, chol_dt, *zig, True), paths, steps
        ),
    }
    kernels = {
        "kernel, isolated mode only": ("isolated",),
        "kernel, cross mode only": ("cross",),
        "kernel, cross + isolated": ("cross", "isolated"),
    }
    no_incr = np.zeros((0, 0, 0))
    for label, modes in kernels.items():
        j = capture_job(modes)
        rows[label] = per_step_ns(lambda j=j: mc._walk(j, True, no_incr, paths, key), paths, steps)
    if reference:
        j = capture_job(("cross", "isolated"))
        rows["reference kernel (one path at a time), cross + isolated"] = per_step_ns(
            lambda: mc._walk(j, True, no_incr, paths, key, kernel=mc_run_ref_nb), paths, steps
        )
    for label, ns in rows.items():
        print(f"{label:40s} {ns:7.1f} ns per path step")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 20_000, reference="--reference" in sys.argv)
