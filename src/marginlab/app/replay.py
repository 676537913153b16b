"""The replay use case: a portfolio through market history once per margin mode, side by side.

``replay`` loads the data (a bundled scenario or a freqtrade directory), replays every requested mode on
the fast core (or the exact engine) and returns the comparison with the data notes that concern the
portfolio; ``write_report`` writes the offline HTML report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from marginlab.analysis.compare import (
    CLOSEST_CALL_DEFINITION,
    Comparison,
    PositionOutcome,
    ReplayModesFn,
    closest_text,
    compare,
)
from marginlab.analysis.replay import replay_exact
from marginlab.analysis.report import comparison_figure, render_html, summary_html
from marginlab.app.inputs import OnVenue, ProgressFn, load_market, parse_modes
from marginlab.domain.venue import Venue
from marginlab.errors import DataError, InputError
from marginlab.io.bars import Bars, bars_from_market
from marginlab.io.candles import MarketData
from marginlab.io.portfolio import MODES, instrument_for, portfolio_for_mode
from marginlab.io.results import ModeResult
from marginlab.io.scenarios import list_scenarios
from marginlab.io.schema import Portfolio

__all__ = [
    "CLOSEST_CALL_DEFINITION",
    "Comparison",
    "ModeResult",
    "PositionOutcome",
    "ReplayReport",
    "ReplayRequest",
    "ReportParts",
    "ScenarioRun",
    "closest_text",
    "compare_history",
    "replay",
    "replay_all",
    "report_asset",
    "report_parts",
    "write_report",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayRequest(OnVenue):
    """What to replay, on which data, in which modes.

    Parameters
    ----------
    portfolio : Portfolio
        The ``liq`` format with the replay fields (``notional``, ``open_at``, stops …).
    scenario, datadir : optional
        Exactly one: a bundled scenario name or a freqtrade data directory.
    start, end : str, optional
        ISO 8601 bounds, ``[start, end)`` (UTC if no zone).
    exchange, tiers_file : optional
        The rule set (:class:`~marginlab.app.inputs.OnVenue`).
    modes : str or sequence of str
        ``"cross,isolated,hybrid"`` or a subset, in order.
    engine : {"fast", "exact"}
        The numba core or the Decimal engine.
    extremes : bool
        Check liquidation at each bar's adverse mark extreme (default) or at the close.
    timeframe : str, optional
        Candle timeframe of a ``datadir`` holding several (``"5m"``, ``"1h"``).
    open_at_start : bool
        Open every position at the first bar's open, whatever its ``entry``, ``mark`` and ``open_at``.
    """

    portfolio: Portfolio
    scenario: str | None = None
    datadir: Path | None = None
    start: str | None = None
    end: str | None = None
    modes: str | Sequence[str] = MODES
    engine: str = "fast"
    extremes: bool = True
    timeframe: str | None = None
    open_at_start: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayReport:
    """Every requested mode replayed on the same data, with what the data notes say about the portfolio."""

    exchange: str
    venue_title: str
    data_name: str
    market: MarketData
    comparison: Comparison
    notes: tuple[str, ...]
    engine_notes: tuple[str, ...] = ()

    @property
    def results(self) -> dict[str, ModeResult]:
        """Return the outcome per margin mode, in the requested order."""
        return self.comparison.results

    @property
    def verdicts(self) -> dict[str, str]:
        """Return one plain sentence per mode on what it did to the account."""
        return self.comparison.verdicts

    def __repr__(self) -> str:
        """Return one line: the data, then each mode's final equity and number of liquidations."""
        modes = ", ".join(
            f"{name} {r.start_equity:,.2f} → {r.final_equity:,.2f} ({len(r.liquidations)} liquidated)"
            for name, r in self.results.items()
        )
        return f"<ReplayReport {self.exchange} on {self.data_name} ({len(self.market)} bars): {modes}>"


def replay(request: ReplayRequest, *, progress: ProgressFn | None = None) -> ReplayReport:
    """Replay the request's portfolio once per mode and return the comparison (see :class:`ReplayRequest`)."""
    model = request.portfolio
    venue = request.venue(model.exchange)
    wanted = parse_modes(request.modes) if isinstance(request.modes, str) else tuple(request.modes)
    market = load_market(
        scenario=request.scenario,
        datadir=request.datadir,
        start=request.start,
        end=request.end,
        timeframe=request.timeframe,
    )
    name = request.scenario or str(request.datadir)
    held = {venue.resolve_symbol(spec.symbol) for spec in model.positions}
    notes = tuple(n for n in market.all_notes() if n.split(":", 1)[0] in held or ":" not in n)
    engine, wanted, engine_notes = _multi_assets_plan(model, venue, request.engine, wanted)
    what = f"replaying {len(market)} bars × {len(market.symbols)} symbols"
    done = 0
    if progress is not None:
        progress(0, len(wanted), what)

    def mode_done(_mode: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(wanted), what)

    comparison = compare_history(
        model,
        venue,
        market,
        wanted,
        engine=engine,
        extremes=request.extremes,
        on_mode_done=mode_done,
        open_at_start=request.open_at_start,
    )
    return ReplayReport(
        exchange=venue.name,
        venue_title=venue.title,
        data_name=name,
        market=market,
        comparison=comparison,
        notes=notes,
        engine_notes=engine_notes,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioRun:
    """One bundled scenario of ``--scenario all``: its comparison, or why it was skipped."""

    name: str
    report: ReplayReport | None
    skipped: str | None = None


def replay_all(request: ReplayRequest, *, progress: ProgressFn | None = None) -> list[ScenarioRun]:
    """Replay the request's portfolio through every bundled scenario (``--scenario all``).

    A scenario holding none of the portfolio's symbols is skipped with the reason; positions in symbols a
    scenario lacks are skipped inside it with a note (:func:`marginlab.analysis.replay.prepare_replay`).
    """
    out = []
    infos = list_scenarios()
    for i, info in enumerate(infos):
        if progress is not None:
            progress(i, len(infos), f"scenario {info.name}")
        try:
            report = replay(replace(request, scenario=info.name, datadir=None))
        except InputError as exc:
            if exc.field != "positions":
                raise
            symbols = " ".join(s.removesuffix("USDT") for s in info.symbols)
            why = f"holds none of them ({symbols})"
            if not exc.expected:  # every position opens (open_at) after this scenario ends
                why = str(exc).removeprefix("positions: ")
            out.append(ScenarioRun(name=info.name, report=None, skipped=why))
            continue
        out.append(ScenarioRun(name=info.name, report=report))
    return out


def _multi_assets_plan(
    model: Portfolio, venue: Venue, engine: str, wanted: Sequence[str]
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """Return (engine, modes, notes) for a Multi-Assets portfolio; the request unchanged otherwise.

    The fast core does not model Multi-Assets mode, so such replays run on the exact engine. ``isolated``
    leaves Multi-Assets mode (isolated margin in the settlement asset); where the settlement wallets cannot
    fund it, that mode is left out with the reason.
    """
    if not model.multi_assets:
        return engine, tuple(wanted), ()
    notes = [
        "Multi-Assets mode: every coin in the pool is re-valued from its perpetual's mark every bar (a crash "
        "hits the collateral too); equity is in USD, every asset at its index.",
    ]
    if engine == "fast":
        notes.append("Multi-Assets mode: the fast core does not model it; replayed on the exact engine.")
    kept = []
    for mode in wanted:
        try:
            built = portfolio_for_mode(model, mode, venue)
            if mode == "isolated":
                _require_settlement_margin(built, venue)
        except InputError as exc:
            notes.append(f"{mode}: not replayed — {exc}")
            continue
        kept.append(mode)
        if mode == "isolated":
            notes.append(
                "isolated: leaves Multi-Assets mode; the other coins stay in the wallet, backing nothing."
            )
    if not kept:
        raise InputError("--modes", ",".join(wanted), "", problem="no mode can be replayed: " + notes[-1])
    return "exact", tuple(kept), tuple(notes)


def write_report(report: ReplayReport, path: Path, *, title: str) -> None:
    """Write the offline HTML report of ``report`` to ``path`` (DataError if it cannot be written)."""
    html = render_html(report.comparison, title=title, notes=report.notes, asset=report_asset(report))
    try:
        path.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot write the report ({exc.strerror or exc})") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportParts:
    """The offline report's two parts for a page that draws them itself (the dashboard's replay page).

    ``summary_html``: the summary table, verdicts and data notes, escaped, ready to insert;
    ``figure_json``: the figure as Plotly JSON (``Plotly.newPlot(div, fig.data, fig.layout)``).
    """

    summary_html: str
    figure_json: str


def report_parts(report: ReplayReport) -> ReportParts:
    """Return the report's summary fragment and figure: the same code that writes the offline report."""
    asset = report_asset(report)
    figure = comparison_figure(report.comparison, asset)
    return ReportParts(
        summary_html=summary_html(report.comparison, notes=report.notes, asset=asset),
        figure_json=figure.to_json(),
    )


def report_asset(report: ReplayReport) -> str:
    """Return the settlement asset of the replayed positions (the unit of every amount)."""
    symbols = {
        label.split(" ")[0] for r in report.comparison.results.values() for label in r.liquidation_prices
    }
    for quote in ("USDT", "USDC", "USD"):
        if symbols and all(s.endswith(quote) for s in symbols):
            return quote
    return "USDT"


def _require_settlement_margin(isolated: Portfolio, venue: Venue) -> None:
    """Refuse an all-isolated scenario whose later opens (``notional``, no ``entry``) the wallets cannot fund.

    Leaving Multi-Assets mode, each isolated margin is paid in the settlement asset only.
    """
    need: dict[str, Decimal] = {}
    for spec in isolated.positions:
        if spec.entry is None and spec.notional is not None:
            settle = instrument_for(venue, spec.symbol, spec).settle
            margin = spec.margin or spec.notional / (spec.leverage or venue.default_leverage)
            need[settle] = need.get(settle, Decimal(0)) + margin
    for settle, margin in need.items():
        held = isolated.balances.get(settle, Decimal(0))
        if margin > held:
            raise InputError(
                f"balances.{settle}",
                held,
                "",
                problem=(
                    "all-isolated leaves Multi-Assets mode (isolated margin cannot be drawn from other "
                    f"coins): the isolated margins need {margin} {settle}, the settlement asset, and the "
                    f"{settle} balance is {held}"
                ),
            )


def compare_history(
    portfolio: Portfolio,
    venue: Venue,
    market: MarketData,
    modes: Sequence[str] = MODES,
    *,
    engine: str = "fast",
    extremes: bool = True,
    on_mode_done: Callable[[str], None] | None = None,
    open_at_start: bool = False,
) -> Comparison:
    """Replay the portfolio on market history once per margin mode (fast core or exact engine).

    A Multi-Assets portfolio always runs on the exact engine (the fast core does not model it).
    """
    if engine not in ("fast", "exact"):
        raise InputError("--engine", engine, "fast or exact")
    replay_modes: ReplayModesFn | None = None
    if engine == "fast" and not portfolio.multi_assets:  # the fast core does not model Multi-Assets
        from marginlab.sim.api import replay_fast_modes  # numba compiles on first use

        def replay_modes(p: Portfolio, v: Venue, b: Bars, m: Sequence[str]) -> dict[str, ModeResult]:
            # every mode in one pass over the bars
            fast = replay_fast_modes(p, v, b, m, extremes=extremes)
            return {mode: result.to_mode_result() for mode, result in fast.items()}

    return compare(
        portfolio,
        venue,
        bars_from_market(market),
        modes,
        replay=lambda p, v, b, m: replay_exact(p, v, b, m, extremes=extremes),
        on_mode_done=on_mode_done,
        open_at_start=open_at_start,
        replay_modes=replay_modes,
    )
