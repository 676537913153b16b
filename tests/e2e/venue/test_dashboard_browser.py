"""The dashboard in a real browser (system Chromium via Playwright) against the real venue server.

One server for the module (the ``venue`` fixture) and one browser for the session (``browser``); each test
has its own browser context (its own cookies). The trade is opened through the REST API with ccxt, as a
bot would; the page must show what the API (the engine) says, live.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest

from marginlab.web import formats
from support import ccxt_client

BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
BTC_TICK = D("0.1")  # exchangeInfo's PRICE_FILTER of BTCUSDT
WAIT_MS = 15_000  # generous: the machine is shared; the live stream itself polls 2.5 times a second


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser context at 1280×800 (no cookies from other tests)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(WAIT_MS)
    yield ctx
    ctx.close()


def rest_position(ex: Any, symbol: str) -> dict[str, str]:
    (pos,) = ex.fetch_positions([symbol])
    info: dict[str, str] = pos["info"]
    return info


def test_position_gauge_live_marks_refused_switch_add_margin_and_liquidation(
    venue: Any, context: Any
) -> None:
    from playwright.sync_api import expect

    venue.mark(BTCUSDT="100000", ETHUSDT="4000")
    creds = venue.new_account(deposit="10000", bonus="5500")
    ex = ccxt_client(venue.url, creds["api_key"], creds["api_secret"])
    ex.load_markets()
    ex.set_margin_mode("isolated", BTC)
    ex.set_leverage(10, BTC)
    ex.create_order(BTC, "market", "buy", 0.05)
    ex.set_leverage(10, ETH)
    ex.create_order(ETH, "market", "sell", 1)  # a cross position, so the account gauge has something to show

    page = context.new_page()
    page.goto(creds["dashboard_url"])  # the link asks to confirm (a preview bot's GET does not spend it)
    expect(page.locator("h1")).to_have_text(f"Sign in to account {creds['account_id']}")
    page.get_by_role("button", name="Open the dashboard").click()
    page.wait_for_url("**/account")
    expect(page.locator("h1")).to_have_text(f"Account {creds['account_id']}")
    expect(page.locator("#live-status")).to_have_text("live")

    # the gauge: the cross margin ratio the API's figures give, between 0 and Binance's 80 % warning
    account = ex.fapiPrivateV3GetAccount()
    eth = rest_position(ex, ETH)
    ratio = D(eth["maintMargin"]) / (D(account["totalCrossWalletBalance"]) + D(account["totalCrossUnPnl"]))
    gauge = page.locator("#gauge")
    expect(gauge).to_have_attribute("aria-valuetext", formats.percent(ratio))
    expect(gauge).to_have_attribute("data-level", "ok")
    assert D(0) < ratio < D("0.8")

    # the position row: the engine's liquidation price, as the REST API reports it
    page.goto(venue.url + "/positions")
    row = page.locator("#pos-BTCUSDT-long")
    btc = rest_position(ex, BTC)
    liq_before = D(btc["liquidationPrice"])
    expect(row.locator('[data-live="p_liq"]')).to_have_text(formats.price(liq_before, "", step=BTC_TICK))
    expect(row.locator(".badge")).to_have_text("isolated")
    upnl = formats.signed_money(D(btc["unRealizedProfit"]), "")
    expect(row.locator('[data-live="p_upnl"]')).to_have_text(upnl)

    # a live mark: the row's mark and PnL move without a reload
    venue.mark(BTCUSDT="101000")
    expect(row.locator('[data-live="p_mark"]')).to_have_text("101,000")
    moved = D(rest_position(ex, BTC)["unRealizedProfit"])
    assert moved > D(btc["unRealizedProfit"])
    expect(row.locator('[data-live="p_upnl"]')).to_have_text(formats.signed_money(moved, ""))

    # switching a symbol with a position is refused, in words, next to the button
    row.locator("summary").click()
    row.get_by_role("button", name="Switch to cross").click()
    error = page.locator("#mode-BTCUSDT-long-mode-error")
    expect(error).to_contain_text("Margin type cannot be changed if there exists position.")
    expect(error).to_contain_text("only while it has no open position")
    assert ex.fetch_positions([BTC])[0]["marginMode"] == "isolated"

    # adding margin moves the liquidation price away, to the engine's new figure
    page.goto(venue.url + "/positions")
    row = page.locator("#pos-BTCUSDT-long")
    row.locator("summary").click()
    row.get_by_label("Margin, USDT").fill("100")
    row.get_by_role("button", name="Add").click()
    page.wait_for_url("**/positions?done=margin")
    liq_after = D(rest_position(ex, BTC)["liquidationPrice"])
    assert liq_after < liq_before
    expect(page.locator('#pos-BTCUSDT-long [data-live="p_liq"]')).to_have_text(
        formats.price(liq_after, "", step=BTC_TICK)
    )

    # a mark through the liquidation price: the account page counts it and lists it, live
    page.goto(venue.url + "/account")
    expect(page.locator("#live-status")).to_have_text("live")
    expect(page.locator("#liquidations")).to_have_text("0")
    venue.mark(BTCUSDT=str((liq_after * D("0.98")).quantize(D(1))))
    expect(page.locator("#liquidations")).to_have_text("1")
    expect(page.locator("#liquidation-table")).to_contain_text("BTCUSDT")
    expect(page.locator("#pos-BTCUSDT-long")).to_have_count(0)
    assert [p["symbol"] for p in ex.fetch_positions()] == [ETH]


def test_sign_in_form_sign_out_phone_width_and_keyboard(venue: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    creds = venue.new_account(deposit="777", bonus="0")
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    ctx.set_default_timeout(WAIT_MS)
    try:
        page = ctx.new_page()
        page.goto(venue.url + "/account")
        page.wait_for_url("**/signin")
        page.keyboard.press("Tab")  # the first stop is the skip link
        expect(page.locator(".skip")).to_be_focused()
        page.get_by_label("API key").fill(creds["api_key"])
        page.get_by_label("API secret").fill("wrong" * 10)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#api_secret-error")).to_contain_text("API key and secret do not match")
        page.get_by_label("API secret").fill(creds["api_secret"])
        page.get_by_label("API secret").press("Enter")
        page.wait_for_url("**/account")
        expect(page.locator('[data-live="equity"]')).to_have_text("777.00 USDT")
        assert creds["api_secret"] not in page.content()
        cookie = next(c for c in ctx.cookies() if c["name"] == "marginlab_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        # phone width: the page itself never scrolls sideways (wide tables scroll in their own box)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.goto(venue.url + "/positions")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/signin")
        ctx.add_cookies([{**cookie}])  # a copy of the old cookie opens nothing: the session ended server-side
        page.goto(venue.url + "/account")
        page.wait_for_url("**/signin")
    finally:
        ctx.close()


def test_whatif_prices_follow_the_live_marks_until_touched(venue: Any, context: Any) -> None:
    from playwright.sync_api import expect

    venue.mark(BTCUSDT="100000", ETHUSDT="4000")
    creds = venue.new_account(deposit="10000", bonus="0")
    ex = ccxt_client(venue.url, creds["api_key"], creds["api_secret"])
    ex.load_markets()
    ex.create_order(BTC, "market", "buy", 0.05)
    ex.create_order(ETH, "market", "sell", 1)

    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(creds["dashboard_url"])
    page.get_by_role("button", name="Open the dashboard").click()
    page.wait_for_url("**/account")
    page.goto(venue.url + "/whatif")
    expect(page.locator("#live-status")).to_have_text("live")
    btc, eth = page.locator("#price-BTCUSDT"), page.locator("#price-ETHUSDT")
    expect(btc).to_have_value("100000")
    status = page.locator("#whatif-status")
    eth.fill("3900")  # touched: ETH stays at the user's price from now on
    expect(status).to_have_text("prices: BTCUSDT 100,000.0, ETHUSDT 3,900.00")
    reset = page.get_by_role("button", name="Reset ETHUSDT to the live mark")
    expect(reset).to_be_visible()
    expect(page.get_by_role("button", name="Reset BTCUSDT to the live mark")).to_be_hidden()
    equity = page.locator('#scenario-as-is [data-field="equity_before"]')

    def account_equity() -> str:  # the venue's own figure, as the what-if page prints an amount
        return f"{D(ex.fapiPrivateV3GetAccount()['totalMarginBalance']):,.2f} USDT"

    before = account_equity()
    expect(equity).to_have_text(before)

    # the marks move through the admin API: the untouched BTC field and the result follow, ETH stays
    venue.mark(BTCUSDT="101000", ETHUSDT="4100")
    expect(btc).to_have_value("101000")
    expect(eth).to_have_value("3900")
    expect(status).to_have_text("prices: BTCUSDT 101,000.0, ETHUSDT 3,900.00")
    after = account_equity()  # the account at the new marks: +50 on BTC, -100 on ETH
    assert D(after.split()[0].replace(",", "")) == D(before.split()[0].replace(",", "")) - 50
    expect(equity).to_have_text(after)
    expect(page.locator("#pct-BTCUSDT")).to_have_text("0.00 % vs mark")

    # "reset to mark", by keyboard: ETH joins the live mark again and keeps following it
    reset.focus()
    page.keyboard.press("Enter")
    expect(eth).to_have_value("4100")
    expect(eth).to_be_focused()
    expect(reset).to_be_hidden()
    expect(status).to_have_text("prices: BTCUSDT 101,000.0, ETHUSDT 4,100.00")
    venue.mark(ETHUSDT="4050")
    expect(eth).to_have_value("4050")
    expect(status).to_have_text("prices: BTCUSDT 101,000.0, ETHUSDT 4,050.00")
    assert errors == []
