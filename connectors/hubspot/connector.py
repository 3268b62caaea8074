"""The HubSpot connector: companies, deals, owners and notes in; owned company properties and tasks out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from connectors.base import (
    AccessReport,
    AccessRequest,
    Connector,
    FieldDefinition,
    FieldSpec,
    History,
    ObjectType,
    OwnedFieldStatus,
    Page,
    PortalDetails,
    PullRequest,
    RawRecord,
    TaskCompletion,
    TaskOutcome,
    TaskRequest,
    ValueChange,
    WriteOutcome,
)
from connectors.errors import FatalError, RetriableError
from connectors.http import RetryPolicy
from connectors.hubspot.access import HubSpotAccess
from connectors.hubspot.client import HubSpotClient, page_check
from connectors.hubspot.streams import SEARCH_CAP, STREAMS, SearchWindows, list_pages, parse_time
from connectors.hubspot.tasks import HubSpotTasks
from connectors.hubspot.vocabulary import field_definitions, portal_details
from connectors.idempotent import same_value, update_once

BATCH_SIZE = 100
HISTORY_BATCH = 50
ASSOCIATION_BATCH = 1000
"""Inputs of one association batch read (developers.hubspot.com/changelog/bug-fix-batch-read-limit-for-hubspot-
associations-api: at most 1,000 ids per request body since February 2025)."""
PROPERTY_GROUP = "icp_fit"
_OBJECTS = {"accounts": "companies", "deals": "deals"}
_FIELD_TYPES = {"number": ("number", "number"), "string": ("string", "text"),
                "text": ("string", "textarea"), "datetime": ("datetime", "date")}


@dataclass(frozen=True)
class HubSpotSettings:
    """Connection settings; the token comes from the environment or a secrets file, never from code."""

    access_token: str
    base_url: str = "https://api.hubapi.com"
    timeout: tuple[float, float] = (5.0, 60.0)
    per_10s: int = 90
    search_per_second: int = 4
    search_cap: int = SEARCH_CAP
    retry: RetryPolicy = RetryPolicy()

    def __repr__(self) -> str:
        return f"HubSpotSettings(base_url={self.base_url!r}, access_token='***')"


class HubSpotConnector(Connector):
    """One HubSpot portal."""

    name = "hubspot"

    def __init__(self, settings: HubSpotSettings,
                 on_retry: Callable[[RetriableError, int, float], None] | None = None) -> None:
        self.settings = settings
        self.client = HubSpotClient(settings.access_token, settings.base_url, settings.timeout,
                                    settings.per_10s, settings.search_per_second, settings.retry, on_retry)
        self._stages: dict[tuple[str, str], str] | None = None
        self._tasks = HubSpotTasks(self.client, settings.retry)

    @property
    def calls(self) -> Counter[str]:  # type: ignore[override]
        """API calls made, by endpoint."""
        return self.client.calls

    # -- pulling ---------------------------------------------------------------------------------

    def pull(self, request: PullRequest) -> Iterator[Page]:
        """Pages of raw records: a full list pull, or an ordered incremental search pull."""
        if request.object_type == "owners":
            yield Page(self._owners(), ordered=False)
            return
        stream = STREAMS[request.object_type]
        properties = list(dict.fromkeys([*request.properties, stream.cursor, "hs_object_id"]))
        if request.since is None:
            for results in list_pages(self.client, stream, properties):
                yield Page([self._record(stream.object_type, r, _listed_associations(r)) for r in results], False)
            return
        windows = SearchWindows(self.client, stream, properties, self.settings.search_cap)
        for results in _gathered(windows.pages(request.since, request.until, request.seen_at_since),
                                 ASSOCIATION_BATCH if stream.associations else 1):
            links = self._associations(stream.hubspot_object, stream.associations, [str(r.id) for r in results])
            yield Page([self._record(stream.object_type, r, links.get(str(r.id), {})) for r in results], True)

    def _owners(self) -> list[RawRecord]:
        endpoint = "GET /crm/v3/owners/"
        api = self.client.api("crm.owners.owners_api")
        records: list[RawRecord] = []
        after: str | None = None
        seen: set[str] = set()
        while True:
            kwargs: dict[str, Any] = {"limit": 100, "archived": False}
            if after:
                kwargs["after"] = after
            page = self.client.call(endpoint, api.get_page, expect=page_check(), **kwargs)
            for owner in page.results:
                properties = {"email": owner.email, "firstName": owner.first_name, "lastName": owner.last_name,
                              "archived": owner.archived, "type": getattr(owner, "type", None)}
                records.append(RawRecord("owners", str(owner.id), owner.updated_at, properties))
            after = getattr(getattr(page.paging, "next", None), "after", None) if page.paging else None
            if not after:
                return records
            if after in seen:
                raise FatalError(f"{endpoint}: pagination loop, cursor {after!r} came back")
            seen.add(after)

    def _record(self, object_type: str, obj: Any, links: Mapping[str, list[str]]) -> RawRecord:
        properties = dict(obj.properties or {})
        modified = parse_time(properties.get("hs_lastmodifieddate")) or parse_time(obj.updated_at)
        derived: dict[str, Any] = {}
        if object_type == "deals":
            derived["outcome"] = self._outcome(properties)
            derived["account_id"] = _first(links, "companies")
            derived["account_ids"] = links.get("companies", [])
        elif object_type == "notes":
            derived["account_id"] = _first(links, "companies")
            derived["deal_id"] = _first(links, "deals")
        return RawRecord(object_type, str(obj.id), modified, properties, derived,  # type: ignore[arg-type]
                         deleted=bool(getattr(obj, "archived", False)))

    def _outcome(self, properties: Mapping[str, Any]) -> str:
        """won / lost / open from the pipeline stage's metadata, never from the stage's name."""
        stages = self._stage_outcomes()
        outcome = stages.get((str(properties.get("pipeline")), str(properties.get("dealstage"))))
        if outcome is not None:
            return outcome
        if str(properties.get("hs_is_closed_won", "")).lower() == "true":
            return "won"
        return "lost" if str(properties.get("hs_is_closed", "")).lower() == "true" else "open"

    def _stage_outcomes(self) -> dict[tuple[str, str], str]:
        if self._stages is None:
            api = self.client.api("crm.pipelines.pipelines_api")
            response = self.client.call("GET /crm/v3/pipelines/deals", api.get_all, "deals", expect=page_check())
            self._stages = {}
            for pipeline in response.results:
                for stage in pipeline.stages or []:
                    metadata = stage.metadata or {}
                    closed = str(metadata.get("isClosed", "false")).lower() == "true"
                    probability = float(metadata.get("probability") or 0)
                    outcome = ("won" if probability >= 1.0 else "lost") if closed else "open"
                    self._stages[(str(pipeline.id), str(stage.id))] = outcome
        return self._stages

    def _associations(self, from_object: str, targets: Sequence[str],
                      ids: Sequence[str]) -> dict[str, dict[str, list[str]]]:
        links: dict[str, dict[str, list[str]]] = {}
        api = self.client.api("crm.associations.v4.batch_api")
        for target in targets:
            endpoint = f"POST /crm/v4/associations/{from_object}/{target}/batch/read"
            for start in range(0, len(ids), ASSOCIATION_BATCH):
                body = {"inputs": [{"id": i} for i in ids[start:start + ASSOCIATION_BATCH]]}
                response = self.client.call_json(endpoint, api.get_page, from_object, target, body,
                                                 expect=page_check("_from"))
                for result in response.results:
                    source = str(result._from.id)
                    found = [str(t.to_object_id) for t in result.to or []]
                    links.setdefault(source, {})[target] = list(dict.fromkeys(found))
        return links

    # -- owned fields ----------------------------------------------------------------------------

    def check_fields(self, owned: Sequence[FieldSpec]) -> OwnedFieldStatus:
        """Which owned company (and deal) properties are missing or read-only."""
        missing: list[str] = []
        for hubspot_object in dict.fromkeys(_OBJECTS[f.object_type] for f in owned) or ["companies"]:
            api = self.client.api("crm.properties.core_api")
            response = self.client.call(f"GET /crm/v3/properties/{hubspot_object}", api.get_all, hubspot_object,
                                        expect=page_check("name"))
            usable = {p.name for p in response.results
                      if not getattr(getattr(p, "modification_metadata", None), "read_only_value", False)}
            missing += [f.name for f in owned if _OBJECTS[f.object_type] == hubspot_object and f.name not in usable]
        how = ("Run `icp setup` with a private-app token that has the crm.schemas.companies.write scope, "
               f"or create them by hand in Settings > Properties > Companies (group '{PROPERTY_GROUP}').")
        return OwnedFieldStatus(tuple(missing), how if missing else "")

    def setup_fields(self, owned: Sequence[FieldSpec]) -> list[str]:
        """Create the property group and the missing owned properties (companies, deals). Idempotent."""
        missing = self.check_fields(owned).missing
        if not missing:
            return []
        api = self.client.api("crm.properties.core_api")
        created = []
        for spec in (f for f in owned if f.name in missing):
            hubspot_object = _OBJECTS[spec.object_type]
            self._ensure_group(hubspot_object)
            kind, field_type = _FIELD_TYPES[spec.type]
            body = {"name": spec.name, "label": spec.label, "type": kind, "fieldType": field_type,
                    "groupName": PROPERTY_GROUP, "description": spec.description}
            self.client.call(f"POST /crm/v3/properties/{hubspot_object}", api.create, hubspot_object, body)
            created.append(spec.name)
        return created

    def _ensure_group(self, hubspot_object: str = "companies") -> None:
        api = self.client.api("crm.properties.groups_api")
        groups = self.client.call(f"GET /crm/v3/properties/{hubspot_object}/groups", api.get_all, hubspot_object)
        if any(g.name == PROPERTY_GROUP for g in groups.results or []):
            return
        body = {"name": PROPERTY_GROUP, "label": "ICP Fit", "displayOrder": -1}
        self.client.call(f"POST /crm/v3/properties/{hubspot_object}/groups", api.create, hubspot_object, body)

    # -- writing ---------------------------------------------------------------------------------

    def holding(self, updates: Mapping[str, Mapping[str, str | None]]) -> set[str]:
        """Batch reads of 100 companies (``POST /crm/v3/objects/companies/batch/read``)."""
        ids, held = list(updates), set()
        for start in range(0, len(ids), BATCH_SIZE):
            chunk = ids[start:start + BATCH_SIZE]
            held |= self.client.retrying(partial(self._holding, chunk, updates, "companies"))
        return held

    def write_chunk(self, pending: int) -> int:
        """One batch (100) a call: the worker saves snapshots after each, so a crash sends at most one again."""
        return BATCH_SIZE

    def write_accounts(self, updates: Mapping[str, Mapping[str, str | None]]) -> WriteOutcome:
        """Batch-update owned properties, 100 per call; a 207 retries only its failed records, once."""
        return self._write("companies", updates)

    def write_deals(self, updates: Mapping[str, Mapping[str, str | None]]) -> WriteOutcome:
        """Batch-update owned deal properties, 100 per call (``POST /crm/v3/objects/deals/batch/update``)."""
        return self._write("deals", updates)

    def _write(self, hubspot_object: str, updates: Mapping[str, Mapping[str, str | None]]) -> WriteOutcome:
        ids = list(updates)
        succeeded: list[str] = []
        failed: dict[str, str] = {}
        for start in range(0, len(ids), BATCH_SIZE):
            chunk = ids[start:start + BATCH_SIZE]
            errors = self._update_batch(chunk, updates, hubspot_object)
            if errors:
                errors = self._update_batch(list(errors), updates, hubspot_object)
            failed.update(errors)
            succeeded.extend(i for i in chunk if i not in errors)
        return WriteOutcome(tuple(succeeded), failed)

    def _update_batch(self, ids: list[str], updates: Mapping[str, Mapping[str, str | None]],
                      hubspot_object: str = "companies") -> dict[str, str]:
        """One batch update, never applied twice: see :func:`connectors.idempotent.update_once`."""
        errors, _ = update_once(ids, lambda pending: self._send_batch(pending, updates, hubspot_object),
                                lambda pending: self._holding(pending, updates, hubspot_object),
                                self.client.retrying)
        return errors

    def _send_batch(self, ids: list[str], updates: Mapping[str, Mapping[str, str | None]],
                    hubspot_object: str) -> dict[str, str]:
        api = self.client.api(f"crm.{hubspot_object}.batch_api")
        body = {"inputs": [{"id": i, "properties": {k: ("" if v is None else v) for k, v in updates[i].items()}}
                           for i in ids]}
        response = self.client.call_json(f"POST /crm/v3/objects/{hubspot_object}/batch/update", api.update, body,
                                         retry=False)
        errors: dict[str, str] = {}
        for error in getattr(response, "errors", None) or []:
            context = error.context or {}
            for failed_id in context.get("ids", []):
                errors[str(failed_id)] = f"{error.category}: {error.message}"
        unknown = [i for i in errors if i not in ids]
        for i in unknown:
            errors.pop(i)
        return errors

    def _holding(self, ids: list[str], updates: Mapping[str, Mapping[str, str | None]],
                 hubspot_object: str) -> set[str]:
        """The records (one batch read, one attempt) whose properties already hold their update."""
        api = self.client.api(f"crm.{hubspot_object}.batch_api")
        names = sorted({name for i in ids for name in updates[i]})
        body = {"inputs": [{"id": i} for i in ids], "properties": names}
        response = self.client.call_json(f"POST /crm/v3/objects/{hubspot_object}/batch/read", api.read, body,
                                         retry=False, expect=page_check())
        shown = {str(r.id): dict(r.properties or {}) for r in response.results}
        return {i for i in ids if i in shown and all(same_value(v, shown[i].get(k)) for k, v in updates[i].items())}

    # -- tasks and reads -------------------------------------------------------------------------

    def find_task(self, key: str) -> str | None:
        """A task whose body carries the review key (the key is one alphanumeric search token)."""
        return self._tasks.find([key]).get(key)

    def create_task(self, task: TaskRequest) -> str:
        """Create one task (never twice: see :meth:`ensure_tasks`)."""
        outcome = self._tasks.ensure([task], ())
        if task.key not in outcome.ids:
            raise FatalError(f"HubSpot refused the task {task.key}: {outcome.failed.get(task.key, 'no reason given')}")
        return outcome.ids[task.key]

    def ensure_tasks(self, tasks: Sequence[TaskRequest], look_up: Collection[str] = ()) -> TaskOutcome:
        """Batch create (100 a call, associated with their companies); a failed call is retried only after
        looking its keys up, so a task is never created twice."""
        return self._tasks.ensure(tasks, look_up)

    def complete_tasks(self, completions: Sequence[TaskCompletion]) -> WriteOutcome:
        """Batch update: ``hs_task_status=COMPLETED`` and the body with the outcome, 100 a call."""
        return self._tasks.complete(completions)

    def read_account(self, account_id: str, properties: Sequence[str]) -> dict[str, Any]:
        """One company's current properties."""
        api = self.client.api("crm.companies.basic_api")
        company = self.client.call("GET /crm/v3/objects/companies/{id}", api.get_by_id, account_id,
                                   properties=list(properties), record_id=account_id)
        return dict(company.properties or {})

    def read_history(self, ids: Sequence[str], fields: Sequence[str]) -> History | None:
        """Company property history from the batch read API, 50 companies per call.

        ``POST /crm/v3/objects/companies/batch/read`` with ``propertiesWithHistory`` answers each
        company with ``propertiesWithHistory: {name: [{value, timestamp, sourceType, sourceId, ...}]}``,
        newest first; with history asked for, a batch holds at most 50 inputs. See
        https://developers.hubspot.com/docs/api-reference/latest/crm/objects/objects/batch/get-objects
        (request body) and the ValueWithTimestamp model of HubSpot's CRM objects API (response).
        """
        api = self.client.api("crm.companies.batch_api")
        history: History = {}
        for start in range(0, len(ids), HISTORY_BATCH):
            body = {"inputs": [{"id": i} for i in ids[start:start + HISTORY_BATCH]], "properties": list(fields),
                    "propertiesWithHistory": list(fields)}
            response = self.client.call("POST /crm/v3/objects/companies/batch/read", api.read, body)
            for company in getattr(response, "results", None) or []:
                changes = {name: [ValueChange(_when(v.timestamp), v.value) for v in values or []
                                  if v.timestamp is not None]
                           for name, values in (company.properties_with_history or {}).items()}
                history[str(company.id)] = {k: v for k, v in changes.items() if v}
        return history

    def read_field_definitions(self, object_type: ObjectType, names: Sequence[str]) -> list[FieldDefinition]:
        """Property and option labels from the properties API (one call per object type)."""
        return field_definitions(self.client, STREAMS[object_type].hubspot_object, names)

    def read_portal_details(self) -> PortalDetails:
        """The company currency and time zone from the account information API."""
        return portal_details(self.client)

    def check_access(self, request: AccessRequest) -> AccessReport:
        """The token, its scopes, the owned and mapped properties, and HubSpot's clock (reads only)."""
        access = HubSpotAccess(self.settings.base_url, self.settings.access_token, self.settings.timeout, self.calls)
        return access.check(request)

    def close(self) -> None:
        """Release connection pools."""
        self.client.close()


def _gathered(pages: Iterable[list[Any]], at_least: int) -> Iterator[list[Any]]:
    """Search pages joined until they hold ``at_least`` records (or the pull ends), so that one association batch
    read (up to 1,000 inputs) covers five search pages of 200 instead of one."""
    held: list[Any] = []
    for results in pages:
        held.extend(results)
        if len(held) >= at_least:
            yield held
            held = []
    if held:
        yield held


def _listed_associations(obj: Any) -> dict[str, list[str]]:
    links: dict[str, list[str]] = {}
    for name, collection in (getattr(obj, "associations", None) or {}).items():
        ids = [str(a.id) for a in (getattr(collection, "results", None) or [])]
        links[name] = list(dict.fromkeys(ids))
    return links


def _when(moment: Any) -> datetime:
    if isinstance(moment, datetime):
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    parsed = parse_time(moment)
    if parsed is None:
        raise ValueError(f"not a timestamp: {moment!r}")
    return parsed


def _first(links: Mapping[str, list[str]], target: str) -> str | None:
    found = links.get(target)
    return found[0] if found else None
