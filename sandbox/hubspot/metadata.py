"""Owners, pipelines, properties, property groups and v4 association endpoints."""

from __future__ import annotations

from typing import Any

from sandbox._catalog import PIPELINES, Pipeline
from sandbox.hubspot import errors
from sandbox.hubspot.portal import ASSOCIATION_TYPES, SINGULAR, Portal
from sandbox.hubspot.schema import FIELD_TYPES, PROPERTY_TYPES, GroupDef, PropertyDef, options
from sandbox.hubspot.values import iso_ms
from sandbox.server import Handler, Request, Response

__all__ = ["MetadataEndpoints", "pipeline_json", "MAX_ASSOCIATION_INPUTS"]

MAX_ASSOCIATION_INPUTS = 1000
PORTAL_ID = 62515
PIPELINES_CREATED = "2019-08-06T02:41:52.000Z"


def pipeline_json(pipeline: Pipeline) -> dict[str, Any]:
    """A Pipeline body; stage metadata values are strings, as HubSpot sends them."""
    stamp = {"createdAt": PIPELINES_CREATED, "updatedAt": PIPELINES_CREATED, "archived": False}
    return {
        "id": pipeline.id, "label": pipeline.label, "displayOrder": pipeline.display_order, **stamp,
        "stages": [{
            "id": s.id, "label": s.label, "displayOrder": s.display_order,
            "metadata": {"isClosed": "true" if s.is_closed else "false", "probability": repr(s.probability)},
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT", **stamp,
        } for s in pipeline.stages],
    }


def _missing(body: dict[str, Any], fields: tuple[str, ...]) -> list[str]:
    return [f for f in fields if body.get(f) in (None, "")]


class MetadataEndpoints:
    """Handlers that do not serve CRM records."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    def owners(self, req: Request) -> Response:
        """GET /crm/v3/owners/ with limit/after/email paging."""
        try:
            limit, start = int(req.arg("limit") or 100), int(req.arg("after") or 0)
        except ValueError:
            return errors.error(400, "Invalid limit or after parameter")
        if not 1 <= limit <= 500:
            return errors.error(400, f"limit must be between 1 and 500, got {limit}")
        owners = [] if (req.arg("archived") or "false").lower() == "true" else self.portal.owners
        email = req.arg("email")
        if email:
            owners = [o for o in owners if o["email"].lower() == email.lower()]
        body: dict[str, Any] = {"results": owners[start:start + limit]}
        if start + limit < len(owners):
            after = str(start + limit)
            body["paging"] = {"next": {"after": after, "link": f"{req.path}?after={after}"}}
        return Response(200, body)

    def owner(self, req: Request) -> Response:
        """GET /crm/v3/owners/{ownerId}."""
        found = next((o for o in self.portal.owners if o["id"] == req.params["ownerId"]), None)
        return Response(200, found) if found else errors.error(404, f"Owner {req.params['ownerId']} not found")

    def account_details(self, req: Request) -> Response:
        """GET /account-info/v3/details: the portal's id, type, time zone and currencies.

        Shape of HubSpot's account information API ("Retrieve account details"): portalId,
        accountType, timeZone, companyCurrency, additionalCurrencies, utcOffset,
        utcOffsetMilliseconds, uiDomain, dataHostingLocation.
        """
        return Response(200, {"portalId": PORTAL_ID, "accountType": "STANDARD", "timeZone": self.portal.time_zone,
                              "companyCurrency": self.portal.currency, "additionalCurrencies": [],
                              "utcOffset": "-05:00", "utcOffsetMilliseconds": -18_000_000,
                              "uiDomain": "app.hubspot.com", "dataHostingLocation": "na1"})

    def pipelines(self, req: Request) -> Response:
        """GET /crm/v3/pipelines/deals."""
        return Response(200, {"results": [pipeline_json(p) for p in PIPELINES]})

    def pipeline(self, req: Request) -> Response:
        """GET /crm/v3/pipelines/deals/{pipelineId}."""
        found = next((p for p in PIPELINES if p.id == req.params["pipelineId"]), None)
        if found is None:
            return errors.error(404, f"Unable to find pipeline {req.params['pipelineId']}")
        return Response(200, pipeline_json(found))

    def list_properties(self, object_type: str) -> Handler:
        """GET /crm/v3/properties/{type}."""
        registry = self.portal.registries[object_type]
        return lambda req: Response(200, {"results": [d.to_json() for d in registry.properties.values()]})

    def get_property(self, object_type: str) -> Handler:
        """GET /crm/v3/properties/{type}/{name}: 404 when missing."""
        registry = self.portal.registries[object_type]

        def handler(req: Request) -> Response:
            found = registry.get(req.params["name"])
            if found is None:
                return errors.error(404, f"Unable to find property named '{req.params['name']}'", "OBJECT_NOT_FOUND")
            return Response(200, found.to_json())

        return handler

    def create_property(self, object_type: str) -> Handler:
        """POST /crm/v3/properties/{type}: 201, 409 on duplicates."""
        registry = self.portal.registries[object_type]

        def handler(req: Request) -> Response:
            body = req.body or {}
            missing = _missing(body, ("name", "label", "type", "fieldType", "groupName"))
            if missing:
                return errors.error(400, f"Missing required fields: {missing}")
            if body["type"] not in PROPERTY_TYPES or body["fieldType"] not in FIELD_TYPES:
                return errors.error(400, f"Invalid type/fieldType: {body['type']}/{body['fieldType']}")
            if body["groupName"] not in registry.groups:
                return errors.error(400, f"Property group '{body['groupName']}' does not exist")
            if registry.get(body["name"]) is not None:
                return errors.error(409, f"Property named '{body['name']}' already exists.", "OBJECT_ALREADY_EXISTS")
            now = iso_ms(self.portal.clock.now_ms())
            opts = body.get("options") or []
            definition = PropertyDef(
                name=body["name"], label=body["label"], type=body["type"], field_type=body["fieldType"],
                group_name=body["groupName"], description=body.get("description") or "",
                options=options([o["value"] for o in opts], [o.get("label", o["value"]) for o in opts]),
                display_order=int(body.get("displayOrder", -1)), has_unique_value=bool(body.get("hasUniqueValue")),
                hidden=bool(body.get("hidden")), form_field=bool(body.get("formField")), created_at=now, updated_at=now,
            )
            return Response(201, registry.add(definition).to_json())

        return handler

    def delete_property(self, object_type: str) -> Handler:
        """DELETE /crm/v3/properties/{type}/{name}: 204."""
        registry = self.portal.registries[object_type]

        def handler(req: Request) -> Response:
            if not registry.remove(req.params["name"]):
                return errors.error(404, f"Unable to find property named '{req.params['name']}'", "OBJECT_NOT_FOUND")
            return Response(204)

        return handler

    def list_groups(self, object_type: str) -> Handler:
        """GET /crm/v3/properties/{type}/groups."""
        registry = self.portal.registries[object_type]
        return lambda req: Response(200, {"results": [g.to_json() for g in registry.groups.values()]})

    def get_group(self, object_type: str) -> Handler:
        """GET /crm/v3/properties/{type}/groups/{name}: 404 when missing."""
        registry = self.portal.registries[object_type]

        def handler(req: Request) -> Response:
            found = registry.groups.get(req.params["name"])
            if found is None:
                return errors.error(404, f"Unable to find property group '{req.params['name']}'", "OBJECT_NOT_FOUND")
            return Response(200, found.to_json())

        return handler

    def create_group(self, object_type: str) -> Handler:
        """POST /crm/v3/properties/{type}/groups: 201, 409 on duplicates."""
        registry = self.portal.registries[object_type]

        def handler(req: Request) -> Response:
            body = req.body or {}
            missing = _missing(body, ("name", "label"))
            if missing:
                return errors.error(400, f"Missing required fields: {missing}")
            if body["name"] in registry.groups:
                return errors.error(409, f"Property group '{body['name']}' already exists.", "OBJECT_ALREADY_EXISTS")
            group = GroupDef(body["name"], body["label"], int(body.get("displayOrder", -1)))
            return Response(201, registry.add_group(group).to_json())

        return handler

    def association_batch_read(self, from_type: str, to_type: str) -> Handler:
        """POST /crm/v4/associations/{from}/{to}/batch/read: 200, or 207 for ids without associations.

        ``toObjectId`` is a string, as in HubSpot's reference ("Batch read associations",
        developers.hubspot.com/docs/api-reference/legacy/crm/associations/associate-records/batch/get-associations)
        and the client's MultiAssociatedObjectWithLabel model (``to_object_id: str``).
        """
        kinds = ASSOCIATION_TYPES[(from_type, to_type)]

        def handler(req: Request) -> Response:
            inputs = (req.body or {}).get("inputs") or []
            if len(inputs) > MAX_ASSOCIATION_INPUTS:
                return errors.error(400, f"Batch input limit exceeded: {len(inputs)} inputs, "
                                         f"at most {MAX_ASSOCIATION_INPUTS}")
            started = iso_ms(self.portal.clock.now_ms())
            source, target = self.portal.stores[from_type], self.portal.stores[to_type]
            results, errs = [], []
            for item in inputs:
                record_id = str(item.get("id"))
                row = source.row_of(record_id)
                rows = [] if row is None else self.portal.graph.targets(from_type, to_type, row)
                if rows:
                    results.append({"from": {"id": record_id}, "to": [{
                        "toObjectId": target.id_of(r),
                        "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": t, "label": lbl}
                                             for t, lbl, _ in kinds],
                    } for r in rows]})
                else:
                    errs.append(errors.standard_error(
                        "OBJECT_NOT_FOUND",
                        f"No {SINGULAR[to_type]} is associated with {SINGULAR[from_type]} {record_id}.",
                        {"fromObjectId": [record_id], "fromObjectType": [SINGULAR[from_type]],
                         "toObjectType": [SINGULAR[to_type]]},
                        subCategory="crm.associations.NO_ASSOCIATIONS_FOUND"))
            body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started,
                                    "completedAt": iso_ms(self.portal.clock.now_ms())}
            if errs:
                body.update(numErrors=len(errs), errors=errs)
            return Response(207 if errs else 200, body)

        return handler
