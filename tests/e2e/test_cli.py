"""End-to-end tests of the ``marginlab`` command: real files in, JSON or one-line errors out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import EXAMPLES, invoke, write

FAQ_CROSS = """
exchange = "binance"
[balances]
USDT = "1535443.01"
[[positions]]
symbol = "BTCUSDT"
side = "long"
qty = "109.488"
entry = "32481.98"
mark = "31967.27"
leverage = "20"
mmr = "0.025"
maintenance_amount = "16300"
[[positions]]
symbol = "ETHUSDT"
side = "long"
qty = "3683.979"
entry = "1456.84"
mark = "1335.18"
leverage = "20"
mmr = "0.10"
maintenance_amount = "135365"
"""


def test_liq_json_reproduces_the_seed_isolated_example() -> None:
    code, out, _ = invoke("liq", str(EXAMPLES / "seed.toml"), "--json")
    assert code == 0
    doc = json.loads(out)
    (pos,) = doc["positions"]
    assert doc["exchange"] == "binance"
    assert pos["liquidation_price"] == "90361.44578313"  # 100000 * 0.9 / 0.996, exact to 8 places (no tick)
    assert pos["bankruptcy_price"] == "90000"
    assert pos["margin"] == "500"
    assert pos["maintenance_margin"] == "20"
    assert pos["distance_to_liquidation"] == "0.09638554"
    assert doc["account"]["wallet_balance"] == "10000"
    assert doc["account"]["available_balance"] == "9500"


def test_liq_json_reproduces_the_binance_faq_cross_example(tmp_path: Path) -> None:
    code, out, _ = invoke("liq", str(write(tmp_path, "faq.toml", FAQ_CROSS)), "--json")
    assert code == 0
    doc = json.loads(out)
    btc, eth = doc["positions"]
    # FAQ: 26,316.89; JSON carries the exact price to 8 places like positionRisk (the table rounds to 0.1)
    assert btc["liquidation_price"] == "26316.89326452"
    assert eth["liquidation_price"] == "1153.25646424"  # FAQ: 1,153.26
    assert btc["maintenance_margin"] == "71200.811444"  # 109.488 * 31967.27 * 0.025 - 16300
    assert eth["maintenance_margin"] == "356512.508122"  # 3683.979 * 1335.18 * 0.10 - 135365
    assert doc["account"]["margin_ratio"] == "0.41489491"
    assert doc["account"]["margin_balance"] == "1030895.55638"  # WB + uPnL (-56354.56848 - 448192.88514)


def test_modes_shows_no_cross_liquidation_price_for_the_seed() -> None:
    code, out, _ = invoke("modes", str(EXAMPLES / "seed.toml"), "--json")
    assert code == 0
    modes = json.loads(out)["modes"]
    assert modes["cross"]["positions"][0]["liquidation_price"] is None
    assert modes["cross"]["account"]["wallet_balance"] == "10000"
    assert modes["isolated"]["positions"][0]["liquidation_price"] == "90361.44578313"
    assert modes["isolated"]["positions"][0]["margin"] == "500"


def test_modes_table_names_both_modes() -> None:
    code, out, _ = invoke("modes", str(EXAMPLES / "seed.toml"))
    assert code == 0
    assert "cross" in out and "isolated" in out and "90361.4" in out


def test_liq_table_renders_the_liquidation_price() -> None:
    code, out, _ = invoke("liq", str(EXAMPLES / "seed.toml"))
    assert code == 0
    assert "90361.4" in out and "9.64 %" in out
    assert "90361.45" not in out  # people read the price at BTCUSDT's 0.1 tick …
    assert "prices to the tick; --json: 8 decimals" in out  # … and the caption says so


def test_liq_table_rounds_the_faq_price_to_the_tick_and_json_does_not(tmp_path: Path) -> None:
    path = write(tmp_path, "faq.toml", FAQ_CROSS)
    _, table, _ = invoke("liq", str(path))
    _, out, _ = invoke("liq", str(path), "--json")
    assert "26316.9" in table and "26316.89" not in table
    assert json.loads(out)["positions"][0]["liquidation_price"].startswith("26316.89")


def test_liq_reads_json_portfolios_and_custom_symbols(tmp_path: Path) -> None:
    doc = {
        "exchange": "binance",
        "balances": {"USDT": 1000},
        "positions": [
            {
                "symbol": "NEWCOINUSDT",
                "side": "short",
                "qty": "10",
                "entry": "2",
                "mode": "isolated",
                "leverage": "4",
                "mmr": "0.02",
                "max_leverage": "10",
            }
        ],
    }
    code, out, err = invoke("liq", str(write(tmp_path, "p.json", json.dumps(doc))), "--json")
    assert code == 0, err
    (pos,) = json.loads(out)["positions"]
    # short, margin 5 = 20/4: LP = (5 + 10*2) / (10*0.02 + 10) = 2.45098039...
    assert pos["liquidation_price"] == "2.45098039"
    assert pos["bankruptcy_price"] == "2.5"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[positions]]\nsymbol="BTCUSDT"\nside="long"\nqty="-1"\nentry="1"\n', "positions[0].qty"),
        ('[[positions]]\nsymbol="BTCUSDT"\nside="sideways"\nqty="1"\nentry="1"\n', "positions[0].side"),
        ('[[positions]]\nsymbol="FOOUSDT"\nside="long"\nqty="1"\nentry="1"\n', "'FOOUSDT'"),
        ('[[positions]]\nsymbol="BTCUSDT"\nside="long"\nqty="1"\nentry="1"\nlevrage="3"\n', "levrage"),
        ('[[positions]]\nsymbol="BTCUSDT"\nside="long"\nqty="1"\nentry="1"\nleverage="500"\n', "500"),
        ('exchange="nowhere"\n', "nowhere"),
        ("this is not toml", "not valid TOML"),
    ],
)
def test_bad_portfolios_exit_non_zero_with_one_line_naming_the_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    code, out, err = invoke("liq", str(write(tmp_path, "bad.toml", text)))
    assert code == 2
    assert out == ""
    assert expected in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = invoke("liq", str(tmp_path / "nope.toml"))
    assert code == 2 and "nope.toml" in err and "cannot read" in err


def test_exchange_option_overrides_the_file(tmp_path: Path) -> None:
    code, _, err = invoke("liq", str(EXAMPLES / "seed.toml"), "--exchange", "nowhere")
    assert code == 2 and "known: binance" in err


def test_tiers_file_replaces_the_bundled_tiers(tmp_path: Path) -> None:
    tiers = {
        "BTC/USDT:USDT": [
            {
                "tier": 1,
                "minNotional": 0,
                "maxNotional": 1000,
                "maintenanceMarginRate": "0.01",
                "maxLeverage": 20,
                "info": {"cum": "0"},
            },
            {
                "tier": 2,
                "minNotional": 1000,
                "maxNotional": 1000000,
                "maintenanceMarginRate": "0.02",
                "maxLeverage": 10,
                "info": {"cum": "10"},
            },
        ]
    }
    path = write(tmp_path, "tiers.json", json.dumps(tiers))
    code, out, err = invoke("liq", str(EXAMPLES / "seed.toml"), "--tiers", str(path), "--json")
    assert code == 0, err
    (pos,) = json.loads(out)["positions"]
    # notional at the liquidation price ~4,600 > 1,000: tier 2. LP = (500 + 10 - 5000) / (0.05*0.02 - 0.05)
    assert pos["mmr"] == "0.02"
    assert pos["liquidation_price"] == "91632.65306122"


def test_run_script_json_reports_steps_events_and_final_state() -> None:
    code, out, _ = invoke("run", str(EXAMPLES / "seed_crash.toml"), "--json", "--keep-going")
    assert code == 0
    doc = json.loads(out)
    oks = [s["ok"] for s in doc["steps"]]
    assert oks == [True, True, True, True, True, False, True, True]
    assert "binance.mode_switch" in doc["steps"][5]["error"]
    kinds = [e["kind"] for e in doc["steps"][6]["events"]]
    assert kinds == ["mark_updated", "mark_updated", "liquidated"]
    liquidated = doc["steps"][6]["events"][2]
    assert liquidated["symbol"] == "BTCUSDT"
    assert liquidated["bankruptcy_price"] == "88010"  # entry - margin/qty = 100000 - 599.5/0.05
    assert liquidated["loss"] == "599.5"
    assert liquidated["insurance_fund_delta"] == "-0.5"  # the mark gapped 10 below bankruptcy: 0.05*10
    assert doc["positions"] == []
    # 10000 - fees (2.5 + 2 + 1.76) - funding (0.5 + 0.4) - BTC margin 599.5 (incl. the 100 added)
    # - ETH loss 480
    assert doc["account"]["wallet_balance"] == "8913.34"
    assert doc["fees_paid"] == "6.26"
    assert doc["insurance_fund"] == "-0.5"


def test_run_stops_at_a_rejected_step_without_keep_going(tmp_path: Path) -> None:
    text = (EXAMPLES / "seed_crash.toml").read_text(encoding="utf-8")
    unexpected = write(tmp_path, "s.toml", text.replace('expect = "refused"', ""))
    code, out, _ = invoke("run", str(unexpected), "--json")
    assert code == 1
    steps = json.loads(out)["steps"]
    assert len(steps) == 6 and steps[-1]["ok"] is False


def test_run_rejects_a_bad_step_with_its_path(tmp_path: Path) -> None:
    script = write(tmp_path, "s.toml", '[[steps]]\nop = "teleport"\n')
    code, _, err = invoke("run", str(script))
    assert code == 2 and "steps[0].op" in err and "teleport" in err


def test_venues_lists_binance_with_its_sources() -> None:
    code, out, _ = invoke("venues", "--json")
    assert code == 0
    binance = next(v for v in json.loads(out) if v["name"] == "binance")
    assert binance["mode_switch"] == "flat_only"
    assert all(s["checked"] for s in binance["sources"])
