"""The replay's view of market data: aligned float64 arrays, one row per bar.

This is the boundary between market data (floats, from files) and the replay drivers. The exact driver
converts each price with :func:`to_decimal` (the shortest decimal that round-trips, i.e. the price as the
exchange printed it); the fast core uses the floats directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from marginlab.errors import DataError
from marginlab.io.candles import MarketData

FloatArray = npt.NDArray[np.float64]
OPEN, HIGH, LOW, CLOSE = 0, 1, 2, 3


def to_decimal(value: float) -> Decimal:
    """Return the shortest decimal that round-trips to ``value`` (a price as printed by the exchange)."""
    return Decimal(repr(float(value)))


@dataclass(frozen=True, slots=True)
class Bars:
    """Aligned bars for replay.

    Parameters
    ----------
    times : ndarray of datetime64[ns]
        Bar open times (UTC), ascending; a bar covers ``[times[i], times[i + 1])``.
    last, mark : Mapping[str, ndarray of shape (n, 4)]
        Per native symbol, last-price and mark-price open/high/low/close (quote per base).
    funding : Mapping[str, ndarray of shape (n,)]
        Per symbol, the funding rate settled in each bar (0 where none; a fraction, positive: longs pay).
    notes : tuple of str
        Substitutions and caveats of the data (shown in reports).
    """

    times: npt.NDArray[np.datetime64]
    last: Mapping[str, FloatArray]
    mark: Mapping[str, FloatArray]
    funding: Mapping[str, FloatArray]
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        n = len(self.times)
        if n == 0:
            raise DataError("replay data has no bars in the requested window")
        for name, table in (("last", self.last), ("mark", self.mark)):
            for symbol, arr in table.items():
                if arr.shape != (n, 4):
                    raise DataError(f"{name} bars of {symbol}: expected shape ({n}, 4), was {arr.shape}")
        for symbol, arr in self.funding.items():
            if arr.shape != (n,):
                raise DataError(f"funding of {symbol}: expected shape ({n},), was {arr.shape}")

    @property
    def symbols(self) -> tuple[str, ...]:
        """Return the symbols with last-price bars."""
        return tuple(self.last)

    def __len__(self) -> int:
        """Return the number of bars."""
        return len(self.times)

    def time_label(self, i: int) -> str:
        """Return bar ``i``'s open time as ISO 8601 UTC (``2025-10-10T21:15:00Z``)."""
        return str(np.datetime_as_string(self.times[i], unit="s")) + "Z"


def bars_from_market(market: MarketData) -> Bars:
    """Return replay bars from loaded market data (last and mark OHLC, funding summed per bar)."""
    return Bars(
        times=market.times,
        last={s: market.ohlc(s, "last") for s in market.symbols},
        mark={s: market.ohlc(s, "mark") for s in market.symbols},
        funding={s: market.funding_per_bar(s) for s in market.symbols},
        notes=market.all_notes(),
    )
