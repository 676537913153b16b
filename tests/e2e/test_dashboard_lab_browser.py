"""``marginlab dashboard`` in a real browser (system Chromium via Playwright): the seed example's what-if.

The server is the real command in a subprocess, as a user starts it. The what-if slider must turn the isolated
long's row red at its liquidation price on the tick (90,361.4, which the page shows) and not one tick before,
with the engine's equity; a compare run from the replay page must show the summary table and figure, a risk
run its table and chart.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support import EXAMPLES

WAIT_MS = 30_000  # generous: the machine is shared
DOCS_IMG = Path(__file__).parents[2] / "docs" / "img"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def dashboard() -> Iterator[str]:
    """``marginlab dashboard seed.toml`` on a free port; yields its base URL."""
    port = free_port()
    cli = Path(sys.executable).with_name("marginlab")
    proc = subprocess.Popen(
        [str(cli), "dashboard", str(EXAMPLES / "seed.toml"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/whatif", timeout=2) as r:  # noqa: S310 - loopback
                    if r.status == 200:
                        break
            except OSError as exc:
                if proc.poll() is not None or time.monotonic() > deadline:
                    why = proc.stderr.read() if proc.stderr else ""
                    raise AssertionError(f"dashboard did not start: {why}") from exc
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(WAIT_MS)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    ctx.close()
    assert errors == []  # no script error on the page, CSP included


def screenshot(page: Any, name: str) -> None:
    """Save a screenshot into docs/img when MARGINLAB_SCREENSHOTS=1 (tools refresh them; tests do not)."""
    if os.environ.get("MARGINLAB_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_IMG / name), full_page=True)


def test_the_whatif_slider_turns_the_row_red_at_the_liquidation_price(dashboard: str, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(dashboard + "/")
    expect(page.locator("h1")).to_have_text("What if the price moves?")
    as_is = page.locator('#scenario-as-is tr[data-position="BTCUSDT long"]')
    cross = page.locator('#scenario-cross tr[data-position="BTCUSDT long"]')
    expect(as_is).to_be_visible()
    expect(as_is.locator("td").first).to_have_text("90,361.4")  # the engine's liquidation price, on the tick
    expect(as_is).not_to_have_class("danger liquidated")
    expect(page.locator('#scenario-as-is [data-field="equity_before"]')).to_have_text("10,000.00 USDT")
    expect(page.locator("#whatif-chart .main-svg").first).to_be_attached()
    screenshot(page, "whatif.png")

    price = page.locator("#price-BTCUSDT")
    price.fill("90361.5")  # one tick before the liquidation price
    expect(page.locator("#whatif-status")).to_contain_text("BTCUSDT 90,361.5")
    expect(as_is).not_to_have_class("danger liquidated")
    price.fill("90361.4")  # at it
    expect(as_is).to_have_class("danger liquidated")
    expect(cross).not_to_have_class("danger liquidated")  # the whole $10,000 behind it: no liquidation
    expect(page.locator('#scenario-as-is [data-field="equity_after"]')).to_have_text("9,500.00 USDT")
    expect(page.locator('#scenario-cross [data-field="equity_after"]')).to_have_text("9,518.07 USDT")
    screenshot(page, "whatif-liquidated.png")

    # the "move everything" slider, by keyboard: back to the mark, then −10 % (90,000: past the liquidation)
    page.locator("button[type=reset]").click()
    expect(as_is).not_to_have_class("danger liquidated")
    page.locator("#change").fill("-10")
    expect(as_is).to_have_class("danger liquidated")
    expect(page.locator("#whatif-status")).to_contain_text("BTCUSDT 90,000.0")

    # bad input: the engine's one-line message next to the field
    price.fill("abc")
    expect(page.locator('[id="error-prices.BTCUSDT"]')).to_have_text(
        "prices.BTCUSDT: expected a number, was 'abc'"
    )
    expect(price).to_have_attribute("aria-invalid", "true")


def test_compare_from_the_replay_page_shows_the_summary_table(dashboard: str, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(dashboard + "/replay")
    page.select_option("#compare-scenario", "2025-10-10")
    page.locator("#compare-form button[type=submit]").click()
    table = page.locator("#lab-result-body table.summary")
    expect(table).to_be_visible(timeout=120_000)
    expect(table.locator("thead th")).to_have_text(["", "cross", "isolated", "hybrid"])
    expect(table.locator("tbody tr").first).to_contain_text("start equity (USDT)")
    expect(page.locator("#lab-figure .main-svg").first).to_be_attached()
    screenshot(page, "replay.png")


def test_risk_from_the_replay_page_shows_the_chart(dashboard: str, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(dashboard + "/replay")
    page.locator("#risk-paths").fill("2000")  # few paths: the chart, not the estimate, is under test
    page.locator("#risk-form button[type=submit]").click()
    table = page.locator("#lab-result-body table.summary")
    expect(table).to_be_visible(timeout=120_000)
    expect(page.locator("#lab-figure")).to_be_visible()
    expect(page.locator("#lab-figure .main-svg").first).to_be_attached()
    # one bar series per mode in the legend, and both panels' titles: the server's figure, drawn as it is
    expect(page.locator("#lab-figure .legendtext")).to_have_text(["cross", "isolated", "hybrid"])
    expect(page.locator("#lab-figure .annotation-text")).to_have_text(
        ["chance of liquidation (%; whiskers: 95 % interval)", "loss over the horizon (USDT)"]
    )


def test_a_phone_width_screen_keeps_the_whatif_usable(dashboard: str, browser: Any) -> None:
    from playwright.sync_api import expect

    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = ctx.new_page()
        page.goto(dashboard + "/whatif")
        expect(page.locator("#price-BTCUSDT")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # nothing wider than the screen: tables scroll inside their box
    finally:
        ctx.close()
