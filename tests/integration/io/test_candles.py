"""Loading freqtrade folders, Parquet and CSV candles: alignment, substitutions, validation errors, gaps."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marginlab.errors import DataError
from marginlab.io.candles import DataGapWarning, MarketData, load_freqtrade_dir, load_table, native_symbol

T0 = pd.Timestamp("2025-10-10 00:00", tz="UTC")


def candles(
    n: int, step: str = "1h", start: pd.Timestamp = T0, base: float = 100.0, unit: str = "ns"
) -> pd.DataFrame:
    """Well-formed OHLCV candles: open = base + i, high = open + 2, low = open - 2, close = open + 1."""
    times = pd.date_range(start, periods=n, freq=step).as_unit(unit)
    o = base + np.arange(n, dtype=np.float64)
    return pd.DataFrame(
        {"date": times, "open": o, "high": o + 2, "low": o - 2, "close": o + 1, "volume": 5.0}
    )


def funding_rows(times: list[str], rates: list[float]) -> pd.DataFrame:
    """Funding in freqtrade's layout: the rate in ``open``, the other columns 0."""
    n = len(times)
    zeros = np.zeros(n)
    date = pd.to_datetime(times, utc=True, format="ISO8601")
    return pd.DataFrame(
        {"date": date, "open": rates, "high": zeros, "low": zeros, "close": zeros, "volume": zeros}
    )


def write(frame: pd.DataFrame, path: Path) -> Path:
    frame.reset_index(drop=True).to_feather(path)
    return path


def message(exc: pytest.ExceptionInfo[DataError]) -> str:
    return str(exc.value)


# -- freqtrade folders -------------------------------------------------------------------------------


def test_freqtrade_round_trip(tmp_path: Path) -> None:
    write(candles(24, unit="ms"), tmp_path / "BTC_USDT_USDT-1h-futures.feather")
    mark = candles(24, base=100.5)
    write(mark, tmp_path / "BTC_USDT_USDT-1h-mark.feather")
    write(
        funding_rows(
            ["2025-10-10 00:00", "2025-10-10 08:00:00.017", "2025-10-10 16:00"], [1e-4, -3e-3, 2e-4]
        ),
        tmp_path / "BTC_USDT_USDT-1h-funding_rate.feather",
    )
    # ETH starts two bars later and has no mark file
    write(
        candles(24, start=T0 + pd.Timedelta("2h"), base=10.0), tmp_path / "ETH_USDT_USDT-1h-futures.feather"
    )

    data = load_freqtrade_dir(tmp_path)

    assert data.symbols == ("BTCUSDT", "ETHUSDT")
    assert data.interval == pd.Timedelta("1h")
    assert str(data.index.dtype) == "datetime64[ns, UTC]"
    assert data.span == (T0 + pd.Timedelta("2h"), T0 + pd.Timedelta("24h"))
    assert len(data) == 22
    assert data.last["BTCUSDT"].loc[T0 + pd.Timedelta("2h"), "open"] == 102.0
    assert data.mark["BTCUSDT"].loc[T0 + pd.Timedelta("2h"), "open"] == 102.5
    assert data.last["ETHUSDT"].loc[T0 + pd.Timedelta("2h"), "close"] == 11.0
    # funding: the rate is freqtrade's ``open``; the event before the common span is cut away
    rates = data.funding["BTCUSDT"]
    assert list(rates["rate"]) == [-3e-3, 2e-4]
    assert rates.index[0] == pd.Timestamp("2025-10-10 08:00:00.017", tz="UTC")
    per_bar = data.funding_per_bar("BTCUSDT")
    assert per_bar[data.index.get_loc(T0 + pd.Timedelta("8h"))] == -3e-3
    assert per_bar.sum() == pytest.approx(-3e-3 + 2e-4)
    # substitutions are stated
    eth_notes = " ".join(data.notes["ETHUSDT"])
    assert "no mark-price file" in eth_notes and "mark = last" in eth_notes
    assert "no funding-rate file" in eth_notes
    assert data.mark["ETHUSDT"].equals(data.last["ETHUSDT"])
    assert any(
        n.startswith("BTCUSDT: ") and "dropped: the other symbols lack them" in n for n in data.all_notes()
    )
    assert data.ohlc("BTCUSDT", "mark").shape == (22, 4)
    assert data.times.dtype == np.dtype("datetime64[ns]")
    assert data.gaps == ()


def test_coarser_mark_is_not_forward_filled(tmp_path: Path) -> None:
    write(candles(36, step="5min"), tmp_path / "SOL_USDT_USDT-5m-futures.feather")
    write(candles(3, step="1h", base=90.0), tmp_path / "SOL_USDT_USDT-1h-mark.feather")
    data = load_freqtrade_dir(tmp_path)
    assert data.interval == pd.Timedelta("5min")
    assert data.mark["SOLUSDT"].equals(data.last["SOLUSDT"])
    assert any("coarser than the 5m bars" in n for n in data.notes["SOLUSDT"])


def test_finer_mark_is_aggregated_and_missing_mark_bars_substituted(tmp_path: Path) -> None:
    write(candles(3, step="1h"), tmp_path / "XRP_USDT_USDT-1h-futures.feather")
    write(
        candles(24, step="5min", base=50.0), tmp_path / "XRP_USDT_USDT-5m-mark.feather"
    )  # covers hours 0, 1
    data = load_freqtrade_dir(tmp_path, ["XRP/USDT:USDT"], timeframe="1h")
    first = data.mark["XRPUSDT"].iloc[0]
    assert list(first) == [50.0, 50.0 + 11 + 2, 48.0, 50.0 + 11 + 1]
    assert data.mark["XRPUSDT"].iloc[2].equals(data.last["XRPUSDT"].iloc[2])
    notes = " ".join(n for n in data.all_notes() if n.startswith("XRPUSDT: "))
    assert "aggregated from 5m" in notes and "missing for 1 of 3 bars" in notes


def test_timeframe_choice_and_unknown_symbol(tmp_path: Path) -> None:
    write(candles(4), tmp_path / "BTC_USDT_USDT-1h-futures.feather")
    write(candles(4, step="15min"), tmp_path / "BTC_USDT_USDT-15m-futures.feather")
    with pytest.raises(DataError, match="--timeframe"):
        load_freqtrade_dir(tmp_path)
    assert load_freqtrade_dir(tmp_path, timeframe="15m").interval == pd.Timedelta("15min")
    with pytest.raises(DataError, match=r"DOGEUSDT.*available: BTCUSDT"):
        load_freqtrade_dir(tmp_path, ["DOGEUSDT"], timeframe="1h")
    with pytest.raises(DataError, match="not a directory"):
        load_freqtrade_dir(tmp_path / "nope")


def test_slice_is_start_inclusive_end_exclusive(tmp_path: Path) -> None:
    write(candles(24), tmp_path / "BTC_USDT_USDT-1h-futures.feather")
    write(
        funding_rows(["2025-10-10 00:00", "2025-10-10 08:00", "2025-10-10 16:00"], [1e-4, 2e-4, 3e-4]),
        tmp_path / "BTC_USDT_USDT-1h-funding_rate.feather",
    )
    data = load_freqtrade_dir(tmp_path)
    part = data.slice("2025-10-10T08:00", "2025-10-10T16:00")
    assert isinstance(part, MarketData)
    assert part.span == (T0 + pd.Timedelta("8h"), T0 + pd.Timedelta("16h"))
    assert list(part.funding["BTCUSDT"]["rate"]) == [2e-4]
    assert part.slice(*part.span).index.equals(part.index)
    with pytest.raises(DataError, match="no bars"):
        data.slice("2026-01-01", None)


# -- validation ----------------------------------------------------------------------------------------


def _bad(kind: str) -> tuple[pd.DataFrame, int]:
    """Candles broken in one way; return them and the 0-based row the error must name."""
    frame = candles(6)
    row = 3
    if kind == "unsorted":
        frame.loc[[2, 3], "date"] = frame.loc[[3, 2], "date"].to_numpy()
    elif kind == "duplicate":
        frame.loc[3, "date"] = frame.loc[2, "date"]
    elif kind == "nan":
        frame.loc[3, "close"] = np.nan
    elif kind == "inf":
        frame.loc[3, "high"] = np.inf
    elif kind == "negative":
        frame.loc[3, "low"] = -1.0
    elif kind == "zero":
        frame.loc[3, "open"] = 0.0
    elif kind == "high_below_low":
        frame.loc[3, ["high", "low"]] = [90.0, 110.0]
    elif kind == "high_below_close":
        frame.loc[3, "high"] = frame.loc[3, "close"] - 0.5
    elif kind == "low_above_open":
        frame.loc[3, "low"] = frame.loc[3, "open"] + 0.5
    return frame, row


KINDS = [
    "unsorted",
    "duplicate",
    "nan",
    "inf",
    "negative",
    "zero",
    "high_below_low",
    "high_below_close",
    "low_above_open",
]


@pytest.mark.parametrize("kind", KINDS)
def test_malformed_freqtrade_file_names_file_and_row(tmp_path: Path, kind: str) -> None:
    frame, row = _bad(kind)
    path = write(frame, tmp_path / "BTC_USDT_USDT-1h-futures.feather")
    with pytest.raises(DataError) as exc:
        load_freqtrade_dir(tmp_path)
    text = message(exc)
    assert str(path) in text
    assert f"row {row} (" in text
    stamp = pd.Timestamp(frame.loc[row, "date"]).isoformat().replace("+00:00", "Z")
    assert stamp in text


@pytest.mark.parametrize("kind", KINDS)
def test_malformed_csv_names_file_and_row(tmp_path: Path, kind: str) -> None:
    frame, row = _bad(kind)
    path = tmp_path / "BTCUSDT.csv"
    frame.assign(date=frame["date"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(path, index=False)
    with pytest.raises(DataError, match=rf"{re.escape(str(path))}: row {row} \("):
        load_table(path)


def test_malformed_mark_and_funding_files(tmp_path: Path) -> None:
    write(candles(6), tmp_path / "BTC_USDT_USDT-1h-futures.feather")
    mark, _ = _bad("negative")
    write(mark, tmp_path / "BTC_USDT_USDT-1h-mark.feather")
    with pytest.raises(DataError, match=r"BTC_USDT_USDT-1h-mark\.feather: row 3 \(.*low is not positive"):
        load_freqtrade_dir(tmp_path)
    write(candles(6), tmp_path / "BTC_USDT_USDT-1h-mark.feather")
    write(
        funding_rows(["2025-10-10 08:00", "2025-10-10 00:00"], [1e-4, 1e-4]),
        tmp_path / "BTC_USDT_USDT-1h-funding_rate.feather",
    )
    with pytest.raises(
        DataError, match=r"funding_rate\.feather: row 1 \(2025-10-10T00:00:00Z\): .*not ascending"
    ):
        load_freqtrade_dir(tmp_path)
    write(
        funding_rows(["2025-10-10 00:00", "2025-10-10 08:00"], [1e-4, np.nan]),
        tmp_path / "BTC_USDT_USDT-1h-funding_rate.feather",
    )
    with pytest.raises(DataError, match=r"funding_rate\.feather: row 1 .*funding rate is nan"):
        load_freqtrade_dir(tmp_path)


def test_missing_column(tmp_path: Path) -> None:
    path = write(candles(4).drop(columns="low"), tmp_path / "BTC_USDT_USDT-1h-futures.feather")
    with pytest.raises(DataError, match=rf"{re.escape(str(path))}: missing column\(s\) low"):
        load_freqtrade_dir(tmp_path)
    csv = tmp_path / "ETHUSDT.csv"
    candles(4).drop(columns="date").to_csv(csv, index=False)
    with pytest.raises(DataError, match="missing time column"):
        load_table(csv)


def test_unreadable_files(tmp_path: Path) -> None:
    path = tmp_path / "BTC_USDT_USDT-1h-futures.feather"
    path.write_bytes(b"not an arrow file")
    with pytest.raises(DataError, match=rf"{re.escape(str(path))}: cannot read"):
        load_freqtrade_dir(tmp_path)
    parquet = tmp_path / "x.parquet"
    parquet.write_text("garbage")
    with pytest.raises(DataError, match="cannot read"):
        load_table(parquet, "BTCUSDT")
    with pytest.raises(DataError, match="no such file"):
        load_table(tmp_path / "missing.csv")
    (tmp_path / "BTCUSDT.xlsx").write_text("x")
    with pytest.raises(DataError, match="unsupported file type"):
        load_table(tmp_path / "BTCUSDT.xlsx")


def test_bad_timestamp_and_irregular_spacing(tmp_path: Path) -> None:
    csv = tmp_path / "BTCUSDT.csv"
    frame = candles(4).assign(
        date=["2025-10-10T00:00Z", "2025-10-10T01:00Z", "yesterday", "2025-10-10T03:00Z"]
    )
    frame.to_csv(csv, index=False)
    with pytest.raises(DataError, match=r"row 2: timestamp 'yesterday' is not a time"):
        load_table(csv)
    frame = candles(5)
    frame.loc[4, "date"] = frame.loc[3, "date"] + pd.Timedelta("30min")
    frame.to_csv(csv, index=False)
    with pytest.raises(DataError, match=r"row 4 .*irregular spacing"):
        load_table(csv)


# -- gaps ----------------------------------------------------------------------------------------------


def test_gaps_are_reported_not_errors(tmp_path: Path) -> None:
    frame = candles(10).drop(index=[3, 4, 7])
    path = write(frame, tmp_path / "ETH_USDT_USDT-1h-futures.feather")
    with pytest.warns(DataGapWarning, match=r"2 gap\(s\), 3 missing"):
        data = load_freqtrade_dir(tmp_path)
    assert len(data) == 7
    assert [(g.start, g.end, g.missing) for g in data.gaps] == [
        (T0 + pd.Timedelta("3h"), T0 + pd.Timedelta("5h"), 2),
        (T0 + pd.Timedelta("7h"), T0 + pd.Timedelta("8h"), 1),
    ]
    assert all(g.source == str(path) and g.symbol == "ETHUSDT" for g in data.gaps)
    assert data.slice(T0 + pd.Timedelta("6h")).gaps == data.gaps[1:]


# -- Parquet and CSV -----------------------------------------------------------------------------------


def test_parquet_long_format_with_mark_and_funding(tmp_path: Path) -> None:
    btc = candles(6, base=100.0).assign(symbol="BTCUSDT")
    eth = candles(6, base=10.0).assign(symbol="ETHUSDT")
    btc["mark_open"], btc["mark_high"], btc["mark_low"], btc["mark_close"] = (
        btc["open"],
        btc["high"] - 1,
        btc["low"] + 1,
        btc["close"],
    )
    btc.loc[5, ["mark_open", "mark_high", "mark_low", "mark_close"]] = np.nan
    for col in ("mark_open", "mark_high", "mark_low", "mark_close"):
        eth[col] = np.nan
    table = pd.concat([btc, eth], ignore_index=True).rename(columns={"date": "time"})
    path = tmp_path / "crash.parquet"
    table.to_parquet(path)
    funding = tmp_path / "funding.parquet"
    pd.DataFrame({"symbol": ["BTCUSDT"], "time": [T0 + pd.Timedelta("4h")], "rate": [-0.003]}).to_parquet(
        funding
    )

    data = load_table(path, funding=funding)

    assert data.symbols == ("BTCUSDT", "ETHUSDT")
    assert data.mark["BTCUSDT"]["low"].iloc[0] == 99.0
    assert data.mark["BTCUSDT"].iloc[5].equals(data.last["BTCUSDT"].iloc[5])
    assert any(n.startswith("BTCUSDT: mark price missing for 1 of 6 bars") for n in data.all_notes())
    assert any("mark = last price" in n for n in data.notes["ETHUSDT"])
    assert data.funding_per_bar("BTCUSDT")[4] == -0.003
    assert any("funding = 0" in n for n in data.notes["ETHUSDT"])
    assert data.field("mark_low").shape == (6, 2)


@pytest.mark.parametrize("stamp", ["iso", "iso_offset", "ms", "ns", "naive"])
def test_csv_timestamp_forms(tmp_path: Path, stamp: str) -> None:
    frame = candles(5)
    times = frame["date"]
    if stamp == "iso":
        frame["date"] = times.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    elif stamp == "iso_offset":
        frame["date"] = times.dt.tz_convert("Europe/Berlin").map(lambda t: t.isoformat())
    elif stamp == "ms":
        frame["date"] = times.astype("int64") // 1_000_000
    elif stamp == "ns":
        frame["date"] = times.astype("int64")
    else:
        frame["date"] = times.dt.strftime("%Y-%m-%d %H:%M:%S")
    frame = frame.rename(columns={"date": "timestamp"})
    path = tmp_path / "BTC_USDT-1h.csv"
    frame.to_csv(path, index=False)
    data = load_table(path)
    assert data.symbols == ("BTCUSDT",)
    assert data.index[0] == T0
    assert str(data.index.dtype) == "datetime64[ns, UTC]"
    assert data.interval == pd.Timedelta("1h")


def test_parquet_with_datetime_index_and_explicit_symbol(tmp_path: Path) -> None:
    frame = candles(3).set_index("date")
    path = tmp_path / "prices.parquet"
    frame.to_parquet(path)
    data = load_table(path, "doge/usdt:usdt")
    assert data.symbols == ("DOGEUSDT",)
    assert len(data) == 3


def test_native_symbol() -> None:
    assert native_symbol("BTC/USDT:USDT") == "BTCUSDT"
    assert native_symbol("btc_usdt_usdt") == "BTCUSDT"
    assert native_symbol("ETH-USDT") == "ETHUSDT"
    assert native_symbol("SOLUSDT") == "SOLUSDT"
    with pytest.raises(DataError):
        native_symbol("BTC USDT")


def test_no_warning_for_clean_data(tmp_path: Path) -> None:
    write(candles(5), tmp_path / "BTC_USDT_USDT-1h-futures.feather")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_freqtrade_dir(tmp_path)


# -- finding the freqtrade layout, window-only notes -------------------------------------------------


def _standard_layout(root: Path) -> Path:
    folder = root / "user_data" / "data" / "binance" / "futures"
    folder.mkdir(parents=True)
    write(candles(48), folder / "BTC_USDT_USDT-1h-futures.feather")
    write(candles(48 * 12, step="5min"), folder / "BTC_USDT_USDT-5m-futures.feather")
    mark = candles(48, base=100.5)
    mark.loc[40:, ["open", "high", "low", "close"]] = np.nan  # the mark file ends early
    write(mark.dropna(), folder / "BTC_USDT_USDT-1h-mark.feather")
    return folder


def test_the_standard_layout_is_found_from_the_root_and_from_a_config(tmp_path: Path) -> None:
    folder = _standard_layout(tmp_path)
    data = load_freqtrade_dir(tmp_path, timeframe="1h")
    assert data.source == str(folder)
    assert f"freqtrade data found in {folder}" in data.all_notes()
    config = tmp_path / "user_data" / "config.json"
    config.write_text('{"trading_mode": "futures", "datadir": "user_data/data/binance"}', encoding="utf-8")
    assert load_freqtrade_dir(config, timeframe="5m").source == str(folder)
    with pytest.raises(DataError, match=r"choose the candle timeframe with --timeframe \(found: 5m, 1h\)"):
        load_freqtrade_dir(tmp_path)
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    with pytest.raises(DataError, match=r"looked in .*elsewhere/user_data/data/binance/futures"):
        load_freqtrade_dir(empty)


def test_notes_describe_the_window_not_the_whole_file(tmp_path: Path) -> None:
    _standard_layout(tmp_path)
    data = load_freqtrade_dir(tmp_path, timeframe="1h")
    assert any("mark price missing for 8 of 48 bars" in n for n in data.all_notes())
    early = data.slice(T0, T0 + pd.Timedelta("24h"))
    assert not any("mark price missing" in n for n in early.all_notes())
    late = data.slice(T0 + pd.Timedelta("44h"), None)
    assert any("mark price missing for 4 of 4 bars" in n for n in late.all_notes())
