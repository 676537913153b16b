"""Market data for replay: OHLCV candles, mark-price candles and funding events, validated on load.

Readers for what traders already have, built on pandas/pyarrow (no hand-written parsers):

* :func:`load_freqtrade_dir` — a freqtrade data directory: ``{BASE}_{QUOTE}_{SETTLE}-{tf}-futures.feather``
  (last-price candles of the perpetual), ``…-{tf}-mark.feather`` (mark-price candles) and
  ``…-{tf}-funding_rate.feather`` (one row per funding event, the rate in ``open``); ``.parquet``,
  ``.json`` and ``.json.gz`` variants and spot files ``{BASE}_{QUOTE}-{tf}.feather`` are read too.
* :func:`load_table` — a Parquet or CSV OHLCV table, one symbol or several (long format, ``symbol``
  column), with optional ``mark_open … mark_close`` columns and an optional funding table.

Both return a :class:`MarketData`: per native symbol (``BTCUSDT``) last-price and mark-price OHLC on one
common index of bar open times (``datetime64[ns, UTC]``), funding events, the gaps found and a note for
every substitution (e.g. "mark = last price"). Prices are float64 in quote currency per unit of base
asset; funding rates are fractions per funding event (``0.0001`` = 0.01 %, positive: longs pay shorts).

Validation (a :class:`~marginlab.errors.DataError` naming the file, the row — 0-based data row of the
file, header excluded — and its timestamp): timestamps parse and are ascending without duplicates; prices
are finite and positive; ``high >= max(open, close)`` and ``low <= min(open, close)``; bar spacing is a
multiple of the interval. Missing bars are not errors: they are listed in :attr:`MarketData.gaps` and
announced with a :class:`DataGapWarning`.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from marginlab.errors import DataError, shown

__all__ = [
    "DataGapWarning",
    "Gap",
    "MarketData",
    "TimeLike",
    "load_freqtrade_dir",
    "load_table",
    "native_symbol",
]

TimeLike: TypeAlias = str | datetime | pd.Timestamp | np.datetime64
"""An instant: ISO 8601 string, datetime, Timestamp or datetime64 (UTC when no zone is given)."""

PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
MARK_COLUMNS: tuple[str, ...] = ("mark_open", "mark_high", "mark_low", "mark_close")
TIME_COLUMNS: tuple[str, ...] = ("date", "timestamp", "time", "open_time", "datetime")
RATE_COLUMNS: tuple[str, ...] = ("rate", "funding_rate", "open")
SUFFIXES: tuple[str, ...] = (".feather", ".parquet", ".pq", ".csv", ".json.gz", ".json")

_FREQTRADE_FILE = re.compile(
    r"^(?P<base>[A-Za-z0-9]+)_(?P<quote>[A-Za-z0-9]+)(?:_(?P<settle>[A-Za-z0-9]+))?"
    r"-(?P<tf>\d+[smhdw])(?:-(?P<kind>futures|mark|funding_rate))?"
    r"(?P<suffix>\.feather|\.parquet|\.json\.gz|\.json)$"
)
_TF_UNITS = {"s": "s", "m": "min", "h": "h", "d": "D", "w": "W"}


class DataGapWarning(UserWarning):
    """Bars are missing in a data file (reported, not an error; the gaps are listed on the result)."""


@dataclass(frozen=True, slots=True)
class Gap:
    """A run of missing bars in one source file.

    Parameters
    ----------
    symbol : str
        Native symbol (``BTCUSDT``).
    source : str
        The file the gap was found in.
    start : pandas.Timestamp
        Open time of the first missing bar (UTC).
    end : pandas.Timestamp
        Open time of the next bar present (UTC, exclusive end of the gap).
    missing : int
        Number of missing bars.
    """

    symbol: str
    source: str
    start: pd.Timestamp
    end: pd.Timestamp
    missing: int

    def __str__(self) -> str:
        return f"{self.symbol}: {self.missing} bar(s) missing from {_iso(self.start)} to {_iso(self.end)}"


@dataclass(frozen=True, eq=False)
class MarketData:
    """Candles and funding of several symbols on one common index of bar open times.

    Treat the frames as read-only. Build one with :func:`load_freqtrade_dir`, :func:`load_table` or
    :func:`marginlab.io.scenarios.load_scenario`.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Bar open times, ``datetime64[ns, UTC]``, strictly ascending; bar ``i`` covers
        ``[index[i], index[i] + interval)``. Missing bars (gaps) are simply absent.
    interval : pandas.Timedelta
        Bar length.
    last : Mapping[str, pandas.DataFrame]
        Per native symbol, last-price candles: columns ``open, high, low, close`` (float64, quote per
        base), indexed by ``index``.
    mark : Mapping[str, pandas.DataFrame]
        Per symbol, mark-price candles with the same columns and index. Where the source has no usable
        mark price, a substitute (normally the last-price candles) stands in and :attr:`notes` says so.
    funding : Mapping[str, pandas.DataFrame]
        Per symbol, funding events: index ``time`` (UTC, the event's own timestamp), column ``rate``
        (fraction per event; positive: longs pay shorts). Empty when the source has none (see notes).
    notes : Mapping[str, tuple[str, ...]]
        Per symbol, every substitution and caveat of the data, one sentence each; key ``""`` holds notes
        on the data as a whole.
    gaps : tuple[Gap, ...]
        Missing bars found in the source files.
    source : str
        Where the data came from (directory, file or scenario name).
    substituted : Mapping[str, numpy.ndarray of bool]
        Per symbol, the bars whose mark price is missing in the source and replaced by the last price.
        Notes about it are computed for the bars held (:meth:`all_notes`), so a slice reports its window.
    dropped : Mapping[str, pandas.DatetimeIndex]
        Per symbol, bar open times of its own file dropped because another symbol lacks them.
    """

    index: pd.DatetimeIndex
    interval: pd.Timedelta
    last: Mapping[str, pd.DataFrame]
    mark: Mapping[str, pd.DataFrame]
    funding: Mapping[str, pd.DataFrame]
    notes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    gaps: tuple[Gap, ...] = ()
    source: str = ""
    substituted: Mapping[str, npt.NDArray[np.bool_]] = field(default_factory=dict)
    dropped: Mapping[str, pd.DatetimeIndex] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.index, pd.DatetimeIndex) or str(self.index.dtype) != "datetime64[ns, UTC]":
            raise DataError(
                f"{self.source}: the bar index must be datetime64[ns, UTC], was {self.index.dtype}"
            )
        if len(self.index) == 0:
            raise DataError(f"{self.source}: no bars")
        if not self.index.is_monotonic_increasing or not self.index.is_unique:
            raise DataError(f"{self.source}: the bar index must be strictly ascending")
        if self.interval <= pd.Timedelta(0):
            raise DataError(f"{self.source}: the bar interval must be positive, was {self.interval}")
        if not self.last:
            raise DataError(f"{self.source}: no symbols")
        for name, table in (("last", self.last), ("mark", self.mark)):
            if set(table) != set(self.last):
                raise DataError(
                    f"{self.source}: {name} symbols {sorted(table)} differ from {sorted(self.last)}"
                )
            for symbol, frame in table.items():
                if list(frame.columns) != list(PRICE_COLUMNS) or not frame.index.equals(self.index):
                    raise DataError(f"{self.source}: {name} candles of {symbol} are not aligned on the index")
        for attr in ("last", "mark", "funding", "notes"):
            object.__setattr__(self, attr, MappingProxyType(dict(getattr(self, attr))))
        missing = [s for s in self.last if s not in self.funding]
        if missing:
            funding = dict(self.funding)
            funding.update({s: _empty_funding() for s in missing})
            object.__setattr__(self, "funding", MappingProxyType(funding))

    # -- shape -----------------------------------------------------------------------------------------

    @property
    def symbols(self) -> tuple[str, ...]:
        """Return the native symbols, in order."""
        return tuple(self.last)

    @property
    def span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """Return ``(start, end)``: the first bar's open time and the last bar's close time (exclusive)."""
        return self.index[0], self.index[-1] + self.interval

    @property
    def times(self) -> npt.NDArray[np.datetime64]:
        """Return the bar open times as ``datetime64[ns]`` (UTC, zone dropped) for array code."""
        out: npt.NDArray[np.datetime64] = self.index.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        return out

    def __len__(self) -> int:
        """Return the number of bars."""
        return len(self.index)

    # -- views -----------------------------------------------------------------------------------------

    def frame(self, symbol: str) -> pd.DataFrame:
        """Return one symbol's bars: ``open … close``, ``mark_open … mark_close`` and ``funding_rate``.

        ``funding_rate`` is the sum of the funding events settled in each bar (0.0 where none).
        """
        symbol = self._check_symbol(symbol)
        mark = self.mark[symbol].set_axis(list(MARK_COLUMNS), axis=1)
        out = pd.concat([self.last[symbol], mark], axis=1)
        out["funding_rate"] = self.funding_per_bar(symbol)
        return out

    def ohlc(self, symbol: str, price: Literal["last", "mark"] = "last") -> npt.NDArray[np.float64]:
        """Return an ``(n, 4)`` float64 array of open, high, low, close (quote per base) of one symbol."""
        symbol = self._check_symbol(symbol)
        table = self.last if price == "last" else self.mark
        return np.ascontiguousarray(table[symbol].to_numpy(dtype=np.float64))

    def field(self, name: str) -> pd.DataFrame:
        """Return one field for all symbols as a bars × symbols frame.

        ``name`` is ``open``, ``high``, ``low``, ``close`` (last price), ``mark_open`` … ``mark_close``, or
        ``funding_rate`` (per bar, as in :meth:`frame`).
        """
        if name in PRICE_COLUMNS:
            cols = {s: self.last[s][name] for s in self.symbols}
        elif name in MARK_COLUMNS:
            cols = {s: self.mark[s][name.removeprefix("mark_")] for s in self.symbols}
        elif name == "funding_rate":
            cols = {s: pd.Series(self.funding_per_bar(s), index=self.index) for s in self.symbols}
        else:
            known = ", ".join((*PRICE_COLUMNS, *MARK_COLUMNS, "funding_rate"))
            raise DataError(f"unknown field {name!r}; known: {known}")
        return pd.DataFrame(cols, index=self.index)

    def funding_per_bar(self, symbol: str) -> npt.NDArray[np.float64]:
        """Return, per bar, the sum of the funding rates (fractions) of the events in that bar.

        An event at time ``t`` belongs to bar ``i`` when ``index[i] <= t < index[i] + interval``; events in
        a gap or outside the span belong to no bar and are left out.
        """
        symbol = self._check_symbol(symbol)
        out = np.zeros(len(self.index), dtype=np.float64)
        events = self.funding[symbol]
        if events.empty:
            return out
        stamps = events.index.asi8
        starts = self.index.asi8
        pos = np.searchsorted(starts, stamps, side="right") - 1
        inside = (pos >= 0) & (stamps < starts[np.clip(pos, 0, None)] + self.interval.value)
        np.add.at(out, pos[inside], events["rate"].to_numpy(dtype=np.float64)[inside])
        return out

    def all_notes(self) -> tuple[str, ...]:
        """Return every note: data-wide notes (key ``""``) first, then ``"SYMBOL: sentence"`` in order.

        Notes on substituted mark prices, dropped bars and gaps describe the bars held (after
        :meth:`slice`, the window), not the whole source file.
        """
        general = tuple(self.notes.get("", ()))
        out = list(general)
        for s in self.symbols:
            out.extend(f"{s}: {n}" for n in self.notes.get(s, ()))
            out.extend(f"{s}: {n}" for n in self._window_notes(s))
        return tuple(out)

    def _window_notes(self, symbol: str) -> list[str]:
        notes = []
        mask = self.substituted.get(symbol)
        if mask is not None and mask.any():
            times = self.index[mask]
            notes.append(
                f"mark price missing for {int(mask.sum())} of {len(mask)} bars (first {_iso(times[0])}, "
                f"last {_iso(times[-1])}); last price used there"
            )
        dropped = self.dropped.get(symbol)
        if dropped is not None and len(dropped):
            notes.append(
                f"{len(dropped)} bar(s) dropped: the other symbols lack them "
                f"(first {_iso(dropped[0])}, last {_iso(dropped[-1])})"
            )
        gaps = [g for g in self.gaps if g.symbol == symbol]
        if gaps:
            missing = sum(g.missing for g in gaps)
            notes.append(f"{missing} bar(s) missing in {len(gaps)} gap(s), first from {_iso(gaps[0].start)}")
        return notes

    def slice(self, start: TimeLike | None = None, end: TimeLike | None = None) -> MarketData:
        """Return the bars with ``start <= open time < end`` (UTC when no zone is given).

        Funding events and gaps are cut to the same window. Raises DataError when no bar is left.
        """
        lo = self.index[0] if start is None else _utc(start, "start")
        hi = self.span[1] if end is None else _utc(end, "end")
        keep = (self.index >= lo) & (self.index < hi)
        if not keep.any():
            raise DataError(
                f"{self.source}: no bars in [{_iso(lo)}, {_iso(hi)}); data spans "
                f"{_iso(self.span[0])} to {_iso(self.span[1])}"
            )
        index = self.index[keep]
        funding = {s: f[(f.index >= lo) & (f.index < hi)] for s, f in self.funding.items()}
        gaps = tuple(g for g in self.gaps if g.end > lo and g.start < hi)
        return replace(
            self,
            index=index,
            last={s: f.loc[index] for s, f in self.last.items()},
            mark={s: f.loc[index] for s, f in self.mark.items()},
            funding=funding,
            gaps=gaps,
            substituted={s: m[keep] for s, m in self.substituted.items()},
            dropped={s: d[(d >= lo) & (d < hi)] for s, d in self.dropped.items()},
        )

    def _check_symbol(self, symbol: str) -> str:
        native = native_symbol(symbol)
        if native not in self.last:
            raise DataError(f"{self.source}: no data for symbol {symbol!r}; known: {', '.join(self.symbols)}")
        return native


# -- public loaders ------------------------------------------------------------------------------------


def load_freqtrade_dir(
    directory: str | Path, symbols: Iterable[str] | None = None, *, timeframe: str | None = None
) -> MarketData:
    """Load a freqtrade data directory (Binance USDⓈ-M layout) into a :class:`MarketData`.

    Parameters
    ----------
    directory : str or Path
        Folder with ``{BASE}_{QUOTE}_{SETTLE}-{tf}-futures.feather`` (last price), ``-{tf}-mark.feather``
        (mark price; optional, any timeframe) and ``-{tf}-funding_rate.feather`` (funding events, rate
        in ``open``; optional). Spot files ``{BASE}_{QUOTE}-{tf}.feather`` are used for symbols without a
        futures file (mark = spot price, noted). ``.parquet``/``.json``/``.json.gz`` work as well.
    symbols : iterable of str, optional
        Symbols to load, native (``BTCUSDT``) or ccxt (``BTC/USDT:USDT``); default: all in the folder.
    timeframe : str, optional
        Candle timeframe such as ``"5m"`` or ``"1h"``; required when the folder holds several.

    Returns
    -------
    MarketData
        Symbols aligned on the timestamps common to all of them (bars present for only some symbols
        are dropped and noted). Mark candles: the real mark where it exists at the candle timeframe (or
        finer, aggregated); coarser or missing mark is replaced by the last-price candles, and noted.

    Raises
    ------
    DataError
        Missing folder, unknown symbol, ambiguous timeframe, or a file that is unreadable or fails
        validation (the message names the file, the row and its timestamp).
    """
    root, found = find_freqtrade_dir(directory)
    catalog = _scan_freqtrade(root)
    if not catalog:
        raise DataError(f"{root}: no freqtrade candle files (expected e.g. BTC_USDT_USDT-1h-futures.feather)")
    chosen = _choose_symbols(root, catalog, symbols)
    tf = _choose_timeframe(root, catalog, chosen, timeframe)
    interval = _timeframe_delta(tf)
    parts: dict[str, _SymbolData] = {}
    for symbol in chosen:
        files = catalog[symbol]
        candle = files.get(("futures", tf)) or files.get(("spot", tf))
        if candle is None:
            raise DataError(f"{root}: no {tf} candles for {symbol}")
        parts[symbol] = _freqtrade_symbol(symbol, files, candle, tf, interval)
    data = _assemble(parts, interval, str(root))
    if found:
        data = replace(data, notes={**data.notes, "": (*data.notes.get("", ()), found)})
    return data


LAYOUTS: tuple[str, ...] = (
    "futures",
    "binance/futures",
    "data/binance/futures",
    "user_data/data/binance/futures",
    "binance",
    "data/binance",
    "user_data/data/binance",
)
"""Where freqtrade keeps Binance candles below a folder (the futures layout first)."""


def find_freqtrade_dir(path: str | Path) -> tuple[Path, str | None]:
    """Return the folder holding freqtrade candle files for ``path``, and a note when it was looked up.

    ``path`` may be the candle folder itself; a freqtrade root or ``user_data`` folder (the standard
    layout ``user_data/data/binance/futures/`` is searched, see :data:`LAYOUTS`); a freqtrade
    ``config.json`` (its ``datadir``, default ``user_data/data/<exchange>``, relative to the config's
    folder or its parent, plus ``futures/`` when ``trading_mode`` is futures); or a folder holding a
    ``config.json``.

    Raises
    ------
    DataError
        When no candle files are found; the message lists the places tried.
    """
    start = Path(path)
    if start.is_file() and start.suffix == ".json":
        return _from_config(start)
    if not start.is_dir():
        raise DataError(f"{start}: not a directory (nor a freqtrade config.json)")
    if _has_candles(start):
        return start, None
    tried = [start]
    for layout in LAYOUTS:
        candidate = start / layout
        tried.append(candidate)
        if _has_candles(candidate):
            return candidate, f"freqtrade data found in {candidate}"
    config = start / "config.json"
    if config.is_file():
        return _from_config(config)
    others = sorted(p for p in start.glob("user_data/data/*/futures") if _has_candles(p))
    if others:
        return others[0], f"freqtrade data found in {others[0]}"
    raise DataError(
        f"{start}: no freqtrade candle files (e.g. BTC_USDT_USDT-1h-futures.feather); looked in "
        + ", ".join(str(t) for t in tried)
    )


def _from_config(config: Path) -> tuple[Path, str]:
    try:
        doc = json.loads(config.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else shown(str(exc), 120).strip("'")
        raise DataError(f"{config}: cannot read the freqtrade config ({why})") from None
    if not isinstance(doc, dict):
        raise DataError(f"{config}: not a freqtrade config (expected a JSON object)")
    exchange = (
        doc.get("exchange", {}).get("name", "binance") if isinstance(doc.get("exchange"), dict) else "binance"
    )
    datadir = Path(str(doc.get("datadir") or f"user_data/data/{exchange}"))
    bases = [datadir] if datadir.is_absolute() else [config.parent / datadir, config.parent.parent / datadir]
    futures = doc.get("trading_mode") == "futures"
    tried = []
    for base in bases:
        for candidate in [base / "futures", base] if futures else [base, base / "futures"]:
            tried.append(candidate)
            if _has_candles(candidate):
                return candidate, f"freqtrade data found in {candidate} (datadir of {config})"
    raise DataError(
        f"{config}: datadir {str(datadir)!r} holds no candle files; looked in "
        + ", ".join(str(t) for t in tried)
    )


def _has_candles(folder: Path) -> bool:
    return folder.is_dir() and any(_FREQTRADE_FILE.match(p.name) for p in folder.iterdir())


def load_table(
    path: str | Path, symbol: str | None = None, *, funding: str | Path | None = None
) -> MarketData:
    """Load a Parquet or CSV OHLCV table (one symbol, or several in long format).

    Parameters
    ----------
    path : str or Path
        ``.parquet``/``.pq``/``.csv`` (``.feather`` too). Columns: a time column (``date``,
        ``timestamp``, ``time`` or ``open_time``: ISO 8601 strings — UTC when no zone — or epoch
        seconds/ms/µs/ns, told apart by magnitude; or a DatetimeIndex), ``open, high, low, close``
        (quote per base), optional ``volume`` (ignored), optional ``symbol`` (long format), optional
        ``mark_open, mark_high, mark_low, mark_close`` (rows where they are empty use the last price,
        noted).
    symbol : str, optional
        Symbol of a table without a ``symbol`` column; default: taken from the file name
        (``BTCUSDT.csv``, ``BTC_USDT_USDT-1h-futures.parquet`` → ``BTCUSDT``).
    funding : str or Path, optional
        Funding table: time column, ``rate`` (or ``funding_rate``, or freqtrade's ``open``) as a fraction
        per event, optional ``symbol``.

    Raises
    ------
    DataError
        Unreadable file, missing column, or failed validation (file, row and timestamp named).
    """
    path = Path(path)
    raw = _read_file(path)
    if "symbol" not in raw.columns:
        name = native_symbol(symbol) if symbol is not None else _symbol_from_name(path)
        raw = raw.assign(symbol=name)
    events = _read_funding_table(Path(funding)) if funding is not None else {}
    parts: dict[str, _SymbolData] = {}
    for name, group in raw.groupby("symbol", sort=False):
        sym = native_symbol(str(name))
        candles = _candles(group, path, sym, interval=None)
        part = _SymbolData(sym, candles.frame, candles.interval, list(candles.gaps), [], events.get(sym))
        if all(c in group.columns for c in MARK_COLUMNS):
            _table_mark(part, group, path)
        else:
            part.mark = candles.frame.copy()
            part.notes.append(f"{path.name} has no mark-price columns; mark = last price")
        if sym not in events:
            part.notes.append("no funding events given; funding = 0")
        parts[sym] = part
    intervals = {p.interval for p in parts.values()}
    if len(intervals) != 1:
        listing = ", ".join(f"{s} {p.interval}" for s, p in parts.items())
        raise DataError(f"{path}: symbols have different bar intervals ({listing})")
    return _assemble(parts, intervals.pop(), str(path))


def native_symbol(name: str) -> str:
    """Return the native Binance symbol of ``BTCUSDT``, ``BTC/USDT:USDT``, ``BTC_USDT_USDT``, ``BTC-USDT``."""
    text = name.strip().upper()
    if ":" in text:
        text = text.split(":", 1)[0]
    parts = [p for p in re.split(r"[/_\-]", text) if p]
    if len(parts) == 3 and parts[1] == parts[2]:
        parts = parts[:2]
    native = "".join(parts)
    if not native.isalnum():
        raise DataError(f"not a symbol: {name!r}")
    return native


# -- internals: one symbol -----------------------------------------------------------------------------


@dataclass
class _Candles:
    frame: pd.DataFrame  # index: DatetimeIndex UTC ns, columns PRICE_COLUMNS
    interval: pd.Timedelta
    gaps: tuple[Gap, ...]


@dataclass
class _SymbolData:
    symbol: str
    last: pd.DataFrame
    interval: pd.Timedelta
    gaps: list[Gap]
    notes: list[str]
    funding: pd.DataFrame | None = None
    mark: pd.DataFrame | None = None
    substituted: npt.NDArray[np.bool_] | None = None  # per bar of ``last``: mark missing, last price used


def _empty_funding() -> pd.DataFrame:
    index = pd.DatetimeIndex([], dtype="datetime64[ns, UTC]", name="time")
    return pd.DataFrame({"rate": pd.Series([], dtype="float64")}, index=index)


def _iso(ts: pd.Timestamp) -> str:
    return str(ts.isoformat()).replace("+00:00", "Z")


def _utc(value: TimeLike, what: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{what}: not a time: {value!r}") from exc
    if ts is pd.NaT:
        raise DataError(f"{what}: not a time: {value!r}")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _read_file(path: Path) -> pd.DataFrame:
    """Read one table with pandas/pyarrow; every failure becomes a DataError naming the file."""
    name = path.name.lower()
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        if name.endswith(".feather"):
            frame = pd.read_feather(path)
        elif name.endswith((".parquet", ".pq")):
            frame = pd.read_parquet(path)
        elif name.endswith(".csv"):
            frame = pd.read_csv(path)
        elif name.endswith((".json", ".json.gz")):
            frame = pd.read_json(path, orient="values", dtype=False)
            frame = frame.set_axis(["date", *PRICE_COLUMNS, "volume"][: frame.shape[1]], axis=1)
        else:
            raise DataError(f"{path}: unsupported file type; expected one of {', '.join(SUFFIXES)}")
    except DataError:
        raise
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from exc
    if isinstance(frame.index, pd.DatetimeIndex) and not any(c in frame.columns for c in TIME_COLUMNS):
        frame = frame.rename_axis("time").reset_index()
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame.reset_index(drop=True)


def _time_column(frame: pd.DataFrame, path: Path) -> str:
    for name in TIME_COLUMNS:
        if name in frame.columns:
            return name
    raise DataError(
        f"{path}: missing time column (one of {', '.join(TIME_COLUMNS)}); has {list(frame.columns)}"
    )


def _to_utc(values: pd.Series, path: Path, rows: npt.NDArray[np.int64]) -> pd.DatetimeIndex:
    """Parse a time column to ``datetime64[ns, UTC]``; the first unparseable value names its row."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = pd.DatetimeIndex(values).tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        parsed = pd.DatetimeIndex(values).tz_localize("UTC")
    elif pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers = values.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(numbers)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{path}: row {rows[i]}: timestamp is {values.iloc[i]!r}")
        top = float(np.abs(numbers).max()) if len(numbers) else 0.0
        unit = "s" if top < 1e11 else "ms" if top < 1e14 else "us" if top < 1e17 else "ns"
        parsed = pd.DatetimeIndex(pd.to_datetime(values.to_numpy(), unit=unit, utc=True))
    else:
        parsed = pd.DatetimeIndex(pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce"))
    bad = np.asarray(parsed.isna())
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"{path}: row {rows[i]}: timestamp {values.iloc[i]!r} is not a time")
    return parsed.as_unit("ns")


def _where(path: Path, rows: npt.NDArray[np.int64], times: pd.DatetimeIndex, i: int) -> str:
    return f"{path}: row {rows[i]} ({_iso(times[i])})"


def _check_order(path: Path, rows: npt.NDArray[np.int64], times: pd.DatetimeIndex) -> npt.NDArray[np.int64]:
    """Check ascending unique stamps; return the differences in ns."""
    stamps: npt.NDArray[np.int64] = times.asi8
    diffs = np.diff(stamps)
    if (diffs < 0).any():
        i = int(np.argmax(diffs < 0)) + 1
        raise DataError(
            f"{_where(path, rows, times, i)}: timestamps not ascending (previous row is {_iso(times[i - 1])})"
        )
    if (diffs == 0).any():
        i = int(np.argmax(diffs == 0)) + 1
        raise DataError(f"{_where(path, rows, times, i)}: duplicate timestamp (same as row {rows[i - 1]})")
    return diffs


def _check_prices(
    path: Path, rows: npt.NDArray[np.int64], times: pd.DatetimeIndex, prices: npt.NDArray[np.float64]
) -> None:
    """Check finite positive prices and ``low <= min(open, close) <= max(open, close) <= high``."""
    bad = ~np.isfinite(prices) | (prices <= 0)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        value = float(prices[i, j])
        problem = "missing (NaN)" if np.isnan(value) else "not finite" if np.isinf(value) else "not positive"
        raise DataError(f"{_where(path, rows, times, i)}: {PRICE_COLUMNS[j]} is {problem}: {value!r}")
    o, h, lo, c = prices.T
    body_hi, body_lo = np.maximum(o, c), np.minimum(o, c)
    high_bad = h < body_hi
    low_bad = lo > body_lo
    if high_bad.any() or low_bad.any():
        i = int(np.argmax(high_bad | low_bad))
        if high_bad[i]:
            msg = f"high {float(h[i])!r} is below max(open, close) {float(body_hi[i])!r}"
        else:
            msg = f"low {float(lo[i])!r} is above min(open, close) {float(body_lo[i])!r}"
        raise DataError(f"{_where(path, rows, times, i)}: {msg}")


def _infer_interval(
    path: Path,
    rows: npt.NDArray[np.int64],
    times: pd.DatetimeIndex,
    diffs: npt.NDArray[np.int64],
    interval: pd.Timedelta | None,
) -> pd.Timedelta:
    if interval is None:
        if len(diffs) == 0:
            raise DataError(f"{path}: a single bar; cannot infer the bar interval")
        values, counts = np.unique(diffs, return_counts=True)
        interval = pd.Timedelta(int(values[np.argmax(counts)]), unit="ns")
    step = interval.value
    off = (diffs % step) != 0
    if off.any():
        i = int(np.argmax(off)) + 1
        raise DataError(
            f"{_where(path, rows, times, i)}: irregular spacing, "
            f"{pd.Timedelta(int(diffs[i - 1]), unit='ns')} after the previous bar "
            f"(bar interval {interval})"
        )
    return interval


def _candles(raw: pd.DataFrame, path: Path, symbol: str, *, interval: pd.Timedelta | None) -> _Candles:
    """Validate one symbol's OHLC rows of ``raw`` (original row numbers kept for messages)."""
    time_col = _time_column(raw, path)
    missing = [c for c in PRICE_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; has {list(raw.columns)}")
    rows = raw.index.to_numpy(dtype=np.int64)
    times = _to_utc(raw[time_col], path, rows)
    diffs = _check_order(path, rows, times)
    try:
        prices = raw[list(PRICE_COLUMNS)].to_numpy(dtype=np.float64, na_value=np.nan)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: price columns are not numeric: {exc}") from exc
    _check_prices(path, rows, times, prices)
    step = _infer_interval(path, rows, times, diffs, interval)
    gaps = tuple(
        Gap(symbol, str(path), times[i] + step, times[i + 1], int(diffs[i] // step.value) - 1)
        for i in np.flatnonzero(diffs > step.value)
    )
    if gaps:
        total = sum(g.missing for g in gaps)
        warnings.warn(
            f"{path}: {len(gaps)} gap(s), {total} missing {step} bar(s); first: {gaps[0]}",
            DataGapWarning,
            stacklevel=3,
        )
    frame = pd.DataFrame(prices, index=times.rename("time"), columns=list(PRICE_COLUMNS))
    return _Candles(frame, step, gaps)


def _funding(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Validate funding events: ascending unique stamps, finite rates (fraction per event)."""
    time_col = _time_column(raw, path)
    rate_col = next((c for c in RATE_COLUMNS if c in raw.columns), None)
    if rate_col is None:
        raise DataError(f"{path}: missing funding rate column (one of {', '.join(RATE_COLUMNS)})")
    rows = raw.index.to_numpy(dtype=np.int64)
    times = _to_utc(raw[time_col], path, rows)
    _check_order(path, rows, times)
    try:
        rates = raw[rate_col].to_numpy(dtype=np.float64, na_value=np.nan)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: funding rates are not numeric: {exc}") from exc
    bad = ~np.isfinite(rates)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"{_where(path, rows, times, i)}: funding rate is {float(rates[i])!r}")
    return pd.DataFrame({"rate": rates}, index=times.rename("time"))


def _read_funding_table(path: Path) -> dict[str, pd.DataFrame]:
    raw = _read_file(path)
    if "symbol" not in raw.columns:
        raw = raw.assign(symbol=_symbol_from_name(path))
    return {native_symbol(str(s)): _funding(g, path) for s, g in raw.groupby("symbol", sort=False)}


def _table_mark(part: _SymbolData, group: pd.DataFrame, path: Path) -> None:
    """Take mark candles from ``mark_*`` columns; empty rows fall back to the last price (noted)."""
    marks = group[list(MARK_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    present = marks.notna().all(axis=1).to_numpy()
    mark = part.last.copy()
    if present.any():
        sub = group.loc[present, [_time_column(group, path), *MARK_COLUMNS]]
        sub = sub.set_axis(["time", *PRICE_COLUMNS], axis=1)
        checked = _candles(sub, path, part.symbol, interval=part.interval)
        mark.loc[checked.frame.index] = checked.frame
    n_sub = int((~present).sum())
    if n_sub == len(present):
        part.notes.append(f"{path.name} has no mark prices for {part.symbol}; mark = last price")
    elif n_sub:
        part.substituted = ~present
    part.mark = mark


# -- internals: freqtrade folders ----------------------------------------------------------------------

_Catalog = dict[str, dict[tuple[str, str], Path]]


def _scan_freqtrade(root: Path) -> _Catalog:
    catalog: _Catalog = {}
    for path in sorted(root.iterdir()):
        match = _FREQTRADE_FILE.match(path.name)
        if not match or not path.is_file():
            continue
        kind = match["kind"] or ("spot" if match["settle"] is None else None)
        if kind is None:
            continue
        symbol = (match["base"] + match["quote"]).upper()
        catalog.setdefault(symbol, {}).setdefault((kind, match["tf"]), path)
    return catalog


def _choose_symbols(root: Path, catalog: _Catalog, symbols: Iterable[str] | None) -> list[str]:
    with_candles = sorted(s for s, f in catalog.items() if any(k in ("futures", "spot") for k, _ in f))
    if symbols is None:
        if not with_candles:
            raise DataError(f"{root}: no candle files (*-futures.feather or spot *.feather)")
        return with_candles
    chosen = [native_symbol(s) for s in symbols]
    unknown = [s for s in chosen if s not in with_candles]
    if unknown:
        raise DataError(f"{root}: no candles for {', '.join(unknown)}; available: {', '.join(with_candles)}")
    if not chosen:
        raise DataError(f"{root}: no symbols requested")
    return list(dict.fromkeys(chosen))


def _choose_timeframe(root: Path, catalog: _Catalog, symbols: list[str], timeframe: str | None) -> str:
    if timeframe is not None:
        _timeframe_delta(timeframe)
        return timeframe
    shared: set[str] | None = None
    for symbol in symbols:
        tfs = {tf for kind, tf in catalog[symbol] if kind in ("futures", "spot")}
        shared = tfs if shared is None else shared & tfs
    options = sorted(shared or (), key=lambda tf: _timeframe_delta(tf))
    if len(options) != 1:
        found = ", ".join(options) or "none shared by all symbols"
        raise DataError(f"{root}: choose the candle timeframe with --timeframe (found: {found})")
    return options[0]


def _timeframe_delta(tf: str) -> pd.Timedelta:
    match = re.fullmatch(r"(\d+)([smhdw])", tf)
    if not match or int(match[1]) == 0:
        raise DataError(f"timeframe: expected e.g. '1m', '5m', '1h', '1d', was {tf!r}")
    return pd.Timedelta(int(match[1]), unit=_TF_UNITS[match[2]])


def _freqtrade_symbol(
    symbol: str, files: dict[tuple[str, str], Path], candle: Path, tf: str, interval: pd.Timedelta
) -> _SymbolData:
    candles = _candles(_read_file(candle), candle, symbol, interval=interval)
    part = _SymbolData(symbol, candles.frame, interval, list(candles.gaps), [])
    if ("futures", tf) not in files:
        part.notes.append(f"spot candles ({candle.name}): last = spot price, mark = spot price")
        part.mark = candles.frame.copy()
    else:
        _freqtrade_mark(part, files, tf)
    funding_files = sorted((p for (k, _), p in files.items() if k == "funding_rate"), key=lambda p: p.name)
    if funding_files:
        part.funding = _funding(_read_file(funding_files[0]), funding_files[0])
        if len(funding_files) > 1:
            part.notes.append(f"several funding files; used {funding_files[0].name}")
    else:
        part.notes.append("no funding-rate file; funding = 0")
    return part


def _freqtrade_mark(part: _SymbolData, files: dict[tuple[str, str], Path], tf: str) -> None:
    """Attach the mark candles: same timeframe, else finer (aggregated), else last price (noted)."""
    marks = sorted(((_timeframe_delta(t), p, t) for (k, t), p in files.items() if k == "mark"), reverse=True)
    usable = [m for m in marks if m[0] <= part.interval and part.interval.value % m[0].value == 0]
    if not usable:
        if marks:
            part.notes.append(
                f"mark candles are {marks[-1][2]}, coarser than the {tf} bars (they would hide intrabar "
                f"extremes); mark = last-price {tf} candles (last-price wicks run deeper than mark: "
                "conservative for liquidation)"
            )
        else:
            part.notes.append(f"no mark-price file; mark = last-price {tf} candles (conservative)")
        part.mark = part.last.copy()
        return
    step, path, mark_tf = usable[0]
    mark = _candles(_read_file(path), path, part.symbol, interval=step).frame
    if step < part.interval:
        mark = _aggregate(mark, part.interval, step)
        part.notes.append(f"mark aggregated from {mark_tf} candles ({path.name})")
    aligned = mark.reindex(part.last.index)
    absent = aligned.isna().any(axis=1).to_numpy()
    if absent.any():
        part.substituted = absent  # the note is written for the bars of the window (MarketData.all_notes)
        aligned.loc[absent] = part.last.loc[absent].to_numpy()
    part.mark = aligned


def _aggregate(frame: pd.DataFrame, interval: pd.Timedelta, step: pd.Timedelta) -> pd.DataFrame:
    """Aggregate finer candles to ``interval`` bars; bars with a missing sub-candle are dropped."""
    keys = frame.index.floor(interval)
    grouped = frame.groupby(keys)
    out = grouped.agg({"open": "first", "high": "max", "low": "min", "close": "last"})
    complete = grouped.size() == interval // step
    return out[complete.to_numpy()].rename_axis("time")


def _symbol_from_name(path: Path) -> str:
    stem = path.name.split(".", 1)[0].split("-", 1)[0]
    return native_symbol(stem)


# -- internals: assembly -------------------------------------------------------------------------------


def _assemble(parts: dict[str, _SymbolData], interval: pd.Timedelta, source: str) -> MarketData:
    """Align every symbol on the common bar open times; note what was dropped."""
    index: pd.DatetimeIndex | None = None
    for part in parts.values():
        index = part.last.index if index is None else index.intersection(part.last.index)
    if index is None or len(index) == 0:
        raise DataError(f"{source}: the symbols share no bar timestamps")
    index = pd.DatetimeIndex(index, name="time").as_unit("ns")
    end = index[-1] + interval
    last, mark, funding, notes = {}, {}, {}, {}
    substituted: dict[str, npt.NDArray[np.bool_]] = {}
    dropped: dict[str, pd.DatetimeIndex] = {}
    gaps: list[Gap] = []
    for symbol, part in parts.items():
        own = pd.DatetimeIndex(part.last.index).as_unit("ns")
        extra = own.difference(index)
        if len(extra):
            dropped[symbol] = extra
        if part.substituted is not None:
            flags = pd.Series(part.substituted, index=own)
            substituted[symbol] = flags.reindex(index, fill_value=False).to_numpy(dtype=bool)
        last[symbol] = part.last.loc[index]
        mark_frame = part.mark if part.mark is not None else part.last
        mark[symbol] = mark_frame.loc[index]
        events = part.funding if part.funding is not None else _empty_funding()
        funding[symbol] = events[(events.index >= index[0]) & (events.index < end)]
        notes[symbol] = tuple(part.notes)
        gaps.extend(part.gaps)
    return MarketData(index, interval, last, mark, funding, notes, tuple(gaps), source, substituted, dropped)
