"""Derive the bundled normal-market hourly history from the shared Binance data (maintainer script, run once).

Usage: .venv/bin/python tools/build_history.py [SHARED_DATA_DIR]   (default: ../shared/data)

Writes ``src/marginlab/data/history/binance-usdm-1h.parquet`` (the scenario long format, see
:mod:`marginlab.io.history`) and ``history.json`` (window, symbols, source). ``marginlab risk`` estimates
its default volatility and correlation from these bars: the trailing :data:`DAYS` days of hourly last and
mark candles of the six bundled perpetuals, ending at the last bar of the source. The source files go
through marginlab's own validating loaders; the script reloads the result to check it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from marginlab.io.candles import load_freqtrade_dir, load_table
from marginlab.io.history import load_history

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "marginlab" / "data" / "history"
FOLDER = "binance-usdm-5m-2025"
ORIGIN = "Harthor/marketlab @ 6135a753 (no licence stated)"
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "XRPUSDT", "BNBUSDT"]
DAYS = 90


def main() -> None:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
    folder = shared / FOLDER
    last = load_freqtrade_dir(folder, SYMBOLS, timeframe="1h")
    end = last.span[1]
    start = end - pd.Timedelta(days=DAYS)
    last = last.slice(start, end)
    if last.gaps or last.span != (start, end):
        raise SystemExit(f"gaps or short span in the source: {last.gaps} {last.span}")
    rows = []
    for symbol in last.symbols:
        frame = last.last[symbol].copy()
        path = folder / f"{symbol.removesuffix('USDT')}_USDT_USDT-1h-mark.feather"
        mark = load_table(path, symbol).last[symbol].reindex(last.index)
        if mark.isna().any().any():
            raise SystemExit(f"{path.name} does not cover the window")
        for col in ("open", "high", "low", "close"):
            frame[f"mark_{col}"] = mark[col]
        frame.insert(0, "symbol", symbol)
        rows.append(frame.reset_index())
    bars = pd.concat(rows, ignore_index=True)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "binance-usdm-1h.parquet"
    table = pa.Table.from_pandas(bars, preserve_index=False)
    pq.write_table(table, path, compression="zstd", compression_level=19)
    doc = {
        "format": "binance-usdm-1h.parquet: long format, one row per (symbol, bar): symbol, time (bar open, "
        "UTC), open/high/low/close (last price), mark_open/mark_high/mark_low/mark_close (real Binance "
        "mark-price 1h candles); float64, quote per base.",
        "interval": "1h",
        "start": _iso(start),
        "end": _iso(end),
        "days": DAYS,
        "symbols": list(last.symbols),
        "source": f"Binance market data; shared data folder {FOLDER}/ (originally collected in {ORIGIN})",
        "size_bytes": path.stat().st_size,
    }
    (OUT / "history.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    data = load_history()
    assert data.span == (start, end) and data.symbols == tuple(SYMBOLS), data.span  # noqa: S101
    print(f"wrote {path} ({doc['size_bytes']:,} bytes): {_iso(start)} → {_iso(end)}, {len(data)} bars")


def _iso(ts: pd.Timestamp) -> str:
    return str(ts.isoformat()).replace("+00:00", "Z")


if __name__ == "__main__":
    main()
