"""Take the README's dashboard screenshots: a real venue server, a small book, the system Chromium.

Usage: .venv/bin/python tools/screenshots.py [OUT_DIR]   (default: docs/img)

Starts ``marginlab venue serve`` on a temporary SQLite database and a free loopback port, creates the seed's
account (10,000 USDT own funds and a 5,500 USDT bonus), opens an isolated BTC long at 10x, a cross ETH short,
a cross SOL long and an isolated XRP long at 20x through the signed REST API (what ccxt would send), moves
the marks (XRP through its liquidation price), signs a browser in
by the one-time link and saves each page at 1280x800 (and the positions page at phone width). Pages that
this venue does not serve (404) are skipped. Needs Playwright and Chromium at /usr/bin/chromium
(``MARGINLAB_CHROMIUM``); Playwright never downloads a browser here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
MARGINLAB = str(Path(sys.executable).parent / "marginlab")
CHROMIUM = os.environ.get("MARGINLAB_CHROMIUM", "/usr/bin/chromium")
ADMIN = "screenshots-admin-token-0123456789"
PAGES = [
    ("account", "/account", 1280, 800),
    ("positions", "/positions", 1280, 800),
    ("positions-phone", "/positions", 390, 844),
    ("whatif", "/whatif", 1280, 800),
    ("replay", "/replay", 1280, 800),
]
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(url: str, *, data: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Any:
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(  # noqa: S310 - the local server's http URL
        url, data=body, headers={"Content-Type": "application/json", **(headers or {})}
    )
    with OPENER.open(request, timeout=60) as response:
        return json.loads(response.read())


def signed(url: str, key: str, secret: str, path: str, **params: Any) -> Any:
    payload = urlencode({"timestamp": int(time.time() * 1000), **params, "recvWindow": 10000})
    signature = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(  # noqa: S310 - the local server's http URL
        url + path,
        data=f"{payload}&signature={signature}".encode(),
        headers={"X-MBX-APIKEY": key, "Content-Type": "application/x-www-form-urlencoded"},
    )
    with OPENER.open(request, timeout=60) as response:
        return json.loads(response.read())


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img"
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        db = f"sqlite:///{folder}/venue.db"
        env = {
            **os.environ,
            "MARGINLAB_VENUE_SECRET_KEY": Fernet.generate_key().decode(),
            "MARGINLAB_VENUE_ADMIN_TOKEN": ADMIN,
            "NO_PROXY": "127.0.0.1",
        }
        server = subprocess.Popen(  # noqa: S603 - our own console script
            [MARGINLAB, "venue", "serve", "--db", db, "--port", str(port)], env=env
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    call(url + "/health")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("the venue did not start") from None
                    time.sleep(0.3)
            admin = {"X-ADMIN-TOKEN": ADMIN}
            call(
                url + "/admin/v1/mark",
                data={"prices": {"BTCUSDT": "100000", "ETHUSDT": "4000"}},
                headers=admin,
            )
            created = subprocess.run(  # noqa: S603 - our own console script
                [MARGINLAB, "venue", "account", "create", "--db", db, "--url", url, "--json"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            creds = json.loads(created.stdout)
            key, secret = creds["api_key"], creds["api_secret"]
            signed(url, key, secret, "/fapi/v1/marginType", symbol="BTCUSDT", marginType="ISOLATED")
            signed(url, key, secret, "/fapi/v1/leverage", symbol="BTCUSDT", leverage=10)
            signed(
                url,
                key,
                secret,
                "/fapi/v1/order",
                symbol="BTCUSDT",
                side="BUY",
                type="MARKET",
                quantity="0.05",
            )
            signed(url, key, secret, "/fapi/v1/leverage", symbol="ETHUSDT", leverage=5)
            signed(
                url, key, secret, "/fapi/v1/order", symbol="ETHUSDT", side="SELL", type="MARKET", quantity="2"
            )
            signed(url, key, secret, "/fapi/v1/leverage", symbol="SOLUSDT", leverage=20)
            signed(
                url, key, secret, "/fapi/v1/order", symbol="SOLUSDT", side="BUY", type="MARKET", quantity="20"
            )
            # an isolated XRP long at 20x that the next marks liquidate, for the account's liquidation list
            xrp = float(call(url + "/fapi/v1/premiumIndex?symbol=XRPUSDT")["markPrice"])
            signed(url, key, secret, "/fapi/v1/marginType", symbol="XRPUSDT", marginType="ISOLATED")
            order = {"side": "BUY", "type": "MARKET", "quantity": "1000"}
            signed(url, key, secret, "/fapi/v1/order", symbol="XRPUSDT", **order)
            marks = {"BTCUSDT": "97250", "ETHUSDT": "4120", "XRPUSDT": f"{xrp * 0.9:.4f}"}
            call(url + "/admin/v1/mark", data={"prices": marks}, headers=admin)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                page.goto(creds["dashboard_url"])
                page.get_by_role("button", name="Open the dashboard").click()
                page.wait_for_url("**/account")
                for name, path, width, height in PAGES:
                    page.set_viewport_size({"width": width, "height": height})
                    response = page.goto(url + path)
                    if response is None or response.status == 404:
                        print(f"skipped {path} (not served)")
                        continue
                    page.wait_for_timeout(1500)  # the live stream's first update, charts drawn
                    target = out / f"dashboard-{name}.png"
                    page.screenshot(path=str(target), full_page=width < 1000)
                    print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
                browser.close()
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
