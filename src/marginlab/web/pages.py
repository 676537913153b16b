"""The venue's pages: sign-in, account, positions, and the positions' actions.

Every action calls the same :class:`VenueService` method as the REST API route that does the same thing
(``set_margin_type`` for ``/fapi/v1/marginType``, ``modify_margin`` for ``positionMargin``,
``place_order`` for ``order`` / ``algoOrder``, …): one engine, one set of rules, one transaction per
action. A refused action re-renders the page with the venue's one-line message next to the field that
caused it (HTTP 400); an accepted one redirects back (303), so a reload never repeats it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from marginlab.errors import InputError, MarginLabError
from marginlab.venue.errors import VenueError
from marginlab.venue.orders import OrderRequest
from marginlab.venue.service import DashboardSession, VenueService
from marginlab.venue.views import LIQUIDATION_RATIO, MARGIN_CALL_RATIO, PositionView
from marginlab.venue.vocabulary import MarginMode
from marginlab.web import auth
from marginlab.web.assets import templates
from marginlab.web.auth import FormDep, ServiceDep, SessionDep
from marginlab.web.live import account_snapshot, event_stream

router = APIRouter(include_in_schema=False)

# Pages carry no inline script; styles may be inline (the gauge's width, Plotly's charts).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make Chrome send "Origin: null"
    "Cache-Control": "no-store",
}

# The venue's rules behind its refusals, in words (Binance's own message comes first).
RULE_WORDS = {
    -4046: "The symbol is already in that margin mode.",
    -4047: "Binance changes a symbol's margin mode only while it has no open order: cancel its orders first.",
    -4048: "Binance changes a symbol's margin mode only while it has no open position: close the position "
    "first (cross shares the whole wallet, isolated keeps its own margin, and a live position cannot "
    "move between the two).",
    -4049: "Only an isolated position has margin of its own; a cross position is backed by the whole wallet.",
    -4050: "Adding margin takes it from the available balance, which is smaller than that.",
    -4051: "At most the amount shown as removable can leave an isolated position.",
    -2019: "The available balance does not cover the initial margin this needs.",
    -2022: "A reduce-only order may only shrink the position on the other side.",
    -2027: "The position would exceed the largest notional this leverage allows (the leverage tiers).",
}

DONE = {
    "margin": "Margin changed.",
    "leverage": "Leverage set.",
    "mode": "Margin mode switched.",
    "close": "Position closed at market.",
    "order": "Order placed.",
    "cancel": "Order canceled.",
}


def refusal(exc: MarginLabError) -> str:
    """Return the one-line message of a refusal, with the venue's rule in words where one applies."""
    text = str(exc)
    words = RULE_WORDS.get(exc.code) if isinstance(exc, VenueError) else None
    return f"{text} {words}" if words else text


class FieldError(Exception):
    """A refused form: the form, the field next to which the message goes, and the message."""

    def __init__(self, form: str, name: str, message: str) -> None:
        super().__init__(message)
        self.key = f"{form}.{name}"
        self.message = message


@dataclass
class Form:
    """One submitted form: its id (where errors go) and its fields."""

    id: str
    data: dict[str, str]
    values: dict[str, str] = field(default_factory=dict)

    def text(self, name: str) -> str:
        """Return a required text field."""
        value = self.data.get(name, "")
        if not value:
            raise FieldError(self.id, name, f"{name}: expected a value, was empty")
        return value

    def number(self, name: str, *, required: bool = True) -> Decimal | None:
        """Return a positive decimal field (None when optional and empty)."""
        raw = self.data.get(name, "")
        if not raw and not required:
            return None
        try:
            value = Decimal(raw.replace(",", "").replace("_", ""))
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite() or value <= 0:
            raise FieldError(self.id, name, str(InputError(name, raw, "a number > 0")))
        return value

    def integer(self, name: str) -> int:
        """Return a whole-number field."""
        raw = self.data.get(name, "")
        if not raw.isdigit():
            raise FieldError(self.id, name, str(InputError(name, raw, "a whole number")))
        return int(raw)


# ---------------------------------------------------------------------------------------------- rendering
def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """Render a template with the security headers."""
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def positions_context(service: VenueService, session: DashboardSession) -> dict[str, Any]:
    """Return what the positions page shows: positions, open orders, symbols and their settings."""
    view, snap = account_snapshot(service, session.account_id)
    orders = service.orders(session.account_id, None, open_only=True, algo=False)
    stops = service.orders(session.account_id, None, open_only=True, algo=True)
    configs = service.symbol_configs(session.account_id, None)
    return {
        "active": "positions",
        "session": session,
        "view": view,
        "snap": snap,
        "orders": [*orders, *stops],
        "symbols": [c[0] for c in configs],
        "configs": {c[0]: {"mode": c[1], "leverage": c[2]} for c in configs},
        "hedge": view.position_mode.value == "hedge",
        "errors": {},
        "values": {},
        "done": None,
        "open_form": None,
    }


def refused_positions(
    request: Request, service: VenueService, session: DashboardSession, exc: FieldError, form: Form
) -> HTMLResponse:
    """Re-render the positions page with the refusal next to its field and the form's values kept."""
    context = positions_context(service, session)
    context["errors"] = {exc.key: exc.message}
    context["values"] = {f"{form.id}.{k}": v for k, v in form.data.items() if k != "csrf"}
    context["open_form"] = form.id
    return page(request, "positions.html", context, status=400)


def act(
    request: Request,
    service: VenueService,
    session: DashboardSession,
    form: Form,
    primary: str,
    done: str,
    action: Any,
) -> Response:
    """Run one action after the CSRF check; a refusal goes next to ``primary`` (or the field it names)."""
    auth.check_csrf(session, form.data)
    try:
        action()
    except FieldError as exc:
        return refused_positions(request, service, session, exc, form)
    except MarginLabError as exc:
        name = primary
        if isinstance(exc, VenueError) and exc.code == -1102:
            name = next((k for k in form.data if f"'{k}'" in exc.msg), primary)
        return refused_positions(request, service, session, FieldError(form.id, name, refusal(exc)), form)
    return RedirectResponse(f"/positions?done={done}", status_code=303)


# ---------------------------------------------------------------------------------------------- sign-in
@router.get("/")
def home(request: Request, service: ServiceDep) -> Response:
    """Open the account page, or the sign-in page without a session."""
    signed_in = service.dashboard_session(auth.session_token(request)) is not None
    return RedirectResponse("/account" if signed_in else "/signin", status_code=303)


@router.get("/signin")
def signin_form(request: Request) -> Response:
    """Show the sign-in form (API key and secret)."""
    return page(request, "signin.html", {"active": "", "errors": {}, "api_key": "", "venue_pages": False})


@router.post("/signin")
def signin(request: Request, service: ServiceDep, form: FormDep) -> Response:
    """Check the key and secret server-side; answer with a session cookie (the secret goes no further)."""
    key = form.get("api_key", "")
    try:
        if not key:
            raise FieldError("signin", "api_key", "api_key: expected the account's API key, was empty")
        session = service.sign_in_with_key(key, form.get("api_secret", ""))
    except FieldError as exc:
        errors = {exc.key: exc.message}
    except MarginLabError as exc:
        errors = {"signin.api_secret": str(exc)}
    else:
        response = RedirectResponse("/account", status_code=303)
        auth.set_session_cookie(request, response, session, service.clock())
        return response
    context = {"active": "", "errors": errors, "api_key": key, "venue_pages": False}
    return page(request, "signin.html", context, status=400)


LINK_REFUSED = {
    "active": "",
    "venue_pages": False,
    "heading": "This sign-in link does not work",
    "message": "It was already used, has expired (links work once, for 15 minutes) or is "
    "incomplete. Create a new one, or sign in with the API key and secret.",
    "link": "/signin",
    "link_text": "Sign in with the API key",
}


@router.get("/signin/link")
def signin_link(request: Request, service: ServiceDep, token: str = "") -> Response:
    """Ask the browser to confirm a one-time link; the link is not spent by this GET.

    Mail scanners and chat link previews fetch links they see: if the GET spent the link, the trader's own
    click would find it used. The confirmation is a same-origin POST (below), which those fetchers do not
    send.
    """
    account_id = service.sign_in_link_account(token[:200])
    if account_id is None:
        return page(request, "message.html", LINK_REFUSED, status=400)
    context = {"active": "", "venue_pages": False, "account_id": account_id, "token": token[:200]}
    return page(request, "signin_link.html", context)


@router.post("/signin/link")
def redeem_signin_link(request: Request, service: ServiceDep, form: FormDep) -> Response:
    """Spend the one-time link confirmed by the browser, set the session cookie, open the account page.

    A same-origin POST (``form_data`` refuses others), so the 303 to the account page is a same-site
    navigation and carries the new SameSite=Strict cookie.
    """
    try:
        session = service.redeem_sign_in_link(form.get("token", "")[:200])
    except MarginLabError:
        return page(request, "message.html", LINK_REFUSED, status=400)
    response = RedirectResponse("/account", status_code=303)
    auth.set_session_cookie(request, response, session, service.clock())
    return response


@router.post("/signout")
def signout(request: Request, service: ServiceDep, session: SessionDep, form: FormDep) -> Response:
    """End the session on the server and forget the cookie."""
    auth.check_csrf(session, form)
    service.end_dashboard_session(auth.session_token(request))
    response = RedirectResponse("/signin", status_code=303)
    auth.clear_session_cookie(response)
    return response


# ---------------------------------------------------------------------------------------------- pages
@router.get("/account")
def account_page(request: Request, service: ServiceDep, session: SessionDep) -> Response:
    """Show the account: balances, bonus, margin-ratio gauge, funding, liquidations so far."""
    view, snap = account_snapshot(service, session.account_id)
    liquidations = service.income(
        session.account_id, symbol=None, income_type="INSURANCE_CLEAR", start=None, end=None, limit=1000
    )
    context = {
        "active": "account",
        "session": session,
        "view": view,
        "snap": snap,
        "liquidations": liquidations[-20:][::-1],
        "margin_call": MARGIN_CALL_RATIO,
        "liquidation_ratio": LIQUIDATION_RATIO,
    }
    return page(request, "account.html", context)


@router.get("/positions")
def positions_page(request: Request, service: ServiceDep, session: SessionDep, done: str = "") -> Response:
    """Every position with its liquidation price, distance and margin ratio, and the actions."""
    context = positions_context(service, session)
    context["done"] = DONE.get(done)
    return page(request, "positions.html", context)


@router.get("/events")
def events(request: Request, service: ServiceDep, session: SessionDep, once: int = 0) -> Response:
    """Stream the account's snapshot as server-sent events (``once=1``: one snapshot, then end)."""
    stream = event_stream(request, service, auth.session_token(request), session.account_id, once=bool(once))
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


# ---------------------------------------------------------------------------------------------- actions
def _position(service: VenueService, account_id: int, key: str, form: Form) -> PositionView:
    for p in service.account(account_id).positions:
        if p.key == key:
            return p
    raise FieldError(form.id, "position", f"position: {key} is not open (any more)")


@router.post("/positions/margin")
def change_margin(request: Request, service: ServiceDep, session: SessionDep, data: FormDep) -> Response:
    """Add or remove isolated margin (``positionMargin`` type 1 / 2)."""
    form = Form(f"margin-{data.get('position', '')}", data)

    def run() -> None:
        pos = _position(service, session.account_id, form.text("position"), form)
        amount = form.number("amount")
        kind = 2 if data.get("kind") == "remove" else 1
        assert amount is not None  # noqa: S101 - required
        service.modify_margin(session.account_id, pos.symbol, kind, amount, pos.position_side)

    return act(request, service, session, form, "amount", "margin", run)


@router.post("/positions/leverage")
def change_leverage(request: Request, service: ServiceDep, session: SessionDep, data: FormDep) -> Response:
    """Set a symbol's leverage (``/fapi/v1/leverage``)."""
    form = Form(f"leverage-{data.get('position') or data.get('symbol', '')}", data)

    def run() -> None:
        service.set_leverage(session.account_id, form.text("symbol"), form.integer("leverage"))

    return act(request, service, session, form, "leverage", "leverage", run)


@router.post("/positions/mode")
def change_mode(request: Request, service: ServiceDep, session: SessionDep, data: FormDep) -> Response:
    """Switch a symbol between cross and isolated (``/fapi/v1/marginType``)."""
    form = Form(f"mode-{data.get('position') or data.get('symbol', '')}", data)

    def run() -> None:
        raw = form.text("mode")
        modes = {"cross": MarginMode.CROSS, "isolated": MarginMode.ISOLATED}
        if raw not in modes:
            raise FieldError(form.id, "mode", str(InputError("mode", raw, "cross or isolated")))
        service.set_margin_type(session.account_id, form.text("symbol"), modes[raw])

    return act(request, service, session, form, "mode", "mode", run)


def _client_id() -> str:
    return f"web-{secrets.token_hex(8)}"


@router.post("/positions/close")
def close_position(request: Request, service: ServiceDep, session: SessionDep, data: FormDep) -> Response:
    """Close a position at market: a reduce-only MARKET order for its whole size (``/fapi/v1/order``)."""
    form = Form(f"close-{data.get('position', '')}", data)

    def run() -> None:
        pos = _position(service, session.account_id, form.text("position"), form)
        request_ = OrderRequest(
            symbol=pos.symbol,
            side="SELL" if pos.signed_qty > 0 else "BUY",
            type="MARKET",
            client_order_id=_client_id(),
            qty=abs(pos.signed_qty),
            reduce_only=pos.position_side == "BOTH",  # hedge mode: the position side says it
            position_side=pos.position_side,
        )
        service.place_order(session.account_id, request_)

    return act(request, service, session, form, "position", "close", run)


ORDER_TYPES = {"market": "MARKET", "limit": "LIMIT", "stop": "STOP_MARKET"}


@router.post("/orders")
def place_order(request: Request, service: ServiceDep, session: SessionDep, data: FormDep) -> Response:
    """Place the order ticket's order: market, limit or stop-market, reduce-only optional.

    The same ``place_order`` as ``/fapi/v1/order`` (market, limit) and ``/fapi/v1/algoOrder`` (stop).
    """
    form = Form("ticket", data)

    def run() -> None:
        symbol = form.text("symbol")
        side = form.text("side").upper()
        if side not in ("BUY", "SELL"):
            raise FieldError(form.id, "side", str(InputError("side", side, "BUY or SELL")))
        kind = form.text("type")
        if kind not in ORDER_TYPES:
            raise FieldError(form.id, "type", str(InputError("type", kind, "market, limit or stop")))
        quantity = form.number("qty")
        order = OrderRequest(
            symbol=symbol,
            side=side,
            type=ORDER_TYPES[kind],
            client_order_id=_client_id(),
            qty=quantity,
            price=form.number("price") if kind == "limit" else None,
            stop_price=form.number("stop") if kind == "stop" else None,
            working_type="MARK_PRICE" if kind == "stop" else "CONTRACT_PRICE",
            reduce_only=data.get("reduce_only") == "on",
            position_side=data.get("position_side") or "BOTH",
            algo=kind == "stop",
        )
        service.place_order(session.account_id, order)

    return act(request, service, session, form, "qty", "order", run)


@router.post("/orders/cancel")
def cancel_order(request: Request, service: ServiceDep, session: SessionDep, data: FormDep) -> Response:
    """Cancel one open order (``DELETE /fapi/v1/order`` / ``algoOrder``)."""
    form = Form(f"cancel-{data.get('order', '')}", data)

    def run() -> None:
        service.cancel_order(
            session.account_id, form.text("symbol"), form.integer("order"), None, algo=data.get("algo") == "1"
        )

    return act(request, service, session, form, "order", "cancel", run)


# ---------------------------------------------------------------------------------------------- mounting
def install(app: FastAPI) -> None:
    """Add the venue pages to ``app``, with the answers to a missing session and a refused form."""

    @app.exception_handler(auth.SignInRequired)
    async def _sign_in(request: Request, exc: auth.SignInRequired) -> Response:
        if request.url.path == "/events":
            return Response("signed out", status_code=401, media_type="text/plain")
        return RedirectResponse("/signin", status_code=303)

    @app.exception_handler(auth.FormRefused)
    async def _refused(request: Request, exc: auth.FormRefused) -> Response:
        context = {
            "active": "",
            "venue_pages": False,
            "heading": "Form refused",
            "message": "The form was stale or came from another site. Reload the page and try again.",
            "link": "/account",
            "link_text": "Back to the account",
        }
        return page(request, "message.html", context, status=403)

    app.include_router(router)
