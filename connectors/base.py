"""What every connector offers the worker, in CRM-neutral terms.

A connector pulls raw records (CRM property names and values, untouched) page by
page, writes the fields the worker owns in batches, creates review tasks, and
counts its API calls. It knows nothing of scoring.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from connectors.errors import SkippableError

ObjectType = Literal["accounts", "deals", "owners", "notes"]


@dataclass(frozen=True)
class RawRecord:
    """One CRM record as the CRM gave it.

    ``derived`` holds facts the connector works out from CRM metadata, in worker
    terms: for deals ``outcome`` ("won" / "lost" / "open", from stage metadata,
    never from stage names) and ``account_id``; for notes ``account_id`` and ``deal_id``.
    """

    object_type: ObjectType
    id: str
    modified_at: datetime | None
    properties: Mapping[str, Any]
    derived: Mapping[str, Any] = field(default_factory=dict)
    deleted: bool = False


@dataclass(frozen=True)
class PullRequest:
    """Read ``object_type`` records modified in ``[since, until)``; ``since`` None means a full pull.

    ``seen_at_since`` names the records already read at exactly ``since`` (the watermark's ties, always
    every record the CRM answered at that time, see :mod:`worker.ingest.watermark`): a connector may
    leave them out of the answer when its CRM can filter by id, so that they are not read again every
    run; anything else modified at ``since`` must still come back.
    """

    object_type: ObjectType
    properties: Sequence[str]
    until: datetime
    since: datetime | None = None
    seen_at_since: frozenset[str] = frozenset()
    previous_until: datetime | None = None
    """Where the pull that reached ``since`` stopped (its run's start): a CRM that re-reads a margin before
    ``since`` for late commits needs it only for records stamped within that margin before this time."""


@dataclass(frozen=True)
class Page:
    """A page of pulled records.

    ``ordered`` is True when every record modified before this page's last
    timestamp has already been delivered (an ascending, sorted stream), so the
    watermark may be checkpointed after this page. Unordered pages (full pulls by
    id) may only promote the watermark at the end of the pull.
    """

    records: Sequence[RawRecord]
    ordered: bool


@dataclass(frozen=True)
class FieldSpec:
    """A CRM field the worker owns (writes) or reads (overrides)."""

    name: str
    label: str
    type: Literal["number", "string", "text", "datetime"]
    description: str = ""
    object_type: Literal["accounts", "deals"] = "accounts"
    """Accounts (companies) or deals (opportunities)."""


@dataclass(frozen=True)
class FieldDefinition:
    """A CRM field as people see it: its label and, for a picklist, each stored value's label.

    ``money`` is True for amounts shown in the portal's currency (HubSpot's ``showCurrencySymbol``,
    Salesforce's ``currency`` type).
    """

    name: str
    label: str
    options: Mapping[str, str] = field(default_factory=dict)
    money: bool = False


@dataclass(frozen=True)
class PortalDetails:
    """Account-wide settings the worker shows numbers with: the currency (ISO 4217) and the time zone."""

    currency: str | None = None
    time_zone: str | None = None


@dataclass(frozen=True)
class OwnedFieldStatus:
    """Which owned fields exist and are usable in the CRM."""

    missing: tuple[str, ...]
    how_to_fix: str = ""

    @property
    def ok(self) -> bool:
        """True when nothing is missing."""
        return not self.missing


@dataclass(frozen=True)
class WriteOutcome:
    """The result of writing owned values: per record, done or failed with a reason."""

    succeeded: tuple[str, ...]
    failed: Mapping[str, str]


@dataclass(frozen=True)
class TaskRequest:
    """A review task to create once; ``key`` makes it idempotent across retries and crashes."""

    key: str
    subject: str
    body: str
    due: datetime
    owner_id: str | None = None
    account_id: str | None = None
    priority: Literal["LOW", "MEDIUM", "HIGH"] = "MEDIUM"


@dataclass(frozen=True)
class TaskOutcome:
    """What :meth:`Connector.ensure_tasks` did: per review key, the CRM task id, or why it failed."""

    ids: Mapping[str, str]
    failed: Mapping[str, str] = field(default_factory=dict)
    found: frozenset[str] = frozenset()
    """The keys whose task already existed in the CRM (created by an earlier, interrupted attempt)."""


@dataclass(frozen=True)
class TaskCompletion:
    """Close a review task: its CRM id, its review key and the body it ends with (the outcome written in)."""

    task_id: str
    key: str
    body: str


@dataclass(frozen=True)
class Finding:
    """One result of an access check: what was checked, how it went, and exactly what to do about it."""

    area: str
    status: Literal["ok", "warn", "fail"]
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class AccessRequest:
    """What the worker needs of a CRM connection, for :meth:`Connector.check_access`.

    ``credential_source`` names where the credentials came from (environment variables), so a
    finding can say which one to change; it never holds a secret.
    """

    owned: Sequence[FieldSpec]
    account_fields: Sequence[str]
    deal_fields: Sequence[str] = ()
    credential_source: str = "the configured credentials"


@dataclass(frozen=True)
class AccessReport:
    """The findings of an access check, the CRM's clock (its ``Date`` header) and the options of
    the account fields read that have a fixed list of values (picklists, enumerations)."""

    findings: tuple[Finding, ...]
    server_time: datetime | None = None
    local_time: datetime | None = None
    options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ValueChange:
    """One value a field took and when it was set (from the CRM's property or field history)."""

    at: datetime
    value: str | None


History = dict[str, dict[str, list[ValueChange]]]
"""Record id → field → the values it took, newest first."""


class Connector(ABC):
    """The interface between the worker and one CRM connection."""

    name: str
    calls: Counter[str]

    @abstractmethod
    def pull(self, request: PullRequest) -> Iterator[Page]:
        """Yield pages of records modified in the requested window (all records on a full pull)."""

    @abstractmethod
    def check_fields(self, owned: Sequence[FieldSpec]) -> OwnedFieldStatus:
        """Check that the owned fields exist and are writable."""

    @abstractmethod
    def setup_fields(self, owned: Sequence[FieldSpec]) -> list[str]:
        """Create whatever owned fields are missing; return the names created. Idempotent."""

    @abstractmethod
    def write_accounts(self, updates: Mapping[str, Mapping[str, str | None]]) -> WriteOutcome:
        """Write owned values (account id → field → value), batched; only these fields are sent."""

    def write_deals(self, updates: Mapping[str, Mapping[str, str | None]]) -> WriteOutcome:
        """Write owned deal values (deal id → field → value), batched. Connectors without it fail each one."""
        return WriteOutcome((), {i: f"the {self.name} connector cannot write deals" for i in updates})

    def holding(self, updates: Mapping[str, Mapping[str, str | None]]) -> set[str]:
        """The accounts whose fields in the CRM already hold these values (one read per batch), so that a write
        the worker may have made without recording it (it was killed after the CRM acted) is not sent again.
        Connectors that cannot read them back answer none."""
        return set()

    def write_chunk(self, pending: int) -> int:
        """How many records to hand to one :meth:`write_accounts` call when ``pending`` must be written.

        The worker saves snapshots after each call, so smaller chunks lose less to a crash; a
        connector with a bulk path asks for everything at once when that path pays off.
        """
        return 1_000

    @abstractmethod
    def find_task(self, key: str) -> str | None:
        """The CRM id of a task created earlier with this key, if any."""

    @abstractmethod
    def create_task(self, task: TaskRequest) -> str:
        """Create a review task and return its CRM id."""

    def ensure_tasks(self, tasks: Sequence[TaskRequest], look_up: Collection[str] = ()) -> TaskOutcome:
        """Create each task unless the CRM already holds one with its key; a retry never duplicates.

        ``look_up`` names the keys an earlier attempt may already have created (its outcome is unknown):
        those are looked up in the CRM first. Connectors with batch endpoints override this.
        """
        ids: dict[str, str] = {}
        found: set[str] = set()
        failed: dict[str, str] = {}
        for task in tasks:
            existing = self.find_task(task.key) if task.key in look_up else None
            try:
                ids[task.key] = existing or self.create_task(task)
            except SkippableError as exc:
                failed[task.key] = str(exc)
                continue
            if existing:
                found.add(task.key)
        return TaskOutcome(ids, failed, frozenset(found))

    def complete_tasks(self, completions: Sequence[TaskCompletion]) -> WriteOutcome:
        """Mark tasks completed with their final body; idempotent. Connectors without it fail each one."""
        return WriteOutcome((), {c.task_id: f"the {self.name} connector cannot complete tasks" for c in completions})

    @abstractmethod
    def read_account(self, account_id: str, properties: Sequence[str]) -> dict[str, Any]:
        """One account's current property values, as a rep would see them."""

    def read_history(self, ids: Sequence[str], fields: Sequence[str]) -> History | None:
        """The value history of the named account fields for these accounts, newest first.

        None when the CRM keeps none for them (history not offered, or not enabled for the fields);
        a record or field without history is absent from the answer.
        """
        return None

    def read_field_definitions(self, object_type: ObjectType, names: Sequence[str]) -> list[FieldDefinition]:
        """Labels (and picklist option labels) of the named fields that exist; none when the CRM has no metadata."""
        return []

    def read_portal_details(self) -> PortalDetails:
        """The portal's or org's currency and time zone, when the CRM says."""
        return PortalDetails()

    def check_access(self, request: AccessRequest) -> AccessReport:
        """Check credentials, permissions and fields end to end, saying what to fix (``icp doctor``)."""
        return AccessReport((Finding("access", "warn", f"the {self.name} connector cannot check its access"),))

    def close(self) -> None:  # noqa: B027 - an optional hook: a connector holding no connections keeps it
        """Release connections."""
