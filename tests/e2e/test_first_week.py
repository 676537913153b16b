"""Issue 12, "a trader's first week": every point through the CLI, as a new user would meet it.

The book is the issue's: a $10,000 USDT account, 0.1 BTC long 10x cross, 2 ETH short 20x isolated and a
small DOGE long 25x isolated.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from marginlab.cli import cli
from marginlab.io.scenarios import load_scenario

EXAMPLES = Path(__file__).parents[2] / "src" / "marginlab" / "examples"
runner = CliRunner()
CRASH = load_scenario("2025-10-10")
FIRST = {s: float(CRASH.ohlc(s, "last")[0, 0]) for s in CRASH.symbols}


def invoke(*args: str, width: int = 100) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args), env={"COLUMNS": str(width)})
    return result.exit_code, result.stdout, result.stderr


def book(
    tmp_path: Path, *, btc: float = 100_000, eth: float = 3_500, doge: float = 0.25, name: str = "b"
) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(
        f"""
exchange = "binance"
[balances]
USDT = "10000"
[[positions]]
symbol = "BTCUSDT"
side = "long"
qty = "0.1"
entry = "{btc}"
leverage = "10"
mode = "cross"
[[positions]]
symbol = "ETHUSDT"
side = "short"
qty = "2"
entry = "{eth}"
leverage = "20"
mode = "isolated"
[[positions]]
symbol = "DOGEUSDT"
side = "long"
notional = "500"
entry = "{doge}"
leverage = "25"
mode = "isolated"
""",
        encoding="utf-8",
    )
    return path


WINDOW = ("--start", "2025-10-09T00:00", "--end", "2025-10-09T06:00")


# -- 1. one portfolio meaning everywhere -------------------------------------------------------------
def test_liq_and_compare_hold_the_same_money_with_or_without_entries(tmp_path: Path) -> None:
    near = book(tmp_path, btc=FIRST["BTCUSDT"], eth=FIRST["ETHUSDT"], doge=FIRST["DOGEUSDT"])
    code, out, _ = invoke("liq", str(near), "--json")
    assert code == 0
    wallet = json.loads(out)["account"]["wallet_balance"]
    assert wallet == "10000" or float(wallet) > 10_000  # the isolated margins sit on top of [balances]
    code, out, _ = invoke("compare", str(near), "--scenario", "2025-10-10", *WINDOW, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["warnings"] == []
    assert {m["start_equity"] for m in doc["modes"].values()} == {wallet}
    code, out, _ = invoke(
        "compare", str(near), "--scenario", "2025-10-10", *WINDOW, "--open-at-start", "--json"
    )
    opened = json.loads(out)  # the same money again, but DOGE buys whole lots: 1956 DOGE, not 1956.41
    assert all(abs(float(m["start_equity"]) - float(wallet)) < 0.01 for m in opened["modes"].values())


def test_a_replay_far_from_the_entries_is_warned_about_and_can_open_at_the_start(tmp_path: Path) -> None:
    today = book(tmp_path)  # entries of a book opened today: ETH 3,500 while the data opens near 4,500
    code, out, _ = invoke("compare", str(today), "--scenario", "2025-10-10", *WINDOW)
    assert code == 0
    warning = next(line for line in out.splitlines() if "positions[1] ETHUSDT short" in line)
    assert warning.startswith("warning:")
    assert "--open-at-start" in out
    code, out, _ = invoke(
        "compare", str(today), "--scenario", "2025-10-10", *WINDOW, "--open-at-start", "--json"
    )
    doc = json.loads(out)
    assert doc["warnings"] == []
    assert not any(x["symbol"] == "ETHUSDT" for m in doc["modes"].values() for x in m["liquidations"])


def test_risk_starts_from_the_position_s_own_mark_unless_asked_for_the_data(tmp_path: Path) -> None:
    one = tmp_path / "one.toml"
    one.write_text(
        '[balances]\nUSDT = "10000"\n[[positions]]\nsymbol = "BTCUSDT"\nside = "long"\nqty = "0.1"\n'
        'entry = "100000"\nleverage = "20"\nmode = "isolated"\n',
        encoding="utf-8",
    )
    common = ("--paths", "20000", "--seed", "3", "--vol", "0.8", "--modes", "isolated", "--json")
    code, out, _ = invoke("risk", str(one), *common)
    assert code == 0
    doc = json.loads(out)
    assert doc["start_prices"]["BTCUSDT"] == 100000.0
    assert 0.2 < doc["modes"]["isolated"]["positions"][0]["p_liquidation"] < 0.3  # about 25 %
    code, out, _ = invoke("risk", str(one), *common, "--start-at-data", "--regime", "crash")
    doc = json.loads(out)
    assert doc["start_prices"]["BTCUSDT"] > 110_000  # the crash data's last mark
    assert doc["modes"]["isolated"]["positions"][0]["p_liquidation"] < 0.01


# -- 2. --datadir on a real freqtrade folder ---------------------------------------------------------
def _freqtrade_root(root: Path) -> Path:
    folder = root / "user_data" / "data" / "binance" / "futures"
    folder.mkdir(parents=True)
    for symbol in ("BTC", "ETH"):
        for tf, freq, n in (("1h", "1h", 48), ("5m", "5min", 48 * 12)):
            frame = CRASH.last[f"{symbol}USDT"].iloc[: n if tf == "5m" else n * 12]
            bars = frame.resample(freq).agg({"open": "first", "high": "max", "low": "min", "close": "last"})
            bars = bars.iloc[:n].reset_index().rename(columns={"time": "date"})
            bars["volume"] = 1.0
            if symbol == "ETH" and tf == "1h":
                bars = bars.drop(index=[30, 31]).reset_index(drop=True)  # a gap late in the file
            bars.to_feather(folder / f"{symbol}_USDT_USDT-{tf}-futures.feather")
    return folder


def test_datadir_finds_the_standard_layout_and_takes_a_timeframe(tmp_path: Path) -> None:
    _freqtrade_root(tmp_path)
    portfolio = tmp_path / "p.toml"
    portfolio.write_text(
        '[balances]\nUSDT = "10000"\n[[positions]]\nsymbol = "BTCUSDT"\nside = "long"\nnotional = "5000"\n'
        'leverage = "5"\n',
        encoding="utf-8",
    )
    code, _, err = invoke("compare", str(portfolio), "--datadir", str(tmp_path))
    assert code == 2 and "--timeframe" in err and "Traceback" not in err and len(err.splitlines()) == 1
    code, out, _ = invoke(
        "compare", str(portfolio), "--datadir", str(tmp_path), "--timeframe", "1h", "--json"
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["scenario"]["interval"] == "1h"
    assert any("freqtrade data found in" in n for n in doc["scenario"]["notes"])
    assert any("missing" in n and n.startswith("ETHUSDT") for n in doc["scenario"]["notes"])
    # the gap (bars 30-31) lies outside the first day: the window replayed reports none of it
    code, out, _ = invoke(
        "compare", str(portfolio), "--datadir", str(tmp_path), "--timeframe", "1h",
        "--start", "2025-10-09T00:00", "--end", "2025-10-10T00:00", "--json",
    )  # fmt: skip
    assert not any("missing" in n for n in json.loads(out)["scenario"]["notes"])
    config = tmp_path / "user_data" / "config.json"
    config.write_text('{"trading_mode": "futures", "datadir": "user_data/data/binance"}', encoding="utf-8")
    code, out, _ = invoke("compare", str(portfolio), "--datadir", str(config), "--timeframe", "5m", "--json")
    assert code == 0 and json.loads(out)["scenario"]["interval"] == "5m"


# -- 3. risk says which volatility it used -----------------------------------------------------------
def test_risk_reports_per_coin_volatility_its_window_and_units(tmp_path: Path) -> None:
    path = book(tmp_path)
    common = ("--paths", "2000", "--steps-per-day", "48", "--seed", "1")
    code, out, _ = invoke("risk", str(path), *common, "--json")
    assert code == 0
    normal = json.loads(out)
    assert normal["estimation_window"]["interval"] == "1h"
    assert normal["estimation_window"]["start"] == "2025-11-21T18:00:00Z"
    assert 0.3 < normal["volatility"]["BTCUSDT"]["annualised"] < 1.0
    assert "positive = money lost" in normal["amounts"]
    code, out, _ = invoke("risk", str(path), *common, "--regime", "crash", "--json")
    crash = json.loads(out)
    assert crash["volatility"]["DOGEUSDT"]["annualised"] > 2 * normal["volatility"]["DOGEUSDT"]["annualised"]
    code, out, _ = invoke("risk", str(path), *common, "--vol", "BTC=0.6,ETH=0.8", "--json")
    given = json.loads(out)["volatility"]
    assert given["BTCUSDT"] == {"annualised": 0.6, "source": "given"}
    assert given["ETHUSDT"]["annualised"] == 0.8 and given["DOGEUSDT"]["source"] == "estimated"
    code, out, _ = invoke("risk", str(path), *common)
    assert "expected loss (USDT)" in out and "a loss is positive" in out
    assert "estimates from 1h mark closes 2025-11-21 18:00" in out
    code, _, err = invoke("risk", str(path), *common, "--vol", "ADA=0.5")
    assert code == 2 and "--vol" in err and "ADA" in err


# -- 4. a script step that is meant to be refused ----------------------------------------------------
def test_the_readme_what_if_script_runs_to_the_end() -> None:
    code, out, err = invoke("run", str(EXAMPLES / "seed_crash.toml"), "--json")
    assert code == 0 and err == ""
    steps = json.loads(out)["steps"]
    assert len(steps) == 8
    assert steps[5]["op"] == "set_mode" and steps[5]["expected_refusal"] is True
    assert any(e["kind"] == "liquidated" and e["symbol"] == "BTCUSDT" for e in steps[6]["events"])
    code, out, _ = invoke("run", str(EXAMPLES / "seed_crash.toml"))
    assert "refused, as expected" in out


# -- 5. advise: one rule, and how to change a mode ----------------------------------------------------
def test_advise_on_a_held_symbol_is_advice_on_adding_to_it(tmp_path: Path) -> None:
    path = book(tmp_path, btc=FIRST["BTCUSDT"], eth=FIRST["ETHUSDT"], doge=FIRST["DOGEUSDT"])
    code, out, err = invoke(
        "advise", str(path), "--trade", "DOGEUSDT long notional=500 leverage=25", "--paths", "2000",
        "--profile", "experience=experienced,risk=high", "--json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["adds_to"] == "positions[2] DOGEUSDT long (isolated)"
    assert not any("DOGEUSDT" in flag for flag in doc["flags"])
    if doc["recommendation"] == "isolated":
        assert doc["action"] == "add to the open DOGEUSDT long position, keeping it isolated"
    else:
        assert "close it and reopen it cross" in doc["action"]
    for flag in doc["flags"]:
        assert "close it and reopen it" in flag  # Binance: no mode switch with a position open


# -- 6. size when the stop lies past liquidation -----------------------------------------------------
def test_size_gives_the_highest_safe_leverage_and_no_loss_at_an_unreachable_stop(tmp_path: Path) -> None:
    args = ("size", "--symbol", "BTCUSDT", "--side", "long", "--equity", "10000", "--risk", "1%")
    code, out, err = invoke(*args, "--entry", "100000", "--stop", "97000", "--leverage", "50", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["loss_at_stop"] is None and doc["safe_leverage"] == "25" and doc["safe_margin"] == "128"
    code, out, err = invoke(*args, "--entry", "100000", "--stop", "97000", "--leverage", "50")
    assert "the stop cannot fill" in out and "highest safe leverage" in out
    assert "at most 25x (margin 128.00 USDT)" in err
    held = book(tmp_path, btc=FIRST["BTCUSDT"], eth=FIRST["ETHUSDT"], doge=FIRST["DOGEUSDT"])
    code, out, _ = invoke(
        *args, "--entry", "200", "--stop", "190", "--leverage", "10", "--mode", "cross",
        "--symbol", "SOLUSDT", "--portfolio", str(held), "--json",
    )  # fmt: skip
    assert code == 0, out
    alone = json.loads(invoke(*args, "--entry", "200", "--stop", "190", "--leverage", "10",
                              "--mode", "cross", "--symbol", "SOLUSDT", "--json")[1])  # fmt: skip
    within = json.loads(out)
    assert alone["liquidation_price"] is None or within["liquidation_price"] is not None


# -- 7 and 8. the HTML report and the closest call ----------------------------------------------------
def test_the_report_puts_the_summary_first_and_shows_every_mode(tmp_path: Path) -> None:
    html_path = tmp_path / "r.html"
    code, out, _ = invoke(
        "compare",
        str(EXAMPLES / "crash_2025_10_10.toml"),
        "--scenario",
        "2025-10-10",
        "--report",
        str(html_path),
    )
    assert code == 0
    html = html_path.read_text(encoding="utf-8")
    assert html.index("<table class='summary'>") < html.index("plotly")
    for row in (
        "fees paid (USDT)",
        "funding (USDT, + received)",
        "max drawdown",
        "liquidations",
        "closest call",
    ):
        assert f"<td>{row}</td>" in html
    figure = json.loads(re.search(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*\{", html, re.S).group(1))  # type: ignore[union-attr]
    names = [t["name"] for t in figure if t.get("showlegend", True) is not False]
    assert len(names) == len(set(names))  # one legend entry per series
    assert {t["xaxis"] for t in figure if t["name"] == "isolated: liquidation"} != {
        t["xaxis"] for t in figure if t["name"] == "hybrid: liquidation"
    }  # each mode in its own column: the isolated markers are not under the hybrid ones
    assert '"text":"equity (USDT)"' in html and "settlement asset" not in html
    layout = json.loads(re.search(r"\],\s*(\{\"template\".*?\}),\s*\{\"responsive\"", html, re.S).group(1))  # type: ignore[union-attr]
    assert layout["yaxis"]["range"][0] > 50_000  # the BTC panel does not start at 0
    assert "liquidated" in out.split("closest call")[1].splitlines()[0]


def test_closest_call_says_liquidated_and_is_defined() -> None:
    code, out, _ = invoke(
        "compare", str(EXAMPLES / "crash_2025_10_10.toml"), "--scenario", "2025-10-10", "--json"
    )
    assert code == 0
    doc = json.loads(out)
    cross = {p["position"]: p for p in doc["modes"]["cross"]["positions"]}
    assert all(p["liquidated_at"] == "2025-10-10T21:15:00Z" for p in cross.values())
    assert all(p["closest_call"] is None for p in cross.values())
    hybrid = {p["position"]: p for p in doc["modes"]["hybrid"]["positions"]}
    assert hybrid["DOGEUSDT long"]["liquidated_at"] is not None
    assert float(hybrid["BTCUSDT long"]["closest_call"]) > 0.05
    assert doc["closest_call"].startswith("closest call: the smallest gap")


# -- 10. small things ----------------------------------------------------------------------------------
def test_version_help_and_80_columns(tmp_path: Path) -> None:
    code, out, _ = invoke("--version")
    assert code == 0 and re.fullmatch(r"marginlab \d+\.\d+\.\d+\S*\n", out)
    for command in ("compare", "risk", "size", "run", "advise", "liq"):
        code, out, _ = invoke(command, "--help", width=80)
        assert code == 0 and "<bool>" not in out
    code, out, _ = invoke("--help", width=80)
    commands = out.split("Commands:")[1]
    assert code == 0 and "..." not in commands and "…" not in commands  # no command summary cut short
    for args in (
        ("venues",),
        ("scenarios",),
        ("compare", str(EXAMPLES / "crash_2025_10_10.toml"), "--scenario", "2025-10-10"),
        ("risk", str(book(tmp_path)), "--paths", "1000", "--steps-per-day", "24"),
    ):
        code, out, _ = invoke(*args, width=80)
        assert code == 0 and "…" not in out, args
        assert max(len(line) for line in out.splitlines()) <= 80


def test_timestamps_carry_a_year_and_amounts_a_unit() -> None:
    code, out, _ = invoke("compare", str(EXAMPLES / "crash_2025_10_10.toml"), "--scenario", "2025-10-10")
    assert code == 0
    assert "BTC 2025-10-10 21:15" in out and "final equity (USDT)" in out


def test_a_coin_the_scenario_lacks_is_skipped_with_a_note(tmp_path: Path) -> None:
    path = book(tmp_path)
    code, out, _ = invoke("compare", str(path), "--scenario", "2020-03-12", "--open-at-start", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["notes"][0].startswith("positions[2] DOGEUSDT long skipped: the data has no DOGEUSDT")


def test_scenario_all_runs_every_bundled_scenario_in_one_table(tmp_path: Path) -> None:
    path = book(tmp_path)
    code, out, _ = invoke(
        "compare", str(path), "--scenario", "all", "--open-at-start", "--modes", "hybrid", width=120
    )
    assert code == 0
    for name in (
        "2020-03-12",
        "2021-05-19",
        "2022-06-13",
        "2022-11-09",
        "2025-04-07",
        "2025-05",
        "2025-10-10",
    ):
        assert name in out
    assert out.count("hybrid: PnL USDT") == 1  # one summary table


def test_a_book_that_could_never_have_been_opened_is_warned_about(tmp_path: Path) -> None:
    path = tmp_path / "broke.toml"
    path.write_text(
        '[balances]\nUSDT = "100"\n[[positions]]\nsymbol = "BTCUSDT"\nside = "long"\nqty = "1"\n'
        'entry = "100000"\nleverage = "10"\n',
        encoding="utf-8",
    )
    code, out, _ = invoke("liq", str(path))
    assert code == 0 and "warning: the available balance is -9900.00 USDT at the start" in out
    code, out, _ = invoke("liq", str(path), "--json")
    assert json.loads(out)["warnings"][0].startswith("the available balance is -9900.00 USDT")


@pytest.mark.parametrize("bad", ["--vol=fast", "--regime=boom"])
def test_bad_risk_options_are_one_line_errors(tmp_path: Path, bad: str) -> None:
    code, _, err = invoke("risk", str(book(tmp_path)), "--paths", "10", bad)
    assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("error:")


def test_a_first_run_with_a_cold_cache_says_it_compiles_the_fast_core(tmp_path: Path) -> None:
    path = book(tmp_path, btc=FIRST["BTCUSDT"], eth=FIRST["ETHUSDT"], doge=FIRST["DOGEUSDT"])
    args = ("compare", str(path), "--scenario", "2025-10-10", *WINDOW)
    cold = runner.invoke(cli, list(args), env={"NUMBA_CACHE_DIR": str(tmp_path / "empty")})
    assert cold.exit_code == 0
    assert cold.stderr.startswith("compiling the fast core (once")
    warm_dir = tmp_path / "warm" / "marginlab" / "sim"
    warm_dir.mkdir(parents=True)
    (warm_dir / "nb.replay_nb-1.py311.nbi").write_bytes(b"")
    warm = runner.invoke(cli, list(args), env={"NUMBA_CACHE_DIR": str(tmp_path / "warm")})
    assert "compiling" not in warm.stderr
