"""Who is signed in: the session cookie, the CSRF token of forms, and the same-origin check of POSTs.

The browser holds only a random session token in an HttpOnly, SameSite=Strict cookie; the database holds
its SHA-256 (:meth:`VenueService.dashboard_session`). The API secret never reaches a page: signing in with
the key and secret checks them server-side and answers with a session cookie, nothing else. Every POST form
carries the session's CSRF token (checked in constant time) on top of SameSite=Strict, and a POST whose
``Origin`` or ``Sec-Fetch-Site`` says it comes from another site is refused before anything else.
"""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from fastapi.responses import Response

from marginlab.venue.service import DashboardSession, VenueService

COOKIE = "marginlab_session"
MAX_FORM_BYTES = 8_192


class SignInRequired(Exception):
    """No live session: the browser is sent to the sign-in page."""


class FormRefused(Exception):
    """A POST without the session's CSRF token, or from another site."""


def get_service(request: Request) -> VenueService:
    """Return the venue's service (the app's, as for the REST API)."""
    service: VenueService = request.app.state.service
    return service


ServiceDep = Annotated[VenueService, Depends(get_service)]


def session_token(request: Request) -> str:
    """Return the session token of the request's cookie ('' without one)."""
    return request.cookies.get(COOKIE, "")


def current_session(request: Request, service: ServiceDep) -> DashboardSession:
    """Return the request's live session; raise :class:`SignInRequired` without one."""
    session = service.dashboard_session(session_token(request))
    if session is None:
        raise SignInRequired
    return session


SessionDep = Annotated[DashboardSession, Depends(current_session)]


def same_origin(request: Request) -> bool:
    """Return whether a POST comes from this site (by ``Sec-Fetch-Site`` and ``Origin``, when sent)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


async def form_data(request: Request) -> dict[str, str]:
    """Return the fields of an url-encoded POST body (bounded), after the same-origin check.

    Parsed here rather than with FastAPI's ``Form`` so the dashboard needs no multipart dependency.
    """
    if not same_origin(request):
        raise FormRefused
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise FormRefused
    return {k: v.strip() for k, v in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)}


FormDep = Annotated[dict[str, str], Depends(form_data)]


def check_csrf(session: DashboardSession, form: dict[str, str]) -> None:
    """Refuse a form whose CSRF token is not the session's."""
    if not hmac.compare_digest(session.csrf.encode(), form.get("csrf", "").encode()):
        raise FormRefused


def set_session_cookie(request: Request, response: Response, session: DashboardSession, now_ms: int) -> None:
    """Put the new session's token in an HttpOnly, SameSite=Strict cookie (Secure over https)."""
    response.set_cookie(
        COOKIE,
        session.token,
        max_age=max(1, (session.expires_ms - now_ms) // 1000),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(response: Response) -> None:
    """Tell the browser to forget the session cookie."""
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
