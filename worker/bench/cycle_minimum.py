"""The least API calls a cycle's work needs, endpoint by endpoint, and the floor a rate limit imposes.

The minimum counts what the work itself needs, from the sandbox's ground truth, not from what the
worker did:

- a full pull reads every record through the list endpoint (HubSpot 100 a page; Salesforce query
  pages of 2,000); an incremental one needs one search per object to detect change, plus a page per
  200 (HubSpot) or 2,000 (Salesforce) records modified since the previous cycle started (the
  worker's own write-back included: its records' modification stamps moved, and only reading them
  shows that nothing else did);
- HubSpot association reads: one per 1,000 modified deals or notes and target;
- writes: one batch per 100 (HubSpot) or collection per 200 (Salesforce) records that needed a write,
  accounts and open deals alike; review tasks likewise through the batch endpoints. Salesforce
  accounts and deals may each go in one Bulk API 2.0 job instead (create, upload, close, and at least
  one status read): its four calls are the minimum when they are fewer than the collections;
- owners: one page per 100 (HubSpot) or 2,000 (Salesforce); every other endpoint the cycle used
  (properties, pipelines, account details, describe, task look-ups, a login): one call each;
- reads of the scoring attributes' property history (HubSpot batch read with history, Salesforce
  AccountHistory queries, for refinement's leakage evidence) are counted as made: :data:`AS_MADE`,
  their need is not modelled here. Other Salesforce queries that share the query endpoint (the org's
  currency, Task statuses) are not added to its minimum: the ratio is the stricter for it.
"""

from __future__ import annotations

import math
import re
from typing import Any

HUBSPOT_OBJECTS = {"companies": "accounts", "deals": "deals", "notes": "notes"}
AS_MADE = ("POST /crm/v3/objects/companies/batch/read", "GET query AccountHistory (all pages)")
BULK_STEPS = ("POST jobs/ingest", "PUT jobs/ingest/{id}/batches", "PATCH jobs/ingest/{id}", "GET jobs/ingest/{id}")
_ASSOCIATION = re.compile(r"^POST /crm/v4/associations/(\w+)/(\w+)/batch/read$")


def _pages(records: int, size: int) -> int:
    return math.ceil(records / size) if records > 0 else 0


def minimum_calls(info: dict[str, Any], calls: dict[str, int], summary: dict[str, Any],
                  modified: dict[str, int] | None) -> dict[str, int]:
    """The minimum calls per endpoint for the cycle's work (``modified``: records changed since the
    previous cycle started, None for a first cycle)."""
    if info["crm"] == "hubspot":
        return _hubspot(info, calls, summary, modified)
    return _salesforce(info, calls, summary, modified)


def _hubspot(info: dict[str, Any], calls: dict[str, int], summary: dict[str, Any],
             modified: dict[str, int] | None) -> dict[str, int]:
    least: dict[str, int] = {}
    writes = summary["written"] + summary["write_failures"]
    for endpoint in calls:
        least[endpoint] = 1
        association = _ASSOCIATION.match(endpoint)
        if association:
            source = HUBSPOT_OBJECTS.get(association.group(1), association.group(1))
            least[endpoint] = _pages((modified or {}).get(source, 0), 1000)
        elif endpoint == "GET /crm/v3/owners/":
            least[endpoint] = max(1, _pages(info["owners"], 100))
        elif endpoint == "POST /crm/v3/objects/companies/batch/update":
            least[endpoint] = _pages(writes, 100)
        elif endpoint == "POST /crm/v3/objects/deals/batch/update":
            least[endpoint] = _pages(_deal_writes(summary), 100)
        elif endpoint in ("POST /crm/v3/objects/tasks", "POST /crm/v3/objects/tasks/batch/create"):
            least[endpoint] = 0
        elif endpoint in AS_MADE:
            least[endpoint] = calls[endpoint]
    for hubspot_object, object_type in HUBSPOT_OBJECTS.items():
        listed = f"GET /crm/v3/objects/{hubspot_object}"
        searched = f"POST /crm/v3/objects/{hubspot_object}/search"
        if modified is None or listed in calls:
            least[listed] = max(1, _pages(info[object_type], 100))
        else:
            least[searched] = max(1, _pages(modified.get(object_type, 0), 200))
    tasks = summary["tasks_created"]
    if tasks:
        batch = "POST /crm/v3/objects/tasks/batch/create"
        least[batch if batch in calls else "POST /crm/v3/objects/tasks"] = _pages(tasks, 100)
    return least


def _deal_writes(summary: dict[str, Any]) -> int:
    return int(summary.get("deals_written", 0)) + int(summary.get("deal_write_failures", 0))


def salesforce_endpoint(endpoint: str) -> str:
    """Query pages (first and following, query and queryAll) counted as one endpoint; a labelled query
    (``GET query AccountHistory``) as one of its own."""
    if endpoint.endswith("(all pages)"):
        return endpoint
    method, _, path = endpoint.partition(" ")
    first = path.split("/")[0]
    kind, _, label = first.partition(" ")
    if method != "GET" or kind not in ("query", "queryAll"):
        return endpoint
    return f"GET query {label} (all pages)" if label else "GET query (all pages)"


def _salesforce(info: dict[str, Any], calls: dict[str, int], summary: dict[str, Any],
                modified: dict[str, int] | None) -> dict[str, int]:
    least = {salesforce_endpoint(e): 1 for e in calls}
    objects = ("accounts", "deals", "notes")
    if modified is None:
        pages = sum(max(1, _pages(info[o], 2000)) for o in objects)
    else:
        pages = sum(max(1, _pages(modified.get(o, 0), 2000)) for o in objects)
    least["GET query (all pages)"] = pages + max(1, _pages(info["owners"], 2000))
    for endpoint in AS_MADE:
        if endpoint in calls:
            least[endpoint] = calls[endpoint]
    _salesforce_writes(least, calls, summary)
    tasks = summary["tasks_created"]
    created = [e for e in least if e in ("POST composite/sobjects", "POST sobjects/Task")
               or e.startswith("PATCH composite/sobjects/Task/")]
    for endpoint in created:
        least[endpoint] = 0
    if tasks:  # created, or upserted on the review key, 200 a collection
        least[next((e for e in created if e.startswith("PATCH")), "POST composite/sobjects")] = _pages(tasks, 200)
    return least


def _salesforce_writes(least: dict[str, int], calls: dict[str, int], summary: dict[str, Any]) -> None:
    """Accounts and deals each through collections of 200 or one Bulk API 2.0 job, whichever takes fewer calls
    (a job only counts where the worker has the bulk path at all)."""
    has_bulk = any(e in calls for e in BULK_STEPS)
    collections, jobs = 0, 0
    for records in (summary["written"] + summary["write_failures"], _deal_writes(summary)):
        if has_bulk and _pages(records, 200) > len(BULK_STEPS):
            jobs += 1
        else:
            collections += _pages(records, 200)
    for endpoint in BULK_STEPS:
        if endpoint in calls or jobs:
            least[endpoint] = jobs
    if collections or "PATCH composite/sobjects" in calls:
        least["PATCH composite/sobjects"] = collections


def floor_seconds(calls: int, searches: int, per_10s: int, search_per_second: int) -> float:
    """The least wall time a rolling limit allows.

    No window of 10 s may hold more than ``per_10s`` calls, so call ``k * per_10s + 1`` cannot go before
    ``k * 10`` s after the first: the floor is ``10 * ((calls - 1) // per_10s)`` (not ``calls / rate``,
    which a rolling window never reaches). Searches, exempt from that window, are held to
    ``search_per_second`` in any second the same way.
    """
    burst = 10.0 * ((calls - 1) // per_10s) if calls > 0 else 0.0
    search = float((searches - 1) // search_per_second) if searches > 0 else 0.0
    return max(burst, search)
