"""Random price paths for Monte Carlo risk: block bootstrap, GBM, Student-t and Merton jump diffusion.

Every generator returns **log-price increments** of shape ``(paths, steps, assets)`` (natural log, per step);
:func:`log_paths` and :func:`price_paths` turn them into paths of shape ``(paths, steps + 1, assets)`` whose
first row is the start. Time is in years of 365 days (crypto trades around the clock), so a step of 5
minutes is ``dt = 1 / (365 * 288)``. Every stochastic function takes ``rng: np.random.Generator`` and never
seeds global state.

Conventions of :class:`ModelParams`: ``vol`` is the annualised standard deviation of log returns, ``drift``
the annualised arithmetic drift ``mu`` (under GBM ``E[S_T] = S_0 exp(mu T)``, so log increments have mean
``(mu - vol**2 / 2) dt``), ``corr`` the correlation of the innovations across assets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from marginlab.errors import InputError

FloatArray = npt.NDArray[np.float64]
DAYS_PER_YEAR = 365.0
MODELS = ("bootstrap", "gbm", "student-t", "jump")

__all__ = [
    "MODELS",
    "ModelParams",
    "bootstrap_increments",
    "cholesky",
    "estimate_params",
    "gbm_increments",
    "increments",
    "jump_increments",
    "log_paths",
    "log_returns",
    "parse_vol",
    "price_paths",
    "student_t_increments",
]


@dataclass(frozen=True)
class ModelParams:
    """Parameters of the parametric path models (one entry per asset).

    Attributes
    ----------
    vol : float64 (A,)
        Annualised volatility of log returns of the diffusion part (0.8 == 80 % a year), >= 0.
    drift : float64 (A,)
        Annualised arithmetic drift ``mu`` (positive: prices rise on average).
    corr : float64 (A, A)
        Correlation matrix of the innovations (positive semi-definite, unit diagonal).
    df : float
        Degrees of freedom of the Student-t innovations, > 2 (variance is rescaled to the target).
    jump_intensity : float
        Merton jumps per year (shared by all assets: a market-wide event), >= 0.
    jump_mean, jump_std : float
        Mean and standard deviation of one jump's log size (``jump_mean < 0``: crashes).
    """

    vol: FloatArray
    drift: FloatArray
    corr: FloatArray
    df: float = 4.0
    jump_intensity: float = 0.0
    jump_mean: float = 0.0
    jump_std: float = 0.0

    @property
    def assets(self) -> int:
        """Return the number of assets."""
        return int(self.vol.shape[0])

    def validated(self) -> ModelParams:
        """Return the parameters as float64 arrays after checking shapes and ranges (raise InputError)."""
        vol = np.atleast_1d(np.asarray(self.vol, dtype=np.float64))
        drift = np.broadcast_to(np.asarray(self.drift, dtype=np.float64), vol.shape).copy()
        corr = np.atleast_2d(np.asarray(self.corr, dtype=np.float64))
        if vol.ndim != 1 or not np.all(np.isfinite(vol)) or np.any(vol < 0):
            raise InputError("vol", self.vol, "finite annualised volatilities >= 0, one per asset")
        if not np.all(np.isfinite(drift)):
            raise InputError("drift", self.drift, "finite annualised drifts")
        n = vol.shape[0]
        if corr.shape != (n, n) or not np.allclose(corr, corr.T) or not np.allclose(np.diag(corr), 1.0):
            raise InputError("corr", corr.tolist(), f"a symmetric {n}x{n} correlation matrix, unit diagonal")
        if not self.df > 2.0:
            raise InputError("df", self.df, "Student-t degrees of freedom > 2")
        if not (self.jump_intensity >= 0.0 and self.jump_std >= 0.0 and math.isfinite(self.jump_mean)):
            raise InputError(
                "jump", (self.jump_intensity, self.jump_mean, self.jump_std), "intensity >= 0, std >= 0"
            )
        return ModelParams(
            vol, drift, corr, float(self.df), self.jump_intensity, self.jump_mean, self.jump_std
        )


def cholesky(corr: FloatArray) -> FloatArray:
    """Return the lower Cholesky factor of a correlation matrix (semi-definite ones via eigenvalue clipping).

    Raises
    ------
    InputError
        If the matrix has a clearly negative eigenvalue.
    """
    try:
        return np.asarray(np.linalg.cholesky(corr), dtype=np.float64)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(corr)
        if w.min() < -1e-8:
            raise InputError("corr", corr.tolist(), "a positive semi-definite matrix") from None
        # semi-definite (e.g. two perfectly correlated assets): a square root that is not triangular
        return np.asarray(v * np.sqrt(np.clip(w, 0.0, None)), dtype=np.float64)


def log_returns(prices: FloatArray) -> FloatArray:
    """Return log returns ``log(p[t + 1] / p[t])`` of prices shaped ``(bars, assets)``."""
    prices = np.asarray(prices, dtype=np.float64)
    if prices.ndim != 2 or prices.shape[0] < 3 or not np.all(prices > 0):
        raise InputError("prices", prices.shape, "at least 3 bars of prices > 0 shaped (bars, assets)")
    return np.diff(np.log(prices), axis=0)


def estimate_params(returns: FloatArray, *, periods_per_year: float) -> ModelParams:
    """Estimate annualised vol, drift and correlation from log returns ``(bars, assets)`` of one bar each.

    ``drift`` is the arithmetic drift ``mean * periods_per_year + vol**2 / 2``; crypto data gives a noisy
    mean, so callers usually pass ``drift=0`` explicitly.
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 2 or r.shape[0] < 3 or not np.all(np.isfinite(r)):
        raise InputError("returns", r.shape, "finite log returns shaped (bars >= 3, assets)")
    if not periods_per_year > 0:
        raise InputError("periods_per_year", periods_per_year, "a number > 0")
    vol = r.std(axis=0, ddof=1) * math.sqrt(periods_per_year)
    drift = r.mean(axis=0) * periods_per_year + 0.5 * vol**2
    corr: FloatArray = np.ones((1, 1))
    if r.shape[1] > 1:
        raw = np.atleast_2d(np.corrcoef(r, rowvar=False))
        corr = np.where(np.isfinite(raw), raw, 0.0)
        np.fill_diagonal(corr, 1.0)
    return ModelParams(vol=vol, drift=drift, corr=corr)


def parse_vol(text: str) -> float | dict[str, float]:
    """Parse ``--vol``: ``"0.8"`` or ``"80%"`` for every coin, or ``"BTC=0.6,ETH=80%"`` per coin.

    Values are annualised volatilities of log returns as fractions (``80%`` is read as 0.8), >= 0.

    Raises
    ------
    InputError
        Naming the part that is not a number, a negative one, or an empty coin.
    """

    def value(part: str, raw: str) -> float:
        raw = raw.strip()
        scale = 100.0 if raw.endswith("%") else 1.0
        try:
            number = float(raw.removesuffix("%")) / scale
        except ValueError:
            raise InputError("--vol", part, "an annualised volatility such as 0.8 or 80%") from None
        if not (math.isfinite(number) and number >= 0):
            raise InputError("--vol", part, "a volatility >= 0")
        return number

    text = text.strip()
    if "=" not in text:
        return value(text, text)
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        coin, sep, raw = part.partition("=")
        if not sep or not coin.strip():
            raise InputError("--vol", part, "COIN=VOL, e.g. BTC=0.6,ETH=0.8")
        out[coin.strip().upper()] = value(part, raw)
    return out


def _check_size(steps: int, paths: int, dt: float) -> None:
    if steps < 1:
        raise InputError("steps", steps, "an integer >= 1")
    if paths < 1:
        raise InputError("paths", paths, "an integer >= 1")
    if not dt > 0:
        raise InputError("dt", dt, "a step in years > 0")


def gbm_increments(
    params: ModelParams, *, steps: int, dt: float, paths: int, rng: np.random.Generator
) -> FloatArray:
    """Return GBM log increments ``(paths, steps, assets)``: ``(mu - vol**2/2) dt + vol sqrt(dt) Z``.

    Parameters
    ----------
    params : ModelParams
        ``vol``, ``drift``, ``corr`` are used.
    steps, paths : int
        Steps per path and number of paths.
    dt : float
        Step length in years.
    rng : numpy.random.Generator
        The only source of randomness.
    """
    p = params.validated()
    _check_size(steps, paths, dt)
    z = rng.standard_normal((paths, steps, p.assets))
    scale = cholesky(p.corr) * (p.vol * math.sqrt(dt))[:, None]
    out = z @ scale.T
    out += (p.drift - 0.5 * p.vol**2) * dt
    return out


def student_t_increments(
    params: ModelParams, *, steps: int, dt: float, paths: int, rng: np.random.Generator
) -> FloatArray:
    """Return multivariate Student-t log increments with GBM's mean, variance and correlation.

    Innovations are ``L Z / sqrt(W / df) * sqrt((df - 2) / df)`` with one chi-square ``W`` per step shared by
    all assets (a multivariate t: big moves come together, tail dependence), so each has unit variance and
    the correlation is ``corr``; the increment is ``(mu - vol**2/2) dt + vol sqrt(dt) T``.
    """
    p = params.validated()
    _check_size(steps, paths, dt)
    z = rng.standard_normal((paths, steps, p.assets))
    w = rng.chisquare(p.df, (paths, steps, 1))
    scale = cholesky(p.corr) * (p.vol * math.sqrt(dt))[:, None]
    out = z @ scale.T
    out *= np.sqrt((p.df - 2.0) / w)
    out += (p.drift - 0.5 * p.vol**2) * dt
    return out


def jump_increments(
    params: ModelParams, *, steps: int, dt: float, paths: int, rng: np.random.Generator
) -> FloatArray:
    """Return Merton jump-diffusion log increments ``(paths, steps, assets)``.

    Per step: the GBM increment with drift compensated for the jumps, ``(mu - vol**2/2 - lam k) dt``
    with ``k = exp(m + s**2/2) - 1``, plus ``N ~ Poisson(lam dt)`` jumps shared by all assets (a market-wide
    event), each asset's total jump ``N m + sqrt(N) s Z'`` with ``Z'`` correlated by ``corr``. So
    ``E[S_T] = S_0 exp(mu T)``; the increment's mean is ``(mu - vol**2/2 - lam k + lam m) dt`` and its
    variance ``(vol**2 + lam (s**2 + m**2)) dt``.
    """
    p = params.validated()
    _check_size(steps, paths, dt)
    lam, m, s = p.jump_intensity, p.jump_mean, p.jump_std
    k = math.exp(m + 0.5 * s * s) - 1.0
    chol = cholesky(p.corr)
    out = rng.standard_normal((paths, steps, p.assets)) @ (chol * (p.vol * math.sqrt(dt))[:, None]).T
    out += (p.drift - 0.5 * p.vol**2 - lam * k) * dt
    n = rng.poisson(lam * dt, (paths, steps, 1)).astype(np.float64)
    jumps = rng.standard_normal((paths, steps, p.assets)) @ chol.T
    out += n * m + np.sqrt(n) * s * jumps
    return out


def bootstrap_increments(
    returns: FloatArray, *, steps: int, paths: int, block: int, rng: np.random.Generator
) -> FloatArray:
    """Return paths of real joint returns resampled in blocks ``(paths, steps, assets)``.

    Each path is a concatenation of blocks of ``block`` consecutive bars of ``returns`` (all assets at once,
    so crash correlation and volatility clustering within a block are kept), block starts uniform over the
    data, the last block cut at ``steps``. One step is one bar of ``returns``.
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 2 or not np.all(np.isfinite(r)):
        raise InputError("returns", r.shape, "finite log returns shaped (bars, assets)")
    _check_size(steps, paths, 1.0)
    if not 1 <= block <= r.shape[0]:
        raise InputError("block", block, f"a block length in 1..{r.shape[0]} bars")
    n_blocks = -(-steps // block)
    starts = rng.integers(0, r.shape[0] - block + 1, (paths, n_blocks))
    index = (starts[:, :, None] + np.arange(block)).reshape(paths, n_blocks * block)[:, :steps]
    return np.asarray(r[index], dtype=np.float64)


def increments(
    model: str,
    *,
    steps: int,
    dt: float,
    paths: int,
    rng: np.random.Generator,
    params: ModelParams | None = None,
    returns: FloatArray | None = None,
    block: int = 12,
) -> FloatArray:
    """Return ``(paths, steps, assets)`` log increments of ``model`` (one of :data:`MODELS`).

    ``bootstrap`` needs ``returns`` (one bar per step); the others need ``params``.
    """
    if model == "bootstrap":
        if returns is None:
            raise InputError("returns", None, "historical log returns for the bootstrap model")
        return bootstrap_increments(returns, steps=steps, paths=paths, block=block, rng=rng)
    if params is None:
        raise InputError("params", None, f"model parameters for {model}")
    if model == "gbm":
        return gbm_increments(params, steps=steps, dt=dt, paths=paths, rng=rng)
    if model == "student-t":
        return student_t_increments(params, steps=steps, dt=dt, paths=paths, rng=rng)
    if model == "jump":
        return jump_increments(params, steps=steps, dt=dt, paths=paths, rng=rng)
    raise InputError("model", model, "one of " + ", ".join(MODELS))


def log_paths(incr: FloatArray, log_start: FloatArray) -> FloatArray:
    """Return log-price paths ``(paths, steps + 1, assets)`` from increments and start log prices ``(A,)``."""
    out = np.empty((incr.shape[0], incr.shape[1] + 1, incr.shape[2]))
    out[:, 0, :] = log_start
    np.cumsum(incr, axis=1, out=out[:, 1:, :])
    out[:, 1:, :] += log_start
    return out


def price_paths(incr: FloatArray, start: FloatArray) -> FloatArray:
    """Return price paths ``(paths, steps + 1, assets)`` from increments and start prices ``(A,)`` (> 0)."""
    start = np.asarray(start, dtype=np.float64)
    if not np.all(start > 0):
        raise InputError("start", start.tolist(), "start prices > 0")
    return np.exp(log_paths(incr, np.log(start)))
