"""Private-app scopes: which scope each route needs, and the answers HubSpot gives about them.

A token missing a route's scope gets HTTP 403 with category ``MISSING_SCOPES`` and the scopes the call
needs in ``errors[].context.requiredGranularScopes``, as HubSpot answers (body quoted in
HubSpot/hubspot-api-nodejs#268; scope names from HubSpot's scopes reference, developers.hubspot.com/scopes).
``POST /oauth/v2/private-apps/get/access-token-info`` with ``{"tokenKey"}`` lists a private app's scopes as
``{"userId", "hubId", "appId", "scopes"}`` (developers.hubspot.com/docs/api/private-apps). Notes and tasks are
not gated here: their scope rules are not modelled.
"""

from __future__ import annotations

import re
import uuid

from sandbox.server import Response

__all__ = ["ALL_SCOPES", "TOKEN_INFO_PATH", "required_scope", "missing_scopes", "token_info"]

TOKEN_INFO_PATH = "/oauth/v2/private-apps/get/access-token-info"

_OBJECTS = ("companies", "deals")
ALL_SCOPES: frozenset[str] = frozenset(
    [f"crm.objects.{o}.{rw}" for o in _OBJECTS for rw in ("read", "write")]
    + [f"crm.schemas.{o}.{rw}" for o in _OBJECTS for rw in ("read", "write")]
    + ["crm.objects.owners.read"])
_OBJECT = re.compile(r"^/crm/v3/objects/(\w+)(/.*)?$")
_PROPERTIES = re.compile(r"^/crm/v3/properties/(\w+)(/.*)?$")
_ASSOCIATIONS = re.compile(r"^/crm/v4/associations/(\w+)/")
_READS_BY_POST = ("/search", "/batch/read")


def required_scope(route_name: str) -> str | None:
    """The scope a route needs (``"GET /crm/v3/objects/companies"`` → ``crm.objects.companies.read``), if modelled."""
    method, _, path = route_name.partition(" ")
    if path.startswith("/crm/v3/owners"):
        return "crm.objects.owners.read"
    if path.startswith("/crm/v3/pipelines/deals"):
        return "crm.objects.deals.read"
    found = _OBJECT.match(path)
    if found:
        writes = method in ("PATCH", "DELETE") or (method == "POST" and not (found.group(2) or "").endswith(
            _READS_BY_POST))
        return _scope("objects", found.group(1), writes)
    found = _PROPERTIES.match(path)
    if found:
        return _scope("schemas", found.group(1), method != "GET")
    found = _ASSOCIATIONS.match(path)
    return _scope("objects", found.group(1), False) if found else None


def _scope(kind: str, object_type: str, writes: bool) -> str | None:
    return f"crm.{kind}.{object_type}.{'write' if writes else 'read'}" if object_type in _OBJECTS else None


def missing_scopes(scopes: list[str]) -> Response:
    """HubSpot's 403 for a token without a scope the call needs."""
    return Response(403, {
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call. Read more about required "
                   "scopes here: https://developers.hubspot.com/scopes.",
        "correlationId": str(uuid.uuid4()),
        "errors": [{"message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": scopes}}],
        "links": {"scopes": "https://developers.hubspot.com/scopes"},
        "category": "MISSING_SCOPES"})


def token_info(granted: frozenset[str], hub_id: int) -> Response:
    """The access-token-info answer for a private app's token."""
    return Response(200, {"userId": 1, "hubId": hub_id, "appId": 1, "scopes": sorted(granted)})
