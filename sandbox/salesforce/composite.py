"""sObject Collections (``composite/sobjects``) and record-level write faults shared with Bulk API 2.0."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.salesforce.org import Org, RecordError, SObjectTable
from sandbox.salesforce.rest import sf_error
from sandbox.server import Request, Response

__all__ = ["WriteFaults", "CollectionEndpoints", "MAX_COLLECTION"]

MAX_COLLECTION = 200


@dataclass
class _IdFault:
    ids: set[str]
    remaining: int
    code: str
    message: str


class WriteFaults:
    """Record ids whose updates fail (collections or bulk) in the next few writes that include them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[_IdFault] = []

    def add(self, ids: set[str], times: int, code: str, message: str) -> None:
        """Fail ``ids`` in the next ``times`` writes that include any of them."""
        with self._lock:
            self._faults.append(_IdFault(set(ids), times, code, message))

    def take(self, ids: list[str]) -> dict[str, RecordError]:
        """Which of ``ids`` fail in this write (one use of every matching fault is consumed)."""
        failing: dict[str, RecordError] = {}
        with self._lock:
            for fault in list(self._faults):
                hit = fault.ids.intersection(ids)
                if not hit:
                    continue
                for record_id in hit:
                    failing[record_id] = RecordError(fault.code, fault.message)
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
        return failing


def _ok(record_id: str | None) -> dict[str, Any]:
    return {"id": record_id, "success": True, "errors": []}


def _failed(error: RecordError, record_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": False, "errors": [error.as_json()]}
    if record_id:
        body["id"] = record_id
    return body


class CollectionEndpoints:
    """``PATCH composite/sobjects``: up to 200 updates, per-record results in request order."""

    def __init__(self, org: Org, faults: WriteFaults,
                 insert: Callable[[SObjectTable, dict[str, Any]], str] | None = None) -> None:
        self.org, self.faults = org, faults
        self.sizes: list[int] = []
        """Records in each update of Accounts (write-back), in order; other updates go to ``other_sizes``."""
        self.other_sizes: list[int] = []
        self._insert = insert

    def _records(self, request: Request) -> list[Any] | Response:
        body = request.body if isinstance(request.body, dict) else {}
        records = body.get("records")
        if not isinstance(records, list) or not records:
            return sf_error(400, "INVALID_FIELD", "records: a non-empty list is required")
        if len(records) > MAX_COLLECTION:
            return sf_error(400, "EXCEEDED_ID_LIMIT", f"record limit reached. cannot submit more than "
                                                      f"{MAX_COLLECTION} records into this call")
        return records

    def create(self, request: Request) -> Response:
        """``POST composite/sobjects``: create up to 200 records; ``[{id, success, errors}]`` in request order
        ("Create Records Using sObject Collections", Salesforce REST API Developer Guide)."""
        records = self._records(request)
        if isinstance(records, Response):
            return records
        results = []
        for record in records:
            table = self._table_of(record)
            if table is None:
                results.append(_failed(RecordError("INVALID_TYPE", "attributes.type is required")))
                continue
            try:
                results.append(_ok(self._create(table, record)))
            except RecordError as exc:
                results.append(_failed(exc))
        return Response(200, results)

    def upsert(self, request: Request) -> Response:
        """``PATCH composite/sobjects/{SObject}/{ExternalIdField}``: up to 200 upserts on an external id;
        ``[{id, success, errors, created}]`` in request order ("Upsert Records Using sObject Collections",
        developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_upsert.htm).
        """
        table = self.org.table(request.params["sobject"])
        definition = None if table is None else table.field_named(request.params["field"])
        if table is None or definition is None or not definition.external_id:
            return sf_error(404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "
                                              f"{request.params['field']}")
        records = self._records(request)
        if isinstance(records, Response):
            return records
        results = []
        for record in records:
            key = record.get(definition.name) if isinstance(record, dict) else None
            if not key:
                results.append(_failed(RecordError("REQUIRED_FIELD_MISSING", f"{definition.name} is required",
                                                   [definition.name])))
                continue
            matches = [r for r in table.records.values() if not r.get("IsDeleted") and r.get(definition.name) == key]
            try:
                if matches:
                    self.org.apply(table, matches[0]["Id"], record)
                    results.append({**_ok(matches[0]["Id"]), "created": False})
                else:
                    results.append({**_ok(self._create(table, record)), "created": True})
            except RecordError as exc:
                results.append(_failed(exc))
        return Response(200, results)

    def _table_of(self, record: Any) -> SObjectTable | None:
        sobject = (record.get("attributes") or {}).get("type") if isinstance(record, dict) else None
        return self.org.table(str(sobject)) if sobject else None

    def _create(self, table: SObjectTable, record: dict[str, Any]) -> str:
        if self._insert is None:
            raise RecordError("INVALID_OPERATION", "creating records is not available")
        return self._insert(table, {k: v for k, v in record.items() if k != "attributes"})

    def update(self, request: Request) -> Response:
        """Update a collection; with ``allOrNone`` a single failure rolls every record back."""
        body = request.body if isinstance(request.body, dict) else {}
        records = body.get("records")
        if not isinstance(records, list) or not records:
            return sf_error(400, "INVALID_FIELD", "records: a non-empty list is required")
        kinds = {str((r.get("attributes") or {}).get("type")) for r in records if isinstance(r, dict)}
        (self.sizes if kinds <= {"Account"} else self.other_sizes).append(len(records))
        if len(records) > MAX_COLLECTION:
            return sf_error(400, "EXCEEDED_ID_LIMIT", f"record limit reached. cannot submit more than "
                                                      f"{MAX_COLLECTION} records into this call")
        ids = [str(r.get("id") or r.get("Id") or "") for r in records if isinstance(r, dict)]
        forced = self.faults.take(ids)
        saved = {t: copy.deepcopy(t.records) for t in self.org.tables.values()} if body.get("allOrNone") else {}
        results = [self._one(record, forced) for record in records]
        if saved and not all(r["success"] for r in results):
            for table, rows in saved.items():
                table.records = rows
            rolled = RecordError("ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back because not all records "
                                                                     "were valid and the request was using AllOrNone "
                                                                     "header")
            results = [r if not r["success"] else _failed(rolled, r.get("id")) for r in results]
        return Response(200, results)

    def _one(self, record: Any, forced: dict[str, RecordError]) -> dict[str, Any]:
        if not isinstance(record, dict):
            return _failed(RecordError("INVALID_FIELD", "a record must be an object"))
        record_id = str(record.get("id") or record.get("Id") or "")
        sobject = (record.get("attributes") or {}).get("type")
        table = self.org.table(str(sobject)) if sobject else None
        if table is None:
            return _failed(RecordError("INVALID_TYPE", "attributes.type is required"), record_id or None)
        if record_id in forced:
            return _failed(forced[record_id], record_id)
        try:
            self.org.apply(table, record_id, record)
        except RecordError as exc:
            return _failed(exc, record_id or None)
        return _ok(record_id)
