"""CRM object endpoints: list, read, update, search, batch read/update and create."""

from __future__ import annotations

import base64
import binascii
import threading
from dataclasses import dataclass
from typing import Any

from sandbox.hubspot import errors
from sandbox.hubspot.portal import ASSOCIATION_TYPES, SINGULAR, Portal, ValidationFailed
from sandbox.hubspot.search import SearchError, search
from sandbox.hubspot.values import iso_ms
from sandbox.server import Request, Response

__all__ = ["ObjectEndpoints", "UpdateFaults", "encode_cursor", "decode_cursor"]

MAX_PAGE = 100
MAX_BATCH = 100
MAX_HISTORY_BATCH = 50
"""HubSpot's batch read takes at most 50 inputs when ``propertiesWithHistory`` is asked for (the API's
VALIDATION_ERROR, quoted in the project's research notes on the HubSpot API)."""


def encode_cursor(record_id: str) -> str:
    """Opaque list cursor pointing at `record_id`."""
    return base64.urlsafe_b64encode(record_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Record id a cursor points at; plain numeric ids are accepted too. ValueError if invalid."""
    if cursor.isdigit():
        return int(cursor)
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(cursor) from exc


@dataclass
class _IdFault:
    ids: set[str]
    remaining: int
    category: str
    message: str


class UpdateFaults:
    """Ids that batch update reports as failed (207) for the next few calls that include them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[_IdFault] = []

    def add(self, ids: set[str], times: int, category: str, message: str) -> None:
        """Fail `ids` in the next `times` batch updates that include any of them."""
        with self._lock:
            self._faults.append(_IdFault({str(i) for i in ids}, times, category, message))

    def take(self, ids: list[str]) -> dict[str, _IdFault]:
        """Which of `ids` fail in this call (consuming one use of every fault that matched)."""
        failing: dict[str, _IdFault] = {}
        with self._lock:
            for fault in list(self._faults):
                hit = fault.ids.intersection(ids)
                if hit:
                    failing.update({i: fault for i in hit if i not in failing})
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
        return failing


def _batch_body(results: list[dict[str, Any]], errs: list[dict[str, Any]], started: str, done: str) -> Response:
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": done}
    if errs:
        body.update(numErrors=len(errs), errors=errs)
    return Response(207 if errs else 200, body)


class ObjectEndpoints:
    """Handlers for one object type."""

    def __init__(self, portal: Portal, object_type: str, search_cap: int, update_faults: UpdateFaults) -> None:
        self.portal = portal
        self.object_type = object_type
        self.store = portal.stores[object_type]
        self.search_cap = search_cap
        self.update_faults = update_faults

    def page(self, req: Request) -> Response:
        """GET /crm/v3/objects/{type}: pages in id order with an opaque `after` cursor."""
        try:
            limit = int(req.arg("limit") or 10)
            cursor = req.arg("after")
            start = max(decode_cursor(cursor) - self.store.id_base - 1, 0) if cursor else 0
        except ValueError:
            return errors.error(400, "Invalid limit or after parameter")
        if not 1 <= limit <= MAX_PAGE:
            return errors.error(400, f"limit must be between 1 and {MAX_PAGE}, got {limit}")
        if (req.arg("archived") or "false").lower() == "true":
            return Response(200, {"results": []})
        names = self.portal.property_names(self.object_type, req.args("properties"))
        wanted = req.args("associations")
        end = min(start + limit, len(self.store))
        results = [self._with_associations(row, names, wanted) for row in range(start, end)]
        body: dict[str, Any] = {"results": results}
        if end < len(self.store):
            cursor = encode_cursor(self.store.id_of(end))
            link = f"http://{req.headers.get('host', '')}{req.path}?after={cursor}"
            body["paging"] = {"next": {"after": cursor, "link": link}}
        return Response(200, body)

    def get(self, req: Request) -> Response:
        """GET /crm/v3/objects/{type}/{id} (also by `idProperty`)."""
        row = self._find(req.params["id"], req.arg("idProperty"))
        if row is None:
            return self._not_found(req.params["id"])
        names = self.portal.property_names(self.object_type, req.args("properties"))
        return Response(200, self._with_associations(row, names, req.args("associations")))

    def patch(self, req: Request) -> Response:
        """PATCH /crm/v3/objects/{type}/{id}."""
        row = self._find(req.params["id"], req.arg("idProperty"))
        if row is None:
            return self._not_found(req.params["id"])
        props = (req.body or {}).get("properties") or {}
        try:
            values = self.portal.validate(self.object_type, props)
        except ValidationFailed as exc:
            return errors.validation_failed(exc.errors)
        self.portal.update(self.object_type, row, values)
        names = self.portal.property_names(self.object_type, list(values))
        return Response(200, self.portal.record(self.object_type, row, names))

    def search(self, req: Request) -> Response:
        """POST /crm/v3/objects/{type}/search."""
        try:
            return Response(200, search(self.portal, self.object_type, req.body, self.search_cap))
        except SearchError as exc:
            return errors.error(400, str(exc), "VALIDATION_ERROR")

    def batch_read(self, req: Request) -> Response:
        """POST /crm/v3/objects/{type}/batch/read."""
        started = _iso_now(self.portal)
        body = req.body or {}
        inputs = body.get("inputs") or []
        with_history = [n for n in body.get("propertiesWithHistory") or []
                        if self.portal.registries[self.object_type].get(n) is not None]
        limit = MAX_HISTORY_BATCH if body.get("propertiesWithHistory") else MAX_BATCH
        if len(inputs) > limit:
            return errors.error(400, f"Batch input limit exceeded: {len(inputs)} inputs, at most {limit}",
                                "VALIDATION_ERROR")
        names = self.portal.property_names(self.object_type, body.get("properties") or [])
        results, missing = [], []
        for item in inputs:
            row = self._find(str(item.get("id")), body.get("idProperty"))
            if row is None:
                missing.append(str(item.get("id")))
                continue
            record = self.portal.record(self.object_type, row, names)
            if with_history:
                record["propertiesWithHistory"] = {
                    n: self.portal.property_history(self.object_type, row, n) for n in with_history}
            results.append(record)
        errs = [self._not_found_error(missing)] if missing else []
        return _batch_body(results, errs, started, _iso_now(self.portal))

    def batch_update(self, req: Request) -> Response:
        """POST /crm/v3/objects/{type}/batch/update: 200, or 207 listing failed ids in errors[].context.ids."""
        started = _iso_now(self.portal)
        inputs = (req.body or {}).get("inputs") or []
        if len(inputs) > MAX_BATCH:
            return errors.error(400, f"Batch input limit exceeded: {len(inputs)} inputs, at most {MAX_BATCH}")
        ids = [str(item.get("id")) for item in inputs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            return errors.error(400, f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique")
        try:
            planned = [self.portal.validate(self.object_type, item.get("properties") or {}) for item in inputs]
        except ValidationFailed as exc:
            return errors.validation_failed(exc.errors)
        failing = self.update_faults.take(ids)
        missing = [i for i in ids if self.store.row_of(i) is None and i not in failing]
        results = []
        for record_id, values in zip(ids, planned, strict=True):
            row = self.store.row_of(record_id)
            if row is None or record_id in failing:
                continue
            self.portal.update(self.object_type, row, values)
            names = self.portal.property_names(self.object_type, list(values))
            results.append(self.portal.record(self.object_type, row, names))
        errs = [self._not_found_error(missing)] if missing else []
        for fault in {id(f): f for f in failing.values()}.values():
            hit = [i for i in ids if failing.get(i) is fault]
            errs.append(errors.standard_error(fault.category, fault.message, {"ids": hit}))
        return _batch_body(results, errs, started, _iso_now(self.portal))

    def create(self, req: Request) -> Response:
        """POST /crm/v3/objects/{type}: 201 with the new record."""
        body = req.body or {}
        try:
            values, links = self._planned(body)
        except ValidationFailed as exc:
            return errors.validation_failed(exc.errors)
        except ValueError as exc:
            return errors.error(400, str(exc))
        row = self.portal.create(self.object_type, values, links)
        names = self.portal.property_names(self.object_type, list(values))
        return Response(201, self._with_associations(row, names, [t for t, _ in links]))

    def batch_create(self, req: Request) -> Response:
        """POST /crm/v3/objects/{type}/batch/create: up to 100 records with their associations, all or none.

        HubSpot answers 201 with ``{status, results, startedAt, completedAt}`` (BatchResponseSimplePublicObject;
        developers.hubspot.com/docs/api-reference/latest/crm/activities/tasks/batch/create-tasks); an invalid
        input refuses the whole batch with 400 VALIDATION_ERROR.
        """
        started = _iso_now(self.portal)
        inputs = (req.body or {}).get("inputs") or []
        if not inputs or len(inputs) > MAX_BATCH:
            return errors.error(400, f"Batch input limit: 1 to {MAX_BATCH} inputs, got {len(inputs)}")
        try:
            planned = [self._planned(item or {}) for item in inputs]
        except ValidationFailed as exc:
            return errors.validation_failed(exc.errors)
        except ValueError as exc:
            return errors.error(400, str(exc))
        results = []
        for values, links in planned:
            row = self.portal.create(self.object_type, values, links)
            results.append(self.portal.record(self.object_type, row,
                                              self.portal.property_names(self.object_type, list(values))))
        return Response(201, {"status": "COMPLETE", "results": results, "startedAt": started,
                              "completedAt": _iso_now(self.portal)})

    def _planned(self, body: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, int]]]:
        """Validated values and association targets of one record to create (ValidationFailed / ValueError)."""
        props = body.get("properties") or {}
        if self.object_type in ("tasks", "notes") and not props.get("hs_timestamp"):
            raise ValueError('Property values were not valid: "hs_timestamp" is required')
        values = self.portal.validate(self.object_type, props)
        links = self._links(body.get("associations") or [])
        if self.object_type == "tasks":
            values.setdefault("hs_task_status", "NOT_STARTED")
        return values, links

    def _links(self, associations: list[dict[str, Any]]) -> list[tuple[str, int]]:
        links: list[tuple[str, int]] = []
        for assoc in associations:
            target_id = str((assoc.get("to") or {}).get("id"))
            for kind in assoc.get("types") or []:
                type_id = kind.get("associationTypeId")
                to_type = next((to for (frm, to), specs in ASSOCIATION_TYPES.items()
                                if frm == self.object_type and any(s[0] == type_id for s in specs)), None)
                if to_type is None:
                    raise ValueError(f"associationTypeId {type_id} is not valid from {self.object_type}")
                row = self.portal.stores[to_type].row_of(target_id)
                if row is None:
                    raise ValueError(f"Association target {to_type} {target_id} does not exist")
                links.append((to_type, row))
        return links

    def _find(self, record_id: str, id_property: str | None) -> int | None:
        if not id_property or id_property == "hs_object_id":
            return self.store.row_of(record_id)
        texts = self.store.texts(id_property)
        return next((r for r, t in enumerate(texts) if t == record_id), None)

    def _with_associations(self, row: int, names: list[str], wanted: list[str]) -> dict[str, Any]:
        record = self.portal.record(self.object_type, row, names)
        assoc = self.portal.associations(self.object_type, row, wanted) if wanted else {}
        if assoc:
            record["associations"] = assoc
        return record

    def _not_found(self, record_id: str) -> Response:
        return errors.error(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND",
                            context={"id": [record_id]})

    def _not_found_error(self, ids: list[str]) -> dict[str, Any]:
        kind = SINGULAR[self.object_type].upper()
        return errors.standard_error(
            "OBJECT_NOT_FOUND", f"Could not get some {kind} objects, they may be deleted or not exist. "
            "Check that ids are valid.", {"ids": ids})


def _iso_now(portal: Portal) -> str:
    return iso_ms(portal.clock.now_ms())
