"""HMAC-SHA256 request signing, as Binance and ccxt do it, as a FastAPI dependency.

``signature = hex(HMAC-SHA256(secret, totalParams))`` where ``totalParams`` is the raw query string followed
by the raw body, each without its ``signature`` parameter: verified on the bytes received (never on a
re-encoded dict) and compared in constant time. Checks in Binance's order: key header (-2014), known key
(-2015), ``timestamp``/``signature`` present (-1102), signature (-1022), then the time window (-1021):
``serverTime − recvWindow ≤ timestamp < serverTime + 1000``, ``recvWindow`` 5000 by default, at most 60000.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from marginlab.venue.errors import VenueError, missing
from marginlab.venue.service import VenueService

MAX_RECV_WINDOW = 60_000
DEFAULT_RECV_WINDOW = 5_000


def sign(secret: str, payload: bytes) -> str:
    """Return the lowercase hex HMAC-SHA256 of ``payload`` under ``secret``."""
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def split_signature(raw: bytes) -> tuple[bytes, str | None]:
    """Return (``raw`` without its ``signature=`` parameter, the signature or None), bytes as received."""
    kept: list[bytes] = []
    signature: str | None = None
    for part in raw.split(b"&") if raw else []:
        if part.startswith(b"signature="):
            signature = part[len(b"signature=") :].decode("latin-1")
        else:
            kept.append(part)
    return b"&".join(kept), signature


class RateLimiter:
    """A fixed one-minute window per API key; thread-safe."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._windows: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count a request; return None if allowed, else the seconds until the window resets."""
        now = self.clock()
        window = int(now // 60)
        with self._lock:
            start, count = self._windows.get(key, (window, 0))
            if start != window:
                start, count = window, 0
            if count >= self.per_minute:
                return (window + 1) * 60 - now
            self._windows[key] = (start, count + 1)
            return None


class RateLimited(VenueError):
    """-1003 with the seconds to wait (``Retry-After``)."""

    def __init__(self, limit: int, retry_after: float) -> None:
        super().__init__(-1003, limit=limit)
        self.retry_after = max(1, int(retry_after + 0.999))


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated request: the account and its parameters (query then body)."""

    account_id: int
    params: dict[str, str]

    def text(self, name: str) -> str:
        """Return a mandatory parameter (-1102 if absent or empty)."""
        value = self.params.get(name)
        if not value:
            raise missing(name)
        return value

    def optional(self, name: str) -> str | None:
        """Return an optional parameter (None if absent or empty)."""
        return self._given(name, required=False)

    def _given(self, name: str, required: bool) -> str | None:
        """Return a parameter's text, None if absent or empty (-1102 if also required)."""
        raw = self.params.get(name)
        if not raw and required:
            raise missing(name)
        return raw or None

    def decimal(self, name: str, *, required: bool = True) -> Decimal | None:
        """Return a decimal parameter (-1102 if malformed, or absent and required)."""
        raw = self._given(name, required)
        if raw is None:
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise missing(name) from None
        if not value.is_finite():
            raise missing(name)
        return value

    def integer(self, name: str, *, required: bool = True) -> int | None:
        """Return an integer parameter (-1102 if malformed, or absent and required)."""
        raw = self._given(name, required)
        if raw is None:
            return None
        if not raw.lstrip("-").isdigit() or len(raw) > 19:
            raise missing(name)
        return int(raw)

    def flag(self, name: str) -> bool:
        """Return a boolean parameter (``true``/``false``; absent is false)."""
        raw = (self.params.get(name) or "false").lower()
        if raw not in ("true", "false"):
            raise missing(name)
        return raw == "true"


async def signed(request: Request) -> Caller:
    """Authenticate a signed request (a FastAPI dependency of every signed route)."""
    service: VenueService = request.app.state.service
    limiter: RateLimiter = request.app.state.rate_limiter
    api_key = request.headers.get("X-MBX-APIKEY")
    if not api_key:
        raise VenueError(-2014)
    credentials = service.known_credentials(api_key)  # in memory: no thread hop, no database
    if credentials is None:
        credentials = await run_in_threadpool(service.credentials, api_key)
    if credentials is None:
        raise VenueError(-2015)
    account_id, secret = credentials
    retry = limiter.hit(api_key)
    if retry is not None:
        raise RateLimited(limiter.per_minute, retry)
    query, query_sig = split_signature(request.scope.get("query_string", b""))
    body_raw = await request.body()
    body, body_sig = split_signature(body_raw)
    params = dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True))
    params.update(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    signature = query_sig or body_sig
    if not params.get("timestamp") or not params["timestamp"].isdigit():
        raise missing("timestamp")
    if not signature:
        raise missing("signature")
    expected = sign(secret, query + body)
    if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
        raise VenueError(-1022)
    window_raw = params.get("recvWindow") or str(DEFAULT_RECV_WINDOW)
    if not window_raw.isdigit() or not (0 < int(window_raw) <= MAX_RECV_WINDOW):
        raise VenueError(-1130, f"recvWindow must be an integer in 1..{MAX_RECV_WINDOW}")
    now = service.clock()
    timestamp = int(params["timestamp"])
    if not (now - int(window_raw) <= timestamp < now + 1000):
        raise VenueError(-1021)
    return Caller(account_id=account_id, params=params)


SignedDep = Annotated[Caller, Depends(signed)]
