"""Liquidation-aware position sizing: risk a fixed share of equity to the stop, and check the stop is hit
before the liquidation price (exact, Decimal).

Size: the loss at the stop, fees included, equals ``equity × risk``::

    qty = equity·risk / (|entry − stop| + taker·entry + taker·stop)

rounded **down** to the lot. The leverage is the one given, or the venue default, and never above the tier
maximum at the position's notional; if the margin the size needs exceeds the equity, the size is capped and
a warning says so. The liquidation price comes from the exact engine: isolated with ``notional/leverage`` of
margin; cross with the whole equity behind the position (alone in the account).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, Side
from marginlab.domain.venue import Venue
from marginlab.errors import InputError, OperationRejected

ZERO = Decimal(0)


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


@dataclass(frozen=True, slots=True, kw_only=True)
class SizeResult:
    """A sized position. Distances are fractions of the entry price; ``liquidation_price`` None if none."""

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
    loss_at_stop: Decimal
    warnings: tuple[str, ...] = field(default=())
    stop_warning: bool = False


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
    qty, leverage = _fit_to_equity(request, venue, wanted)
    if qty < wanted:
        warnings.append(
            f"size capped at {qty} by the equity at {leverage}x (the risk budget wanted {wanted}); "
            "the loss at the stop is below the budget"
        )
    if qty <= ZERO:
        raise InputError(
            "risk", request.risk, f"a budget worth at least one lot ({instrument.lot_size} {instrument.base})"
        )
    notional = qty * request.entry
    margin = notional / leverage
    account = Account(venue, balances={instrument.settle: request.equity})
    if request.mode is MarginMode.ISOLATED:
        account.import_position(
            instrument,
            request.side,
            qty,
            request.entry,
            leverage=leverage,
            mode=MarginMode.ISOLATED,
            margin=margin,
        )  # the margin is imported on top of the wallet: an isolated price depends on its margin only
    else:
        account.import_position(instrument, request.side, qty, request.entry, leverage=leverage)
    liq = account.liquidation_price(account.position(instrument.symbol, request.side))
    stop_distance = abs(request.entry - request.stop) / request.entry
    liq_distance = abs(request.entry - liq) / request.entry if liq is not None else None
    before, stop_warning = True, False
    if liq is not None:
        shown = instrument.round_price(liq)
        before = request.stop > liq if request.side is Side.LONG else request.stop < liq
        if not before:
            stop_warning = True
            warnings.append(
                f"the stop {request.stop} lies beyond the liquidation price {shown}: the position is "
                "liquidated before the stop can fill; lower the leverage or add margin"
            )
        elif abs(request.stop - liq) / request.entry < request.buffer:
            stop_warning = True
            warnings.append(
                f"the stop {request.stop} is within {request.buffer * 100} % of the entry from the "
                f"liquidation price {shown}: slippage or a mark/last gap can liquidate first"
            )
    loss = qty * abs(request.entry - request.stop) + fee * qty * (request.entry + request.stop)
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
    )
