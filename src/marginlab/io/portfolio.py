"""Portfolio documents turned into domain objects: instruments with a file's overrides, mode scenarios.

Pure conversions (no file is read here): the calculator, both replay drivers and the Monte Carlo compile
step build their accounts through these functions, so a position means the same thing everywhere.
"""

from __future__ import annotations

from typing import Any

from marginlab.domain.account import Account, AutoAddMargin
from marginlab.domain.enums import MarginMode
from marginlab.domain.instrument import Instrument
from marginlab.domain.precision import ZERO
from marginlab.domain.venue import Venue
from marginlab.errors import InputError, MarginLabError, OperationRejected
from marginlab.io.schema import InstrumentOverrides, Portfolio, PositionSpec, Script

MODES = ("cross", "isolated", "hybrid")
"""The margin-mode scenarios: every position cross, every position isolated, or as written."""


def instrument_for(venue: Venue, symbol: str, overrides: InstrumentOverrides) -> Instrument:
    """Return the instrument for ``symbol`` with a file's overrides, as the venue defines it.

    See :meth:`marginlab.domain.venue.Venue.instrument_with`: ``mmr`` makes one flat tier; a symbol the
    bundled data lacks is defined by the rates the venue needs (Hyperliquid derives the MMR from
    ``max_leverage``; dYdX needs only ``mmr`` and settles every market in USDC).
    """
    return venue.instrument_with(symbol, overrides)


def account_options(doc: Portfolio | Script, venue: Venue) -> dict[str, Any]:
    """Return the :class:`~marginlab.domain.account.Account` keywords of a document's Multi-Assets keys.

    Empty unless ``multi_assets = true``. The venue's bundled collateral table takes the document's
    ``[collateral.ASSET]`` overrides. A venue without a table refuses with one line naming it.
    """
    if not doc.multi_assets:
        return {}
    if venue.collateral is None:
        why = (
            " (Bybit's Unified Trading Account pools coins with quantity-tiered collateral ratios; marginlab "
            "models its classic USDT account)"
            if venue.name == "bybit"
            else ""
        )
        raise OperationRejected(
            f"{venue.name}.multi_assets",
            f"multi_assets: {venue.title} has no Multi-Assets mode in marginlab{why}; it is modelled for "
            "Binance USDⓈ-M only",
        )
    table = venue.collateral.with_overrides({a: c.values() for a, c in doc.collateral.items()})
    return {"multi_assets": True, "index_prices": dict(doc.index_prices), "collateral": table}


def with_all_modes(portfolio: Portfolio, mode: MarginMode, venue: Venue) -> Portfolio:
    """Return the portfolio with every position in ``mode`` and the same total money per asset.

    Going isolated moves each position's margin (``margin``, default ``qty * entry / leverage``) out of the
    cross wallet; going cross moves isolated margin back into it. Raises InputError if a cross wallet cannot
    fund the isolated margins.
    """
    balances = dict(portfolio.balances)
    positions = []
    leaving = portfolio.multi_assets and mode is MarginMode.ISOLATED
    for i, spec in enumerate(portfolio.positions):
        update: dict[str, Any] = {"mode": mode}
        if spec.entry is None:
            # opened later from the wallet: the money is already in the balance in every mode
            update["margin"] = spec.margin if mode is MarginMode.ISOLATED else None
            positions.append(spec.model_copy(update=update))
            continue
        instrument = instrument_for(venue, spec.symbol, spec)
        settle = instrument.settle
        leverage = spec.leverage or venue.default_leverage
        margin = spec.margin
        if margin is None:
            try:
                margin = spec.quantity(instrument, spec.entry) * spec.entry / leverage
            except MarginLabError as exc:
                name_position(exc, i)
                raise
        if spec.mode is MarginMode.ISOLATED and mode is MarginMode.CROSS:
            balances[settle] = balances.get(settle, ZERO) + margin
        elif spec.mode is MarginMode.CROSS and mode is MarginMode.ISOLATED:
            balances[settle] = balances.get(settle, ZERO) - margin
            if balances[settle] < ZERO and leaving:
                raise InputError(
                    f"balances.{settle}",
                    balances[settle] + margin,
                    "",
                    problem=(
                        "all-isolated leaves Multi-Assets mode (isolated margin cannot be drawn from other "
                        f"coins): positions[{i}] needs {margin} {settle} of isolated margin in {settle}, its "
                        f"settlement asset, and the {settle} balance left is {balances[settle] + margin}"
                    ),
                )
            if balances[settle] < ZERO:
                raise InputError(
                    f"balances.{settle}", balances[settle] + margin, f"enough to isolate positions[{i}]"
                )
        update["margin"] = margin if mode is MarginMode.ISOLATED else None
        positions.append(spec.model_copy(update=update))
    update_doc: dict[str, Any] = {"positions": positions, "balances": balances}
    if leaving:  # single-asset mode: the other coins stay in the wallet but back nothing
        update_doc |= {"multi_assets": False, "index_prices": {}, "collateral": {}}
    return portfolio.model_copy(update=update_doc)


def portfolio_for_mode(portfolio: Portfolio, mode: str, venue: Venue) -> Portfolio:
    """Return the portfolio for a scenario: all cross, all isolated, or as written (hybrid)."""
    if mode == "hybrid":
        return portfolio
    if mode not in MODES:
        raise InputError("modes", mode, "cross, isolated or hybrid")
    return with_all_modes(portfolio, MarginMode(mode), venue)


def portfolio_venue(portfolio: Portfolio, venue: Venue) -> Venue:
    """Return ``venue`` extended with the portfolio's custom or overridden instruments."""
    instruments = {}
    for i, spec in enumerate(portfolio.positions):
        try:
            instrument = instrument_for(venue, spec.symbol, spec)
        except MarginLabError as exc:
            name_position(exc, i)
            raise
        instruments[instrument.symbol] = instrument
    return venue.with_instruments(instruments, snapshot=venue.tier_snapshot)


def place_positions(
    account: Account, portfolio: Portfolio, *, require_entry: bool = False
) -> list[PositionSpec]:
    """Place the portfolio's positions that have an ``entry`` into ``account`` as they stand.

    The one way every command puts a file's positions into an account: the exact engine imports each one (no
    fill, no fee; its checks and defaults apply) with :meth:`PositionSpec.quantity` at the entry, then sets
    its auto-add-margin policy. ``account.venue`` must hold the portfolio's instruments
    (:func:`portfolio_venue`). An error names the position (``positions[1]: ...``).

    Returns
    -------
    list of PositionSpec
        The positions without an entry (a replay opens them later), in file order.

    Raises
    ------
    InputError
        If ``require_entry`` and a position has no entry, or a field is invalid.
    """
    pending: list[PositionSpec] = []
    for i, spec in enumerate(portfolio.positions):
        try:
            if spec.entry is None:
                if require_entry:
                    raise InputError("entry", None, "", problem="required value is missing")
                pending.append(spec)
                continue
            _place(account, spec)
        except MarginLabError as exc:
            name_position(exc, i)
            raise
    return pending


def _place(account: Account, spec: PositionSpec) -> None:
    assert spec.entry is not None  # noqa: S101 - the caller skips positions without an entry
    instrument = account.venue.instrument(spec.symbol)
    account.import_position(
        instrument,
        spec.side,
        spec.quantity(instrument, spec.entry),
        spec.entry,
        mark=spec.mark,
        leverage=spec.leverage,
        mode=spec.mode,
        margin=spec.margin,
    )
    set_policy(account, spec)


def set_policy(account: Account, spec: PositionSpec) -> None:
    """Give the account's position of ``spec`` its auto-add-margin policy, if the file sets one."""
    if spec.auto_add_margin is not None:
        account.set_auto_add_margin(
            spec.symbol,
            AutoAddMargin(trigger=spec.auto_add_margin.trigger, target=spec.auto_add_margin.target),
        )


def name_position(exc: MarginLabError, i: int) -> None:
    """Prefix ``exc``'s message with the position it is about (``positions[i]: ...``), once."""
    if not str(exc).startswith("positions["):
        exc.args = (f"positions[{i}]: {exc}",)


def account_from(portfolio: Portfolio, venue: Venue) -> Account:
    """Return an account with the portfolio's balances and its positions that have an ``entry``.

    Isolated margins are imported on top of ``[balances]`` (the one rule, see :class:`PositionSpec`).
    """
    account = Account(
        portfolio_venue(portfolio, venue),
        balances=portfolio.balances,
        position_mode=portfolio.position_mode,
        **account_options(portfolio, venue),
    )
    place_positions(account, portfolio)
    return account


def start_warnings(portfolio: Portfolio, venue: Venue) -> list[str]:
    """Return one-line warnings about the book as the file states it (positions with an ``entry``).

    A negative available balance at the start means the book could never have been opened: the cross
    wallet does not cover the initial margin of the cross positions (isolated margins sit on top of
    ``[balances]``).
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
