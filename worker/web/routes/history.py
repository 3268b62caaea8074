"""History: every version and every event (proposed, signed, approved, rejected, rolled back, superseded,
retired) with who, when, through which channel and the note; each version's YAML to export."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from worker.web.access import access
from worker.web.services import services

ACTIONS = {"rolled_back": "rolled back"}


def show(request: Request) -> Response:
    """GET /connections/{name}/history."""
    found = services(request)
    person = access(request, found.contexts, request.path_params["name"])
    versions = person.context.versions
    events = list(reversed(versions.history()))
    return found.render(request, "history.html", {
        "person": person, "name": person.context.name, "page": "history", "versions": versions.summaries(),
        "events": events, "actions": ACTIONS})


ROUTES = [Route("/connections/{name}/history", show, methods=["GET"])]
