"""The HTTP front end: signing and its error order, error shapes, limits, admin, and account isolation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from marginlab.api import private
from marginlab.api.app import create_app
from marginlab.api.signing import sign
from marginlab.venue.settings import VenueSettings

ADMIN = "unit-admin-token-0123456789"


class Signed:
    """A signing client for one API key, in ccxt's parameter order (timestamp first, signature last)."""

    def __init__(self, http: TestClient, key: str, secret: str, clock: Any) -> None:
        self.http, self.key, self.secret, self.clock = http, key, secret, clock

    def __call__(self, method: str, path: str, **params: Any) -> Any:
        payload = urlencode({"timestamp": self.clock(), **params, "recvWindow": 10000}, quote_via=quote)
        signed = f"{payload}&signature={sign(self.secret, payload.encode())}"
        headers = {"X-MBX-APIKEY": self.key}
        if method in ("GET", "DELETE"):
            return self.http.request(method, f"{path}?{signed}", headers=headers)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return self.http.request(method, path, content=signed, headers=headers)


@pytest.fixture
def http(engine: Engine, clock: Any, tmp_path: Path) -> Iterator[TestClient]:
    settings = VenueSettings(key_file=tmp_path / "k", admin_token=ADMIN, rate_limit_per_minute=1000)
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app) as client:
        response = client.post(
            "/admin/v1/mark",
            json={"prices": {"BTCUSDT": "100000", "ETHUSDT": "4000"}},
            headers={"X-ADMIN-TOKEN": ADMIN},
        )
        assert response.status_code == 200, response.text
        yield client


def new_client(http: TestClient, clock: Any, deposit: str = "10000") -> Signed:
    response = http.post(
        "/admin/v1/accounts", json={"deposit": deposit, "bonus": "5500"}, headers={"X-ADMIN-TOKEN": ADMIN}
    )
    body = response.json()
    return Signed(http, body["api_key"], body["api_secret"], clock)


def test_the_contract_signature_vector() -> None:
    payload = (
        b"timestamp=1795574335960&symbol=BTCUSDT&side=BUY&newClientOrderId=x-cvBPrNm9d97293fc10177ce16da093"
        b"&newOrderRespType=RESULT&type=MARKET&quantity=0.05&recvWindow=10000"
    )
    assert sign("testsecret", payload) == "59e9f0beba88880faaba1630803a7100f4b597449835db08d8e45f5250f3a623"


def test_authentication_errors_in_binance_order(http: TestClient, clock: Any) -> None:
    alice = new_client(http, clock)
    assert http.get("/fapi/v3/account").json() == {"code": -2014, "msg": "API-key format invalid."}
    unknown = Signed(http, "nobody", alice.secret, clock)("GET", "/fapi/v3/account")
    assert (unknown.status_code, unknown.json()["code"]) == (401, -2015)
    no_ts = http.get("/fapi/v3/account?signature=abc", headers={"X-MBX-APIKEY": alice.key})
    assert (no_ts.status_code, no_ts.json()["code"]) == (400, -1102)
    wrong = Signed(http, alice.key, "x" * 64, clock)("GET", "/fapi/v3/account")
    assert (wrong.status_code, wrong.json()) == (
        400,
        {"code": -1022, "msg": "Signature for this request is not valid."},
    )
    late = Signed(http, alice.key, alice.secret, lambda: clock() - 20_000)("GET", "/fapi/v3/account")
    assert (late.status_code, late.json()["code"]) == (400, -1021)
    early = Signed(http, alice.key, alice.secret, lambda: clock() + 1000)("GET", "/fapi/v3/account")
    assert early.json()["code"] == -1021
    ok = alice("GET", "/fapi/v3/account")
    assert ok.status_code == 200 and ok.json()["bonusBalance"] == "5500.00000000"


def test_unknown_paths_and_bad_parameters_answer_binance_json(http: TestClient) -> None:
    missing = http.get("/fapi/v1/nothing")
    assert (missing.status_code, missing.json()["code"]) == (404, -1020)
    wrong_method = http.put("/fapi/v1/time")
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (404, -1020)
    bad = http.get("/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=0")
    assert (bad.status_code, bad.json()["code"]) == (400, -1102)
    unknown_symbol = http.get("/fapi/v1/premiumIndex?symbol=NOPEUSDT")
    assert unknown_symbol.json() == {"code": -1121, "msg": "Invalid symbol."}
    huge = http.get("/fapi/v1/time?" + "a=1&" * 5000)
    assert huge.status_code == 414 and huge.json()["code"] == -1130
    body = http.post("/admin/v1/mark", content=b"x" * 20_000, headers={"X-ADMIN-TOKEN": ADMIN})
    assert body.status_code == 413


def test_public_market_data(http: TestClient, clock: Any) -> None:
    index = http.get("/fapi/v1/premiumIndex?symbol=BTCUSDT").json()
    assert index["markPrice"] == "100000.00000000" and index["lastFundingRate"] == "0.00010000"
    assert isinstance(http.get("/fapi/v1/premiumIndex").json(), list)
    clock.now += 60_000
    http.post("/admin/v1/mark", json={"prices": {"BTCUSDT": "101000"}}, headers={"X-ADMIN-TOKEN": ADMIN})
    candles = http.get("/fapi/v1/klines?symbol=BTCUSDT&interval=1m").json()
    assert [c[4] for c in candles] == ["100000", "101000"]
    book = http.get("/fapi/v1/depth?symbol=BTCUSDT&limit=5").json()
    assert book["bids"][0][0] == "100989.9" and book["asks"][0][0] == "101010.1"
    assert http.get("/fapi/v1/ticker/price?symbol=BTCUSDT").json()["price"] == "101000"


def test_admin_needs_the_token(http: TestClient) -> None:
    refused = http.post("/admin/v1/mark", json={"prices": {"BTCUSDT": "1"}})
    assert (refused.status_code, refused.json()["code"]) == (401, -2015)
    wrong = http.post(
        "/admin/v1/mark", json={"prices": {"BTCUSDT": "1"}}, headers={"X-ADMIN-TOKEN": "x" * 30}
    )
    assert wrong.status_code == 401


def test_rate_limit_answers_429_with_retry_after(engine: Engine, clock: Any, tmp_path: Path) -> None:
    settings = VenueSettings(key_file=tmp_path / "k", admin_token=ADMIN, rate_limit_per_minute=3)
    with TestClient(create_app(settings, engine=engine, clock=clock)) as client:
        client.post(
            "/admin/v1/mark", json={"prices": {"BTCUSDT": "100000"}}, headers={"X-ADMIN-TOKEN": ADMIN}
        )
        alice = new_client(client, clock)
        codes = [alice("GET", "/fapi/v3/account").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = alice("GET", "/fapi/v3/account")
        # the injected clock stands at the start of a minute: the window resets in 60 s
        assert (limited.json()["code"], limited.headers["Retry-After"]) == (-1003, "60")
        clock.now += 59_000
        assert alice("GET", "/fapi/v3/account").status_code == 429
        clock.now += 1_000  # the next one-minute window
        assert alice("GET", "/fapi/v3/account").status_code == 200


def _signed_routes() -> list[tuple[str, str]]:
    routes = []
    for route in private.router.routes:
        if isinstance(route, APIRoute):
            routes.extend((method, route.path) for method in sorted(route.methods))
    return routes


def test_no_key_reads_or_changes_another_account(http: TestClient, clock: Any) -> None:
    alice, bob = new_client(http, clock), new_client(http, clock, deposit="777")
    assert alice("POST", "/fapi/v1/marginType", symbol="BTCUSDT", marginType="ISOLATED").status_code == 200
    order = alice(
        "POST",
        "/fapi/v1/order",
        symbol="BTCUSDT",
        side="BUY",
        type="MARKET",
        quantity="0.05",
        newClientOrderId="alice-1",
    ).json()
    resting = alice(
        "POST",
        "/fapi/v1/order",
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        quantity="0.01",
        price="90000",
        timeInForce="GTC",
        newClientOrderId="alice-2",
    ).json()
    algo = alice(
        "POST",
        "/fapi/v1/algoOrder",
        symbol="BTCUSDT",
        side="SELL",
        type="STOP_MARKET",
        quantity="0.05",
        triggerPrice="80000",
        reduceOnly="true",
        algoType="CONDITIONAL",
        clientAlgoId="alice-3",
    ).json()
    before = alice("GET", "/fapi/v3/account").json()
    routes = _signed_routes()
    assert len(routes) == 29  # every signed route of the API
    params = {
        "symbol": "BTCUSDT",
        "orderId": order["orderId"],
        "origClientOrderId": "alice-2",
        "algoId": algo["algoId"],
        "clientAlgoId": "alice-3",
        "type": "2",
        "amount": "10",
        "marginType": "CROSSED",
        "leverage": "3",
        "side": "SELL",
        "quantity": "0.05",
        "reduceOnly": "true",
        "dualSidePosition": "true",
        "newClientOrderId": "bob-1",
        "triggerPrice": "1",
        "algoType": "CONDITIONAL",
    }
    for method, path in routes:
        response = bob(
            method, path, **{**params, "type": "MARKET" if path.endswith("/order") else params["type"]}
        )
        assert response.status_code in (200, 400), (method, path, response.text)
        text = response.text
        for trace_of_alice in ("alice-1", "alice-2", "alice-3", before["totalWalletBalance"]):
            assert trace_of_alice not in text, (method, path, text)
    after = alice("GET", "/fapi/v3/account").json()
    for field in ("totalWalletBalance", "availableBalance", "bonusBalance"):
        assert after[field] == before[field]
    assert [p["positionAmt"] for p in after["positions"]] == ["0.05"]
    still_open = alice("GET", "/fapi/v1/openOrders", symbol="BTCUSDT").json()
    assert [o["orderId"] for o in still_open] == [resting["orderId"]]
    assert alice("GET", "/fapi/v1/openAlgoOrders").json()[0]["algoStatus"] == "NEW"
    config = alice("GET", "/fapi/v1/symbolConfig", symbol="BTCUSDT").json()
    assert config[0]["marginType"] == "ISOLATED" and config[0]["leverage"] == 20
