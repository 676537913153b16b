"""Portfolio files turned into domain objects: instruments with a file's overrides, mode scenarios."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode
from marginlab.domain.instrument import Instrument
from marginlab.domain.venue import Venue
from marginlab.errors import InputError, MarginLabError
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


def start_warnings(portfolio: Portfolio, venue: Venue) -> list[str]:
    """Return one-line warnings about the book as the file states it (positions with an ``entry``).

    A negative available balance at the start means the book could never have been opened: the cross
    wallet does not cover the initial margin of the cross positions (isolated margins sit on top of
    ``[balances]``, see :func:`marginlab.analysis.replay.prepare_replay`).
    """
    account = account_from(portfolio, venue)
    out = []
    for asset in sorted({p.instrument.settle for p in account.positions}):
        available = account.available_balance(asset)
        if available < ZERO:
            out.append(
                f"the available balance is {available:.2f} {asset} at the start: this book could never have "
                f"been opened (the cross wallet {account.wallet(asset):.2f} {asset} does not cover the "
                f"positions' initial margin); raise balances.{asset} or lower the sizes"
            )
    return out


def account_from(portfolio: Portfolio, venue: Venue) -> Account:
    """Return an account with the portfolio's balances and its positions that have an ``entry``.

    Isolated margins are imported on top of ``[balances]`` (the one rule, see the README).
    """
    account = Account(venue, balances=portfolio.balances, position_mode=portfolio.position_mode)
    for i, spec in enumerate(portfolio.positions):
        if spec.entry is None:
            continue
        instrument = instrument_for(venue, spec.symbol, spec)
        qty = spec.qty if spec.qty is not None else spec.notional / spec.entry  # type: ignore[operator]
        try:
            account.import_position(
                instrument,
                spec.side,
                qty,
                spec.entry,
                mark=spec.mark,
                leverage=spec.leverage,
                mode=spec.mode,
                margin=spec.margin,
            )
        except MarginLabError as exc:
            exc.args = (f"positions[{i}]: {exc}",)
            raise
    return account
