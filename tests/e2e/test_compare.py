"""End-to-end tests of ``marginlab compare`` and ``marginlab scenarios`` on bundled Binance data."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from marginlab import Account, MarginMode, Side, get_venue
from marginlab.cli import cli
from marginlab.io.bars import to_decimal
from marginlab.io.scenarios import load_scenario

runner = CliRunner()
# 16:05 to 23:55 on 2025-10-10 holds no funding event (they settle at 00, 08 and 16 UTC), so an isolated
# position's margin and liquidation price stay what they were at the open.
START, END = "2025-10-10T16:05", "2025-10-10T23:55"
PORTFOLIO = """
exchange = "binance"
[balances]
USDT = "10000"
[[positions]]
symbol = "BTCUSDT"
side = "long"
notional = "20000"
leverage = "10"
mode = "cross"
[[positions]]
symbol = "ETHUSDT"
side = "long"
notional = "15000"
leverage = "10"
mode = "cross"
[[positions]]
symbol = "DOGEUSDT"
side = "long"
notional = "10000"
leverage = "50"
mode = "isolated"
"""


def run_compare(tmp_path: Path, *extra: str) -> dict:
    path = tmp_path / "p.toml"
    path.write_text(PORTFOLIO, encoding="utf-8")
    result = runner.invoke(
        cli,
        ["compare", str(path), "--scenario", "2025-10-10", "--start", START, "--end", END, "--json", *extra],
    )
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def expected_isolated_liquidation(symbol: str, notional: str, leverage: int) -> tuple[str, Decimal]:
    """Return (bar time, mark) of the first bar whose mark low reaches the position's liquidation price.

    Derived independently of the replay: the position opens at the window's first open (qty rounded down
    to the lot), the exact engine gives its isolated liquidation price, then we scan the mark lows.
    """
    market = load_scenario("2025-10-10").slice(START, END)
    venue = get_venue("binance")
    instrument = venue.instrument(symbol)
    entry = to_decimal(market.ohlc(symbol, "last")[0, 0])
    qty = instrument.round_qty_down(Decimal(notional) / entry)
    account = Account(venue, balances={"USDT": Decimal(0)})
    account.import_position(
        instrument, Side.LONG, qty, entry, leverage=Decimal(leverage), mode=MarginMode.ISOLATED
    )
    liq = account.liquidation_price(account.position(symbol))
    assert liq is not None
    lows = market.ohlc(symbol, "mark")[:, 2]
    hit = int(np.argmax(lows <= float(liq)))
    assert lows[hit] <= float(liq)
    return market.index[hit].strftime("%Y-%m-%dT%H:%M:%SZ"), to_decimal(lows[hit])


@pytest.mark.parametrize("engine", ["exact", "fast"])
def test_isolated_liquidations_match_an_independent_scan_of_the_mark_lows(
    tmp_path: Path, engine: str
) -> None:
    doc = run_compare(tmp_path, "--engine", engine)
    liquidations = {x["symbol"]: x for x in doc["modes"]["isolated"]["liquidations"]}
    for symbol, notional, leverage in (
        ("DOGEUSDT", "10000", 50),
        ("BTCUSDT", "20000", 10),
        ("ETHUSDT", "15000", 10),
    ):
        time, mark = expected_isolated_liquidation(symbol, notional, leverage)
        assert liquidations[symbol]["time"] == time
        assert Decimal(liquidations[symbol]["mark"]) == mark
    # hybrid: only DOGE is isolated there, and it dies at the same bar
    (doge,) = [x for x in doc["modes"]["hybrid"]["liquidations"] if x["symbol"] == "DOGEUSDT"]
    assert doge["time"] == liquidations["DOGEUSDT"]["time"]


def test_isolated_loss_is_the_margin_plus_fees_and_cross_loses_the_account(tmp_path: Path) -> None:
    doc = run_compare(tmp_path, "--engine", "exact")
    doge = next(x for x in doc["modes"]["hybrid"]["liquidations"] if x["symbol"] == "DOGEUSDT")
    # the $200 margin of a $10,000 50x position (qty rounded down to the lot) plus its 0.05 % taker fee
    assert Decimal("199") < Decimal(doge["loss"]) <= Decimal("205")
    cross = doc["modes"]["cross"]
    assert cross["final_equity"] == "0"
    assert {x["symbol"] for x in cross["liquidations"]} == {"BTCUSDT", "ETHUSDT", "DOGEUSDT"}
    assert doc["scenario"]["interval"] == "5m"
    for mode in ("cross", "isolated", "hybrid"):
        result = doc["modes"][mode]
        pnl = Decimal(result["final_equity"]) - Decimal(result["start_equity"])
        assert abs(Decimal(result["pnl"]) - pnl) <= Decimal("1e-8")  # each rounded to 8 places
        assert result["verdict"].startswith(f"{mode}:")


def test_fast_and_exact_engines_agree_on_the_bundled_crash(tmp_path: Path) -> None:
    fast = run_compare(tmp_path, "--engine", "fast")["modes"]
    exact = run_compare(tmp_path, "--engine", "exact")["modes"]
    for mode in ("cross", "isolated", "hybrid"):
        assert [(x["symbol"], x["time"]) for x in fast[mode]["liquidations"]] == [
            (x["symbol"], x["time"]) for x in exact[mode]["liquidations"]
        ]
        assert float(fast[mode]["final_equity"]) == pytest.approx(
            float(exact[mode]["final_equity"]), rel=1e-9, abs=1e-9
        )


def test_report_is_a_self_contained_html_file(tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    run_compare(tmp_path, "--engine", "exact", "--report", str(report))
    html = report.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "<script src=" not in html  # plotly.js is inlined: the file works offline
    assert len(html) > 3_000_000
    assert "DOGEUSDT" in html and "liq. price" in html


def test_scenarios_lists_every_bundled_window() -> None:
    result = runner.invoke(cli, ["scenarios", "--json"])
    assert result.exit_code == 0
    names = [s["name"] for s in json.loads(result.stdout)]
    assert names == [
        "2020-03-12",
        "2021-05-19",
        "2022-06-13",
        "2022-11-09",
        "2025-04-07",
        "2025-10-10",
        "2025-05",
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--scenario", "1999-01-01"], "1999-01-01"),
        (["--scenario", "2025-10-10", "--start", "2030-01-01"], "no bars"),
        (["--scenario", "2025-10-10", "--modes", "cross,sideways"], "--modes"),
        (["--scenario", "2025-10-10", "--datadir", "x"], "exactly one"),
        ([], "exactly one"),
    ],
)
def test_bad_compare_options_are_one_line_errors(tmp_path: Path, args: list[str], expected: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(PORTFOLIO, encoding="utf-8")
    result = runner.invoke(cli, ["compare", str(path), *args])
    assert result.exit_code == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
