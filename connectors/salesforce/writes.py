"""Write-back of owned Account and Opportunity fields: sObject Collections, or one Bulk API 2.0 job above a
threshold.

Collections: ``PATCH composite/sobjects`` with 200 records a call and ``allOrNone: false``; the
answer lists each record's outcome in request order, and the records that failed for a reason
that may pass are sent once more, on their own. A call that fails after Salesforce may have acted
(a 5xx, a timeout) is retried only for the records a query shows do not hold their values yet.
Bulk: one update job; its failed records are fetched (``failedResults``) and reported with
Salesforce's reason. A job whose outcome is unknown (the connection failed while it was created,
filled, closed or polled) is never started again: the records are read back and only those that do
not hold their values go through collections.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, cast

from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import SFBulk2Handler
from simple_salesforce.exceptions import SalesforceOperationError
from simple_salesforce.format import format_soql

from connectors.base import WriteOutcome
from connectors.errors import RetriableError
from connectors.idempotent import same_value, update_once
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.streams import check_query_page

__all__ = ["AccountWriter", "COLLECTION_SIZE", "PERMANENT_CODES"]

COLLECTION_SIZE = 200
PERMANENT_CODES = frozenset({"ENTITY_IS_DELETED", "MALFORMED_ID", "INVALID_ID_FIELD", "INVALID_CROSS_REFERENCE_KEY",
                             "INVALID_FIELD", "INVALID_FIELD_FOR_INSERT_UPDATE", "INVALID_TYPE",
                             "INVALID_TYPE_ON_FIELD_IN_RECORD", "STRING_TOO_LONG", "NOT_FOUND",
                             "INSUFFICIENT_ACCESS_OR_READONLY", "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"})
Updates = Mapping[str, Mapping[str, Any]]


def _reason(errors: list[dict[str, Any]]) -> tuple[str, str]:
    first = errors[0] if errors else {}
    code = str(first.get("statusCode") or "UNKNOWN")
    fields = f" ({', '.join(first['fields'])})" if first.get("fields") else ""
    return code, f"{code}: {first.get('message', 'no message')}{fields}"


class AccountWriter:
    """Sends typed owned values of Accounts (id → field → JSON value)."""

    def __init__(self, client: SalesforceClient, bulk_threshold: int, bulk_poll_seconds: int,
                 on_bulk: Callable[[str, int, int], None] | None = None) -> None:
        self.client, self.bulk_threshold, self.bulk_poll_seconds = client, bulk_threshold, bulk_poll_seconds
        self._on_bulk = on_bulk

    def write(self, updates: Updates, sobject: str = "Account") -> WriteOutcome:
        """Collections below the bulk threshold, one bulk job at or above it."""
        if len(updates) >= self.bulk_threshold:
            return self._bulk(updates, sobject)
        return self._collections(updates, sobject)

    def _collections(self, updates: Updates, sobject: str = "Account") -> WriteOutcome:
        """Collections of :data:`COLLECTION_SIZE`, each never applied twice; retriable refusals sent once more."""
        succeeded: list[str] = []
        failed: dict[str, str] = {}
        ids = list(updates)
        for start in range(0, len(ids), COLLECTION_SIZE):
            chunk = ids[start:start + COLLECTION_SIZE]
            errors = self._collection(chunk, updates, sobject)
            retry = [i for i, (code, _) in errors.items() if code not in PERMANENT_CODES]
            if retry:
                again = self._collection(retry, updates, sobject)
                errors = {i: e for i, e in errors.items() if i not in retry} | again
            failed.update({i: reason for i, (_, reason) in errors.items()})
            succeeded.extend(i for i in chunk if i not in errors)
        return WriteOutcome(tuple(succeeded), failed)

    def _collection(self, ids: list[str], updates: Updates, sobject: str = "Account") -> dict[str, tuple[str, str]]:
        """One collection, never applied twice (see :func:`connectors.idempotent.update_once`); id → (error
        code, reason) for the records that failed."""
        codes: dict[str, tuple[str, str]] = {}

        def send(pending: list[str]) -> dict[str, str]:
            errors = self._send(pending, updates, sobject)
            codes.update(errors)
            return {i: reason for i, (_, reason) in errors.items()}

        failed, _ = update_once(ids, send, lambda pending: self._holding(pending, updates, sobject),
                                self.client.retrying)
        return {i: codes[i] for i in failed}

    def holding(self, updates: Updates, sobject: str = "Account") -> set[str]:
        """The records whose fields already hold their update: a query per collection, retried."""
        ids, held = list(updates), set()
        for start in range(0, len(ids), COLLECTION_SIZE):
            chunk = ids[start:start + COLLECTION_SIZE]
            held |= self.client.retrying(partial(self._holding, chunk, updates, sobject))
        return held

    def _holding(self, ids: list[str], updates: Updates, sobject: str) -> set[str]:
        """The records (one query, one attempt) whose fields already hold their update."""
        names = sorted({name for i in ids for name in updates[i]})
        soql = format_soql(f"SELECT Id, {', '.join(names)} FROM {sobject} WHERE Id IN {{ids}}", ids=ids)
        result = self.client.call("GET query", lambda sf: sf.query(soql), retry=False,
                                  expect=lambda page: check_query_page(page, "Id"))
        shown = {str(r["Id"]): r for r in result["records"]}
        return {i for i in ids if i in shown and all(same_value(v, _field(shown[i], k)) for k, v in updates[i].items())}

    def _send(self, ids: list[str], updates: Updates, sobject: str) -> dict[str, tuple[str, str]]:
        """One collection call, one attempt; id → (error code, reason) for the records that failed."""
        body = {"allOrNone": False,
                "records": [{"attributes": {"type": sobject}, "id": i, **updates[i]} for i in ids]}
        results = self.client.call("PATCH composite/sobjects",
                                   lambda sf: sf.restful("composite/sobjects", method="PATCH", json=body),
                                   retry=False) or []
        errors: dict[str, tuple[str, str]] = {}
        for record_id, result in zip(ids, results, strict=False):
            if not result.get("success"):
                errors[record_id] = _reason(result.get("errors") or [])
        for record_id in ids[len(results):]:
            errors[record_id] = ("UNKNOWN", "UNKNOWN: no result returned for this record")
        return errors

    def _after_unknown_job(self, updates: Updates, sobject: str) -> WriteOutcome:
        """A bulk job that may have run, in part or whole: what already holds is done, the rest is sent
        through collections (a second job could apply every record twice)."""
        held = self.holding(updates, sobject)
        rest = self._collections({i: v for i, v in updates.items() if i not in held}, sobject)
        return WriteOutcome((*sorted(held), *rest.succeeded), rest.failed)

    def _failed_records(self, job_id: str, sobject: str) -> str:
        return self.client.call("GET jobs/ingest/{id}/failedResults",
                                lambda sf: getattr(_bulk2(sf), sobject).get_failed_records(job_id))

    def _bulk(self, updates: Updates, sobject: str) -> WriteOutcome:
        """One Bulk API 2.0 update job; failed records fetched and reported."""
        rows = [{"Id": i, **{k: _csv_value(v) for k, v in values.items()}} for i, values in updates.items()]
        columns = list(dict.fromkeys(k for row in rows for k in row))
        records = [{c: row.get(c, "") for c in columns} for row in rows]
        try:
            jobs = self.client.call("POST jobs/ingest (update)", lambda sf: getattr(_bulk2(sf), sobject).update(
                records=records, wait=self.bulk_poll_seconds), retry=False)
        except SalesforceOperationError as exc:
            return WriteOutcome((), {i: f"BULK_JOB_FAILED: {exc}"[:300] for i in updates})
        except RetriableError:
            return self._after_unknown_job(updates, sobject)
        failed: dict[str, str] = {}
        for job in jobs:
            if int(job.get("numberRecordsFailed", 0)):
                failed.update(_failed_rows(self._failed_records(str(job["job_id"]), sobject)))
        if self._on_bulk is not None:
            self._on_bulk(",".join(str(j["job_id"]) for j in jobs), len(updates), len(failed))
        return WriteOutcome(tuple(i for i in updates if i not in failed), failed)


def _field(record: Mapping[str, Any], name: str) -> Any:
    """A field of a queried record, whatever the case of its name (Salesforce names are case-insensitive)."""
    if name in record:
        return record[name]
    return next((v for k, v in record.items() if k.lower() == name.lower()), None)


def _bulk2(sf: Salesforce) -> SFBulk2Handler:
    return cast(SFBulk2Handler, sf.bulk2)


def _csv_value(value: Any) -> str:
    """Bulk CSV: ``#N/A`` clears a field (an empty cell would leave it unchanged)."""
    if value is None:
        return "#N/A"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _failed_rows(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(text.replace("\x00", ""))):
        record_id = row.get("sf__Id") or row.get("Id") or ""
        if record_id:
            out[record_id] = f"bulk: {row.get('sf__Error') or 'no reason given'}"[:300]
    return out
