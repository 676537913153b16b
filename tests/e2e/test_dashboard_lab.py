"""``marginlab dashboard``'s pages over HTTP: the what-if and replay & risk JSON routes with real values.

The app is :func:`marginlab.web.lab.create_app` on the seed example ($10,000 account, $5,000 long BTC at 10×
isolated), driven with Starlette's test client; the browser test (test_dashboard_lab_browser.py) drives the
same pages in Chromium.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest
from fastapi.testclient import TestClient

from marginlab.app import replay, whatif
from marginlab.app.inputs import read_portfolio
from marginlab.web.lab import create_app
from support import EXAMPLES, invoke

SEED = EXAMPLES / "seed.toml"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(SEED)) as c:
        yield c


def move(client: TestClient, prices: dict[str, str] | None = None, change: str = "0") -> Any:
    return client.post("/whatif/move", json={"prices": prices or {}, "change": change})


def test_the_whatif_page_opens_on_the_seed_with_its_first_move_embedded(client: TestClient) -> None:
    response = client.get("/", follow_redirects=True)
    assert response.status_code == 200
    assert response.url.path == "/whatif"
    assert "What if the price moves?" in response.text
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    start = response.text.index('id="whatif-initial">') + len('id="whatif-initial">')
    initial = json.loads(response.text[start : response.text.index("</script>", start)])
    assert initial["book"]["marks"] == {"BTCUSDT": "100000"}
    assert initial["book"]["ticks"] == {"BTCUSDT": "0.1"}
    assert initial["move"]["scenarios"]["as-is"]["positions"][0]["liquidation_price"] == "90361.44578313"
    assert initial["move"]["scenarios"]["cross"]["positions"][0]["liquidation_price"] is None


def test_a_move_to_the_liquidation_price_liquidates_the_isolated_long_only(client: TestClient) -> None:
    at = move(client, {"BTCUSDT": "90361.4"})
    assert at.status_code == 200
    doc = at.json()
    assert doc["prices"] == {"BTCUSDT": "90361.4"}
    assert doc["scenarios"]["as-is"]["liquidated"] == ["BTCUSDT long"]
    assert doc["scenarios"]["as-is"]["equity_after"] == "9500"
    assert doc["scenarios"]["isolated"]["liquidated"] == ["BTCUSDT long"]
    assert doc["scenarios"]["cross"]["liquidated"] == []
    assert doc["scenarios"]["cross"]["equity_after"] == "9518.07"
    before = move(client, {"BTCUSDT": "90361.5"}).json()
    assert before["scenarios"]["as-is"]["liquidated"] == []
    assert before["scenarios"]["as-is"]["equity_after"] == "9518.075"


def test_moving_everything_composes_with_a_symbols_price(client: TestClient) -> None:
    doc = move(client, {"BTCUSDT": "95000"}, "-10").json()
    assert doc["prices"] == {"BTCUSDT": "85500"}
    # the same as the use case called directly
    book = whatif.prepare(whatif.WhatIfRequest(book=read_portfolio(SEED)))
    direct = whatif.move(book, {"BTCUSDT": "95000"}, D("-0.1"))
    assert D(doc["scenarios"]["cross"]["equity_after"]) == direct.scenarios["cross"].equity_after
    assert doc["scenarios"]["cross"]["equity_after"] == "9275"  # 10,000 + 0.05 × (85,500 − 100,000)


@pytest.mark.parametrize(
    ("prices", "change", "field", "error"),
    [
        ({"BTCUSDT": "abc"}, "0", "prices.BTCUSDT", "prices.BTCUSDT: expected a number, was 'abc'"),
        ({"BTCUSDT": "0"}, "0", "prices.BTCUSDT", "prices.BTCUSDT: expected a price > 0, was '0'"),
        ({"ETHUSDT": "3000"}, "0", "form", "prices.ETHUSDT: not a symbol of the book (it holds BTCUSDT)"),
        ({}, "-100", "change", "change: expected a move above -100 %, was '-100'"),
        ({}, "ten", "change", "change: expected a number, was 'ten'"),
    ],
)
def test_bad_input_is_refused_with_the_engines_line_naming_the_field(
    client: TestClient, prices: dict[str, str], change: str, field: str, error: str
) -> None:
    response = move(client, prices, change)
    assert response.status_code == 422
    assert response.json() == {"field": field if field != "form" else "prices.ETHUSDT", "error": error}


def wait(client: TestClient, job_id: str, timeout_s: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state: dict[str, Any] = client.get(f"/replay/jobs/{job_id}").json()
        if state["status"] != "running":
            return state
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still running after {timeout_s} s")


def test_compare_from_the_page_shows_the_offline_reports_own_table_and_figure(client: TestClient) -> None:
    started = client.post(
        "/replay/jobs", json={"kind": "compare", "scenario": "2025-10-10", "modes": ["cross", "isolated"]}
    )
    assert started.status_code == 202
    state = wait(client, started.json()["id"])
    assert state["status"] == "done", state
    assert state["done"] == state["total"] == 2
    result = state["result"]
    direct = replay.replay(
        replay.ReplayRequest(portfolio=read_portfolio(SEED), scenario="2025-10-10", modes="cross,isolated")
    )
    parts = replay.report_parts(direct)
    assert result["summary_html"] == parts.summary_html  # one code path: the report's own fragment
    assert "<table class='summary'>" in result["summary_html"]
    assert "final equity (USDT)" in result["summary_html"]
    figure = json.loads(result["figure"])
    assert [t["name"] for t in figure["data"]][:1] == ["mark price (close)"]
    assert figure["layout"]["annotations"][0]["text"] == "cross"


def test_a_compare_on_unknown_data_fails_next_to_the_scenario_field(client: TestClient) -> None:
    started = client.post("/replay/jobs", json={"kind": "compare", "scenario": "1999-01-01"})
    state = wait(client, started.json()["id"])
    assert state["status"] == "failed"
    assert state["field"] == "scenario"
    assert state["error"].startswith("unknown scenario '1999-01-01'; known scenarios: 2020-03-12")


def test_risk_from_the_page_reports_probabilities_per_mode(client: TestClient) -> None:
    started = client.post(
        "/replay/jobs", json={"kind": "risk", "horizon": "1d", "paths": "2000", "modes": ["cross"]}
    )
    assert started.status_code == 202
    state = wait(client, started.json()["id"])
    assert state["status"] == "done", state
    risk = state["result"]["risk"]
    assert risk["paths"] == 2000
    assert set(risk["modes"]) == {"cross", "isolated", "hybrid"}
    for mode in risk["modes"].values():
        assert 0 <= mode["p_any_liquidation"] <= 1
    # cross: the $10,000 wallet backs a $5,000 long, which no positive price liquidates
    assert risk["modes"]["cross"]["p_any_liquidation"] == 0
    # the chart: one colour per mode, the odds (%) on the left, the losses on the right, the JSON's figures
    figure = json.loads(state["result"]["figure"])
    odds = [t for t in figure["data"] if t["xaxis"] == "x"]
    losses = [t for t in figure["data"] if t["xaxis"] == "x2"]
    assert [t["name"] for t in odds] == [t["name"] for t in losses] == list(risk["modes"])
    for trace in odds:
        mode = risk["modes"][trace["name"]]
        assert trace["x"] == ["any liquidation", "wipe-out", "BTCUSDT long liquidated"]
        expected = [mode["p_any_liquidation"] * 100, mode["p_wipeout"] * 100]
        assert trace["y"][:2] == pytest.approx(expected, abs=1e-4)
    for trace in losses:
        mode = risk["modes"][trace["name"]]
        assert trace["y"] == pytest.approx([mode["expected_loss"], mode["es95"], mode["es99"]], abs=0.01)


def test_the_standalone_whatif_page_has_no_live_marks(client: TestClient) -> None:
    text = client.get("/whatif").text
    # a portfolio file's marks never move: no stream to follow, no "reset to mark", no live status
    assert "data-live-url" not in text
    assert 'data-role="follow"' not in text
    assert 'id="live-status"' not in text


@pytest.mark.parametrize(
    ("form", "field", "error"),
    [
        (
            {"kind": "risk", "horizon": "soon"},
            "horizon",
            "horizon: expected a duration such as 1d, 12h or 90m",
        ),
        ({"kind": "risk", "paths": "1.5"}, "paths", "paths: expected a whole number, was '1.5'"),
        ({"kind": "bake"}, "form", "kind: expected one of compare, risk, was 'bake'"),
    ],
)
def test_a_bad_replay_or_risk_form_is_refused_at_once(
    client: TestClient, form: dict[str, str], field: str, error: str
) -> None:
    response = client.post("/replay/jobs", json=form)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert response.json()["error"].startswith(error)


def test_the_replay_page_lists_the_bundled_scenarios(client: TestClient) -> None:
    page = client.get("/replay")
    assert page.status_code == 200
    assert '<option value="2025-10-10" selected>2025-10-10</option>' in page.text


def test_dashboard_refuses_a_bad_portfolio_in_one_line(tmp_path: Any) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[positions]]\nsymbol = "BTCUSDT"\nside = "sideways"\nqty = "1"\nentry = "1"\n')
    code, _, err = invoke("dashboard", str(bad))
    assert code == 2
    assert err.startswith("error: bad.toml: positions[0].side:")
    assert len(err.strip().splitlines()) == 1
