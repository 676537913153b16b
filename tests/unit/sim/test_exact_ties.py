"""Touching the liquidation price liquidates, in both engines (issue 8 point 10).

The rule is the exact engine's (``domain.account.Account.is_liquidatable``): a margin pool whose equity is at
or below its maintenance requirement (margin ratio >= 100 %) is liquidated. Each case below places one
position whose exact liquidation price lands on the tick, then a bar whose adverse mark extreme touches it
exactly (both engines must liquidate) or stops one tick short of it (neither may).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from marginlab.analysis.replay import replay_exact
from marginlab.domain.enums import Side
from marginlab.domain.liquidation import Leg
from marginlab.domain.venue import Venue
from marginlab.io.bars import Bars
from marginlab.io.schema import Portfolio, parse
from marginlab.rules import get_venue
from marginlab.sim.api import replay_fast_arrays

SYMBOLS = {"BTCUSDT": Decimal("60000"), "ETHUSDT": Decimal("3000"), "SOLUSDT": Decimal("150")}


def tie_case(venue: Venue, symbol: str, side: Side, seed: int) -> tuple[dict[str, object], Decimal, Decimal]:
    """Return (position document, its liquidation price on the tick, the tick) with an exact tie built in.

    The position's own money (isolated margin, or the cross wallet of a one-position book) is chosen so that
    equity equals the maintenance requirement exactly at the tick price ``lp``.
    """
    rng = np.random.default_rng(seed)
    instrument = venue.instrument(symbol)
    lot = instrument.lot_size
    # a venue without bundled tick sizes has a placeholder tick of 1e-8: a tick float64 cannot tell apart at
    # these prices; such prices are quoted in steps of 1e-6 of the price here
    tick = max(instrument.tick_size, Decimal("1e-6") * SYMBOLS[symbol])
    entry = (SYMBOLS[symbol] * Decimal(str(round(rng.uniform(0.9, 1.1), 4)))).quantize(tick)
    # within the first tier: a higher tier steps down (a partial liquidation) before it liquidates
    first_cap = float(instrument.tiers.tiers[0].cap or Decimal(10**6))
    qty = (Decimal(str(round(10 ** rng.uniform(3.0, np.log10(0.6 * first_cap)), 2))) / entry).quantize(lot)
    distance = Decimal(str(round(rng.uniform(0.01, 0.3), 4)))
    lp = (entry * (1 - side.sign * distance)).quantize(tick)
    fee = instrument.taker_fee if venue.fee_in_liquidation else Decimal(0)
    leg = Leg(side=side, qty=qty, entry=entry, instrument=instrument, close_fee_rate=fee,
              basis=venue.maintenance_basis)  # fmt: skip
    money = leg.maintenance(lp) - side.sign * qty * (lp - entry)
    leverage = max(1, min(int(qty * entry / money), int(instrument.tiers.tiers[0].max_leverage)))
    doc = {"symbol": symbol, "side": str(side), "qty": str(qty), "entry": str(entry)}
    return doc | {"leverage": str(leverage), "money": str(money)}, lp, tick


def two_bars(symbol: str, entry: Decimal, extreme: Decimal, side: Side) -> Bars:
    """Bar 0 flat at the entry; bar 1 reaches ``extreme`` on the adverse side (long: low, short: high)."""
    e, x = float(entry), float(extreme)
    rows = np.array([[e, e, e, e], [e, e, x, e] if side is Side.LONG else [e, x, e, e]])
    times = np.datetime64("2025-10-10T00:00", "ns") + np.arange(2) * np.timedelta64(5, "m")
    return Bars(times=times, last={symbol: rows}, mark={symbol: rows.copy()}, funding={symbol: np.zeros(2)})


def replay_both(venue: Venue, mode: str, doc: dict[str, object], bars: Bars) -> tuple[list[int], list[int]]:
    """Return the bars of the liquidations seen by the exact engine and by the fast core."""
    money = doc.pop("money")
    position = dict(doc, mode=mode)
    if mode == "isolated":
        position["margin"] = money
        balances = {"USDT": "1"}
    else:
        balances = {"USDT": money}
    portfolio = parse(Portfolio, {"exchange": venue.name, "balances": balances, "positions": [position]})
    exact = replay_exact(portfolio, venue, bars, "hybrid")
    fast = replay_fast_arrays(portfolio, venue, bars, "hybrid")
    return [x.bar for x in exact.liquidations], [x.bar for x in fast.liquidations]


CASES = [
    (venue, symbol, side, mode, seed)
    for venue, symbols in (("binance", SYMBOLS), ("bybit", ("BTCUSDT", "ETHUSDT")))
    for symbol in symbols
    for side in (Side.LONG, Side.SHORT)
    for mode in ("cross", "isolated")
    for seed in range(5)
]


@pytest.mark.parametrize(("venue_name", "symbol", "side", "mode", "seed"), CASES)
def test_touching_the_liquidation_price_liquidates_in_both_engines(
    venue_name: str, symbol: str, side: Side, mode: str, seed: int
) -> None:
    # Arrange
    venue = get_venue(venue_name)
    doc, lp, _ = tie_case(venue, symbol, side, seed)
    bars = two_bars(symbol, Decimal(str(doc["entry"])), lp, side)
    # Act
    exact, fast = replay_both(venue, mode, doc, bars)
    # Assert: the exact engine liquidates at the touch, and so does the fast core
    assert exact == [1]
    assert fast == exact


@pytest.mark.parametrize(("venue_name", "symbol", "side", "mode", "seed"), CASES[::3])
def test_one_tick_short_of_the_liquidation_price_liquidates_in_neither(
    venue_name: str, symbol: str, side: Side, mode: str, seed: int
) -> None:
    # Arrange
    venue = get_venue(venue_name)
    doc, lp, tick = tie_case(venue, symbol, side, seed)
    bars = two_bars(symbol, Decimal(str(doc["entry"])), lp + side.sign * tick, side)
    # Act
    exact, fast = replay_both(venue, mode, doc, bars)
    # Assert
    assert exact == []
    assert fast == []
