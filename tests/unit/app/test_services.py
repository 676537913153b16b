"""The use cases called directly (not through the CLI): typed requests in, typed results out."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from marginlab.app import advice, calculator, catalog, inputs, replay, scripts, sizing
from marginlab.app import risk as risk_case
from marginlab.domain.enums import MarginMode, Side
from marginlab.errors import InputError, RuleSetError
from marginlab.io.schema import PositionSpec, parse
from marginlab.rules import get_venue
from support import EXAMPLES, book

BTC_ISOLATED = {"symbol": "BTCUSDT", "side": "long", "qty": "0.05", "entry": "100000", "leverage": "10"}


def test_liquidation_reproduces_the_seed_example_exactly() -> None:
    portfolio = book(BTC_ISOLATED | {"mode": "isolated"}, usdt="9500")
    report = calculator.liquidation(calculator.PortfolioRequest(portfolio=portfolio))
    (pos,) = report.positions
    assert report.exchange == "binance"
    assert pos.liquidation_price is not None
    assert abs(pos.liquidation_price - D(100000) * D("0.9") / D("0.996")) < D(
        "1e-12"
    )  # not rounded to the tick
    assert pos.bankruptcy_price == D(90000)
    assert pos.margin == D(500)
    assert report.account.wallet_balance == D(10000)


def test_a_notional_buys_whole_lots_in_every_command() -> None:
    # 5050 / 100000 = 0.0505 BTC; BTCUSDT's lot is 0.001, so the position holds 0.050 (never more than asked)
    spec = {"symbol": "BTCUSDT", "side": "long", "notional": "5050", "entry": "100000", "leverage": "10"}
    portfolio = book(spec | {"mode": "isolated"})
    (pos,) = calculator.liquidation(calculator.PortfolioRequest(portfolio=portfolio)).positions
    assert pos.qty == D("0.05")
    assert pos.notional == D(5000)
    assert pos.margin == D(500)
    modes = calculator.modes(calculator.PortfolioRequest(portfolio=portfolio))
    assert modes.isolated.positions[0].margin == D(500)  # qty · entry / leverage of the rounded size
    assert modes.cross.account.cross_wallet_balance == D(10500)  # the isolated margin back in the wallet


def test_quantity_below_one_lot_names_the_notional() -> None:
    spec = parse(PositionSpec, {"symbol": "BTCUSDT", "side": "long", "notional": "50"})
    instrument = get_venue("binance").instrument("BTCUSDT")
    assert spec.quantity(instrument, D(40000)) == D("0.001")
    with pytest.raises(InputError, match="notional"):
        spec.quantity(instrument, D(100000))


def test_errors_name_the_position_they_are_about() -> None:
    portfolio = book(BTC_ISOLATED, {"symbol": "ETHUSDT", "side": "long", "qty": "1"})
    with pytest.raises(InputError, match=r"positions\[1\]: entry"):
        calculator.liquidation(calculator.PortfolioRequest(portfolio=portfolio))


def test_modes_keep_the_same_money_in_both_modes() -> None:
    report = calculator.modes(
        calculator.PortfolioRequest(portfolio=inputs.read_portfolio(EXAMPLES / "seed.toml"))
    )
    assert report.venue_title and report.exchange == "binance"
    cross, isolated = report.cross, report.isolated
    assert cross.account.wallet_balance == isolated.account.wallet_balance == D(10000)
    assert cross.positions[0].liquidation_price is None
    assert isolated.positions[0].mode is MarginMode.ISOLATED


def test_request_exchange_overrides_the_document() -> None:
    portfolio = book(BTC_ISOLATED)
    with pytest.raises(RuleSetError):
        calculator.liquidation(calculator.PortfolioRequest(portfolio=portfolio, exchange="nowhere"))


def test_script_runs_step_by_step_and_stops_at_a_rejected_step() -> None:
    expected = inputs.read_script(EXAMPLES / "seed_crash.toml")
    assert scripts.run(scripts.ScriptRequest(script=expected)).steps[5].expected_refusal  # it goes on
    steps = [s.model_copy(update={"expect": "ok"}) for s in expected.steps]
    script = expected.model_copy(update={"steps": steps})  # the mode switch no longer expected refused
    stopped = scripts.run(scripts.ScriptRequest(script=script))
    assert not stopped.completed
    assert stopped.steps[-1].ok is False and "mode" in (stopped.steps[-1].error or "")
    kept = scripts.run(scripts.ScriptRequest(script=script, keep_going=True))
    assert kept.completed and len(kept.steps) > len(stopped.steps)
    liquidated = [e for s in kept.steps for e in s.events if type(e).__name__ == "Liquidated"]
    assert len(liquidated) == 1


def test_replay_fast_and_exact_agree_on_the_seed_crash() -> None:
    portfolio = inputs.read_portfolio(EXAMPLES / "crash_2025_10_10.toml")
    seen: list[tuple[int, int | None]] = []
    request = replay.ReplayRequest(portfolio=portfolio, scenario="2025-10-10", modes="isolated,hybrid")
    fast = replay.replay(request, progress=lambda done, total, _what: seen.append((done, total)))
    exact = replay.replay(
        replay.ReplayRequest(
            portfolio=portfolio, scenario="2025-10-10", modes=("isolated", "hybrid"), engine="exact"
        )
    )
    assert seen == [(0, 2), (1, 2), (2, 2)]
    assert list(fast.comparison.results) == ["isolated", "hybrid"]
    for mode in ("isolated", "hybrid"):
        a, b = fast.comparison.results[mode], exact.comparison.results[mode]
        assert abs(a.final_equity - b.final_equity) < D("1e-6")
        assert [x.symbol for x in a.liquidations] == [x.symbol for x in b.liquidations]
    assert fast.data_name == "2025-10-10" and fast.market.symbols


def test_replay_refuses_an_unknown_engine() -> None:
    portfolio = inputs.read_portfolio(EXAMPLES / "seed.toml")
    with pytest.raises(InputError, match="--engine"):
        replay.replay(replay.ReplayRequest(portfolio=portfolio, scenario="2025-10-10", engine="quantum"))


def test_risk_is_reproducible_and_isolated_caps_the_loss() -> None:
    portfolio = inputs.read_portfolio(EXAMPLES / "seed.toml")
    request = risk_case.RiskRequest(
        portfolio=portfolio, paths=2000, seed=3, horizon="12h", modes="cross,isolated"
    )
    first = risk_case.risk(request)
    again = risk_case.risk(request)
    assert first.report == again.report
    isolated = first.report.modes["isolated"]
    # an isolated position loses at most its margin (and its uPnL at the start): the 9,500 wallet survives
    assert 0 < isolated.es99 <= isolated.start_equity - 9500 + 1e-6
    assert first.exchange == "binance"


def test_size_risks_the_share_of_equity_to_the_stop() -> None:
    request = sizing.SizingRequest(
        position=sizing.SizeRequest(
            symbol="BTCUSDT",
            side=Side.LONG,
            equity=D(10000),
            risk=inputs.parse_percent("risk", "1%"),
            entry=D(100000),
            stop=D(97000),
            leverage=D(10),
        )
    )
    sized = sizing.size(request)
    assert sized.result.loss_at_stop <= D(100)
    assert sized.result.qty % D("0.001") == 0
    assert sized.tick_size == D("0.1")
    assert sized.result.stop_before_liquidation


def test_advice_measures_its_reasons() -> None:
    request = advice.AdviceRequest(
        portfolio=inputs.read_portfolio(EXAMPLES / "seed.toml"),
        trade="DOGEUSDT long notional=1000 leverage=50",
        profile="experience=new,risk=low,monitoring=no",
        paths=500,
    )
    result = advice.recommend(request)
    assert result.recommendation is MarginMode.ISOLATED
    assert set(result.evidence) == {"cross", "isolated"}
    assert any(r.criterion == "experience" and r.weight == -2 for r in result.reasons)


def test_catalog_lists_the_bundled_data() -> None:
    names = [s.name for s in catalog.scenarios()]
    assert "2025-10-10" in names and inputs.DEFAULT_SCENARIO in names
    venues = {v.name: v for v in catalog.venues()}
    assert {"binance", "bybit", "okx", "gate", "bitget", "hyperliquid", "dydx"} <= set(venues)
    assert all(v.sources for v in venues.values())


@pytest.mark.parametrize(
    ("parse_fn", "text", "expected"),
    [
        (inputs.parse_percent, "1%", D("0.01")),
        (inputs.parse_percent, " 2.5 ", D("0.025")),
        (inputs.parse_decimal, "100000", D(100000)),
    ],
)
def test_option_text_parses_exactly(parse_fn: object, text: str, expected: D) -> None:
    assert parse_fn("x", text) == expected  # type: ignore[operator]


@pytest.mark.parametrize("text", ["abc", "inf", "nan"])
def test_bad_option_text_names_the_field(text: str) -> None:
    with pytest.raises(InputError, match="equity"):
        inputs.parse_decimal("equity", text)


def test_read_portfolio_accepts_a_mapping_a_path_or_a_model() -> None:
    from_path = inputs.read_portfolio(EXAMPLES / "seed.toml")
    assert inputs.read_portfolio(from_path) is from_path
    from_mapping = inputs.read_portfolio(from_path.model_dump(mode="json"))
    assert from_mapping == from_path
