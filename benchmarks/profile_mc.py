"""Where the Monte Carlo kernel's time goes: ``python benchmarks/profile_mc.py [paths]``.

Times, on one thread, kernels that do a growing share of :func:`marginlab.sim.montecarlo_nb.mc_run_nb`'s
work per path step, built from the same inline helpers and the same blocks of paths: the random normals
alone, plus the Cholesky product, plus one ``exp`` per asset, then the real kernel with the isolated
mode only, the cross mode only and both (the bench's six-asset book, GBM, 288 steps). Prints CPU
nanoseconds per path step (median of 3; CPU time rather than wall time, so that a shared machine's other
load does not count).
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
    BLOCK,
    _block_gbm_step_nb,
    _block_normals_nb,
    _block_prices_nb,
    mc_run_ref_nb,
    path_state_nb,
)

sys.path.insert(0, str(Path(__file__).parent))
from run import six_symbol_portfolio

from marginlab.rules import get_venue
from marginlab.sim.paths import ModelParams


@njit  # not cached: its inlined helpers live in other files, which numba's cache key does not cover
def block_stages(key, n, steps, x0, drift_dt, chol_dt, zk, zw, zf, stage):
    """Walk ``n`` paths in the kernel's blocks doing only the first stages of a step.

    ``stage`` 0: the normals; 1: the GBM step (normals and root product); 2: the step and the prices.
    """
    n_assets = x0.shape[0]
    total = 0.0
    state = np.empty(BLOCK, np.uint64)
    x = np.empty((n_assets, BLOCK))
    z = np.zeros((n_assets, BLOCK))
    acc = np.empty(BLOCK)
    price = np.zeros((n_assets, BLOCK))
    ubuf = np.empty(BLOCK, np.uint64)
    for i0 in range(0, n, BLOCK):
        nb = min(BLOCK, n - i0)
        for i in range(nb):
            state[i] = path_state_nb(key, i0 + i)
            for a in range(n_assets):
                x[a, i] = x0[a]
        for _ in range(steps):
            if stage == 0:
                _block_normals_nb(state, z, nb, ubuf, zk, zw, zf)
            else:
                _block_gbm_step_nb(state, x, z, acc, ubuf, nb, drift_dt, chol_dt, False, zk, zw, zf)
                if stage == 2:
                    _block_prices_nb(x, price, nb)
        total += z[0, 0] + x[0, 0] + price[0, 0]
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
    args = (key, paths, steps, job.x0, drift_dt, chol_dt, *zig)
    rows = {
        "random normals (blocks of 32 paths)": per_step_ns(lambda: block_stages(*args, 0), paths, steps),
        "+ Cholesky product": per_step_ns(lambda: block_stages(*args, 1), paths, steps),
        "+ exp per asset (exp_nb)": per_step_ns(lambda: block_stages(*args, 2), paths, steps),
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
