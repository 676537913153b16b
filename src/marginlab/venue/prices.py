"""Price sources of the venue: where marks, last prices and funding come from.

* ``manual``: prices move only when told (``marginlab venue mark``, ``POST /admin/v1/mark``); funding settles
  every 8 h at the current rate.
* ``scenario:NAME``: replays a bundled scenario (Binance market data) in accelerated time: ``speed`` seconds
  of history per second (``--speed 60``: one minute per second), each bar's mark close and last close at the
  bar's end, funding events at their own times; at the end it loops (or stops).

A fresh venue prices every listed symbol at once (:func:`seed_prices`): the symbols of the bundled scenarios
(BTC, ETH, SOL, DOGE, XRP, BNB), each at the last close of the newest bundled scenario holding it
(``2025-10-10``: the closes of 2025-10-12 23:55 UTC).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from marginlab.errors import InputError
from marginlab.io.scenarios import list_scenarios, load_scenario
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
    data = load_scenario(name)
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


def parse_source(source: str) -> tuple[str, str | None]:
    """Return (kind, argument) of ``manual`` or ``scenario:NAME``; raise InputError for anything else."""
    kind, _, argument = source.partition(":")
    if kind == "manual" and not argument:
        return kind, None
    if kind == "scenario" and argument:
        known = [i.name for i in list_scenarios()]
        if argument not in known:
            raise InputError("prices", source, f"scenario:NAME with NAME one of {', '.join(known)}")
        return kind, argument
    raise InputError(
        "prices", source, "manual or scenario:NAME (datadir:DIR and sim:MODEL are not built yet)"
    )


class PriceFeed(threading.Thread):
    """Background thread of ``serve``: replays a scenario (if any) and settles funding when due."""

    def __init__(self, service: VenueService, source: str, *, speed: float = 60.0, loop: bool = True) -> None:
        super().__init__(name="marginlab-price-feed", daemon=True)
        self.service = service
        self.kind, self.scenario = parse_source(source)
        if speed <= 0:
            raise InputError("speed", speed, "a number > 0")
        self.speed = speed
        self.loop = loop
        self.stopped = threading.Event()

    def run(self) -> None:
        """Run until :meth:`stop` (or the scenario's end without ``loop``)."""
        if self.scenario is None:
            while not self.stopped.wait(1.0):
                self.service.settle_due_funding()
            return
        while not self.stopped.is_set():
            for step in scenario_steps(self.scenario):
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
