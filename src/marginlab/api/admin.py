"""Admin routes (``X-ADMIN-TOKEN``): set marks, settle funding, create accounts over HTTP.

Refused (403, -2015) when the app has no admin token: ``serve`` makes one up on a loopback bind and prints
it; on any other bind an admin token must be configured (``MARGINLAB_VENUE_ADMIN_TOKEN``) or admin
operations stay off. The token is compared in constant time.
"""

from __future__ import annotations

import hmac
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field

from marginlab.api.public import ServiceDep
from marginlab.venue.errors import VenueError

router = APIRouter(prefix="/admin/v1", tags=["admin"])


def require_admin(request: Request, x_admin_token: Annotated[str | None, Header()] = None) -> None:
    """Refuse the request unless it carries the configured admin token."""
    token: str | None = request.app.state.admin_token
    if token is None or x_admin_token is None:
        raise VenueError(-2015, "admin operations need the admin token")
    if not hmac.compare_digest(token.encode(), x_admin_token.encode()):
        raise VenueError(-2015, "admin operations need the admin token")


AdminDep = Annotated[None, Depends(require_admin)]
DecimalText = Annotated[str, Field(max_length=40, pattern=r"^[0-9]+(\.[0-9]+)?$")]


class MarkRequest(BaseModel):
    """New prices: ``{"prices": {"BTCUSDT": "95000"}}``; the last price follows the mark unless given."""

    prices: dict[Annotated[str, Field(max_length=32)], DecimalText] = Field(max_length=100)
    last: dict[Annotated[str, Field(max_length=32)], DecimalText] = Field(
        default_factory=dict, max_length=100
    )


class AccountRequest(BaseModel):
    """A new account: own deposit and bonus (USDT)."""

    deposit: DecimalText = "10000"
    bonus: DecimalText = "0"


class FundingRequest(BaseModel):
    """Settle funding of ``symbol`` now, at ``rate`` or the current rate."""

    symbol: Annotated[str, Field(max_length=32)]
    rate: Annotated[str, Field(max_length=40, pattern=r"^-?[0-9]+(\.[0-9]+)?$")] | None = None


def _decimal(name: str, raw: str) -> Decimal:
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise VenueError(-1102, param=name) from None


@router.post("/mark")
def set_marks(body: MarkRequest, _: AdminDep, service: ServiceDep) -> dict[str, Any]:
    """Set marks (and last prices); runs the liquidation check, stops and limit fills in one transaction."""
    prices = {}
    for symbol, raw in body.prices.items():
        native = service.symbol(symbol) if symbol.upper() in service.listed_symbols() else symbol.upper()
        service.rules.instrument(native)
        mark = _decimal(symbol, raw)
        prices[native] = (mark, _decimal(symbol, body.last.get(symbol, raw)))
    checked = service.update_prices(prices)
    return {"updated": sorted(prices), "accounts_checked": checked}


@router.post("/funding")
def settle_funding(body: FundingRequest, _: AdminDep, service: ServiceDep) -> dict[str, Any]:
    """Settle funding now."""
    rate = None if body.rate is None else _decimal("rate", body.rate)
    return {"positions": service.settle_funding(service.symbol(body.symbol), rate)}


@router.post("/accounts")
def create_account(body: AccountRequest, _: AdminDep, service: ServiceDep) -> dict[str, Any]:
    """Create an account; the answer carries the API secret, shown this once."""
    new = service.create_account(
        deposit=_decimal("deposit", body.deposit), bonus=_decimal("bonus", body.bonus)
    )
    return {"account_id": new.account_id, "api_key": new.api_key, "api_secret": new.api_secret}
