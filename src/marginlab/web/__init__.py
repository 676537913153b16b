"""The dashboard: server-rendered pages over the venue's service layer (and the lab's use cases).

``install(app)`` adds the pages and their static files to a FastAPI app (the venue's, or the standalone
what-if app of ``marginlab dashboard``). Pages are Jinja2 templates with a little vanilla JavaScript: no
CDN, no build step, every script and style served by the package (Plotly's bundle from the plotly wheel).
The web layer never computes margin itself: every number and every action goes through
:class:`marginlab.venue.service.VenueService` (the same calls as the REST API) or :mod:`marginlab.app`.
"""

from __future__ import annotations

from marginlab.web.assets import install

__all__ = ["install"]
