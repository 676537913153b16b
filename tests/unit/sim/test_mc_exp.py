"""The Monte Carlo kernels' own ``exp`` (vectorisable, the same on every machine) is as accurate as libm's."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from marginlab.sim.montecarlo_nb import exp_nb


@njit(cache=False)
def _exp_all(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = exp_nb(x[i])
    return out


def test_exp_is_within_one_ulp_of_libm_on_log_prices_and_beyond() -> None:
    # Arrange: log prices of 1e-9 .. 1e9, the reduction's edges (r = +-ln2/2) and wide arguments
    rng = np.random.default_rng(3)
    half = math.log(2) / 2
    x = np.concatenate(
        [
            rng.uniform(-21.0, 21.0, 200_000),
            np.arange(-30, 31) * math.log(2) + half,
            np.arange(-30, 31) * math.log(2) - half,
            rng.uniform(-700.0, 700.0, 20_000),
        ]
    )
    # Act
    got = _exp_all(x)
    want = np.exp(x)
    # Assert: at most one ulp apart, and most values equal
    ulps = np.abs(got - want) / np.spacing(want)
    assert ulps.max() <= 1.0
    assert (got == want).mean() > 0.8


def test_exp_special_values() -> None:
    x = np.array([0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 709.5, -708.5, 709.0])
    got = _exp_all(x)
    assert got[0] == 1.0
    for value, want in ((got[1], math.e), (got[2], math.exp(-1.0)), (got[8], math.exp(709.0))):
        assert abs(value - want) <= np.spacing(want)
    assert got[3] == np.inf and got[4] == 0.0 and np.isnan(got[5])
    assert got[6] == np.inf and got[7] == 0.0
