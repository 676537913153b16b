"""Path models reproduce their mean, variance and correlation; the bootstrap resamples real joint rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from marginlab.errors import InputError
from marginlab.sim.montecarlo_nb import gbm_log_paths_nb, ziggurat_tables
from marginlab.sim.paths import (
    ModelParams,
    bootstrap_increments,
    cholesky,
    estimate_params,
    gbm_increments,
    increments,
    jump_increments,
    log_paths,
    price_paths,
    student_t_increments,
)

DT = 1.0 / (365 * 288)
VOL = np.array([0.6, 0.9, 1.2])
DRIFT = np.array([0.5, -1.0, 2.0])
CORR = np.array([[1.0, 0.7, 0.4], [0.7, 1.0, 0.5], [0.4, 0.5, 1.0]])
PARAMS = ModelParams(vol=VOL, drift=DRIFT, corr=CORR)


def check_moments(x: np.ndarray, mean: np.ndarray, var: np.ndarray, corr: np.ndarray) -> None:
    """Assert sample mean, variance and correlation of (n, A) draws match within ~4 standard errors."""
    n = x.shape[0]
    m, v = x.mean(axis=0), x.var(axis=0, ddof=1)
    assert np.all(np.abs(m - mean) < 4.5 * np.sqrt(var / n)), (m, mean)
    kurt = ((x - m) ** 4).mean(axis=0) / v**2
    assert np.all(np.abs(v - var) < 4.5 * var * np.sqrt((kurt - 1) / n)), (v, var)
    c = np.corrcoef(x, rowvar=False)
    assert np.allclose(c, corr, atol=4.5 * 2 / math.sqrt(n)), c


def test_gbm_mean_variance_correlation() -> None:
    x = gbm_increments(PARAMS, steps=50, dt=DT, paths=4000, rng=np.random.default_rng(1)).reshape(-1, 3)
    check_moments(x, (DRIFT - VOL**2 / 2) * DT, VOL**2 * DT, CORR)


def test_gbm_terminal_price_has_the_drift() -> None:
    dt = 1 / 365
    incr = gbm_increments(PARAMS, steps=30, dt=dt, paths=40000, rng=np.random.default_rng(2))
    s = price_paths(incr, np.array([100.0, 10.0, 1.0]))
    assert s.shape == (40000, 31, 3)
    ratio = s[:, -1, :] / s[:, 0, :]
    expected = np.exp(DRIFT * 30 * dt)
    se = ratio.std(axis=0) / math.sqrt(ratio.shape[0])
    assert np.all(np.abs(ratio.mean(axis=0) - expected) < 4.5 * se)


def test_student_t_matches_variance_and_correlation_with_fat_tails() -> None:
    params = ModelParams(vol=VOL, drift=DRIFT, corr=CORR, df=5.0)
    x = student_t_increments(params, steps=50, dt=DT, paths=4000, rng=np.random.default_rng(3)).reshape(-1, 3)
    check_moments(x, (DRIFT - VOL**2 / 2) * DT, VOL**2 * DT, CORR)
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    assert np.all((z**4).mean(axis=0) > 5.0)  # normal: 3; t with 5 df: 9 (sample is noisy, clearly above 3)


def test_jump_diffusion_mean_and_variance() -> None:
    lam, m, s = 2000.0, -0.01, 0.02  # frequent jumps so the sample sees many
    params = ModelParams(vol=VOL, drift=DRIFT, corr=CORR, jump_intensity=lam, jump_mean=m, jump_std=s)
    x = jump_increments(params, steps=50, dt=DT, paths=4000, rng=np.random.default_rng(4)).reshape(-1, 3)
    k = math.exp(m + s * s / 2) - 1
    mean = (DRIFT - VOL**2 / 2 - lam * k + lam * m) * DT
    var = (VOL**2 + lam * (s * s + m * m)) * DT
    n = x.shape[0]
    assert np.all(np.abs(x.mean(axis=0) - mean) < 4.5 * np.sqrt(var / n))
    assert np.all(np.abs(x.var(axis=0) / var - 1) < 0.05)
    assert np.all(np.corrcoef(x, rowvar=False)[np.triu_indices(3, 1)] > CORR[np.triu_indices(3, 1)] - 0.02)


def test_bootstrap_resamples_whole_rows_in_blocks() -> None:
    rng = np.random.default_rng(5)
    data = rng.standard_t(3, (500, 3)) @ cholesky(CORR).T * 0.01
    out = bootstrap_increments(data, steps=40, paths=3000, block=8, rng=np.random.default_rng(6))
    assert out.shape == (3000, 40, 3)
    rows = {tuple(r) for r in data}
    assert all(tuple(r) in rows for r in out[:50].reshape(-1, 3))  # joint rows kept: crash correlation
    index = {tuple(r): i for i, r in enumerate(data)}
    first = np.array([[index[tuple(r)] for r in path] for path in out[:50]])
    assert np.all(np.diff(first[:, :8], axis=1) == 1)  # a block is consecutive bars
    flat = out.reshape(-1, 3)
    assert np.allclose(flat.mean(axis=0), data.mean(axis=0), atol=4 * data.std() / math.sqrt(3000))
    assert np.allclose(np.corrcoef(flat, rowvar=False), np.corrcoef(data, rowvar=False), atol=0.03)
    assert np.allclose(flat.std(axis=0), data.std(axis=0), rtol=0.05)


def test_estimate_params_recovers_vol_and_correlation() -> None:
    x = gbm_increments(PARAMS, steps=20000, dt=DT, paths=1, rng=np.random.default_rng(7))[0]
    est = estimate_params(x, periods_per_year=1 / DT)
    assert np.allclose(est.vol, VOL, rtol=0.03)
    assert np.allclose(est.corr, CORR, atol=0.04)


def test_kernel_gbm_generator_statistics_and_chunk_independence() -> None:
    zk, zw, zf = ziggurat_tables()
    chol = np.ascontiguousarray(cholesky(CORR) * (VOL * math.sqrt(DT))[:, None])
    drift = (DRIFT - VOL**2 / 2) * DT
    out = np.empty((4000, 51, 3))
    gbm_log_paths_nb(np.uint64(42), 0, 50, np.zeros(3), drift, chol, zk, zw, zf, out)
    check_moments(np.diff(out, axis=1).reshape(-1, 3), drift, VOL**2 * DT, CORR)
    tail = np.empty((1000, 51, 3))
    gbm_log_paths_nb(np.uint64(42), 3000, 50, np.zeros(3), drift, chol, zk, zw, zf, tail)
    assert np.array_equal(tail, out[3000:])  # path i depends on (key, i) only
    z = np.diff(out, axis=1).reshape(-1, 3) - drift
    z = np.linalg.solve(chol, z.T).T.ravel()
    assert abs((z**4).mean() - 3.0) < 0.1  # the ziggurat's tails are normal
    assert abs((np.abs(z) > 3).mean() - 0.0026998) < 0.0006


def test_log_paths_start_and_cumulate() -> None:
    incr = np.ones((2, 3, 1))
    assert log_paths(incr, np.array([1.0]))[0, :, 0].tolist() == [1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"params": ModelParams(vol=np.array([-1.0]), drift=np.zeros(1), corr=np.eye(1))}, "vol"),
        ({"params": ModelParams(vol=VOL, drift=DRIFT, corr=np.eye(2))}, "corr"),
        ({"params": ModelParams(vol=VOL, drift=DRIFT, corr=CORR, df=2.0)}, "df"),
        ({"params": PARAMS, "steps": 0}, "steps"),
    ],
)
def test_bad_inputs_raise_input_error(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"steps": 3, "dt": DT, "paths": 2, "rng": np.random.default_rng(0)} | kwargs
    with pytest.raises(InputError) as err:
        increments("gbm", **args)  # type: ignore[arg-type]
    assert err.value.field == field


def test_unknown_model_and_missing_inputs() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(InputError):
        increments("brownian", steps=2, dt=DT, paths=2, rng=rng, params=PARAMS)
    with pytest.raises(InputError):
        increments("bootstrap", steps=2, dt=DT, paths=2, rng=rng)


def test_parse_vol_reads_one_number_or_one_per_coin() -> None:
    from marginlab.errors import InputError
    from marginlab.sim.paths import parse_vol

    assert parse_vol("0.8") == 0.8
    assert parse_vol("80%") == 0.8
    assert parse_vol("btc=0.6, ETH=80%") == {"BTC": 0.6, "ETH": 0.8}
    for bad in ("fast", "BTC=", "=0.5", "BTC=-1", "BTC=0.5,ETH"):
        with pytest.raises(InputError):
            parse_vol(bad)
