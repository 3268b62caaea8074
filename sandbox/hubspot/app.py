"""The HubSpot personality: a SandboxServer that speaks CRM v3/v4 over a World."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sandbox.clock import to_ms
from sandbox.hubspot import errors, scopes
from sandbox.hubspot.loader import load_portal
from sandbox.hubspot.metadata import MetadataEndpoints
from sandbox.hubspot.objects import ObjectEndpoints, UpdateFaults
from sandbox.hubspot.portal import ASSOCIATION_TYPES, OBJECT_TYPES, Portal
from sandbox.hubspot.store import ObjectStore
from sandbox.hubspot.values import iso_ms
from sandbox.ratelimit import RateState
from sandbox.server import Request, Response, Route, SandboxServer
from sandbox.world import World

__all__ = ["HubSpotSandbox", "DEFAULT_SEARCH_RESULT_CAP"]

DEFAULT_SEARCH_RESULT_CAP = 10_000
HUB_ID = 24_681_357
_WRITABLE = ("companies", "deals")
_V4_PAIRS = (("deals", "companies"), ("companies", "deals"), ("notes", "companies"), ("notes", "deals"),
             ("tasks", "companies"), ("companies", "tasks"))


class HubSpotSandbox(SandboxServer):
    """A fake HubSpot portal serving `world` on 127.0.0.1.

    `companies`, `deals`, `notes` and `tasks` are the record stores; the methods below change
    state the way a rep or an import would, without going through HTTP.
    """

    def __init__(self, world: World, port: int = 0, token: str | None = None,
                 search_result_cap: int = DEFAULT_SEARCH_RESULT_CAP) -> None:
        super().__init__(port=port, token=token)
        self.world = world
        self.search_result_cap = search_result_cap
        self.portal: Portal = load_portal(world, self.clock)
        self.update_faults = UpdateFaults()
        self.scopes: frozenset[str] | None = None
        self._register()

    def grant_scopes(self, scopes: Iterable[str] | None) -> None:
        """Give the private app only these scopes (None: every scope); other calls answer 403 MISSING_SCOPES."""
        self.scopes = None if scopes is None else frozenset(scopes)

    def _register(self) -> None:
        meta = MetadataEndpoints(self.portal)
        for t in OBJECT_TYPES:
            ep = ObjectEndpoints(self.portal, t, self.search_result_cap, self.update_faults)
            base = f"/crm/v3/objects/{t}"
            self.route("GET", base, ep.page)
            self.route("POST", f"{base}/search", ep.search, kind="search")
            self.route("POST", f"{base}/batch/read", ep.batch_read)
            if t in _WRITABLE:
                self.route("POST", f"{base}/batch/update", ep.batch_update)
                self.route("PATCH", f"{base}/{{id}}", ep.patch)
            else:
                self.route("POST", base, ep.create)
            if t == "tasks":
                self.route("POST", f"{base}/batch/create", ep.batch_create)
                self.route("POST", f"{base}/batch/update", ep.batch_update)
            self.route("GET", f"{base}/{{id}}", ep.get)
            props = f"/crm/v3/properties/{t}"
            self.route("GET", f"{props}/groups", meta.list_groups(t))
            self.route("POST", f"{props}/groups", meta.create_group(t))
            self.route("GET", f"{props}/groups/{{name}}", meta.get_group(t))
            self.route("GET", props, meta.list_properties(t))
            self.route("POST", props, meta.create_property(t))
            self.route("GET", f"{props}/{{name}}", meta.get_property(t))
            self.route("DELETE", f"{props}/{{name}}", meta.delete_property(t))
        for from_type, to_type in _V4_PAIRS:
            self.route("POST", f"/crm/v4/associations/{from_type}/{to_type}/batch/read",
                       meta.association_batch_read(from_type, to_type))
        self.route("GET", "/crm/v3/owners/", meta.owners)
        self.route("GET", "/crm/v3/owners/{ownerId}", meta.owner)
        self.route("GET", "/account-info/v3/details", meta.account_details)
        self.route("GET", "/crm/v3/pipelines/deals", meta.pipelines)
        self.route("GET", "/crm/v3/pipelines/deals/{pipelineId}", meta.pipeline)
        self.route("POST", scopes.TOKEN_INFO_PATH, self._token_info, public=True)

    def _token_info(self, request: Request) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        if not body.get("tokenKey") or (self.token is not None and body.get("tokenKey") != self.token):
            return self.unauthorized_response()
        return scopes.token_info(self.scopes if self.scopes is not None else scopes.ALL_SCOPES, HUB_ID)

    def forbidden_response(self, route: Route) -> Response | None:
        needed = scopes.required_scope(route.name)
        if self.scopes is None or needed is None or needed in self.scopes:
            return None
        return scopes.missing_scopes([needed])

    @property
    def companies(self) -> ObjectStore:
        """Company records."""
        return self.portal.stores["companies"]

    @property
    def deals(self) -> ObjectStore:
        """Deal records."""
        return self.portal.stores["deals"]

    @property
    def notes(self) -> ObjectStore:
        """Note records."""
        return self.portal.stores["notes"]

    @property
    def tasks(self) -> ObjectStore:
        """Task records (empty until created through the API)."""
        return self.portal.stores["tasks"]

    def associated_ids(self, object_type: str, record_id: str, to_type: str) -> list[str]:
        """Ids of `to_type` records associated with a record."""
        row = self.portal.stores[object_type].row_of(record_id)
        if row is None:
            raise KeyError(record_id)
        target = self.portal.stores[to_type]
        return [target.id_of(r) for r in self.portal.graph.targets(object_type, to_type, row)]

    def update_company(self, company_id: str, props: Mapping[str, Any], modified_at: datetime | None = None) -> bool:
        """Edit a company like a rep would; True if a value changed.

        hs_lastmodifieddate moves to `modified_at` if given, else to the clock's now when a value
        changed. Values are validated as the API would (ValidationFailed otherwise).
        """
        return self._update("companies", company_id, props, modified_at)

    def update_deal(self, deal_id: str, props: Mapping[str, Any], modified_at: datetime | None = None) -> bool:
        """Edit a deal (see `update_company`); stage changes refresh hs_is_closed / hs_is_closed_won."""
        return self._update("deals", deal_id, props, modified_at)

    def _update(self, object_type: str, record_id: str, props: Mapping[str, Any], at: datetime | None) -> bool:
        with self.lock:
            row = self.portal.stores[object_type].row_of(record_id)
            if row is None:
                raise KeyError(record_id)
            values = self.portal.validate(object_type, {k: v for k, v in props.items()})
            return self.portal.update(object_type, row, values, None if at is None else to_ms(at))

    def add_deal(self, company_id: str, properties: Mapping[str, Any] | None = None,
                 created_at: datetime | None = None) -> str:
        """Create a deal associated with a company; returns its id.

        Defaults: dealname "New deal", pipeline "default", dealstage "appointmentscheduled".
        hs_is_closed / hs_is_closed_won / hs_deal_stage_probability follow the stage.
        """
        props = {"dealname": "New deal", "pipeline": "default", "dealstage": "appointmentscheduled",
                 **dict(properties or {})}
        with self.lock:
            company_row = self.companies.row_of(company_id)
            if company_row is None:
                raise KeyError(company_id)
            values = self.portal.validate("deals", props)
            at = None if created_at is None else to_ms(created_at)
            row = self.portal.create("deals", values, [("companies", company_row)], at)
            return self.deals.id_of(row)

    def touch(self, ids: Iterable[str], at: datetime, object_type: str = "companies") -> None:
        """Set hs_lastmodifieddate of many records to the same instant (a bulk import)."""
        stamp = iso_ms(to_ms(at))
        with self.lock:
            store = self.portal.stores[object_type]
            for record_id in ids:
                row = store.row_of(record_id)
                if row is None:
                    raise KeyError(record_id)
                store.write(row, {"hs_lastmodifieddate": stamp})

    def set_currency(self, code: str) -> None:
        """Set the portal's company currency (Settings > Account defaults > Currency)."""
        with self.lock:
            self.portal.currency = code

    def delete_property(self, name: str, object_type: str = "companies") -> bool:
        """Remove a property definition (its values are no longer returned); True if it existed."""
        with self.lock:
            return self.portal.registries[object_type].remove(name)

    def fail_ids_on_update(self, ids: set[str], times: int = 1, category: str = "OBJECT_NOT_FOUND",
                           message: str = "Record could not be updated") -> None:
        """Make batch update report `ids` as failed (207) in the next `times` calls that include them."""
        self.update_faults.add(ids, times, category, message)

    def association_type_ids(self, from_type: str, to_type: str) -> list[int]:
        """HubSpot-defined association type ids between two object types."""
        return [spec[0] for spec in ASSOCIATION_TYPES.get((from_type, to_type), ())]

    def error_response(self, status: int, message: str | None = None, **extra: Any) -> Response:
        return errors.error(status, message, **extra)

    def unauthorized_response(self) -> Response:
        return errors.error(401, "Authentication credentials not found. This API supports OAuth 2.0 authentication "
                                 "and you can find more details at https://developers.hubspot.com/docs/methods/auth/"
                                 "oauth-overview", "INVALID_AUTHENTICATION")

    def not_found_response(self, message: str) -> Response:
        return errors.error(404, message, "OBJECT_NOT_FOUND")

    def rate_limited_response(self, policy: str) -> Response:
        return errors.rate_limited(policy, self.limiter.retry_after)

    def decorate(self, route: Route, response: Response, state: RateState) -> None:
        if route.kind == "search":
            return
        response.headers.update({
            "X-HubSpot-RateLimit-Daily": str(state.daily),
            "X-HubSpot-RateLimit-Daily-Remaining": str(state.daily_remaining),
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Max": str(state.per_10s),
            "X-HubSpot-RateLimit-Remaining": str(state.per_10s_remaining),
            "X-HubSpot-RateLimit-Secondly": str(max(state.per_10s // 10, 1)),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(max(state.per_10s_remaining // 10, 0)),
        })
