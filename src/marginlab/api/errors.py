"""The one place where errors become HTTP answers ``{"code": <negative int>, "msg": "…"}``; no tracebacks.

=================================  ======  ==========================================================
exception                          HTTP    Binance code
=================================  ======  ==========================================================
VenueError -2014 / -2015           401     as raised (key missing / unknown)
VenueError -1003                   429     rate limit, with ``Retry-After``
VenueError -1020                   404     unknown path or method
other VenueError                   400     as raised
engine ``InsufficientMargin``      400     -2019 Margin is insufficient.
engine ``OperationRejected``       400     by rule: ``*.max_leverage`` -2027, ``*.mode_switch`` -4048,
                                           ``position.exists`` -2022, other rules -1130
engine ``RuleSetError``            400     -1121 Invalid symbol. (-2027 beyond the last tier)
engine ``InputError``              400     -1130 Invalid data sent for a parameter.
request validation                 400     -1102 Mandatory parameter … malformed.
body or query too large            413     -1130
anything else                      500     -1000 (logged server-side without parameters or secrets)
=================================  ======  ==========================================================
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from marginlab.errors import InputError, InsufficientMargin, MarginLabError, OperationRejected, RuleSetError
from marginlab.venue.errors import VenueError

log = logging.getLogger("marginlab.api")

STATUS = {-2014: 401, -2015: 401, -1003: 429, -1020: 404}


def answer(status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """Return Binance's error body."""
    return JSONResponse({"code": code, "msg": msg}, status_code=status, headers=headers)


def venue_error(exc: MarginLabError) -> VenueError:
    """Return the Binance error of any marginlab error (engine rules mapped to Binance codes)."""
    if isinstance(exc, VenueError):
        return exc
    if isinstance(exc, InsufficientMargin):
        return VenueError(-2019, str(exc))
    if isinstance(exc, OperationRejected):
        if exc.rule.endswith("max_leverage"):
            return VenueError(-2027, str(exc))
        if exc.rule.endswith("mode_switch"):
            return VenueError(-4048)
        if exc.rule == "position.exists":
            return VenueError(-2022, str(exc))
        return VenueError(-1130, str(exc))
    if isinstance(exc, RuleSetError):
        return VenueError(-2027 if "tier cap" in str(exc) else -1121)
    if isinstance(exc, InputError):
        return VenueError(-1130, str(exc))
    return VenueError(-1130, str(exc))


def install(app: FastAPI) -> None:
    """Register the exception handlers on ``app``."""

    @app.exception_handler(MarginLabError)
    async def _marginlab(request: Request, exc: MarginLabError) -> JSONResponse:
        err = venue_error(exc)
        headers = {"Retry-After": str(getattr(exc, "retry_after", 1))} if err.code == -1003 else None
        return answer(STATUS.get(err.code, 400), err.code, err.msg, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        param = str(errors[0]["loc"][-1]) if errors and errors[0].get("loc") else "?"
        return answer(400, -1102, VenueError(-1102, param=param).msg)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code in (404, 405):
            return answer(404, -1020, VenueError(-1020).msg)
        return answer(exc.status_code, -1000, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # the path only: query strings and bodies carry signatures
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return answer(500, -1000, "An unknown error occured while processing the request.")
