"""Price sources: seeding, scenario and simulated markets, and their effect on the venue."""

from __future__ import annotations

from decimal import Decimal as D
from itertools import islice

import pytest

from marginlab.errors import InputError
from marginlab.venue.orders import OrderRequest
from marginlab.venue.prices import parse_source, scenario_steps, seed_prices, sim_steps
from marginlab.venue.service import VenueService


def test_a_fresh_venue_prices_every_bundled_symbol() -> None:
    prices = seed_prices()
    assert sorted(prices) == ["BNBUSDT", "BTCUSDT", "DOGEUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
    assert all(p > 0 for p in prices.values())


def test_sources_are_parsed_with_their_choices_named() -> None:
    assert parse_source("manual") == ("manual", None)
    assert parse_source("scenario:2020-03-12") == ("scenario", "2020-03-12")
    assert parse_source("sim:gbm") == ("sim", "gbm")
    for bad in ("scenario:nope", "sim:random-walk", "live", "datadir:"):
        with pytest.raises(InputError, match="prices"):
            parse_source(bad)


def test_sim_market_is_reproducible_from_its_seed() -> None:
    first = [s.prices for s in islice(sim_steps("student-t", 7, chunk=50), 60)]
    again = [s.prices for s in islice(sim_steps("student-t", 7, chunk=50), 60)]
    other = [s.prices for s in islice(sim_steps("student-t", 8, chunk=50), 60)]
    assert first == again and first != other
    assert all(mark == last and mark > 0 for step in first for mark, last in step.values())


def test_scenario_steps_drive_marks_and_funding(service: VenueService) -> None:
    steps = list(islice(scenario_steps("2020-03-12"), 9))  # 1h bars from 00:00: funding at 00:00 and 08:00
    aid = service.create_account(deposit=D(10000), bonus=D(0)).account_id
    service.place_order(
        aid, OrderRequest(symbol="BTCUSDT", side="BUY", type="MARKET", qty=D("0.01"), client_order_id="s")
    )
    funded = 0
    for step in steps:
        service.update_prices(step.prices, funding_rates=step.funding or None)
        for symbol, rate in step.funding.items():
            funded += service.settle_funding(symbol, rate)
    assert service.market()["BTCUSDT"].mark == steps[-1].prices["BTCUSDT"][0]
    assert funded == 2
    assert [
        r.income_type
        for r in service.income(
            aid, symbol="BTCUSDT", income_type="FUNDING_FEE", start=None, end=None, limit=5
        )
    ] == ["FUNDING_FEE"] * 2
