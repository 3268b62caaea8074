"""Drift and measurement: what ``icp report`` shows, inside the pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from worker.report import ReportSettings, render_report, status_data
from worker.web.access import access
from worker.web.embed import body_of
from worker.web.services import services


def show(request: Request) -> Response:
    """GET /connections/{name}/drift."""
    found = services(request)
    person = access(request, found.contexts, request.path_params["name"])
    context = person.context
    data = status_data(found.engine, context.name, ReportSettings(cadence_days=context.config.review.cadence_days),
                       found.clock())
    return found.render(request, "drift.html", {"person": person, "name": context.name, "page": "drift",
                                                "report": body_of(render_report(data, "html"))})


ROUTES = [Route("/connections/{name}/drift", show, methods=["GET"])]
