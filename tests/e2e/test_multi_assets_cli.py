"""Multi-Assets mode through the CLI: Binance's published example, and the commands that honour it."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from support import EXAMPLES, invoke, write

EXAMPLE = EXAMPLES / "multi_assets_binance.toml"
D = Decimal


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
    assert pos["liquidation_price"] == "51413.88174807"
    assert pos["bankruptcy_price"] == "51282.05128205"  # 100,000 / 1.95
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


# ---------------------------------------------------------------- run


CRASH = Path(__file__).parents[2] / "src" / "marginlab" / "examples" / "multi_assets_crash.toml"


def test_run_revalues_the_btc_collateral_and_liquidates_the_whole_pool() -> None:
    code, out, err = invoke("run", str(CRASH), "--json")
    assert code == 0, err
    doc = json.loads(out)
    opened, at_80k, at_50k = doc["steps"]
    assert opened["ok"] and at_80k["ok"] and at_50k["ok"]
    assert [e["kind"] for e in at_80k["events"]] == ["mark_updated"]
    kinds = [e["kind"] for e in at_50k["events"]]
    assert kinds == [
        "mark_updated",
        "liquidated",
        "collateral_seized",
        "collateral_seized",
        "collateral_seized",
    ]
    liquidated = at_50k["events"][1]
    # the liquidation price is 50,385.5 (test below): the 50,000 mark is past it
    seized = {e["asset"]: e for e in at_50k["events"][2:]}
    assert seized["BTC"]["amount"] == "1"
    assert seized["BTC"]["value"] == "50000"  # the crash hit the collateral: 1 BTC at the 50,000 mark
    assert seized["USDC"]["amount"] == "2000"
    assert seized["USDT"]["amount"] == "-50050"  # the fee and the loss, a debt
    # everything the pool held: 50,000 (BTC) + 2,000 (USDC) - 50 (the opening fee, owed in USDT)
    assert liquidated["loss"] == "51950"
    assert doc["positions"] == []
    assert doc["collateral_seized"] == {"BTC": "1", "USDC": "2000", "USDT": "-50050"}


def test_run_liquidation_price_counts_the_collateral_falling_with_btc(tmp_path: Path) -> None:
    text = CRASH.read_text(encoding="utf-8").rsplit("[[steps]]", 1)[0]  # stop at the 80,000 mark
    code, out, err = invoke("run", str(write(tmp_path, "to80k.toml", text)), "--json")
    assert code == 0, err
    doc = json.loads(out)
    (pos,) = doc["positions"]
    # 0.95 P (BTC) + 2000 * 0.9999 (USDC) + (P - 100,000) - 50 (USDT: a debt, at the ask) = 0.004 P
    # -> P = 98,050.2 / 1.946
    assert pos["liquidation_price"] == "50385.50873587"
    pool = {a["asset"]: a for a in doc["multi_assets"]["assets"]}
    assert pool["BTC"]["index_price"] == "80000"  # re-valued by the BTCUSDT mark
    assert pool["BTC"]["value"] == "76000"


def test_run_refuses_an_isolated_open_in_multi_assets_mode(tmp_path: Path) -> None:
    text = CRASH.read_text(encoding="utf-8").replace('leverage = "10"', 'leverage = "10"\nmode = "isolated"')
    code, out, _ = invoke("run", str(write(tmp_path, "iso.toml", text)), "--json")
    assert code == 1
    step = json.loads(out)["steps"][0]
    assert not step["ok"]
    assert "cross only" in step["error"]


def test_run_needs_a_price_for_every_coin_balance(tmp_path: Path) -> None:
    text = CRASH.read_text(encoding="utf-8").replace('BTC = "100000"', "")
    code, _, err = invoke("run", str(write(tmp_path, "noprice.toml", text)))
    assert code == 2
    assert "index_prices.BTC" in err


# ---------------------------------------------------------------- modes

MODES_BOOK = """
exchange = "binance"
multi_assets = true
[balances]
BTC = "1"
USDT = "2000"
[[positions]]
symbol = "BTCUSDT"
side = "long"
qty = "0.1"
entry = "100000"
leverage = "10"
"""


def test_modes_compares_multi_assets_cross_with_leaving_it(tmp_path: Path) -> None:
    code, out, err = invoke("modes", str(write(tmp_path, "book.toml", MODES_BOOK)), "--json")
    assert code == 0, err
    doc = json.loads(out)
    cross, isolated = doc["modes"]["cross"], doc["modes"]["isolated"]
    assert "multi_assets" in cross
    assert "multi_assets" not in isolated
    # cross: 0.95 P (BTC) + 2000 + 0.1 (P - 100,000) (USDT, a debt below 80,000) = 0.0004 P
    assert cross["positions"][0]["liquidation_price"] == "7621.95121951"
    # isolated, single-asset: 1,000 USDT of margin -> 100,000 * 0.9 / 0.996
    assert isolated["positions"][0]["liquidation_price"] == "90361.44578313"
    assert isolated["account"]["cross_wallet_balance"] == "1000"
    assert any("leaving Multi-Assets mode" in note for note in doc["notes"])
    code, table, _ = invoke("modes", str(write(tmp_path, "book.toml", MODES_BOOK)))
    assert code == 0
    assert "(Multi-Assets)" in table
    assert "(single-asset)" in table
    assert "leaving Multi-Assets mode" in table.replace("\n", " ")


def test_modes_says_when_the_settlement_asset_cannot_fund_isolated_margin() -> None:
    code, _, err = invoke("modes", str(EXAMPLE))
    assert code == 2
    assert "all-isolated leaves Multi-Assets mode" in err
    assert "240 USDC" in err


# ---------------------------------------------------------------- risk


def test_risk_simulates_the_pool_with_the_btc_collateral_on_the_paths(tmp_path: Path) -> None:
    path = write(tmp_path, "book.toml", MODES_BOOK)
    code, out, err = invoke("risk", str(path), "--paths", "2000", "--seed", "1", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["asset"] == "USD"
    assert set(doc["modes"]) == {"cross", "isolated", "hybrid"}
    # paths start at the entry: 1 BTC at 100,000 + 2,000 USDT, in USD, in every mode (isolated: 1,000 USDT of
    # isolated margin, 1,000 USDT of wallet, the BTC idle)
    for mode in doc["modes"].values():
        assert mode["start_equity"] == 102000.0
    assert doc["modes"]["cross"]["positions"][0]["mode"] == "cross"
    assert doc["modes"]["isolated"]["positions"][0]["mode"] == "isolated"
    assert "BTC collateral moves with BTCUSDT's simulated path" in doc["notes"]
    assert any(note.startswith("isolated: leaves Multi-Assets mode") for note in doc["notes"])
    assert 0.0 <= doc["modes"]["cross"]["p_any_liquidation"] <= 1.0


def test_advise_weighs_leaving_the_mode_for_an_isolated_trade(tmp_path: Path) -> None:
    path = write(tmp_path, "book.toml", MODES_BOOK)
    trade = "ETHUSDT long notional=5000 leverage=10"
    code, out, err = invoke("advise", str(path), "--trade", trade, "--paths", "1000", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["recommendation"] in ("cross", "isolated")
    assert set(doc["evidence"]) == {"cross", "isolated"}
    assert {e["asset"] for e in doc["evidence"].values()} == {"USD"}
    reason = next(r for r in doc["reasons"] if r["criterion"] == "Multi-Assets mode")
    assert reason["weight"] == 0
    assert "leaving the mode" in reason["text"]


def test_advise_says_when_leaving_the_mode_would_liquidate_the_open_cross_book(tmp_path: Path) -> None:
    # 0.1 BTC is the only collateral: out of Multi-Assets mode the long has no USDT behind it
    text = MODES_BOOK.replace('BTC = "1"\nUSDT = "2000"', 'BTC = "0.1"')
    path = write(tmp_path, "btc_only.toml", text)
    trade = "ETHUSDT long notional=5000 leverage=10"
    code, out, err = invoke("advise", str(path), "--trade", trade, "--paths", "500", "--json")
    assert code == 0, err
    reason = next(r for r in json.loads(out)["reasons"] if r["criterion"] == "Multi-Assets mode")
    # no USDT (uPnL 0 at the entry) against 0.1 x 100,000 x 0.4 % (BTCUSDT's first tier) = 40 USDT
    assert "cross positions then have 0.00 USDT against a maintenance margin of 40.00 USDT" in reason["text"]
    assert "liquidated at the start" in reason["text"]


# ---------------------------------------------------------------- compare

WINDOW = ("--scenario", "2025-10-10", "--start", "2025-10-10T18:00", "--end", "2025-10-11T00:00")
BTC_BACKED_LONG = """
exchange = "binance"
multi_assets = true
[balances]
BTC = "0.1"
[[positions]]
symbol = "BTCUSDT"
side = "long"
notional = "80000"
leverage = "20"
"""


def test_compare_a_crash_hits_the_collateral_too(tmp_path: Path) -> None:
    path = write(tmp_path, "btc.toml", BTC_BACKED_LONG)
    code, out, err = invoke("compare", str(path), *WINDOW, "--modes", "cross", "--json")
    assert code == 0, err
    doc = json.loads(out)
    pooled = doc["modes"]["cross"]
    assert any("exact engine" in note for note in doc["notes"])
    # the same money in USDT, without Multi-Assets: the long alone does not reach its liquidation price
    usdt = BTC_BACKED_LONG.replace("multi_assets = true\n", "").replace(
        'BTC = "0.1"', f'USDT = "{pooled["start_equity"]}"'
    )
    code, out, err = invoke(
        "compare", str(write(tmp_path, "usdt.toml", usdt)), *WINDOW, "--modes", "cross", "--json"
    )
    assert code == 0, err
    plain = json.loads(out)["modes"]["cross"]
    assert plain["start_equity"] == pooled["start_equity"]
    assert plain["liquidations"] == []
    # with 0.1 BTC as collateral the fall of BTC takes the collateral and the long together
    (liquidation,) = pooled["liquidations"]
    assert liquidation["symbol"] == "BTCUSDT"
    assert liquidation["time"] == "2025-10-10T21:15:00Z"
    assert pooled["final_equity"] == "0"


def test_compare_revalues_the_collateral_every_bar(tmp_path: Path) -> None:
    # no position: the equity series is 0.1 BTC at each bar's BTCUSDT mark close (USD, no haircut)
    text = 'exchange = "binance"\nmulti_assets = true\n[balances]\nBTC = "0.1"\n'
    code, out, err = invoke(
        "compare", str(write(tmp_path, "coins.toml", text)), *WINDOW, "--modes", "cross", "--json"
    )
    assert code == 0, err
    cross = json.loads(out)["modes"]["cross"]
    assert D(cross["start_equity"]) == D("11759.08")  # 0.1 x the first bar's mark open
    assert D(cross["max_drawdown"]) > D("0.1")  # BTC fell more than 10 % in the window


def test_compare_refuses_a_coin_the_data_lacks(tmp_path: Path) -> None:
    text = BTC_BACKED_LONG.replace('BTC = "0.1"', 'BTC = "0.1"\nADA = "1000"')
    code, _, err = invoke("compare", str(write(tmp_path, "ada.toml", text)), *WINDOW)
    assert code == 2
    assert "balances.ADA" in err
    assert "ADAUSDT" in err
    assert len(err.strip().splitlines()) == 1


def test_compare_leaves_out_an_isolated_mode_the_settlement_wallet_cannot_fund(tmp_path: Path) -> None:
    path = write(tmp_path, "btc.toml", BTC_BACKED_LONG)
    code, out, err = invoke("compare", str(path), *WINDOW, "--modes", "cross,isolated", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert list(doc["modes"]) == ["cross"]
    assert any(note.startswith("isolated: not replayed") and "USDT" in note for note in doc["notes"])


def test_venues_lists_the_multi_assets_table_with_its_sources() -> None:
    code, out, _ = invoke("venues", "--json")
    assert code == 0
    binance, bybit = (v for v in json.loads(out) if v["name"] in ("binance", "bybit"))
    assert "BTC 95 %" in binance["multi_assets"]
    assert "USDT 99.99 %" in binance["multi_assets"]
    assert "2021-05-28" in binance["multi_assets"]
    assert any("c983a9268cfa4e70a4916c276bb3b7bc" in s["url"] for s in binance["sources"])
    assert bybit["multi_assets"] is None
