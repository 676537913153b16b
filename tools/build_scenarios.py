"""Derive the bundled market scenarios from the shared Binance data (maintainer script, run once).

Usage: .venv/bin/python tools/build_scenarios.py [SHARED_DATA_DIR]   (default: ../shared/data)

Writes ``src/marginlab/data/scenarios/{name}.parquet``, ``{name}.funding.parquet`` and ``scenarios.json``
(format: see :mod:`marginlab.io.scenarios`). The package never reads the shared folder at run time.
Every source file goes through marginlab's own validating loaders; the script then reloads each bundled
scenario with :func:`marginlab.io.scenarios.load_scenario` and checks the crash lows quoted in the shared
data README. Prices are kept as float64 exactly as in the source files.
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from marginlab.io.candles import MarketData, load_freqtrade_dir, load_table
from marginlab.io.scenarios import list_scenarios, load_scenario

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "marginlab" / "data" / "scenarios"
SIX = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "XRPUSDT", "BNBUSDT"]
THREE = ["BTCUSDT", "ETHUSDT", "XRPUSDT"]

ORIGINS = {
    "binance-usdm-1h": "Roshan7869/algotrading @ db07ceb7 (GPL-3.0)",
    "binance-usdm-5m-2025": "Harthor/marketlab @ 6135a753 (no licence stated)",
    "binance-spot-5m-2022": "Pr4v33n23/freqtrade @ b920e9a3 (no licence stated)",
    "binance-usdm-1m-2025": "part-a typhonun/DcaTpStrategy @ 057525d1 (MIT); "
    "part-b TheSnowGuru/Market-Swarm-Agents- @ a03d14a5",
}
NO_INTRABAR = (
    "No finer data for these days: intrabar moves are modelled from each candle's high/low "
    "(and mark high/low where given)."
)


@dataclass
class Spec:
    name: str
    title: str
    description: str
    folder: str
    timeframe: str
    symbols: list[str]
    start: str
    end: str
    mark: str  # "real": mark files at the candle timeframe; "last": coarse or no mark, last price stands in
    funding_folder: str | None = None
    notes: list[str] = field(default_factory=list)
    # README lows to verify: (symbol, price, bar open time, "last" | "mark")
    checks: list[tuple[str, float, str, str]] = field(default_factory=list)


SPECS = [
    Spec(
        "2020-03-12",
        "Black Thursday: BTC −50 % in a day, the Binance perpetual wicks to 3,621.81",
        "COVID crash of 12–13 March 2020. BTC perp fell from ~7,900 to a 3,621.81 last-price low at "
        "2020-03-13 02:00 UTC (mark low 3,801.83); funding −0.30 % at 2020-03-13 08:00. In the same hour ETH "
        "perp printed a last-price high of 323.00 while its mark high was 119.47 — a last-price wick that "
        "mark price ignores.",
        "binance-usdm-1h",
        "1h",
        THREE,
        "2020-03-10",
        "2020-03-16",
        "real",
        notes=[NO_INTRABAR],
        checks=[
            ("BTCUSDT", 3621.81, "2020-03-13 02:00", "last"),
            ("BTCUSDT", 3801.83057975, "2020-03-13 02:00", "mark"),
        ],
    ),
    Spec(
        "2021-05-19",
        "19 May 2021: BTC to 28,688 and an ETH perp wick to 1,400.7 far below its 1,764 mark",
        "China mining/exchange ban sell-off. BTC perp low 28,688 and ETH perp low 1,400.73 at 2021-05-19 "
        "13:00 UTC, while ETH mark only fell to 1,764.26: a last-price wick far below mark.",
        "binance-usdm-1h",
        "1h",
        THREE,
        "2021-05-17",
        "2021-05-22",
        "real",
        notes=[NO_INTRABAR],
        checks=[
            ("BTCUSDT", 28688.0, "2021-05-19 13:00", "last"),
            ("ETHUSDT", 1400.73, "2021-05-19 13:00", "last"),
        ],
    ),
    Spec(
        "2022-06-13",
        "LUNA/3AC contagion, June 2022: BTC from 28k to 17,622 on spot (spot-based scenario)",
        "Celsius freezes withdrawals (12 June), Three Arrows Capital unravels; BTC breaks 20k and bottoms at "
        "17,622 on 18 June. SPOT-BASED: the only 5-minute data for 2022 here is Binance spot, so last "
        "price AND mark price are the spot candles; perpetual wicks were likely deeper.",
        "binance-spot-5m-2022",
        "5m",
        ["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "XRPUSDT"],
        "2022-06-11",
        "2022-06-20",
        "last",
        funding_folder="binance-usdm-1h",
        notes=[
            "Spot-based scenario: last and mark prices are Binance spot 5m candles, not the perpetual's.",
            "Funding is the perpetual's (binance-usdm-1h) where the sources have it: BTC, ETH, XRP; "
            "SOL and DOGE have none before 2026-04, so their funding is 0.",
        ],
        checks=[("BTCUSDT", 17622.0, "2022-06-18", "last")],
    ),
    Spec(
        "2022-11-09",
        "FTX collapse, November 2022: BTC perp to 15,463",
        "FTX halts withdrawals (8 Nov) and Binance walks away from the rescue (9 Nov); BTC perp falls from "
        "~21k to a 15,462.6 low at 2022-11-09 22:00 UTC.",
        "binance-usdm-1h",
        "1h",
        THREE,
        "2022-11-06",
        "2022-11-12",
        "real",
        notes=[NO_INTRABAR],
        checks=[("BTCUSDT", 15462.6, "2022-11-09 22:00", "last")],
    ),
    Spec(
        "2025-04-07",
        "Tariff crash, April 2025: BTC to 74,457, ETH to 1,410",
        "Global sell-off after the US 'Liberation Day' tariffs. BTC perp low 74,457 (2025-04-07 07:00 UTC), "
        "ETH 1,410 the same morning and 1,384 on 9 April.",
        "binance-usdm-5m-2025",
        "5m",
        SIX,
        "2025-04-05",
        "2025-04-10",
        "last",
        checks=[
            ("BTCUSDT", 74457.0, "2025-04-07", "last"),
            ("ETHUSDT", 1410.0, "2025-04-07", "last"),
        ],
    ),
    Spec(
        "2025-10-10",
        "10 October 2025: the biggest liquidation cascade on record (DOGE −64 % in minutes)",
        "Tariff headline late on a Friday; between 21:10 and 21:25 UTC every coin's perp wicks far below "
        "spot: BTC 116,605 → 101,516.5, ETH → 3,400, SOL → 141.28, DOGE → 0.08385, XRP → 1.1792, "
        "BNB → 823.6 — the textbook cross-margin cascade.",
        "binance-usdm-5m-2025",
        "5m",
        SIX,
        "2025-10-09",
        "2025-10-13",
        "last",
        checks=[
            ("BTCUSDT", 101516.5, "2025-10-10 21:20", "last"),
            ("ETHUSDT", 3400.0, "2025-10-10 21:20", "last"),
            ("SOLUSDT", 141.28, "2025-10-10 21:20", "last"),
            ("DOGEUSDT", 0.08385, "2025-10-10 21:20", "last"),
            ("XRPUSDT", 1.1792, "2025-10-10 21:20", "last"),
            ("BNBUSDT", 823.6, "2025-10-10 21:15", "last"),
        ],
    ),
    Spec(
        "2025-05",
        "A calm month at 1-minute resolution (May 2025)",
        "Thirty quiet days (2025-05-05 to 2025-06-04) of 1m perpetual candles: the baseline against which "
        "the crashes are judged, and a long run for benchmarks.",
        "binance-usdm-1m-2025",
        "1m",
        ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "BNBUSDT"],
        "2025-05-05",
        "2025-06-04",
        "last",
        funding_folder="binance-usdm-5m-2025",
        notes=[
            "Candles from two collections (part-a, part-b) whose overlap is identical; merged, deduplicated."
        ],
    ),
]


def main() -> None:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
    OUT.mkdir(parents=True, exist_ok=True)
    entries = [build(spec, shared) for spec in SPECS]
    doc = {
        "format": " ".join(
            [
                "{name}.parquet: long format, one row per (symbol, bar): symbol, time (bar open, UTC),",
                "open/high/low/close (last price, float64, quote per base),",
                "mark_open/mark_high/mark_low/mark_close (mark price; null where the source has no",
                "usable mark: the loader substitutes the last price, see mark_source).",
                "{name}.funding.parquet: symbol, time (event time, UTC), rate (fraction per event, positive:",
                "longs pay). Prices: Binance market data.",
            ]
        ),
        "scenarios": entries,
    }
    (OUT / "scenarios.json").write_text(
        json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    verify()


def build(spec: Spec, shared: Path) -> dict[str, Any]:
    folder = shared / spec.folder
    window = (pd.Timestamp(spec.start, tz="UTC"), pd.Timestamp(spec.end, tz="UTC"))
    if spec.folder == "binance-usdm-1m-2025":
        last = _merged_1m(folder, spec.symbols)
    else:
        last = load_freqtrade_dir(folder, spec.symbols, timeframe=spec.timeframe)
    last = last.slice(*window)
    if last.gaps or last.span != window:
        raise SystemExit(f"{spec.name}: gaps or short span in the source: {last.gaps} {last.span}")
    funding_src = (
        load_freqtrade_dir(shared / spec.funding_folder, spec.symbols, timeframe="1h")
        if (spec.funding_folder and spec.folder != "binance-spot-5m-2022")
        else None
    )
    rows, funding_rows, mark_source, funding_source, extremes = [], [], {}, {}, {}
    for symbol in last.symbols:
        frame = last.last[symbol].copy()
        mark = _real_mark(spec, folder, symbol, last)
        for col in ("open", "high", "low", "close"):
            frame[f"mark_{col}"] = mark[col] if mark is not None else np.nan
        frame.insert(0, "symbol", symbol)
        rows.append(frame.reset_index())
        events, funding_source[symbol] = _funding(spec, shared, symbol, last, funding_src)
        funding_rows.append(events.reset_index().assign(symbol=symbol)[["symbol", "time", "rate"]])
        mark_source[symbol], extremes[symbol] = _mark_story(spec, folder, symbol, last, mark)
    bars = pd.concat(rows, ignore_index=True)
    funding = pd.concat(funding_rows, ignore_index=True)
    size = _write(bars, OUT / f"{spec.name}.parquet") + _write(funding, OUT / f"{spec.name}.funding.parquet")
    origin = ORIGINS[spec.folder]
    source = f"Binance market data; shared data folder {spec.folder}/ (originally collected in {origin})"
    if spec.funding_folder:
        source += f"; funding from {spec.funding_folder}/ ({ORIGINS[spec.funding_folder]})"
    start, end = last.span
    return {
        "name": spec.name,
        "title": spec.title,
        "description": spec.description,
        "interval": spec.timeframe,
        "start": start.isoformat().replace("+00:00", "Z"),
        "end": end.isoformat().replace("+00:00", "Z"),
        "bars": len(last),
        "symbols": list(last.symbols),
        "source": source,
        "mark_source": mark_source,
        "funding_source": funding_source,
        "notes": spec.notes,
        "extremes": extremes,
        "files": {"bars": f"{spec.name}.parquet", "funding": f"{spec.name}.funding.parquet"},
        "size_bytes": size,
    }


def _merged_1m(folder: Path, symbols: list[str]) -> MarketData:
    """Merge part-a and part-b (identical where they overlap) into one validated 1m table."""
    frames = []
    for symbol in symbols:
        base = symbol.removesuffix("USDT")
        parts = [
            pd.read_feather(folder / p / f"{base}_USDT_USDT-1m-futures.feather") for p in ("part-a", "part-b")
        ]
        overlap = parts[0].merge(parts[1], on="date", suffixes=("_a", "_b"))
        for col in ("open", "high", "low", "close"):
            if not (overlap[f"{col}_a"] == overlap[f"{col}_b"]).all():
                raise SystemExit(f"{symbol}: part-a and part-b differ in {col} where they overlap")
        merged = pd.concat(parts).drop_duplicates("date").sort_values("date")
        frames.append(merged.assign(symbol=symbol))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "merged-1m.parquet"
        pd.concat(frames, ignore_index=True).to_parquet(path)
        return load_table(path)


def _real_mark(spec: Spec, folder: Path, symbol: str, last: MarketData) -> pd.DataFrame | None:
    if spec.mark != "real":
        return None
    path = folder / f"{symbol.removesuffix('USDT')}_USDT_USDT-{spec.timeframe}-mark.feather"
    mark = load_table(path, symbol).last[symbol].reindex(last.index)
    if mark.isna().any().any():
        raise SystemExit(f"{spec.name}: {path.name} does not cover the window")
    return mark


def _mark_story(
    spec: Spec, folder: Path, symbol: str, last: MarketData, mark: pd.DataFrame | None
) -> tuple[str, dict[str, Any]]:
    frame = last.last[symbol]
    ext: dict[str, Any] = {
        "low": float(frame["low"].min()),
        "low_time": _iso(frame["low"].idxmin()),
        "high": float(frame["high"].max()),
        "high_time": _iso(frame["high"].idxmax()),
    }
    if mark is not None:
        ext["mark_low"] = float(mark["low"].min())
        ext["mark_low_time"] = _iso(mark["low"].idxmin())
        ext["mark_high"] = float(mark["high"].max())
        ext["mark_high_time"] = _iso(mark["high"].idxmax())
        return f"real Binance mark-price {spec.timeframe} candles ({spec.folder}/)", ext
    if spec.folder == "binance-spot-5m-2022":
        return "substitute: Binance SPOT 5m candles (spot-based scenario; no perpetual or mark data)", ext
    hourly = folder / f"{symbol.removesuffix('USDT')}_USDT_USDT-1h-mark.feather"
    if spec.folder == "binance-usdm-1m-2025":
        hourly = folder.parent / "binance-usdm-5m-2025" / hourly.name
    coarse = load_table(hourly, symbol).slice(*last.span).last[symbol]
    ext["mark_low_1h"] = float(coarse["low"].min())
    ext["mark_low_1h_time"] = _iso(coarse["low"].idxmin())
    tf = spec.timeframe
    low, low_1h = ext["low"], ext["mark_low_1h"]
    return (
        f"substitute: last-price {tf} candles. The sources' mark candles are 1h only, too coarse for {tf} "
        "extremes (a forward-filled hourly mark would invent or hide wicks). Last-price wicks run deeper "
        f"than mark (here: last low {low!r} vs 1h mark low {low_1h!r}), so liquidations on this scenario are "
        "conservative (earlier or more of them)."
    ), ext


def _funding(
    spec: Spec, shared: Path, symbol: str, last: MarketData, funding_src: MarketData | None
) -> tuple[pd.DataFrame, str]:
    start, end = last.span
    if spec.folder == "binance-spot-5m-2022":
        usdm = shared / "binance-usdm-1h"
        base = symbol.removesuffix("USDT")
        path = usdm / f"{base}_USDT_USDT-1h-funding_rate.feather"
        events = _empty()
        if path.exists():
            events = load_freqtrade_dir(usdm, [symbol], timeframe="1h").funding[symbol]
            events = events[(events.index >= start) & (events.index < end)]
        if events.empty:
            return (
                _empty(),
                "none in the sources for this window (perpetual funding starts 2026-04); funding = 0",
            )
        return (
            events,
            "Binance USDⓈ-M perpetual funding events (binance-usdm-1h/), applied to spot-based prices",
        )
    src = funding_src if funding_src is not None else last
    events = src.funding[symbol]
    events = events[(events.index >= start) & (events.index < end)]
    if events.empty:
        raise SystemExit(f"{spec.name}: no funding events for {symbol}")
    folder = spec.funding_folder or spec.folder
    return events, f"Binance USDⓈ-M funding events, every 8 h ({folder}/)"


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {"rate": pd.Series([], dtype="float64")}, index=pd.DatetimeIndex([], tz="UTC", name="time")
    )


def _write(frame: pd.DataFrame, path: Path) -> int:
    # Dictionary encoding (the default, on every column) wins for prices: they repeat a lot at 1m-5m.
    table = pa.Table.from_pandas(
        frame[["symbol", "time", *frame.columns.drop(["symbol", "time"])]], preserve_index=False
    )
    pq.write_table(table, path, compression="zstd", compression_level=19)
    return path.stat().st_size


def _iso(ts: pd.Timestamp) -> str:
    return str(ts.isoformat()).replace("+00:00", "Z")


def verify() -> None:
    """Reload every bundled scenario through the package and check the README's crash lows."""
    specs = {s.name: s for s in SPECS}
    total = 0
    for info in list_scenarios():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            data = load_scenario(info.name)
        total += info.size_bytes
        for symbol, price, when, which in specs[info.name].checks:
            table = data.last[symbol] if which == "last" else data.mark[symbol]
            t0 = pd.Timestamp(when, tz="UTC")
            t1 = t0 + (pd.Timedelta("1D") if len(when) == 10 else data.interval)
            low = float(table.loc[(table.index >= t0) & (table.index < t1), "low"].min())
            if low != price:
                raise SystemExit(f"{info.name} {symbol} {which}: low {low} in [{t0}, {t1}), expected {price}")
        print(
            f"{info.name:11} {info.interval!s:>16} {len(data):6} bars  {','.join(data.symbols):40} "
            f"{info.size_bytes / 1024:7.0f} KiB"
        )
    print(f"total {total / 1024 / 1024:.2f} MiB")


if __name__ == "__main__":
    main()
