"""Monte Carlo risk of Multi-Assets books: the collateral moves with the simulated paths."""

from __future__ import annotations

from typing import Any

import pytest

from marginlab.app.risk import run_risk
from marginlab.io.schema import Portfolio, parse
from marginlab.rules import get_venue

VENUE = get_venue("binance")
LONG = {"symbol": "BTCUSDT", "side": "long", "qty": "1.2", "entry": "66000", "leverage": "20"}
RUN: dict[str, Any] = {"horizon": "1d", "steps_per_day": 96, "vol": 0.8, "paths": 20_000, "seed": 7}


def book(balances: dict[str, str], **extra: Any) -> Portfolio:
    return parse(Portfolio, {"exchange": "binance", "balances": balances, "positions": [LONG]} | extra)


def test_a_crash_hits_btc_collateral_too() -> None:
    # Arrange: 0.1 BTC (haircut lifted to 100 %, so only the co-movement differs) or its USD value in USDT
    btc = book({"BTC": "0.1"}, multi_assets=True, collateral={"BTC": {"value_ratio": "1"}})
    usdt = book({"USDT": "6600"})
    # Act
    pooled = run_risk(btc, VENUE, modes=("cross",), **RUN)
    plain = run_risk(usdt, VENUE, modes=("cross",), **RUN)
    # Assert: the same start equity (USD), a clearly higher liquidation probability (disjoint 95 % intervals)
    a, b = pooled.modes["cross"], plain.modes["cross"]
    assert a.start_equity == pytest.approx(6600.0, rel=1e-12)
    assert b.start_equity == pytest.approx(6600.0, rel=1e-12)
    assert a.ci_any_liquidation[0] > b.ci_any_liquidation[1], (a.ci_any_liquidation, b.ci_any_liquidation)
    assert pooled.asset == "USD"
    assert "BTC collateral moves with BTCUSDT's simulated path" in pooled.notes


def test_the_haircut_counts() -> None:
    # Arrange: the bundled 95 % collateral value ratio leaves less margin than 100 %
    full = book({"BTC": "0.1"}, multi_assets=True, collateral={"BTC": {"value_ratio": "1"}})
    cut = book({"BTC": "0.1"}, multi_assets=True)
    # Act
    p_full = run_risk(full, VENUE, modes=("cross",), **RUN).modes["cross"]
    p_cut = run_risk(cut, VENUE, modes=("cross",), **RUN).modes["cross"]
    # Assert: the same market value, a higher probability with the haircut (same seed: common numbers)
    assert p_cut.start_equity == p_full.start_equity
    assert p_cut.p_any_liquidation > p_full.p_any_liquidation


def test_a_coin_no_position_holds_is_simulated_from_the_data_and_one_the_data_lacks_keeps_its_index() -> None:
    # Arrange: ETH backs the BTC long (ETHUSDT is in the bundled history); ADA (no ADAUSDT there) at 0.5
    balances = {"ETH": "2", "ADA": "1000", "USDT": "100"}
    model = book(balances, multi_assets=True, index_prices={"ETH": "3000", "ADA": "0.5"})
    # Act
    report = run_risk(model, VENUE, **RUN)
    # Assert
    assert report.symbols == ("BTCUSDT", "ETHUSDT")
    assert report.start_prices["ETHUSDT"] == 3000.0  # the given index (USDT index 1)
    assert any("ETH collateral moves with ETHUSDT" in n and "no position holds it" in n for n in report.notes)
    assert any(n.startswith("ADA collateral keeps its index 0.5 USD") for n in report.notes)
    cross = report.modes["cross"]
    # 2 x 3000 + 1000 x 0.5 + 100 USDT at index 1
    assert cross.start_equity == pytest.approx(6600.0, rel=1e-12)
    # all isolated leaves the mode: the 100 USDT cannot pay the 3,960 USDT of isolated margin
    assert "isolated" not in report.modes
    assert any(n.startswith("isolated: not simulated") for n in report.notes)


def test_leaving_the_mode_keeps_the_coins_in_equity_idle() -> None:
    # Arrange: enough USDT to isolate the long; the BTC sits idle once the mode is left
    model = book({"BTC": "0.1", "USDT": "5000"}, multi_assets=True)
    # Act
    report = run_risk(model, VENUE, **(RUN | {"paths": 4000}))
    # Assert: the same USD money at the start in every mode (0.1 BTC at 66,000 + 5,000 USDT)
    for mode in ("cross", "isolated", "hybrid"):
        assert report.modes[mode].start_equity == pytest.approx(11_600.0, rel=1e-12)
    assert [p.mode for p in report.modes["isolated"].positions] == ["isolated"]
    assert any(n.startswith("isolated: leaves Multi-Assets mode") for n in report.notes)
    # isolated: the idle BTC still moves, so the account's loss is not capped by the isolated margin alone
    assert report.modes["isolated"].es99 > 3300.0 + 1.0


def test_a_multi_assets_book_written_with_an_isolated_position_leaves_the_mode_as_hybrid() -> None:
    # the advisor's isolated option: Multi-Assets mode is cross only, so the book leaves it
    doc = {"exchange": "binance", "multi_assets": True, "balances": {"BTC": "0.1", "USDT": "5000"}}
    model = parse(Portfolio, doc | {"positions": [LONG | {"mode": "isolated"}]})
    report = run_risk(model, VENUE, **(RUN | {"paths": 2000, "modes": ("hybrid",)}))
    assert [p.mode for p in report.modes["hybrid"].positions] == ["isolated"]
    assert report.modes["hybrid"].start_equity == pytest.approx(11_600.0 + 3960.0, rel=1e-12)
    assert any(n.startswith("hybrid: leaves Multi-Assets mode") for n in report.notes)


def test_a_multi_assets_book_on_a_venue_without_the_mode_is_refused_in_one_line() -> None:
    model = book({"BTC": "0.1"}, multi_assets=True, exchange="bybit")
    with pytest.raises(Exception, match="multi_assets") as info:
        run_risk(model, get_venue("bybit"), **(RUN | {"paths": 100}))
    assert "\n" not in str(info.value)
