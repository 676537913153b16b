"""Multi-Assets mode through the CLI: Binance's published example, and the commands that honour it."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from marginlab.cli import cli

EXAMPLE = Path(__file__).parents[2] / "src" / "marginlab" / "examples" / "multi_assets_binance.toml"
runner = CliRunner()
D = Decimal


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def cents(text: str) -> Decimal:
    return D(text).quantize(D("0.01"), ROUND_HALF_UP)


def test_liq_reproduces_binance_published_multi_assets_example_with_positions() -> None:
    code, out, err = invoke("liq", str(EXAMPLE), "--json")
    assert code == 0, err
    doc = json.loads(out)
    pool = doc["multi_assets"]
    usdt, usdc = pool["assets"]
    assert (usdt["asset"], usdt["bid_rate"], usdt["ask_rate"], usdt["value"]) == (
        "USDT",
        "0.9801",
        "0.99495",
        "196.02",
    )
    assert (usdc["asset"], usdc["bid_rate"], usdc["ask_rate"], usdc["value"]) == ("USDC", "1", "1", "220")
    assert pool["account_equity"] == "416.02"
    # 0.5 * 20,000 * 0.01 * 0.99495 + 20 * 600 * 0.02 * 1
    assert pool["account_initial_margin"] == "339.495"
    assert pool["available_for_order"] == "76.525"  # uniAvailableForOrder
    assert cents(usdt["available_for_order"]) == D("76.91")
    assert usdc["available_for_order"] == "76.525"
    assert pool["account_maintenance_margin"] == "199.596"
    assert D(pool["margin_ratio"]) * 100 == D("47.977501")  # 199.596 / 416.02 = 47.98 %
    assert [p["margin_ratio"] for p in doc["positions"]] == [pool["margin_ratio"]] * 2


def test_liq_reproduces_the_example_without_positions(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").split("[[positions]]")[0]
    code, out, err = invoke("liq", str(write(tmp_path, "flat.toml", text)), "--json")
    assert code == 0, err
    pool = json.loads(out)["multi_assets"]
    assert pool["account_equity"] == "416.02"  # 200 * 0.9801 + 220 * 1
    assert pool["available_for_order"] == "416.02"
    usdt, usdc = pool["assets"]
    assert cents(usdt["available_for_order"]) == D("418.13")  # 416.02 / 0.99495
    assert usdc["available_for_order"] == "416.02"
    assert pool["margin_ratio"] == "0"


def test_liq_table_shows_the_pool_in_multi_assets_terms() -> None:
    code, out, _ = invoke("liq", str(EXAMPLE))
    assert code == 0
    assert "Multi-Assets pool" in out
    assert "equity 416.02" in out
    assert "margin ratio 47.98 %" in out
    assert "0.9801" in out
    assert "0.99495" in out


BTC_COLLATERAL = """
exchange = "binance"
multi_assets = true
[balances]
BTC = "1"
[[positions]]
symbol = "BTCUSDT"
side = "long"
qty = "1"
entry = "100000"
leverage = "10"
mmr = "0.005"
"""


def test_liq_counts_a_btc_wallet_falling_with_a_btc_long(tmp_path: Path) -> None:
    code, out, err = invoke("liq", str(write(tmp_path, "btc.toml", BTC_COLLATERAL)), "--json")
    assert code == 0, err
    doc = json.loads(out)
    (pos,) = doc["positions"]
    # 0.95 P + (P - 100,000) = 0.005 P: the BTC wallet (95 % haircut) loses value with the long
    assert pos["liquidation_price"] == "51413.9"
    assert pos["bankruptcy_price"] == "51282.1"  # 100,000 / 1.95
    btc = doc["multi_assets"]["assets"][0]
    assert (btc["asset"], btc["index_price"], btc["value"]) == ("BTC", "100000", "95000")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('exchange = "bybit"\nmulti_assets = true\n[balances]\nBTC = "1"\n', "Bybit"),
        ('multi_assets = true\n[balances]\nDOGE = "1"\n', "balances.DOGE"),
        ('[index_prices]\nBTC = "100000"\n', "multi_assets = true"),
        ('multi_assets = true\n[balances]\nETH = "1"\n', "index_prices.ETH"),
        ('multi_assets = true\n[collateral.USDT]\nvalue_ratio = "1.5"\n', "collateral.USDT.value_ratio"),
        (
            BTC_COLLATERAL.replace("[balances]", '[index_prices]\nBTC = "99000"\n[balances]'),
            "index_prices.BTC",
        ),
        (
            BTC_COLLATERAL.replace('leverage = "10"', 'leverage = "10"\nmode = "isolated"'),
            "cross only",
        ),
    ],
)
def test_bad_multi_assets_portfolios_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    code, out, err = invoke("liq", str(write(tmp_path, "bad.toml", text)))
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out
