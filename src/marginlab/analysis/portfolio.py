"""Portfolio files turned into domain objects: instruments with a file's overrides, mode scenarios."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marginlab.domain.enums import MarginMode
from marginlab.domain.instrument import Instrument
from marginlab.domain.venue import Venue
from marginlab.errors import InputError
from marginlab.io.schema import InstrumentOverrides, Portfolio

ZERO = Decimal(0)


def instrument_for(venue: Venue, symbol: str, overrides: InstrumentOverrides) -> Instrument:
    """Return the instrument for ``symbol`` with a file's overrides, as the venue defines it.

    See :meth:`marginlab.domain.venue.Venue.instrument_with`: ``mmr`` makes one flat tier; a symbol the
    bundled data lacks is defined by the rates the venue needs (Hyperliquid derives the MMR from
    ``max_leverage``; dYdX needs only ``mmr`` and settles every market in USDC).
    """
    return venue.instrument_with(symbol, overrides)


def with_all_modes(portfolio: Portfolio, mode: MarginMode, venue: Venue) -> Portfolio:
    """Return the portfolio with every position in ``mode`` and the same total money per asset.

    Going isolated moves each position's margin (``margin``, default ``qty * entry / leverage``) out of the
    cross wallet; going cross moves isolated margin back into it. Raises InputError if a cross wallet cannot
    fund the isolated margins.
    """
    balances = dict(portfolio.balances)
    positions = []
    for i, spec in enumerate(portfolio.positions):
        update: dict[str, Any] = {"mode": mode}
        if spec.entry is None:
            # opened later from the wallet: the money is already in the balance in every mode
            update["margin"] = spec.margin if mode is MarginMode.ISOLATED else None
            positions.append(spec.model_copy(update=update))
            continue
        settle = instrument_for(venue, spec.symbol, spec).settle
        leverage = spec.leverage or venue.default_leverage
        qty = spec.qty if spec.qty is not None else spec.notional / spec.entry  # type: ignore[operator]
        margin = spec.margin if spec.margin is not None else qty * spec.entry / leverage
        if spec.mode is MarginMode.ISOLATED and mode is MarginMode.CROSS:
            balances[settle] = balances.get(settle, ZERO) + margin
        elif spec.mode is MarginMode.CROSS and mode is MarginMode.ISOLATED:
            balances[settle] = balances.get(settle, ZERO) - margin
            if balances[settle] < ZERO:
                raise InputError(
                    f"balances.{settle}", balances[settle] + margin, f"enough to isolate positions[{i}]"
                )
        update["margin"] = margin if mode is MarginMode.ISOLATED else None
        positions.append(spec.model_copy(update=update))
    return portfolio.model_copy(update={"positions": positions, "balances": balances})
