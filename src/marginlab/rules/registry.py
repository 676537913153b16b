"""Look up a venue rule set by name."""

from __future__ import annotations

from collections.abc import Callable

from marginlab.domain.venue import Venue
from marginlab.errors import RuleSetError
from marginlab.rules import binance, bitget, bybit, dydx, gate, hyperliquid, okx

VENUES: dict[str, Callable[[], Venue]] = {
    "binance": binance.venue,
    "bybit": bybit.venue,
    "okx": okx.venue,
    "gate": gate.venue,
    "bitget": bitget.venue,
    "hyperliquid": hyperliquid.venue,
    "dydx": dydx.venue,
}


def get_venue(name: str) -> Venue:
    """Return the rule set called ``name`` (case-insensitive).

    Raises
    ------
    RuleSetError
        If there is no such venue; the message lists the known ones.
    """
    try:
        factory = VENUES[name.strip().lower()]
    except KeyError:
        raise RuleSetError(f"exchange: unknown venue {name!r}; known: {', '.join(sorted(VENUES))}") from None
    return factory()
