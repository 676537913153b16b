"""Price sources of the venue: where marks, last prices and funding come from.

* ``manual``: prices move only when told (``marginlab venue mark``, ``POST /admin/v1/mark``); funding settles
  every 8 h at the current rate.
* ``scenario:NAME``: replays a bundled scenario (Binance market data) in accelerated time: ``speed`` seconds
  of history per second (``--speed 60``: one minute per second), each bar's mark close and last close at the
  bar's end, funding events at their own times; at the end it loops (or stops).
* ``datadir:DIR``: the same from a freqtrade data directory (``marginlab.io.candles.load_freqtrade_dir``).
* ``sim:MODEL``: a live-looking market from the risk lab's path models (``bootstrap``, ``gbm``,
  ``student-t``, ``jump``; :mod:`marginlab.sim.paths`) with parameters estimated from the bundled
  ``2025-10-10`` scenario's 5-minute closes (drift 0), starting at its last closes; one 5-minute step per
  bar, mark = last; reproducible for a given ``seed``. No funding events (the default rate settles every 8 h).

A fresh venue prices every listed symbol at once (:func:`seed_prices`): the symbols of the bundled scenarios
(BTC, ETH, SOL, DOGE, XRP, BNB), each at the last close of the newest bundled scenario holding it
(``2025-10-10``: the closes of 2025-10-12 23:55 UTC).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np

from marginlab.errors import InputError
from marginlab.io.candles import MarketData, load_freqtrade_dir
from marginlab.io.scenarios import list_scenarios, load_scenario
from marginlab.sim.paths import MODELS, estimate_params, increments, log_returns, price_paths
from marginlab.venue.service import VenueService


def _price(value: float) -> Decimal:
    """Return a float price from the data as a Decimal with at most 8 places (the data's own precision)."""
    return Decimal(repr(float(value))).quantize(Decimal("0.00000001")).normalize()


def seed_prices() -> dict[str, Decimal]:
    """Return a price for every listed symbol: the last close of the newest bundled scenario holding it."""
    prices: dict[str, Decimal] = {}
    for info in sorted(list_scenarios(), key=lambda i: i.end, reverse=True):
        missing = [s for s in info.symbols if s not in prices]
        if not missing:
            continue
        data = load_scenario(info.name)
        for symbol in missing:
            prices[symbol] = _price(float(data.last[symbol]["close"].iloc[-1]))
    return prices


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a replay: new (mark, last) per symbol and the funding events due at its time."""

    time_ms: int
    prices: dict[str, tuple[Decimal, Decimal]]
    funding: dict[str, Decimal]
    bar_seconds: float


def scenario_steps(name: str) -> Iterator[Step]:
    """Yield a bundled scenario bar by bar (prices at each bar's close, funding due by then)."""
    return market_steps(load_scenario(name))


def market_steps(data: MarketData) -> Iterator[Step]:
    """Yield market data bar by bar (prices at each bar's close, funding due by then)."""
    interval = data.interval.total_seconds()
    events = sorted(
        (int(t.value // 1_000_000), symbol, Decimal(repr(float(r))))
        for symbol, frame in data.funding.items()
        for t, r in zip(frame.index, frame["rate"], strict=True)
    )
    cursor = 0
    for i, start in enumerate(data.index):
        end_ms = int(start.value // 1_000_000) + int(interval * 1000)
        prices = {
            s: (_price(float(data.mark[s]["close"].iloc[i])), _price(float(data.last[s]["close"].iloc[i])))
            for s in data.symbols
        }
        funding: dict[str, Decimal] = {}
        while cursor < len(events) and events[cursor][0] <= end_ms:
            funding[events[cursor][1]] = events[cursor][2]
            cursor += 1
        yield Step(end_ms, prices, funding, interval)


SIM_BASIS = "2025-10-10"
FIVE_MINUTES_PER_YEAR = 365 * 24 * 12


def sim_steps(model: str, seed: int, *, chunk: int = 1000) -> Iterator[Step]:
    """Yield an endless seeded market from ``model`` (one 5-minute step per bar; mark = last)."""
    data = load_scenario(SIM_BASIS)
    symbols = data.symbols
    closes = np.column_stack([data.last[s]["close"].to_numpy(dtype=np.float64) for s in symbols])
    returns = log_returns(closes)
    estimated = estimate_params(returns, periods_per_year=FIVE_MINUTES_PER_YEAR)
    params = replace(estimated, drift=np.zeros_like(estimated.vol))
    rng = np.random.default_rng(seed)
    start = closes[-1]
    time_ms = int(data.index[-1].value // 1_000_000)
    while True:
        incr = increments(
            model, steps=chunk, dt=1 / FIVE_MINUTES_PER_YEAR, paths=1, rng=rng, params=params, returns=returns
        )
        path = price_paths(incr, start)[0]
        for row in path[1:]:
            time_ms += 300_000
            prices = {s: (_price(p), _price(p)) for s, p in zip(symbols, row, strict=True)}
            yield Step(time_ms, prices, {}, 300.0)
        start = path[-1]


def parse_source(source: str) -> tuple[str, str | None]:
    """Return (kind, argument) of a ``--prices`` value; raise InputError naming the choices otherwise."""
    kind, _, argument = source.partition(":")
    if kind == "manual" and not argument:
        return kind, None
    if kind == "scenario" and argument:
        known = [i.name for i in list_scenarios()]
        if argument not in known:
            raise InputError("prices", source, f"scenario:NAME with NAME one of {', '.join(known)}")
        return kind, argument
    if kind == "datadir" and argument:
        return kind, argument
    if kind == "sim" and argument:
        if argument not in MODELS:
            raise InputError("prices", source, f"sim:MODEL with MODEL one of {', '.join(MODELS)}")
        return kind, argument
    raise InputError("prices", source, "manual, scenario:NAME, datadir:DIR or sim:MODEL")


class PriceFeed(threading.Thread):
    """Background thread of ``serve``: replays a scenario (if any) and settles funding when due."""

    def __init__(
        self, service: VenueService, source: str, *, speed: float = 60.0, loop: bool = True, seed: int = 0
    ) -> None:
        super().__init__(name="marginlab-price-feed", daemon=True)
        self.service = service
        self.kind, self.argument = parse_source(source)
        if speed <= 0:
            raise InputError("speed", speed, "a number > 0")
        self.seed = seed
        # load a data directory now, so that a bad one is an error of ``serve`` and not of the thread
        self.data = load_freqtrade_dir(self.argument) if self.kind == "datadir" and self.argument else None
        if self.data is not None:
            unknown = [s for s in self.data.symbols if not service.rules.has_instrument(s)]
            if unknown:
                raise InputError("prices", source, f"symbols the binance rule set knows (not {unknown})")
        self.speed = speed
        self.loop = loop
        self.stopped = threading.Event()

    def steps(self) -> Iterator[Step]:
        """Return one pass over the source's steps (endless for ``sim``)."""
        if self.kind == "sim" and self.argument:
            return sim_steps(self.argument, self.seed)
        if self.data is not None:
            return market_steps(self.data)
        assert self.argument is not None  # noqa: S101 - parse_source gives scenario a name
        return scenario_steps(self.argument)

    def run(self) -> None:
        """Run until :meth:`stop` (or the data's end without ``loop``)."""
        if self.kind == "manual":
            while not self.stopped.wait(1.0):
                self.service.settle_due_funding()
            return
        while not self.stopped.is_set():
            for step in self.steps():
                if self.kind == "sim":
                    self.service.settle_due_funding()
                if self.stopped.wait(step.bar_seconds / self.speed):
                    return
                self.service.update_prices(step.prices, funding_rates=step.funding or None)
                for symbol, rate in step.funding.items():
                    self.service.settle_funding(symbol, rate)
            if not self.loop:
                return

    def stop(self) -> None:
        """Ask the thread to stop at its next wait."""
        self.stopped.set()
