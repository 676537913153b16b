"""The liquidation-aware sizer: arithmetic by hand, tier and lot rules, warnings."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from typer.testing import CliRunner

from marginlab import InputError, MarginMode, OperationRejected, Side, get_venue
from marginlab.analysis.sizing import SizeRequest, size_position
from marginlab.cli import cli

BINANCE = get_venue("binance")


def request(**overrides: object) -> SizeRequest:
    base: dict[str, object] = {
        "symbol": "BTCUSDT",
        "side": Side.LONG,
        "equity": D(10000),
        "risk": D("0.01"),
        "entry": D(100000),
        "stop": D(97000),
        "leverage": D(10),
    }
    base.update(overrides)
    return SizeRequest(**base)  # type: ignore[arg-type]


def test_size_risks_the_budget_to_the_stop_fees_included_rounded_down_to_the_lot() -> None:
    result = size_position(request(), BINANCE)
    # 100 / (3000 + 0.0005 * (100000 + 97000)) = 0.03224... -> 0.032 (lot 0.001)
    assert result.qty == D("0.032")
    assert result.notional == D("3200")
    assert result.margin == D("320")
    assert result.loss_at_stop == D("0.032") * D(3000) + D("0.0005") * D("0.032") * D(197000)
    assert result.loss_at_stop <= result.risk_amount
    # isolated 10x, MMR 0.4 %: 100000 * 0.9 / 0.996
    assert result.liquidation_price is not None
    assert abs(result.liquidation_price - D(100000) * D("0.9") / D("0.996")) < D("1e-20")
    assert result.stop_distance == D("0.03")
    assert result.stop_before_liquidation
    assert result.warnings == ()


def test_short_sizes_symmetrically() -> None:
    result = size_position(request(side=Side.SHORT, stop=D(103000)), BINANCE)
    assert result.qty == D("0.032")  # 100 / (3000 + 0.0005 * 203000) = 0.03223...
    assert result.liquidation_price is not None
    assert abs(result.liquidation_price - D(100000) * D("1.1") / D("1.004")) < D("1e-20")
    assert result.stop_before_liquidation


def test_stop_beyond_the_liquidation_price_is_flagged() -> None:
    result = size_position(request(leverage=D(50)), BINANCE)
    assert not result.stop_before_liquidation
    assert result.stop_warning
    assert "beyond the liquidation price 98393.6" in result.warnings[0]


def test_stop_inside_the_buffer_is_flagged() -> None:
    # 10x long: liquidation at 90361.45; a stop at 90500 is 0.14 % of entry away, inside a 0.5 % buffer
    result = size_position(request(stop=D(90500)), BINANCE)
    assert result.stop_before_liquidation
    assert result.stop_warning
    assert "within" in result.warnings[0]


def test_cross_with_the_whole_equity_behind_it_has_no_liquidation_price_at_low_leverage() -> None:
    result = size_position(request(mode=MarginMode.CROSS), BINANCE)
    assert result.liquidation_price is None
    assert result.liquidation_distance is None
    assert result.stop_before_liquidation


def test_size_is_capped_by_the_equity_with_a_warning() -> None:
    # a 0.1 % stop wants 100 / (100 + 0.0005 * 199900) = 0.5 BTC = 50,000 notional; at 2x only
    # 10000 / (100000 * (0.5 + 0.0005)) = 0.1998 -> 0.199 BTC fits
    result = size_position(request(stop=D(99900), leverage=D(2)), BINANCE)
    assert result.qty == D("0.199")
    assert "capped" in result.warnings[0]


def test_leverage_above_the_tier_maximum_is_rejected_and_the_default_is_capped() -> None:
    with pytest.raises(OperationRejected, match="max_leverage"):
        size_position(request(risk=D(1), stop=D(99000), equity=D(5_000_000), leverage=D(150)), BINANCE)
    # without a leverage the venue default (20x) applies, capped at the tier maximum of the final size
    result = size_position(request(risk=D(1), stop=D(99000), equity=D(5_000_000), leverage=None), BINANCE)
    tier = BINANCE.instrument("BTCUSDT").tiers.tier_for(result.notional)
    assert result.leverage == min(BINANCE.default_leverage, tier.max_leverage)
    # the largest size that fits: one more lot would not
    lot = BINANCE.instrument("BTCUSDT").lot_size
    assert result.notional * (1 / result.leverage + D("0.0005")) <= D(5_000_000)
    bigger = result.qty + lot
    bigger_lev = min(
        BINANCE.default_leverage, BINANCE.instrument("BTCUSDT").tiers.tier_for(bigger * 100000).max_leverage
    )
    assert bigger * 100000 * (1 / bigger_lev + D("0.0005")) > D(5_000_000)
    small = size_position(request(leverage=None), BINANCE)
    assert small.leverage == BINANCE.default_leverage


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"stop": D(101000)}, "stop"),
        ({"side": Side.SHORT, "stop": D(99000)}, "stop"),
        ({"risk": D(0)}, "risk"),
        ({"risk": D("1.5")}, "risk"),
        ({"equity": D(-1)}, "equity"),
        ({"equity": D(1), "risk": D("0.01")}, "risk"),  # budget below one lot
    ],
)
def test_bad_requests_name_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as info:
        size_position(request(**overrides), BINANCE)
    assert info.value.field == field


def test_cli_strict_exits_non_zero_when_the_stop_comes_after_liquidation() -> None:
    runner = CliRunner()
    args = [
        "size",
        "--symbol",
        "BTCUSDT",
        "--side",
        "long",
        "--equity",
        "10000",
        "--risk",
        "1%",
        "--entry",
        "100000",
        "--stop",
        "97000",
        "--leverage",
        "50",
        "--json",
    ]
    loose = runner.invoke(cli, args)
    assert loose.exit_code == 0
    doc = json.loads(loose.stdout)
    assert doc["qty"] == "0.032"
    assert doc["liquidation_price"] == "98393.57429719"  # exact to 8 places; the table shows 98393.6
    assert doc["stop_before_liquidation"] is False
    assert set(doc) >= {
        "qty",
        "notional",
        "margin",
        "leverage",
        "liquidation_price",
        "stop_distance",
        "liquidation_distance",
        "stop_before_liquidation",
        "warnings",
    }
    assert runner.invoke(cli, [*args, "--strict"]).exit_code == 1
    bad = runner.invoke(cli, [*args[:-1], "--risk", "lots"])
    assert bad.exit_code == 2
    assert "risk" in bad.stderr


def test_a_stop_past_liquidation_gets_the_highest_safe_leverage_and_no_loss_figure() -> None:
    result = size_position(request(leverage=D(50)), BINANCE)
    assert result.loss_at_stop is None  # the stop can never fill: no loss "at the stop" is a result
    # isolated LP = 100000 (1 - 1/L) / 0.996 must be <= 97000 - 0.5 % of 100000 = 96500: L <= 25.7
    assert result.safe_leverage == D(25)
    assert result.safe_margin == D("3200") / 25
    assert "at most 25x (margin 128.00 USDT)" in result.warnings[0]
    check = size_position(request(leverage=D(25)), BINANCE)
    assert check.warnings == () and check.loss_at_stop is not None
    assert size_position(request(leverage=D(26)), BINANCE).warnings != ()


def test_a_cross_position_is_sized_within_the_current_book() -> None:
    from marginlab.io.schema import Portfolio, parse

    # the book's cross wallet (3,000) is mostly eaten by an ETH long marked 1,300 below its entry
    eth = {"symbol": "ETHUSDT", "side": "long", "qty": "2", "entry": "4000", "mark": "2700", "leverage": "50"}
    book = parse(Portfolio, {"balances": {"USDT": "3000"}, "positions": [eth]})
    ask = {"mode": MarginMode.CROSS, "equity": D(30000), "stop": D(98000), "leverage": D(50)}
    alone = size_position(request(**ask), BINANCE)
    assert alone.liquidation_price is None and alone.warnings == ()
    within = size_position(request(**ask, book=book), BINANCE)
    assert within.qty == D("0.142")  # 300 / (2000 + 0.0005 * 198000), within the available 292 at 50x
    # BTC's cross LP: the book's wallet + ETH uPnL - ETH maintenance back it (exact engine)
    assert within.liquidation_price is not None and D(97700) < within.liquidation_price < D(97750)
    assert within.stop_warning and within.loss_at_stop is not None  # reachable, but inside the buffer
    assert within.safe_equity is not None
    assert f"{within.safe_equity:.2f} USDT more in the book's cross wallet" in within.warnings[0]
    topped = book.model_copy(update={"balances": {"USDT": D(3000) + within.safe_equity}})
    assert size_position(request(**ask, book=topped), BINANCE).warnings == ()
