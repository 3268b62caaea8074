"""The Salesforce connector: Accounts, Opportunities, Users and Notes in; owned Account fields and Tasks out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from simple_salesforce.format import format_soql

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
from connectors.errors import FatalError, MissingFieldsError, RetriableError
from connectors.salesforce.access import SalesforceAccess
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.fields import HOW_TO_FIX, Schema, coerce
from connectors.salesforce.session import ApiUsage
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.streams import (
    STREAMS,
    ObjectStream,
    parse_time,
    query_pages,
    to_record,
    window_soql,
    windows,
)
from connectors.salesforce.tasks import SalesforceTasks
from connectors.salesforce.vocabulary import field_definitions, portal_details
from connectors.salesforce.writes import COLLECTION_SIZE, AccountWriter

__all__ = ["SalesforceConnector"]

LOOKUP_CHUNK = 200


class SalesforceConnector(Connector):
    """One Salesforce org, through simple-salesforce and the connector's own HTTP session."""

    name = "salesforce"

    def __init__(self, settings: SalesforceSettings,
                 on_retry: Callable[[RetriableError, int, float], None] | None = None,
                 on_event: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.settings = settings
        self.client = SalesforceClient(settings, on_retry)
        self.schema = Schema(self.client, settings.review_key_field, settings.permission_set)
        self.requeued_accounts: set[str] = set()
        self._event = on_event or (lambda name, fields: None)
        self._writer = AccountWriter(self.client, settings.bulk_threshold, settings.bulk_poll_seconds,
                                     lambda jobs, sent, failed: self._event(
                                         "salesforce.bulk_job", {"jobs": jobs, "records": sent, "failed": failed}))
        self._task_defaults: dict[str, str] | None = None
        self._tasks = SalesforceTasks(self.client, self.schema, settings.review_key_field, settings.retry,
                                      self._rows, self._defaults)

    @property
    def calls(self) -> Counter[str]:  # type: ignore[override]
        """HTTP calls made, by endpoint (logins included)."""
        return self.client.calls

    @property
    def usage(self) -> ApiUsage | None:
        """The org's daily API usage as last reported (``Sforce-Limit-Info`` or ``/limits``)."""
        return self.client.usage

    # -- pulling ---------------------------------------------------------------------------------

    def pull(self, request: PullRequest) -> Iterator[Page]:
        """Ordered pages by SystemModstamp; incremental pulls use queryAll so deletions arrive too.

        A Note's ``ParentId`` names an Account or an Opportunity: a note on an Opportunity comes with its
        ``deal_id`` and no account, which the sync takes from the stored deal (no lookup query per page)."""
        stream = STREAMS[request.object_type]
        fields = self._fields(stream, request.properties)
        if stream.object_type == "notes" and request.properties and not set(request.properties) & set(fields):
            self._event("salesforce.notes_not_mapped", {"fields": list(request.properties)})
            return
        if request.object_type == "owners":
            soql = f"SELECT {', '.join(fields)} FROM User ORDER BY Id"
            yield Page([to_record(stream, r) for page in self._pages(soql, False) for r in page], ordered=False)
            return
        incremental = request.since is not None
        for start, end in windows(request.since, request.until, self.settings.window, self.settings.lookback,
                                  request.previous_until):
            soql = window_soql(stream.sobject, fields, start, end)
            for rows in self._pages(soql, incremental):
                records = [to_record(stream, r) for r in rows]
                if stream.object_type == "deals" and request.since is not None:
                    self._requeue(records, request.since)
                yield Page(records, ordered=True)

    def _requeue(self, records: list[RawRecord], since: datetime) -> None:
        """Accounts of Opportunities changed since the watermark (not the look-back re-reads) need rescoring."""
        self.requeued_accounts.update(str(r.derived["account_id"]) for r in records if r.derived.get("account_id")
                                      and r.modified_at is not None and r.modified_at >= since)

    def _pages(self, soql: str, include_deleted: bool, label: str = "") -> Iterator[list[dict[str, Any]]]:
        return query_pages(self.client, soql, include_deleted, self.settings.query_batch_size, label)

    def _fields(self, stream: ObjectStream, properties: Sequence[str]) -> list[str]:
        if stream.object_type == "owners":
            return list(stream.required)
        present, absent = self.schema.selectable(stream.sobject, [*stream.required, *properties])
        if absent:
            self._event("salesforce.fields_not_visible", {"object": stream.sobject, "fields": absent})
        return present

    # -- owned fields ----------------------------------------------------------------------------

    def check_fields(self, owned: Sequence[FieldSpec]) -> OwnedFieldStatus:
        """Reads ``/limits`` first (stopping under the reserve), then checks the owned fields through describe."""
        try:
            limits = self.client.call("GET limits", lambda sf: sf.limits())
        except FatalError as exc:
            if exc.status != 403:
                raise
            self._event("salesforce.limits_refused", {"reason": str(exc), "fix": "grant View Setup and "
                                                      "Configuration (the ICP_Worker permission set does)"})
            limits = None
        daily = (limits or {}).get("DailyApiRequests") or {}
        if "Max" in daily and "Remaining" in daily:
            maximum = int(daily["Max"])
            usage = ApiUsage(maximum - int(daily["Remaining"]), maximum)
            self._event("salesforce.api_usage", {"used": usage.used, "total": usage.total,
                                                 "reserve": self.settings.daily_reserve})
            self.client.note_usage(usage)
        return self.schema.check(owned)

    def setup_fields(self, owned: Sequence[FieldSpec]) -> list[str]:
        """Create missing owned fields (Tooling API) and grant them on the permission set. Idempotent."""
        return self.schema.setup(owned)

    # -- writing ---------------------------------------------------------------------------------

    def holding(self, updates: Mapping[str, Mapping[str, str | None]]) -> set[str]:
        """A query of 200 Accounts at a time (``SELECT Id, <fields> FROM Account WHERE Id IN (...)``)."""
        return self._writer.holding(updates)

    def write_chunk(self, pending: int) -> int:
        """Everything in one Bulk API 2.0 job at or above the bulk threshold, else one collection (200) a call:
        the worker saves snapshots after each call, so a crash sends at most one collection again."""
        return pending if pending >= self.settings.bulk_threshold else COLLECTION_SIZE

    def write_accounts(self, updates: Mapping[str, Mapping[str, str | None]]) -> WriteOutcome:
        """Typed values through sObject Collections, or one Bulk API 2.0 job above the threshold."""
        typed = {i: {name: coerce(value, self.schema.field_type("Account", name)) for name, value in values.items()}
                 for i, values in updates.items()}
        missing = sorted({n for values in updates.values() for n in values
                          if self.schema.field_type("Account", n) is None})
        if missing:
            raise MissingFieldsError(missing, HOW_TO_FIX.format(permission_set=self.settings.permission_set))
        return self._writer.write(typed)

    def write_deals(self, updates: Mapping[str, Mapping[str, str | None]]) -> WriteOutcome:
        """Owned Opportunity fields through sObject Collections, 200 a call, or one Bulk API 2.0 job above the
        threshold."""
        typed = {i: {name: coerce(value, self.schema.field_type("Opportunity", name)) for name, value in values.items()}
                 for i, values in updates.items()}
        missing = sorted({n for values in updates.values() for n in values
                          if self.schema.field_type("Opportunity", n) is None})
        if missing:
            raise MissingFieldsError([f"Opportunity.{n}" for n in missing],
                                     HOW_TO_FIX.format(permission_set=self.settings.permission_set))
        return self._writer.write(typed, "Opportunity")

    # -- tasks and reads -------------------------------------------------------------------------

    def find_task(self, key: str) -> str | None:
        """The Task carrying this review key, if any."""
        return self._tasks.find([key]).get(key)

    def create_task(self, task: TaskRequest) -> str:
        """Create one Task (upserted on the review key when it is an External ID; never twice)."""
        outcome = self._tasks.ensure([task], ())
        if task.key not in outcome.ids:
            raise FatalError(f"Salesforce created no Task for review key {task.key}: "
                             f"{outcome.failed.get(task.key, 'no reason given')}")
        return outcome.ids[task.key]

    def ensure_tasks(self, tasks: Sequence[TaskRequest], look_up: Collection[str] = ()) -> TaskOutcome:
        """sObject Collections of 200, upserted on the review key (see :mod:`connectors.salesforce.tasks`)."""
        return self._tasks.ensure(tasks, look_up)

    def complete_tasks(self, completions: Sequence[TaskCompletion]) -> WriteOutcome:
        """The org's closed Task status and the final description, 200 a call."""
        return self._tasks.complete(completions, self._defaults()["closed"])

    def _defaults(self) -> dict[str, str]:
        """The org's default and closed Task statuses, and priorities for HIGH / MEDIUM / LOW from TaskPriority."""
        if self._task_defaults is None:
            statuses = self._rows("SELECT MasterLabel, IsDefault, IsClosed, SortOrder FROM TaskStatus "
                                  "ORDER BY SortOrder")
            priorities = self._rows("SELECT MasterLabel, IsDefault, IsHighPriority, SortOrder FROM TaskPriority "
                                    "ORDER BY SortOrder")
            opening = next((s for s in statuses if s.get("IsDefault")), None)
            closed = next((s for s in statuses if s.get("IsClosed")), None)
            if opening is None or closed is None or not priorities:
                raise FatalError("the org has no default Task status, no closed Task status or no Task priorities")
            default = next((p for p in priorities if p.get("IsDefault")), priorities[0])
            high = next((p for p in priorities if p.get("IsHighPriority")), default)
            low = priorities[-1] if priorities[-1] is not high else default
            self._task_defaults = {"status": str(opening["MasterLabel"]), "closed": str(closed["MasterLabel"]),
                                   "HIGH": str(high["MasterLabel"]), "MEDIUM": str(default["MasterLabel"]),
                                   "LOW": str(low["MasterLabel"])}
        return self._task_defaults

    def _rows(self, soql: str) -> list[dict[str, Any]]:
        return [r for page in self._pages(soql, False) for r in page]

    def read_account(self, account_id: str, properties: Sequence[str]) -> dict[str, Any]:
        """One Account's current values of the visible fields asked for."""
        present, _ = self.schema.selectable("Account", properties)
        params = {"fields": ",".join(present)} if present else None
        record = self.client.call("GET sobjects/Account/{id}", lambda sf: sf.restful(
            f"sobjects/Account/{account_id}", params=params), record_id=account_id)
        return {k: v for k, v in (record or {}).items() if k != "attributes"}

    def read_history(self, ids: Sequence[str], fields: Sequence[str]) -> History | None:
        """Account field history (AccountHistory), where field history tracking is enabled; else None.

        ``SELECT AccountId, Field, NewValue, CreatedDate FROM AccountHistory WHERE AccountId IN (...) AND
        Field IN (...)``, 200 accounts per query. AccountHistory has one row per change of a tracked field
        (``Field`` is the field's API name, ``NewValue`` and ``OldValue`` are anyType, ``CreatedDate`` is
        when it changed); see https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/
        object_reference/sforce_api_objects_accounthistory.htm. An org without the object, or with none
        of the fields tracked, answers INVALID_TYPE or INVALID_FIELD: no history then.
        """
        history: History = {}
        for start in range(0, len(ids), LOOKUP_CHUNK):
            soql = format_soql("SELECT AccountId, Field, NewValue, CreatedDate FROM AccountHistory "
                               "WHERE AccountId IN {ids} AND Field IN {fields} ORDER BY CreatedDate DESC",
                               ids=list(ids[start:start + LOOKUP_CHUNK]), fields=list(fields))
            try:
                rows = [r for page in self._pages(soql, False, "AccountHistory") for r in page]
            except FatalError as exc:
                if any(code in str(exc) for code in ("INVALID_TYPE", "INVALID_FIELD", "not supported")):
                    return None
                raise
            for row in rows:
                moment = parse_time(row.get("CreatedDate"))
                if moment is None or not row.get("AccountId") or not row.get("Field"):
                    continue
                value = row.get("NewValue")
                history.setdefault(str(row["AccountId"]), {}).setdefault(str(row["Field"]), []).append(
                    ValueChange(moment, None if value is None else str(value)))
        return history

    def read_field_definitions(self, object_type: ObjectType, names: Sequence[str]) -> list[FieldDefinition]:
        """Field and picklist labels from the sObject's describe (read once per connector)."""
        return field_definitions(self.schema, STREAMS[object_type].sobject, names)

    def read_portal_details(self) -> PortalDetails:
        """The org's default currency (or corporate currency) and time zone."""
        return portal_details(self.client)

    def check_access(self, request: AccessRequest) -> AccessReport:
        """Login, the permission set and its field-level security, owned and mapped fields, limits, the clock."""
        return SalesforceAccess(self.client, self.schema, self.settings).check(request)

    def close(self) -> None:
        """Close the HTTP session."""
        self.client.close()
