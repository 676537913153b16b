"""The what-if page inside the venue's dashboard: the signed-in account's own book, the engine's figures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from marginlab.api.app import create_app
from marginlab.render import number
from marginlab.venue.orders import OrderRequest
from marginlab.venue.settings import VenueSettings
from marginlab.venue.vocabulary import MarginMode

ADMIN = "unit-admin-token-0123456789"


@pytest.fixture
def http(engine: Engine, clock: Any, tmp_path: Path) -> Iterator[TestClient]:
    settings = VenueSettings(key_file=tmp_path / "k", admin_token=ADMIN)
    with TestClient(create_app(settings, engine=engine, clock=clock), follow_redirects=False) as client:
        yield client


def sign_in(http: TestClient, account_id: int) -> None:
    token = http.app.state.service.create_sign_in_link(account_id)  # type: ignore[attr-defined]
    assert http.post("/signin/link", data={"token": token}).headers["location"] == "/account"


def test_the_whatif_page_moves_the_signed_in_accounts_book_with_the_venues_figures(http: TestClient) -> None:
    service = http.app.state.service  # type: ignore[attr-defined]
    service.update_prices({"BTCUSDT": (D(100000), D(100000)), "ETHUSDT": (D(4000), D(4000))})
    alice = service.create_account(deposit=D(10000), bonus=D(5500)).account_id
    bob = service.create_account(deposit=D(777), bonus=D(0)).account_id
    service.set_margin_type(alice, "BTCUSDT", MarginMode.ISOLATED)
    service.set_leverage(alice, "BTCUSDT", 10)
    order = OrderRequest(symbol="BTCUSDT", side="BUY", type="MARKET", client_order_id="w1", qty=D("0.05"))
    service.place_order(alice, order)
    view = service.account(alice)
    (pos,) = view.positions

    assert http.get("/whatif").headers["location"] == "/signin"  # no session, no book
    sign_in(http, alice)
    page = http.get("/whatif")
    assert page.status_code == 200
    assert f"Account {alice} on Binance" in page.text
    doc = http.post("/whatif/move", json={"prices": {}, "change": "0"}).json()
    (row,) = doc["scenarios"]["as-is"]["positions"]
    # the as-is scenario is the account exactly: the venue's liquidation price and isolated margin
    assert row["liquidation_price"] == number(pos.liquidation_price)
    assert D(row["at_stake"]) == pos.isolated_wallet
    assert row["mode"] == "isolated"
    assert D(doc["scenarios"]["as-is"]["equity_before"]) == view.margin_balance
    down = http.post("/whatif/move", json={"prices": {}, "change": "-10"}).json()
    assert down["scenarios"]["as-is"]["liquidated"] == ["BTCUSDT long"]
    assert down["scenarios"]["cross"]["liquidated"] == []  # $15,500 behind a $5,000 long
    assert D(down["scenarios"]["as-is"]["equity_after"]) == view.cross_wallet

    http.cookies.clear()
    sign_in(http, bob)
    text = http.get("/whatif").text
    assert "BTCUSDT" not in text
    assert http.post("/whatif/move", json={"prices": {"BTCUSDT": "1"}}).json()["field"] == "prices.BTCUSDT"


def test_the_whatif_page_on_the_venue_carries_the_live_marks_its_untouched_prices_follow(
    http: TestClient,
) -> None:
    service = http.app.state.service  # type: ignore[attr-defined]
    service.update_prices({"BTCUSDT": (D(100000), D(100000)), "ETHUSDT": (D(4000), D(4000))})
    aid = service.create_account(deposit=D(10000), bonus=D(0)).account_id
    for symbol, side, qty in (("BTCUSDT", "BUY", "0.05"), ("ETHUSDT", "SELL", "1")):
        service.set_leverage(aid, symbol, 10)
        order = OrderRequest(symbol=symbol, side=side, type="MARKET", client_order_id=symbol, qty=D(qty))
        service.place_order(aid, order)
    sign_in(http, aid)

    page = http.get("/whatif").text
    # the page names the stream to follow, shows its state, and offers "reset to mark" per symbol (hidden
    # until the user touches that price); the fields still start at the marks, server-rendered
    assert 'data-live-url="/events"' in page
    assert 'id="live-status"' in page
    for symbol, mark in (("BTCUSDT", "100000"), ("ETHUSDT", "4000")):
        assert f'data-role="follow" data-symbol="{symbol}"' in page
        assert f'data-role="mark" data-symbol="{symbol}">{mark}<' in page
        assert f'id="price-{symbol}" name="prices.{symbol}"' in page

    # a mark moves: the stream carries the exact marks (the page's own format), and the server's book moved
    service.update_prices({"BTCUSDT": (D("101000.5"), D("101000.5"))})
    stream = http.get("/events?once=1")
    data = json.loads(next(line for line in stream.text.splitlines() if line.startswith("data: "))[6:])
    assert data["marks"] == {"BTCUSDT": "101000.5", "ETHUSDT": "4000"}
    doc = http.post("/whatif/move", json={"prices": {}, "change": "0"}).json()
    assert doc["marks"] == data["marks"]
    assert D(doc["scenarios"]["as-is"]["equity_before"]) == service.account(aid).margin_balance
