"""A position already past its liquidation is reported as such by ``liq`` (issue 8 point 9)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from marginlab.cli import cli

runner = CliRunner()

# isolated long, entry 100,000, mark 80,000, margin 500 on 0.05 BTC: equity 500 - 1,000 < 0
PAST = """
exchange = "binance"
[balances]
USDT = "10000"
[[positions]]
symbol = "BTCUSDT"
side = "long"
qty = "0.05"
entry = "100000"
mark = "80000"
leverage = "10"
mode = "isolated"
margin = "500"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "portfolio.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_liq_json_flags_a_position_past_its_liquidation(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["liq", str(write(tmp_path, PAST)), "--json"])
    assert result.exit_code == 0, result.output
    (position,) = json.loads(result.output)["positions"]
    assert str(position["liquidatable"]).lower() == "true"
    assert float(position["distance_to_liquidation"]) < 0  # LP 90,361.45 lies above the mark 80,000
    assert float(position["liquidation_price"]) > 80000


def test_liq_table_warns_about_a_position_past_its_liquidation(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["liq", str(write(tmp_path, PAST))], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "warning: BTCUSDT long is already at or past its liquidation at mark 80000" in result.output
    assert "Traceback" not in result.output


def test_a_healthy_position_is_not_flagged(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["liq", str(write(tmp_path, PAST.replace('"80000"', '"99000"'))), "--json"])
    assert result.exit_code == 0, result.output
    (position,) = json.loads(result.output)["positions"]
    assert str(position["liquidatable"]).lower() == "false"
    assert float(position["distance_to_liquidation"]) > 0
