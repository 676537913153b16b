"""End-to-end: ``marginlab risk`` and ``marginlab advise`` on bundled data."""

from __future__ import annotations

import json
import re
from pathlib import Path

from marginlab.cli import cli
from support import EXAMPLES
from support import RUNNER as runner


def test_risk_json_has_every_mode_with_probabilities_and_intervals() -> None:
    args = ["risk", str(EXAMPLES / "seed.toml"), "--paths", "4000", "--seed", "5", "--json"]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.stderr
    doc = json.loads(first.stdout)
    assert set(doc["modes"]) == {"cross", "isolated", "hybrid"}
    for mode in doc["modes"].values():
        (btc,) = mode["positions"]
        assert btc["symbol"] == "BTCUSDT"
        assert btc["ci"][0] <= btc["p_liquidation"] <= btc["ci"][1]
        assert 0 <= mode["p_wipeout"] <= 1
        assert mode["es99"] >= mode["es95"]
    # a 10x isolated long can be liquidated; the same long in cross with $10,000 behind it cannot (no LP)
    assert doc["modes"]["cross"]["positions"][0]["p_liquidation"] == 0
    # the same seed gives the same answer
    assert json.loads(runner.invoke(cli, args).stdout) == doc


def test_risk_report_is_an_offline_page_with_the_json_numbers(tmp_path: Path) -> None:
    page = tmp_path / "risk.html"
    args = ["risk", str(EXAMPLES / "seed.toml"), "--paths", "4000", "--seed", "5", "--horizon", "30d"]
    args += ["--steps-per-day", "24"]
    shown = runner.invoke(cli, [*args, "--report", str(page)])
    assert shown.exit_code == 0, shown.stderr
    assert "report written to" in shown.stdout and page.is_file()  # (Rich may wrap the long path)
    doc = json.loads(runner.invoke(cli, [*args, "--json"]).stdout)
    html = page.read_text(encoding="utf-8")
    assert "<script" in html and "<script src=" not in html  # plotly.js inlined: opens offline
    assert "paths over 30d" in html.split("</title>")[0]
    table = html.split("<table class='summary'>")[1].split("</table>")[0]
    cells = [re.findall(r"<t[dh]>(.*?)</t[dh]>", row) for row in re.findall(r"<tr>(.*?)</tr>", table)]
    rows = {row[0]: row[1:] for row in cells}
    assert rows[""] == list(doc["modes"])  # one column per mode, in the JSON's order
    for column, mode in enumerate(doc["modes"].values()):
        (btc,) = mode["positions"]
        assert rows["BTCUSDT long liquidated"][column].startswith(f"{btc['p_liquidation'] * 100:.2f} %")
        assert rows["ES 99 % (mean of the worst 1 %)"][column] == f"{mode['es99']:,.2f}"
    assert doc["modes"]["isolated"]["positions"][0]["p_liquidation"] > 0  # a 10x isolated long, 30 days


def test_risk_report_to_a_folder_that_does_not_exist_fails_in_one_line(tmp_path: Path) -> None:
    page = tmp_path / "missing" / "risk.html"
    result = runner.invoke(
        cli, ["risk", str(EXAMPLES / "seed.toml"), "--paths", "200", "--report", str(page)]
    )
    assert result.exit_code == 2
    assert "cannot write the report" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_risk_rejects_an_unknown_model_in_one_line() -> None:
    result = runner.invoke(cli, ["risk", str(EXAMPLES / "seed.toml"), "--model", "tarot", "--paths", "10"])
    assert result.exit_code == 2
    assert "model" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_advise_recommends_isolated_for_a_newcomers_50x_punt_with_evidence() -> None:
    result = runner.invoke(
        cli,
        [
            "advise",
            str(EXAMPLES / "seed.toml"),
            "--trade",
            "DOGEUSDT long notional=1000 leverage=50",
            "--profile",
            "experience=new,risk=low,monitoring=no",
            "--paths",
            "4000",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["recommendation"] == "isolated"
    assert {r["criterion"] for r in doc["reasons"]} >= {"experience", "conviction / leverage", "monitoring"}
    assert set(doc["evidence"]) == {"cross", "isolated"}
    assert doc["evidence"]["isolated"]["p_trade_liquidated"] > doc["evidence"]["cross"]["p_trade_liquidated"]


def test_advise_rejects_a_bad_trade() -> None:
    result = runner.invoke(cli, ["advise", str(EXAMPLES / "seed.toml"), "--trade", "DOGEUSDT"])
    assert result.exit_code == 2
    assert "--trade" in result.stderr
