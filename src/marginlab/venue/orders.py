"""Orders and fills: how the venue turns Binance orders into engine operations.

The simulation, stated once (the README repeats it):

* **Book**: synthetic, infinitely deep at the touch. Bid = last × (1 − h) rounded down to the tick, ask =
  last × (1 + h) rounded up, with h = ``VenueSettings.half_spread`` (1 bp by default).
* **MARKET** orders fill in full at once at the touch (buy at the ask, sell at the bid): the slippage model
  is half the synthetic spread. Taker fee.
* **LIMIT** orders: a buy at or above the ask (a sell at or below the bid) is marketable and fills at once
  at the touch as a taker; GTX (post-only) then is rejected (-5022), IOC/FOK fill in full (infinite depth)
  or expire. Otherwise the order rests and fills in full at its own price, maker fee, as soon as a price
  update has the last price at or through it (buy: last ≤ price; sell: last ≥ price).
* **Open orders reserve initial margin** as Binance does: the part of a resting order that would open or
  grow a position holds ``qty × price / leverage``, which leaves the available balance until the order fills
  or is canceled. Reduce-only and closing quantities reserve nothing.
* **Conditional orders** (``algoOrder`` STOP_MARKET / TAKE_PROFIT_MARKET) trigger on the mark price
  (``workingType=MARK_PRICE``) or the last price (``CONTRACT_PRICE``, the default), then fill as a MARKET
  order. A trigger that would fire at once is rejected (-2021).
* **Reduce-only** orders that would open or grow a position are rejected (-2022); a larger reduce-only
  quantity closes the position and no more.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from marginlab.domain import events as ev
from marginlab.domain.account import Account
from marginlab.domain.enums import Liquidity, PositionMode, Side
from marginlab.domain.instrument import Instrument
from marginlab.domain.position import Position
from marginlab.domain.precision import ZERO
from marginlab.domain.venue import Venue
from marginlab.errors import InsufficientMargin, OperationRejected, RuleSetError
from marginlab.venue.errors import VenueError
from marginlab.venue.models import MarketRow
from marginlab.venue.records import OrderFields, OrderRecord
from marginlab.venue.settings import VenueSettings

if TYPE_CHECKING:
    from marginlab.venue.service import Book

MIN_NOTIONAL = Decimal(5)  # Binance's MIN_NOTIONAL filter of most USDⓈ-M symbols (BTCUSDT: 100)
ALGO_TYPES = ("STOP_MARKET", "TAKE_PROFIT_MARKET")


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRequest:
    """A parsed ``POST /fapi/v1/order`` or ``/fapi/v1/algoOrder``."""

    symbol: str
    side: str
    type: str
    client_order_id: str
    qty: Decimal | None = None
    price: Decimal | None = None
    time_in_force: str = "GTC"
    reduce_only: bool = False
    close_position: bool = False
    position_side: str = "BOTH"
    stop_price: Decimal | None = None
    working_type: str = "CONTRACT_PRICE"
    algo: bool = False


def _to_tick(value: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (value / tick).to_integral_value(rounding) * tick


class Trader:
    """Places and fills orders on a loaded account (:class:`marginlab.venue.service.Book`)."""

    def __init__(self, rules: Venue, settings: VenueSettings) -> None:
        self.rules = rules
        self.settings = settings

    # ------------------------------------------------------------------ prices
    def touch(self, instrument: Instrument, last: Decimal) -> tuple[Decimal, Decimal]:
        """Return (bid, ask) of the synthetic book around ``last``."""
        h = self.settings.half_spread
        bid = _to_tick(last * (1 - h), instrument.tick_size, ROUND_FLOOR)
        ask = _to_tick(last * (1 + h), instrument.tick_size, ROUND_CEILING)
        return max(bid, instrument.tick_size), ask

    def triggered(self, order: OrderFields, market: MarketRow) -> bool:
        """Return whether a resting order fills (limit) or triggers (conditional) at the market's prices."""
        if order.type == "LIMIT":
            return market.last <= order.price if order.side == "BUY" else market.last >= order.price
        ref = market.mark if order.working_type == "MARK_PRICE" else market.last
        rising = (order.type == "STOP_MARKET") == (order.side == "BUY")
        return ref >= order.stop_price if rising else ref <= order.stop_price

    # ------------------------------------------------------------------ sides
    @staticmethod
    def hedge_side(account: Account, position_side: str | None) -> Side | None:
        """Return the engine side a ``positionSide`` names (None in one-way mode)."""
        if account.position_mode is PositionMode.ONE_WAY:
            if position_side not in (None, "", "BOTH"):
                raise VenueError(-4061)
            return None
        if position_side not in ("LONG", "SHORT"):
            raise VenueError(-4061)
        return Side.LONG if position_side == "LONG" else Side.SHORT

    @staticmethod
    def position_side_of(account: Account, side: Side) -> str:
        """Return Binance's ``positionSide`` of a position on ``side``."""
        if account.position_mode is PositionMode.ONE_WAY:
            return "BOTH"
        return "LONG" if side is Side.LONG else "SHORT"

    def _split(
        self, account: Account, order: OrderFields, qty: Decimal
    ) -> tuple[Position | None, Decimal, Decimal]:
        """Return (position it closes, quantity closing it, quantity opening/growing) for ``qty``."""
        buy = order.side == "BUY"
        hedge = self.hedge_side(account, order.position_side)
        positions = [p for p in account.positions if p.symbol == order.symbol]
        if hedge is not None:
            pos = next((p for p in positions if p.side is hedge), None)
            opening = buy == (hedge is Side.LONG)
            if opening:
                return None, ZERO, qty
            if pos is None or qty > pos.qty:
                raise VenueError(-2022, "the order would open or grow a position")
            return pos, qty, ZERO
        pos = positions[0] if positions else None
        direction = Side.LONG if buy else Side.SHORT
        closing_pos = pos if pos is not None and pos.side is direction.opposite else None
        closing = min(qty, closing_pos.qty) if closing_pos is not None else ZERO
        return closing_pos, closing, qty - closing

    # ------------------------------------------------------------------ placing
    def place(
        self, book: Book, symbol: str, req: OrderRequest, reserved: Decimal, now: int
    ) -> tuple[OrderRecord, list[ev.Event]]:
        """Validate and record an order; fill it now if it is a market or marketable order.

        The new order is a plain record; the caller inserts it (``rawsql.Tx.insert_order``).
        """
        instrument = self.rules.instrument(symbol)
        self._validate(instrument, req)
        market = book.market[symbol]
        order = OrderRecord(
            account_id=book.row.id,
            algo=req.algo,
            client_order_id=req.client_order_id,
            symbol=symbol,
            side=req.side,
            position_side=req.position_side or "BOTH",
            type=req.type,
            time_in_force=req.time_in_force,
            price=req.price or ZERO,
            stop_price=req.stop_price or ZERO,
            working_type=req.working_type,
            qty=req.qty or ZERO,
            executed_qty=ZERO,
            avg_price=ZERO,
            cum_quote=ZERO,
            reduce_only=req.reduce_only or req.close_position,
            close_position=req.close_position,
            status="NEW",
            reserved=ZERO,
            created_ms=now,
            updated_ms=now,
        )
        self.hedge_side(book.account, order.position_side)  # the caller inserts the order (and its fill)
        if req.algo:
            if self.triggered(order, market):
                raise VenueError(-2021)
            return order, []
        bid, ask = self.touch(instrument, market.last)
        touch = ask if req.side == "BUY" else bid
        if req.type == "MARKET":
            return order, self.fill(
                book, order, order.qty, touch, maker=False, reserved_other=reserved, now=now
            )
        assert req.price is not None  # noqa: S101 - _validate requires a price for LIMIT
        marketable = req.price >= ask if req.side == "BUY" else req.price <= bid
        if marketable:
            if req.time_in_force == "GTX":
                raise VenueError(-5022)
            return order, self.fill(
                book, order, order.qty, touch, maker=False, reserved_other=reserved, now=now
            )
        if req.time_in_force in ("IOC", "FOK"):
            order.status = "EXPIRED"
            return order, []
        order.reserved = self._reservation(book.account, order, instrument)
        available = book.account.available_balance("USDT") - reserved
        if order.reserved > available:
            raise VenueError(
                -2019, f"the order needs {order.reserved} of initial margin, available {available}"
            )
        return order, []

    def _validate(self, instrument: Instrument, req: OrderRequest) -> None:
        if req.side not in ("BUY", "SELL"):
            raise VenueError(-1117)
        allowed = ALGO_TYPES if req.algo else ("MARKET", "LIMIT")
        if req.type not in allowed:
            raise VenueError(-1116, f"{req.type} is not supported on this endpoint; use {', '.join(allowed)}")
        if req.time_in_force not in ("GTC", "IOC", "FOK", "GTX"):
            raise VenueError(-1130, "timeInForce must be GTC, IOC, FOK or GTX")
        if req.close_position:
            if not req.algo:
                raise VenueError(-1130, "closePosition is for STOP_MARKET / TAKE_PROFIT_MARKET")
        elif req.qty is None:
            raise VenueError(-1102, param="quantity")
        elif req.qty <= ZERO or req.qty % instrument.lot_size != ZERO:
            raise VenueError(-1111, f"quantity must be a positive multiple of {instrument.lot_size}")
        self._validate_prices(instrument, req)

    @staticmethod
    def _validate_prices(instrument: Instrument, req: OrderRequest) -> None:
        if req.type == "LIMIT":
            if req.price is None:
                raise VenueError(-1102, param="price")
            if req.price <= ZERO or req.price % instrument.tick_size != ZERO:
                raise VenueError(-1111, f"price must be a positive multiple of {instrument.tick_size}")
            if not req.reduce_only and req.qty is not None and req.qty * req.price < MIN_NOTIONAL:
                raise VenueError(-4164, notional=MIN_NOTIONAL)
        if req.algo:
            if req.stop_price is None or req.stop_price <= ZERO:
                raise VenueError(-1102, param="triggerPrice")
            if req.working_type not in ("MARK_PRICE", "CONTRACT_PRICE"):
                raise VenueError(-1130, "workingType must be MARK_PRICE or CONTRACT_PRICE")

    def _reservation(self, account: Account, order: OrderFields, instrument: Instrument) -> Decimal:
        if order.reduce_only:
            return ZERO
        _, _, opening = self._split(account, order, order.qty)
        return opening * order.price / account.settings(instrument.symbol).leverage

    # ------------------------------------------------------------------ filling
    def execute_resting(
        self, book: Book, order: OrderFields, reserved_other: Decimal, now: int
    ) -> list[ev.Event]:
        """Fill a resting limit order at its price (maker), or a triggered conditional order at the touch.

        ``reserved_other`` is the initial margin the account's other open orders hold.
        """
        if order.type == "LIMIT":
            order.reserved = ZERO
            return self.fill(
                book,
                order,
                order.qty - order.executed_qty,
                order.price,
                maker=True,
                reserved_other=reserved_other,
                now=now,
            )
        instrument = self.rules.instrument(order.symbol)
        bid, ask = self.touch(instrument, book.market[order.symbol].last)
        qty = order.qty
        if order.close_position:
            positions = [p for p in book.account.positions if p.symbol == order.symbol]
            if not positions:
                raise VenueError(-2022, "no position to close")
            qty = positions[0].qty
        events = self.fill(
            book,
            order,
            qty,
            ask if order.side == "BUY" else bid,
            maker=False,
            reserved_other=reserved_other,
            now=now,
        )
        order.status = "FINISHED"
        return events

    def fill(
        self,
        book: Book,
        order: OrderFields,
        qty: Decimal,
        price: Decimal,
        *,
        maker: bool,
        reserved_other: Decimal,
        now: int,
    ) -> list[ev.Event]:
        """Fill ``qty`` of ``order`` at ``price`` through the engine: update the order, note the fill.

        The fill is written with the order's id by the caller (``book.fills``), in the same transaction.
        """
        account = book.account
        closing_pos, closing, opening = self._split(account, order, qty)
        if order.reduce_only:
            if closing_pos is None or closing == ZERO:
                raise VenueError(-2022, "no position to reduce in that direction")
            opening = ZERO
        liquidity = Liquidity.MAKER if maker else Liquidity.TAKER
        instrument = self.rules.instrument(order.symbol)
        leverage = account.settings(order.symbol).leverage
        rate = instrument.maker_fee if maker else instrument.taker_fee
        need = opening * price / leverage + (closing + opening) * price * rate
        available = account.available_balance("USDT") - reserved_other
        if opening > ZERO and need > available:
            raise VenueError(-2019, f"required {need}, available {available}")
        events: list[ev.Event] = []
        try:
            if closing_pos is not None and closing > ZERO:
                if closing == closing_pos.qty:
                    events += account.close(order.symbol, price, side=closing_pos.side, liquidity=liquidity)
                else:
                    events += account.reduce(
                        order.symbol, closing, price, side=closing_pos.side, liquidity=liquidity
                    )
            if opening > ZERO:
                direction = Side.LONG if order.side == "BUY" else Side.SHORT
                hedge = self.hedge_side(account, order.position_side)
                side = hedge if hedge is not None else direction
                held = [p for p in account.positions if p.symbol == order.symbol and p.side is side]
                if held:
                    events += account.increase(order.symbol, opening, price, side=side, liquidity=liquidity)
                else:
                    events += account.open(order.symbol, side, opening, price, liquidity=liquidity)
        except InsufficientMargin as exc:
            raise VenueError(-2019, str(exc)) from None
        except RuleSetError as exc:
            raise VenueError(-2027, str(exc)) from None
        except OperationRejected as exc:
            if exc.rule.endswith("max_leverage"):
                raise VenueError(-2027, str(exc)) from None
            raise
        # the engine moved the symbol's mark to the fill price: put the venue's mark back (and re-check)
        events += account.update_marks({order.symbol: book.market[order.symbol].mark})
        filled = closing + opening
        fee = sum((e.fee for e in events if isinstance(e, ev.Filled)), ZERO)
        pnl = sum((e.realized_pnl for e in events if isinstance(e, ev.Filled)), ZERO)
        order.executed_qty += filled
        order.cum_quote += filled * price
        order.avg_price = order.cum_quote / order.executed_qty
        order.status = "FILLED"
        order.reserved = ZERO
        order.updated_ms = now
        book.fills.append(
            (
                order,
                (order.symbol, order.side, order.position_side, str(filled), str(price), str(fee), str(pnl)),
                maker,
                now,
            )
        )
        return events
