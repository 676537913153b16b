"""Self-contained offline HTML report of a mode comparison (Plotly, its JavaScript embedded), and the
Monte Carlo risk figure (:func:`risk_figure`) beside it.

Layout, top to bottom: the summary table (equity, PnL, fees, funding, drawdown, liquidations and closest
call per mode), the verdicts, then **small multiples**: one column per margin mode, so modes whose lines
coincide stay visible side by side. Rows: one price panel per symbol (mark price, that mode's
liquidation-price lines and liquidation markers; the y-axis spans the prices, not 0), the equity in the
settlement asset, and the worst margin ratio (100 % = liquidation). Every series has one legend entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from html import escape
from typing import Protocol

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from marginlab.analysis.compare import CLOSEST_CALL_DEFINITION, Comparison, closest_text
from marginlab.io.bars import CLOSE, HIGH, LOW

COLORS = {"cross": "#d62728", "isolated": "#1f77b4", "hybrid": "#2ca02c"}
MAX_POINTS = 20_000  # above this, plot every k-th bar (the liquidation markers stay exact)
CSS = (
    "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}li{margin:.2em 0}"
    ".notes{font-size:.8em;color:#666}table.summary{border-collapse:collapse;margin:.5em 0 1em}"
    ".summary th,.summary td{border:1px solid #ccc;padding:.3em .7em;text-align:right;vertical-align:top}"
    ".summary th:first-child,.summary td:first-child{text-align:left}.summary thead th{background:#f4f4f4}"
    ".def{font-size:.85em;color:#555}"
)


def _floats(values: Sequence[Decimal | float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _money(value: Decimal, asset: str) -> str:
    return f"{value:,.2f} {asset}"


def summary_rows(comparison: Comparison, asset: str) -> list[tuple[str, list[str]]]:
    """Return the summary table: (label, one cell per mode), amounts with their unit."""
    results = comparison.results
    rows: list[tuple[str, list[str]]] = [
        (f"start equity ({asset})", [_money(r.start_equity, asset) for r in results.values()]),
        (f"final equity ({asset})", [_money(r.final_equity, asset) for r in results.values()]),
        (f"PnL ({asset}, + profit)", [f"{r.pnl:+,.2f} {asset}" for r in results.values()]),
        (f"fees paid ({asset})", [_money(r.fees, asset) for r in results.values()]),
        (f"funding ({asset}, + received)", [f"{r.funding:+,.2f} {asset}" for r in results.values()]),
        ("max drawdown", [f"{r.max_drawdown * 100:.2f} %" for r in results.values()]),
        (
            "liquidations",
            [
                "<br>".join(
                    f"{escape(x.symbol)} {x.side} {x.time[:16].replace('T', ' ')} UTC, "
                    f"loss {_money(x.loss, asset)}"
                    for x in r.liquidations
                )
                or "none"
                for r in results.values()
            ],
        ),
        ("closest call", [closest_text(comparison.outcomes.get(m, ())) for m in results]),
    ]
    return rows


def render_html(comparison: Comparison, *, title: str, notes: Sequence[str] = (), asset: str = "USDT") -> str:
    """Return the report as one HTML document (works offline: plotly.js is inlined).

    ``asset`` is the settlement asset every amount is in (the equity axis is labelled with it). The
    dashboard's replay page shows the same :func:`summary_html` and :func:`comparison_figure`.
    """
    return _document(
        title, summary_html(comparison, notes=notes, asset=asset), comparison_figure(comparison, asset)
    )


def _document(title: str, text_html: str, figure: go.Figure) -> str:
    """Return one offline HTML document: the title, the (escaped) text part, the figure with plotly.js."""
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h2>{escape(title)}</h2>{text_html}"
        f"{figure.to_html(include_plotlyjs=True, full_html=False)}</body></html>"
    )


def _summary_table(columns: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]]) -> str:
    """Return the summary table: one column per mode, a row per figure (cells already escaped HTML)."""
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        f"<tr><td>{escape(label)}</td>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"
        for label, cells in rows
    )
    return f"<table class='summary'><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>"


def summary_html(comparison: Comparison, *, notes: Sequence[str] = (), asset: str = "USDT") -> str:
    """Return the report's text part as an HTML fragment: summary table, verdicts, warnings, data notes.

    Every value is escaped here; the fragment is safe to insert into a page as it is.
    """
    verdicts = "".join(f"<li>{escape(v)}</li>" for v in comparison.verdicts.values())
    warnings = "".join(f"<li><b>warning:</b> {escape(w)}</li>" for w in comparison.warnings)
    note_items = "".join(f"<li>{escape(n)}</li>" for n in (*comparison.notes, *notes))
    return (
        f"{_summary_table(list(comparison.results), summary_rows(comparison, asset))}"
        f"<p class='def'>{escape(CLOSEST_CALL_DEFINITION)}. Amounts in {escape(asset)}; "
        "times in UTC. Prices: Binance market data where the data is bundled.</p>"
        f"<ul>{warnings}{verdicts}</ul>"
        f"<details class='notes'><summary>data notes ({len(notes) + len(comparison.notes)})</summary>"
        f"<ul>{note_items}</ul></details>"
    )


def comparison_figure(comparison: Comparison, asset: str) -> go.Figure:
    """Return the report's figure: one column per mode; price, equity and worst margin ratio rows.

    The one chart code path: the offline report inlines it with plotly.js, the dashboard's replay page
    draws its JSON (:meth:`plotly.graph_objects.Figure.to_json`) with the bundle the package serves.
    """
    bars = comparison.bars
    modes = list(comparison.results)
    symbols = [s for s in bars.symbols if _held(comparison, s)] or list(bars.symbols)
    step = max(1, len(bars) // MAX_POINTS)
    idx = np.arange(0, len(bars), step)
    x = bars.times[idx].astype("datetime64[ms]").astype(object)
    rows, cols = len(symbols) + 2, len(modes)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        shared_xaxes=True,
        shared_yaxes=True,
        vertical_spacing=0.04,
        horizontal_spacing=0.02,
        column_titles=modes,
    )
    shown: set[str] = set()

    def legend(name: str) -> bool:
        first = name not in shown
        shown.add(name)
        return first

    for row, symbol in enumerate(symbols, start=1):
        mark = bars.mark[symbol]
        lo, hi = float(np.min(mark[:, LOW])), float(np.max(mark[:, HIGH]))
        span = (lo * 0.5, hi * 1.5)  # liquidation prices further out than this would flatten the chart
        for col, (mode, result) in enumerate(comparison.results.items(), start=1):
            color = COLORS.get(mode, "#999")
            fig.add_trace(
                go.Scattergl(
                    x=x,
                    y=mark[idx, CLOSE],
                    name="mark price (close)",
                    line={"color": "#555", "width": 1},
                    legendgroup="mark",
                    showlegend=legend("mark price (close)"),
                ),
                row=row,
                col=col,
            )
            for label, series in result.liquidation_prices.items():
                if not label.startswith(f"{symbol} "):
                    continue
                values = _floats(series)[idx]
                inside = values[np.isfinite(values) & (values > span[0]) & (values < span[1])]
                if inside.size:
                    lo, hi = min(lo, float(inside.min())), max(hi, float(inside.max()))
                name = f"{mode}: liquidation price"
                fig.add_trace(
                    go.Scattergl(
                        x=x,
                        y=np.where((values > span[0]) & (values < span[1]), values, np.nan),
                        name=name,
                        text=label,
                        line={"color": color, "dash": "dash", "width": 1},
                        legendgroup=mode,
                        showlegend=legend(name),
                        hovertemplate=f"{label} liq. price %{{y:,.6g}}<extra>{mode}</extra>",
                    ),
                    row=row,
                    col=col,
                )
            hits = [liq for liq in result.liquidations if liq.symbol == symbol]
            if hits:
                name = f"{mode}: liquidation"
                fig.add_trace(
                    go.Scatter(
                        x=[bars.times[h.bar].astype("datetime64[ms]").astype(object) for h in hits],
                        y=[float(h.mark) for h in hits],
                        mode="markers",
                        name=name,
                        marker={"color": color, "symbol": "x", "size": 12, "line": {"width": 2}},
                        text=[f"{h.symbol} {h.side} liquidated, loss {h.loss:,.2f} {asset}" for h in hits],
                        hoverinfo="text+x",
                        legendgroup=mode,
                        showlegend=legend(name),
                    ),
                    row=row,
                    col=col,
                )
        pad = (hi - lo) * 0.05 or hi * 0.01
        fig.update_yaxes(range=[lo - pad, hi + pad], row=row, col=1)
        base = symbol.removesuffix(asset) or symbol
        fig.update_yaxes(title_text=f"{symbol}<br>{asset} per {base}", row=row, col=1)
    for col, (mode, result) in enumerate(comparison.results.items(), start=1):
        color = COLORS.get(mode, "#999")
        for offset, values, name in (
            (2, _floats(result.equity)[idx], f"{mode}: equity"),
            (1, _floats(result.margin_ratio)[idx] * 100, f"{mode}: worst margin ratio"),
        ):
            fig.add_trace(
                go.Scattergl(
                    x=x,
                    y=values,
                    name=name,
                    line={"color": color},
                    legendgroup=mode,
                    showlegend=legend(name),
                ),
                row=rows - offset + 1,
                col=col,
            )
        fig.add_hline(y=100, line={"color": "black", "dash": "dot", "width": 1}, row=rows, col=col)
        fig.update_xaxes(title_text="time (UTC)", row=rows, col=col)
    # explicit ranges: plotly.js autoranges matched WebGL axes badly (seen in headless Chromium)
    top = max((float(max(r.equity, default=0)) for r in comparison.results.values()), default=0.0)
    fig.update_yaxes(title_text=f"equity ({asset})", range=[0, top * 1.05 or 1], row=rows - 1, col=1)
    ratio = max((float(max(r.margin_ratio, default=0)) for r in comparison.results.values()), default=0.0)
    fig.update_yaxes(
        title_text="worst margin ratio (%)<br>100 % = liquidation",
        range=[0, min(max(ratio * 100, 100) * 1.1, 200)],
        row=rows,
        col=1,
    )
    fig.update_layout(
        height=260 * rows + 120,
        template="plotly_white",
        hovermode="x unified",
        margin={"t": 60, "l": 90},
        legend={"orientation": "h", "y": -0.06},
    )
    return fig


def _held(comparison: Comparison, symbol: str) -> bool:
    return any(
        label.startswith(f"{symbol} ")
        for result in comparison.results.values()
        for label in result.liquidation_prices
    )


# ---------------------------------------------------------------------------------------------- risk
class PositionOdds(Protocol):
    """What :func:`risk_figure` reads of one position's risk (``marginlab.app.risk.PositionRisk``)."""

    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> str: ...
    @property
    def p_liquidation(self) -> float: ...
    @property
    def ci(self) -> tuple[float, float]: ...


class ModeOdds(Protocol):
    """What :func:`risk_figure` reads of one mode's risk (``marginlab.app.risk.ModeRisk``).

    A protocol, not the use case's class: this layer sits below the use cases (``app``).
    """

    @property
    def positions(self) -> Sequence[PositionOdds]: ...
    @property
    def start_equity(self) -> float: ...
    @property
    def p_any_liquidation(self) -> float: ...
    @property
    def ci_any_liquidation(self) -> tuple[float, float]: ...
    @property
    def p_wipeout(self) -> float: ...
    @property
    def ci_wipeout(self) -> tuple[float, float]: ...
    @property
    def expected_loss(self) -> float: ...
    @property
    def es95(self) -> float: ...
    @property
    def es99(self) -> float: ...


def _position_labels(modes: Mapping[str, ModeOdds]) -> list[str]:
    """Return every position's "SYMBOL side" label over all modes, first seen first."""
    return list(dict.fromkeys(label for mode in modes.values() for label in _by_label(mode)))


def _by_label(mode: ModeOdds) -> dict[str, PositionOdds]:
    """Return a mode's positions by their "SYMBOL side" label."""
    return {f"{p.symbol} {p.side}": p for p in mode.positions}


def risk_figure(modes: Mapping[str, ModeOdds], asset: str) -> go.Figure:
    """Return the Monte Carlo risk figure: liquidation odds and losses per margin mode, side by side.

    Left, the chance (%) of any liquidation, of a wipe-out and of each position's liquidation, with the
    Wilson 95 % interval as error bars; right, the expected loss and the expected shortfalls (ES 95 %,
    ES 99 %: the mean loss of the worst 5 % / 1 % of paths) in ``asset``. One bar colour per mode, the
    replay figure's. The one chart code path for risk: the dashboard's replay & risk page draws its JSON,
    and an offline report would inline it like :func:`comparison_figure`.
    """
    labels = _position_labels(modes)
    odds_x = ["any liquidation", "wipe-out", *(f"{label} liquidated" for label in labels)]
    loss_x = ["expected loss", "ES 95 %", "ES 99 %"]
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.6, 0.4],
        horizontal_spacing=0.12,
        subplot_titles=[
            "chance of liquidation (%; whiskers: 95 % interval)",
            f"loss over the horizon ({asset})",
        ],
    )
    for name, mode in modes.items():
        color = COLORS.get(name, "#999")
        odds: list[tuple[float | None, tuple[float, float]]] = [
            (mode.p_any_liquidation, mode.ci_any_liquidation),
            (mode.p_wipeout, mode.ci_wipeout),
        ]
        held = _by_label(mode)
        for label in labels:
            one = held.get(label)
            odds.append((None, (0.0, 0.0)) if one is None else (one.p_liquidation, one.ci))
        y = [None if v is None else v * 100 for v, _ in odds]
        fig.add_trace(
            go.Bar(
                x=odds_x,
                y=y,
                name=name,
                marker={"color": color},
                legendgroup=name,
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [None if v is None else (hi - v) * 100 for v, (_, hi) in odds],
                    "arrayminus": [None if v is None else (v - lo) * 100 for v, (lo, _) in odds],
                    "color": "#444",
                    "thickness": 1,
                },
                hovertemplate="%{x}: %{y:.2f} %<extra>" + name + "</extra>",
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Bar(
                x=loss_x,
                y=[mode.expected_loss, mode.es95, mode.es99],
                name=name,
                marker={"color": color},
                legendgroup=name,
                showlegend=False,
                hovertemplate="%{x}: %{y:,.2f} " + asset + "<extra>" + name + "</extra>",
            ),
            row=1,
            col=2,
        )
    top = max((max(m.ci_any_liquidation[1], m.ci_wipeout[1]) for m in modes.values()), default=0.0)
    top = max([top, *(p.ci[1] for m in modes.values() for p in m.positions)])
    # explicit range: a book no path liquidates still gets a readable 0-1 % axis, not a flat line at 0
    fig.update_yaxes(range=[0, min(100.0, max(top * 100 * 1.1, 1.0))], ticksuffix=" %", row=1, col=1)
    fig.update_yaxes(tickformat=",.0f", zeroline=True, row=1, col=2)
    fig.update_layout(
        barmode="group",
        height=420,
        template="plotly_white",
        margin={"t": 60, "l": 70},
        legend={"orientation": "h", "y": -0.18, "title": {"text": "margin mode"}},
    )
    return fig


def _chance(p: float, ci: tuple[float, float]) -> str:
    return f"{p * 100:.2f} % <span class='ci'>({ci[0] * 100:.2f}–{ci[1] * 100:.2f})</span>"


def risk_summary_html(modes: Mapping[str, ModeOdds], *, asset: str, notes: Sequence[str] = ()) -> str:
    """Return the risk report's text part as an HTML fragment: one column per mode, then the notes.

    Rows: start equity, the chance of any liquidation, of a wipe-out and of each position's liquidation
    (with the Wilson 95 % interval), the expected loss and the expected shortfalls, in ``asset``. Every value
    is escaped here.
    """
    labels = _position_labels(modes)
    rows: list[tuple[str, list[str]]] = [
        ("start equity", [f"{m.start_equity:,.2f}" for m in modes.values()]),
        (
            "chance of any liquidation",
            [_chance(m.p_any_liquidation, m.ci_any_liquidation) for m in modes.values()],
        ),
        ("chance of a wipe-out", [_chance(m.p_wipeout, m.ci_wipeout) for m in modes.values()]),
    ]
    for label in labels:
        cells = []
        for mode in modes.values():
            one = _by_label(mode).get(label)
            cells.append("–" if one is None else _chance(one.p_liquidation, one.ci))
        rows.append((f"{label} liquidated", cells))
    rows += [
        ("expected loss", [f"{m.expected_loss:,.2f}" for m in modes.values()]),
        ("ES 95 % (mean of the worst 5 %)", [f"{m.es95:,.2f}" for m in modes.values()]),
        ("ES 99 % (mean of the worst 1 %)", [f"{m.es99:,.2f}" for m in modes.values()]),
    ]
    note_items = "".join(f"<li>{escape(n)}</li>" for n in notes)
    return (
        f"{_summary_table(list(modes), rows)}"
        f"<p class='def'>Amounts in {escape(asset)}; a loss is money lost (negative: a gain). Chances are "
        "the share of simulated paths, with the Wilson 95 % interval in brackets; a wipe-out is final "
        "equity at most 10 % of the start.</p>"
        f"<details class='notes'><summary>notes ({len(notes)})</summary><ul>{note_items}</ul></details>"
    )


def render_risk_html(
    modes: Mapping[str, ModeOdds], *, title: str, asset: str, notes: Sequence[str] = ()
) -> str:
    """Return the Monte Carlo risk report as one HTML document (works offline: plotly.js is inlined).

    The same table and :func:`risk_figure` as the dashboard's replay & risk page draws.
    """
    return _document(title, risk_summary_html(modes, asset=asset, notes=notes), risk_figure(modes, asset))
