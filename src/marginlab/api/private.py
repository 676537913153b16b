"""Signed routes (``X-MBX-APIKEY`` + HMAC): account, positions, settings, orders, margin, ledger.

Each route parses its parameters, calls the service once and shapes the answer; the account is always the
key's own (no route takes an account id), so no key can read or change another account.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Response

from marginlab.api import shapes
from marginlab.api.public import ServiceDep
from marginlab.api.signing import Caller, SignedDep
from marginlab.venue.errors import VenueError
from marginlab.venue.orders import OrderRequest
from marginlab.venue.records import OrderFields
from marginlab.venue.service import VenueService
from marginlab.venue.vocabulary import MarginMode

router = APIRouter(tags=["signed"])
CLIENT_ID_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.:/_-")


def _limit(caller: Caller, default: int, maximum: int) -> int:
    limit = caller.integer("limit", required=False) or default
    if not (1 <= limit <= maximum):
        raise VenueError(-1130, f"limit must be in 1..{maximum}")
    return limit


@router.get("/fapi/v3/account", response_model=dict[str, Any])
@router.get("/fapi/v2/account", response_model=dict[str, Any])
def account(caller: SignedDep, service: ServiceDep) -> Response:
    """Return balances (bonus fields: ``bonusGranted``, ``bonusBalance``, ``ownBalance``) and positions."""
    return shapes.answer(shapes.account(service.account(caller.account_id), service.clock()))


@router.get("/fapi/v3/balance")
@router.get("/fapi/v2/balance")
def balance(caller: SignedDep, service: ServiceDep) -> list[dict[str, Any]]:
    """Return the USDT balance row."""
    view = service.account(caller.account_id)
    return [
        {
            "accountAlias": f"paper{view.account_id}",
            "asset": "USDT",
            "balance": shapes.money(view.wallet_balance),
            "crossWalletBalance": shapes.money(view.cross_wallet),
            "crossUnPnl": shapes.money(view.cross_unrealized_pnl),
            "availableBalance": shapes.money(view.available),
            "maxWithdrawAmount": shapes.money(view.max_withdraw),
            "marginAvailable": True,
            "updateTime": max(view.updated_ms, 1),
        }
    ]


def _positions(caller: Caller, service: VenueService, *, v2: bool) -> list[dict[str, Any]]:
    view = service.account(caller.account_id)
    symbol = caller.optional("symbol")
    now = service.clock()
    return [
        shapes.position(p, now, v2=v2) for p in view.positions if symbol is None or p.symbol == symbol.upper()
    ]


@router.get("/fapi/v3/positionRisk")
def position_risk_v3(caller: SignedDep, service: ServiceDep) -> list[dict[str, Any]]:
    """Return every open position (Binance's v3 object)."""
    return _positions(caller, service, v2=False)


@router.get("/fapi/v2/positionRisk")
def position_risk_v2(caller: SignedDep, service: ServiceDep) -> list[dict[str, Any]]:
    """Return every open position (v3 object plus leverage, marginType, …)."""
    return _positions(caller, service, v2=True)


@router.post("/fapi/v1/marginType")
def margin_type(caller: SignedDep, service: ServiceDep) -> dict[str, Any]:
    """Switch a symbol between ISOLATED and CROSSED."""
    raw = caller.text("marginType").upper()
    modes = {"ISOLATED": MarginMode.ISOLATED, "CROSSED": MarginMode.CROSS, "CROSS": MarginMode.CROSS}
    if raw not in modes:
        raise VenueError(-1130, "marginType must be ISOLATED or CROSSED")
    service.set_margin_type(caller.account_id, caller.text("symbol"), modes[raw])
    return {"code": 200, "msg": "success"}


@router.post("/fapi/v1/leverage")
def leverage(caller: SignedDep, service: ServiceDep) -> dict[str, Any]:
    """Set a symbol's leverage."""
    symbol = caller.text("symbol").upper()
    value, cap = service.set_leverage(caller.account_id, symbol, caller.integer("leverage") or 0)
    return {
        "leverage": value,
        "maxNotionalValue": shapes.plain(cap) if cap is not None else "INF",
        "symbol": symbol,
    }


@router.get("/fapi/v1/positionSide/dual")
def position_mode(caller: SignedDep, service: ServiceDep) -> dict[str, Any]:
    """Return whether hedge (dual-side) mode is on."""
    return {"dualSidePosition": service.account(caller.account_id).position_mode.value == "hedge"}


@router.post("/fapi/v1/positionSide/dual")
def set_position_mode(caller: SignedDep, service: ServiceDep) -> dict[str, Any]:
    """Switch hedge mode on (``dualSidePosition=true``) or off."""
    service.set_position_mode(caller.account_id, hedge=caller.flag("dualSidePosition"))
    return {"code": 200, "msg": "success"}


def _client_id(caller: Caller, name: str) -> str:
    value = caller.optional(name)
    if value is None:
        return f"venue-{caller.params.get('timestamp', '0')}-{id(caller) % 100000}"
    if len(value) > 36 or not set(value) <= CLIENT_ID_CHARS:
        raise VenueError(-1130, f"{name} must match ^[.A-Z:/a-z0-9_-]{{1,36}}$")
    return value


@router.post("/fapi/v1/order", response_model=dict[str, Any])
def new_order(caller: SignedDep, service: ServiceDep) -> Response:
    """Place a MARKET or LIMIT order (GTC/IOC/FOK/GTX, reduceOnly); market orders answer FILLED."""
    order_type = caller.text("type").upper()
    if order_type in ("STOP_MARKET", "TAKE_PROFIT_MARKET", "STOP", "TAKE_PROFIT", "TRAILING_STOP_MARKET"):
        raise VenueError(-1116, "conditional orders go through /fapi/v1/algoOrder")
    request = OrderRequest(
        symbol=caller.text("symbol"),
        side=caller.text("side").upper(),
        type=order_type,
        client_order_id=_client_id(caller, "newClientOrderId"),
        qty=caller.decimal("quantity"),
        price=caller.decimal("price", required=order_type == "LIMIT"),
        time_in_force=(caller.optional("timeInForce") or "GTC").upper(),
        reduce_only=caller.flag("reduceOnly"),
        position_side=(caller.optional("positionSide") or "BOTH").upper(),
    )
    return shapes.answer(shapes.order(service.place_order(caller.account_id, request)))


def _order_ref(caller: Caller, id_name: str, client_names: tuple[str, ...]) -> tuple[int | None, str | None]:
    client = next((caller.optional(n) for n in client_names if caller.optional(n)), None)
    return caller.integer(id_name, required=False), client


@router.get("/fapi/v1/order")
def query_order(caller: SignedDep, service: ServiceDep) -> dict[str, Any]:
    """Return one order by ``orderId`` or ``origClientOrderId``."""
    order_id, client = _order_ref(caller, "orderId", ("origClientOrderId",))
    return shapes.order(
        service.get_order(caller.account_id, caller.text("symbol"), order_id, client, algo=False)
    )


@router.delete("/fapi/v1/order")
def cancel_order(caller: SignedDep, service: ServiceDep) -> dict[str, Any]:
    """Cancel an open order."""
    order_id, client = _order_ref(caller, "orderId", ("origClientOrderId",))
    row = service.cancel_order(caller.account_id, caller.text("symbol"), order_id, client, algo=False)
    return shapes.order(row)


def _order_routes(*, algo: bool, open_path: str, all_path: str, cancel_all_path: str) -> None:
    """Serve the lists and the cancel-all of plain orders, or with ``algo`` of conditional ones.

    ``open_path``: the open orders of the optional ``symbol`` (else all); ``all_path``: all orders of the
    required ``symbol``, the newest ``limit`` (default 500, at most 1000), oldest first; ``cancel_all_path``:
    cancel every open order of the required ``symbol``.
    """
    shape: Callable[[OrderFields], dict[str, Any]] = shapes.algo_order if algo else shapes.order
    what, suffix = ("conditional orders", "_algo") if algo else ("orders", "")

    def open_orders(caller: SignedDep, service: ServiceDep) -> list[dict[str, Any]]:
        rows = service.orders(caller.account_id, caller.optional("symbol"), open_only=True, algo=algo)
        return [shape(r) for r in rows]

    def all_orders(caller: SignedDep, service: ServiceDep) -> list[dict[str, Any]]:
        symbol = caller.text("symbol")
        rows = service.orders(
            caller.account_id, symbol, open_only=False, algo=algo, limit=_limit(caller, 500, 1000)
        )
        return [shape(r) for r in rows]

    def cancel_all(caller: SignedDep, service: ServiceDep) -> dict[str, Any]:
        service.cancel_all(caller.account_id, caller.text("symbol"), algo=algo)
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    open_orders.__doc__ = f"Return the open {what} (of one symbol, or all)."
    all_orders.__doc__ = f"Return the {what} of a symbol, newest ``limit`` (at most 1000), oldest first."
    cancel_all.__doc__ = f"Cancel every open {what.removesuffix('s')} of a symbol."
    router.get(open_path, name=f"open{suffix}_orders")(open_orders)
    router.get(all_path, name=f"all{suffix}_orders")(all_orders)
    router.delete(cancel_all_path, name=f"cancel_all{suffix}")(cancel_all)


_order_routes(
    algo=False,
    open_path="/fapi/v1/openOrders",
    all_path="/fapi/v1/allOrders",
    cancel_all_path="/fapi/v1/allOpenOrders",
)
_order_routes(
    algo=True,
    open_path="/fapi/v1/openAlgoOrders",
    all_path="/fapi/v1/allAlgoOrders",
    cancel_all_path="/fapi/v1/algoOpenOrders",
)


@router.get("/fapi/v1/userTrades")
def user_trades(caller: SignedDep, service: ServiceDep) -> list[dict[str, Any]]:
    """Return the fills of a symbol."""
    rows = service.trades(caller.account_id, caller.text("symbol"), _limit(caller, 500, 1000))
    return [shapes.trade(r) for r in rows]


@router.get("/fapi/v1/income")
def income(caller: SignedDep, service: ServiceDep) -> list[dict[str, Any]]:
    """Return the income ledger (TRANSFER, WELCOME_BONUS, REALIZED_PNL, COMMISSION, FUNDING_FEE, …)."""
    rows = service.income(
        caller.account_id,
        symbol=caller.optional("symbol"),
        income_type=caller.optional("incomeType"),
        start=caller.integer("startTime", required=False),
        end=caller.integer("endTime", required=False),
        limit=_limit(caller, 100, 1000),
    )
    return [shapes.income(r) for r in rows]


@router.post("/fapi/v1/positionMargin")
def position_margin(caller: SignedDep, service: ServiceDep) -> dict[str, Any]:
    """Add (type 1) or reduce (type 2) an isolated position's margin."""
    kind = caller.integer("type") or 0
    amount = caller.decimal("amount") or Decimal(0)
    service.modify_margin(
        caller.account_id, caller.text("symbol"), kind, amount, caller.optional("positionSide")
    )
    return {"amount": float(amount), "code": 200, "msg": "Successfully modify position margin.", "type": kind}


@router.get("/fapi/v1/positionMargin/history")
def position_margin_history(caller: SignedDep, service: ServiceDep) -> list[dict[str, Any]]:
    """Return the manual margin changes of a symbol."""
    rows = service.margin_history(
        caller.account_id,
        caller.text("symbol"),
        caller.integer("type", required=False),
        _limit(caller, 500, 500),
    )
    return [shapes.margin_change(r) for r in rows]


@router.get("/fapi/v1/leverageBracket")
def leverage_bracket(caller: SignedDep, service: ServiceDep) -> list[dict[str, Any]]:
    """Return the tiers of every listed symbol (always a list: ccxt never sends a symbol)."""
    symbol = caller.optional("symbol")
    symbols = [service.symbol(symbol)] if symbol else service.listed_symbols()
    return [shapes.brackets(service.rules.instrument(s)) for s in symbols]


@router.get("/fapi/v1/symbolConfig")
def symbol_config(caller: SignedDep, service: ServiceDep) -> list[dict[str, Any]]:
    """Return margin type and leverage per symbol (always a list)."""
    out = []
    for symbol, mode, lev in service.symbol_configs(caller.account_id, caller.optional("symbol")):
        cap = service.max_notional(symbol, lev)
        out.append(
            {
                "symbol": symbol,
                "marginType": "ISOLATED" if mode is MarginMode.ISOLATED else "CROSSED",
                "isAutoAddMargin": "false",
                "leverage": int(lev),
                "maxNotionalValue": shapes.plain(cap) if cap is not None else "INF",
            }
        )
    return out


@router.get("/fapi/v1/commissionRate")
def commission_rate(caller: SignedDep, service: ServiceDep) -> dict[str, Any]:
    """Return the maker and taker fee rates of a symbol."""
    instrument = service.rules.instrument(service.symbol(caller.text("symbol")))
    return {
        "symbol": instrument.symbol,
        "makerCommissionRate": shapes.plain(instrument.maker_fee),
        "takerCommissionRate": shapes.plain(instrument.taker_fee),
    }


@router.post("/fapi/v1/algoOrder")
def new_algo_order(caller: SignedDep, service: ServiceDep) -> dict[str, Any]:
    """Place a conditional STOP_MARKET or TAKE_PROFIT_MARKET order (trigger on mark or last price)."""
    close_position = caller.flag("closePosition")
    request = OrderRequest(
        symbol=caller.text("symbol"),
        side=caller.text("side").upper(),
        type=caller.text("type").upper(),
        client_order_id=_client_id(caller, "clientAlgoId"),
        qty=caller.decimal("quantity", required=not close_position),
        reduce_only=caller.flag("reduceOnly"),
        close_position=close_position,
        position_side=(caller.optional("positionSide") or "BOTH").upper(),
        stop_price=caller.decimal("triggerPrice", required=False)
        or caller.decimal("stopPrice", required=False),
        working_type=(caller.optional("workingType") or "CONTRACT_PRICE").upper(),
        algo=True,
    )
    return shapes.algo_order(service.place_order(caller.account_id, request))


@router.get("/fapi/v1/algoOrder")
def query_algo_order(caller: SignedDep, service: ServiceDep) -> dict[str, Any]:
    """Return one conditional order by ``algoId`` or ``clientAlgoId``."""
    algo_id, client = _order_ref(caller, "algoId", ("clientAlgoId",))
    symbol = caller.optional("symbol")
    row = service.get_algo_order(caller.account_id, symbol, algo_id, client)
    return shapes.algo_order(row)


@router.delete("/fapi/v1/algoOrder")
def cancel_algo_order(caller: SignedDep, service: ServiceDep) -> dict[str, Any]:
    """Cancel a conditional order."""
    algo_id, client = _order_ref(caller, "algoId", ("clientAlgoId",))
    row = service.get_algo_order(caller.account_id, caller.optional("symbol"), algo_id, client)
    row = service.cancel_order(caller.account_id, row.symbol, row.id, None, algo=True)
    return {"algoId": row.id, "clientAlgoId": row.client_order_id, "code": "200", "msg": "success"}
