"""Binance USDⓈ-M response shapes (the fields ccxt 4.5.90 reads, and Binance's others).

Decimals are JSON strings, as Binance sends most of them: exact, and ccxt reads every field through
``safe_string``. Money and prices in reports have 8 decimals (rounded half-up), like Binance's.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fastapi.responses import JSONResponse
from starlette.responses import Response

from marginlab.venue.models import IncomeRow, MarginChangeRow, MarketRow, TradeRow
from marginlab.venue.orders import MIN_NOTIONAL
from marginlab.venue.records import OrderFields
from marginlab.venue.views import AccountView, PositionView
from marginlab.venue.vocabulary import ZERO, Instrument, MarginMode

EIGHT = Decimal("0.00000001")
ORDER_TYPES = ["LIMIT", "MARKET", "STOP_MARKET", "TAKE_PROFIT_MARKET"]


def answer(body: dict[str, Any]) -> Response:
    """Return ``body`` (JSON-ready: strings, numbers, booleans) as a JSON response, as FastAPI would.

    For the busiest routes (orders, account), declared with ``response_model`` for the documentation: a
    route that returns a :class:`Response` skips FastAPI's re-validation of the answer against that model,
    which it runs in the thread pool (a second thread hop per request).
    """
    return JSONResponse(body)


def plain(value: Decimal) -> str:
    """Return a decimal without exponent (``0.05``, ``100000.0``)."""
    return format(value, "f")


def money(value: Decimal | None) -> str:
    """Return a decimal rounded half-up to 8 places (``"0"`` for None)."""
    if value is None:
        return "0"
    return format(value.quantize(EIGHT, rounding=ROUND_HALF_UP), "f")


def number(value: Decimal) -> int | str:
    """Return an int when integral, else the plain decimal string."""
    return int(value) if value == value.to_integral_value() else plain(value)


def symbol_info(instrument: Instrument) -> dict[str, Any]:
    """Return one ``exchangeInfo`` symbol."""
    tick, lot = instrument.tick_size, instrument.lot_size
    return {
        "symbol": instrument.symbol,
        "pair": instrument.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "baseAsset": instrument.base,
        "quoteAsset": instrument.settle,
        "marginAsset": instrument.settle,
        "pricePrecision": max(0, -tick.normalize().as_tuple().exponent),  # type: ignore[operator]
        "quantityPrecision": max(0, -lot.normalize().as_tuple().exponent),  # type: ignore[operator]
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "liquidationFee": plain(instrument.liquidation_fee),
        "underlyingType": "COIN",
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": plain(tick),
                "maxPrice": "10000000",
                "tickSize": plain(tick),
            },
            {"filterType": "LOT_SIZE", "minQty": plain(lot), "maxQty": "1000000", "stepSize": plain(lot)},
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": plain(lot),
                "maxQty": "1000000",
                "stepSize": plain(lot),
            },
            {"filterType": "MIN_NOTIONAL", "notional": plain(MIN_NOTIONAL)},
        ],
        "orderTypes": ORDER_TYPES,
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }


def brackets(instrument: Instrument) -> dict[str, Any]:
    """Return one ``leverageBracket`` entry (the engine's tiers)."""
    rows = []
    for i, tier in enumerate(instrument.tiers.tiers, start=1):
        rows.append(
            {
                "bracket": i,
                "initialLeverage": number(tier.max_leverage),
                "notionalCap": number(tier.cap) if tier.cap is not None else 9_223_372_036_854_775_807,
                "notionalFloor": number(tier.floor),
                "maintMarginRatio": plain(tier.mmr),
                "cum": plain(tier.maintenance_amount),
            }
        )
    return {"symbol": instrument.symbol, "notionalCoef": "1.0", "brackets": rows}


def premium_index(market: MarketRow, interval_hours: int) -> dict[str, Any]:
    """Return one ``premiumIndex`` object."""
    return {
        "symbol": market.symbol,
        "markPrice": money(market.mark),
        "indexPrice": money(market.index_price),
        "estimatedSettlePrice": money(market.mark),
        "lastFundingRate": money(market.funding_rate),
        "interestRate": "0.00010000",
        "nextFundingTime": market.next_funding_ms,
        "time": market.updated_ms,
        "fundingIntervalHours": interval_hours,
    }


def position(view: PositionView, now_ms: int, *, v2: bool) -> dict[str, Any]:
    """Return one ``positionRisk`` entry (v3; with ``v2`` also leverage, marginType, …)."""
    isolated = view.margin_mode is MarginMode.ISOLATED
    out: dict[str, Any] = {
        "symbol": view.symbol,
        "positionSide": view.position_side,
        "positionAmt": plain(view.signed_qty),
        "entryPrice": plain(view.entry),
        "breakEvenPrice": money(view.break_even),
        "markPrice": money(view.mark),
        "unRealizedProfit": money(view.unrealized_pnl),
        "liquidationPrice": money(view.liquidation_price),
        "isolatedMargin": money(view.isolated_wallet + view.unrealized_pnl if isolated else ZERO),
        "notional": money(view.signed_notional),
        "marginAsset": "USDT",
        "isolatedWallet": money(view.isolated_wallet),
        "initialMargin": money(view.initial_margin + view.open_order_margin),
        "maintMargin": money(view.maint_margin),
        "positionInitialMargin": money(view.initial_margin),
        "openOrderInitialMargin": money(view.open_order_margin),
        "adl": 1,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": now_ms,
    }
    if v2:
        out.update(
            {
                "leverage": plain(view.leverage),
                "maxNotionalValue": plain(view.max_notional) if view.max_notional is not None else "INF",
                "marginType": "isolated" if isolated else "cross",
                "isAutoAddMargin": "false",
                "isolated": isolated,
                "adlQuantile": 1,
            }
        )
    return out


def account(view: AccountView, now_ms: int) -> dict[str, Any]:
    """Return ``v3/account``: Binance's fields plus the bonus in fields of its own (``bonus*``, ``own*``)."""
    asset = {
        "asset": "USDT",
        "walletBalance": money(view.wallet_balance),
        "unrealizedProfit": money(view.unrealized_pnl),
        "marginBalance": money(view.margin_balance),
        "maintMargin": money(view.maint_margin),
        "initialMargin": money(view.initial_margin),
        "positionInitialMargin": money(view.position_initial_margin),
        "openOrderInitialMargin": money(view.open_order_margin),
        "crossWalletBalance": money(view.cross_wallet),
        "crossUnPnl": money(view.cross_unrealized_pnl),
        "availableBalance": money(view.available),
        "maxWithdrawAmount": money(view.max_withdraw),
        "marginAvailable": True,
        "updateTime": max(view.updated_ms, 1),
        "bonusGranted": money(view.bonus_granted),
        "bonusBalance": money(view.bonus_left),
        "ownBalance": money(view.own_balance),
    }
    return {
        "totalInitialMargin": money(view.initial_margin),
        "totalMaintMargin": money(view.maint_margin),
        "totalWalletBalance": money(view.wallet_balance),
        "totalUnrealizedProfit": money(view.unrealized_pnl),
        "totalMarginBalance": money(view.margin_balance),
        "totalPositionInitialMargin": money(view.position_initial_margin),
        "totalOpenOrderInitialMargin": money(view.open_order_margin),
        "totalCrossWalletBalance": money(view.cross_wallet),
        "totalCrossUnPnl": money(view.cross_unrealized_pnl),
        "availableBalance": money(view.available),
        "maxWithdrawAmount": money(view.max_withdraw),
        "bonusGranted": money(view.bonus_granted),
        "bonusBalance": money(view.bonus_left),
        "ownBalance": money(view.own_balance),
        "liquidations": view.liquidations,
        "assets": [asset],
        "positions": [
            {
                "symbol": p.symbol,
                "positionSide": p.position_side,
                "positionAmt": plain(p.signed_qty),
                "unrealizedProfit": money(p.unrealized_pnl),
                "isolatedMargin": money(p.isolated_wallet + p.unrealized_pnl if p.isolated_wallet else ZERO),
                "notional": money(p.signed_notional),
                "isolatedWallet": money(p.isolated_wallet),
                "initialMargin": money(p.initial_margin),
                "maintMargin": money(p.maint_margin),
                "updateTime": now_ms,
            }
            for p in view.positions
        ],
    }


def order(row: OrderFields) -> dict[str, Any]:
    """Return an order as ``/fapi/v1/order`` answers."""
    return {
        "orderId": row.id,
        "symbol": row.symbol,
        "status": row.status,
        "clientOrderId": row.client_order_id,
        "price": plain(row.price),
        "avgPrice": plain(row.avg_price),
        "origQty": plain(row.qty),
        "executedQty": plain(row.executed_qty),
        "cumQty": plain(row.executed_qty),
        "cumQuote": plain(row.cum_quote),
        "timeInForce": row.time_in_force,
        "type": row.type,
        "reduceOnly": row.reduce_only,
        "closePosition": row.close_position,
        "side": row.side,
        "positionSide": row.position_side,
        "stopPrice": plain(row.stop_price),
        "workingType": row.working_type,
        "priceProtect": False,
        "origType": row.type,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
        "time": row.created_ms,
        "updateTime": row.updated_ms,
    }


def algo_order(row: OrderFields) -> dict[str, Any]:
    """Return a conditional order as ``/fapi/v1/algoOrder`` answers."""
    return {
        "algoId": row.id,
        "clientAlgoId": row.client_order_id,
        "algoType": "CONDITIONAL",
        "orderType": row.type,
        "symbol": row.symbol,
        "side": row.side,
        "positionSide": row.position_side,
        "timeInForce": row.time_in_force,
        "quantity": plain(row.qty),
        "algoStatus": row.status,
        "triggerPrice": plain(row.stop_price),
        "price": "0",
        "avgPrice": plain(row.avg_price),
        "executedQty": plain(row.executed_qty),
        "icebergQuantity": None,
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "workingType": row.working_type,
        "priceMatch": "NONE",
        "closePosition": row.close_position,
        "priceProtect": False,
        "reduceOnly": row.reduce_only,
        "createTime": row.created_ms,
        "updateTime": row.updated_ms,
        "triggerTime": row.updated_ms if row.status == "FINISHED" else 0,
        "goodTillDate": 0,
    }


def trade(row: TradeRow) -> dict[str, Any]:
    """Return one ``userTrades`` entry."""
    return {
        "buyer": row.side == "BUY",
        "commission": money(row.commission),
        "commissionAsset": "USDT",
        "id": row.id,
        "maker": row.maker,
        "orderId": row.order_id,
        "price": plain(row.price),
        "qty": plain(row.qty),
        "quoteQty": plain(row.qty * row.price),
        "realizedPnl": money(row.realized_pnl),
        "side": row.side,
        "positionSide": row.position_side,
        "symbol": row.symbol,
        "time": row.time_ms,
    }


def income(row: IncomeRow) -> dict[str, Any]:
    """Return one ``income`` entry."""
    return {
        "symbol": row.symbol,
        "incomeType": row.income_type,
        "income": money(row.amount),
        "asset": "USDT",
        "info": row.info,
        "time": row.time_ms,
        "tranId": row.id,
        "tradeId": row.trade_id,
    }


def margin_change(row: MarginChangeRow) -> dict[str, Any]:
    """Return one ``positionMargin/history`` entry."""
    return {
        "symbol": row.symbol,
        "type": row.type,
        "deltaType": "TRADE",
        "amount": plain(row.amount),
        "asset": "USDT",
        "time": row.time_ms,
        "positionSide": row.position_side,
    }
