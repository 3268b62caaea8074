"""Home: the version in force and its age against the review cadence, measurement by tier over time,
and the decisions waiting for the signed-in person."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from worker.report import ReportSettings, status_data
from worker.report.render import charts
from worker.web.access import access, readable
from worker.web.decisions import waiting
from worker.web.services import services


def index(request: Request) -> Response:
    """GET /: the one connection the person may read, or the list of them."""
    found = services(request)
    mine = readable(request, found.contexts)
    if len(mine) == 1:
        return RedirectResponse(f"/connections/{mine[0].name}", 303)
    status = 200 if mine else 403
    return found.render(request, "index.html", {"readable": [c.name for c in mine]}, status)


def connection_home(request: Request) -> Response:
    """GET /connections/{name}."""
    found = services(request)
    person = access(request, found.contexts, request.path_params["name"])
    context = person.context
    data = status_data(found.engine, context.name, ReportSettings(cadence_days=context.config.review.cadence_days),
                       found.clock())
    latest = data["measurements"][-1] if data["measurements"] else None
    return found.render(request, "home.html", {
        "person": person, "name": context.name, "d": data, "latest": latest, "charts": charts(data),
        "waiting": waiting(person), "page": "home"})


ROUTES = [Route("/", index, methods=["GET"]), Route("/connections/{name}", connection_home, methods=["GET"])]
