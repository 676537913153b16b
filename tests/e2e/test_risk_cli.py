"""End-to-end: ``marginlab risk`` and ``marginlab advise`` on bundled data."""

from __future__ import annotations

import json

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
