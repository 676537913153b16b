"""The app factory ``create_app(settings, *, engine=None, clock=None)``, used by ``venue serve`` and tests.

No module-level app or engine: each call builds its own service on the given (or a new) engine, after
upgrading the schema.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from marginlab.api import admin, errors, private, public
from marginlab.api.signing import RateLimiter
from marginlab.venue.database import WalCheckpointer, make_engine, upgrade_schema
from marginlab.venue.service import Clock, VenueService
from marginlab.venue.settings import VenueSettings
from marginlab.web import install as install_dashboard


class SizeLimit:
    """Refuse query strings and bodies above the configured sizes (414 / 413, Binance-style JSON)."""

    def __init__(self, app: ASGIApp, *, max_query: int, max_body: int) -> None:
        self.app = app
        self.max_query = max_query
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the sizes, then pass the request on (the body is counted as it streams in)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > self.max_query:
            await self._refuse(send, 414, "query string too long")
            return
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await self._refuse(send, 413, "request body too large")
            return
        seen = 0
        limit = self.max_body

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise ValueError("request body too large")
            return message

        await self.app(scope, counted, send)

    @staticmethod
    async def _refuse(send: Send, status: int, why: str) -> None:
        body = ('{"code":-1130,"msg":"Invalid data sent for a parameter. (' + why + ')"}').encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def create_app(
    settings: VenueSettings, *, engine: Engine | None = None, clock: Clock | None = None
) -> FastAPI:
    """Build the venue's FastAPI app on ``engine`` (default: one for ``settings.db_url``), schema upgraded.

    The app serves the REST API (``/fapi``, ``/admin``, ``/docs``) and the dashboard's pages (``/``).

    Parameters
    ----------
    settings : VenueSettings
        The venue's settings (admin token, limits, spread, bonus rule, …).
    engine : sqlalchemy.Engine, optional
        Database engine; tests pass their own (SQLite then checkpoints its WAL on commit, as usual). The
        app's own engine leaves that to a :class:`WalCheckpointer` started by the app's lifespan, which
        uvicorn runs by default.
    clock : callable returning ms, optional
        Injected time for tests; the wall clock by default.
    """
    own_engine = engine is None  # the server's own: SQLite's WAL is checkpointed in the background
    if engine is None:
        engine = make_engine(settings.db_url, background_checkpoints=True)
    upgrade_schema(engine)
    service = VenueService(engine, settings, clock=clock)
    checkpointer = WalCheckpointer(engine, writers=service.write_lock) if own_engine else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if checkpointer is not None:
            checkpointer.start()
        try:
            yield
        finally:
            if checkpointer is not None:
                checkpointer.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="marginlab paper venue",
        version="1",
        description="Binance USDⓈ-M REST subset over marginlab's exact margin engine (paper trading).",
    )
    app.state.service = service
    # the rate limit's one-minute windows follow the service's clock when one is injected (tests): a test's
    # requests then fall in one window however slowly the machine runs them
    app.state.rate_limiter = (
        RateLimiter(settings.rate_limit_per_minute)
        if clock is None
        else RateLimiter(settings.rate_limit_per_minute, clock=lambda: clock() / 1000)
    )
    app.state.admin_token = settings.admin_token
    errors.install(app)
    app.include_router(public.router)
    app.include_router(private.router)
    app.include_router(admin.router)
    install_dashboard(app)  # the dashboard's pages at /, after the API (its paths never shadow /fapi)
    app.add_middleware(SizeLimit, max_query=settings.max_query_bytes, max_body=settings.max_body_bytes)
    return app
