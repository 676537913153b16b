"""Self-contained offline HTML report of a mode comparison (Plotly, its JavaScript embedded)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from marginlab.analysis.compare import Comparison
from marginlab.io.bars import CLOSE

COLORS = {"cross": "#d62728", "isolated": "#1f77b4", "hybrid": "#2ca02c"}
MAX_POINTS = 20_000  # above this, plot every k-th bar (the liquidation markers stay exact)


def _floats(values: Sequence[Decimal | float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def render_html(comparison: Comparison, *, title: str, notes: Sequence[str] = ()) -> str:
    """Return the report as one HTML document (works offline: plotly.js is inlined).

    Rows: one price panel per symbol (mark close, each mode's liquidation-price lines and liquidation
    markers), then equity per mode, then the worst margin ratio per mode (100 % = liquidation).
    """
    bars = comparison.bars
    symbols = [s for s in bars.symbols if _held(comparison, s)] or list(bars.symbols)
    step = max(1, len(bars) // MAX_POINTS)
    idx = np.arange(0, len(bars), step)
    x = bars.times[idx].astype("datetime64[ms]").astype(object)
    rows = len(symbols) + 2
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.03,
        subplot_titles=[f"{s} mark price and liquidation prices" for s in symbols]
        + ["equity (settlement asset)", "worst margin ratio (100 % = liquidation)"],
    )
    for row, symbol in enumerate(symbols, start=1):
        fig.add_trace(
            go.Scattergl(
                x=x,
                y=bars.mark[symbol][idx, CLOSE],
                name=f"{symbol} mark",
                line={"color": "#555", "width": 1},
                legendgroup="prices",
            ),
            row=row,
            col=1,
        )
        for mode, result in comparison.results.items():
            for label, series in result.liquidation_prices.items():
                if not label.startswith(f"{symbol} "):
                    continue
                fig.add_trace(
                    go.Scattergl(
                        x=x,
                        y=_floats(series)[idx],
                        name=f"{mode}: {label} liq. price",
                        line={"color": COLORS.get(mode, "#999"), "dash": "dash", "width": 1},
                        legendgroup=mode,
                    ),
                    row=row,
                    col=1,
                )
            hits = [liq for liq in result.liquidations if liq.symbol == symbol]
            if hits:
                fig.add_trace(
                    go.Scatter(
                        x=[bars.times[h.bar].astype("datetime64[ms]").astype(object) for h in hits],
                        y=[float(h.mark) for h in hits],
                        mode="markers",
                        name=f"{mode}: liquidations",
                        marker={"color": COLORS.get(mode, "#999"), "symbol": "x", "size": 12},
                        text=[f"{mode}: {h.symbol} {h.side} liquidated, loss {h.loss:,.2f}" for h in hits],
                        hoverinfo="text+x",
                        legendgroup=mode,
                    ),
                    row=row,
                    col=1,
                )
    for mode, result in comparison.results.items():
        color = COLORS.get(mode, "#999")
        fig.add_trace(
            go.Scattergl(
                x=x,
                y=_floats(result.equity)[idx],
                name=f"{mode}: equity",
                line={"color": color},
                legendgroup=mode,
            ),
            row=rows - 1,
            col=1,
        )
        fig.add_trace(
            go.Scattergl(
                x=x,
                y=_floats(result.margin_ratio)[idx] * 100,
                name=f"{mode}: margin ratio %",
                line={"color": color},
                legendgroup=mode,
            ),
            row=rows,
            col=1,
        )
    fig.add_hline(y=100, line={"color": "black", "dash": "dot", "width": 1}, row=rows, col=1)
    fig.update_layout(
        height=300 * rows + 60,
        template="plotly_white",
        hovermode="x unified",
        margin={"t": 40},
    )
    verdicts = "".join(f"<li>{escape(v)}</li>" for v in comparison.verdicts.values())
    note_items = "".join(f"<li>{escape(n)}</li>" for n in notes)
    figure = fig.to_html(include_plotlyjs=True, full_html=False)
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}"
        "li{margin:.2em 0}.notes{font-size:.8em;color:#666}</style></head><body>"
        f"<h2>{escape(title)}</h2><ul>{verdicts}</ul>"
        f"<details class='notes'><summary>data notes ({len(notes)})</summary><ul>{note_items}</ul></details>"
        f"{figure}</body></html>"
    )


def _held(comparison: Comparison, symbol: str) -> bool:
    return any(
        label.startswith(f"{symbol} ")
        for result in comparison.results.values()
        for label in result.liquidation_prices
    )
