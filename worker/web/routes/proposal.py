"""A proposal: executive summary first, then the sign-off and decision, the diff against the version in force,
the stop gates, the impact (searchable) and the brief; approve or reject with a required note."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from worker.govern.approval import approve_version
from worker.govern.briefs import read_brief, read_fragment, read_summary
from worker.score.scorecard.diff import diff_scorecards
from worker.score.signoff import WEB, Actor
from worker.score.versions import APPROVED, GovernanceError, VersionInfo
from worker.web import csrf
from worker.web.access import Access, access
from worker.web.decisions import signoff_view, your_part
from worker.web.embed import body_of
from worker.web.impact_view import impact_page
from worker.web.services import services

MAX_NOTE = 4000
FLASH = "flash"


def _version(person: Access, number: int) -> VersionInfo:
    try:
        return person.context.versions.get(number)
    except GovernanceError:
        raise HTTPException(404, f"version {number} does not exist for connection {person.context.name!r}") from None


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and len(raw) < 7 else 1


def _stop_gates(evidence: dict[str, Any]) -> dict[str, list[str]]:
    found = evidence.get("readiness")
    readiness: dict[str, Any] = found if isinstance(found, dict) else {}
    return {"stops": [str(s) for s in readiness.get("stop_reasons") or []],
            "warnings": [str(w) for w in readiness.get("warnings") or []]}


def _summary(engine: Any, connection: str, label: str) -> dict[str, Any] | None:
    """The stored executive summary as a headline and titled lists (None for versions without an analysis)."""
    stored = read_summary(engine, connection, label)
    if stored is None:
        return None
    sections: list[tuple[str, list[str]]] = []
    for line in stored.text.splitlines()[1:]:
        if line.endswith(":") and not line.startswith("- "):
            sections.append((line[:-1], []))
        elif line.startswith("- ") and sections:
            sections[-1][1].append(line[2:])
        elif line == "…" and sections:
            sections[-1][1].append(line)
    return {"headline": stored.headline, "sections": sections}


def _values(request: Request, person: Access, info: VersionInfo) -> dict[str, Any]:
    found = services(request)
    context = person.context
    current = context.versions.in_force()
    view = signoff_view(person, info.version, info.status)
    return {
        "person": person, "name": context.name, "v": info, "page": "proposal",
        "in_force": current, "diff": diff_scorecards(current.scorecard, info.scorecard)
        if current and current.version != info.version else None,
        "signoff": view, "yours": your_part(person, view) if info.status in ("proposed", "retired") else None,
        "risks": info.risks(), "gates": _stop_gates(info.evidence),
        "tier_impact": info.evidence.get("tier_impact"), "impact": impact_page(
            found.engine, context.name, info.version, request.query_params.get("q", ""), _page_number(request)),
        "summary": _summary(found.engine, context.name, info.label),
        "brief": read_fragment(found.engine, context.name, info.label)
        or body_of(read_brief(found.engine, context.name, info.label, "html")),
        "flash": request.session.pop(FLASH, None), "error": None, "note": "",
    }


def show(request: Request) -> Response:
    """GET /connections/{name}/versions/{version}."""
    person = access(request, services(request).contexts, request.path_params["name"])
    info = _version(person, request.path_params["version"])
    return services(request).render(request, "proposal.html", _values(request, person, info))


def export_yaml(request: Request) -> Response:
    """GET /connections/{name}/versions/{version}/scorecard.yaml: the version's scorecard as stored."""
    person = access(request, services(request).contexts, request.path_params["name"])
    info = _version(person, request.path_params["version"])
    filename = f"icp-{person.context.name}-{info.label}.yaml"
    return PlainTextResponse(info.document, media_type="application/yaml",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


async def decide(request: Request) -> Response:
    """POST /connections/{name}/versions/{version}/decision: approve or reject, with a note."""
    found = services(request)
    form = await csrf.checked_form(request)
    person = access(request, found.contexts, request.path_params["name"])
    if not person.may_decide:
        raise HTTPException(403, f"{person.email} may read connection {person.context.name!r} but not approve "
                                 "or reject: only its approvers can.")
    number = request.path_params["version"]
    decision, note = str(form.get("decision") or ""), str(form.get("note") or "").strip()
    accept = form.get("accept_risks") == "yes"
    problem = _form_problem(decision, note)
    if problem is None:
        try:
            message = await run_in_threadpool(_apply, found.clock(), person, number, decision, note, accept)
        except GovernanceError as exc:
            problem = str(exc)
    if problem is not None:
        info = await run_in_threadpool(_version, person, number)
        values = await run_in_threadpool(_values, request, person, info)
        values.update(error=problem, note=note[:MAX_NOTE])
        return found.render(request, "proposal.html", values, 400)
    request.session[FLASH] = message
    return RedirectResponse(f"/connections/{person.context.name}/versions/{number}", 303)


def _form_problem(decision: str, note: str) -> str | None:
    if decision not in ("approve", "reject"):
        return "Choose approve or reject."
    if not note:
        return "Write a note saying why: it is kept with your decision."
    if len(note) > MAX_NOTE:
        return f"Keep the note under {MAX_NOTE} characters."
    return None


def _apply(now: Any, person: Access, number: int, decision: str, note: str, accept: bool) -> str:
    actor = Actor(person.email, WEB)
    versions = person.context.versions
    if decision == "reject":
        versions.reject(number, by=actor, now=now, note=note)
        return f"v{number} rejected. The decision and your note are in the history."
    info = approve_version(versions, number, by=actor, now=now, note=note, accept_risks=accept)
    if info.status == APPROVED:
        return f"v{number} approved: it is now in force, and the next run rescores every account with it."
    return f"Your approval of v{number} is recorded; still needed: {', '.join(versions.outstanding(number))}."


ROUTES = [
    Route("/connections/{name}/versions/{version:int}", show, methods=["GET"]),
    Route("/connections/{name}/versions/{version:int}/scorecard.yaml", export_yaml, methods=["GET"]),
    Route("/connections/{name}/versions/{version:int}/decision", decide, methods=["POST"]),
]
