"""The dashboard's pages inside the venue app: layout, static files, and the API left as it was."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from marginlab.api.app import create_app
from marginlab.venue.orders import OrderRequest
from marginlab.venue.settings import VenueSettings
from marginlab.venue.vocabulary import MarginMode
from marginlab.web import formats
from marginlab.web.assets import plotly_bundle, static_url

ADMIN = "unit-admin-token-0123456789"


@pytest.fixture
def http(engine: Engine, clock: Any, tmp_path: Path) -> Iterator[TestClient]:
    settings = VenueSettings(key_file=tmp_path / "k", admin_token=ADMIN, rate_limit_per_minute=1000)
    with TestClient(create_app(settings, engine=engine, clock=clock), follow_redirects=False) as client:
        yield client


def test_static_files_are_served_from_the_package_with_content_hashes(http: TestClient) -> None:
    url = static_url("marginlab.css")
    assert url.startswith("/static/marginlab.css?v=") and len(url.split("=")[1]) == 10
    css = http.get(url)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "immutable" in css.headers["cache-control"] and ".gauge" in css.text
    plotly = http.get("/static/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.content) == plotly_bundle().stat().st_size
    for bad in ("/static/..%2Fassets.py", "/static/nope.js", "/static/.hidden"):
        missing = http.get(bad)
        assert (missing.status_code, missing.json()["code"]) == (404, -1020), bad


def test_pages_keep_the_api_its_paths_and_its_404_rule(http: TestClient) -> None:
    home = http.get("/")
    assert (home.status_code, home.headers["location"]) == (303, "/signin")
    signin = http.get("/signin")
    assert signin.status_code == 200 and signin.headers["content-type"].startswith("text/html")
    assert 'href="/whatif"' in signin.text and static_url("marginlab.css") in signin.text
    assert "frame-ancestors 'none'" in signin.headers["content-security-policy"]
    assert http.get("/fapi/v1/ping").json() == {}
    unknown = http.get("/fapi/v1/nothing")
    assert (unknown.status_code, unknown.json()["code"]) == (404, -1020)
    paths = http.get("/openapi.json").json()["paths"]
    assert "/fapi/v1/ping" in paths and not any(p == "/" or p.startswith("/static") for p in paths)
    assert http.get("/docs").status_code == 200


# ---------------------------------------------------------------------------------------------- sign-in
def service_of(http: TestClient) -> Any:
    return http.app.state.service  # type: ignore[attr-defined]


def priced(http: TestClient) -> Any:
    service = service_of(http)
    service.update_prices({"BTCUSDT": (D(100000), D(100000)), "ETHUSDT": (D(4000), D(4000))})
    return service


def signed_in(http: TestClient, account_id: int) -> TestClient:
    """Sign ``http`` in to ``account_id`` by a one-time link (the client keeps the cookie)."""
    token = service_of(http).create_sign_in_link(account_id)
    landing = http.get(f"/signin/link?token={token}")
    assert landing.status_code == 200 and 'action="/signin/link"' in landing.text
    opened = http.post("/signin/link", data={"token": token}, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/account"
    return http


def csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def test_one_time_link_sets_a_strict_httponly_cookie_once(http: TestClient, clock: Any) -> None:
    service = priced(http)
    new = service.create_account(deposit=D(10000), bonus=D(5500))
    token = service.create_sign_in_link(new.account_id)
    assert http.get("/account").headers["location"] == "/signin"
    # a GET (a link preview, a mail scanner) only asks for a confirmation: no cookie, the link stays good
    for _ in range(2):
        preview = http.get(f"/signin/link?token={token}")
        assert preview.status_code == 200 and "set-cookie" not in preview.headers
        assert "Sign in to account 1" in preview.text and 'name="robots" content="noindex' in preview.text
    assert http.get("/account").headers["location"] == "/signin"
    first = http.post("/signin/link", data={"token": token}, follow_redirects=False)
    cookie = first.headers["set-cookie"]
    assert first.status_code == 303 and first.headers["location"] == "/account"
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = http.get("/account")
    assert page.status_code == 200 and "Account 1" in page.text
    assert "15,500.00 USDT" in page.text and "5,500.00 USDT" in page.text  # equity, bonus left
    assert new.api_secret not in page.text and new.api_key not in page.text
    http.cookies.clear()
    assert http.get(f"/signin/link?token={token}").status_code == 400  # spent: not even a confirmation
    again = http.post("/signin/link", data={"token": token}, follow_redirects=False)
    assert again.status_code == 400 and "set-cookie" not in again.headers
    late = service.create_sign_in_link(new.account_id)
    clock.now += 15 * 60_000 + 1
    assert http.get(f"/signin/link?token={late}").status_code == 400
    assert http.post("/signin/link", data={"token": late}).status_code == 400
    assert http.get("/signin/link?token=nonsense").status_code == 400


def test_a_cross_site_post_cannot_spend_a_link(http: TestClient) -> None:
    service = priced(http)
    token = service.create_sign_in_link(service.create_account(deposit=D(100), bonus=D(0)).account_id)
    forged = http.post(
        "/signin/link",
        data={"token": token},
        headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
        follow_redirects=False,
    )
    assert forged.status_code != 303 and "set-cookie" not in forged.headers
    assert service.sign_in_link_account(token) == 1  # still good for the trader's own click


def test_dead_links_and_sessions_are_deleted_when_a_session_opens(http: TestClient, clock: Any) -> None:
    from sqlalchemy import func, select

    from marginlab.venue.models import DashboardSessionRow, SignInLinkRow

    service = priced(http)
    account = service.create_account(deposit=D(100), bonus=D(0)).account_id
    signed_in(http, account)
    http.post("/signout", data={"csrf": csrf(http.get("/account").text)})
    service.create_sign_in_link(account)  # never used: expires
    clock.now += 15 * 60_000 + 1
    signed_in(http, account)

    def rows(table: type) -> int:
        with service._read() as session:
            return int(session.scalar(select(func.count()).select_from(table)))

    assert rows(SignInLinkRow) == 1  # the link just spent (it dies with its 15 minutes)
    assert rows(DashboardSessionRow) == 1  # the new session; the signed-out one is gone


def test_sign_in_with_key_and_secret_and_sign_out_ends_the_session(http: TestClient) -> None:
    service = priced(http)
    new = service.create_account(deposit=D(10000), bonus=D(0))
    wrong = http.post("/signin", data={"api_key": new.api_key, "api_secret": "x" * 64})
    assert wrong.status_code == 400 and "API key and secret do not match" in wrong.text
    assert 'id="api_secret-error"' in wrong.text and "set-cookie" not in wrong.headers
    empty = http.post("/signin", data={"api_key": "", "api_secret": ""})
    assert empty.status_code == 400 and "api_key: expected the account&#39;s API key, was empty" in empty.text
    ok = http.post("/signin", data={"api_key": new.api_key, "api_secret": new.api_secret})
    assert ok.status_code == 303 and ok.headers["location"] == "/account"
    page = http.get("/account")
    assert page.status_code == 200 and new.api_secret not in page.text
    cookie = http.cookies["marginlab_session"]
    assert http.post("/signout", data={"csrf": "forged"}).status_code == 403
    assert http.get("/account").status_code == 200  # a refused sign-out changed nothing
    out = http.post("/signout", data={"csrf": csrf(page.text)})
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    http.cookies.set("marginlab_session", cookie)  # a copy of the old cookie opens nothing any more
    assert http.get("/account").headers["location"] == "/signin"
    assert http.get("/events?once=1").status_code == 401


def test_cross_site_posts_are_refused(http: TestClient) -> None:
    service = priced(http)
    new = service.create_account(deposit=D(10000), bonus=D(0))
    page = signed_in(http, new.account_id).get("/positions").text
    data = {"csrf": csrf(page), "symbol": "BTCUSDT", "leverage": "5"}
    evil = http.post("/positions/leverage", data=data, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403
    assert service.symbol_configs(new.account_id, "BTCUSDT")[0][2] != D(5)
    assert http.post("/positions/leverage", data=data).status_code == 303
    assert service.symbol_configs(new.account_id, "BTCUSDT")[0][2] == D(5)


# ---------------------------------------------------------------------------------------------- pages
def open_isolated_btc(service: Any, account_id: int) -> None:
    service.set_margin_type(account_id, "BTCUSDT", MarginMode.ISOLATED)
    service.set_leverage(account_id, "BTCUSDT", 10)
    order = OrderRequest(symbol="BTCUSDT", side="BUY", type="MARKET", client_order_id="o1", qty=D("0.05"))
    service.place_order(account_id, order)


def test_a_second_account_sees_nothing_of_the_first(http: TestClient, tmp_path: Path) -> None:
    service = priced(http)
    alice = service.create_account(deposit=D(10000), bonus=D(5500)).account_id
    bob = service.create_account(deposit=D(777), bonus=D(0)).account_id
    open_isolated_btc(service, alice)
    alice_page = signed_in(http, alice).get("/positions").text
    assert 'id="pos-BTCUSDT-long"' in alice_page
    http.cookies.clear()
    signed_in(http, bob)
    for path in ("/account", "/positions", "/events?once=1"):
        text = http.get(path).text
        assert "BTCUSDT-long" not in text and "15,500" not in text and "500.05" not in text, path
        assert "777.00 USDT" in text, path
    page = http.get("/positions").text
    # bob names alice's position: the action looks among bob's own positions only
    refused = http.post(
        "/positions/margin", data={"csrf": csrf(page), "position": "BTCUSDT-long", "amount": "1"}
    )
    assert refused.status_code == 400 and "position: BTCUSDT-long is not open (any more)" in refused.text
    assert service.account(alice).positions[0].isolated_wallet == D("500.05")


def test_positions_page_shows_the_engine_figures_and_the_actions_use_the_service(http: TestClient) -> None:
    service = priced(http)
    aid = service.create_account(deposit=D(10000), bonus=D(5500)).account_id
    open_isolated_btc(service, aid)
    (pos,) = service.account(aid).positions
    page = signed_in(http, aid).get("/positions").text
    row = page[page.index('id="pos-BTCUSDT-long"') :].split("</tr>")[0]
    assert f'data-live="p_liq">{formats.price(pos.liquidation_price, "", step=pos.tick_size)}<' in row
    assert "isolated" in row and "10×" in row and 'data-live="p_margin">500.05<' in row
    assert f'data-live="p_removable">{formats.money(pos.max_removable)}<' in row
    token = csrf(page)

    added = http.post(
        "/positions/margin", data={"csrf": token, "position": "BTCUSDT-long", "amount": "100", "kind": "add"}
    )
    assert added.status_code == 303 and added.headers["location"] == "/positions?done=margin"
    (after,) = service.account(aid).positions
    assert after.isolated_wallet == D("600.05") and after.liquidation_price < pos.liquidation_price
    assert formats.price(after.liquidation_price, "", step=after.tick_size) in http.get("/positions").text

    bad = http.post("/positions/margin", data={"csrf": token, "position": "BTCUSDT-long", "amount": "abc"})
    assert bad.status_code == 400
    assert (
        'id="margin-BTCUSDT-long-amount-error" role="alert">'
        "amount: expected a number &gt; 0, was &#39;abc&#39;" in bad.text
    )
    too_much = http.post(
        "/positions/margin",
        data={"csrf": token, "position": "BTCUSDT-long", "amount": "5000", "kind": "remove"},
    )
    assert too_much.status_code == 400 and "Isolated balance insufficient." in too_much.text
    assert 'value="5000"' in too_much.text  # the refused value stays in its field

    switch = http.post(
        "/positions/mode",
        data={"csrf": token, "symbol": "BTCUSDT", "position": "BTCUSDT-long", "mode": "cross"},
    )
    assert switch.status_code == 400
    assert "Margin type cannot be changed if there exists position." in switch.text
    assert "only while it has no open position" in switch.text
    assert 'id="mode-BTCUSDT-long-mode-error"' in switch.text
    assert service.account(aid).positions[0].margin_mode is MarginMode.ISOLATED

    lev = http.post("/positions/leverage", data={"csrf": token, "symbol": "ETHUSDT", "leverage": "500"})
    assert lev.status_code == 400 and "Leverage 500 is not valid" in lev.text
    assert 'id="leverage-ETHUSDT-leverage-error"' in lev.text  # the per-symbol settings row (no position)
    data = {"csrf": token, "symbol": "BTCUSDT", "position": "BTCUSDT-long", "leverage": "0"}
    zero = http.post("/positions/leverage", data=data)
    assert zero.status_code == 400 and 'id="leverage-BTCUSDT-long-leverage-error"' in zero.text
    assert "Leverage 0 is not valid" in zero.text

    ticket = {"csrf": token, "symbol": "ETHUSDT", "side": "SELL", "type": "limit", "qty": "0.1", "price": ""}
    no_price = http.post("/orders", data=ticket)
    assert no_price.status_code == 400 and 'id="ticket-price-error"' in no_price.text
    placed = http.post("/orders", data={**ticket, "price": "4500"})
    assert placed.status_code == 303
    (order,) = service.orders(aid, "ETHUSDT", open_only=True, algo=False)
    assert (order.side, order.type, order.price, order.qty) == ("SELL", "LIMIT", D(4500), D("0.1"))
    stop = {
        "csrf": token,
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "stop",
        "qty": "0.05",
        "stop": "95000",
    }
    assert http.post("/orders", data={**stop, "reduce_only": "on"}).status_code == 303
    (algo,) = service.orders(aid, "BTCUSDT", open_only=True, algo=True)
    assert (algo.type, algo.stop_price, algo.reduce_only) == ("STOP_MARKET", D(95000), True)

    closed = http.post("/positions/close", data={"csrf": token, "position": "BTCUSDT-long"})
    assert closed.status_code == 303
    assert service.account(aid).positions == ()


def test_account_page_and_stream_show_the_gauge_and_funding(http: TestClient) -> None:
    service = priced(http)
    aid = service.create_account(deposit=D(1000), bonus=D(0)).account_id
    service.set_leverage(aid, "BTCUSDT", 20)
    order = OrderRequest(symbol="BTCUSDT", side="BUY", type="MARKET", client_order_id="c1", qty=D("0.1"))
    service.place_order(aid, order)
    service.settle_funding("BTCUSDT", D("0.001"))
    view = service.account(aid)
    assert view.margin_ratio is not None and view.margin_ratio > 0
    page = signed_in(http, aid).get("/account").text
    assert f'data-live="ratio">{formats.percent(view.margin_ratio)}<' in page
    paid = service.funding_totals(aid)[0]
    assert paid == D("10.00000") and f'data-live="funding_paid">{formats.money(paid)}<' in page
    stream = http.get("/events?once=1")
    assert stream.headers["content-type"].startswith("text/event-stream")
    data = json.loads(next(line for line in stream.text.splitlines() if line.startswith("data: "))[6:])
    assert data["fields"]["ratio"] == formats.percent(view.margin_ratio) and data["keys"] == "BTCUSDT-long"
    assert data["positions"]["BTCUSDT-long"]["fields"]["p_liq"] == formats.price(
        view.positions[0].liquidation_price, "", step=D("0.1")
    )
