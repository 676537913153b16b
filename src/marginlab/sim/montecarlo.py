"""Monte Carlo liquidation risk of a portfolio per margin mode: the engine behind ``marginlab risk``.

``run_risk`` compiles each mode's account once (the exact engine places the positions, :mod:`marginlab.sim`
gives floats and isolated liquidation prices), simulates mark-price paths in chunks (the unit of work,
in-process or on Dask) and aggregates per mode: liquidation probability of each position with a Wilson 95 %
interval, probability of any liquidation and of a wipe-out, expected loss, expected shortfall and
time-to-liquidation quantiles. Semantics and simplifications: ``docs/montecarlo.md``.

Determinism: chunk ``c`` draws from ``SeedSequence(seed).spawn(...)[c]`` (GBM: a counter-based generator
keyed by it, inside the kernel); chunks are combined in order, so a seed gives the same report whatever the
number of workers. Results depend on ``(seed, paths, chunk_size)``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from marginlab.analysis.bars import CLOSE, Bars, to_decimal
from marginlab.analysis.portfolio import instrument_for
from marginlab.analysis.replay import MODES, portfolio_for_mode, replay_venue
from marginlab.domain.enums import MarginMode
from marginlab.domain.venue import Venue
from marginlab.errors import InputError
from marginlab.io.candles import MarketData
from marginlab.io.schema import Portfolio
from marginlab.sim import dtypes as dt
from marginlab.sim.api import liquidation_prices, raise_for_status
from marginlab.sim.compile import TierSet, compile_replay, to_float
from marginlab.sim.montecarlo_nb import mc_run_nb, ziggurat_tables
from marginlab.sim.paths import DAYS_PER_YEAR, MODELS, ModelParams, cholesky, estimate_params, increments

__all__ = [
    "ModeRisk",
    "PositionRisk",
    "RiskReport",
    "params_from_data",
    "parse_horizon",
    "run_risk",
    "wilson",
]

FloatArray = npt.NDArray[np.float64]
WIPEOUT = 0.9  # an account that loses at least this fraction of its start equity is wiped out
Z95 = 1.959963984540054
TTL_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
_SUB_BATCH = 4096  # paths per array of pre-drawn increments (non-GBM models): bounds memory
_ZIG = ziggurat_tables()


# =========================================================================== statistics helpers
def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Return the Wilson score interval of a binomial proportion ``k / n`` (default 95 %)."""
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1.0 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo = 0.0 if k <= 0 else max(0.0, center - half)
    hi = 1.0 if k >= n else min(1.0, center + half)
    return (lo, hi)


def expected_shortfall(losses: FloatArray, level: float) -> float:
    """Return the mean of the worst ``1 - level`` fraction of ``losses`` (positive: money lost)."""
    k = max(1, math.ceil((1.0 - level) * losses.shape[0] - 1e-9))
    worst = np.partition(losses, losses.shape[0] - k)[losses.shape[0] - k :]
    return float(worst.mean())


def parse_horizon(value: str | float) -> float:
    """Return a horizon in days from ``1.5`` (days) or ``"1d"``, ``"12h"``, ``"90m"``, ``"2w"``."""
    if isinstance(value, int | float):
        days = float(value)
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([mhdw]?)\s*", value)
        if match is None:
            raise InputError("horizon", value, "a duration such as 1d, 12h or 90m")
        unit = {"m": 1 / 1440, "h": 1 / 24, "d": 1.0, "w": 7.0, "": 1.0}[match.group(2)]
        days = float(match.group(1)) * unit
    if not (days > 0 and math.isfinite(days)):
        raise InputError("horizon", value, "a duration > 0")
    return days


def _bars_per_day(data: MarketData) -> float:
    return 86400.0 / float(data.interval.total_seconds())


def _closes(data: MarketData, symbols: Sequence[str], price: str = "mark") -> FloatArray:
    for s in symbols:
        if s not in data.symbols:
            raise InputError("symbol", s, f"one of the data's symbols {data.symbols}")
    return np.column_stack([data.ohlc(s, price)[:, CLOSE] for s in symbols])  # type: ignore[arg-type]


def params_from_data(
    data: MarketData, symbols: Sequence[str], *, vol: float | None = None, drift: float = 0.0
) -> ModelParams:
    """Estimate vol and correlation of ``symbols`` from the data's mark closes; drift is given (default 0).

    ``vol`` (annualised) replaces every estimated volatility when given; the correlation is always estimated.
    """
    returns = np.diff(np.log(_closes(data, symbols)), axis=0)
    est = estimate_params(returns, periods_per_year=DAYS_PER_YEAR * _bars_per_day(data))
    vols = est.vol if vol is None else np.full(len(symbols), float(vol))
    return ModelParams(vol=vols, drift=np.full(len(symbols), float(drift)), corr=est.corr)


# =========================================================================== report
@dataclass(frozen=True, slots=True)
class PositionRisk:
    """Liquidation risk of one position in one mode.

    ``p_liquidation`` is the fraction of paths on which it was liquidated within the horizon, ``ci`` its
    Wilson 95 % interval; ``ttl_hours`` quantiles of the time to its liquidation (given liquidation).
    """

    symbol: str
    side: str
    mode: str
    p_liquidation: float
    ci: tuple[float, float]
    ttl_hours: dict[str, float | None]


@dataclass(frozen=True, slots=True)
class ModeRisk:
    """Risk of the whole account in one margin mode (money in the settle asset, positive loss = money lost).

    Attributes
    ----------
    start_equity : float
        Wallets + isolated margins + uPnL at the start prices.
    p_any_liquidation, p_wipeout : float
        Fraction of paths with at least one liquidation / with final equity at most 10 % of the start.
    p_wipeout_intra : float
        Fraction of paths whose equity fell to at most 10 % of the start at any step point.
    expected_loss : float
        Mean of ``start_equity - final_equity`` (negative: an expected gain).
    es95, es99 : float
        Expected shortfall of the loss: the mean of the worst 5 % / 1 % of paths.
    ttl_hours : dict
        Quantiles (``"q05"``..``"q95"``) of the time to the first liquidation, hours, given one happened.
    """

    mode: str
    start_equity: float
    positions: list[PositionRisk]
    p_any_liquidation: float
    ci_any_liquidation: tuple[float, float]
    p_wipeout: float
    ci_wipeout: tuple[float, float]
    p_wipeout_intra: float
    expected_loss: float
    es95: float
    es99: float
    ttl_hours: dict[str, float | None]


@dataclass(frozen=True, slots=True)
class RiskReport:
    """Outcome of :func:`run_risk` (:func:`marginlab.render.risk_json` is the ``--json`` shape)."""

    model: str
    horizon_days: float
    steps: int
    steps_per_day: int
    paths: int
    seed: int
    chunk_size: int
    start: str
    symbols: tuple[str, ...]
    start_prices: dict[str, float]
    modes: dict[str, ModeRisk]
    notes: tuple[str, ...] = field(default=())


# =========================================================================== compiled job
@dataclass(frozen=True)
class Job:
    """Everything a chunk needs (small arrays; pickled to Dask workers). Modes are stacked on axis 0."""

    model: str
    steps: int
    dt: float
    paths: int
    chunk_size: int
    seed: int
    block: int
    x0: FloatArray
    params: ModelParams | None
    returns: FloatArray | None
    sym: npt.NDArray[np.int64]
    side: FloatArray
    qty: FloatArray
    entry: FloatArray
    iso: npt.NDArray[np.bool_]
    margin: FloatArray
    log_lp: FloatArray
    wallet: FloatArray
    start_equity: FloatArray
    tiers: FloatArray
    tables: FloatArray
    basis_entry: int

    @property
    def n_chunks(self) -> int:
        """Return the number of chunks."""
        return -(-self.paths // self.chunk_size)

    def chunk_paths(self, c: int) -> int:
        """Return the number of paths of chunk ``c``."""
        return min(self.chunk_size, self.paths - c * self.chunk_size)


@dataclass(frozen=True)
class ChunkResult:
    """Per-chunk tallies (mergeable exactly): modes on axis 0."""

    liq_hist: npt.NDArray[np.int64]  # (M, P, steps + 1): liquidations of each position per step
    any_hist: npt.NDArray[np.int64]  # (M, steps + 1): first liquidation of any position per step
    wipeouts: npt.NDArray[np.int64]  # (M,) final equity <= 10 % of start
    wipeouts_intra: npt.NDArray[np.int64]  # (M,) min equity <= 10 % of start
    losses: FloatArray  # (M, n) start - final equity


def _gbm_arrays(job: Job) -> tuple[FloatArray, FloatArray]:
    n_assets = job.x0.shape[0]
    if job.model != "gbm" or job.params is None:
        return np.zeros(n_assets), np.zeros((n_assets, n_assets))
    p = job.params.validated()
    drift_dt = (p.drift - 0.5 * p.vol**2) * job.dt
    chol_dt = np.ascontiguousarray(cholesky(p.corr) * (p.vol * math.sqrt(job.dt))[:, None])
    return drift_dt, chol_dt


def _walk(job: Job, gbm: bool, incr: FloatArray, n: int, key: np.uint64) -> tuple[Any, ...]:
    n_modes, n_pos = job.qty.shape
    liq = np.empty((n_modes, n, n_pos), np.int32)
    final = np.empty((n_modes, n))
    low = np.empty((n_modes, n))
    drift_dt, chol_dt = _gbm_arrays(job)
    code = mc_run_nb(
        gbm, incr, n, job.steps, key, 0, job.x0, drift_dt, chol_dt, *_ZIG,
        job.sym, job.side, job.qty, job.entry, job.iso, job.margin, job.log_lp, job.wallet,
        job.tiers, job.tables, job.basis_entry, liq, final, low,
    )  # fmt: skip
    raise_for_status(code, where="Monte Carlo kernel")
    return liq, final, low


def run_chunk(job: Job, c: int) -> ChunkResult:
    """Simulate chunk ``c`` of ``job`` and return its tallies (the unit of work; a pure function)."""
    n = job.chunk_paths(c)
    seq = np.random.SeedSequence(job.seed, spawn_key=(c,))
    if job.model == "gbm":
        key = np.uint64(seq.generate_state(1, np.uint64)[0])
        liq, final, low = _walk(job, True, np.zeros((0, 0, 0)), n, key)
    else:
        rng = np.random.Generator(np.random.PCG64(seq))
        parts = []
        for start in range(0, n, _SUB_BATCH):
            m = min(_SUB_BATCH, n - start)
            incr = increments(
                job.model, steps=job.steps, dt=job.dt, paths=m, rng=rng, params=job.params,
                returns=job.returns, block=job.block,
            )  # fmt: skip
            parts.append(_walk(job, False, np.ascontiguousarray(incr), m, np.uint64(0)))
        liq = np.concatenate([p[0] for p in parts], axis=1)
        final = np.concatenate([p[1] for p in parts], axis=1)
        low = np.concatenate([p[2] for p in parts], axis=1)
    n_modes, _, n_pos = liq.shape
    bins = job.steps + 2  # step + 1 so that NO_LIQUIDATION (-1) lands in bin 0, dropped below
    liq_hist = np.zeros((n_modes, n_pos, job.steps + 1), np.int64)
    any_hist = np.zeros((n_modes, job.steps + 1), np.int64)
    for m in range(n_modes):
        for p in range(n_pos):
            liq_hist[m, p] = np.bincount(liq[m, :, p] + 1, minlength=bins)[1:]
        first = np.where(liq[m] >= 0, liq[m], np.iinfo(np.int32).max).min(axis=1)
        hit = first[first != np.iinfo(np.int32).max]
        any_hist[m] = np.bincount(hit, minlength=job.steps + 1)
    floor = ((1.0 - WIPEOUT) * job.start_equity)[:, None]
    return ChunkResult(
        liq_hist=liq_hist,
        any_hist=any_hist,
        wipeouts=(final <= floor).sum(axis=1),
        wipeouts_intra=(low <= floor).sum(axis=1),
        losses=job.start_equity[:, None] - final,
    )


# =========================================================================== compile the account
def _one_bar(prices: dict[str, float], when: np.datetime64) -> Bars:
    row = {s: np.full((1, 4), p) for s, p in prices.items()}
    return Bars(times=np.array([when], "datetime64[ns]"), last=row, mark=row, funding={})


def _fill_entries(model: Portfolio, venue: Venue, entry_price: dict[str, Decimal]) -> Portfolio:
    """Give positions without ``entry`` the start price; isolated ones take their margin from the wallet."""
    balances = dict(model.balances)
    specs = []
    for i, spec in enumerate(model.positions):
        if spec.entry is not None:
            specs.append(spec)
            continue
        instrument = instrument_for(venue, spec.symbol, spec)
        native = venue.resolve_symbol(spec.symbol)
        price = entry_price[native]
        qty = spec.qty if spec.qty is not None else instrument.round_qty_down(spec.notional / price)  # type: ignore[operator]
        if qty <= 0:
            raise InputError(f"positions[{i}].notional", spec.notional, "at least one lot at the start price")
        update: dict[str, Any] = {"entry": price, "qty": qty, "notional": None, "open_at": None}
        if spec.mode is MarginMode.ISOLATED:
            leverage = spec.leverage or venue.default_leverage
            margin = spec.margin if spec.margin is not None else qty * price / leverage
            settle = instrument.settle
            balances[settle] = balances.get(settle, Decimal(0)) - margin
            if balances[settle] < 0:
                raise InputError(
                    f"balances.{settle}", balances[settle] + margin, f"enough to open positions[{i}]"
                )
            update["margin"] = margin
        specs.append(spec.model_copy(update=update))
    return model.model_copy(update={"positions": specs, "balances": balances})


def _compile_modes(
    portfolio: Portfolio,
    venue: Venue,
    modes: Sequence[str],
    start: dict[str, float],
    entry: dict[str, Decimal],
) -> tuple[TierSet, dict[str, FloatArray], list[tuple[str, str]]]:
    when = np.datetime64("2000-01-01T00:00", "ns")  # the one synthetic bar's time: never reported
    rows: dict[str, list[Any]] = {k: [] for k in ("qty", "entry", "iso", "margin", "log_lp", "wallet", "eq")}
    tier_set: TierSet | None = None
    sym = side = None
    for mode in modes:
        model = _fill_entries(portfolio_for_mode(portfolio, mode, venue), venue, entry)
        model_venue = replay_venue(model, venue)
        plan = compile_replay(model, model_venue, _one_bar(start, when))
        if tier_set is None:
            tier_set = plan.tier_set
        elif plan.tier_set.symbols != tier_set.symbols:  # pragma: no cover - same positions in every mode
            raise InputError("modes", mode, "the same symbols in every mode")
        pos = plan.positions
        sym = pos["sym"].astype(np.int64)
        side = pos["side"].astype(np.float64)
        qty, ent, margin = plan.st[:, dt.S_QTY], plan.st[:, dt.S_ENTRY], plan.st[:, dt.S_MARGIN]
        iso = pos["mode"] == dt.ISOLATED
        marks = np.array([start[s] for s in plan.tier_set.symbols])[sym]
        lp = np.full(len(pos), np.nan)
        if iso.any():
            lp[iso] = liquidation_prices(
                plan.tier_set, table=sym[iso], side=pos["side"][iso], qty=qty[iso], entry=ent[iso],
                fixed=margin[iso], mark=marks[iso],
            )  # fmt: skip
        none = np.where(side > 0, -np.inf, np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_lp = np.where(iso & np.isfinite(lp) & (lp > 0), np.log(lp), none)
        wallet = float(plan.acc[dt.A_WALLET])
        eq = wallet + float(np.sum(np.where(iso, margin, 0.0) + side * qty * (marks - ent)))
        for k, v in (("qty", qty), ("entry", ent), ("iso", iso), ("margin", np.where(iso, margin, 0.0))):
            rows[k].append(v)
        rows["log_lp"].append(log_lp)
        rows["wallet"].append(wallet)
        rows["eq"].append(eq)
    assert tier_set is not None and sym is not None and side is not None  # noqa: S101 - modes is non-empty
    arrays = {k: np.ascontiguousarray(np.array(v)) for k, v in rows.items()}
    arrays["sym"], arrays["side"] = sym, side
    labels = [
        (tier_set.symbols[int(s)], "long" if d > 0 else "short") for s, d in zip(sym, side, strict=True)
    ]
    return tier_set, arrays, labels


# =========================================================================== run
def _quantiles(hist: npt.NDArray[np.int64], hours_per_step: float) -> dict[str, float | None]:
    total = int(hist.sum())
    out: dict[str, float | None] = {}
    cum = np.cumsum(hist)
    for q in TTL_QUANTILES:
        key = f"q{round(q * 100):02d}"
        out[key] = None if total == 0 else float(np.searchsorted(cum, q * total)) * hours_per_step
    return out


def _start_prices(
    portfolio: Portfolio, venue: Venue, model: str, params: ModelParams | None, data: MarketData | None
) -> tuple[MarketData | None, dict[str, float], dict[str, Decimal], list[str], str]:
    """Return (data, start mark per symbol, entry of positions without one, notes, start time label)."""
    base_venue = replay_venue(portfolio, venue)
    needs_data = model == "bootstrap" or params is None or any(s.entry is None for s in portfolio.positions)
    if data is None and needs_data:
        from marginlab.io.scenarios import DEFAULT_SCENARIO, load_scenario

        data = load_scenario(DEFAULT_SCENARIO)
    notes: list[str] = []
    start: dict[str, float] = {}
    entry: dict[str, Decimal] = {}
    for spec in portfolio.positions:
        native = base_venue.resolve_symbol(spec.symbol)
        if data is not None and native in data.symbols:
            entry.setdefault(native, to_decimal(float(data.ohlc(native, "last")[-1, CLOSE])))
            start.setdefault(native, float(data.ohlc(native, "mark")[-1, CLOSE]))
        if spec.mark is not None:
            start[native] = to_float(spec.mark)
        elif native not in start and spec.entry is not None:
            start[native] = to_float(spec.entry)
        if native not in start or (spec.entry is None and native not in entry):
            raise InputError("symbol", spec.symbol, "a symbol of the market data (or an entry and mark)")
    start_time = "given prices"
    if data is not None:
        start_time = str(np.datetime_as_string(data.times[-1], unit="s")) + "Z"
        notes.append(f"start: last bar of the data ({start_time}), {data.source}")
    return data, start, entry, notes, start_time


def _bootstrap_returns(
    data: MarketData, symbols: Sequence[str], steps_per_day: int, block: int
) -> FloatArray:
    """Return the data's mark log returns summed to one step each (a step is a whole number of bars)."""
    bar_returns = np.diff(np.log(_closes(data, symbols)), axis=0)
    per_step = _bars_per_day(data) / steps_per_day
    k = round(per_step)
    if k < 1 or abs(per_step - k) > 1e-9:
        raise InputError(
            "steps_per_day", steps_per_day, f"a divisor of the data's {_bars_per_day(data):g} bars per day"
        )
    usable = bar_returns.shape[0] // k * k
    returns = bar_returns[:usable].reshape(-1, k, len(symbols)).sum(axis=1)
    if not 1 <= block <= returns.shape[0]:
        raise InputError("block", block, f"a block length in 1..{returns.shape[0]} steps")
    return np.asarray(returns, dtype=np.float64)


def run_risk(
    portfolio: Portfolio,
    venue: Venue,
    *,
    model: str = "gbm",
    horizon: str | float = 1.0,
    steps_per_day: int = 288,
    paths: int = 100_000,
    seed: int = 0,
    params: ModelParams | None = None,
    data: MarketData | None = None,
    modes: Sequence[str] = MODES,
    workers: int | None = None,
    scheduler: str | Any | None = None,
    chunk_size: int = 50_000,
    block: int = 12,
    progress: Callable[[int, int], None] | None = None,
) -> RiskReport:
    """Simulate mark-price paths and report the liquidation risk of ``portfolio`` in each margin mode.

    Parameters
    ----------
    portfolio : Portfolio
        The ``liq``/``replay`` file format; positions without ``entry`` open at the start price.
    venue : Venue
        Rule set (tiers, fees, maintenance basis); one settlement asset.
    model : {"gbm", "student-t", "jump", "bootstrap"}
        Path model (:mod:`marginlab.sim.paths`).
    horizon : str or float
        Days (float) or a duration such as ``"1d"``, ``"12h"``.
    steps_per_day : int
        Monitoring points per day (288: every 5 minutes); liquidation is checked at step points only. With
        ``bootstrap`` one step must be a whole number of data bars.
    paths, seed : int
        Number of paths; seed of the ``SeedSequence`` whose child ``c`` drives chunk ``c``.
    params : ModelParams, optional
        Per asset in the order of ``RiskReport.symbols`` (first appearance in the portfolio). Default:
        volatility and correlation estimated from the data's mark closes, drift 0 (:func:`params_from_data`).
    data : MarketData, optional
        Market data for start prices, estimation and bootstrap; default the bundled ``2025-10-10`` scenario,
        whose last bar is the start. Positions without ``entry`` enter at the last bar's last-price close;
        paths start at the last mark close (a position's ``mark`` overrides the start of its symbol).
    modes : sequence of {"cross", "isolated", "hybrid"}
        Margin modes, as in ``compare``.
    workers, scheduler : optional
        ``workers=N`` runs chunks on a local Dask cluster of N single-thread workers; ``scheduler`` (an
        address or a ``distributed.Client``) uses an existing one. Default: in-process (the GBM kernel uses
        every core).
    chunk_size : int
        Paths per chunk, the unit of work (memory is bounded by it).
    block : int
        Bootstrap block length in steps.
    progress : callable, optional
        Called with (chunks done, chunks total).

    Returns
    -------
    RiskReport

    Raises
    ------
    InputError
        For an unknown model or mode, bad sizes, or a symbol the data lacks.
    """
    if model not in MODELS:
        raise InputError("model", model, "one of " + ", ".join(MODELS))
    modes = tuple(dict.fromkeys(modes))
    if not modes or any(m not in MODES for m in modes):
        raise InputError("modes", modes, "a non-empty subset of cross, isolated, hybrid")
    for name, value in (("paths", paths), ("steps_per_day", steps_per_day), ("chunk_size", chunk_size)):
        if not (isinstance(value, int) and value >= 1):
            raise InputError(name, value, "an integer >= 1")
    if not portfolio.positions:
        raise InputError("positions", [], "at least one position")
    days = parse_horizon(horizon)
    steps = max(1, round(days * steps_per_day))
    dt_years = 1.0 / (DAYS_PER_YEAR * steps_per_day)

    data, start, entry, notes, start_time = _start_prices(portfolio, venue, model, params, data)
    tier_set, arrays, labels = _compile_modes(portfolio, venue, modes, start, entry)
    symbols = tier_set.symbols
    returns = None
    if model == "bootstrap":
        assert data is not None  # noqa: S101 - loaded by _start_prices
        returns = _bootstrap_returns(data, symbols, steps_per_day, block)
    elif params is None:
        assert data is not None  # noqa: S101 - loaded by _start_prices
        params = params_from_data(data, symbols)
        notes.append("vol and correlation estimated from the data's mark closes; drift 0")
    if params is not None:
        params = params.validated()
        if params.assets != len(symbols):
            raise InputError("params", params.assets, f"one entry per symbol {symbols}")

    job = Job(
        model=model, steps=steps, dt=dt_years, paths=paths, chunk_size=chunk_size, seed=seed, block=block,
        x0=np.log(np.array([start[s] for s in symbols])), params=params, returns=returns,
        sym=arrays["sym"].astype(np.int64), side=arrays["side"], qty=arrays["qty"], entry=arrays["entry"],
        iso=arrays["iso"].astype(np.bool_),
        margin=arrays["margin"], log_lp=arrays["log_lp"], wallet=arrays["wallet"], start_equity=arrays["eq"],
        tiers=tier_set.tiers, tables=tier_set.tables, basis_entry=int(tier_set.flags[dt.V_BASIS_ENTRY]),
    )  # fmt: skip
    results = _execute(job, workers=workers, scheduler=scheduler, progress=progress)
    return _aggregate(job, results, modes, labels, days, steps_per_day, start_time, symbols, start, notes)


SCHEDULER_TIMEOUT_S = 5  # a scheduler that does not answer within this is reported, not waited for (30 s)
WORKER_TIMEOUT_S = 60  # a scheduler without workers: how long to wait for the first one to join


def _connect(dist: Any, address: str) -> Any:
    """Return a ``distributed.Client`` of the scheduler at ``address``; InputError if it cannot connect."""
    try:
        client = dist.Client(address, timeout=SCHEDULER_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            "--scheduler", address, "", problem=f"cannot connect to a Dask scheduler at {address} ({reason})"
        ) from None
    try:
        client.wait_for_workers(1, timeout=WORKER_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        client.close()
        raise InputError(
            "--scheduler",
            address,
            "",
            problem=f"the Dask scheduler at {address} has no worker "
            f"(none joined within {WORKER_TIMEOUT_S} s): start one with `dask worker {address}`",
        ) from exc
    return client


def _execute(
    job: Job, *, workers: int | None, scheduler: str | Any | None, progress: Callable[[int, int], None] | None
) -> list[ChunkResult]:
    n = job.n_chunks
    if workers is None and scheduler is None:
        out = []
        for c in range(n):
            out.append(run_chunk(job, c))
            if progress is not None:
                progress(c + 1, n)
        return out
    import distributed

    dist: Any = distributed  # untyped package
    cluster: Any = None
    client: Any
    if scheduler is not None:
        client = scheduler if isinstance(scheduler, dist.Client) else _connect(dist, scheduler)
        own_client = not isinstance(scheduler, dist.Client)
    else:
        if not (isinstance(workers, int) and workers >= 1):
            raise InputError("workers", workers, "an integer >= 1")
        cluster = dist.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        client = dist.Client(cluster)
        own_client = True
    try:
        shared = client.scatter(job, broadcast=True)
        futures = [client.submit(run_chunk, shared, c, pure=False) for c in range(n)]
        for done, _ in enumerate(dist.as_completed(futures), start=1):
            if progress is not None:
                progress(done, n)
        return list(client.gather(futures))
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()


def _aggregate(
    job: Job,
    results: list[ChunkResult],
    modes: Sequence[str],
    labels: list[tuple[str, str]],
    days: float,
    steps_per_day: int,
    start_time: str,
    symbols: tuple[str, ...],
    start: dict[str, float],
    notes: list[str],
) -> RiskReport:
    n = job.paths
    hours = 24.0 / steps_per_day
    liq_hist = sum((r.liq_hist for r in results), np.zeros_like(results[0].liq_hist))
    any_hist = sum((r.any_hist for r in results), np.zeros_like(results[0].any_hist))
    wipe = sum((r.wipeouts for r in results), np.zeros_like(results[0].wipeouts))
    wipe_intra = sum((r.wipeouts_intra for r in results), np.zeros_like(results[0].wipeouts_intra))
    losses = np.concatenate([r.losses for r in results], axis=1)
    out: dict[str, ModeRisk] = {}
    for m, mode in enumerate(modes):
        positions = []
        for p, (symbol, side) in enumerate(labels):
            k = int(liq_hist[m, p].sum())
            positions.append(
                PositionRisk(
                    symbol=symbol,
                    side=side,
                    mode="isolated" if job.iso[m, p] else "cross",
                    p_liquidation=k / n,
                    ci=wilson(k, n),
                    ttl_hours=_quantiles(liq_hist[m, p], hours),
                )
            )
        k_any = int(any_hist[m].sum())
        out[mode] = ModeRisk(
            mode=mode,
            start_equity=float(job.start_equity[m]),
            positions=positions,
            p_any_liquidation=k_any / n,
            ci_any_liquidation=wilson(k_any, n),
            p_wipeout=int(wipe[m]) / n,
            ci_wipeout=wilson(int(wipe[m]), n),
            p_wipeout_intra=int(wipe_intra[m]) / n,
            expected_loss=float(losses[m].mean()),
            es95=expected_shortfall(losses[m], 0.95),
            es99=expected_shortfall(losses[m], 0.99),
            ttl_hours=_quantiles(any_hist[m], hours),
        )
    return RiskReport(
        model=job.model,
        horizon_days=days,
        steps=job.steps,
        steps_per_day=steps_per_day,
        paths=n,
        seed=job.seed,
        chunk_size=job.chunk_size,
        start=start_time,
        symbols=symbols,
        start_prices={s: start[s] for s in symbols},
        modes=out,
        notes=tuple(notes),
    )


def with_params(params: ModelParams, **changes: Any) -> ModelParams:
    """Return ``params`` with fields replaced (e.g. ``vol=np.full(2, 0.8)``)."""
    return replace(params, **changes)
