"""Public market-data routes (no key, no signature): ``exchangeInfo``, ``time``, prices, klines, depth.

``depth`` is a synthetic book around the last price (the touch of the fill model, then one tick per level,
a fixed size per level): the venue matches against an infinitely deep touch, not against this book.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from marginlab.api import shapes
from marginlab.venue.errors import VenueError
from marginlab.venue.service import INTERVALS_MS, VenueService, candles

router = APIRouter(tags=["public"])
DEPTH_LEVEL_QTY = "1000"


async def get_service(request: Request) -> VenueService:
    """Return the app's service (a dependency tests can override; async: no thread-pool hop)."""
    service: VenueService = request.app.state.service
    return service


ServiceDep = Annotated[VenueService, Depends(get_service)]
Symbol = Annotated[str | None, Query(max_length=32, pattern=r"^[A-Za-z0-9]+$")]
Limit = Annotated[int, Query(ge=1, le=1500)]


@router.get("/fapi/v1/ping")
def ping() -> dict[str, Any]:
    """Answer ``{}`` (connectivity check)."""
    return {}


@router.get("/fapi/v1/time")
def server_time(service: ServiceDep) -> dict[str, Any]:
    """Return the venue's clock in ms."""
    return {"serverTime": service.clock()}


@router.get("/fapi/v1/exchangeInfo")
def exchange_info(service: ServiceDep) -> dict[str, Any]:
    """Return the listed perpetuals with their filters (tick, lot, min notional) and order types."""
    return {
        "timezone": "UTC",
        "serverTime": service.clock(),
        "futuresType": "U_MARGINED",
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": service.settings.rate_limit_per_minute,
            }
        ],
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": [shapes.symbol_info(service.rules.instrument(s)) for s in service.listed_symbols()],
    }


@router.get("/fapi/v1/premiumIndex")
def premium_index(service: ServiceDep, symbol: Symbol = None) -> Any:
    """Return mark price and funding of one symbol (an object) or of all (a list)."""
    market = service.market()
    hours = service.settings.funding_interval_hours
    if symbol:
        native = service.symbol(symbol)
        return shapes.premium_index(market[native], hours)
    return [shapes.premium_index(m, hours) for m in market.values()]


def _ticker_price(service: VenueService, symbol: str | None) -> Any:
    market = service.market()
    rows = [market[service.symbol(symbol)]] if symbol else list(market.values())
    out = [{"symbol": m.symbol, "price": shapes.plain(m.last), "time": m.updated_ms} for m in rows]
    return out[0] if symbol else out


@router.get("/fapi/v1/ticker/price")
def ticker_price(service: ServiceDep, symbol: Symbol = None) -> Any:
    """Return the last price of one symbol (object) or all (list)."""
    return _ticker_price(service, symbol)


@router.get("/fapi/v2/ticker/price")
def ticker_price_v2(service: ServiceDep, symbol: Symbol = None) -> Any:
    """Return the last price (v2 path, same answer)."""
    return _ticker_price(service, symbol)


@router.get("/fapi/v1/ticker/bookTicker")
def book_ticker(service: ServiceDep, symbol: Symbol = None) -> Any:
    """Return the synthetic touch (bid/ask around the last price)."""
    market = service.market()
    rows = [market[service.symbol(symbol)]] if symbol else list(market.values())
    out = []
    for m in rows:
        bid, ask = service.trader.touch(service.rules.instrument(m.symbol), m.last)
        out.append(
            {
                "symbol": m.symbol,
                "bidPrice": shapes.plain(bid),
                "bidQty": DEPTH_LEVEL_QTY,
                "askPrice": shapes.plain(ask),
                "askQty": DEPTH_LEVEL_QTY,
                "time": m.updated_ms,
            }
        )
    return out[0] if symbol else out


@router.get("/fapi/v1/ticker/24hr")
def ticker_24hr(service: ServiceDep, symbol: Symbol = None) -> Any:
    """Return 24 h statistics from the venue's recorded prices (volumes are 0: there are no real trades)."""
    market = service.market()
    rows = [market[service.symbol(symbol)]] if symbol else list(market.values())
    now = service.clock()
    out = []
    for m in rows:
        ticks = service.ticks(m.symbol, now - 86_400_000, None)
        prices = [t.last for t in ticks] or [m.last]
        first = prices[0]
        change = m.last - first
        out.append(
            {
                "symbol": m.symbol,
                "priceChange": shapes.plain(change),
                "priceChangePercent": shapes.money(change / first * 100),
                "weightedAvgPrice": shapes.plain(m.last),
                "lastPrice": shapes.plain(m.last),
                "lastQty": "0",
                "openPrice": shapes.plain(first),
                "highPrice": shapes.plain(max(prices)),
                "lowPrice": shapes.plain(min(prices)),
                "volume": "0",
                "quoteVolume": "0",
                "openTime": ticks[0].time_ms if ticks else m.updated_ms,
                "closeTime": now,
                "firstId": 0,
                "lastId": 0,
                "count": len(ticks),
            }
        )
    return out[0] if symbol else out


@router.get("/fapi/v1/depth")
def depth(
    service: ServiceDep, symbol: Symbol = None, limit: Annotated[int, Query(ge=5, le=1000)] = 20
) -> Any:
    """Return a synthetic order book: the touch, then one tick per level, 1000 per level."""
    native = service.symbol(symbol)
    m = service.market()[native]
    instrument = service.rules.instrument(native)
    bid, ask = service.trader.touch(instrument, m.last)
    levels = min(limit, 100)
    tick = instrument.tick_size
    return {
        "lastUpdateId": m.updated_ms,
        "E": m.updated_ms,
        "T": m.updated_ms,
        "bids": [
            [shapes.plain(bid - i * tick), DEPTH_LEVEL_QTY] for i in range(levels) if bid - i * tick > 0
        ],
        "asks": [[shapes.plain(ask + i * tick), DEPTH_LEVEL_QTY] for i in range(levels)],
    }


def _klines(
    service: VenueService,
    symbol: str | None,
    interval: str,
    start: int | None,
    end: int | None,
    limit: int,
    *,
    mark: bool,
) -> list[list[Any]]:
    native = service.symbol(symbol)
    if interval not in INTERVALS_MS:
        raise VenueError(-1130, f"interval must be one of {', '.join(INTERVALS_MS)}")
    step = INTERVALS_MS[interval]
    rows = candles(service.ticks(native, start, end), step, mark=mark, limit=limit)
    zero = "0"
    return [
        [
            t,
            shapes.plain(o),
            shapes.plain(h),
            shapes.plain(lo),
            shapes.plain(c),
            zero,
            t + step - 1,
            zero,
            n,
            zero,
            zero,
            zero,
        ]
        for t, o, h, lo, c, n in rows
    ]


Interval = Annotated[str, Query(max_length=4)]
TimeMs = Annotated[int | None, Query(ge=0, le=2**62)]


def _klines_route(path: str, name: str, *, mark: bool) -> None:
    """Serve ``path``: last-price (or, with ``mark``, mark-price) candles of the recorded price updates."""

    def candles(
        service: ServiceDep,
        interval: Interval,
        symbol: Symbol = None,
        startTime: TimeMs = None,
        endTime: TimeMs = None,
        limit: Limit = 500,
    ) -> list[list[Any]]:
        return _klines(service, symbol, interval, startTime, endTime, limit, mark=mark)

    price = "mark-price" if mark else "last-price"
    candles.__doc__ = f"Return {price} candles built from the venue's recorded price updates."
    router.get(path, name=name)(candles)


_klines_route("/fapi/v1/klines", "klines", mark=False)
_klines_route("/fapi/v1/markPriceKlines", "mark_price_klines", mark=True)


@router.get("/sapi/v1/capital/config/getall")
def capital_config() -> list[Any]:
    """Answer ``[]`` so that ccxt's ``fetchCurrencies`` (on by default) does not fail ``load_markets``."""
    return []


@router.get("/sapi/v1/margin/allPairs")
def margin_pairs() -> list[Any]:
    """Answer ``[]`` (ccxt's ``fetchMargins`` during ``load_markets``)."""
    return []


@router.get("/health")
def health(service: ServiceDep) -> dict[str, Any]:
    """Return ``{"status": "ok"}`` once the server is up (the readiness check of tests and scripts)."""
    return {"status": "ok", "symbols": len(service.listed_symbols()), "decimal": str(Decimal(0))}
