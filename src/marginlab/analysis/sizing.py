"""Liquidation-aware position sizing: risk a fixed share of equity to the stop, and check the stop is hit
before the liquidation price (exact, Decimal).

Size: the loss at the stop, fees included, equals ``equity × risk``::

    qty = equity·risk / (|entry − stop| + taker·entry + taker·stop)

rounded **down** to the lot. The leverage is the one given, or the venue default, and never above the tier
maximum at the position's notional; if the margin the size needs exceeds the equity (with a book: the
available balance), the size is capped and a warning says so. The liquidation price comes from the exact
engine: isolated with ``notional/leverage`` of margin; cross with the whole equity behind the position —
alone in the account, or within the current book (``book``: its balances and open positions, so the other
cross positions' margin and PnL count).

When the stop does not lie before the liquidation price by at least the buffer, the result says what
would make it so: for isolated, the highest leverage (and its margin) at which it does; for cross, the
cross equity it needs. A stop past the liquidation price can never fill, so no loss at the stop is given
(``loss_at_stop`` is None): the loss is the margin (isolated) or the cross equity.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, Side
from marginlab.domain.precision import ZERO
from marginlab.domain.venue import Venue
from marginlab.errors import InputError, OperationRejected
from marginlab.io.portfolio import account_from
from marginlab.io.schema import Portfolio


@dataclass(frozen=True, slots=True, kw_only=True)
class SizeRequest:
    """What to size.

    Parameters
    ----------
    symbol : str
        Venue-native or ccxt-unified symbol.
    side : Side
        Long or short.
    equity : Decimal
        Account equity in the settlement asset, > 0.
    risk : Decimal
        Share of equity to lose at the stop, a fraction in (0, 1] (0.01 == 1 %).
    entry, stop : Decimal
        Entry and stop prices; the stop must be on the losing side of the entry.
    mode : MarginMode
        Cross or isolated.
    leverage : Decimal or None
        Leverage; None takes the venue default (capped at the tier maximum).
    buffer : Decimal
        Smallest acceptable gap between the stop and the liquidation price, as a fraction of the entry.
    book : Portfolio or None
        The current book to size within (balances and open positions); None: the equity alone.
    """

    symbol: str
    side: Side
    equity: Decimal
    risk: Decimal
    entry: Decimal
    stop: Decimal
    mode: MarginMode = MarginMode.ISOLATED
    leverage: Decimal | None = None
    buffer: Decimal = Decimal("0.005")
    book: Portfolio | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SizeResult:
    """A sized position. Distances are fractions of the entry price; ``liquidation_price`` None if none.

    ``loss_at_stop`` is None when the stop cannot fill (it lies at or past the liquidation price).
    ``safe_leverage`` / ``safe_margin`` (isolated) and ``safe_equity`` (cross: the equity needed, or with a
    book the deposit to its cross wallet) say what puts the stop before the liquidation price with the
    buffer, when the request does not (None otherwise, or when no leverage does).
    """

    symbol: str
    qty: Decimal
    notional: Decimal
    margin: Decimal
    leverage: Decimal
    liquidation_price: Decimal | None
    stop_distance: Decimal
    liquidation_distance: Decimal | None
    stop_before_liquidation: bool
    risk_amount: Decimal
    loss_at_stop: Decimal | None
    warnings: tuple[str, ...] = field(default=())
    stop_warning: bool = False
    safe_leverage: Decimal | None = None
    safe_margin: Decimal | None = None
    safe_equity: Decimal | None = None
    asset: str = "USDT"


def _check(request: SizeRequest) -> None:
    for name in ("equity", "entry", "stop"):
        value = getattr(request, name)
        if not value.is_finite() or value <= ZERO:
            raise InputError(name, value, "a number > 0")
    if not (ZERO < request.risk <= 1):
        raise InputError("risk", request.risk, "a fraction in (0, 1] (e.g. 1 % = 0.01)")
    if request.buffer < ZERO:
        raise InputError("buffer", request.buffer, "a fraction >= 0")
    if request.side is Side.LONG and request.stop >= request.entry:
        raise InputError("stop", request.stop, f"below the entry {request.entry} for a long")
    if request.side is Side.SHORT and request.stop <= request.entry:
        raise InputError("stop", request.stop, f"above the entry {request.entry} for a short")


def _leverage_at(request: SizeRequest, venue: Venue, qty: Decimal) -> Decimal:
    """Return the leverage for ``qty``: the one given, else the venue default capped at the tier max."""
    instrument = venue.instrument(request.symbol)
    tier_max = instrument.tiers.tier_for(instrument.tier_size(qty, request.entry)).max_leverage
    if request.leverage is None:
        return min(venue.default_leverage, tier_max)
    if request.leverage > tier_max:
        raise OperationRejected(
            f"{venue.name}.max_leverage",
            f"leverage {request.leverage} exceeds {instrument.symbol}'s maximum {tier_max} at notional "
            f"{qty * request.entry}",
        )
    return request.leverage


def _fit_to_equity(request: SizeRequest, venue: Venue, wanted: Decimal) -> tuple[Decimal, Decimal]:
    """Return the largest (qty, leverage), qty up to ``wanted``, whose margin and opening fee fit the equity.

    The affordable size ``equity / (entry·(1/leverage + taker))`` only falls as the size grows (a larger size
    can only lower the tier's maximum leverage), so the sizes that fit form an interval: bisect on lots.
    """
    instrument = venue.instrument(request.symbol)

    def fits(qty: Decimal) -> bool:
        leverage = request.leverage if request.leverage is not None else _leverage_at(request, venue, qty)
        return qty * request.entry * (1 / leverage + instrument.taker_fee) <= request.equity

    lo, hi = 0, int(wanted / instrument.lot_size)
    while lo < hi:  # invariant: lo lots fit (0 always does); find the largest count that fits
        mid = (lo + hi + 1) // 2
        if fits(mid * instrument.lot_size):
            lo = mid
        else:
            hi = mid - 1
    qty = lo * instrument.lot_size
    return qty, _leverage_at(request, venue, qty if qty > ZERO else instrument.lot_size)


def _account(request: SizeRequest, venue: Venue, settle: str) -> Account:
    """Return the account the position is sized in: the book, or the equity alone."""
    if request.book is None:
        return Account(venue, balances={settle: request.equity})
    return account_from(request.book, venue)


def _liquidation(
    request: SizeRequest,
    venue: Venue,
    qty: Decimal,
    leverage: Decimal,
    *,
    extra: Decimal = ZERO,
) -> Decimal | None:
    """Return the liquidation price of the sized position (``extra`` added to the cross wallet)."""
    instrument = venue.instrument(request.symbol)
    account = _account(request, venue, instrument.settle)
    if extra > ZERO:
        account.deposit(instrument.settle, extra)
    if request.mode is MarginMode.ISOLATED:
        account.import_position(
            instrument,
            request.side,
            qty,
            request.entry,
            leverage=leverage,
            mode=MarginMode.ISOLATED,
            margin=qty * request.entry / leverage,
        )  # the margin is imported on top of the wallet: an isolated price depends on its margin only
    else:
        account.import_position(instrument, request.side, qty, request.entry, leverage=leverage)
    return account.liquidation_price(account.position(instrument.symbol, request.side))


def _safe(request: SizeRequest, liq: Decimal | None) -> bool:
    """Return whether the stop lies before ``liq`` by at least the buffer (of the entry)."""
    if liq is None:
        return True
    gap = request.stop - liq if request.side is Side.LONG else liq - request.stop
    return gap >= request.buffer * request.entry


def _safe_leverage(request: SizeRequest, venue: Venue, qty: Decimal) -> Decimal | None:
    """Return the highest whole leverage at which the isolated stop is safe, or None if even 1x is not.

    The isolated liquidation price moves towards the entry as the leverage (so the margin's share) grows,
    so the safe leverages are 1..L: bisect on whole numbers up to the tier's maximum.
    """
    instrument = venue.instrument(request.symbol)
    top = int(instrument.tiers.tier_for(instrument.tier_size(qty, request.entry)).max_leverage)
    if not _safe(request, _liquidation(request, venue, qty, Decimal(1))):
        return None
    lo, hi = 1, top
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _safe(request, _liquidation(request, venue, qty, Decimal(mid))):
            lo = mid
        else:
            hi = mid - 1
    return Decimal(lo)


def _extra_equity(request: SizeRequest, venue: Venue, qty: Decimal, leverage: Decimal) -> Decimal:
    """Return the smallest deposit to the cross wallet (to the cent) at which the stop is safe.

    More equity behind a cross position moves its liquidation price away, so bisect on cents.
    """
    cent = Decimal("0.01")
    lo, hi = ZERO, qty * request.entry
    while not _safe(request, _liquidation(request, venue, qty, leverage, extra=hi)):
        hi *= 2
    while hi - lo > cent:
        mid = ((lo + hi) / 2).quantize(cent)
        if _safe(request, _liquidation(request, venue, qty, leverage, extra=mid)):
            hi = mid
        else:
            lo = mid
    return hi


def size_position(request: SizeRequest, venue: Venue) -> SizeResult:
    """Return the size that risks ``equity × risk`` to the stop, with its liquidation price and warnings."""
    _check(request)
    instrument = venue.instrument(request.symbol)
    warnings: list[str] = []
    fee = instrument.taker_fee
    risk_amount = request.equity * request.risk
    per_unit = abs(request.entry - request.stop) + fee * (request.entry + request.stop)
    qty = instrument.round_qty_down(risk_amount / per_unit)
    wanted = qty
    if request.leverage is not None and request.leverage <= ZERO:
        raise InputError("leverage", request.leverage, "a number > 0")
    budget = request
    if request.book is not None:
        available = account_from(request.book, venue).available_balance(instrument.settle)
        budget = replace(request, equity=max(available, ZERO))
    qty, leverage = _fit_to_equity(budget, venue, wanted)
    if qty < wanted:
        what = "the equity" if request.book is None else "the book's available balance"
        warnings.append(
            f"size capped at {qty} by {what} at {leverage}x (the risk budget wanted {wanted}); "
            "the loss at the stop is below the budget"
        )
    if qty <= ZERO:
        raise InputError(
            "risk", request.risk, f"a budget worth at least one lot ({instrument.lot_size} {instrument.base})"
        )
    notional = qty * request.entry
    margin = notional / leverage
    liq = _liquidation(request, venue, qty, leverage)
    stop_distance = abs(request.entry - request.stop) / request.entry
    liq_distance = abs(request.entry - liq) / request.entry if liq is not None else None
    before, stop_warning = True, False
    safe_leverage = safe_margin = safe_equity = None
    asset = instrument.settle
    if liq is not None and not _safe(request, liq):
        stop_warning = True
        shown = instrument.round_price(liq)
        before = request.stop > liq if request.side is Side.LONG else request.stop < liq
        if not before:
            problem = (
                f"the stop {request.stop} lies beyond the liquidation price {shown}: the position is "
                "liquidated before the stop can fill"
            )
        else:
            problem = (
                f"the stop {request.stop} is within {(request.buffer * 100).normalize():f} % of the entry "
                f"from the liquidation price {shown}: slippage or a mark/last gap can liquidate first"
            )
        if request.mode is MarginMode.ISOLATED:
            safe_leverage = _safe_leverage(request, venue, qty)
            if safe_leverage is None:
                fix = "no leverage keeps it before liquidation with the buffer: move the stop closer"
            else:
                safe_margin = notional / safe_leverage
                fix = (
                    f"at most {safe_leverage}x (margin {safe_margin:.2f} {asset}) keeps it "
                    f"{(request.buffer * 100).normalize():f} % of the entry before liquidation"
                )
        else:
            extra = _extra_equity(request, venue, qty, leverage)
            if request.book is None:
                safe_equity = request.equity + extra
                need = f"at least {safe_equity:.2f} {asset} of equity behind it"
            else:
                safe_equity = extra
                need = f"{extra:.2f} {asset} more in the book's cross wallet"
            fix = (
                "in cross the equity behind it sets the liquidation price, not the leverage: it needs "
                f"{need} (or move the stop closer)"
            )
        warnings.append(f"{problem}; {fix}")
    loss: Decimal | None = qty * abs(request.entry - request.stop) + fee * qty * (
        request.entry + request.stop
    )
    if not before:
        loss = None
    return SizeResult(
        symbol=instrument.symbol,
        qty=qty,
        notional=notional,
        margin=margin,
        leverage=leverage,
        liquidation_price=liq,
        stop_distance=stop_distance,
        liquidation_distance=liq_distance,
        stop_before_liquidation=before,
        risk_amount=risk_amount,
        loss_at_stop=loss,
        warnings=tuple(warnings),
        stop_warning=stop_warning,
        safe_leverage=safe_leverage,
        safe_margin=safe_margin,
        safe_equity=safe_equity,
        asset=asset,
    )
