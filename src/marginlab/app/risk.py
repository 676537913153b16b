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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from marginlab.analysis.advisor import Evidence, EvidenceFn
from marginlab.app.inputs import OnVenue, ProgressFn, load_market, parse_count, parse_modes
from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode
from marginlab.domain.venue import Venue
from marginlab.errors import DataError, InputError
from marginlab.io.bars import CLOSE, Bars, to_decimal
from marginlab.io.candles import MarketData
from marginlab.io.history import load_history
from marginlab.io.portfolio import (
    MODES,
    account_options,
    instrument_for,
    name_position,
    place_positions,
    portfolio_for_mode,
    portfolio_venue,
)
from marginlab.io.scenarios import DEFAULT_SCENARIO
from marginlab.io.schema import Portfolio
from marginlab.sim import dtypes as dt
from marginlab.sim.api import liquidation_prices
from marginlab.sim.compile import PoolPlan, TierSet, compile_pool, compile_replay, to_float
from marginlab.sim.montecarlo import ChunkResult, Job, execute, expected_shortfall, quantiles, wilson
from marginlab.sim.montecarlo_nb import PR_COL, PR_SCALE
from marginlab.sim.paths import DAYS_PER_YEAR, MODELS, ModelParams, estimate_params, parse_vol

REGIMES = ("normal", "crash")

__all__ = [
    "ModeRisk",
    "PositionRisk",
    "RiskReport",
    "RiskRequest",
    "RiskResult",
    "params_from_data",
    "parse_horizon",
    "resolve_vol",
    "risk",
    "risk_data",
    "risk_evidence",
    "risk_figure_json",
    "run_risk",
]

FloatArray = npt.NDArray[np.float64]
MAX_PATHS = 100_000_000  # 10^8 paths: hours of work already; more is a typo, not a question


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskRequest(OnVenue):
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
    vol : str, float or mapping, optional
        Annualised volatility replacing the estimate: ``0.8`` / ``"80%"`` for every coin, or per coin
        ``"BTC=0.6,ETH=0.8"`` (coins not named keep the estimate).
    drift : float
        Annualised drift (default 0).
    steps_per_day : int
        Monitoring points per day.
    scenario, datadir, timeframe : optional
        Data for estimation (and for positions without ``entry``); default by ``regime``.
    regime : {"normal", "crash"}
        Without data: ``normal`` estimates from the bundled trailing 90 days of hourly history (a normal
        market); ``crash`` from the latest bundled crash scenario, to ask the crash question on purpose.
    start_from : {"position", "data"}
        Paths start at each position's own mark (``mark``, else ``entry``) or at the data's last price.
    exchange, tiers_file : optional
        The rule set (:class:`~marginlab.app.inputs.OnVenue`).
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
    vol: str | float | Mapping[str, float] | None = None
    drift: float = 0.0
    steps_per_day: int = 288
    scenario: str | None = None
    datadir: Path | None = None
    timeframe: str | None = None
    regime: str = "normal"
    start_from: str = "position"
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
    parse_count("seed", request.seed, minimum=0, maximum=2**63 - 1)
    parse_count("paths", request.paths, maximum=MAX_PATHS)
    venue = request.venue(model.exchange)
    data = risk_data(request.scenario, request.datadir, request.regime, timeframe=request.timeframe)
    vol = parse_vol(request.vol) if isinstance(request.vol, str) else request.vol
    modes = parse_modes(request.modes) if isinstance(request.modes, str) else tuple(request.modes)
    report = run_risk(
        model,
        venue,
        model=request.model,
        horizon=request.horizon,
        steps_per_day=request.steps_per_day,
        paths=request.paths,
        seed=request.seed,
        data=data,
        vol=vol,
        drift=request.drift,
        start_from=request.start_from,
        modes=modes,
        workers=request.workers,
        scheduler=request.scheduler,
        progress=None if progress is None else (lambda done, total: progress(done, total, "simulating")),
    )
    return RiskResult(exchange=venue.name, venue_title=venue.title, report=report)


def risk_data(
    scenario: str | None, datadir: Path | None, regime: str = "normal", *, timeframe: str | None = None
) -> MarketData:
    """Return the data a risk question is calibrated on: the user's, else the regime's bundled data."""
    if regime not in REGIMES:
        raise InputError("--regime", regime, "normal or crash")
    if scenario is not None or datadir is not None:
        if regime != "normal":
            raise InputError(
                "--regime", regime, "", problem="give --regime or --scenario/--datadir, not both"
            )
        return load_market(scenario=scenario, datadir=datadir, timeframe=timeframe)
    return load_history() if regime == "normal" else load_market(scenario=DEFAULT_SCENARIO)


def _collateral_starts(
    portfolio: Portfolio, venue: Venue, data: MarketData, held: Mapping[str, float]
) -> dict[str, float]:
    """Return the start marks of the perpetuals simulated only because they price a collateral coin.

    A Multi-Assets portfolio's coin (BTC) whose table perpetual (BTCUSDT) no position holds is simulated
    anyway when the data has it, so that its crash reaches the pool: its path starts at the coin's given
    ``index_prices`` value over the perpetual's settlement-asset index, else at the data's last mark close.
    """
    if not portfolio.multi_assets:
        return {}
    table = account_options(portfolio, venue)["collateral"]
    out: dict[str, float] = {}
    for asset in portfolio.balances:
        row = table.row(asset, f"balances.{asset}")
        perp = row.index_symbol
        if row.stable or perp is None or perp in held or perp in out or perp not in data.symbols:
            continue
        given = portfolio.index_prices.get(asset)
        if given is None:
            out[perp] = float(data.ohlc(perp, "mark")[-1, CLOSE])
        else:
            quote = portfolio.index_prices.get(venue.instrument(perp).settle, Decimal(1))
            out[perp] = to_float(given / quote)
    return out


def _multi_assets_modes(
    portfolio: Portfolio, venue: Venue, modes: Sequence[str], entry: dict[str, Decimal]
) -> tuple[tuple[str, ...], list[str]]:
    """Return the modes a Multi-Assets portfolio can be simulated in, and notes (the request otherwise).

    ``isolated`` leaves Multi-Assets mode (isolated margin is paid in the settlement asset): when the
    settlement wallet cannot pay it, or positions settle in two assets, that mode is left out with the
    reason, as ``compare`` does.
    """
    if not portfolio.multi_assets:
        return tuple(modes), []
    notes = [
        "Multi-Assets mode: the cross pool is valued in USD at every step: each asset's equity at its "
        "index, times its bid rate and collateral value ratio (a debt at its ask rate), against the "
        "maintenance at the settlement asset's ask rate; at 100 % the whole pool is lost. Equity and "
        "losses are in USD at index (no haircut)."
    ]
    filled = _fill_entries(portfolio, venue, entry)
    kept: list[str] = []
    for mode in modes:
        try:
            model = _mode_model(filled, mode, venue)
            settles = sorted({instrument_for(venue, p.symbol, p).settle for p in model.positions})
            if not model.multi_assets and len(settles) > 1:
                raise InputError("positions", settles, "one settlement asset once Multi-Assets mode is left")
        except InputError as exc:
            notes.append(f"{mode}: not simulated — {exc}")
            continue
        kept.append(mode)
        if not model.multi_assets:
            notes.append(
                f"{mode}: leaves Multi-Assets mode; the other coins stay in the wallet, backing nothing, "
                "counted in equity at their index (settlement-asset amounts at 1 USD)"
                + left_cross_shortfall(model, venue)
            )
    if not kept:
        raise InputError("modes", ",".join(modes), "", problem="no mode can be simulated: " + notes[-1])
    return tuple(kept), notes


def left_cross_shortfall(model: Portfolio, venue: Venue) -> str:
    """Return a warning clause when the cross book of ``model`` (out of Multi-Assets mode) is liquidatable.

    ``"; its cross positions then have …: they are liquidated at the start"`` when its cross wallet and uPnL
    are at or below its maintenance at the positions' entries and marks, else ``""``.
    """
    own = portfolio_venue(model, venue)
    account = Account(own, balances=model.balances, position_mode=model.position_mode)
    place_positions(account, model)
    for settle in dict.fromkeys(p.instrument.settle for p in account.positions):
        balance, maintenance = account.cross_margin_balance(settle), account.cross_maintenance_margin(settle)
        if account.cross_positions(settle) and balance <= maintenance:
            return (
                f"; its cross positions then have {balance:.2f} {settle} against a maintenance margin of "
                f"{maintenance:.2f} {settle}: they are liquidated at the start"
            )
    return ""


def _collateral_notes(pool: PoolPlan, symbols: Sequence[str], extra: Mapping[str, float]) -> list[str]:
    """Return which coins of the pool move with a simulated path and which keep their index."""
    notes = []
    for c, asset in enumerate(pool.assets):
        col = int(pool.rate[c, PR_COL])
        if col >= 0:
            perp = symbols[col]
            why = " (simulated for the collateral: no position holds it)" if perp in extra else ""
            notes.append(f"{asset} collateral moves with {perp}'s simulated path{why}")
    for asset in pool.fixed:
        index = pool.rate[pool.assets.index(asset), PR_SCALE]
        notes.append(
            f"{asset} collateral keeps its index {index:g} USD over the horizon (its perpetual is not "
            "simulated: the data lacks it)"
        )
    return notes


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
                asset=report.asset,
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
    data: MarketData,
    symbols: Sequence[str],
    *,
    vol: float | Mapping[str, float] | None = None,
    drift: float = 0.0,
) -> ModelParams:
    """Estimate vol and correlation of ``symbols`` from the data's mark closes; drift is given (default 0).

    ``vol`` (annualised, 0.8 = 80 %) replaces the estimated volatility of every symbol (a number) or of the
    symbols it names (``{"BTC": 0.6}``, keys a coin or a native symbol); the correlation is always
    estimated. Symbols whose volatility is given need not be in the data when every one is given.
    """
    overrides = resolve_vol(vol, symbols)
    lacking = [s for s in symbols if s not in data.symbols and s not in overrides]
    if lacking:
        raise InputError(
            "symbol", lacking[0], f"one of the data's symbols {data.symbols} (or its volatility in --vol)"
        )
    known = [s for s in symbols if s in data.symbols]
    index = {s: i for i, s in enumerate(known)}
    est = None
    if known:
        returns = np.diff(np.log(_closes(data, known)), axis=0)
        est = estimate_params(returns, periods_per_year=DAYS_PER_YEAR * _bars_per_day(data))
    vols = np.array([overrides[s] if s in overrides else float(est.vol[index[s]]) for s in symbols])  # type: ignore[union-attr]
    corr = np.eye(len(symbols))
    if est is not None:
        for i, a in enumerate(symbols):
            for j, b in enumerate(symbols):
                if i != j and a in index and b in index:
                    corr[i, j] = est.corr[index[a], index[b]]
    return ModelParams(vol=vols, drift=np.full(len(symbols), float(drift)), corr=corr)


def resolve_vol(vol: float | Mapping[str, float] | None, symbols: Sequence[str]) -> dict[str, float]:
    """Return the given volatility per native symbol: every symbol for a number, the named ones for a map.

    Raises
    ------
    InputError
        A key that names none of ``symbols`` (``--vol``), or a negative or non-finite value.
    """
    if vol is None:
        return {}
    if not isinstance(vol, Mapping):
        return {s: _vol_value(str(vol), float(vol)) for s in symbols}
    out: dict[str, float] = {}
    for key, value in vol.items():
        name = key.upper()
        match = [s for s in symbols if name in (s, _coin(s))]
        if not match:
            coins = ", ".join(_coin(s) for s in symbols)
            raise InputError("--vol", key, f"a coin of the portfolio ({coins})")
        for s in match:
            out[s] = _vol_value(key, float(value))
    return out


def _vol_value(key: str, value: float) -> float:
    if not (math.isfinite(value) and value >= 0):
        raise InputError(f"--vol {key}", value, "an annualised volatility >= 0 (0.8 = 80 %)")
    return value


def _coin(symbol: str) -> str:
    for quote in ("USDT", "USDC", "USD"):
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol.removesuffix(quote)
    return symbol


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
    asset: str = "USDT"
    volatility: dict[str, float] = field(default_factory=dict)
    vol_source: dict[str, str] = field(default_factory=dict)
    correlation: list[list[float]] = field(default_factory=list)
    window: dict[str, Any] = field(default_factory=dict)


def risk_figure_json(report: RiskReport) -> str:
    """Return the report's figure as Plotly JSON (``Plotly.newPlot(div, fig.data, fig.layout)``).

    Built by :func:`marginlab.analysis.report.risk_figure`, beside the replay figure: the one risk chart
    code path for the dashboard's page and any offline report.
    """
    from marginlab.analysis.report import risk_figure  # plotly loads for a figure only, not for the CLI

    return str(risk_figure(report.modes, report.asset).to_json())


def write_report(report: RiskReport, path: Path, *, title: str) -> None:
    """Write the offline HTML report of ``report`` to ``path`` (DataError if it cannot be written)."""
    from marginlab.analysis.report import render_risk_html  # plotly loads for a report only

    html = render_risk_html(report.modes, title=title, asset=report.asset, notes=report.notes)
    try:
        path.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot write the report ({exc.strerror or exc})") from exc


# =========================================================================== compile the account
def _one_bar(prices: dict[str, float], when: np.datetime64) -> Bars:
    row = {s: np.full((1, 4), p) for s, p in prices.items()}
    return Bars(times=np.array([when], "datetime64[ns]"), last=row, mark=row, funding={})


def _fill_entries(model: Portfolio, venue: Venue, entry_price: dict[str, Decimal]) -> Portfolio:
    """Give positions without ``entry`` the start price (and a qty).

    Isolated margin sits on top of ``[balances]`` whether a position has an entry or not (the one rule of
    :func:`marginlab.analysis.replay.prepare_replay`), so the balances are left as they are.
    """
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
        specs.append(spec.model_copy(update={"entry": price, "qty": qty, "notional": None, "open_at": None}))
    return model.model_copy(update={"positions": specs})


def _compile_modes(
    portfolio: Portfolio,
    venue: Venue,
    modes: Sequence[str],
    start: dict[str, float],
    entry: dict[str, Decimal],
    extra: dict[str, float],
) -> tuple[TierSet, dict[str, Any], list[tuple[str, str]]]:
    """Return the tier set, the kernel arrays of every mode (modes on axis 0) and the position labels.

    A Multi-Assets portfolio adds the pool arrays (``pool_of``, ``pool_wallet``, ``pool_rate``,
    :func:`marginlab.sim.compile.compile_pool`): its pooled modes value the cross book in USD, and a mode
    that leaves Multi-Assets mode (``isolated``) keeps its other coins idle, counted in equity at their
    index. ``extra``: start marks of the perpetuals simulated only because they price a collateral coin.
    """
    when = np.datetime64("2000-01-01T00:00", "ns")  # the one synthetic bar's time: never reported
    rows: dict[str, list[Any]] = {
        k: [] for k in ("qty", "entry", "iso", "margin", "log_lp", "wallet", "eq", "pool_of", "pool_wallet")
    }
    tier_set: TierSet | None = None
    sym = side = None
    filled = _fill_entries(portfolio, venue, entry)
    reference: PoolPlan | None = None
    for mode in modes:
        model = _mode_model(filled, mode, venue)
        model_venue = portfolio_venue(model, venue)
        plan = compile_replay(model, model_venue, _one_bar(start, when), pooled=model.multi_assets)
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
        pool_of, pool_wallet = np.full(len(pos), -1, np.int64), np.zeros(0)
        if portfolio.multi_assets:
            columns = (*plan.tier_set.symbols, *extra)
            prices = {**start, **extra}
            if reference is None:
                cross = portfolio_for_mode(filled, "cross", venue)  # every coin of the file, in the pool
                reference = compile_pool(cross, portfolio_venue(cross, venue), columns, prices)
            pool_of, pool_wallet, value = _mode_pool(model, model_venue, reference, columns, prices)
            if model.multi_assets:  # the pool holds every wallet and values the cross book in USD
                wallet, eq = 0.0, value
            else:
                eq += value
        for k, v in (("qty", qty), ("entry", ent), ("iso", iso), ("margin", np.where(iso, margin, 0.0))):
            rows[k].append(v)
        rows["log_lp"].append(log_lp)
        rows["wallet"].append(wallet)
        rows["eq"].append(eq)
        rows["pool_of"].append(pool_of)
        rows["pool_wallet"].append(pool_wallet)
    assert tier_set is not None and sym is not None and side is not None  # noqa: S101 - modes is non-empty
    arrays: dict[str, Any] = {k: np.ascontiguousarray(np.array(v)) for k, v in rows.items()}
    arrays["sym"], arrays["side"] = sym, side
    arrays["pool"] = None
    if reference is not None:
        arrays["pool"] = (arrays["pool_of"], arrays["pool_wallet"], np.ascontiguousarray(reference.rate))
        arrays["pool_plan"] = reference
    labels = [
        (tier_set.symbols[int(s)], "long" if d > 0 else "short") for s, d in zip(sym, side, strict=True)
    ]
    return tier_set, arrays, labels


def _mode_pool(
    model: Portfolio, venue: Venue, reference: PoolPlan, columns: Sequence[str], prices: dict[str, float]
) -> tuple[npt.NDArray[np.int64], FloatArray, float]:
    """Return one mode's ``pool_of`` and ``pool_wallet`` rows in ``reference``'s asset order, and its value.

    In Multi-Assets mode every wallet is in the pool (value: its market value at the start, USD); a mode
    that left it keeps the settlement wallet out of the pool arrays (it is the kernel's cross wallet) and
    its other coins idle (value: theirs at the start).
    """
    pool_wallet = np.zeros(len(reference.assets))
    if model.multi_assets:
        pool = compile_pool(model, venue, columns, prices)
        for c, asset in enumerate(pool.assets):
            pool_wallet[reference.assets.index(asset)] = pool.wallet[c]
        pool_of = np.array([reference.assets.index(pool.assets[c]) for c in pool.pool_of], np.int64)
        return pool_of, pool_wallet, to_float(pool.start_value)
    settle = {instrument_for(venue, p.symbol, p).settle for p in model.positions}
    for c, asset in enumerate(reference.assets):
        if asset not in settle:
            pool_wallet[c] = to_float(model.balances.get(asset, Decimal(0)))
    value = float(np.sum(pool_wallet * _start_index(reference, columns, prices)))
    return np.full(len(model.positions), -1, np.int64), pool_wallet, value


def _mode_model(filled: Portfolio, mode: str, venue: Venue) -> Portfolio:
    """Return the portfolio of ``mode``; a Multi-Assets one with an isolated position leaves the mode.

    Multi-Assets mode is cross only: ``isolated`` leaves it (``portfolio_for_mode``), and so does a
    ``hybrid`` book written with an isolated position (the advisor's isolated option): the other coins
    stay in the wallet, backing nothing.
    """
    model = portfolio_for_mode(filled, mode, venue)
    if model.multi_assets and any(p.mode is MarginMode.ISOLATED for p in model.positions):
        return model.model_copy(update={"multi_assets": False, "index_prices": {}, "collateral": {}})
    return model


def _start_index(pool: PoolPlan, columns: Sequence[str], prices: dict[str, float]) -> FloatArray:
    """Return each pool asset's USD index at the start prices, as the kernel computes it (float)."""
    col = pool.rate[:, PR_COL].astype(np.int64)
    marks = np.array([prices[columns[c]] if c >= 0 else 1.0 for c in col])
    return np.asarray(pool.rate[:, PR_SCALE] * marks, dtype=np.float64)


def _start_prices(
    portfolio: Portfolio, venue: Venue, data: MarketData, start_from: str
) -> tuple[dict[str, float], dict[str, Decimal], list[str], str]:
    """Return (start mark per symbol, entry of positions without one, notes, start time label).

    ``start_from="position"``: a symbol's paths start at its first position's own ``mark`` (default its
    ``entry``, as ``liq`` reads it); positions without ``entry`` enter at the data's last close.
    ``start_from="data"``: every path starts at the data's last mark close.
    """
    if start_from not in ("position", "data"):
        raise InputError("start_from", start_from, "position or data")
    base_venue = portfolio_venue(portfolio, venue)
    start: dict[str, float] = {}
    entry: dict[str, Decimal] = {}
    from_data: list[str] = []
    for spec in portfolio.positions:
        native = base_venue.resolve_symbol(spec.symbol)
        in_data = native in data.symbols
        if in_data:
            entry.setdefault(native, to_decimal(float(data.ohlc(native, "last")[-1, CLOSE])))
        own = spec.mark if spec.mark is not None else spec.entry
        if native not in start:
            if start_from == "position" and own is not None:
                start[native] = to_float(own)
            elif in_data:
                start[native] = float(data.ohlc(native, "mark")[-1, CLOSE])
                from_data.append(native)
        if native not in start or (spec.entry is None and native not in entry):
            raise InputError(
                "symbol", spec.symbol, f"a symbol of the market data {data.symbols} (or an entry and mark)"
            )
    start_time = str(np.datetime_as_string(data.times[-1], unit="s")) + "Z"
    notes: list[str] = []
    if start_from == "data":
        notes.append(f"paths start at the data's last mark close ({start_time})")
    else:
        own_marks = [s for s in start if s not in from_data]
        if own_marks:
            notes.append(
                f"paths start at each position's own mark (mark, else entry): {', '.join(own_marks)}"
            )
        if from_data:
            notes.append(
                f"paths of {', '.join(from_data)} start at the data's last mark close ({start_time})"
            )
    return start, entry, notes, start_time


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
    vol: float | Mapping[str, float] | None = None,
    drift: float = 0.0,
    start_from: str = "position",
) -> RiskReport:
    """Simulate mark-price paths and report the liquidation risk of ``portfolio`` in each margin mode.

    A Multi-Assets portfolio (``multi_assets = true``) is simulated with its pool: cross equity in USD, every
    collateral coin re-valued at every step from its perpetual's path (simulated even when no position
    holds it, if the data has it), haircuts and bid/ask rates as the exact engine's; amounts are then in USD
    (``docs/montecarlo.md``, "Multi-Assets mode").

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
        volatility and correlation estimated from the data's mark closes, ``vol`` and ``drift`` applied
        (:func:`params_from_data`).
    data : MarketData, optional
        Market data for estimation, bootstrap and the start of positions without ``entry`` (they enter at
        its last close); default the bundled normal-market hourly history (:func:`load_history`: the
        trailing 90 days of its window). Pass a crash scenario to ask the crash question on purpose.
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
    vol : float or mapping, optional
        Annualised volatility replacing the estimate: one number for every symbol, or per coin
        (``{"BTC": 0.6, "ETH": 0.8}``).
    drift : float
        Annualised drift of every symbol (default 0).
    start_from : {"position", "data"}
        ``"position"`` (default): paths start at each position's own mark (``mark``, else ``entry``, as
        ``liq`` reads it); ``"data"``: at the data's last mark close.

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

    if data is None:
        data = load_history()
    start, entry, notes, start_time = _start_prices(portfolio, venue, data, start_from)
    extra = _collateral_starts(portfolio, venue, data, start)
    modes, pool_notes = _multi_assets_modes(portfolio, venue, modes, entry)
    tier_set, arrays, labels = _compile_modes(portfolio, venue, modes, start, entry, extra)
    symbols = (*tier_set.symbols, *extra)
    start = {**start, **extra}
    if "pool_plan" in arrays:
        notes += [*pool_notes, *_collateral_notes(arrays["pool_plan"], symbols, extra)]
    returns = None
    given = resolve_vol(vol, symbols)
    if model == "bootstrap":
        returns = _bootstrap_returns(data, symbols, steps_per_day, block)
        shown = params_from_data(data, symbols)  # what the resampled returns carry, for the report
        sources = {s: "realized in the data (bootstrap resamples it)" for s in symbols}
    else:
        if params is None:
            params = params_from_data(data, symbols, vol=vol, drift=drift)
            sources = {s: "given" if s in given else "estimated" for s in symbols}
        else:
            sources = {s: "given" for s in symbols}
        shown = params
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
        **_pool_fields(arrays["pool"]),
    )  # fmt: skip
    results = execute(job, workers=workers, scheduler=scheduler, progress=progress)
    report = _aggregate(job, results, modes, labels, days, steps_per_day, start_time, symbols, start, notes)
    first, end = data.span
    window = {
        "source": data.source,
        "start": _iso(first),
        "end": _iso(end),
        "interval": _interval(data),
        "bars": len(data),
    }
    return replace(
        report,
        asset="USD" if portfolio.multi_assets else tier_set_asset(portfolio, venue),
        volatility={s: float(v) for s, v in zip(symbols, shown.vol, strict=True)},
        vol_source=sources,
        correlation=[[float(x) for x in row] for row in np.asarray(shown.corr)],
        window=window,
    )


def _pool_fields(pool: tuple[Any, ...] | None) -> dict[str, Any]:
    return {} if pool is None else dict(zip(("pool_of", "pool_wallet", "pool_rate"), pool, strict=True))


def tier_set_asset(portfolio: Portfolio, venue: Venue) -> str:
    """Return the settlement asset of the portfolio's first position (the unit of every amount)."""
    return instrument_for(venue, portfolio.positions[0].symbol, portfolio.positions[0]).settle


def _iso(ts: Any) -> str:
    return str(ts.isoformat()).replace("+00:00", "Z")


def _interval(data: MarketData) -> str:
    seconds = int(data.interval.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


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
