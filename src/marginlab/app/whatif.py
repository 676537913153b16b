"""The what-if use case: what a price move does to a book as it is, all-cross and all-isolated, side by side.

The seed's question made interactive: a $10,000 account holds a $5,000 long at 10×; if BTC falls 10 %, which
positions does the venue liquidate, and what is left, if the book is as written, if every position were
cross, and if every position were isolated? The dashboard's sliders call :func:`move` on every change.

Two steps, so that a slider costs only the engine's work: :func:`prepare` validates the book once (a
portfolio file or a venue account described as a :class:`Book`) and derives the three mode scenarios with the
same money (:func:`marginlab.io.portfolio.with_all_modes`); :func:`move` then places each scenario's
positions in a fresh exact-engine account at the moved prices, reads every position's liquidation price,
distance and margin ratio there (as :func:`marginlab.app.calculator.position_report` does, once per margin
pool), and lets the engine's own liquidation sweep decide what it liquidates (``Account.update_marks``).
Every number is the exact engine's (Decimal); no second formula exists for the dashboard to disagree with.
``benchmarks/run.py`` times one move of a 20-position book (``whatif_move_ms_20_positions``; the target is
under 100 ms).

Prices are quantized to the engine's 18 decimal places when placed, like every mark it takes; a price on the
instrument's tick (what the dashboard's sliders step by) is exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from marginlab.app.calculator import AccountReport, account_report, distance_to_liquidation
from marginlab.app.inputs import OnVenue, PortfolioSource, parse_decimal, parse_percent, read_portfolio
from marginlab.domain import events as ev
from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, Side
from marginlab.domain.precision import ZERO
from marginlab.domain.venue import Venue
from marginlab.errors import InputError, MarginLabError
from marginlab.io.portfolio import account_options, place_positions, portfolio_venue, with_all_modes
from marginlab.io.schema import Portfolio

__all__ = [
    "SCENARIOS",
    "Book",
    "BookPosition",
    "PositionOutcome",
    "PreparedBook",
    "ScenarioOutcome",
    "WhatIfReport",
    "WhatIfRequest",
    "move",
    "moved_prices",
    "parse_change",
    "prepare",
    "what_if",
]

ONE = Decimal(1)
SCENARIOS = ("as-is", "cross", "isolated")
"""The book as written, every position cross, every position isolated (same money in each)."""


# ------------------------------------------------------------------------------------------------ inputs
@dataclass(frozen=True, slots=True, kw_only=True)
class BookPosition:
    """One open position as any front end holds it: a venue's position row or a portfolio file's entry.

    Parameters
    ----------
    symbol : str
        Venue symbol (``BTCUSDT``).
    side : {"long", "short"}
    qty : Decimal
        Size in base units (> 0).
    entry, mark : Decimal
        Average entry and current mark price, quote per base.
    leverage : Decimal
        The position's leverage setting.
    mode : {"cross", "isolated"}
    margin : Decimal, optional
        Isolated margin in the settlement asset (its own wallet, on top of the cross balances); None for a
        cross position, or for the default ``qty * entry / leverage``.
    """

    symbol: str
    side: str
    qty: Decimal
    entry: Decimal
    mark: Decimal
    leverage: Decimal
    mode: str = "cross"
    margin: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Book:
    """An account's positions and cross balances, independent of where they are kept.

    The venue's dashboard builds one from the signed-in account (its cross wallet and position rows); a
    portfolio file is read by :func:`prepare` directly. Either becomes the same :class:`Portfolio`.

    Parameters
    ----------
    balances : Mapping[str, Decimal]
        Cross wallet per asset (isolated margins excluded: they sit on top, in each position).
    positions : sequence of BookPosition
    exchange : str
        Rule set name (the paper venue is ``binance``).
    position_mode : {"one-way", "hedge"}
    """

    balances: Mapping[str, Decimal]
    positions: Sequence[BookPosition]
    exchange: str = "binance"
    position_mode: str = "one-way"

    def document(self) -> dict[str, Any]:
        """Return the book as a portfolio document (numbers as decimal strings, as a file holds them)."""
        positions = []
        for p in self.positions:
            spec: dict[str, Any] = {
                "symbol": p.symbol,
                "side": p.side,
                "qty": str(p.qty),
                "entry": str(p.entry),
                "mark": str(p.mark),
                "leverage": str(p.leverage),
                "mode": p.mode,
            }
            if p.margin is not None and p.mode == "isolated":
                spec["margin"] = str(p.margin)
            positions.append(spec)
        return {
            "exchange": self.exchange,
            "position_mode": self.position_mode,
            "balances": {asset: str(amount) for asset, amount in self.balances.items()},
            "positions": positions,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class WhatIfRequest(OnVenue):
    """A book to move, and the rule set to judge it by.

    Parameters
    ----------
    book : Book, Portfolio, mapping or path
        The positions (every one needs an ``entry``; a replay-only position without one is left out with a
        note) and the cross balances.
    exchange, tiers_file : optional
        The rule set (:class:`~marginlab.app.inputs.OnVenue`).
    """

    book: Book | PortfolioSource


Key = tuple[str, Side]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Scenario:
    """One mode scenario of a prepared book.

    ``isolated_liquidation`` holds each isolated position's liquidation price, solved once: it depends on the
    position's own margin, size and entry only (its condition is strictly monotone in the price, so the
    root is unique and the mark the solver starts from does not matter), so no slider moves it.
    """

    name: str
    portfolio: Portfolio | None
    refused: str | None
    isolated_liquidation: Mapping[Key, Decimal | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedBook:
    """A validated book and its three mode scenarios, ready to be moved many times (see :func:`move`).

    ``marks`` are the current marks per symbol (quote per base); ``asset`` is the settlement asset every
    amount is given in; ``tick_sizes`` the price step per symbol (what a slider steps by).
    """

    exchange: str
    venue_title: str
    venue: Venue
    asset: str
    marks: Mapping[str, Decimal]
    tick_sizes: Mapping[str, Decimal]
    scenarios: tuple[_Scenario, ...]
    equity_before: Mapping[str, Decimal]
    notes: tuple[str, ...] = ()

    @property
    def symbols(self) -> tuple[str, ...]:
        """Return the book's symbols in the order they first appear."""
        return tuple(self.marks)


# ------------------------------------------------------------------------------------------------ results
@dataclass(frozen=True, slots=True, kw_only=True)
class PositionOutcome:
    """One position at the moved price: the engine's figures there, then what its liquidation sweep did.

    Prices in quote per base, amounts in the settlement asset, rates as fractions.

    ``price`` is the moved mark; ``liquidation_price`` the engine's at the moved marks (a cross position's
    depends on the other cross positions' marks too), None when no positive price liquidates it;
    ``distance_to_liquidation`` is ``|price - liquidation_price| / price``, negative when the price is at or
    past it; ``margin_ratio`` the pool's maintenance / equity (1 = liquidation; None: no equity left);
    ``at_stake`` what a liquidation can take: the isolated margin, or the whole cross wallet.
    ``liquidated`` says the sweep closed the whole position; ``qty_liquidated`` also counts tier step-downs
    (partial liquidations); ``loss`` is the collateral lost to them.
    """

    symbol: str
    side: Side
    mode: MarginMode
    qty: Decimal
    entry: Decimal
    price: Decimal
    leverage: Decimal
    notional: Decimal
    unrealized_pnl: Decimal
    at_stake: Decimal
    liquidation_price: Decimal | None
    distance_to_liquidation: Decimal | None
    margin_ratio: Decimal | None
    tick_size: Decimal
    liquidated: bool = False
    qty_liquidated: Decimal = ZERO
    loss: Decimal = ZERO

    @property
    def label(self) -> str:
        """Return ``"BTCUSDT long"``: how pages and tests name a position."""
        return f"{self.symbol} {self.side}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioOutcome:
    """One mode scenario at the moved prices.

    ``equity_before``: wallet + isolated margins + unrealized PnL at the current marks; ``equity_at_prices``
    the same at the moved prices, before any liquidation; ``equity_after`` after the engine's liquidations
    (fees and forfeited margin gone). All in ``asset``. ``refused`` holds the one-line reason a scenario
    cannot be built (all-isolated when the cross wallet cannot fund every isolated margin); it then has no
    positions.
    """

    name: str
    positions: tuple[PositionOutcome, ...] = ()
    account: AccountReport | None = None
    equity_before: Decimal = ZERO
    equity_at_prices: Decimal = ZERO
    equity_after: Decimal = ZERO
    refused: str | None = None

    @property
    def liquidated(self) -> tuple[str, ...]:
        """Return the labels of the positions liquidated in full."""
        return tuple(p.label for p in self.positions if p.liquidated)


@dataclass(frozen=True, slots=True, kw_only=True)
class WhatIfReport:
    """The book at one set of moved prices, per scenario (``as-is``, ``cross``, ``isolated``)."""

    exchange: str
    asset: str
    marks: Mapping[str, Decimal]
    prices: Mapping[str, Decimal]
    scenarios: Mapping[str, ScenarioOutcome] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        """Return one line: the moved prices, then each scenario's equity after and liquidations."""
        prices = ", ".join(f"{s} {p.normalize():f}" for s, p in self.prices.items())
        parts = ", ".join(
            f"{name} refused"
            if s.refused
            else f"{name} {s.equity_after:,.2f} ({len(s.liquidated)} liquidated)"
            for name, s in self.scenarios.items()
        )
        return f"<WhatIfReport {self.exchange} at {prices}: {parts}>"


# ------------------------------------------------------------------------------------------------ use cases
def prepare(request: WhatIfRequest) -> PreparedBook:
    """Validate the request's book and derive its three mode scenarios (do this once per book).

    Raises
    ------
    MarginLabError
        One line naming the field, if the book is invalid (the as-is scenario must build); a scenario that
        cannot be built otherwise (all-isolated without the cash) is kept with its ``refused`` reason.
    """
    source = request.book
    portfolio = read_portfolio(source.document() if isinstance(source, Book) else source)
    venue = request.venue(portfolio.exchange)
    held = [s for s in portfolio.positions if s.entry is not None]
    notes: tuple[str, ...] = ()
    if len(held) < len(portfolio.positions):
        left = [f"positions[{i}]" for i, s in enumerate(portfolio.positions) if s.entry is None]
        notes = (
            f"{', '.join(left)}: no entry (opened later in a replay); the what-if moves open positions only",
        )
        portfolio = portfolio.model_copy(update={"positions": held})
    extended = portfolio_venue(portfolio, venue)
    start = _account(portfolio, extended, None)  # raises for an invalid book
    marks: dict[str, Decimal] = {}
    ticks: dict[str, Decimal] = {}
    for pos in start.positions:
        marks.setdefault(pos.symbol, pos.mark)
        ticks.setdefault(pos.symbol, pos.instrument.tick_size)
    asset = start.positions[0].instrument.settle if start.positions else next(iter(start.wallets), "USDT")
    scenarios = []
    equity: dict[str, Decimal] = {}
    for name in SCENARIOS:
        try:
            doc = portfolio if name == "as-is" else with_all_modes(portfolio, MarginMode(name), venue)
            # a mode changes no instrument: every scenario uses the book's extended venue
            account = start if name == "as-is" else _account(doc, extended, None)
        except MarginLabError as exc:
            scenarios.append(_Scenario(name=name, portfolio=None, refused=str(exc)))
            continue
        isolated = {
            (p.symbol, p.side): account.liquidation_price(p)
            for p in account.positions
            if p.mode is MarginMode.ISOLATED
        }
        scenarios.append(_Scenario(name=name, portfolio=doc, refused=None, isolated_liquidation=isolated))
        equity[name] = account_report(account, asset).margin_balance
    return PreparedBook(
        exchange=venue.name,
        venue_title=venue.title,
        venue=extended,
        asset=asset,
        marks=marks,
        tick_sizes=ticks,
        scenarios=tuple(scenarios),
        equity_before=equity,
        notes=notes,
    )


def parse_change(text: object, field: str = "change") -> Decimal:
    """Return a move typed in percent (``"-10"``, ``"-10%"``) as a fraction (-0.1), checked > -100 %.

    What the dashboard's "move everything" field takes; the refusal names ``field`` and shows the value as
    typed.
    """
    fraction = parse_percent(field, text)
    if fraction <= -ONE:
        raise InputError(field, text, "a move above -100 %")
    return fraction


def moved_prices(
    book: PreparedBook, prices: Mapping[str, object] | None = None, change: object = 0
) -> dict[str, Decimal]:
    """Return the price of every symbol of the book after the move (quote per base).

    A symbol's price is ``prices[symbol]`` if given, else its current mark, times ``1 + change``: the one
    "move everything" slider scales every symbol, on top of any per-symbol price.

    Raises
    ------
    InputError
        Naming ``prices.SYMBOL`` (unknown symbol, not a number, not > 0) or ``change`` (not > -1, i.e. a fall
        of 100 % or more).
    """
    factor = ONE + parse_decimal("change", change)
    if factor <= ZERO:
        raise InputError("change", change, "a move above -100 % (a fraction > -1)")
    out = dict(book.marks)
    for key, value in (prices or {}).items():
        symbol = _symbol(book, key)
        price = parse_decimal(f"prices.{key}", value)
        if price <= ZERO:
            raise InputError(f"prices.{key}", value, "a price > 0")
        out[symbol] = price
    return {symbol: price * factor for symbol, price in out.items()}


def move(book: PreparedBook, prices: Mapping[str, object] | None = None, change: object = 0) -> WhatIfReport:
    """Return what the prices do to every scenario of the book (see :func:`moved_prices` for the prices).

    Parameters
    ----------
    book : PreparedBook
        From :func:`prepare`.
    prices : mapping of symbol to price, optional
        Moved prices (quote per base); a symbol left out keeps its mark.
    change : number, optional
        Fraction every price moves by on top (``-0.1``: everything 10 % lower).
    """
    targets = moved_prices(book, prices, change)
    outcomes = {}
    for scenario in book.scenarios:
        if scenario.portfolio is None:
            outcomes[scenario.name] = ScenarioOutcome(name=scenario.name, refused=scenario.refused)
            continue
        outcomes[scenario.name] = _outcome(book, scenario, targets)
    return WhatIfReport(
        exchange=book.exchange,
        asset=book.asset,
        marks=book.marks,
        prices=targets,
        scenarios=outcomes,
        notes=book.notes,
    )


def what_if(
    request: WhatIfRequest, prices: Mapping[str, object] | None = None, change: object = 0
) -> WhatIfReport:
    """Return :func:`move` of the request's book: one call for a front end that moves a book once."""
    return move(prepare(request), prices, change)


# ------------------------------------------------------------------------------------------------ internals
def _symbol(book: PreparedBook, key: object) -> str:
    if not isinstance(key, str):
        raise InputError("prices", key, "a symbol of the book")
    try:
        native = book.venue.resolve_symbol(key)
    except MarginLabError:
        native = key
    if native not in book.marks:
        held = ", ".join(book.marks) or "none"
        raise InputError(f"prices.{key}", key, "", problem=f"not a symbol of the book (it holds {held})")
    return native


def _account(portfolio: Portfolio, venue: Venue, marks: Mapping[str, Decimal] | None) -> Account:
    """Return an account holding the portfolio's positions, at ``marks`` if given (no liquidation yet)."""
    if marks is not None:
        portfolio = portfolio.model_copy(
            update={
                "positions": [
                    s.model_copy(update={"mark": marks[venue.resolve_symbol(s.symbol)]})
                    for s in portfolio.positions
                ]
            }
        )
    account = Account(
        venue,
        balances=portfolio.balances,
        position_mode=portfolio.position_mode,
        **account_options(portfolio, venue),
    )
    place_positions(account, portfolio, require_entry=True)
    return account


def _outcome(book: PreparedBook, scenario: _Scenario, prices: Mapping[str, Decimal]) -> ScenarioOutcome:
    assert scenario.portfolio is not None  # noqa: S101 - the caller skips refused scenarios
    name = scenario.name
    account = _account(scenario.portfolio, book.venue, prices)
    figures = _figures(account, scenario.isolated_liquidation)
    at_prices = account_report(account, book.asset)
    events = account.update_marks({})  # the engine's liquidation sweep at the moved marks
    closed: dict[Key, Decimal] = {}
    losses: dict[Key, Decimal] = {}
    gone: set[Key] = set()
    for event in events:
        if isinstance(event, ev.PartiallyLiquidated):
            key = (event.symbol, event.side)
            closed[key] = closed.get(key, ZERO) + event.qty
            losses[key] = losses.get(key, ZERO) - event.realized_pnl + event.liquidation_fee
        elif isinstance(event, ev.Liquidated):
            key = (event.symbol, event.side)
            gone.add(key)
            closed[key] = closed.get(key, ZERO) + event.qty
            losses[key] = losses.get(key, ZERO) + event.loss
    positions = tuple(
        replace(
            f,
            liquidated=(f.symbol, f.side) in gone,
            qty_liquidated=closed.get((f.symbol, f.side), ZERO),
            loss=losses.get((f.symbol, f.side), ZERO),
        )
        for f in figures
    )
    return ScenarioOutcome(
        name=name,
        positions=positions,
        account=at_prices,
        equity_before=book.equity_before[name],
        equity_at_prices=at_prices.margin_balance,
        equity_after=account_report(account, book.asset).margin_balance,
    )


def _figures(account: Account, isolated_liquidation: Mapping[Key, Decimal | None]) -> list[PositionOutcome]:
    """Return every position's figures at its mark, in the order placed.

    The engine's own functions, called once per margin pool where the answer is the pool's: the cross
    positions of one symbol share a liquidation price, and the cross positions of one settlement asset a
    margin ratio; an isolated position's liquidation price was solved when the book was prepared (computing
    all of them per position made a 20-position move three times slower).
    """
    cross_price: dict[str, Decimal | None] = {}
    cross_ratio: dict[str, Decimal | None] = {}
    cross_gone: dict[str, bool] = {}
    out = []
    for pos in account.positions:
        settle = pos.instrument.settle
        if pos.mode is MarginMode.ISOLATED:
            liq = isolated_liquidation[(pos.symbol, pos.side)]
            ratio = account.margin_ratio(pos)
            liquidatable = account.is_liquidatable(pos)
            at_stake = pos.margin
        else:
            if pos.symbol not in cross_price:
                cross_price[pos.symbol] = account.liquidation_price(pos)
            if settle not in cross_ratio:
                cross_ratio[settle] = account.margin_ratio(pos)
                cross_gone[settle] = account.is_liquidatable(pos)
            liq, ratio, liquidatable = cross_price[pos.symbol], cross_ratio[settle], cross_gone[settle]
            at_stake = account.wallet(settle)
        out.append(
            PositionOutcome(
                symbol=pos.symbol,
                side=pos.side,
                mode=pos.mode,
                qty=pos.qty,
                entry=pos.entry,
                price=pos.mark,
                leverage=pos.leverage,
                notional=pos.notional(),
                unrealized_pnl=pos.unrealized_pnl(),
                at_stake=at_stake,
                liquidation_price=liq,
                distance_to_liquidation=distance_to_liquidation(pos.mark, liq, liquidatable=liquidatable),
                margin_ratio=ratio,
                tick_size=pos.instrument.tick_size,
            )
        )
    return out
