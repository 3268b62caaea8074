"""Review tasks in HubSpot: batch create with associations, look-up by review key, batch completion.

HubSpot has no idempotency key for creates, so each task's body ends with its review key (one
alphanumeric search token): ``POST /crm/v3/objects/tasks/search`` with ``CONTAINS_TOKEN`` finds a
task an interrupted attempt created, up to five keys a call (one filter group each, HubSpot's
limit). ``POST /crm/v3/objects/tasks/batch/create`` takes up to 100 tasks with their
associations (developers.hubspot.com/docs/api-reference/latest/crm/activities/tasks/batch/create-tasks)
and answers 201 with the created tasks, in no promised order, so each is matched to its request by
the key in its body. It is sent once, without the client's retries: after a failure whose outcome
is unknown (5xx, timeout) the keys are looked up before anything is sent again
(:func:`connectors.idempotent.create_once`). Completion is ``batch/update`` of
``hs_task_status=COMPLETED`` and the final body, which is idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from functools import partial
from typing import Any

from connectors.base import TaskCompletion, TaskOutcome, TaskRequest, WriteOutcome
from connectors.errors import FatalError
from connectors.http import RetryPolicy
from connectors.hubspot.client import HubSpotClient, page_check
from connectors.idempotent import create_once

__all__ = ["TASK_BATCH", "TASK_TO_COMPANY", "HubSpotTasks", "task_body"]

TASK_BATCH = 100
TASK_TO_COMPANY = 192
SEARCH_GROUPS = 5
SEARCH_SETTLE = 5.0
"""Seconds to wait before searching for tasks a failed call may have created: new records take seconds
to appear in HubSpot's search (developers.hubspot.com/docs/api-reference/search/guide)."""
_KEY = re.compile(r"Review key: (\w+)\s*$")


def task_body(body: str, key: str) -> str:
    """The task body as stored in HubSpot: the text, then the review key on its own last line."""
    return f"{body}\n\nReview key: {key}"


def _key_of(properties: dict[str, Any] | None) -> str | None:
    found = _KEY.search(str((properties or {}).get("hs_task_body") or ""))
    return found.group(1) if found else None


def _input(task: TaskRequest) -> dict[str, Any]:
    properties = {"hs_task_subject": task.subject[:250], "hs_task_body": task_body(task.body, task.key),
                  "hs_timestamp": task.due.isoformat().replace("+00:00", "Z"), "hs_task_status": "NOT_STARTED",
                  "hs_task_priority": task.priority, "hs_task_type": "TODO"}
    if task.owner_id:
        properties["hubspot_owner_id"] = task.owner_id
    associations = [{"to": {"id": task.account_id}, "types": [
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": TASK_TO_COMPANY}]}] if task.account_id else []
    return {"properties": properties, "associations": associations}


class HubSpotTasks:
    """One portal's review tasks."""

    def __init__(self, client: HubSpotClient, policy: RetryPolicy, settle: float = SEARCH_SETTLE) -> None:
        self.client, self.policy, self.settle = client, policy, settle

    def find(self, keys: Sequence[str]) -> dict[str, str]:
        """key → task id of the tasks carrying these review keys."""
        api = self.client.api("crm.objects.tasks.search_api")
        found: dict[str, str] = {}
        for start in range(0, len(keys), SEARCH_GROUPS):
            wanted = set(keys[start:start + SEARCH_GROUPS])
            body = {"filterGroups": [{"filters": [{"propertyName": "hs_task_body", "operator": "CONTAINS_TOKEN",
                                                   "value": k}]} for k in sorted(wanted)],
                    "properties": ["hs_task_body"], "limit": 100, "after": "0", "sorts": []}
            response = self.client.call("POST /crm/v3/objects/tasks/search", api.do_search, body, search=True,
                                        expect=page_check("id", properties=True))
            for result in response.results or []:
                key = _key_of(result.properties)
                if key in wanted and key not in found:
                    found[key] = str(result.id)
        return found

    def ensure(self, tasks: Sequence[TaskRequest], look_up: Collection[str]) -> TaskOutcome:
        """Create the tasks 100 a call, never twice (see the module's docstring)."""
        ids: dict[str, str] = {}
        failed: dict[str, str] = {}
        found: set[str] = set()
        for start in range(0, len(tasks), TASK_BATCH):
            chunk = {t.key: t for t in tasks[start:start + TASK_BATCH]}
            done, refused, existing = create_once(list(chunk), partial(self._create, tasks=chunk),
                                                  self.find, self.policy, [k for k in chunk if k in look_up],
                                                  settle=self.settle)
            ids.update(done)
            failed.update(refused)
            found.update(existing)
        return TaskOutcome(ids, failed, frozenset(found))

    def _create(self, keys: list[str], tasks: dict[str, TaskRequest]) -> tuple[dict[str, str], dict[str, str]]:
        api = self.client.api("crm.objects.tasks.batch_api")
        body = {"inputs": [_input(tasks[k]) for k in keys]}
        try:
            response = self.client.call("POST /crm/v3/objects/tasks/batch/create", api.create, body, retry=False,
                                        expect=page_check("id", properties=True))
        except FatalError as exc:
            if exc.status != 400:
                raise
            if len(keys) == 1:
                return {}, {keys[0]: str(exc)}
            return self._one_by_one(keys, tasks)
        created = {k: str(r.id) for r in response.results or [] if (k := _key_of(r.properties)) in tasks}
        errors = {k: str(getattr(e, "message", e)) for e in getattr(response, "errors", None) or []
                  for k in keys if k not in created}
        return created, errors

    def _one_by_one(self, keys: list[str], tasks: dict[str, TaskRequest]) -> tuple[dict[str, str], dict[str, str]]:
        """A batch refused as invalid: each task on its own, so one bad task does not hold back the rest."""
        created: dict[str, str] = {}
        refused: dict[str, str] = {}
        for key in keys:
            done, failed = self._create([key], tasks)
            created.update(done)
            refused.update(failed)
        return created, refused

    def complete(self, completions: Sequence[TaskCompletion]) -> WriteOutcome:
        """Mark tasks COMPLETED with their final body, 100 a call."""
        api = self.client.api("crm.objects.tasks.batch_api")
        succeeded: list[str] = []
        failed: dict[str, str] = {}
        for start in range(0, len(completions), TASK_BATCH):
            chunk = completions[start:start + TASK_BATCH]
            body = {"inputs": [{"id": c.task_id, "properties": {"hs_task_status": "COMPLETED",
                                                                "hs_task_body": task_body(c.body, c.key)}}
                               for c in chunk]}
            response = self.client.call("POST /crm/v3/objects/tasks/batch/update", api.update, body)
            errors = {str(i): f"{e.category}: {e.message}" for e in getattr(response, "errors", None) or []
                      for i in (e.context or {}).get("ids", [])}
            failed.update({c.task_id: errors[c.task_id] for c in chunk if c.task_id in errors})
            succeeded.extend(c.task_id for c in chunk if c.task_id not in errors)
        return WriteOutcome(tuple(succeeded), failed)
