"""REST resources of the org: SOQL query / queryAll with cursors, describe, single records and limits."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from sandbox.ratelimit import RateLimiter
from sandbox.salesforce.org import Org, RecordError, SObjectTable
from sandbox.salesforce.soql import SoqlError, parse, run
from sandbox.server import Request, Response

__all__ = ["sf_error", "QueryFaults", "Cursors", "RestEndpoints", "DEFAULT_BATCH", "MIN_BATCH", "MAX_BATCH"]

DEFAULT_BATCH, MIN_BATCH, MAX_BATCH = 2000, 200, 2000


def sf_error(status: int, code: str, message: str, **extra: Any) -> Response:
    """Salesforce's error body: a list of ``{"message", "errorCode"}``."""
    return Response(status, [{"message": message, "errorCode": code, **extra}])


@dataclass
class _QueryFault:
    sobject: str
    status: int
    code: str
    message: str
    remaining: int


class QueryFaults:
    """Errors answered instead of the next queries of one sObject (e.g. REQUEST_LIMIT_EXCEEDED on Opportunity)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[_QueryFault] = []

    def add(self, sobject: str, status: int, code: str, message: str, times: int = 1) -> None:
        """Answer the next ``times`` queries of ``sobject`` with this error."""
        with self._lock:
            self._faults.append(_QueryFault(sobject.lower(), status, code, message, times))

    def take(self, sobject: str) -> Response | None:
        """The error for this query, if one is pending (consuming one use)."""
        with self._lock:
            for fault in self._faults:
                if fault.sobject == sobject.lower():
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return sf_error(fault.status, fault.code, fault.message)
        return None


class Cursors:
    """Open query cursors: the rest of a result set, served ``batchSize`` rows at a time."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[list[dict[str, Any]], int]] = {}
        self._numbers = itertools.count(1)

    def page(self, version: str, rows: list[dict[str, Any]], batch: int,
             locator: str | None = None, offset: int = 0) -> dict[str, Any]:
        """One page of a result set, with ``nextRecordsUrl`` while rows remain.

        ``nextRecordsUrl`` names ``query`` for QueryAll cursors too, and reading it goes on with the QueryAll
        results, deleted rows included (REST API Developer Guide, "QueryAll More Results").
        """
        if locator is None:
            locator = f"01gSb{next(self._numbers):010d}AAA"
            self._open[locator] = (rows, batch)
        end = offset + batch
        body: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows), "records": rows[offset:end]}
        if end < len(rows):
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{end}"
        else:
            self._open.pop(locator, None)
        return body

    def resume(self, locator: str) -> tuple[list[dict[str, Any]], int] | None:
        """The rows and batch size of an open cursor."""
        return self._open.get(locator)


def _batch_size(request: Request) -> int:
    options = request.headers.get("sforce-query-options", "")
    for part in options.split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() == "batchsize" and value.strip().isdigit():
            return max(MIN_BATCH, min(MAX_BATCH, int(value)))
    return DEFAULT_BATCH


def _attributes(sobject: str, version: str, record_id: Any) -> dict[str, str]:
    attributes = {"type": sobject}
    if record_id:
        attributes["url"] = f"/services/data/v{version}/sobjects/{sobject}/{record_id}"
    return attributes


def record_json(table: SObjectTable, version: str, record: dict[str, Any],
                names: list[str] | None = None) -> dict[str, Any]:
    """A record with its ``attributes``, every visible field (or just ``names``) in JSON form."""
    fields = [table.field_named(n) for n in names] if names else table.visible_fields()
    out: dict[str, Any] = {"attributes": _attributes(table.name, version, record["Id"])}
    for definition in fields:
        if definition is not None:
            out[definition.name] = definition.render(record.get(definition.name))
    return out


class RestEndpoints:
    """Query, describe, record and limits handlers over one org."""

    def __init__(self, org: Org, limiter: RateLimiter, faults: QueryFaults,
                 on_create: Callable[[SObjectTable, str], None]) -> None:
        self.org, self.limiter, self.faults = org, limiter, faults
        self.cursors = Cursors()
        self._on_create = on_create

    def _table(self, name: str) -> SObjectTable | None:
        return self.org.table(unquote(name))

    def query(self, include_deleted: bool) -> Callable[[Request], Response]:
        """``GET query/?q=`` (or ``queryAll/``)."""

        def handle(request: Request) -> Response:
            try:
                parsed = parse(request.arg("q") or "")
            except SoqlError as exc:
                return sf_error(400, exc.code, exc.message)
            table = self.org.table(parsed.sobject)
            if table is None:
                return sf_error(400, "INVALID_TYPE", f"sObject type '{parsed.sobject}' is not supported.")
            fault = self.faults.take(table.name)
            if fault is not None:
                return fault
            version = request.params["version"]
            try:
                rows = [{"attributes": _attributes(table.name, version, record_id), **row}
                        for record_id, row in run(table, parsed, include_deleted)]
            except SoqlError as exc:
                return sf_error(400, exc.code, exc.message)
            return Response(200, self.cursors.page(version, rows, _batch_size(request)))
        return handle

    def query_more(self, include_deleted: bool) -> Callable[[Request], Response]:
        """``GET query/{locator}-{offset}`` (or ``queryAll/``): the next page of an open cursor, either resource
        reading any cursor (``include_deleted`` was fixed when the cursor opened)."""

        def handle(request: Request) -> Response:
            locator, _, offset = request.params["locator"].rpartition("-")
            cursor = self.cursors.resume(locator)
            if cursor is None or not offset.isdigit():
                return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            rows, batch = cursor
            return Response(200, self.cursors.page(request.params["version"], rows, batch, locator, int(offset)))
        return handle

    def describe(self, request: Request) -> Response:
        """``GET sobjects/{sobject}/describe``: the fields the integration user can see.

        Top-level keys as in the REST API's "Get Field and Other Metadata for an Object" example
        (developer.salesforce.com/docs/platform/api-rest/guide/dome-sobject-describe): ``urls``,
        ``childRelationships`` and ``customSetting`` next to ``name``, ``label``, ``keyPrefix`` and ``fields``.
        """
        table = self._table(request.params["sobject"])
        if table is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        base = f"/services/data/v{request.params['version']}/sobjects/{table.name}"
        return Response(200, {"name": table.name, "label": table.name, "keyPrefix": table.prefix, "custom": False,
                              "customSetting": False, "createable": True, "updateable": True, "queryable": True,
                              "urls": {"sobject": base, "describe": f"{base}/describe",
                                       "rowTemplate": f"{base}/{{ID}}"},
                              "childRelationships": [], "fields": [f.describe() for f in table.visible_fields()]})

    def get_record(self, request: Request) -> Response:
        """``GET sobjects/{sobject}/{id}[?fields=a,b]``."""
        table = self._table(request.params["sobject"])
        record = None if table is None else table.live(request.params["id"])
        if table is None or record is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        names = request.args("fields") or None
        if names and any(table.field_named(n) is None for n in names):
            return sf_error(400, "INVALID_FIELD", f"No such column on entity '{table.name}'")
        return Response(200, record_json(table, request.params["version"], record, names))

    def patch_record(self, request: Request) -> Response:
        """``PATCH sobjects/{sobject}/{id}``: 204 on success."""
        table = self._table(request.params["sobject"])
        if table is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        if table.live(request.params["id"]) is None:
            return sf_error(404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "
                                              f"{request.params['id']}")
        try:
            self.org.apply(table, request.params["id"], request.body or {})
        except RecordError as exc:
            return sf_error(400, exc.code, exc.message, fields=exc.fields)
        return Response(204)

    def create_record(self, request: Request) -> Response:
        """``POST sobjects/{sobject}``: 201 with the new id."""
        table = self._table(request.params["sobject"])
        if table is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        try:
            record_id = self.create(table, request.body or {})
        except RecordError as exc:
            return sf_error(400, exc.code, exc.message, fields=exc.fields)
        return Response(201, {"id": record_id, "success": True, "errors": []})

    def create(self, table: SObjectTable, body: dict[str, Any]) -> str:
        """Validate and insert a record (required fields enforced); runs the create hook."""
        values = self.org.coerce(table, body, creating=True)
        if "OwnerId" in table.fields and values.get("OwnerId") is None:
            values["OwnerId"] = self.org.user_id
        missing = [f.name for f in table.visible_fields()
                   if not f.nillable and f.writable and f.name not in values and f.type != "boolean"]
        if missing:
            raise RecordError("REQUIRED_FIELD_MISSING", f"Required fields are missing: {missing}", missing)
        record_id = self.org.insert(table, values)
        self._on_create(table, record_id)
        return record_id

    def upsert_record(self, request: Request) -> Response:
        """``PATCH sobjects/{sobject}/{field}/{value}``: upsert on an external-id field (201 created, 200 updated)."""
        table = self._table(request.params["sobject"])
        definition = None if table is None else table.field_named(request.params["field"])
        if table is None or definition is None or not definition.external_id:
            return sf_error(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: "
                                              f"{request.params['field']}")
        key = unquote(request.params["value"])
        matches = [r for r in table.records.values() if not r.get("IsDeleted") and r.get(definition.name) == key]
        if len(matches) > 1:
            return Response(300, [r["Id"] for r in matches])
        body = {**(request.body or {}), definition.name: key}
        try:
            if matches:
                self.org.apply(table, matches[0]["Id"], body)
                return Response(200, {"id": matches[0]["Id"], "success": True, "errors": [], "created": False})
            record_id = self.create(table, body)
        except RecordError as exc:
            return sf_error(400, exc.code, exc.message, fields=exc.fields)
        return Response(201, {"id": record_id, "success": True, "errors": [], "created": True})

    def limits(self, request: Request) -> Response:
        """``GET limits``: the daily API allocation and what is left of it."""
        state = self.limiter.state()
        return Response(200, {
            "DailyApiRequests": {"Max": state.daily, "Remaining": state.daily_remaining},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
        })
