"""Bundled market scenarios: real Binance crash windows (and a calm month) shipped as package data.

Each scenario is two zstd-compressed Parquet files under ``marginlab/data/scenarios/`` plus an entry in
``scenarios.json`` (written once by ``tools/build_scenarios.py`` from the shared Binance data; never read
from outside the package at run time):

* ``{name}.parquet`` — long format, one row per symbol and bar: ``symbol`` (native, ``BTCUSDT``),
  ``time`` (bar open time, UTC), ``open, high, low, close`` (last price, float64, quote per base) and
  ``mark_open, mark_high, mark_low, mark_close`` (mark price; **null where the source has no usable mark**,
  and the loader then uses the last price — ``scenarios.json`` states the substitute per symbol).
* ``{name}.funding.parquet`` — ``symbol, time, rate``: one row per funding event at its own timestamp,
  rate a fraction per event (positive: longs pay shorts).

Cite "Binance market data" wherever the prices are shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Any

import pandas as pd

from marginlab.errors import DataError
from marginlab.io.candles import MarketData, load_table

__all__ = ["DEFAULT_SCENARIO", "ScenarioInfo", "list_scenarios", "load_scenario"]

DEFAULT_SCENARIO = "2025-10-10"  # the latest bundled crash: the data a command uses when given none

_PACKAGE = "marginlab.data"
_FOLDER = "scenarios"
_INDEX = "scenarios.json"


@dataclass(frozen=True, slots=True)
class ScenarioInfo:
    """What a bundled scenario holds.

    Parameters
    ----------
    name : str
        Scenario name (``"2025-10-10"``), as given to :func:`load_scenario`.
    title : str
        One line: what happened.
    description : str
        A few sentences on the event and the data.
    interval : str
        Bar length as a timeframe (``"1h"``, ``"5m"``, ``"1m"``); see :attr:`interval_timedelta`.
    start, end : pandas.Timestamp
        First bar's open time and last bar's close time (UTC; ``end`` exclusive).
    bars : int
        Number of bars per symbol.
    symbols : tuple of str
        Native symbols.
    source : str
        Citation of the data ("Binance market data", folder and original repository).
    mark_source, funding_source : Mapping[str, str]
        Per symbol: where the mark price and the funding events come from, substitutes stated.
    notes : tuple of str
        Caveats that hold for the whole scenario.
    extremes : Mapping[str, Mapping[str, Any]]
        Per symbol: ``low``/``low_time``/``high``/``high_time`` of last price and, where real mark data is
        bundled, ``mark_low``/``mark_low_time`` (prices in quote per base, times ISO 8601 UTC).
    size_bytes : int
        Size of the bundled Parquet files.
    """

    name: str
    title: str
    description: str
    interval: str
    start: pd.Timestamp
    end: pd.Timestamp
    bars: int
    symbols: tuple[str, ...]
    source: str
    mark_source: Mapping[str, str]
    funding_source: Mapping[str, str]
    notes: tuple[str, ...]
    extremes: Mapping[str, Mapping[str, Any]]
    size_bytes: int

    @property
    def interval_timedelta(self) -> pd.Timedelta:
        """Return the bar length as a Timedelta (as :attr:`MarketData.interval`)."""
        return _timedelta(self.interval)


def list_scenarios() -> list[ScenarioInfo]:
    """Return the bundled scenarios, in chronological order of their names."""
    return [_info(entry) for entry in _index()]


def load_scenario(name: str) -> MarketData:
    """Load a bundled scenario.

    Parameters
    ----------
    name : str
        One of the names of :func:`list_scenarios` (e.g. ``"2020-03-12"``, ``"2025-10-10"``, ``"2025-05"``).

    Returns
    -------
    MarketData
        Last and mark OHLC on one index, funding events; ``notes`` per symbol say where the mark price and
        funding come from (and which substitute stands in), plus scenario-wide caveats under the key ``""``.

    Raises
    ------
    DataError
        Unknown name (the message lists the known ones) or damaged package data.
    """
    entries = {e["name"]: e for e in _index()}
    if name not in entries:
        raise DataError(f"unknown scenario {name!r}; known scenarios: {', '.join(entries)}")
    entry = entries[name]
    folder = _folder()
    bars_res, funding_res = folder / entry["files"]["bars"], folder / entry["files"]["funding"]
    with resources.as_file(bars_res) as bars_path, resources.as_file(funding_res) as funding_path:
        data = load_table(bars_path, funding=funding_path)
    info = _info(entry)
    if (
        data.symbols != info.symbols
        or data.interval != info.interval_timedelta
        or data.span != (info.start, info.end)
    ):
        raise DataError(
            f"scenario {name}: package data does not match scenarios.json "
            f"({data.symbols} {data.interval} {data.span} vs {info.symbols} {info.interval_timedelta} "
            f"{(info.start, info.end)})"
        )
    notes: dict[str, tuple[str, ...]] = {"": info.notes}
    for symbol in info.symbols:
        notes[symbol] = (f"mark: {info.mark_source[symbol]}", f"funding: {info.funding_source[symbol]}")
    return replace(data, notes=notes, source=f"scenario {name} ({info.source})")


def _timedelta(timeframe: str) -> pd.Timedelta:
    units = {"m": "min", "h": "h", "d": "D"}
    if len(timeframe) < 2 or timeframe[-1] not in units or not timeframe[:-1].isdigit():
        raise DataError(f"{_PACKAGE}/{_FOLDER}/{_INDEX}: bad interval {timeframe!r}")
    return pd.Timedelta(int(timeframe[:-1]), unit=units[timeframe[-1]])


def _folder() -> Traversable:
    return resources.files(_PACKAGE) / _FOLDER


def _index() -> list[dict[str, Any]]:
    try:
        doc = json.loads((_folder() / _INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{_PACKAGE}/{_FOLDER}/{_INDEX}: cannot read the scenario index: {exc}") from exc
    scenarios = doc.get("scenarios") if isinstance(doc, dict) else None
    if not isinstance(scenarios, list):
        raise DataError(f"{_PACKAGE}/{_FOLDER}/{_INDEX}: no 'scenarios' list")
    return scenarios


def _info(entry: Mapping[str, Any]) -> ScenarioInfo:
    try:
        return ScenarioInfo(
            name=str(entry["name"]),
            title=str(entry["title"]),
            description=str(entry.get("description", "")),
            interval=str(entry["interval"]),
            start=pd.Timestamp(entry["start"]).tz_convert("UTC"),
            end=pd.Timestamp(entry["end"]).tz_convert("UTC"),
            bars=int(entry["bars"]),
            symbols=tuple(entry["symbols"]),
            source=str(entry["source"]),
            mark_source=MappingProxyType(dict(entry["mark_source"])),
            funding_source=MappingProxyType(dict(entry["funding_source"])),
            notes=tuple(entry.get("notes", ())),
            extremes=MappingProxyType(dict(entry.get("extremes", {}))),
            size_bytes=int(entry.get("size_bytes", 0)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{_PACKAGE}/{_FOLDER}/{_INDEX}: bad entry {entry.get('name')!r}: {exc}") from exc
