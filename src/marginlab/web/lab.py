"""The lab's pages: what-if (price sliders over a book) and replay & risk (``compare``, ``risk`` from a page).

Both pages work on one book, whoever holds it: ``marginlab dashboard PORTFOLIO`` serves them for a portfolio
file (:func:`create_app`), and the venue's dashboard mounts the same router for the signed-in account's book
(:func:`venue_book`). A book source is a FastAPI dependency returning a :class:`LabBook`.

What-if: the page embeds the book and its first move as JSON; each slider change POSTs the prices to
``/whatif/move`` (debounced in the page), which answers with :func:`marginlab.render.whatif_json` of
:func:`marginlab.app.whatif.move` — the exact engine, well under 100 ms for a 20-position book
(``benchmarks/run.py``, group ``whatif``). A prepared book is cached by its content, so a slider never
re-validates the file. On the venue (:attr:`LabBook.live_url`) the page also listens to the account's live
marks: a price field the user has not touched follows its mark, and the move is recomputed (same debounce).

Replay & risk: the form starts a background job (one worker thread: the machine's cores belong to the
engine, not to concurrent page visits) that reports progress through the use cases' progress callbacks; the
page polls ``/replay/jobs/ID``. A finished compare carries the offline report's own summary table and figure
(:func:`marginlab.app.replay.report_parts`: one chart code path for the page and the HTML report); a
finished risk run carries its figure (:func:`marginlab.app.risk.risk_figure_json`, built beside the replay's).

Bad input is refused with the use case's one-line message, named by the field it is about; the page shows
it next to that field (``error-FIELD``).
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from marginlab import render
from marginlab.app import catalog, replay, whatif
from marginlab.app import risk as risk_case
from marginlab.app.inputs import DEFAULT_SCENARIO, Portfolio, parse_choice, parse_decimal, read_portfolio
from marginlab.app.whatif import Book, BookPosition, PreparedBook, WhatIfRequest
from marginlab.errors import DataError, InputError, MarginLabError
from marginlab.web.assets import static_file, templates

__all__ = ["LabBook", "create_app", "lab_router", "venue_book"]

# the lab pages' scripts are files of the package; Plotly's WebGL traces (the replay figure's Scattergl)
# compile their shaders with Function(), hence 'unsafe-eval' on these pages only
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
SCENARIO_WORDS = (
    ("as-is", "As it is", "each position in the mode it has now"),
    ("cross", "All cross", "every position shares the whole wallet"),
    ("isolated", "All isolated", "each position risks only its own margin"),
)
MODELS = ("gbm", "student-t", "jump", "bootstrap")  # marginlab risk --model (the engine refuses others)
CACHED_BOOKS = 32
MAX_JOBS = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class LabBook:
    """The book a lab page works on, and how the page names it.

    ``book`` is a portfolio file's path (or its parsed document) or a venue account's :class:`Book`;
    ``venue_pages`` says whether the page's menu links the venue's account and positions pages;
    ``live_url`` is the server-sent event stream of the book's live marks (the venue's ``/events``), which
    the what-if page's untouched price fields follow; None for a file, whose marks never move.
    """

    title: str
    book: Book | Path | Mapping[str, Any]
    exchange: str | None = None
    venue_pages: bool = False
    live_url: str | None = None


BookSource = Callable[..., LabBook]


# ---------------------------------------------------------------------------------------------- what-if
class _Books:
    """Prepared books by content: a slider move re-uses the validated book and its three scenarios."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._books: OrderedDict[str, PreparedBook] = OrderedDict()

    def get(self, lab: LabBook) -> PreparedBook:
        source = lab.book
        key = repr((source.document() if isinstance(source, Book) else source, lab.exchange))
        with self._lock:
            if key in self._books:
                self._books.move_to_end(key)
                return self._books[key]
        book = source if isinstance(source, Book) else read_portfolio(source)
        prepared = whatif.prepare(WhatIfRequest(book=book, exchange=lab.exchange))
        with self._lock:
            self._books[key] = prepared
            while len(self._books) > CACHED_BOOKS:
                self._books.popitem(last=False)
        return prepared


class FieldRefusal(Exception):
    """A use case's one-line refusal and the form field it belongs next to (a data error has no field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def field_of(exc: Exception, fields: tuple[str, ...] = ()) -> str:
    """Return the form field a refusal is about: the InputError's field without the CLI's dashes."""
    if isinstance(exc, FieldRefusal):
        return exc.field
    name = exc.field if isinstance(exc, InputError) else "form"
    name = name.lstrip("-").split("/")[0]
    if fields and name not in fields and not name.startswith("prices."):
        return "form"
    return name


def refused(exc: Exception, fields: tuple[str, ...] = ()) -> JSONResponse:
    """Return the one-line refusal as JSON (HTTP 422) with the form field it is about ('form' if none)."""
    return JSONResponse({"field": field_of(exc, fields), "error": str(exc)}, status_code=422)


def _page(request: Request, name: str, lab: LabBook, active: str, context: dict[str, Any]) -> HTMLResponse:
    """Return the lab page ``name``: ``context``, the menu with tab ``active`` selected, the book's title."""
    menu = {"active": active, "venue_pages": lab.venue_pages, "book_title": lab.title}
    response = templates.TemplateResponse(request, name, menu | context)
    response.headers.update(HEADERS)
    return response


def lab_router(source: BookSource) -> APIRouter:
    """Return the what-if and replay & risk routes over the book ``source`` gives (a FastAPI dependency)."""
    router = APIRouter(include_in_schema=False)
    _whatif_routes(router, source)
    _replay_routes(router, source)
    return router


def _whatif_routes(router: APIRouter, source: BookSource) -> None:
    books = _Books()
    # a default, not Annotated[...]: this module's annotations are strings; a local alias would not resolve
    book_of = Depends(source)

    @router.get("/whatif", response_class=HTMLResponse)
    def whatif_page(request: Request, lab: LabBook = book_of) -> Response:
        try:
            book = books.get(lab)
        except MarginLabError as exc:
            message = {"heading": "What-if", "message": str(exc), "link": "", "link_text": ""}
            return _page(request, "message.html", lab, "whatif", message)
        first = whatif.move(book)
        symbols = [
            {"symbol": s, "mark": render.number(book.marks[s]), "tick": f"{book.tick_sizes[s].normalize():f}"}
            for s in book.symbols
        ]
        context = {
            "venue_title": book.venue_title,
            "asset": book.asset,
            "notes": book.notes,
            "symbols": symbols,
            "scenarios": [w for w in SCENARIO_WORDS if w[0] in first.scenarios],
            "initial": {"book": render.whatif_book_json(book), "move": render.whatif_json(first)},
            "move_url": "/whatif/move",
            "live_url": lab.live_url,
        }
        return _page(request, "whatif.html", lab, "whatif", context)

    @router.get("/whatif/book")
    def whatif_book(lab: LabBook = book_of) -> Response:
        try:
            return JSONResponse(render.whatif_book_json(books.get(lab)))
        except MarginLabError as exc:
            return refused(exc)

    @router.post("/whatif/move")
    async def whatif_move(request: Request, lab: LabBook = book_of) -> Response:
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        try:
            book = books.get(lab)
            prices = body.get("prices") or {}
            if not isinstance(prices, dict):
                raise InputError("prices", prices, 'a mapping of symbol to price, e.g. {"BTCUSDT": "95000"}')
            change = whatif.parse_change(body.get("change", "0"))
            report = whatif.move(book, prices, change)
        except MarginLabError as exc:
            return refused(exc, ("change",))
        return JSONResponse(render.whatif_json(report))


async def _json_object(request: Request) -> dict[str, Any] | Response:
    """Return the request's JSON object body, or the 400 answer saying it is not one."""
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"field": "form", "error": "expected a JSON body"}, status_code=400)
    if not isinstance(body, dict):
        return JSONResponse({"field": "form", "error": "expected a JSON object"}, status_code=400)
    return body


def _replay_routes(router: APIRouter, source: BookSource) -> None:
    jobs = _Jobs()
    book_of = Depends(source)

    @router.get("/replay", response_class=HTMLResponse)
    def replay_page(request: Request, lab: LabBook = book_of) -> Response:
        context = {
            "scenarios": [s.name for s in catalog.scenarios()],
            "default_scenario": replay_default_scenario(),
            "models": MODELS,
        }
        return _page(request, "replay.html", lab, "replay", context)

    @router.post("/replay/jobs")
    async def start_job(request: Request, lab: LabBook = book_of) -> Response:
        form = await _json_object(request)
        if isinstance(form, Response):
            return form
        try:
            kind = parse_choice("kind", form.get("kind"), JobKind)
            portfolio = _portfolio(lab)
            task = (
                _compare_task(portfolio, form, lab)
                if kind is JobKind.COMPARE
                else _risk_task(portfolio, form)
            )
        except MarginLabError as exc:
            return refused(exc, COMPARE_FIELDS + RISK_FIELDS)
        return JSONResponse({"id": jobs.start(kind.value, task)}, status_code=202)

    @router.get("/replay/jobs/{job_id}")
    def job_state(job_id: str, lab: LabBook = book_of) -> Response:
        job = jobs.get(job_id)
        if job is None:
            return JSONResponse(
                {"field": "form", "error": f"no job {job_id} (finished jobs are kept briefly)"}, 404
            )
        return JSONResponse(job.state())


def replay_default_scenario() -> str:
    """Return the scenario the form selects first: the latest bundled one."""
    return DEFAULT_SCENARIO


# ---------------------------------------------------------------------------------------------- jobs
class JobKind(StrEnum):
    """What a replay & risk job runs."""

    COMPARE = "compare"
    RISK = "risk"


COMPARE_FIELDS = ("scenario", "datadir", "modes", "engine", "start", "end", "timeframe")
RISK_FIELDS = ("horizon", "paths", "model", "regime", "seed", "vol")
Progress = Callable[[int, int | None, str], None]
Task = Callable[[Progress], dict[str, Any]]


@dataclass(slots=True)
class _Job:
    """A background run: its progress as the use case reports it, then its result or its refusal."""

    kind: str
    done: int = 0
    total: int | None = None
    what: str = "waiting for the worker"
    status: str = "running"
    result: dict[str, Any] | None = None
    error: str | None = None
    error_field: str = "form"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def progress(self, done: int, total: int | None, what: str) -> None:
        with self.lock:
            self.done, self.total, self.what = done, total, what

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "kind": self.kind,
                "status": self.status,
                "done": self.done,
                "total": self.total,
                "what": self.what,
                "result": self.result,
                "error": self.error,
                "field": self.error_field,
            }


class _Jobs:
    """The replay & risk jobs of one router: one worker thread, the last :data:`MAX_JOBS` kept."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="marginlab-lab")
        self._jobs: OrderedDict[str, _Job] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, kind: str, task: Task) -> str:
        job_id = uuid.uuid4().hex
        job = _Job(kind=kind)
        with self._lock:
            self._jobs[job_id] = job
            while len(self._jobs) > MAX_JOBS:
                self._jobs.popitem(last=False)
        self._pool.submit(self._run, job, task)
        return job_id

    def get(self, job_id: str) -> _Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    @staticmethod
    def _run(job: _Job, task: Task) -> None:
        try:
            result = task(job.progress)
        except (MarginLabError, FieldRefusal) as exc:
            with job.lock:
                job.status, job.error = "failed", str(exc)
                job.error_field = field_of(exc, COMPARE_FIELDS + RISK_FIELDS)
            return
        except Exception as exc:  # a page must learn that its job died, whatever killed it
            with job.lock:
                job.status, job.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
            return
        with job.lock:
            job.status, job.result = "done", result


def _portfolio(lab: LabBook) -> Portfolio:
    source = lab.book
    return read_portfolio(source.document() if isinstance(source, Book) else source)


def _text(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(name, value, "text")
    return value.strip() or None


def _whole(form: Mapping[str, Any], name: str, default: int) -> int:
    """Return a whole-number field (the engine checks its range), or raise InputError naming it."""
    text = _text(form, name)
    if text is None:
        return default
    number = parse_decimal(name, text)
    if number != number.to_integral_value() or abs(number) > Decimal(2**63):
        raise InputError(name, text, "a whole number")
    return int(number)


def _compare_task(portfolio: Portfolio, form: Mapping[str, Any], lab: LabBook) -> Task:
    """Validate the compare form now (one line per bad field) and return the run."""
    datadir = _text(form, "datadir")
    scenario = None if datadir else _text(form, "scenario")
    modes = form.get("modes") or ["cross", "isolated", "hybrid"]
    if not isinstance(modes, list) or not all(isinstance(m, str) for m in modes) or not modes:
        raise InputError("modes", modes, "one or more of cross, isolated, hybrid")
    request = replay.ReplayRequest(
        portfolio=portfolio,
        scenario=scenario,
        datadir=Path(datadir) if datadir else None,
        exchange=lab.exchange,
        modes=",".join(modes),
        engine=_text(form, "engine") or "fast",
        open_at_start=bool(form.get("open_at_start")),
    )

    def run(progress: Progress) -> dict[str, Any]:
        try:
            report = replay.replay(request, progress=progress)
        except DataError as exc:  # the data named by a field cannot be read: the message goes next to it
            raise FieldRefusal("datadir" if datadir else "scenario", str(exc)) from exc
        parts = replay.report_parts(report)
        return {
            "title": f"{report.venue_title}: {lab.title} on {report.data_name}",
            "summary_html": parts.summary_html,
            "figure": parts.figure_json,
        }

    return run


def _risk_task(portfolio: Portfolio, form: Mapping[str, Any]) -> Task:
    """Validate the risk form now and return the run (a small number of paths by default: a page waits)."""
    request = risk_case.RiskRequest(
        portfolio=portfolio,
        horizon=_text(form, "horizon") or "1d",
        paths=_whole(form, "paths", 20_000),
        seed=_whole(form, "seed", 0),
        model=_text(form, "model") or "gbm",
        regime=_text(form, "regime") or "normal",
        vol=_text(form, "vol"),
    )
    risk_case.parse_horizon(request.horizon)  # refused now, next to its field, not after the queue

    def run(progress: Progress) -> dict[str, Any]:
        result = risk_case.risk(request, progress=progress)
        return {
            "title": f"Monte Carlo risk, {request.paths:,} paths",
            "risk": render.risk_json(result.report),
            "figure": risk_case.risk_figure_json(result.report),
        }

    return run


# ---------------------------------------------------------------------------------------------- books
def portfolio_book(path: Path, *, exchange: str | None = None) -> BookSource:
    """Return a book source serving one portfolio file (``marginlab dashboard``)."""
    lab = LabBook(title=path.name, book=path, exchange=exchange)

    def source() -> LabBook:
        return lab

    return source


def book_of_view(view: Any) -> Book:
    """Return the what-if :class:`Book` of a venue :class:`~marginlab.venue.views.AccountView`.

    The cross wallet is the account's (bonus included: it backs positions like own funds); each position
    keeps its mark, leverage, mode and isolated margin, so the as-is scenario is the account exactly.
    """
    positions = [
        BookPosition(
            symbol=p.symbol,
            side="long" if p.signed_qty > 0 else "short",
            qty=abs(p.signed_qty),
            entry=p.entry,
            mark=p.mark,
            leverage=p.leverage,
            mode=str(p.margin_mode),
            margin=p.isolated_wallet if str(p.margin_mode) == "isolated" else None,
        )
        for p in view.positions
    ]
    return Book(
        balances={"USDT": view.cross_wallet},
        positions=positions,
        exchange="binance",
        position_mode=str(view.position_mode),
    )


def venue_book(request: Request) -> LabBook:
    """Book source of the venue's dashboard: the signed-in account's book (sign-in required)."""
    from marginlab.web.auth import current_session, get_service
    from marginlab.web.live import account_snapshot

    service = get_service(request)
    session = current_session(request, service)
    view, _ = account_snapshot(service, session.account_id)
    return LabBook(
        title=f"Account {session.account_id}", book=book_of_view(view), venue_pages=True, live_url="/events"
    )


# ---------------------------------------------------------------------------------------------- the app
def create_app(path: Path, *, exchange: str | None = None) -> FastAPI:
    """Return the standalone lab app of ``marginlab dashboard PORTFOLIO``: what-if and replay & risk pages.

    The book is validated first (one-line :class:`MarginLabError` naming the field), so a bad file never
    starts a server.
    """
    source = portfolio_book(path, exchange=exchange)
    whatif.prepare(WhatIfRequest(book=read_portfolio(path), exchange=exchange))
    app = FastAPI(title="marginlab dashboard", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse("/whatif", status_code=303)

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        return static_file(name)

    app.include_router(lab_router(source))
    return app
