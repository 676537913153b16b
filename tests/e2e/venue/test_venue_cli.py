"""``marginlab venue`` subcommands in any order on a new database; errors are one line with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from marginlab.cli import cli


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MARGINLAB_VENUE_SECRET_KEY", Fernet.generate_key().decode())
    return CliRunner()


def test_commands_work_in_any_order_on_a_new_database(runner: CliRunner, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'new.db'}"
    marked = runner.invoke(cli, ["venue", "mark", "--db", db, "BTCUSDT", "95000", "ETHUSDT", "3500"])
    assert marked.exit_code == 0, marked.output
    assert "accounts checked: 0" in marked.output
    created = runner.invoke(cli, ["venue", "account", "create", "--db", db, "--json"])
    assert created.exit_code == 0
    (line,) = created.stdout.strip().splitlines()  # one JSON object and nothing else on stdout
    account = json.loads(line)
    assert set(account) == {"account_id", "api_key", "api_secret", "dashboard_url"}
    assert len(account["api_secret"]) == 64
    assert account["dashboard_url"].startswith("http://127.0.0.1:8700/signin/link?token=")
    listing = runner.invoke(cli, ["venue", "accounts", "--db", db, "--json"])
    (row,) = json.loads(listing.stdout)
    assert row == {
        "account_id": 1,
        "equity": "15500",
        "wallet": "15500",
        "bonus_granted": "5500",
        "bonus_left": "5500",
        "open_positions": 0,
        "liquidations": 0,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["venue", "mark", "NOPEUSDT", "1"], "NOPEUSDT"),
        (["venue", "mark", "BTCUSDT"], "SYMBOL PRICE"),
        (["venue", "mark", "BTCUSDT", "abc"], "BTCUSDT"),
        (["venue", "mark", "--url", "http://127.0.0.1:9", "BTCUSDT", "1"], "admin_token"),
        (["venue", "account", "create", "--deposit", "-5"], "deposit"),
        (["venue", "serve", "--prices", "sim:nope"], "prices"),
        (["venue", "accounts", "--db", "mysql://x"], "db"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'e.db'}"] if "--db" not in args and "--url" not in args else []
    result = runner.invoke(
        cli, [*args[:2], *db, *args[2:]] if args[1] != "account" else [*args[:3], *db, *args[3:]]
    )
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and message in line
    assert "Traceback" not in result.output
