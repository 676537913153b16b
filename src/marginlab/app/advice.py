"""The advice use case: cross or isolated for a new trade, with measured reasons and Monte Carlo evidence."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from marginlab.analysis.advisor import Advice, Evidence, Profile, Reason, advise, parse_profile, parse_trade
from marginlab.app.inputs import OnVenue
from marginlab.app.risk import left_cross_shortfall, risk_data, risk_evidence
from marginlab.io.schema import Portfolio, PositionSpec

__all__ = ["Advice", "AdviceRequest", "Evidence", "Profile", "Reason", "recommend"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AdviceRequest(OnVenue):
    """A new trade to place next to the open positions of a portfolio.

    Parameters
    ----------
    portfolio : Portfolio
        The open positions.
    trade : str or PositionSpec
        ``"DOGEUSDT long notional=1000 leverage=50"`` (also ``qty=``, ``entry=``, ``margin=``) or a spec.
    profile : str or Profile, optional
        ``"experience=new,risk=low,monitoring=no"`` or a Profile; default intermediate, medium, yes.
    seed, paths : int
        Monte Carlo seed and paths per mode.
    scenario, datadir : optional
        Data for correlations, volatility and the simulation; default the bundled normal-market hourly
        history (the trailing 90 days, as ``risk``).
    exchange, tiers_file : optional
        The rule set (:class:`~marginlab.app.inputs.OnVenue`).
    """

    portfolio: Portfolio
    trade: str | PositionSpec
    profile: str | Profile | None = None
    seed: int = 0
    paths: int = 20_000
    scenario: str | None = None
    datadir: Path | None = None


def recommend(request: AdviceRequest) -> Advice:
    """Return the recommendation for the request's trade, every reason measured."""
    model = request.portfolio
    venue = request.venue(model.exchange)
    data = risk_data(request.scenario, request.datadir)
    trade = parse_trade(request.trade) if isinstance(request.trade, str) else request.trade
    profile = request.profile if isinstance(request.profile, Profile) else parse_profile(request.profile)
    advice = advise(
        model,
        trade,
        venue,
        data,
        profile,
        evidence=risk_evidence(venue, data=data, seed=request.seed, paths=request.paths),
    )
    if not model.multi_assets:
        return advice
    # Multi-Assets mode is cross only: the isolated option is the account leaving it (risk_evidence)
    left = model.model_copy(update={"multi_assets": False, "index_prices": {}, "collateral": {}})
    warning = left_cross_shortfall(left, venue).removeprefix("; ")
    reason = MULTI_ASSETS_REASON
    if warning:
        reason = replace(reason, text=f"{reason.text}; out of the mode the open {warning}")
    return replace(advice, reasons=(*advice.reasons, reason))


MULTI_ASSETS_REASON = Reason(
    "Multi-Assets mode",
    0,
    "the account is in Multi-Assets mode, which is cross only: isolated margin means leaving the mode "
    "(Binance asks for every position in cross first), after which the other coins back nothing and each "
    "cross position draws on its settlement asset alone; the Monte Carlo evidence values both options in "
    "USD, the coins re-valued on their simulated paths",
)
