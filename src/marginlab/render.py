"""Results of the use cases as JSON-ready data and as Rich tables: the one presentation layer.

Every front end (the CLI now, the REST API and the dashboard next) renders what :mod:`marginlab.app`
returns through this module, so a figure is formatted the same way everywhere. It sits between the use
cases and the front ends (``app ← render ← cli``) and imports nothing below :mod:`marginlab.app`: the use
cases know nothing about tables or JSON, and front ends nothing about the engine.

JSON: numbers are decimal strings, exact Decimals rounded half up to 8 decimal places (prices included: a
liquidation price is never rounded to the tick in machine output, so a bot compares it with its exchange's
``positionRisk`` digit for digit), times ISO 8601 UTC, ``null`` where undefined; Monte Carlo figures are
floats (probabilities to 6 places, money to cents). Tables are for people: money to cents, and mark,
liquidation and bankruptcy prices rounded half up to the instrument's tick (their captions say so).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from marginlab.app.advice import Advice, Evidence
from marginlab.app.calculator import LiquidationReport, ModesReport, MultiAssetsReport, PositionReport
from marginlab.app.catalog import ScenarioInfo, VenueSummary
from marginlab.app.replay import (
    CLOSEST_CALL_DEFINITION,
    ModeResult,
    ReplayReport,
    ScenarioRun,
    closest_text,
    report_asset,
)
from marginlab.app.risk import RiskReport, RiskResult
from marginlab.app.scripts import Event, RunReport
from marginlab.app.sizing import Sizing
from marginlab.app.whatif import PreparedBook, WhatIfReport

AMOUNT = Decimal("1e-8")
CENT = Decimal("0.01")
TICK_CAPTION = "prices to the tick; --json: 8 decimals"
View = list[RenderableType]


# =========================================================================== numbers
def number(value: Decimal | None, *, step: Decimal = AMOUNT) -> str | None:
    """Return ``value`` rounded half up to ``step`` as a plain decimal string (None stays None)."""
    if value is None:
        return None
    rounded = (value / step).to_integral_value(rounding=ROUND_HALF_UP) * step
    text = format(rounded.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def jsonable(obj: Any) -> Any:
    """Return ``obj`` (reports, events, dicts, Decimals) as JSON-ready data with decimal strings."""
    if isinstance(obj, PositionReport):
        # the tick is display information: the table rounds to it, the JSON carries exact prices
        return {n: jsonable(getattr(obj, n)) for n in PositionReport.__dataclass_fields__ if n != "tick_size"}
    if isinstance(obj, Event):
        return jsonable(obj.to_dict())
    if hasattr(obj, "__slots__") and hasattr(obj, "__dataclass_fields__"):
        return {name: jsonable(getattr(obj, name)) for name in obj.__dataclass_fields__}
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, Sequence) and not isinstance(obj, str):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Decimal):
        return number(obj)
    if isinstance(obj, bool | int | float | str) or obj is None:
        return obj
    return str(obj)


def keep_words(table: RenderableType, width: int) -> RenderableType:
    """Fit a table in ``width`` columns by wrapping cells at spaces, never cutting a word ("hyperliq…").

    Every column gets at least its longest word; the room left is shared in proportion to what each
    column would need to show its cells unwrapped. A table that fits as it is, or anything that is not a
    table, is returned untouched.
    """
    if not isinstance(table, Table):
        return table
    columns = table.columns
    if not columns:
        return table
    lines: list[list[str]] = []
    for column in columns:
        texts = [column.header, *column.cells]
        lines.append(
            [
                line
                for text in texts
                for line in (
                    text.plain if isinstance(text, Text) else Text.from_markup(str(text)).plain
                ).split("\n")
            ]
        )
    widest = [max((len(line) for line in ls), default=0) for ls in lines]
    shortest = [max((len(w) for line in ls for w in line.split()), default=0) for ls in lines]
    room = width - (len(columns) + 1) - 2 * len(columns)  # borders, then one space of padding each side
    if sum(widest) <= room or sum(shortest) > room:
        return table
    spare = room - sum(shortest)
    wanted = [w - s for w, s in zip(widest, shortest, strict=True)]
    total = sum(wanted) or 1
    for column, low, extra in zip(columns, shortest, wanted, strict=True):
        column.width = low + spare * extra // total
    return table


def _r(x: float | None, digits: int = 6) -> float | None:
    return None if x is None else round(float(x), digits)


def _fmt(value: str | None, suffix: str = "") -> str:
    return "—" if value is None else f"{value}{suffix}"


def _pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{number(value * 100, step=CENT)} %"


def _cents(value: Decimal | None) -> str:
    return _fmt(number(value, step=CENT))


def _tick(p: PositionReport, value: Decimal | None) -> str:
    """Return a price of ``p`` rounded half up to its instrument's tick, for a table."""
    return _fmt(number(value, step=p.tick_size))


# =========================================================================== calculator
def liquidation_json(report: LiquidationReport) -> dict[str, Any]:
    """Return the ``liq --json`` document."""
    out = {
        "exchange": report.exchange,
        "positions": [jsonable(p) for p in report.positions],
        "account": jsonable(report.account),
        "warnings": list(report.warnings),
    }
    if report.multi_assets is not None:
        out["multi_assets"] = jsonable(report.multi_assets)
    return out


def modes_json(report: ModesReport) -> dict[str, Any]:
    """Return the ``modes --json`` document."""
    out: dict[str, Any] = {
        "exchange": report.exchange,
        "modes": {name: liquidation_json(r) for name, r in report.by_mode.items()},
    }
    if report.notes:
        out["notes"] = list(report.notes)
    return out


# =========================================================================== what-if
def whatif_book_json(book: PreparedBook) -> dict[str, Any]:
    """Return what a what-if page needs before the first move: symbols, marks and ticks, scenario names.

    ``marks`` and ``ticks`` are decimal strings (quote per base): a slider starts at the mark and steps by
    the tick, so every price it sends is one the engine holds exactly.
    """
    return {
        "exchange": book.exchange,
        "venue_title": book.venue_title,
        "asset": book.asset,
        "marks": {s: number(p) for s, p in book.marks.items()},
        "ticks": {s: format(t.normalize(), "f") for s, t in book.tick_sizes.items()},
        "scenarios": [s.name for s in book.scenarios],
        "notes": list(book.notes),
    }


def whatif_json(report: WhatIfReport) -> dict[str, Any]:
    """Return one what-if move: per scenario the positions (with ``label``), equity and liquidations.

    Amounts in ``asset``; prices quote per base; ``distance_to_liquidation`` and ``margin_ratio`` are
    fractions (decimal strings, 8 places, like every JSON number of marginlab).
    """
    scenarios: dict[str, Any] = {}
    for name, s in report.scenarios.items():
        scenarios[name] = {
            "refused": s.refused,
            "equity_before": number(s.equity_before),
            "equity_at_prices": number(s.equity_at_prices),
            "equity_after": number(s.equity_after),
            "margin_ratio": None if s.account is None else number(s.account.margin_ratio),
            "liquidated": list(s.liquidated),
            "positions": [{"label": p.label, **jsonable(p)} for p in s.positions],
        }
    return {
        "exchange": report.exchange,
        "asset": report.asset,
        "marks": {k: number(v) for k, v in report.marks.items()},
        "prices": {k: number(v) for k, v in report.prices.items()},
        "scenarios": scenarios,
        "notes": list(report.notes),
    }


def liquidation_view(report: LiquidationReport, *, title: str) -> View:
    """Return one column per position (rows are the figures), then the account line."""
    out: View = []
    if not report.positions:
        out.append(f"{title}: no open positions")
    table = Table(title=title, title_justify="left", caption=TICK_CAPTION, caption_justify="left")
    table.add_column("")
    for p in report.positions:
        table.add_column(f"{p.symbol} {p.side}", justify="right")
    rows = [jsonable(p) for p in report.positions]
    fields: list[tuple[str, Callable[[PositionReport, dict[str, Any]], str]]] = [
        ("mode", lambda p, r: r["mode"]),
        ("qty", lambda p, r: r["qty"]),
        ("entry / mark", lambda p, r: f"{r['entry']} / {_tick(p, p.mark)}"),
        ("leverage", lambda p, r: f"{r['leverage']}x"),
        ("notional", lambda p, r: _cents(p.notional)),
        ("margin", lambda p, r: _cents(p.margin)),
        ("maint. margin", lambda p, r: f"{number(p.maintenance_margin, step=CENT)} (mmr {r['mmr']})"),
        ("unrealized PnL", lambda p, r: _cents(p.unrealized_pnl)),
        ("margin ratio", lambda p, r: _pct(p.margin_ratio)),
        ("liquidation price", lambda p, r: _tick(p, p.liquidation_price)),
        ("bankruptcy price", lambda p, r: _tick(p, p.bankruptcy_price)),
        ("distance to liq.", lambda p, r: _pct(p.distance_to_liquidation)),
    ]
    for label, cell in fields:
        table.add_row(label, *(cell(p, r) for p, r in zip(report.positions, rows, strict=True)))
    if report.positions:
        out.append(table)
    out += [
        f"[bold red]warning: {p.symbol} {p.side} is already at or past its liquidation at mark {p.mark} "
        "(equity at or below maintenance margin): the venue would liquidate it now[/bold red]"
        for p in report.positions
        if p.liquidatable
    ]
    if report.multi_assets is not None:
        out += multi_assets_view(report.multi_assets)
        out.append(
            "[dim]— : undefined; a liquidation price of — means no positive mark price liquidates.[/dim]"
        )
        return out
    a = report.account
    out.append(
        f"[bold]account ({a.asset})[/bold]  wallet {number(a.wallet_balance, step=CENT)}  "
        f"uPnL {number(a.unrealized_pnl, step=CENT)}  "
        f"margin balance {number(a.margin_balance, step=CENT)}  "
        f"maint. margin {number(a.maintenance_margin, step=CENT)}  "
        f"available {number(a.available_balance, step=CENT)}  cross margin ratio {_pct(a.margin_ratio)}"
    )
    out.append("[dim]— : undefined; a liquidation price of — means no positive mark price liquidates.[/dim]")
    out += [f"[yellow]warning:[/yellow] {w}" for w in report.warnings]
    return out


def multi_assets_view(report: MultiAssetsReport) -> View:
    """Return the Multi-Assets pool per asset, then the account in USD."""
    table = Table(title="Multi-Assets pool (every asset backs every cross position)", title_justify="left")
    for label in ("asset", "wallet", "uPnL", "equity", "index", "bid / ask rate", "haircut", "value (USD)"):
        table.add_column(label, justify="left" if label == "asset" else "right")
    for a in report.assets:
        table.add_row(
            a.asset,
            _fmt(number(a.wallet_balance)),
            _cents(a.unrealized_pnl),
            _fmt(number(a.equity)),
            _fmt(number(a.index_price)),
            f"{number(a.bid_rate)} / {number(a.ask_rate)}",
            _pct(a.value_ratio),
            _cents(a.value),
        )
    available = "  ".join(f"{a.asset} {number(a.available_for_order, step=CENT)}" for a in report.assets)
    return [
        table,
        f"[bold]account (USD)[/bold]  equity {number(report.account_equity)}  "
        f"initial margin {number(report.account_initial_margin)}  "
        f"maint. margin {number(report.account_maintenance_margin)}  "
        f"available {number(report.available_for_order)}  "
        f"margin ratio {_pct(report.margin_ratio)} (100 % liquidates every position)",
        f"available for order per asset: {available}",
        f"[dim]equity = Σ asset equity × bid rate × haircut (a debt × ask rate); margins × ask rate. "
        f"Table: {report.table}.[/dim]",
    ]


def _at_stake(report: LiquidationReport, p: PositionReport) -> Decimal:
    """Return what liquidating the position can cost: its isolated margin, or the whole cross balance."""
    if p.mode == "isolated":
        return p.margin
    if report.multi_assets is not None:  # the whole pool, every coin at its index (USD)
        return report.multi_assets.market_value
    return report.account.cross_wallet_balance


def modes_view(report: ModesReport, *, title: str) -> View:
    """Return the all-cross vs all-isolated table: liquidation price, distance and what is at stake."""
    table = Table(title=title, title_justify="left", caption=TICK_CAPTION, caption_justify="left")
    table.add_column("position")
    table.add_column("mode")
    table.add_column("liq. price", justify="right")
    table.add_column("distance", justify="right")
    table.add_column("at stake", justify="right")
    reports = report.by_mode
    pooled = report.cross.multi_assets is not None
    shown = {"cross": "cross (Multi-Assets)", "isolated": "isolated (single-asset)"} if pooled else {}
    positions = zip(report.cross.positions, report.isolated.positions, strict=True)
    for n, pair in enumerate(positions):
        if n:
            table.add_section()
        for name, p in zip(("cross", "isolated"), pair, strict=True):
            label = f"{p.symbol} {p.side} {number(p.notional, step=CENT)} @ {p.leverage}x"
            table.add_row(
                label if name == "cross" else "",
                shown.get(name, name),
                _tick(p, p.liquidation_price),
                _pct(p.distance_to_liquidation),
                _cents(_at_stake(reports[name], p)),
            )
    stake = "every coin of the Multi-Assets pool at its index (USD)" if pooled else "the whole cross wallet"
    return [
        table,
        f"[dim]at stake: what a liquidation of the position can take — the isolated margin, or "
        f"{stake}.[/dim]",
        *report.notes,
    ]


# =========================================================================== scripts
def run_json(report: RunReport) -> dict[str, Any]:
    """Return the ``run --json`` document."""
    return {
        "exchange": report.exchange,
        "steps": [
            {
                "op": s.op,
                "ok": s.ok,
                "expected_refusal": s.expected_refusal,
                "error": s.error,
                "events": [jsonable(e) for e in s.events],
            }
            for s in report.steps
        ],
        "positions": [jsonable(p) for p in report.positions],
        "account": jsonable(report.account),
        "insurance_fund": number(report.insurance_fund),
        "fees_paid": number(report.fees_paid),
        **(
            {
                "multi_assets": jsonable(report.multi_assets),
                "collateral_seized": jsonable(report.collateral_seized),
            }
            if report.multi_assets is not None
            else {}
        ),
    }


def run_view(report: RunReport, *, title: str) -> View:
    """Return every step's events, then the final positions, fees and insurance fund."""
    table = Table(title=f"{report.exchange}: {title}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("op")
    table.add_column("result")
    for n, step in enumerate(report.steps):
        if step.expected_refusal:
            table.add_row(str(n), step.op, f"refused, as expected: {step.error}")
            continue
        if not step.ok and not step.events:
            table.add_row(str(n), step.op, f"[red]rejected[/red]: {step.error}")
            continue
        if not step.ok:
            table.add_row(str(n), step.op, f"[red]not refused[/red]: {step.error}")
            continue
        lines = []
        for event in step.events:
            data = jsonable(event)
            kind = data.pop("kind")
            lines.append(f"{kind} " + ", ".join(f"{k}={v}" for k, v in data.items() if v is not None))
        table.add_row(str(n), step.op, "\n".join(lines) or "(no change)")
    final = LiquidationReport(
        exchange=report.exchange,
        positions=report.positions,
        account=report.account,
        multi_assets=report.multi_assets,
    )
    return [
        table,
        *liquidation_view(final, title="final positions"),
        f"fees paid {number(report.fees_paid, step=CENT)}  "
        f"insurance fund {number(report.insurance_fund, step=CENT)}",
    ]


# =========================================================================== replay
def interval_text(seconds: float) -> str:
    """Return a bar interval as traders write it: ``5m``, ``1h``, ``1d``."""
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def replay_json(report: ReplayReport) -> dict[str, Any]:
    """Return the ``compare --json`` document (amounts as decimal strings, times ISO 8601 UTC)."""
    market, comparison = report.market, report.comparison
    start, end = market.span
    modes: dict[str, Any] = {}
    for mode, r in comparison.results.items():
        closest = r.closest_to_liquidation
        modes[mode] = {
            "start_equity": number(r.start_equity),
            "final_equity": number(r.final_equity),
            "pnl": number(r.pnl),
            "fees": number(r.fees),
            "funding": number(r.funding),
            "max_drawdown": number(r.max_drawdown),
            "liquidations": [
                {
                    "symbol": x.symbol,
                    "side": x.side,
                    "mode": x.mode,
                    "time": x.time,
                    "mark": number(x.mark),
                    "price": number(x.price),
                    "loss": number(x.loss),
                }
                for x in r.liquidations
            ],
            "closest_to_liquidation": None
            if closest is None
            else {"symbol": closest.symbol, "time": closest.time, "distance": number(closest.distance)},
            "positions": [
                {
                    "position": o.label,
                    "liquidated_at": o.liquidated_at,
                    "closest_call": number(o.closest_distance),
                    "closest_call_time": o.closest_time,
                }
                for o in comparison.outcomes.get(mode, ())
            ],
            "verdict": comparison.verdicts[mode],
        }
    return {
        "scenario": {
            "name": report.data_name,
            "start": start.isoformat().replace("+00:00", "Z"),
            "end": end.isoformat().replace("+00:00", "Z"),
            "interval": interval_text(market.interval.total_seconds()),
            "bars": len(market),
            "symbols": list(market.symbols),
            "notes": list(market.all_notes()),
        },
        "asset": report_asset(report),
        "warnings": list(comparison.warnings),
        "notes": list(comparison.notes),
        "closest_call": CLOSEST_CALL_DEFINITION,
        "modes": modes,
        **({"notes": list(report.engine_notes)} if report.engine_notes else {}),
    }


def replay_view(report: ReplayReport, *, title: str) -> View:
    """Return the modes side by side, the one-line verdicts and the data notes grouped by topic."""
    table = Table(title=title, title_justify="left")
    table.add_column("")
    results = report.comparison.results
    for mode in results:
        table.add_column(mode, justify="right")

    def row(label: str, cell: Callable[[ModeResult], str]) -> None:
        table.add_row(label, *(cell(r) for r in results.values()))

    asset = report_asset(report)
    outcomes = report.comparison.outcomes
    row(f"start equity ({asset})", lambda r: _cents(r.start_equity))
    row(f"final equity ({asset})", lambda r: _cents(r.final_equity))
    row(f"PnL ({asset})", lambda r: _cents(r.pnl))
    row(f"fees ({asset})", lambda r: _cents(r.fees))
    row(f"funding ({asset}, + received)", lambda r: _cents(r.funding))
    row("max drawdown", lambda r: _pct(r.max_drawdown))
    row(
        f"liquidations (loss, {asset})",
        lambda r: (
            "\n".join(
                f"{x.symbol.removesuffix(asset)} {x.time[:16].replace('T', ' ')} −{number(x.loss, step=CENT)}"
                for x in r.liquidations
            )
            or "none"
        ),
    )
    row("closest call", lambda r: closest_text(outcomes.get(r.mode, ())))
    out: View = [table]
    out += [f"[yellow]warning:[/yellow] {w}" for w in report.comparison.warnings]
    out += [f"• {text}" for text in report.comparison.verdicts.values()]
    out.append(f"[dim]{CLOSEST_CALL_DEFINITION}; times UTC.[/dim]")
    out += [f"[dim]{n}[/dim]" for n in report.comparison.notes]
    out += [f"[dim]{line}[/dim]" for line in report.engine_notes]
    out += [f"[dim]{line}[/dim]" for line in summarise_notes(report.notes)]
    return out


def replay_all_json(runs: Sequence[ScenarioRun]) -> dict[str, Any]:
    """Return the ``compare --scenario all --json`` document: one ``compare`` document per scenario."""
    return {
        "scenarios": {
            run.name: (replay_json(run.report) if run.report is not None else {"skipped": run.skipped})
            for run in runs
        }
    }


def replay_all_view(runs: Sequence[ScenarioRun], *, title: str) -> View:
    """Return one summary table: a row per bundled scenario, per mode the PnL and the liquidations."""
    modes = next((list(r.report.comparison.results) for r in runs if r.report is not None), [])
    asset = next((report_asset(r.report) for r in runs if r.report is not None), "USDT")
    table = Table(title=title, title_justify="left")
    table.add_column("scenario")
    for mode in modes:
        table.add_column(f"{mode}: PnL {asset} (liq.)", justify="right")
    out: View = [table]
    for run in runs:
        if run.report is None:
            table.add_row(run.name, *(["skipped"] * len(modes)))
            out.append(f"[dim]{run.name}: skipped — {run.skipped}[/dim]")
            continue
        results = run.report.comparison.results
        cells = []
        for mode in modes:
            r = results[mode]
            dead = ", ".join(dict.fromkeys(x.symbol.removesuffix(asset) for x in r.liquidations))
            cells.append(f"{r.pnl:+,.2f}" + (f"\n({dead})" if dead else ""))
        table.add_row(run.name, *cells)
        out += [f"[yellow]warning:[/yellow] {run.name}: {w}" for w in run.report.comparison.warnings]
        out += [f"[dim]{run.name}: {n}[/dim]" for n in run.report.comparison.notes]
    return out


def summarise_notes(notes: Sequence[str]) -> list[str]:
    """Group ``"SYMBOL: topic: sentence. more"`` notes by topic and first sentence, listing the symbols."""
    groups: dict[str, list[str]] = {}
    for note in notes:
        symbol, _, text = note.partition(": ")
        first = text.split(". ")[0].rstrip(".")
        groups.setdefault(first, []).append(symbol.removesuffix("USDT"))
    return [
        f"{text} ({', '.join(symbols)}); details in --json or the report" for text, symbols in groups.items()
    ]


# =========================================================================== risk
def risk_json(report: RiskReport) -> dict[str, Any]:
    """Return the ``risk --json`` document: probabilities to 6 decimals, money to cents, hours to 3."""
    modes: dict[str, Any] = {}
    for name, m in report.modes.items():
        modes[name] = {
            "positions": [
                {
                    "symbol": p.symbol,
                    "side": p.side,
                    "mode": p.mode,
                    "p_liquidation": _r(p.p_liquidation),
                    "ci": [_r(p.ci[0]), _r(p.ci[1])],
                    "ttl_hours": {k: _r(v, 3) for k, v in p.ttl_hours.items()},
                }
                for p in m.positions
            ],
            "start_equity": _r(m.start_equity, 2),
            "p_any_liquidation": _r(m.p_any_liquidation),
            "ci_any_liquidation": [_r(m.ci_any_liquidation[0]), _r(m.ci_any_liquidation[1])],
            "p_wipeout": _r(m.p_wipeout),
            "ci_wipeout": [_r(m.ci_wipeout[0]), _r(m.ci_wipeout[1])],
            "p_wipeout_intra": _r(m.p_wipeout_intra),
            "expected_loss": _r(m.expected_loss, 2),
            "es95": _r(m.es95, 2),
            "es99": _r(m.es99, 2),
            "ttl_hours": {k: _r(v, 3) for k, v in m.ttl_hours.items()},
        }
    return {
        "model": report.model,
        "horizon_days": report.horizon_days,
        "steps": report.steps,
        "steps_per_day": report.steps_per_day,
        "paths": report.paths,
        "seed": report.seed,
        "chunk_size": report.chunk_size,
        "start": report.start,
        "start_prices": dict(report.start_prices),
        "asset": report.asset,
        "amounts": f"in {report.asset}; expected_loss, es95 and es99 are losses: positive = money lost",
        "volatility": {
            s: {"annualised": _r(v), "source": report.vol_source.get(s, "")}
            for s, v in report.volatility.items()
        },
        "correlation": [[_r(x, 4) for x in row] for row in report.correlation],
        "estimation_window": dict(report.window),
        "notes": list(report.notes),
        "modes": modes,
    }


def risk_view(result: RiskResult, *, title: str) -> View:
    """Return per mode: each position's liquidation probability, ruin, losses and time to liquidation."""
    report = result.report
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
    asset = report.asset
    table.add_row(f"start equity ({asset})", *(f"{m.start_equity:,.2f}" for m in modes))
    table.add_row(f"expected loss ({asset})", *(f"{m.expected_loss:,.2f}" for m in modes))
    table.add_row(f"expected shortfall 95 % ({asset})", *(f"{m.es95:,.2f}" for m in modes))
    table.add_row(f"expected shortfall 99 % ({asset})", *(f"{m.es99:,.2f}" for m in modes))
    table.add_row(
        "median time to 1st liq. (h)",
        *("—" if m.ttl_hours.get("q50") is None else f"{m.ttl_hours['q50']:.1f}" for m in modes),
    )
    out: View = [table, f"[dim]losses in {asset}: a loss is positive, a gain negative[/dim]"]
    out.append(volatility_table(report))
    w = report.window
    if w:
        first, last = (w[k][:16].replace("T", " ") for k in ("start", "end"))
        out.append(f"estimates from {w['interval']} mark closes {first} → {last} UTC")
        out.append(f"[dim]data: {w['source']}[/dim]")
    return out + [f"[dim]{note}[/dim]" for note in report.notes]


def volatility_table(report: RiskReport) -> Table:
    """Return the volatility each coin was simulated with, where it came from, and the data window."""
    table = Table(title="volatility (annualised)", title_justify="left")
    for column in ("coin", "vol", "start", "source"):
        table.add_column(column, justify="right" if column in ("vol", "start") else "left")
    for s, v in report.volatility.items():
        start = report.start_prices.get(s, float("nan"))
        table.add_row(s, f"{v:.1%}", f"{start:,.6g}", report.vol_source.get(s, ""))
    return table


# =========================================================================== sizing
def sizing_json(sizing: Sizing) -> dict[str, Any]:
    """Return the ``size --json`` document."""
    result = sizing.result
    return {
        "symbol": result.symbol,
        "qty": number(result.qty),
        "notional": number(result.notional),
        "margin": number(result.margin),
        "leverage": number(result.leverage),
        "liquidation_price": number(result.liquidation_price),
        "stop_distance": number(result.stop_distance),
        "liquidation_distance": number(result.liquidation_distance),
        "stop_before_liquidation": result.stop_before_liquidation,
        "risk_amount": number(result.risk_amount),
        "loss_at_stop": number(result.loss_at_stop),
        "asset": result.asset,
        "safe_leverage": number(result.safe_leverage),
        "safe_margin": number(result.safe_margin),
        "safe_equity": number(result.safe_equity),
        "warnings": list(result.warnings),
    }


def sizing_view(sizing: Sizing) -> View:
    """Return the sized position as a two-column table (warnings are the front end's to show)."""
    result = sizing.result
    asset = result.asset
    table = Table(
        title=f"{result.symbol} {sizing.side} sized to risk {number(result.risk_amount, step=CENT)} {asset}",
        title_justify="left",
        caption=TICK_CAPTION,
        caption_justify="left",
    )
    table.add_column("")
    table.add_column("value", justify="right")
    loss = (
        f"{number(result.loss_at_stop, step=CENT)} {asset}"
        if result.loss_at_stop is not None
        else "— (the stop cannot fill: liquidated first)"
    )
    rows = [
        ("quantity", number(result.qty)),
        (f"notional ({asset})", number(result.notional, step=CENT)),
        (f"margin ({asset})", number(result.margin, step=CENT)),
        ("leverage", f"{number(result.leverage)}x"),
        (f"liquidation price ({asset})", _fmt(number(result.liquidation_price, step=sizing.tick_size))),
        ("stop distance", _pct(result.stop_distance)),
        ("liquidation distance", _pct(result.liquidation_distance)),
        ("loss at the stop (fees incl.)", loss),
    ]
    if result.safe_leverage is not None:
        rows.append(("highest safe leverage", f"{number(result.safe_leverage)}x"))
        rows.append((f"margin at that leverage ({asset})", number(result.safe_margin, step=CENT)))
    if result.safe_equity is not None:
        rows.append((f"cross equity needed ({asset})", number(result.safe_equity, step=CENT)))
    for label, value in rows:
        table.add_row(label, value or "—")
    return [table]


# =========================================================================== advice
def evidence_json(evidence: Evidence) -> dict[str, float | str]:
    """Return Monte Carlo evidence (probabilities as fractions to 6 places, losses to cents in ``asset``)."""
    return {
        "p_trade_liquidated": round(evidence.p_trade_liquidated, 6),
        "p_wipeout": round(evidence.p_wipeout, 6),
        "expected_loss": round(evidence.expected_loss, 2),
        "es95": round(evidence.es95, 2),
        "es99": round(evidence.es99, 2),
        "asset": evidence.asset,
    }


def advice_json(advice: Advice) -> dict[str, Any]:
    """Return the ``advise --json`` document."""
    return {
        "recommendation": str(advice.recommendation),
        "score": advice.score,
        "action": advice.action,
        "adds_to": advice.adds_to,
        "reasons": [{"criterion": r.criterion, "weight": r.weight, "text": r.text} for r in advice.reasons],
        "evidence": {mode: evidence_json(e) for mode, e in advice.evidence.items()},
        "flags": list(advice.flags),
    }


def advice_view(advice: Advice) -> View:
    """Return the recommendation, the reasons table, the evidence per mode and positions to revisit."""
    out: View = [
        f"[bold]recommendation: {advice.recommendation}[/bold] (score {advice.score:+d}; "
        "positive favours cross)",
        f"action: {advice.action}",
    ]
    table = Table(title_justify="left")
    for column in ("criterion", "weight", "measured"):
        table.add_column(column)
    for reason in advice.reasons:
        table.add_row(reason.criterion, f"{reason.weight:+d}", reason.text)
    out.append(table)
    for mode, e in advice.evidence.items():
        out.append(
            f"{mode}: P(trade liquidated) {e.p_trade_liquidated:.2%}, P(wiped out) {e.p_wipeout:.2%}, "
            f"expected loss {e.expected_loss:,.2f} {e.asset}, ES95 {e.es95:,.2f} {e.asset}, "
            f"ES99 {e.es99:,.2f} {e.asset} "
            "(a loss is positive)"
        )
    out += [f"[yellow]revisit:[/yellow] {flag}" for flag in advice.flags]
    return out


# =========================================================================== catalog
def _iso(ts: Any) -> str:
    return str(ts.isoformat()).replace("+00:00", "Z")


def scenario_json(info: ScenarioInfo) -> dict[str, Any]:
    """Return a scenario's description (times ISO 8601 UTC, prices as floats in quote per base)."""
    doc: dict[str, Any] = jsonable(info)
    return doc | {"start": _iso(info.start), "end": _iso(info.end)}


def scenarios_view(infos: Sequence[ScenarioInfo]) -> View:
    """Return the bundled scenarios: span, interval, symbols."""
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
    return [table]


def venue_json(v: VenueSummary) -> dict[str, Any]:
    """Return a rule set's policies, tier snapshot and sources (dated)."""
    doc: dict[str, Any] = jsonable(v)
    return doc


def venues_view(rows: Sequence[VenueSummary]) -> View:
    """Return the rule sets' policies as a table, then each one's tier snapshot and dated sources."""
    table = Table(title="venue rule sets", title_justify="left")
    for column in ("name", "symbols", "MM at", "fee in LP", "liquidation", "mode switch", "hedge"):
        table.add_column(column)
    for v in rows:
        table.add_row(
            v.name,
            str(v.instruments),
            "entry" if v.maintenance_basis == "entry" else "liq. price",
            "taker" if v.fee_in_liquidation else "no",
            v.liquidation_style,
            "when flat" if v.mode_switch == "flat_only" else "anytime",
            "yes" if v.hedge_mode else "no",
        )
    out: View = [table]
    for v in rows:
        out.append(f"[bold]{v.name}[/bold] ({v.title}): tiers {v.tier_snapshot}")
        funding = "available balance first" if v.isolated_funding == "available_first" else "position margin"
        out.append(f"  isolated funding is paid from the {funding}")
        if v.multi_assets is not None:
            out.append(f"  Multi-Assets mode: {v.multi_assets}")
        out.extend(f"  {s.title}: {s.url} (checked {s.checked})" for s in v.sources)
    return out
