"""Exact replay: drive the Decimal engine through market bars, one margin-mode scenario at a time.

This is the reference the fast core (:mod:`marginlab.sim`) is tested against. Per bar ``i`` (the order is
the contract both drivers follow):

1. positions due (no ``entry``: the first bar; ``open_at``: the first bar at or after it) open at the bar's
   last-price open with the taker fee; positions with an ``entry`` are in the account from the start;
2. marks move to the bar's mark open (liquidation check), then funding settled in the bar is paid at that
   mark (liquidation check);
3. marks move to each symbol's **adverse extreme** — mark low for a symbol whose net position is long, mark
   high where it is short — all at once (the conservative default; ``extremes=False`` uses closes), and the
   engine liquidates whatever that breaches (cross liquidates the cross book);
4. stop-losses, then take-profits, trigger on the bar's last-price low/high; a stop fills at the stop price
   or at the bar's open if it gapped through (taker), a take-profit at its price or the better open (maker);
5. marks move to the mark close; equity (wallets + isolated margins + uPnL at mark close) and the highest
   margin ratio of any margin pool are recorded.

Multi-Assets portfolios (``multi_assets = true``): every coin balance is re-valued from its perpetual's
mark in the data (BTC from BTCUSDT) at every step above, and the adverse extreme of step 3 is taken on the
account's net exposure to the coin (positions plus collateral), so a crash hits the collateral too. A coin
whose perpetual the data lacks is refused. Equity is in USD: every asset at its index (no haircut). The
``isolated`` scenario leaves Multi-Assets mode; its idle coins still count in equity at their marks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal

import numpy as np

from marginlab.domain import events as ev
from marginlab.domain.account import Account
from marginlab.domain.enums import Liquidity, MarginMode, Side
from marginlab.domain.precision import ZERO
from marginlab.domain.venue import Venue
from marginlab.errors import InputError, OperationRejected
from marginlab.io.bars import CLOSE, HIGH, LOW, OPEN, Bars, to_decimal
from marginlab.io.portfolio import (
    MODES,
    account_options,
    instrument_for,
    place_positions,
    portfolio_for_mode,
    portfolio_venue,
    set_policy,
)
from marginlab.io.results import Closest, Liquidation, ModeResult, position_label
from marginlab.io.schema import Portfolio, PositionSpec, check_stop

__all__ = ["ENTRY_GAP_LIMIT", "MODES", "ModeResult", "PreparedReplay", "prepare_replay", "replay_exact"]

ONE = Decimal(1)


def _due(spec: PositionSpec, bars: Bars, i: int) -> bool:
    """Return whether a position without an entry opens in bar ``i`` (the first bar at or after open_at)."""
    if spec.open_at is None:
        return i == 0
    when = np.datetime64(spec.open_at.astimezone(UTC).replace(tzinfo=None), "ns")
    return bool(bars.times[i] >= when and (i == 0 or bars.times[i - 1] < when))


ENTRY_GAP_LIMIT = Decimal("0.05")  # an entry further than this from the first bar's price is flagged


@dataclass(frozen=True, slots=True)
class PreparedReplay:
    """A portfolio made ready for replay on given bars, with what was changed and what looks wrong.

    ``notes`` say what the preparation did (skipped positions, opening at the start); ``warnings`` are the
    one-line problems a trader must see (an entry far from the data's prices, a negative available balance).
    """

    portfolio: Portfolio
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def prepare_replay(
    portfolio: Portfolio, venue: Venue, bars: Bars, *, open_at_start: bool = False
) -> PreparedReplay:
    """Apply the replay's opening rules to ``portfolio`` for ``bars``.

    1. A position whose symbol the data lacks is skipped with a note (InputError if none is left).
    2. ``open_at_start``: every position opens at the first bar's open with the taker fee, whatever its
       ``entry``, ``mark`` and ``open_at`` say.
    3. A position with an ``entry`` more than :data:`ENTRY_GAP_LIMIT` from the first bar's last-price open
       gets a warning saying what to change (the replay would start with that gap as unrealized PnL).
    4. A position without an ``entry`` whose ``open_at`` is after the data ends never opens: it is left
       out with a warning (InputError if none is left). One that opens gets its ``stop_loss`` checked
       against its opening price (a long's must be below it, a short's above: InputError naming it).
    5. **Where isolated margin comes from — one rule for every command:** an isolated position's margin
       is its own wallet, *on top of* ``[balances]``. A position with an ``entry`` is imported with its
       margin beside the balances (as ``liq`` does); for a position that opens during the replay, its
       margin (``margin``, default ``qty * open price / leverage``) is added to the balance it is paid
       from, so the account holds the same money either way.
    """
    notes: list[str] = []
    warnings: list[str] = []
    kept: list[PositionSpec] = []
    late: list[str] = []
    for i, spec in enumerate(portfolio.positions):
        native = venue.resolve_symbol(spec.symbol)
        if native not in bars.last:
            notes.append(
                f"positions[{i}] {native} {spec.side} skipped: the data has no {native} "
                f"(it has {', '.join(bars.symbols)})"
            )
            continue
        if open_at_start:
            spec = spec.model_copy(update={"entry": None, "mark": None, "open_at": None})
        else:
            warnings += _entry_gap(i, spec, native, bars)
        never = _never_opens(i, spec, native, bars)
        if never is not None:
            warnings.append(never)
            late.append(never)
            continue
        kept.append(spec)
    if portfolio.positions and not kept:
        if late:
            raise InputError(
                "positions", len(portfolio.positions), "", problem="no position opens: " + late[-1]
            )
        raise InputError(
            "positions", len(portfolio.positions), "at least one position in a symbol of the data"
        )
    if open_at_start:
        notes.append("every position opens at the first bar's open with the taker fee (--open-at-start)")
    balances = dict(portfolio.balances)
    funded: list[PositionSpec] = []
    for spec in kept:
        if spec.entry is None and spec.mode is MarginMode.ISOLATED:
            bar = _due_bar(spec, bars)
            if bar is not None:
                instrument = instrument_for(venue, spec.symbol, spec)
                price = to_decimal(bars.last[instrument.symbol][bar, OPEN])
                qty = spec.quantity(instrument, price)
                leverage = spec.leverage or venue.default_leverage
                margin = spec.margin if spec.margin is not None else qty * price / leverage
                # the spec keeps margin=None: the engine then takes its own initial margin, which this
                # deposit covers (the fast core's float product may differ from it in the last bit)
                balances[instrument.settle] = balances.get(instrument.settle, ZERO) + margin
        funded.append(spec)
    model = portfolio.model_copy(update={"positions": funded, "balances": balances})
    return PreparedReplay(portfolio=model, notes=tuple(notes), warnings=tuple(warnings))


def _entry_gap(i: int, spec: PositionSpec, native: str, bars: Bars) -> list[str]:
    """Return the warning for an ``entry`` further than ENTRY_GAP_LIMIT from the data's first price."""
    if spec.entry is None:
        return []
    entry = spec.entry
    first = to_decimal(bars.last[native][0, OPEN])
    gap = (entry - first) / first
    if abs(gap) <= ENTRY_GAP_LIMIT:
        return []
    return [
        f"positions[{i}] {native} {spec.side}: entry {entry} is {abs(gap) * 100:.1f} % "
        f"{'above' if gap > 0 else 'below'} the data's first price {first} "
        f"({bars.time_label(0)}); the replay starts with that gap as unrealized PnL — pass "
        "--open-at-start to open every position at the start, or set entry near that price"
    ]


def _never_opens(i: int, spec: PositionSpec, native: str, bars: Bars) -> str | None:
    """Return the warning for a position without entry that opens after the data ends, else None.

    A position that does open gets its ``stop_loss`` checked against its opening price (InputError).
    """
    if spec.entry is not None:
        return None
    bar = _due_bar(spec, bars)
    if bar is None:
        return (
            f"positions[{i}] {native} {spec.side}: open_at {spec.open_at:%Y-%m-%d %H:%M} UTC is after the "
            f"data ends ({bars.time_label(len(bars) - 1)}); it never opens and is left out"
        )
    if spec.stop_loss is not None:
        price = to_decimal(bars.last[native][bar, OPEN])
        try:
            check_stop(spec.side, spec.stop_loss, price, f"opening price ({bars.time_label(bar)})")
        except ValueError as exc:
            raise InputError(f"positions[{i}].stop_loss", spec.stop_loss, "", problem=str(exc)) from None
    return None


def _due_bar(spec: PositionSpec, bars: Bars) -> int | None:
    """Return the bar a position without entry opens in, or None if it never does within the bars."""
    if spec.open_at is None:
        return 0
    when = np.datetime64(spec.open_at.astimezone(UTC).replace(tzinfo=None), "ns")
    i = int(np.searchsorted(bars.times, when, side="left"))
    return i if i < len(bars) else None


def replay_exact(
    portfolio: Portfolio,
    venue: Venue,
    bars: Bars,
    mode: str,
    *,
    extremes: bool = True,
    progress: Callable[[int], None] | None = None,
) -> ModeResult:
    """Replay ``portfolio`` in one margin mode with the exact engine and return the outcome."""
    coins = collateral_symbols(portfolio, venue, bars)
    model = portfolio_for_mode(portfolio, mode, venue)
    venue = portfolio_venue(model, venue)
    for i, spec in enumerate(model.positions):
        native = venue.resolve_symbol(spec.symbol)
        if native not in bars.last:
            raise InputError(
                f"positions[{i}].symbol", spec.symbol, f"one of the data's symbols {bars.symbols}"
            )
    account = Account(
        venue,
        balances=model.balances,
        position_mode=model.position_mode,
        **account_options(model, venue),
    )
    pooled = set(coins.values()) if account.multi_assets else set()
    if pooled:  # the coins are priced from the data from the first bar on
        account.update_marks(_marks_at(bars, pooled, 0, OPEN))
    usd = _usd_prices(portfolio, account, coins, bars)
    fees_by_key: dict[tuple[str, Side], Decimal] = {}
    pending = place_positions(account, model)
    start_equity = _equity(account, usd(0, OPEN))
    result = ModeResult(
        mode=mode,
        start_equity=start_equity,
        final_equity=start_equity,
        fees=ZERO,
        funding=ZERO,
        max_drawdown=ZERO,
        liquidations=[],
        closest_to_liquidation=None,
    )
    peak = start_equity
    for i in range(len(bars)):
        time = bars.time_label(i)
        for spec in [s for s in pending if _due(s, bars, i)]:
            pending.remove(spec)
            price = to_decimal(bars.last[venue.resolve_symbol(spec.symbol)][i, OPEN])
            # the fill's fee, and whatever the open's liquidation sweep liquidated
            _collect(_open(account, venue, spec, price), result, time, i, fees_by_key)
        held = {p.symbol for p in account.positions}
        _collect(account.update_marks(_marks_at(bars, held | pooled, i, OPEN)), result, time, i, fees_by_key)
        rates = {
            s: to_decimal(bars.funding[s][i]) for s in held if s in bars.funding and bars.funding[s][i] != 0
        }
        if rates:
            _collect(account.apply_funding(rates), result, time, i, fees_by_key)
        adverse = _adverse_marks(account, bars, i, extremes)
        _collect(account.update_marks(adverse), result, time, i, fees_by_key)
        _closest(account, result, time)
        _stops(account, model, bars, i, result, fees_by_key)
        held = {p.symbol for p in account.positions}
        _collect(account.update_marks(_marks_at(bars, held | pooled, i, CLOSE)), result, time, i, fees_by_key)
        equity = _equity(account, usd(i, CLOSE))
        peak = max(peak, equity)
        if peak > ZERO:
            result.max_drawdown = max(result.max_drawdown, (peak - equity) / peak)
        result.equity.append(equity)
        result.margin_ratio.append(_worst_ratio(account))
        _record_liquidation_prices(account, result, i)
        if progress is not None:
            progress(i)
    result.final_equity = result.equity[-1] if result.equity else start_equity
    result.fees = account.fees_paid
    result.funding = account.funding
    return result


def _open(
    account: Account,
    venue: Venue,
    spec: PositionSpec,
    price: Decimal,
) -> list[ev.Event]:
    instrument = venue.instrument(spec.symbol)
    events = account.open(
        instrument.symbol,
        spec.side,
        spec.quantity(instrument, price),
        price,
        leverage=spec.leverage,
        mode=spec.mode,
        margin=spec.margin,
    )
    set_policy(account, spec)
    return events


def _marks_at(bars: Bars, symbols: Iterable[str], i: int, column: int) -> dict[str, Decimal]:
    """Return the marks of ``symbols`` at bar ``i``'s ``column`` (``OPEN``, ``CLOSE`` …), exact."""
    return {s: to_decimal(bars.mark[s][i, column]) for s in symbols}


def _adverse_marks(account: Account, bars: Bars, i: int, extremes: bool) -> dict[str, Decimal]:
    net: dict[str, Decimal] = {}
    for p in account.positions:
        net[p.symbol] = net.get(p.symbol, ZERO) + p.signed_qty
    if account.multi_assets and account.collateral is not None:
        # a coin in the pool is a long in its perpetual: a BTC wallet falls with BTC
        for asset, amount in account.wallets.items():
            symbol = account.collateral.assets[asset].index_symbol
            if symbol is not None and symbol in bars.mark and amount != ZERO:
                net[symbol] = net.get(symbol, ZERO) + amount
    if not extremes:
        return _marks_at(bars, net, i, CLOSE)
    return {s: to_decimal(bars.mark[s][i, LOW if q >= 0 else HIGH]) for s, q in net.items()}


def _collect(
    events: list[ev.Event],
    result: ModeResult,
    time: str,
    i: int,
    fees_by_key: dict[tuple[str, Side], Decimal],
) -> None:
    for event in events:
        if isinstance(event, ev.Filled):
            key = (event.symbol, event.side)
            fees_by_key[key] = fees_by_key.get(key, ZERO) + event.fee
        elif isinstance(event, ev.PartiallyLiquidated):
            key = (event.symbol, event.side)
            fees_by_key[key] = fees_by_key.get(key, ZERO) + event.liquidation_fee
        elif isinstance(event, ev.Liquidated):
            key = (event.symbol, event.side)
            result.liquidations.append(
                Liquidation(
                    symbol=event.symbol,
                    side=str(event.side),
                    mode=str(event.mode),
                    time=time,
                    mark=event.mark,
                    price=event.price,
                    loss=event.loss + fees_by_key.pop(key, ZERO),
                    bar=i,
                )
            )


def _closest(account: Account, result: ModeResult, time: str) -> None:
    for p in account.positions:
        liq = account.liquidation_price(p)
        if liq is None:
            continue
        distance = abs(p.mark - liq) / p.mark
        best = result.closest_to_liquidation
        if best is None or distance < best.distance:
            result.closest_to_liquidation = Closest(symbol=p.symbol, time=time, distance=distance)


def _stops(
    account: Account,
    model: Portfolio,
    bars: Bars,
    i: int,
    result: ModeResult,
    fees_by_key: dict[tuple[str, Side], Decimal],
) -> None:
    for spec in model.positions:
        if spec.stop_loss is None and spec.take_profit is None:
            continue
        native = account.venue.resolve_symbol(spec.symbol)
        held = {(p.symbol, p.side) for p in account.positions}
        if (native, spec.side) not in held:
            continue
        o, h, lo = (to_decimal(bars.last[native][i, k]) for k in (OPEN, HIGH, LOW))
        long = spec.side is Side.LONG
        fill: Decimal | None = None
        liquidity = Liquidity.TAKER
        if spec.stop_loss is not None and (lo <= spec.stop_loss if long else h >= spec.stop_loss):
            fill = min(o, spec.stop_loss) if long else max(o, spec.stop_loss)
        elif spec.take_profit is not None and (h >= spec.take_profit if long else lo <= spec.take_profit):
            fill, liquidity = (
                (max(o, spec.take_profit) if long else min(o, spec.take_profit)),
                Liquidity.MAKER,
            )
        if fill is None:
            continue
        try:
            mark = next(p.mark for p in account.positions if p.symbol == native)
            events = account.close(native, fill, side=spec.side, liquidity=liquidity, mark=mark)
        except OperationRejected as exc:
            result.stops.append(f"{bars.time_label(i)} {native} {spec.side}: stop not filled ({exc})")
            continue
        fees_by_key.pop((native, spec.side), None)
        result.stops.append(f"{bars.time_label(i)} {native} {spec.side} closed at {fill}")
        # the close's own sweep may liquidate the rest: a realised loss can leave the cross wallet short
        swept = [e for e in events if not isinstance(e, ev.Filled)]
        _collect(swept, result, bars.time_label(i), i, fees_by_key)


def _record_liquidation_prices(account: Account, result: ModeResult, i: int) -> None:
    """Append each position's liquidation price at the bar's close (None when flat or none)."""
    open_now = {position_label(p.symbol, p.side): p for p in account.positions}
    for label in open_now.keys() - result.liquidation_prices.keys():
        result.liquidation_prices[label] = [None] * i
    for label, series in result.liquidation_prices.items():
        pos = open_now.get(label)
        series.append(None if pos is None else account.liquidation_price(pos))


USD = Callable[[str], Decimal]
"""USD value of one unit of an asset."""


def collateral_symbols(portfolio: Portfolio, venue: Venue, bars: Bars) -> dict[str, str]:
    """Return ``{coin: perpetual}`` for a Multi-Assets portfolio's coins, each re-valued from the data.

    Raises InputError naming the balance when the data lacks the coin's perpetual (BTC needs BTCUSDT).
    """
    if not portfolio.multi_assets or venue.collateral is None:
        return {}
    out: dict[str, str] = {}
    for asset, amount in portfolio.balances.items():
        row = venue.collateral.row(asset, f"balances.{asset}")
        if row.stable:
            continue
        if row.index_symbol is None or row.index_symbol not in bars.mark:
            source = row.index_symbol or f"a {asset} perpetual"
            raise InputError(
                f"balances.{asset}",
                amount,
                "",
                problem=(
                    f"Multi-Assets collateral {asset} is re-valued every bar from {source}, which the data "
                    f"lacks (it has {', '.join(bars.symbols)}); use data with {source} or leave {asset} out"
                ),
            )
        out[asset] = row.index_symbol
    return out


def _usd_prices(
    portfolio: Portfolio, account: Account, coins: dict[str, str], bars: Bars
) -> Callable[[int, int], USD]:
    """Return ``(bar, field) -> USD price of an asset`` for the equity series.

    Multi-Assets accounts use the engine's index (the coins follow their marks); an account that left
    Multi-Assets mode values its idle coins at their perpetual's mark and stablecoins at their given index
    (1 by default); a plain account counts every asset at 1.
    """
    if account.multi_assets:
        return lambda i, field: account.index_price
    stable = {a: portfolio.index_prices.get(a, ONE) for a in portfolio.index_prices}

    def at(i: int, field: int) -> USD:
        def price(asset: str) -> Decimal:
            if asset in coins:
                return to_decimal(bars.mark[coins[asset]][i, field])
            return stable.get(asset, ONE)

        return price

    return at


def _equity(account: Account, usd: USD | None = None) -> Decimal:
    """Return wallets + isolated margins + uPnL, each asset at ``usd`` (default: every asset at 1)."""
    by_asset = dict(account.wallets)
    for p in account.positions:
        settle = p.instrument.settle
        extra = p.unrealized_pnl() + (p.margin if p.mode is MarginMode.ISOLATED else ZERO)
        by_asset[settle] = by_asset.get(settle, ZERO) + extra
    if usd is None:
        return sum(by_asset.values(), ZERO)
    return sum((amount * usd(asset) for asset, amount in by_asset.items() if amount != ZERO), ZERO)


def _worst_ratio(account: Account) -> Decimal:
    ratios = [r for p in account.positions if (r := account.margin_ratio(p)) is not None]
    return max(ratios, default=ZERO)
