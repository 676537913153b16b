"""Command-line front end: parse, call one service function, render. No margin maths here."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from marginlab import app
from marginlab.analysis.advisor import advise as advise_trade
from marginlab.analysis.advisor import parse_profile, parse_trade
from marginlab.analysis.compare import Comparison, parse_modes
from marginlab.analysis.replay import ModeResult
from marginlab.analysis.report import render_html
from marginlab.analysis.sizing import SizeRequest, SizeResult, size_position
from marginlab.domain.enums import MarginMode, Side
from marginlab.domain.venue import Venue
from marginlab.errors import DataError, InputError, MarginLabError
from marginlab.io.candles import MarketData
from marginlab.io.files import read_document
from marginlab.io.scenarios import list_scenarios
from marginlab.io.schema import Portfolio, Script, parse
from marginlab.rules import VENUES, get_venue
from marginlab.sim.montecarlo import RiskReport, params_from_data, run_risk
from marginlab.venue_cli import venue_app

cli = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Exact cross vs isolated margin: liquidation prices, what-if scripts, venue rules.",
)
cli.add_typer(venue_app, name="venue")
console = Console()
DEFAULT_SCENARIO = "2025-10-10"
T = TypeVar("T")

ExchangeOpt = Annotated[
    str | None, typer.Option("--exchange", "-e", help="Venue rule set; overrides the file's 'exchange'.")
]
TiersOpt = Annotated[
    Path | None, typer.Option("--tiers", help="ccxt fetch_leverage_tiers() JSON replacing the bundled tiers.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _guarded(body: Callable[[], T]) -> T:
    """Run ``body``; turn marginlab errors into one line on stderr and exit code 2."""
    try:
        return body()
    except MarginLabError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _venue(doc_exchange: str, exchange: str | None, tiers: Path | None) -> Venue:
    return app.load_venue(exchange or doc_exchange, tiers_file=tiers)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _fmt(value: str | None, suffix: str = "") -> str:
    return "—" if value is None else f"{value}{suffix}"


def _pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{app.number(value * 100, step=Decimal('0.01'))} %"


@cli.command()
def liq(
    portfolio: Annotated[Path, typer.Argument(help="Portfolio file (.toml or .json).")],
    exchange: ExchangeOpt = None,
    tiers: TiersOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Liquidation and bankruptcy prices, margins and ratios of every position in PORTFOLIO."""

    def body() -> None:
        model = parse(Portfolio, read_document(portfolio), where=portfolio.name)
        report = app.analyze(model, _venue(model.exchange, exchange, tiers))
        if as_json:
            _print_json(_report_json(report))
        else:
            _render_report(report, title=f"{report.exchange}: {portfolio.name}")

    _guarded(body)


def _report_json(report: app.LiquidationReport) -> dict[str, Any]:
    return {
        "exchange": report.exchange,
        "positions": [app.jsonable(p) for p in report.positions],
        "account": app.jsonable(report.account),
    }


def _render_report(report: app.LiquidationReport, *, title: str) -> None:
    """Render one column per position (rows are the figures), then the account line."""
    cent = Decimal("0.01")
    if not report.positions:
        console.print(f"{title}: no open positions")
    table = Table(title=title, title_justify="left")
    table.add_column("")
    for p in report.positions:
        table.add_column(f"{p.symbol} {p.side}", justify="right")
    rows = [app.jsonable(p) for p in report.positions]
    fields: list[tuple[str, Callable[[app.PositionReport, dict[str, Any]], str]]] = [
        ("mode", lambda p, r: r["mode"]),
        ("qty", lambda p, r: r["qty"]),
        ("entry / mark", lambda p, r: f"{r['entry']} / {r['mark']}"),
        ("leverage", lambda p, r: f"{r['leverage']}x"),
        ("notional", lambda p, r: _fmt(app.number(p.notional, step=cent))),
        ("margin", lambda p, r: _fmt(app.number(p.margin, step=cent))),
        ("maint. margin", lambda p, r: f"{app.number(p.maintenance_margin, step=cent)} (mmr {r['mmr']})"),
        ("unrealized PnL", lambda p, r: _fmt(app.number(p.unrealized_pnl, step=cent))),
        ("margin ratio", lambda p, r: _pct(p.margin_ratio)),
        ("liquidation price", lambda p, r: _fmt(r["liquidation_price"])),
        ("bankruptcy price", lambda p, r: _fmt(r["bankruptcy_price"])),
        ("distance to liq.", lambda p, r: _pct(p.distance_to_liquidation)),
    ]
    for label, cell in fields:
        table.add_row(label, *(cell(p, r) for p, r in zip(report.positions, rows, strict=True)))
    if report.positions:
        console.print(table)
    a = report.account
    console.print(
        f"[bold]account ({a.asset})[/bold]  wallet {app.number(a.wallet_balance, step=cent)}  "
        f"uPnL {app.number(a.unrealized_pnl, step=cent)}  "
        f"margin balance {app.number(a.margin_balance, step=cent)}  "
        f"maint. margin {app.number(a.maintenance_margin, step=cent)}  "
        f"available {app.number(a.available_balance, step=cent)}  cross margin ratio {_pct(a.margin_ratio)}"
    )
    console.print(
        "[dim]— : undefined; a liquidation price of — means no positive mark price liquidates.[/dim]"
    )


@cli.command()
def modes(
    portfolio: Annotated[Path, typer.Argument(help="Portfolio file (.toml or .json).")],
    exchange: ExchangeOpt = None,
    tiers: TiersOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The same positions all-cross vs all-isolated, side by side: liquidation price and what is at stake."""

    def body() -> None:
        model = parse(Portfolio, read_document(portfolio), where=portfolio.name)
        venue = _venue(model.exchange, exchange, tiers)
        reports = app.compare_modes(model, venue)
        if as_json:
            _print_json(
                {
                    "exchange": venue.name,
                    "modes": {name.replace(" ", "_"): _report_json(r) for name, r in reports.items()},
                }
            )
            return
        _render_modes(reports, title=f"{venue.title}: {portfolio.name}")

    _guarded(body)


def _at_stake(report: app.LiquidationReport, p: app.PositionReport) -> Decimal:
    """Return what liquidating the position can cost: its isolated margin, or the whole cross balance."""
    if p.mode is MarginMode.ISOLATED:
        return p.margin
    return report.account.cross_wallet_balance


def _render_modes(reports: dict[str, app.LiquidationReport], *, title: str) -> None:
    cent = Decimal("0.01")
    table = Table(title=title, title_justify="left")
    table.add_column("position")
    table.add_column("mode")
    table.add_column("liq. price", justify="right")
    table.add_column("distance", justify="right")
    table.add_column("at stake", justify="right")
    positions = zip(reports["cross"].positions, reports["isolated"].positions, strict=True)
    for n, pair in enumerate(positions):
        if n:
            table.add_section()
        for name, p in zip(("cross", "isolated"), pair, strict=True):
            label = f"{p.symbol} {p.side} {app.number(p.notional, step=cent)} @ {p.leverage}x"
            table.add_row(
                label if name == "cross" else "",
                name,
                _fmt(app.jsonable(p)["liquidation_price"]),
                _pct(p.distance_to_liquidation),
                _fmt(app.number(_at_stake(reports[name], p), step=cent)),
            )
    console.print(table)
    console.print(
        "[dim]at stake: what a liquidation of the position can take — the isolated margin, or the whole "
        "cross wallet.[/dim]"
    )


@cli.command()
def run(
    script: Annotated[Path, typer.Argument(help="What-if script (.toml or .json).")],
    exchange: ExchangeOpt = None,
    tiers: TiersOpt = None,
    as_json: JsonOpt = False,
    keep_going: Annotated[
        bool, typer.Option("--keep-going", help="Record rejected steps and go on.")
    ] = False,
) -> None:
    """Drive the exact engine through a what-if SCRIPT of operations and price moves."""

    def body() -> app.RunReport:
        model = parse(Script, read_document(script), where=script.name)
        return app.run_script(model, _venue(model.exchange, exchange, tiers), keep_going=keep_going)

    report = _guarded(body)
    if as_json:
        _print_json(
            {
                "exchange": report.exchange,
                "steps": [
                    {"op": s.op, "ok": s.ok, "error": s.error, "events": [app.jsonable(e) for e in s.events]}
                    for s in report.steps
                ],
                "positions": [app.jsonable(p) for p in report.positions],
                "account": app.jsonable(report.account),
                "insurance_fund": app.number(report.insurance_fund),
                "fees_paid": app.number(report.fees_paid),
            }
        )
    else:
        _render_run(report, title=script.name)
    failed = [s for s in report.steps if not s.ok]
    if failed and not as_json:
        for s in failed:
            typer.echo(f"error: {s.error}", err=True)
    if not report.completed:
        raise typer.Exit(1)


def _render_run(report: app.RunReport, *, title: str) -> None:
    table = Table(title=f"{report.exchange}: {title}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("op")
    table.add_column("result")
    for n, step in enumerate(report.steps):
        if not step.ok:
            table.add_row(str(n), step.op, f"[red]rejected[/red]: {step.error}")
            continue
        lines = []
        for event in step.events:
            data = app.jsonable(event)
            kind = data.pop("kind")
            lines.append(f"{kind} " + ", ".join(f"{k}={v}" for k, v in data.items() if v is not None))
        table.add_row(str(n), step.op, "\n".join(lines) or "(no change)")
    console.print(table)
    _render_report(
        app.LiquidationReport(exchange=report.exchange, positions=report.positions, account=report.account),
        title="final positions",
    )
    console.print(
        f"fees paid {app.number(report.fees_paid, step=Decimal('0.01'))}  "
        f"insurance fund {app.number(report.insurance_fund, step=Decimal('0.01'))}"
    )


@cli.command()
def compare(
    portfolio: Annotated[Path, typer.Argument(help="Portfolio file (.toml or .json).")],
    scenario: Annotated[str | None, typer.Option("--scenario", "-s", help="Bundled scenario name.")] = None,
    datadir: Annotated[Path | None, typer.Option("--datadir", help="freqtrade data directory.")] = None,
    start: Annotated[
        str | None, typer.Option("--start", help="ISO 8601, inclusive (UTC if no zone).")
    ] = None,
    end: Annotated[str | None, typer.Option("--end", help="ISO 8601, exclusive (UTC if no zone).")] = None,
    exchange: ExchangeOpt = None,
    tiers: TiersOpt = None,
    modes_: Annotated[str, typer.Option("--modes", help="Comma-separated: cross,isolated,hybrid.")] = (
        "cross,isolated,hybrid"
    ),
    closes: Annotated[
        bool, typer.Option("--closes", help="Check liquidation at bar closes, not adverse extremes.")
    ] = False,
    engine: Annotated[str, typer.Option("--engine", help="fast (numba) or exact (Decimal).")] = "fast",
    report: Annotated[Path | None, typer.Option("--report", help="Write an offline HTML report.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Replay PORTFOLIO through market history all-cross, all-isolated and as written (hybrid)."""

    def body() -> None:
        model = parse(Portfolio, read_document(portfolio), where=portfolio.name)
        venue = _venue(model.exchange, exchange, tiers)
        wanted = parse_modes(modes_)
        market = app.load_market(scenario=scenario, datadir=datadir, start=start, end=end)
        name = scenario or str(datadir)
        held = {venue.resolve_symbol(spec.symbol) for spec in model.positions}
        notes = [n for n in market.all_notes() if n.split(":", 1)[0] in held or ":" not in n]
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            console=Console(stderr=True),
            transient=True,
            disable=as_json or not sys.stderr.isatty(),
        ) as bar:
            task = bar.add_task(
                f"replaying {len(market)} bars × {len(market.symbols)} symbols", total=len(wanted)
            )
            comparison = app.compare_history(
                model,
                venue,
                market,
                wanted,
                engine=engine,
                extremes=not closes,
                on_mode_done=lambda _mode: bar.advance(task),
            )
        if report is not None:
            html = render_html(comparison, title=f"{portfolio.name} on {name} ({venue.name})", notes=notes)
            try:
                report.write_text(html, encoding="utf-8")
            except OSError as exc:
                raise DataError(f"{report}: cannot write the report ({exc.strerror or exc})") from exc
        if as_json:
            _print_json(app.comparison_json(comparison, market, name=name))
            return
        _render_comparison(comparison, title=f"{venue.title}: {portfolio.name} on {name}")
        for line in _summarise_notes(notes):
            console.print(f"[dim]{line}[/dim]")
        if report is not None:
            console.print(f"report written to {report}")

    _guarded(body)


def _render_comparison(comparison: Comparison, *, title: str) -> None:
    cent = Decimal("0.01")
    table = Table(title=title, title_justify="left")
    table.add_column("")
    results = comparison.results
    for mode in results:
        table.add_column(mode, justify="right")

    def row(label: str, cell: Callable[[ModeResult], str]) -> None:
        table.add_row(label, *(cell(r) for r in results.values()))

    row("start equity", lambda r: _fmt(app.number(r.start_equity, step=cent)))
    row("final equity", lambda r: _fmt(app.number(r.final_equity, step=cent)))
    row("PnL", lambda r: _fmt(app.number(r.pnl, step=cent)))
    row("fees", lambda r: _fmt(app.number(r.fees, step=cent)))
    row("funding", lambda r: _fmt(app.number(r.funding, step=cent)))
    row("max drawdown", lambda r: _pct(r.max_drawdown))
    row(
        "liquidations",
        lambda r: (
            "\n".join(f"{x.symbol} {x.time[5:16]} −{app.number(x.loss, step=cent)}" for x in r.liquidations)
            or "none"
        ),
    )
    row(
        "closest call",
        lambda r: (
            "—"
            if r.closest_to_liquidation is None
            else (f"{r.closest_to_liquidation.symbol} {_pct(r.closest_to_liquidation.distance)}")
        ),
    )
    console.print(table)
    for text in comparison.verdicts.values():
        console.print(f"• {text}")


def _summarise_notes(notes: list[str]) -> list[str]:
    """Group ``"SYMBOL: topic: sentence. more"`` notes by topic and first sentence, listing the symbols."""
    groups: dict[str, list[str]] = {}
    for note in notes:
        symbol, _, text = note.partition(": ")
        first = text.split(". ")[0].rstrip(".")
        groups.setdefault(first, []).append(symbol.removesuffix("USDT"))
    return [
        f"{text} ({', '.join(symbols)}); details in --json or the report" for text, symbols in groups.items()
    ]


def _percent(field: str, text: str) -> Decimal:
    """Parse ``"1%"`` or ``"1"`` (percent) into the fraction 0.01."""
    try:
        value = Decimal(text.strip().removesuffix("%"))
    except ArithmeticError:
        raise InputError(field, text, "a percentage such as 1 or 1%") from None
    return value / 100


@cli.command()
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
    as_json: JsonOpt = False,
) -> None:
    """Size a position that risks R % of equity to its stop, and check the stop comes before liquidation."""

    def body() -> SizeResult:
        request = SizeRequest(
            symbol=symbol,
            side=side,
            equity=_decimal("equity", equity),
            risk=_percent("risk", risk),
            entry=_decimal("entry", entry),
            stop=_decimal("stop", stop),
            mode=mode,
            leverage=None if leverage is None else _decimal("leverage", leverage),
            buffer=_percent("buffer", buffer),
        )
        return size_position(request, app.load_venue(exchange, tiers_file=tiers))

    result = _guarded(body)
    instrument_tick = app.load_venue(exchange, tiers_file=tiers).instrument(symbol).tick_size
    if as_json:
        _print_json(
            {
                "symbol": result.symbol,
                "qty": app.number(result.qty),
                "notional": app.number(result.notional),
                "margin": app.number(result.margin),
                "leverage": app.number(result.leverage),
                "liquidation_price": app.number(result.liquidation_price, step=instrument_tick),
                "stop_distance": app.number(result.stop_distance),
                "liquidation_distance": app.number(result.liquidation_distance),
                "stop_before_liquidation": result.stop_before_liquidation,
                "risk_amount": app.number(result.risk_amount),
                "loss_at_stop": app.number(result.loss_at_stop),
                "warnings": list(result.warnings),
            }
        )
    else:
        cent = Decimal("0.01")
        table = Table(
            title=f"{result.symbol} {side} sized to risk {app.number(result.risk_amount, step=cent)}",
            title_justify="left",
        )
        table.add_column("")
        table.add_column("value", justify="right")
        for label, value in (
            ("quantity", app.number(result.qty)),
            ("notional", app.number(result.notional, step=cent)),
            ("margin", app.number(result.margin, step=cent)),
            ("leverage", f"{app.number(result.leverage)}x"),
            ("liquidation price", _fmt(app.number(result.liquidation_price, step=instrument_tick))),
            ("stop distance", _pct(result.stop_distance)),
            ("liquidation distance", _pct(result.liquidation_distance)),
            ("loss at the stop (fees incl.)", app.number(result.loss_at_stop, step=cent)),
        ):
            table.add_row(label, value or "—")
        console.print(table)
        for warning in result.warnings:
            typer.echo(f"warning: {warning}", err=True)
    if strict and result.stop_warning:
        raise typer.Exit(1)


@cli.command()
def risk(
    portfolio: Annotated[Path, typer.Argument(help="Portfolio file (.toml or .json).")],
    horizon: Annotated[str, typer.Option("--horizon", help="Horizon: 1d, 12h, 7d …")] = "1d",
    paths: Annotated[int, typer.Option("--paths", help="Number of simulated paths.")] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed: the same seed gives the same answer.")] = 0,
    model: Annotated[str, typer.Option("--model", help="bootstrap, gbm, student-t or jump.")] = "gbm",
    vol: Annotated[
        float | None, typer.Option("--vol", help="Annualised volatility (default: from data).")
    ] = None,
    drift: Annotated[float, typer.Option("--drift", help="Annualised drift.")] = 0.0,
    steps_per_day: Annotated[int, typer.Option("--steps-per-day", help="Monitoring points per day.")] = 288,
    scenario: Annotated[
        str | None, typer.Option("--scenario", "-s", help="Bundled scenario for data.")
    ] = None,
    datadir: Annotated[Path | None, typer.Option("--datadir", help="freqtrade data directory.")] = None,
    exchange: ExchangeOpt = None,
    tiers: TiersOpt = None,
    modes_: Annotated[str, typer.Option("--modes", help="Comma-separated: cross,isolated,hybrid.")] = (
        "cross,isolated,hybrid"
    ),
    workers: Annotated[int | None, typer.Option("--workers", help="Local Dask cluster of N workers.")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Address of a Dask scheduler.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Monte Carlo liquidation and ruin probabilities of PORTFOLIO in each margin mode."""

    def body() -> None:
        model_doc = parse(Portfolio, read_document(portfolio), where=portfolio.name)
        venue = _venue(model_doc.exchange, exchange, tiers)
        data = _market_or_default(scenario, datadir)
        params = None
        if vol is not None or drift:
            symbols = list(dict.fromkeys(venue.resolve_symbol(p.symbol) for p in model_doc.positions))
            params = params_from_data(data, symbols, vol=vol, drift=drift)
        with Progress(
            SpinnerColumn(),
            TextColumn("simulating"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} chunks"),
            console=Console(stderr=True),
            transient=True,
            disable=as_json or not sys.stderr.isatty(),
        ) as bar:
            task = bar.add_task("mc", total=None)
            report = run_risk(
                model_doc,
                venue,
                model=model,
                horizon=horizon,
                steps_per_day=steps_per_day,
                paths=paths,
                seed=seed,
                params=params,
                data=data,
                modes=parse_modes(modes_),
                workers=workers,
                scheduler=scheduler,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        if as_json:
            _print_json(report.to_dict())
            return
        _render_risk(report, title=f"{venue.title}: {portfolio.name}, {paths:,} {model} paths over {horizon}")

    _guarded(body)


def _market_or_default(scenario: str | None, datadir: Path | None) -> MarketData:
    """Return the data a command names, or the bundled ``2025-10-10`` scenario (the latest) by default."""
    if scenario is not None and datadir is not None:
        return app.load_market(scenario=scenario, datadir=datadir)  # raises: give exactly one
    if datadir is not None:
        return app.load_market(datadir=datadir)
    return app.load_market(scenario=scenario or DEFAULT_SCENARIO)


def _render_risk(report: RiskReport, *, title: str) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("")
    for mode in report.modes:
        table.add_column(mode, justify="right")

    def ci(p: float, bounds: tuple[float, float]) -> str:
        return f"{p:.2%} [{bounds[0]:.2%}, {bounds[1]:.2%}]"

    modes = list(report.modes.values())
    for i, position in enumerate(modes[0].positions):
        table.add_row(
            f"P(liq.) {position.symbol} {position.side}",
            *(ci(m.positions[i].p_liquidation, m.positions[i].ci) for m in modes),
        )
    table.add_row("P(any liquidation)", *(ci(m.p_any_liquidation, m.ci_any_liquidation) for m in modes))
    table.add_row("P(wiped out, ≥ 90 % lost)", *(ci(m.p_wipeout, m.ci_wipeout) for m in modes))
    table.add_row("expected loss", *(f"{m.expected_loss:,.2f}" for m in modes))
    table.add_row("expected shortfall 95 %", *(f"{m.es95:,.2f}" for m in modes))
    table.add_row("expected shortfall 99 %", *(f"{m.es99:,.2f}" for m in modes))
    table.add_row(
        "median time to 1st liq. (h)",
        *("—" if m.ttl_hours.get("q50") is None else f"{m.ttl_hours['q50']:.1f}" for m in modes),
    )
    console.print(table)
    for note in report.notes:
        console.print(f"[dim]{note}[/dim]")


@cli.command()
def advise(
    portfolio: Annotated[Path, typer.Argument(help="Portfolio file with the open positions.")],
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
    datadir: Annotated[Path | None, typer.Option("--datadir", help="freqtrade data directory.")] = None,
    exchange: ExchangeOpt = None,
    tiers: TiersOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recommend cross or isolated for a new trade, with the reasons and the Monte Carlo evidence."""

    def body() -> None:
        model = parse(Portfolio, read_document(portfolio), where=portfolio.name)
        venue = _venue(model.exchange, exchange, tiers)
        data = _market_or_default(scenario, datadir)
        advice = advise_trade(
            model,
            parse_trade(trade),
            venue,
            data,
            parse_profile(profile),
            evidence=app.risk_evidence(venue, data=data, seed=seed, paths=paths),
        )
        if as_json:
            _print_json(advice.to_dict())
            return
        console.print(
            f"[bold]recommendation: {advice.recommendation}[/bold] (score {advice.score:+d}; "
            "positive favours cross)"
        )
        table = Table(title_justify="left")
        for column in ("criterion", "weight", "measured"):
            table.add_column(column)
        for reason in advice.reasons:
            table.add_row(reason.criterion, f"{reason.weight:+d}", reason.text)
        console.print(table)
        for mode, e in advice.evidence.items():
            console.print(
                f"{mode}: P(trade liquidated) {e.p_trade_liquidated:.2%}, P(wiped out) {e.p_wipeout:.2%}, "
                f"expected loss {e.expected_loss:,.2f}, ES95 {e.es95:,.2f}, ES99 {e.es99:,.2f}"
            )
        for flag in advice.flags:
            console.print(f"[yellow]revisit:[/yellow] {flag}")

    _guarded(body)


def _decimal(field: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise InputError(field, text, "a number") from None
    if not value.is_finite():
        raise InputError(field, text, "a finite number")
    return value


@cli.command()
def scenarios(as_json: JsonOpt = False) -> None:
    """List the bundled market scenarios: span, interval, symbols and data notes."""
    infos = _guarded(list_scenarios)
    if as_json:
        _print_json([info.to_dict() for info in infos])
        return
    table = Table(title="bundled scenarios (Binance market data)", title_justify="left")
    for column in ("name", "what happened", "span (UTC)", "interval", "symbols"):
        table.add_column(column)
    for info in infos:
        table.add_row(
            info.name,
            info.title,
            f"{info.start:%Y-%m-%d %H:%M} → {info.end:%Y-%m-%d %H:%M}",
            info.interval,
            " ".join(sym.removesuffix("USDT") for sym in info.symbols),
        )
    console.print(table)


@cli.command()
def venues(as_json: JsonOpt = False) -> None:
    """List the venue rule sets: policies, tier snapshot and sources with the dates checked."""

    def body() -> list[Venue]:
        return [get_venue(name) for name in VENUES]

    rows = _guarded(body)
    if as_json:
        _print_json(
            [
                {
                    "name": v.name,
                    "title": v.title,
                    "tier_snapshot": v.tier_snapshot,
                    "instruments": len(v.instruments),
                    "maintenance_basis": str(v.maintenance_basis),
                    "fee_in_liquidation": v.fee_in_liquidation,
                    "liquidation_style": str(v.liquidation_style),
                    "mode_switch": str(v.mode_switch),
                    "partial_liquidation": v.partial_liquidation,
                    "hedge_mode": v.supports_hedge,
                    "default_leverage": app.number(v.default_leverage),
                    "sources": [{"title": s.title, "url": s.url, "checked": s.checked} for s in v.sources],
                    "notes": list(v.notes),
                }
                for v in rows
            ]
        )
        return
    table = Table(title="venue rule sets", title_justify="left")
    for column in ("name", "symbols", "MM at", "fee in LP", "liquidation", "mode switch", "hedge"):
        table.add_column(column)
    for v in rows:
        table.add_row(
            v.name,
            str(len(v.instruments)),
            "entry" if v.maintenance_basis.value == "entry" else "liq. price",
            "taker" if v.fee_in_liquidation else "no",
            str(v.liquidation_style),
            "when flat" if v.mode_switch.value == "flat_only" else "anytime",
            "yes" if v.supports_hedge else "no",
        )
    console.print(table)
    for v in rows:
        checked = max((s.checked for s in v.sources), default="—")
        console.print(
            f"[bold]{v.name}[/bold] ({v.title}): tiers {v.tier_snapshot}; sources checked {checked}"
        )


def main() -> None:
    """Entry point of the ``marginlab`` command."""
    cli()
