"""The risk use case: Monte Carlo liquidation and ruin probabilities of a portfolio per margin mode."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from marginlab.analysis.advisor import Evidence, EvidenceFn
from marginlab.analysis.replay import MODES
from marginlab.app.inputs import ProgressFn, market_or_default, parse_modes, venue_for
from marginlab.domain.venue import Venue
from marginlab.io.candles import MarketData
from marginlab.io.schema import Portfolio
from marginlab.sim.montecarlo import ModeRisk, PositionRisk, RiskReport, params_from_data, run_risk

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


def risk(request: RiskRequest, *, progress: ProgressFn | None = None) -> RiskResult:
    """Simulate mark-price paths and return the liquidation risk of the portfolio in each margin mode."""
    model = request.portfolio
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
