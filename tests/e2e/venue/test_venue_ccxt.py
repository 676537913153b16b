"""ccxt's own binanceusdm (pinned 4.5.90) against the real venue server: the contract's flow and more."""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

import ccxt
import pytest

from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, Side
from marginlab.rules import get_venue
from support import ccxt_client

BTC = "BTC/USDT:USDT"


def engine_liquidation_price(entry: D, qty: D, margin: D, mark: D) -> D:
    """Return the engine's liquidation price of an isolated BTC long with ``margin``."""
    account = Account(get_venue("binance"), balances={"USDT": D(100000)})
    account.open("BTCUSDT", Side.LONG, qty, entry, leverage=D(10), mode=MarginMode.ISOLATED, margin=margin)
    account.update_marks({"BTCUSDT": mark})
    price = account.liquidation_price(account.position("BTCUSDT"))
    assert price is not None
    return price.quantize(D("0.00000001"))


def test_contract_flow(venue: Any) -> None:
    venue.mark(BTCUSDT="100000")
    creds = venue.new_account()
    ex = ccxt_client(venue.url, creds["api_key"], creds["api_secret"])
    markets = ex.load_markets()
    assert BTC in markets and markets[BTC]["precision"]["amount"] == 0.001

    balance = ex.fetch_balance()
    assert balance["USDT"]["total"] == 15500.0
    assert balance["info"]["bonusBalance"] == "5500.00000000"
    assert balance["info"]["ownBalance"] == "10000.00000000"

    ex.set_margin_mode("isolated", BTC)
    with pytest.raises(ccxt.MarginModeAlreadySet):
        ex.set_margin_mode("isolated", BTC)
    assert ex.set_leverage(10, BTC)["leverage"] == 10
    order = ex.create_order(BTC, "market", "buy", 0.05)
    assert order["status"] == "closed" and order["filled"] == 0.05
    fill = D(order["info"]["avgPrice"])
    assert fill == D("100010.0")  # last 100,000 + half the 2 bp synthetic spread, rounded up to the tick

    (pos,) = ex.fetch_positions([BTC])
    margin = D("0.05") * fill / 10
    expected = engine_liquidation_price(fill, D("0.05"), margin, D(100000))
    assert D(pos["info"]["liquidationPrice"]) == expected
    assert pos["liquidationPrice"] == float(expected)
    assert pos["marginMode"] == "isolated" and pos["side"] == "long" and pos["contracts"] == 0.05
    assert D(str(pos["collateral"])) == D(pos["info"]["isolatedMargin"])
    assert D(pos["info"]["isolatedWallet"]) == margin

    ex.add_margin(BTC, 100)
    (after_add,) = ex.fetch_positions([BTC])
    assert after_add["liquidationPrice"] < pos["liquidationPrice"]
    assert D(after_add["info"]["liquidationPrice"]) == engine_liquidation_price(
        fill, D("0.05"), margin + 100, D(100000)
    )
    with pytest.raises(ccxt.OperationRejected, match="-4048"):
        ex.set_margin_mode("cross", BTC)
    ex.reduce_margin(BTC, 50)
    (after_reduce,) = ex.fetch_positions([BTC])
    assert after_add["liquidationPrice"] < after_reduce["liquidationPrice"] < pos["liquidationPrice"]
    assert D(after_reduce["info"]["isolatedWallet"]) == margin + 50

    tiers = ex.fetch_leverage_tiers([BTC])[BTC]
    assert tiers[0]["maxLeverage"] == 150 or tiers[0]["maxLeverage"] >= 100
    assert tiers[0]["maintenanceMarginRate"] == 0.004
    funding = ex.fetch_funding_rate(BTC)
    assert funding["fundingRate"] == 0.0001 and funding["markPrice"] == 100000.0

    close = ex.create_order(BTC, "market", "sell", 0.05, params={"reduceOnly": True})
    assert close["status"] == "closed" and close["reduceOnly"] is True
    assert ex.fetch_positions([BTC]) == []
    with pytest.raises(ccxt.ExchangeError, match="-2022"):
        ex.create_order(BTC, "market", "sell", 0.05, params={"reduceOnly": True})

    trades = ex.fetch_my_trades(BTC)
    assert [t["side"] for t in trades] == ["buy", "sell"]
    income = ex.fetch_funding_history(BTC)
    assert income == []  # no funding settled in manual mode within the test

    wrong = ccxt_client(venue.url, creds["api_key"], "x" * 64)
    wrong.load_markets()
    with pytest.raises(ccxt.AuthenticationError):
        wrong.fetch_balance()


def test_bot_loop_with_limits_stops_and_a_liquidation(venue: Any) -> None:
    venue.mark(ETHUSDT="4000")
    creds = venue.new_account(deposit="2000", bonus="0")
    ex = ccxt_client(venue.url, creds["api_key"], creds["api_secret"])
    ex.load_markets()
    eth = "ETH/USDT:USDT"
    ex.set_leverage(5, eth)

    # entry: a resting limit buy below the market, then the price comes down to it
    entry = ex.create_order(eth, "limit", "buy", 1, 3900)
    assert entry["status"] == "open"
    assert [o["id"] for o in ex.fetch_open_orders(eth)] == [entry["id"]]
    assert ex.fetch_balance()["USDT"]["free"] == 2000 - 3900 / 5  # the open order reserves initial margin
    venue.mark(ETHUSDT="3890")
    filled = ex.fetch_order(entry["id"], eth)
    assert filled["status"] == "closed" and filled["average"] == 3900

    # a stop-loss through algoOrder and a take-profit limit; the stop is canceled, the take-profit fills
    stop = ex.create_order(eth, "market", "sell", 1, params={"stopLossPrice": 3500, "reduceOnly": True})
    assert stop["status"] == "open" and stop["triggerPrice"] == 3500
    take = ex.create_order(eth, "limit", "sell", 1, 4100, params={"reduceOnly": True})
    ex.cancel_order(stop["id"], eth, params={"trigger": True})
    assert ex.fetch_open_orders(eth, params={"trigger": True}) == []
    venue.mark(ETHUSDT="4150")
    assert ex.fetch_order(take["id"], eth)["status"] == "closed"
    assert ex.fetch_positions([eth]) == []
    pnl = sum(float(t["info"]["realizedPnl"]) for t in ex.fetch_my_trades(eth))
    assert pnl == 200.0

    # a second entry that a crash liquidates: the stop is far below the liquidation price
    ex.create_order(eth, "market", "buy", 2)
    (pos,) = ex.fetch_positions([eth])
    liquidation = pos["liquidationPrice"]
    assert liquidation is not None
    venue.mark(ETHUSDT=str(int(liquidation) - 50))
    assert ex.fetch_positions([eth]) == []
    balance = ex.fetch_balance()
    assert balance["info"]["liquidations"] == 1
    assert balance["USDT"]["total"] >= 0
    kinds = {
        i["info"]["incomeType"]
        for i in ex.fetch_funding_history(eth, params={"incomeType": "INSURANCE_CLEAR"})
    }
    assert kinds == {"INSURANCE_CLEAR"}

    accounts = venue.cli("accounts", "--db", venue.db, "--json")
    rows = {row["account_id"]: row for row in json.loads(accounts.stdout)}
    assert rows[int(creds["account_id"])]["liquidations"] == 1
