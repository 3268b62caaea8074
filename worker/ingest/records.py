"""Canonical, CRM-neutral records: what the worker knows of accounts, deals, owners and notes.

Connectors return raw CRM records; :mod:`worker.ingest.mapping` turns them into these, and
so does the CSV import. Everything downstream (store, scoring, refinement) speaks
only this vocabulary.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from worker.ingest.text import clean, clean_text

Outcome = Literal["won", "lost", "open"]
RetentionStatus = Literal["active", "churned", "contracted"]
DeliveryFit = Literal["good", "fair", "poor"]

HEALTH_FIELDS: tuple[str, ...] = (
    "retention_status",
    "churn_date",
    "nps",
    "support_tickets",
    "gross_margin_pct",
    "time_to_value_days",
    "delivery_fit",
)
"""Customer-health fields, kept apart from the fit attributes a scorecard may score."""


@dataclass(frozen=True)
class AccountRecord:
    """A company / account with its fit attributes and customer-health evidence."""

    id: str
    name: str | None = None
    owner_id: str | None = None
    modified_at: datetime | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    health: dict[str, Any] = field(default_factory=dict)
    override_score: int | None = None
    override_reason: str | None = None
    override_issue: str | None = None
    """Why a manual override a person set is ignored (not a number, outside 0-100); the account is kept."""
    owned_values: dict[str, str | None] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    deleted: bool = False


@dataclass(frozen=True)
class DealRecord:
    """A deal / opportunity and its outcome."""

    id: str
    account_id: str | None
    outcome: Outcome
    owner_id: str | None = None
    amount: float | None = None
    created_at: datetime | None = None
    closed_at: datetime | None = None
    modified_at: datetime | None = None
    stage: str | None = None
    pipeline: str | None = None
    loss_reason: str | None = None
    competitor: str | None = None
    lead_source: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    deleted: bool = False


@dataclass(frozen=True)
class OwnerRecord:
    """A CRM user who can own accounts and tasks."""

    id: str
    email: str | None = None
    name: str | None = None
    active: bool = True
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EvidenceNote:
    """Qualitative evidence: an interview, a win/loss, churn or delivery-fit note."""

    id: str
    text: str
    account_id: str | None = None
    deal_id: str | None = None
    kind: str | None = None
    author: str | None = None
    created_at: datetime | None = None
    source: str = "crm"


QUARANTINE_KEY_LIMIT = 128
"""Longest record id and field name the quarantine table keeps; longer ones are cut, marked with an ellipsis."""


@dataclass(frozen=True)
class Quarantined:
    """A record that could not be taken in, with the field and the reason; never silently dropped.

    Whatever made the record bad must not stop it from being kept: its id and field are cut to what
    the quarantine table holds, and control characters are removed from every text in it.
    """

    object_type: str
    record_id: str
    field: str
    reason: str
    raw: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "record_id", _cut(clean_text(str(self.record_id)), QUARANTINE_KEY_LIMIT))
        object.__setattr__(self, "field", _cut(clean_text(str(self.field)), QUARANTINE_KEY_LIMIT))
        object.__setattr__(self, "reason", clean_text(str(self.reason)))
        object.__setattr__(self, "raw", clean(dict(self.raw)))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
