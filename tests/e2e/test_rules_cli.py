"""End-to-end tests of venue rules through the CLI: real ccxt tier dumps, venue-derived overrides."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from marginlab.cli import cli

D = Decimal
TIERS = Path(__file__).parents[1] / "data" / "binance-tiers"
runner = CliRunner()

BIG_BTC_LONG = """
exchange = "binance"
[balances]
USDT = "0"
[[positions]]
symbol = "BTC/USDT:USDT"
side = "long"
qty = "35"
entry = "100000"
mode = "isolated"
leverage = "10"
margin = "350000"
"""


def liq(tmp_path: Path, portfolio: str, *extra: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    path = tmp_path / "portfolio.toml"
    path.write_text(portfolio, encoding="utf-8")
    result = runner.invoke(cli, ["liq", str(path), "--json", *extra])
    return result.exit_code, json.loads(result.stdout) if result.exit_code == 0 else {}, result.stderr


def test_real_binance_dump_prices_btc_with_the_perpetuals_tiers(tmp_path: Path) -> None:
    tiers = TIERS / "binance_usdm_tiers_2026-09_subset.json"
    code, doc, err = liq(tmp_path, BIG_BTC_LONG, "--tiers", str(tiers))
    assert code == 0, err
    (pos,) = doc["positions"]
    # 35 BTC isolated, margin 350,000: at the liquidation price (notional ~3.17 M) the perpetual's tier 4
    # applies (1 %, cum 12,000): LP = (350,000 + 12,000 - 3,500,000) / (35 * 0.01 - 35) = 90,562.77...
    # The quarterly's tiers (10 %, cum 111,750) gave 96,452.38.
    assert D(pos["mmr"]) == D("0.01")
    assert D(pos["maintenance_amount"]) == D(12000)
    assert abs(D(pos["liquidation_price"]) - D("90562.7706")) <= D("0.05")


def test_dated_future_in_a_portfolio_is_one_line_exit_2(tmp_path: Path) -> None:
    portfolio = BIG_BTC_LONG.replace("BTC/USDT:USDT", "BTC/USDT:USDT-260925")
    code, _, err = liq(tmp_path, portfolio)
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "dated future" in err and "perpetuals only" in err


HIP3 = """
exchange = "hyperliquid"
[balances]
USDC = "1000"
[[positions]]
symbol = "XYZ-AAPL/USDC:USDC"
side = "long"
qty = "10"
entry = "200"
mode = "isolated"
leverage = "5"
max_leverage = "10"
"""


def test_hyperliquid_market_defined_by_max_leverage_alone(tmp_path: Path) -> None:
    code, doc, err = liq(tmp_path, HIP3)
    assert code == 0, err
    (pos,) = doc["positions"]
    # MMR = 1 / (2 * 10) = 5 %; margin 400: 400 + 10 (P - 200) = 0.5 P  ->  P = 1,600 / 9.5 = 168.4210526...
    assert D(pos["mmr"]) == D("0.05")
    assert abs(D(pos["liquidation_price"]) - D("168.42105263")) <= D("0.00000001")
    assert doc["account"]["asset"] == "USDC"


DYDX_CROSS = """
exchange = "dydx"
[balances]
USDC = "1000"
[[positions]]
symbol = "ETH-USD"
side = "short"
qty = "1.5"
entry = "3000"
mode = "cross"
leverage = "10"
mmr = "0.05"
[[positions]]
symbol = "STRK/USD:USDC"
side = "long"
qty = "1000"
entry = "1.75"
mode = "cross"
leverage = "5"
mmr = "0.1"
"""


def test_dydx_docs_cross_example_with_a_market_defined_by_its_mmr(tmp_path: Path) -> None:
    # liquidations.mdx: STRK (not bundled, MMF 10 %) joins the USDC cross pool, so its maintenance margin
    # (175) lowers ETH's liquidation price: p' = (1,000 + 4,500 - 175) / 1.575 = 3,380.95
    code, doc, err = liq(tmp_path, DYDX_CROSS)
    assert code == 0, err
    eth, strk = doc["positions"]
    assert D(strk["maintenance_margin"]) == D(175)
    assert abs(D(eth["liquidation_price"]) - D("3380.95238095")) <= D("0.00000001")
    assert D(doc["account"]["maintenance_margin"]) == D(400)


def test_venues_cites_the_venues_own_pages_with_dates() -> None:
    result = runner.invoke(cli, ["venues"])
    assert result.exit_code == 0
    out = " ".join(result.stdout.split())  # the terminal wraps long lines
    assert "Position tiers: MM, contract-count tiers, margin ratio: https://tr.okx.com/help/tier" in out
    assert "https://www.gate.io/fee" not in out  # fees not re-checked are notes, not sources
    assert out.count("(checked 2026-11-25)") == 35  # every source of the seven rule sets
    assert "exchange-rules" not in out and "reference/" not in out
