"""Templates, static files and the mounting of the dashboard into an app.

Static URLs carry a content hash (``/static/marginlab.css?v=1a2b3c4d``), so a browser may cache them for
long and still never runs an old script after an upgrade. Plotly's bundle is served from the plotly wheel
itself (``plotly/package_data/plotly.min.js``): no copy in the repository, no CDN.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from marginlab.web import formats

PACKAGE = resources.files("marginlab.web")
STATIC = Path(str(PACKAGE / "static"))
TEMPLATES = Path(str(PACKAGE / "templates"))
CACHE = "public, max-age=31536000, immutable"
MEDIA = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml", ".png": "image/png"}


def plotly_bundle() -> Path:
    """Return the path of Plotly's minified bundle inside the installed plotly wheel."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


@cache
def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def static_url(name: str) -> str:
    """Return the content-hashed URL of a static file (``plotly.min.js`` or a file of ``web/static``)."""
    path = plotly_bundle() if name == "plotly.min.js" else STATIC / name
    return f"/static/{name}?v={_digest(path)}"


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    env = templates.env
    env.globals["static_url"] = static_url
    env.filters.update(formats.FILTERS)
    return templates


templates = _templates()


def static_file(name: str) -> Response:
    """Serve one static file by name; only the package's own files (no path traversal), else 404."""
    if name == "plotly.min.js":
        path = plotly_bundle()
    else:
        path = STATIC / name
        if "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
            raise StarletteHTTPException(404)
    media = MEDIA.get(path.suffix, "application/octet-stream")
    return FileResponse(path, media_type=media, headers={"Cache-Control": CACHE})


def install(app: FastAPI) -> None:
    """Add the dashboard's static route, error pages and the venue pages to ``app`` (after the API).

    The lab's what-if and replay & risk pages come along, on the signed-in account's book.
    """
    from marginlab.web import lab, pages

    @app.get("/static/{name}", include_in_schema=False)
    def _static(name: str, request: Request) -> Response:
        return static_file(name)

    pages.install(app)
    app.include_router(lab.lab_router(lab.venue_book))
