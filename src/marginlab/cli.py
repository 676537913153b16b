"""Command-line front end: parse the options into a request, call one use case, render its result.

No margin maths and no output shaping here: requests and use cases are :mod:`marginlab.app`'s, JSON and
tables :mod:`marginlab.render`'s (an import-linter contract keeps this module away from everything else).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

from marginlab import render
from marginlab.app import advice, calculator, catalog, replay, scripts, sizing
from marginlab.app import risk as risk_case
from marginlab.app.inputs import (
    ProgressFn,
    fast_core_cold,
    parse_decimal,
    parse_percent,
    read_portfolio,
    read_script,
)
from marginlab.app.sizing import MarginMode, Side
from marginlab.errors import InputError, MarginLabError
from marginlab.venue_cli import venue_app

cli = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Exact cross vs isolated margin: liquidation prices, what-if scripts, venue rules.",
)
cli.add_typer(venue_app, name="venue", short_help="The paper-trading venue (ccxt binanceusdm, exact engine).")
console = Console()
T = TypeVar("T")

ExchangeOpt = Annotated[
    str | None, typer.Option("--exchange", "-e", help="Venue rule set; overrides the file's 'exchange'.")
]
TiersOpt = Annotated[
    Path | None, typer.Option("--tiers", help="ccxt fetch_leverage_tiers() JSON replacing the bundled tiers.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
PortfolioArg = Annotated[Path, typer.Argument(help="Portfolio file (.toml or .json).", metavar="PORTFOLIO")]
ScenarioOpt = Annotated[str | None, typer.Option("--scenario", "-s", help="Bundled scenario name.")]
DatadirOpt = Annotated[
    Path | None,
    typer.Option(
        "--datadir", help="freqtrade data: the candle folder, the freqtrade root, or its config.json."
    ),
]
TimeframeOpt = Annotated[
    str | None, typer.Option("--timeframe", help="Candle timeframe of --datadir (5m, 1h …).")
]
ModesOpt = Annotated[str, typer.Option("--modes", help="Comma-separated: cross,isolated,hybrid.")]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"marginlab {version('marginlab')}")
        raise typer.Exit()


@cli.callback()
def _main(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Exact cross vs isolated margin: liquidation prices, what-if scripts, venue rules."""


UNVALIDATED = "error: input not understood"
"""How the last-resort guard's line starts: an input no validation named (a bug to report, still no
traceback)."""


def _guarded(body: Callable[[], T]) -> T:
    """Run ``body``; turn marginlab errors into one line on stderr and exit code 2.

    Last resort: an input that got past every validation and broke a computation (a decimal overflow, a
    recursion, a value Python refuses) is still one line and exit 2, never a traceback; the line says
    which error it was so the missing check can be added where the field is read.
    """
    try:
        return body()
    except MarginLabError as exc:
        typer.echo(f"error: {_one_line(str(exc))}", err=True)
        raise typer.Exit(2) from None
    except (ArithmeticError, RecursionError, ValueError, UnicodeError) as exc:
        typer.echo(f"{UNVALIDATED} ({type(exc).__name__}: {_one_line(str(exc))[:200]})", err=True)
        raise typer.Exit(2) from None


# what str.splitlines() breaks at: a key or value holding one must not split the error line
_LINE_BREAKS = {ord(c): repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


def _one_line(text: str) -> str:
    """Return ``text`` as one line: every line break in it escaped (``\\n``, ``\\x1e`` …)."""
    return text.translate(_LINE_BREAKS)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _show(view: render.View) -> None:
    for item in view:
        console.print(render.keep_words(item, console.width))


@contextmanager
def _progress(*, quiet: bool) -> Iterator[ProgressFn]:
    """Yield a progress callback drawing a transient bar on a terminal's stderr (nothing when quiet).

    Announces, in one line on stderr, a first run that compiles the fast core (numba's cache is cold).
    """
    if fast_core_cold():
        typer.echo("compiling the fast core (once; later runs load it from the cache) …", err=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=Console(stderr=True),
        transient=True,
        disable=quiet or not sys.stderr.isatty(),
    ) as bar:
        task = bar.add_task("", total=None)

        def update(done: int, total: int | None, what: str) -> None:
            bar.update(task, completed=done, total=total, description=what)

        yield update


def _answer(
    body: Callable[[], T], *, as_json: bool, to_json: Callable[[T], Any], view: Callable[[T], render.View]
) -> T:
    """Run the use case (errors: one line, exit 2), then print its result as JSON or as tables."""
    result = _guarded(body)
    if as_json:
        _print_json(to_json(result))
    else:
        _show(view(result))
    return result


def _portfolio_request(path: Path, exchange: str | None, tiers: Path | None) -> calculator.PortfolioRequest:
    return calculator.PortfolioRequest(portfolio=read_portfolio(path), exchange=exchange, tiers_file=tiers)


def _portfolio_command(
    name: str,
    short_help: str,
    doc: str,
    use_case: Callable[[calculator.PortfolioRequest], T],
    to_json: Callable[[T], Any],
    view: Callable[[T, str], render.View],
) -> None:
    """Register command ``name``: read PORTFOLIO, run ``use_case`` on it, print the result.

    ``view(result, file_name)`` draws the tables.
    """

    def command(
        portfolio: PortfolioArg,
        exchange: ExchangeOpt = None,
        tiers: TiersOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        _answer(
            lambda: use_case(_portfolio_request(portfolio, exchange, tiers)),
            as_json=as_json,
            to_json=to_json,
            view=lambda r: view(r, portfolio.name),
        )

    command.__doc__ = doc
    cli.command(name, short_help=short_help)(command)


_portfolio_command(
    "liq",
    "Liquidation prices, margins and ratios of a portfolio.",
    "Liquidation and bankruptcy prices, margins and ratios of every position in PORTFOLIO.",
    calculator.liquidation,
    render.liquidation_json,
    lambda r, name: render.liquidation_view(r, title=f"{r.exchange}: {name}"),
)
_portfolio_command(
    "modes",
    "The positions all-cross vs all-isolated, side by side.",
    "The same positions all-cross vs all-isolated, side by side: liquidation price and what is at stake.",
    calculator.modes,
    render.modes_json,
    lambda r, name: render.modes_view(r, title=f"{r.venue_title}: {name}"),
)


@cli.command(short_help="Drive the exact engine through a what-if script.")
def run(
    script: Annotated[Path, typer.Argument(help="What-if script (.toml or .json).", metavar="SCRIPT")],
    exchange: ExchangeOpt = None,
    tiers: TiersOpt = None,
    as_json: JsonOpt = False,
    keep_going: Annotated[
        bool, typer.Option("--keep-going", help="Record rejected steps and go on.")
    ] = False,
) -> None:
    """Drive the exact engine through a what-if SCRIPT of operations and price moves."""

    def body() -> scripts.RunReport:
        request = scripts.ScriptRequest(
            script=read_script(script), exchange=exchange, tiers_file=tiers, keep_going=keep_going
        )
        return scripts.run(request)

    report = _answer(
        body, as_json=as_json, to_json=render.run_json, view=lambda r: render.run_view(r, title=script.name)
    )
    if not as_json:
        for s in report.steps:
            if not s.ok and not s.expected_refusal:
                typer.echo(f"error: {_one_line(str(s.error))}", err=True)
    if not report.completed:
        raise typer.Exit(1)


@cli.command(short_help="Replay a portfolio through market history, per mode.")
def compare(
    portfolio: PortfolioArg,
    scenario: ScenarioOpt = None,
    datadir: DatadirOpt = None,
    start: Annotated[
        str | None, typer.Option("--start", help="ISO 8601, inclusive (UTC if no zone).")
    ] = None,
    end: Annotated[str | None, typer.Option("--end", help="ISO 8601, exclusive (UTC if no zone).")] = None,
    exchange: ExchangeOpt = None,
    tiers: TiersOpt = None,
    modes_: ModesOpt = "cross,isolated,hybrid",
    closes: Annotated[
        bool, typer.Option("--closes", help="Check liquidation at bar closes, not adverse extremes.")
    ] = False,
    engine: Annotated[str, typer.Option("--engine", help="fast (numba) or exact (Decimal).")] = "fast",
    report: Annotated[Path | None, typer.Option("--report", help="Write an offline HTML report.")] = None,
    timeframe: TimeframeOpt = None,
    open_at_start: Annotated[
        bool,
        typer.Option(
            "--open-at-start", help="Open every position at the first bar, whatever entry/mark/open_at say."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Replay PORTFOLIO through market history all-cross, all-isolated and as written (hybrid).

    --scenario all replays every bundled scenario and prints one summary table.
    """

    def request() -> replay.ReplayRequest:
        return replay.ReplayRequest(
            portfolio=read_portfolio(portfolio),
            scenario=scenario,
            datadir=datadir,
            start=start,
            end=end,
            exchange=exchange,
            tiers_file=tiers,
            modes=modes_,
            engine=engine,
            extremes=not closes,
            timeframe=timeframe,
            open_at_start=open_at_start,
        )

    if scenario == "all":
        one_scenario_only = report is not None or start is not None or end is not None
        _compare_all(portfolio.name, request, one_scenario_only=one_scenario_only, as_json=as_json)
        return

    def body() -> replay.ReplayReport:
        with _progress(quiet=as_json) as progress:
            result = replay.replay(request(), progress=progress)
        if report is not None:
            title = f"{portfolio.name} on {result.data_name} ({result.exchange})"
            replay.write_report(result, report, title=title)
        return result

    _answer(
        body,
        as_json=as_json,
        to_json=render.replay_json,
        view=lambda r: render.replay_view(r, title=f"{r.venue_title}: {portfolio.name} on {r.data_name}"),
    )
    if report is not None and not as_json:
        console.print(f"report written to {report}")


def _compare_all(
    name: str, request: Callable[[], replay.ReplayRequest], *, one_scenario_only: bool, as_json: bool
) -> None:
    """Replay through every bundled scenario and print one summary table (``--scenario all``).

    ``one_scenario_only``: an option that needs one scenario (--report, --start, --end) was given.
    """

    def body() -> list[replay.ScenarioRun]:
        if one_scenario_only:
            raise InputError(
                "--scenario all", "all", "", problem="--report, --start and --end need one scenario"
            )
        # the data options name one data set: every bundled scenario replaces them
        every = replace(request(), scenario=None, datadir=None, timeframe=None)
        with _progress(quiet=as_json) as progress:
            return replay.replay_all(every, progress=progress)

    _answer(
        body,
        as_json=as_json,
        to_json=render.replay_all_json,
        view=lambda runs: render.replay_all_view(runs, title=f"{name} through every bundled scenario"),
    )


@cli.command(short_help="Size a position to risk R % of equity to its stop.")
def size(
    symbol: Annotated[str, typer.Option("--symbol", help="Venue-native or ccxt-unified symbol.")],
    side: Annotated[Side, typer.Option("--side", help="long or short.")],
    equity: Annotated[str, typer.Option("--equity", help="Account equity (settlement asset).")],
    risk: Annotated[str, typer.Option("--risk", help="Share of equity lost at the stop, in % (1 or 1%).")],
    entry: Annotated[str, typer.Option("--entry", help="Entry price.")],
    stop: Annotated[str, typer.Option("--stop", help="Stop price.")],
    exchange: Annotated[str, typer.Option("--exchange", "-e", help="Venue rule set.")] = "binance",
    tiers: TiersOpt = None,
    mode: Annotated[MarginMode, typer.Option("--mode", help="cross or isolated.")] = MarginMode.ISOLATED,
    leverage: Annotated[str | None, typer.Option("--leverage", help="Leverage (default: venue's).")] = None,
    buffer: Annotated[str, typer.Option("--buffer", help="Min. gap stop↔liquidation, % of entry.")] = "0.5",
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when the stop is not safely first.")
    ] = False,
    book: Annotated[
        Path | None,
        typer.Option("--portfolio", help="Size within this book (its cross wallet and open positions)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Size a position that risks R % of equity to its stop, and check the stop comes before liquidation."""

    def body() -> sizing.Sizing:
        request = sizing.SizingRequest(
            position=sizing.SizeRequest(
                symbol=symbol,
                side=side,
                equity=parse_decimal("equity", equity),
                risk=parse_percent("risk", risk),
                entry=parse_decimal("entry", entry),
                stop=parse_decimal("stop", stop),
                mode=mode,
                leverage=None if leverage is None else parse_decimal("leverage", leverage),
                buffer=parse_percent("buffer", buffer),
                book=None if book is None else read_portfolio(book),
            ),
            exchange=exchange,
            tiers_file=tiers,
        )
        return sizing.size(request)

    result = _answer(body, as_json=as_json, to_json=render.sizing_json, view=render.sizing_view)
    if not as_json:
        for warning in result.result.warnings:
            typer.echo(f"warning: {warning}", err=True)
    if strict and result.result.stop_warning:
        raise typer.Exit(1)


@cli.command(short_help="Monte Carlo liquidation and ruin risk, per mode.")
def risk(
    portfolio: PortfolioArg,
    horizon: Annotated[str, typer.Option("--horizon", help="Horizon: 1d, 12h, 7d …")] = "1d",
    paths: Annotated[int, typer.Option("--paths", help="Number of simulated paths.")] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed: the same seed gives the same answer.")] = 0,
    model: Annotated[str, typer.Option("--model", help="bootstrap, gbm, student-t or jump.")] = "gbm",
    vol: Annotated[
        str | None,
        typer.Option("--vol", help="Annualised volatility: 0.8 for all coins, or BTC=0.6,ETH=0.8."),
    ] = None,
    drift: Annotated[float, typer.Option("--drift", help="Annualised drift.")] = 0.0,
    steps_per_day: Annotated[int, typer.Option("--steps-per-day", help="Monitoring points per day.")] = 288,
    scenario: ScenarioOpt = None,
    datadir: DatadirOpt = None,
    exchange: ExchangeOpt = None,
    tiers: TiersOpt = None,
    modes_: ModesOpt = "cross,isolated,hybrid",
    workers: Annotated[int | None, typer.Option("--workers", help="Local Dask cluster of N workers.")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Address of a Dask scheduler.")] = None,
    regime: Annotated[
        str,
        typer.Option(
            "--regime", help="Without data: normal (last 90 days, 1h) or crash (the 2025-10-10 crash)."
        ),
    ] = "normal",
    start_at_data: Annotated[
        bool,
        typer.Option(
            "--start-at-data", help="Start paths at the data's last price, not each position's mark."
        ),
    ] = False,
    timeframe: TimeframeOpt = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write an offline HTML report.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Monte Carlo liquidation and ruin probabilities of PORTFOLIO in each margin mode."""

    def title_of(result: risk_case.RiskResult) -> str:
        return f"{result.venue_title}: {portfolio.name}, {paths:,} {model} paths over {horizon}"

    def body() -> risk_case.RiskResult:
        request = risk_case.RiskRequest(
            portfolio=read_portfolio(portfolio),
            horizon=horizon,
            paths=paths,
            seed=seed,
            model=model,
            vol=vol,
            drift=drift,
            steps_per_day=steps_per_day,
            scenario=scenario,
            datadir=datadir,
            exchange=exchange,
            tiers_file=tiers,
            modes=modes_,
            workers=workers,
            scheduler=scheduler,
            regime=regime,
            start_from="data" if start_at_data else "position",
            timeframe=timeframe,
        )
        with _progress(quiet=as_json) as progress:
            result = risk_case.risk(request, progress=progress)
        if report is not None:
            risk_case.write_report(result.report, report, title=title_of(result))
        return result

    def view(result: risk_case.RiskResult) -> render.View:
        return render.risk_view(result, title=title_of(result))

    _answer(body, as_json=as_json, to_json=lambda r: render.risk_json(r.report), view=view)
    if report is not None and not as_json:
        console.print(f"report written to {report}")


@cli.command(short_help="Cross or isolated for a new trade, with reasons.")
def advise(
    portfolio: Annotated[
        Path, typer.Argument(help="Portfolio file with the open positions.", metavar="PORTFOLIO")
    ],
    trade: Annotated[str, typer.Option("--trade", help='"SYMBOL SIDE notional=… leverage=…"')],
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile", help="experience=new|intermediate|experienced,risk=low|medium|high,monitoring=yes|no"
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Monte Carlo seed.")] = 0,
    paths: Annotated[int, typer.Option("--paths", help="Monte Carlo paths per mode.")] = 20_000,
    scenario: Annotated[
        str | None, typer.Option("--scenario", "-s", help="Bundled scenario for data.")
    ] = None,
    datadir: DatadirOpt = None,
    exchange: ExchangeOpt = None,
    tiers: TiersOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recommend cross or isolated for a new trade, with the reasons and the Monte Carlo evidence."""

    def body() -> advice.Advice:
        request = advice.AdviceRequest(
            portfolio=read_portfolio(portfolio),
            trade=trade,
            profile=profile,
            seed=seed,
            paths=paths,
            scenario=scenario,
            datadir=datadir,
            exchange=exchange,
            tiers_file=tiers,
        )
        return advice.recommend(request)

    _answer(body, as_json=as_json, to_json=render.advice_json, view=render.advice_view)


@cli.command(short_help="List the bundled market scenarios.")
def scenarios(as_json: JsonOpt = False) -> None:
    """List the bundled market scenarios: span, interval, symbols and data notes."""
    _answer(
        catalog.scenarios,
        as_json=as_json,
        to_json=lambda infos: [render.scenario_json(i) for i in infos],
        view=render.scenarios_view,
    )


@cli.command(short_help="List the venue rule sets and their sources.")
def venues(as_json: JsonOpt = False) -> None:
    """List the venue rule sets: policies, tier snapshot and sources with the dates checked."""
    _answer(
        catalog.venues,
        as_json=as_json,
        to_json=lambda rows: [render.venue_json(v) for v in rows],
        view=render.venues_view,
    )


@cli.command(short_help="Serve the what-if and replay & risk pages for a portfolio.")
def dashboard(
    portfolio: PortfolioArg,
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8701,
    host: Annotated[str, typer.Option("--host", help="Address to bind (loopback by default).")] = "127.0.0.1",
    exchange: ExchangeOpt = None,
) -> None:
    """Serve the what-if and replay & risk pages for PORTFOLIO in the browser (no venue needed).

    Open http://127.0.0.1:8701/ (the what-if page); Ctrl-C stops the server.
    """
    import uvicorn

    from marginlab.web.lab import create_app

    app = _guarded(lambda: create_app(portfolio, exchange=exchange))
    typer.echo(f"marginlab dashboard for {portfolio.name} on http://{host}:{port}/whatif", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def main() -> None:
    """Entry point of the ``marginlab`` command."""
    cli()
