"""What the account and positions pages show, as formatted text: rendered once, then streamed live.

One function (:func:`snapshot`) turns the venue's :class:`AccountView` into the strings the page shows, so
the first render and every server-sent update print the same numbers the same way. Updates are sent only
when some text changed; the browser swaps the texts in place and reloads the page only when a position
appears or disappears (a fill, a close, a liquidation).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from marginlab.render import number
from marginlab.venue.service import VenueService
from marginlab.venue.views import LIQUIDATION_RATIO, MARGIN_CALL_RATIO, AccountView, PositionView
from marginlab.venue.vocabulary import MarginMode
from marginlab.web.formats import leverage, money, percent, price, qty, signed_money

POLL_SECONDS = 0.4  # the venue has no push channel: the stream asks 2.5 times a second what changed
KEEP_ALIVE_POLLS = 25  # a comment line every ~10 s keeps proxies from closing a quiet stream
REFRESH_POLLS = 25  # and the account is re-read every ~10 s even when nothing says it changed


def level(ratio: Decimal | None) -> str:
    """Return ``ok``, ``warn`` (from the margin-call ratio) or ``bad`` (at liquidation, or no equity)."""
    if ratio is None or ratio >= LIQUIDATION_RATIO:
        return "bad"
    return "warn" if ratio >= MARGIN_CALL_RATIO else "ok"


def gauge_width(ratio: Decimal | None) -> str:
    """Return the gauge's fill as a CSS width (the gauge spans 0-100 %; beyond 100 % it is full)."""
    if ratio is None:
        return "100%"
    return f"{min(Decimal(100), max(Decimal(0), ratio * 100)).quantize(Decimal('0.1'))}%"


def position_fields(p: PositionView) -> dict[str, str]:
    """Return the live texts of one position row."""
    # the tables name the unit (USDT) in their column headers, so the cells hold the numbers alone
    return {
        "p_size": qty(abs(p.signed_qty)),
        "p_entry": price(p.entry, ""),
        "p_mark": price(p.mark, ""),
        "p_upnl": signed_money(p.unrealized_pnl, ""),
        "p_liq": price(p.liquidation_price, "", step=p.tick_size),
        "p_distance": percent(p.distance),
        "p_ratio": percent(p.margin_ratio),
        "p_margin": money(
            p.isolated_wallet if p.margin_mode is MarginMode.ISOLATED else p.initial_margin, ""
        ),
        "p_stake": money(p.at_stake, ""),
        "p_removable": money(p.max_removable),
        "p_leverage": leverage(p.leverage),
    }


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The account as the pages print it.

    ``marks`` are the held symbols' marks as exact decimal strings (:func:`marginlab.render.number`, the
    what-if page's own price format): the what-if page's untouched price fields follow them.
    """

    fields: dict[str, str]
    gauge: dict[str, str]
    positions: dict[str, dict[str, Any]]
    keys: str
    marks: dict[str, str]

    def as_json(self) -> str:
        """Return the snapshot as the JSON of one server-sent event."""
        return json.dumps(
            {
                "fields": self.fields,
                "gauge": self.gauge,
                "positions": self.positions,
                "keys": self.keys,
                "marks": self.marks,
            },
            sort_keys=True,
        )


def snapshot(view: AccountView, funding: tuple[Decimal, Decimal]) -> Snapshot:
    """Return the printed account: balances, the gauge, and every position's live texts."""
    paid, received = funding
    fields = {
        "equity": money(view.margin_balance),
        "wallet": money(view.wallet_balance),
        "own": money(view.own_balance),
        "bonus_left": money(view.bonus_left),
        "bonus_granted": money(view.bonus_granted),
        "available": money(view.available),
        "upnl": signed_money(view.unrealized_pnl),
        "ratio": percent(view.margin_ratio),
        "maint": money(view.maint_margin),
        "funding_paid": money(paid),
        "funding_received": money(received),
        "liquidations": str(view.liquidations),
        "positions_count": str(len(view.positions)),
    }
    positions = {
        p.key: {
            "fields": position_fields(p),
            "level": level(p.margin_ratio),
            "upnl_sign": "loss" if p.unrealized_pnl < 0 else "gain",
        }
        for p in view.positions
    }
    gauge = {"width": gauge_width(view.margin_ratio), "level": level(view.margin_ratio)}
    marks = {p.symbol: number(p.mark) or "0" for p in view.positions}
    return Snapshot(fields, gauge, positions, ",".join(sorted(positions)), marks)


def account_snapshot(service: VenueService, account_id: int) -> tuple[AccountView, Snapshot]:
    """Read the account once and return its view and its printed snapshot."""
    view = service.account(account_id)
    return view, snapshot(view, service.funding_totals(account_id))


async def event_stream(
    request: Request, service: VenueService, token: str, account_id: int, *, once: bool = False
) -> AsyncIterator[str]:
    """Yield server-sent events: the snapshot whenever it changed, until the browser leaves or signs out.

    The session is checked on every poll, so signing out (here or in another tab) ends the stream at once.
    """
    yield "retry: 2000\n\n"
    last = ""
    version: tuple[int, int, int] | None = None
    quiet = stale = 0
    while True:
        if await run_in_threadpool(service.dashboard_session, token) is None:
            yield "event: signedout\ndata: {}\n\n"
            return
        now = await run_in_threadpool(service.live_version, account_id)
        if now != version or stale >= REFRESH_POLLS:
            version, stale = now, 0
            _, snap = await run_in_threadpool(account_snapshot, service, account_id)
            text = snap.as_json()
        else:
            stale += 1
            text = last
        if text != last:
            yield f"data: {text}\n\n"
            last, quiet = text, 0
        else:
            quiet += 1
            if quiet >= KEEP_ALIVE_POLLS:
                yield ": keep-alive\n\n"
                quiet = 0
        if once or await request.is_disconnected():
            return
        await asyncio.sleep(POLL_SECONDS)
