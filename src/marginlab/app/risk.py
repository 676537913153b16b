"""The risk use case: Monte Carlo liquidation and ruin probabilities of a portfolio per margin mode."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from marginlab.analysis.advisor import Evidence, EvidenceFn
from marginlab.analysis.replay import MODES
from marginlab.app.inputs import ProgressFn, load_market, parse_modes, venue_for
from marginlab.domain.venue import Venue
from marginlab.errors import InputError
from marginlab.io.candles import MarketData
from marginlab.io.history import load_history
from marginlab.io.scenarios import DEFAULT_SCENARIO
from marginlab.io.schema import Portfolio
from marginlab.sim.montecarlo import ModeRisk, PositionRisk, RiskReport, run_risk
from marginlab.sim.paths import parse_vol

REGIMES = ("normal", "crash")

__all__ = ["ModeRisk", "PositionRisk", "RiskReport", "RiskRequest", "RiskResult", "risk", "risk_evidence"]


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
    vol: str | float | Mapping[str, float] | None = None
    drift: float = 0.0
    steps_per_day: int = 288
    scenario: str | None = None
    datadir: Path | None = None
    timeframe: str | None = None
    regime: str = "normal"
    start_from: str = "position"
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


def risk(request: RiskRequest, *, progress: ProgressFn | None = None) -> RiskResult:
    """Simulate mark-price paths and return the liquidation risk of the portfolio in each margin mode."""
    model = request.portfolio
    venue = venue_for(model.exchange, request.exchange, request.tiers_file)
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
