"""Bundled normal-market history: the trailing 90 days of hourly Binance candles of six perpetuals.

``marginlab risk`` estimates its default volatility and correlation here (a normal market, not a crash
window). Written once by ``tools/build_history.py`` from the shared Binance data; never read from outside
the package at run time. Files under ``marginlab/data/history/``:

* ``binance-usdm-1h.parquet`` — the scenario long format (:mod:`marginlab.io.scenarios`): ``symbol``,
  ``time`` (bar open, UTC), last-price ``open … close`` and real mark-price ``mark_open … mark_close``.
* ``history.json`` — window (``start``, ``end``), symbols and source.

Cite "Binance market data" wherever the prices are shown.
"""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from typing import Any

from marginlab.errors import DataError
from marginlab.io.candles import MarketData, load_table

__all__ = ["HISTORY_NAME", "history_info", "load_history"]

_PACKAGE = "marginlab.data"
_FOLDER = "history"
HISTORY_NAME = "binance-usdm-1h"


def history_info() -> dict[str, Any]:
    """Return ``history.json``: ``start``, ``end`` (ISO 8601 UTC), ``days``, ``symbols``, ``source``."""
    path = resources.files(_PACKAGE) / _FOLDER / "history.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{_PACKAGE}/{_FOLDER}/history.json: cannot read the history index: {exc}") from exc
    if not isinstance(doc, dict) or not {"start", "end", "symbols", "source"} <= doc.keys():
        raise DataError(f"{_PACKAGE}/{_FOLDER}/history.json: missing start, end, symbols or source")
    return doc


def load_history() -> MarketData:
    """Load the bundled hourly history (last and mark candles; no funding) as :class:`MarketData`.

    Raises
    ------
    DataError
        Damaged package data.
    """
    info = history_info()
    res = resources.files(_PACKAGE) / _FOLDER / f"{HISTORY_NAME}.parquet"
    with resources.as_file(res) as path:
        data = load_table(path)
    return replace(
        data,
        notes={"": (f"normal-market history {info['start'][:10]} to {info['end'][:10]} (1h)",)},
        source=f"bundled 1h history ({info['source']})",
    )
