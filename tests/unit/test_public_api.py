"""The curated public surface: unique exports, and the ccxt ``Position`` view of a position."""

from __future__ import annotations

from decimal import Decimal as D

import marginlab
from marginlab import Account, MarginMode, Side, ccxt_position, get_venue


def test_all_lists_each_public_name_once_and_every_name_exists() -> None:
    assert len(marginlab.__all__) == len(set(marginlab.__all__))
    for name in marginlab.__all__:
        assert hasattr(marginlab, name), name


def test_ccxt_position_mirrors_ccxt_field_names_and_values() -> None:
    venue = get_venue("binance")
    account = Account(venue, balances={"USDT": D(9500)})
    account.import_position(
        venue.instrument("BTCUSDT"),
        Side.LONG,
        D("0.05"),
        D(100000),
        mark=D(95000),
        leverage=D(10),
        mode=MarginMode.ISOLATED,
    )
    view = ccxt_position(account, account.position("BTCUSDT"))
    assert view["symbol"] == "BTC/USDT:USDT"
    assert view["marginMode"] == "isolated"
    assert view["side"] == "long"
    assert view["contracts"] == D("0.05")
    assert view["collateral"] == D(500)
    assert view["notional"] == D(4750)
    assert view["unrealizedPnl"] == D(-250)
    assert view["initialMargin"] == D(475)
    assert view["maintenanceMargin"] == D(19)  # 4750 * 0.4 %
    assert view["maintenanceMarginPercentage"] == D("0.004")
    assert view["marginRatio"] == D(19) / D(250)  # maintenance / (margin + uPnL)
    assert abs(view["liquidationPrice"] - D(100000) * D("0.9") / D("0.996")) < D("1e-20")
    assert view["hedged"] is False
