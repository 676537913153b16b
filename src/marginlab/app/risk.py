"""The risk use case: Monte Carlo liquidation and ruin probabilities of a portfolio per margin mode.

The orchestration lives here, the arrays in :mod:`marginlab.sim`: each mode's account is placed by the exact
engine and compiled once (:func:`marginlab.sim.compile.compile_replay`, isolated liquidation prices from
:func:`marginlab.sim.api.liquidation_prices`), the paths run in chunks (:mod:`marginlab.sim.montecarlo`,
in-process or on Dask), and the chunk tallies are aggregated per mode: liquidation probability of each
position with a Wilson 95 % interval, probability of any liquidation and of a wipe-out, expected loss,
expected shortfall and time-to-liquidation quantiles. Semantics: ``docs/montecarlo.md``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from marginlab.analysis.advisor import Evidence, EvidenceFn
from marginlab.app.inputs import ProgressFn, market_or_default, parse_count, parse_modes, venue_for
from marginlab.domain.enums import MarginMode
from marginlab.domain.venue import Venue
from marginlab.errors import InputError
from marginlab.io.bars import CLOSE, Bars, to_decimal
from marginlab.io.candles import MarketData
from marginlab.io.portfolio import MODES, instrument_for, name_position, portfolio_for_mode, portfolio_venue
from marginlab.io.scenarios import DEFAULT_SCENARIO, load_scenario
from marginlab.io.schema import Portfolio
from marginlab.sim import dtypes as dt
from marginlab.sim.api import liquidation_prices
from marginlab.sim.compile import TierSet, compile_replay, to_float
from marginlab.sim.montecarlo import ChunkResult, Job, execute, expected_shortfall, quantiles, wilson
from marginlab.sim.paths import DAYS_PER_YEAR, MODELS, ModelParams, estimate_params

__all__ = [
    "ModeRisk",
    "PositionRisk",
    "RiskReport",
    "RiskRequest",
    "RiskResult",
    "params_from_data",
    "parse_horizon",
    "risk",
    "risk_evidence",
    "run_risk",
]

FloatArray = npt.NDArray[np.float64]
MAX_PATHS = 100_000_000  # 10^8 paths: hours of work already; more is a typo, not a question


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskRequest:
    """A Monte Carlo run: the portfolio, the path model and the data it is calibrated on.

    Parameters
    ----------
    portfolio : Portfolio
        Positions without ``entry`` open at the data's last close.
    horizon : str
        ``"1d"``, ``"12h"``, ``"7d"`` …
    paths, seed : int
        Number of simulated paths; the same seed gives the same answer.
    model : {"gbm", "student-t", "jump", "bootstrap"}
        Path model.
    vol, drift : float, optional
        Annualised volatility replacing the estimate, and drift (default 0).
    steps_per_day : int
        Monitoring points per day.
    scenario, datadir : optional
        Data for start prices and estimation; default the latest bundled scenario.
    exchange, tiers_file : optional
        Rule set overriding the portfolio's, and a ccxt tiers dump.
    modes : str or sequence of str
        ``"cross,isolated,hybrid"`` or a subset.
    workers, scheduler : optional
        A local Dask cluster of N workers, or the address of a Dask scheduler.
    """

    portfolio: Portfolio
    horizon: str = "1d"
    paths: int = 100_000
    seed: int = 0
    model: str = "gbm"
    vol: float | None = None
    drift: float = 0.0
    steps_per_day: int = 288
    scenario: str | None = None
    datadir: Path | None = None
    exchange: str | None = None
    tiers_file: Path | None = None
    modes: str | Sequence[str] = MODES
    workers: int | None = None
    scheduler: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskResult:
    """The Monte Carlo report and the rule set it ran on."""

    exchange: str
    venue_title: str
    report: RiskReport

    @property
    def modes(self) -> dict[str, ModeRisk]:
        """Return the risk per margin mode (``"cross"``, ``"isolated"``, ``"hybrid"``)."""
        return self.report.modes

    def __repr__(self) -> str:
        """Return one line: the run, then each mode's P(any liquidation) and expected shortfall 99 %."""
        r = self.report
        modes = ", ".join(
            f"{name} P(liq.) {m.p_any_liquidation:.2%} ES99 {m.es99:,.2f}" for name, m in r.modes.items()
        )
        return f"<RiskResult {self.exchange}: {r.paths:,} {r.model} paths over {r.horizon_days:g}d; {modes}>"


def risk(request: RiskRequest, *, progress: ProgressFn | None = None) -> RiskResult:
    """Simulate mark-price paths and return the liquidation risk of the portfolio in each margin mode."""
    model = request.portfolio
    refuse_multi_assets(model)
    parse_count("seed", request.seed, minimum=0, maximum=2**63 - 1)
    parse_count("paths", request.paths, maximum=MAX_PATHS)
    venue = venue_for(model.exchange, request.exchange, request.tiers_file)
    data = market_or_default(request.scenario, request.datadir)
    params = None
    if request.vol is not None or request.drift:
        symbols = list(dict.fromkeys(venue.resolve_symbol(p.symbol) for p in model.positions))
        params = params_from_data(data, symbols, vol=request.vol, drift=request.drift)
    modes = parse_modes(request.modes) if isinstance(request.modes, str) else tuple(request.modes)
    report = run_risk(
        model,
        venue,
        model=request.model,
        horizon=request.horizon,
        steps_per_day=request.steps_per_day,
        paths=request.paths,
        seed=request.seed,
        params=params,
        data=data,
        modes=modes,
        workers=request.workers,
        scheduler=request.scheduler,
        progress=None if progress is None else (lambda done, total: progress(done, total, "simulating")),
    )
    return RiskResult(exchange=venue.name, venue_title=venue.title, report=report)


def refuse_multi_assets(portfolio: Portfolio) -> None:
    """Refuse a Multi-Assets portfolio: the Monte Carlo kernel has no collateral model (yet).

    The kernel values one settlement-asset pool per margin mode in float64; Multi-Assets mode needs every
    coin of the pool re-valued on the simulated paths with its haircut and bid/ask rates. Not done.
    """
    if portfolio.multi_assets:
        raise InputError(
            "multi_assets",
            True,
            "",
            problem=(
                "risk does not model Multi-Assets mode (the Monte Carlo kernel cannot re-value BTC, ETH, "
                "… collateral on its paths); replay history with `marginlab compare`, or give the balances "
                "in the settlement asset without multi_assets"
            ),
        )


def risk_evidence(
    venue: Venue,
    *,
    data: MarketData,
    seed: int,
    paths: int = 20_000,
    horizon: str = "1d",
) -> EvidenceFn:
    """Return the advisor's Monte Carlo evidence function: the portfolio with the trade cross vs isolated.

    Both runs use the same seed (common random numbers), so the difference between them is the mode's.
    """

    def evidence(as_cross: Portfolio, as_isolated: Portfolio) -> dict[str, Evidence]:
        out: dict[str, Evidence] = {}
        for mode, model in (("cross", as_cross), ("isolated", as_isolated)):
            report = run_risk(
                model,
                venue,
                model="gbm",
                horizon=horizon,
                paths=paths,
                seed=seed,
                data=data,
                modes=("hybrid",),
            )
            result = report.modes["hybrid"]
            out[mode] = Evidence(
                p_trade_liquidated=result.positions[-1].p_liquidation,
                p_wipeout=result.p_wipeout,
                expected_loss=result.expected_loss,
                es95=result.es95,
                es99=result.es99,
            )
        return out

    return evidence


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
        try:
            qty = spec.quantity(instrument, price)
        except InputError as exc:
            name_position(exc, i)
            raise
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
        model_venue = portfolio_venue(model, venue)
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


def _start_prices(
    portfolio: Portfolio, venue: Venue, model: str, params: ModelParams | None, data: MarketData | None
) -> tuple[MarketData | None, dict[str, float], dict[str, Decimal], list[str], str]:
    """Return (data, start mark per symbol, entry of positions without one, notes, start time label)."""
    base_venue = portfolio_venue(portfolio, venue)
    needs_data = model == "bootstrap" or params is None or any(s.entry is None for s in portfolio.positions)
    if data is None and needs_data:
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

    A Multi-Assets portfolio is refused (:func:`refuse_multi_assets`).

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
    refuse_multi_assets(portfolio)
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
    results = execute(job, workers=workers, scheduler=scheduler, progress=progress)
    return _aggregate(job, results, modes, labels, days, steps_per_day, start_time, symbols, start, notes)


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
                    ttl_hours=quantiles(liq_hist[m, p], hours),
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
            ttl_hours=quantiles(any_hist[m], hours),
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
