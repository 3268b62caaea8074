"""Review Tasks in Salesforce: sObject Collections upsert on the review key, batch completion.

The review key field (``ICP_Review_Key__c``, created by ``icp setup`` or the deploy package as an
External ID, unique) makes creation idempotent: ``PATCH composite/sobjects/Task/{field}`` upserts
up to 200 Tasks a call ("Upsert Records Using sObject Collections",
developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_upsert.htm),
so a retry after a 5xx or a timeout finds the Task the first attempt made instead of adding one.
Describe reports an External ID field with ``externalId: true`` (DescribeSObjectResult Field).
When the field is not an External ID, Tasks are created with ``POST composite/sobjects`` sent once,
and a failed call's keys are looked up with SOQL before anything is sent again. Keys that an
interrupted run may have created are always looked up first, so a Task someone already worked on
is never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC
from functools import partial
from typing import Any

from simple_salesforce.format import format_soql

from connectors.base import TaskCompletion, TaskOutcome, TaskRequest, WriteOutcome
from connectors.http import RetryPolicy
from connectors.idempotent import create_once
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.fields import Schema

__all__ = ["COLLECTION_SIZE", "SalesforceTasks"]

COLLECTION_SIZE = 200
Rows = Callable[[str], list[dict[str, Any]]]


def _reason(result: dict[str, Any]) -> str:
    first = (result.get("errors") or [{}])[0]
    return f"{first.get('statusCode', 'UNKNOWN')}: {first.get('message', 'no message')}"


class SalesforceTasks:
    """One org's review Tasks."""

    def __init__(self, client: SalesforceClient, schema: Schema, key_field: str, policy: RetryPolicy,
                 rows: Rows, defaults: Callable[[], dict[str, str]]) -> None:
        self.client, self.schema, self.key_field, self.policy = client, schema, key_field, policy
        self._rows, self._defaults = rows, defaults

    @property
    def upsertable(self) -> bool:
        """Whether the review key field is an External ID (describe ``externalId``)."""
        return bool(self.schema.fields("Task").get(self.key_field, {}).get("externalId"))

    def find(self, keys: Sequence[str]) -> dict[str, str]:
        """key → Task id of the Tasks carrying these review keys."""
        found: dict[str, str] = {}
        for start in range(0, len(keys), COLLECTION_SIZE):
            soql = format_soql(f"SELECT Id, {self.key_field} FROM Task WHERE {self.key_field} IN {{keys}}",
                               keys=list(keys[start:start + COLLECTION_SIZE]))
            found.update({str(r[self.key_field]): str(r["Id"]) for r in self._rows(soql) if r.get(self.key_field)})
        return found

    def record(self, task: TaskRequest) -> dict[str, Any]:
        """A Task as a collection record, with the org's default status and a matching priority."""
        defaults = self._defaults()
        body: dict[str, Any] = {"attributes": {"type": "Task"}, "Subject": task.subject[:255],
                                "Description": task.body[:32000], self.key_field: task.key,
                                "ActivityDate": task.due.astimezone(UTC).date().isoformat(),
                                "Status": defaults["status"], "Priority": defaults[task.priority]}
        if task.owner_id:
            body["OwnerId"] = task.owner_id
        if task.account_id:
            body["WhatId"] = task.account_id
        return body

    def ensure(self, tasks: Sequence[TaskRequest], look_up: Collection[str]) -> TaskOutcome:
        """Create the Tasks 200 a call, never twice (see the module's docstring)."""
        ids: dict[str, str] = {}
        failed: dict[str, str] = {}
        found: set[str] = set()
        upsert = self.upsertable
        for start in range(0, len(tasks), COLLECTION_SIZE):
            chunk = {t.key: t for t in tasks[start:start + COLLECTION_SIZE]}
            existing = self.find([k for k in chunk if k in look_up]) if any(k in look_up for k in chunk) else {}
            ids.update(existing)
            found.update(existing)
            wanted = [k for k in chunk if k not in existing]
            if not wanted:
                continue
            if upsert:
                done, refused = self._send(wanted, chunk, upsert=True)
            else:
                done, refused, again = create_once(wanted, partial(self._send, tasks=chunk, upsert=False),
                                                   self.find, self.policy)
                found.update(again)
            ids.update(done)
            failed.update(refused)
        return TaskOutcome(ids, failed, frozenset(found))

    def _send(self, keys: list[str], tasks: dict[str, TaskRequest],
              upsert: bool) -> tuple[dict[str, str], dict[str, str]]:
        body = {"allOrNone": False, "records": [self.record(tasks[k]) for k in keys]}
        if upsert:
            path = f"composite/sobjects/Task/{self.key_field}"
            results = self.client.call("PATCH composite/sobjects/{sobject}/{field}",
                                       lambda sf: sf.restful(path, method="PATCH", json=body)) or []
        else:
            results = self.client.call("POST composite/sobjects", lambda sf: sf.restful(
                "composite/sobjects", method="POST", json=body), retry=False) or []
        done: dict[str, str] = {}
        refused: dict[str, str] = {}
        for key, result in zip(keys, results, strict=False):
            if result.get("success") and result.get("id"):
                done[key] = str(result["id"])
            else:
                refused[key] = _reason(result)
        return done, refused

    def complete(self, completions: Sequence[TaskCompletion], closed_status: str) -> WriteOutcome:
        """Set each Task's status to the org's closed status and its description to the final body."""
        succeeded: list[str] = []
        failed: dict[str, str] = {}
        for start in range(0, len(completions), COLLECTION_SIZE):
            chunk = completions[start:start + COLLECTION_SIZE]
            body = {"allOrNone": False, "records": [
                {"attributes": {"type": "Task"}, "id": c.task_id, "Status": closed_status,
                 "Description": c.body[:32000]} for c in chunk]}
            results = self.client.call("PATCH composite/sobjects", partial(_patch_collection, body=body)) or []
            for completion, result in zip(chunk, results, strict=False):
                if result.get("success"):
                    succeeded.append(completion.task_id)
                else:
                    failed[completion.task_id] = _reason(result)
            failed.update({c.task_id: "UNKNOWN: no result returned" for c in chunk[len(results):]})
        return WriteOutcome(tuple(succeeded), failed)


def _patch_collection(sf: Any, body: dict[str, Any]) -> Any:
    return sf.restful("composite/sobjects", method="PATCH", json=body)
