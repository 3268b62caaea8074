"""The store's tables. Every row belongs to one CRM connection, so several portals share a store safely.

Raw CRM properties are kept beside the normalised fields, so a re-mapping never needs a re-pull.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from worker.store.types import JSONColumn, UTCDateTime


def _json(**kwargs: Any) -> Any:
    return Field(default_factory=dict, sa_column=Column(JSONColumn, nullable=False), **kwargs)


def _when(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Account(SQLModel, table=True):
    """A company / account as last pulled, with normalised attributes and health fields."""

    __tablename__ = "account"
    connection: str = Field(primary_key=True, max_length=64)
    id: str = Field(primary_key=True, max_length=64)
    name: str | None = Field(default=None, sa_column=Column(Text))
    owner_id: str | None = Field(default=None, max_length=64)
    modified_at: datetime | None = _when()
    attributes: dict[str, Any] = _json()
    health: dict[str, Any] = _json()
    override_score: int | None = None
    override_reason: str | None = Field(default=None, sa_column=Column(Text))
    override_issue: str | None = Field(default=None, sa_column=Column(Text))
    owned_values: dict[str, Any] = _json()
    raw: dict[str, Any] = _json()
    deleted: bool = False
    synced_at: datetime | None = _when()
    content_key: str | None = Field(default=None, max_length=64)
    """Fingerprint of what the sync compares (see :mod:`worker.ingest.unchanged`); None: compare in full."""


class Deal(SQLModel, table=True):
    """A deal / opportunity with its outcome."""

    __tablename__ = "deal"
    __table_args__ = (Index("ix_deal_account", "connection", "account_id"),)
    connection: str = Field(primary_key=True, max_length=64)
    id: str = Field(primary_key=True, max_length=64)
    account_id: str | None = Field(default=None, max_length=64)
    owner_id: str | None = Field(default=None, max_length=64)
    outcome: str = Field(max_length=8)
    amount: float | None = None
    created_at: datetime | None = _when()
    closed_at: datetime | None = _when()
    modified_at: datetime | None = _when()
    stage: str | None = Field(default=None, max_length=128)
    pipeline: str | None = Field(default=None, max_length=128)
    loss_reason: str | None = Field(default=None, sa_column=Column(Text))
    competitor: str | None = Field(default=None, sa_column=Column(Text))
    lead_source: str | None = Field(default=None, max_length=128)
    attributes: dict[str, Any] = _json()
    raw: dict[str, Any] = _json()
    deleted: bool = False
    synced_at: datetime | None = _when()
    content_key: str | None = Field(default=None, max_length=64)
    """Fingerprint of what the sync compares (see :mod:`worker.ingest.unchanged`); None: compare in full."""


class Owner(SQLModel, table=True):
    """A CRM user who owns accounts and receives review tasks."""

    __tablename__ = "owner"
    connection: str = Field(primary_key=True, max_length=64)
    id: str = Field(primary_key=True, max_length=64)
    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=256)
    active: bool = True
    raw: dict[str, Any] = _json()


class EvidenceNoteRow(SQLModel, table=True):
    """Qualitative evidence (interview, win/loss, churn, delivery-fit note) from the CRM or a CSV."""

    __tablename__ = "evidence_note"
    connection: str = Field(primary_key=True, max_length=64)
    id: str = Field(primary_key=True, max_length=128)
    account_id: str | None = Field(default=None, max_length=64, index=True)
    deal_id: str | None = Field(default=None, max_length=64)
    kind: str | None = Field(default=None, max_length=64)
    author: str | None = Field(default=None, max_length=256)
    created_at: datetime | None = _when()
    text: str = Field(sa_column=Column(Text, nullable=False))
    source: str = Field(default="crm", max_length=32)


class SyncWatermark(SQLModel, table=True):
    """How far each object's incremental pull has got; saved with the rows it covers."""

    __tablename__ = "sync_watermark"
    connection: str = Field(primary_key=True, max_length=64)
    object_type: str = Field(primary_key=True, max_length=32)
    cursor_field: str = Field(max_length=64)
    value: datetime | None = _when()
    ids_at_value: list[str] = Field(default_factory=list, sa_column=Column(JSONColumn, nullable=False))
    updated_at: datetime | None = _when()
    run_id: str | None = Field(default=None, max_length=64)


class ScorecardVersionRow(SQLModel, table=True):
    """A scorecard version: its YAML document, evidence and lifecycle status."""

    __tablename__ = "scorecard_version"
    connection: str = Field(primary_key=True, max_length=64)
    version: int = Field(primary_key=True)
    status: str = Field(max_length=16)
    name: str = Field(max_length=256)
    kind: str = Field(max_length=16)
    document: str = Field(sa_column=Column(Text, nullable=False))
    evidence: dict[str, Any] = _json()
    created_at: datetime | None = _when()
    created_by: str | None = Field(default=None, max_length=320)
    decided_by: str | None = Field(default=None, max_length=320)
    decided_at: datetime | None = _when()
    decision_note: str | None = Field(default=None, sa_column=Column(Text))
    risks_accepted: bool = False
    effective_at: datetime | None = _when()


class VersionEvent(SQLModel, table=True):
    """One lifecycle event of a scorecard version: what, who, when, through which channel and why. Never deleted.

    ``action`` is proposed, drafted, signed, approved, rolled_back, rejected, superseded or retired;
    ``channel`` is web, cli or worker; ``os_user`` is the operating-system user of a command-line action;
    ``roles`` are the roles an approval signed for.
    """

    __tablename__ = "version_event"
    id: int | None = Field(default=None, primary_key=True)
    connection: str = Field(max_length=64, index=True)
    version: int
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    actor: str = Field(max_length=320)
    at: datetime | None = _when(nullable=False)
    note: str | None = Field(default=None, sa_column=Column(Text))
    action: str | None = Field(default=None, max_length=16)
    channel: str | None = Field(default=None, max_length=16)
    os_user: str | None = Field(default=None, max_length=64)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSONColumn, nullable=False))


class VersionImpact(SQLModel, table=True):
    """An account whose tier a proposed version would change, against the scores when it was proposed.

    ``search`` is the lower-case text the review page searches: company name, owner name and e-mail, tiers.
    """

    __tablename__ = "version_impact"
    __table_args__ = (Index("ix_version_impact_pipeline", "connection", "version", "open_pipeline"),)
    connection: str = Field(primary_key=True, max_length=64)
    version: int = Field(primary_key=True)
    account_id: str = Field(primary_key=True, max_length=64)
    name: str | None = Field(default=None, sa_column=Column(Text))
    owner_id: str | None = Field(default=None, max_length=64)
    old_tier: str | None = Field(default=None, max_length=16)
    new_tier: str = Field(max_length=16)
    old_score: int | None = None
    new_score: int
    open_pipeline: float = 0.0
    search: str | None = Field(default=None, sa_column=Column(Text))


class AccountScore(SQLModel, table=True):
    """The latest computed score of an account under the version in force."""

    __tablename__ = "account_score"
    connection: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(primary_key=True, max_length=64)
    version: int
    score: int
    tier: str = Field(max_length=16)
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSONColumn, nullable=False))
    scored_at: datetime | None = _when()


class WrittenSnapshot(SQLModel, table=True):
    """The owned values last written successfully to an account in the CRM."""

    __tablename__ = "written_snapshot"
    connection: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(primary_key=True, max_length=64)
    values: dict[str, Any] = _json()
    written_at: datetime | None = _when()
    run_id: str | None = Field(default=None, max_length=64)


class WrittenDeal(SQLModel, table=True):
    """The owned values (the account's score and tier) last written successfully to an open deal."""

    __tablename__ = "written_deal"
    connection: str = Field(primary_key=True, max_length=64)
    deal_id: str = Field(primary_key=True, max_length=64)
    values: dict[str, Any] = _json()
    written_at: datetime | None = _when()
    run_id: str | None = Field(default=None, max_length=64)


class ReviewTask(SQLModel, table=True):
    """A review task the worker asked for in the CRM; the key makes creation idempotent.

    The table is the outbox of CRM tasks (:mod:`worker.writeback.outbox`): a row is stored
    ``pending`` in the transaction of the change that asks for the task, and becomes ``created``
    (with its CRM id) once the CRM holds it, ``cancelled`` when its version was decided first, or
    ``failed`` after repeated refusals. ``attempts`` counts the calls that may have reached the CRM.
    ``completion`` is ``pending`` once the task must be closed with ``outcome`` as its body, then ``done``.
    """

    __tablename__ = "review_task"
    __table_args__ = (Index("ix_review_task_status", "connection", "status", "created_at"),)
    connection: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=200)
    kind: str = Field(max_length=32)
    account_id: str | None = Field(default=None, max_length=64)
    owner_id: str | None = Field(default=None, max_length=64)
    version: int | None = None
    crm_task_id: str | None = Field(default=None, max_length=64)
    status: str = Field(default="pending", max_length=16)
    subject: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    due_at: datetime | None = _when()
    created_at: datetime | None = _when()
    run_id: str | None = Field(default=None, max_length=64)
    role: str | None = Field(default=None, max_length=64)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    completion: str | None = Field(default=None, max_length=16)
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    completed_at: datetime | None = _when()


class Run(SQLModel, table=True):
    """One run of the worker (cycle, refinement, setup) and its outcome."""

    __tablename__ = "run"
    id: str = Field(primary_key=True, max_length=64)
    connection: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=32)
    status: str = Field(max_length=16)
    started_at: datetime | None = _when(nullable=False)
    finished_at: datetime | None = _when()
    summary: dict[str, Any] = _json()
    error: str | None = Field(default=None, sa_column=Column(Text))


class QuarantineRow(SQLModel, table=True):
    """A record that could not be taken in, kept with its raw data and the reason."""

    __tablename__ = "quarantine"
    id: int | None = Field(default=None, primary_key=True)
    connection: str = Field(max_length=64, index=True)
    run_id: str | None = Field(default=None, max_length=64)
    object_type: str = Field(max_length=32)
    record_id: str = Field(max_length=128)
    field: str = Field(max_length=128)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    raw: dict[str, Any] = _json()
    at: datetime | None = _when(nullable=False)


class MeasurementEvent(SQLModel, table=True):
    """The figures a run measured: counts and the ICP's effect by tier."""

    __tablename__ = "measurement_event"
    id: int | None = Field(default=None, primary_key=True)
    connection: str = Field(max_length=64, index=True)
    run_id: str = Field(max_length=64)
    at: datetime | None = _when(nullable=False)
    version: int | None = None
    figures: dict[str, Any] = _json()


class RunLock(SQLModel, table=True):
    """A lease on a connection so that two workers never run it at once."""

    __tablename__ = "run_lock"
    connection: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=128)
    lease_until: datetime | None = _when(nullable=False)


class Brief(SQLModel, table=True):
    """A rendered ICP refinement brief, kept so it can be read again exactly as the approver saw it."""

    __tablename__ = "brief"
    connection: str = Field(primary_key=True, max_length=64)
    label: str = Field(primary_key=True, max_length=64)
    format: str = Field(primary_key=True, max_length=8)
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = _when()
    run_id: str | None = Field(default=None, max_length=64)


class WebUser(SQLModel, table=True):
    """A local account for the review pages; the password is kept only as an argon2 hash."""

    __tablename__ = "web_user"
    email: str = Field(primary_key=True, max_length=320)
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = _when()
    password_changed_at: datetime | None = _when()


class WebSession(SQLModel, table=True):
    """A review-pages session. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_session"
    token_hash: str = Field(primary_key=True, max_length=64)
    email: str | None = Field(default=None, max_length=320, index=True)
    method: str | None = Field(default=None, max_length=16)
    data: dict[str, Any] = _json()
    created_at: datetime | None = _when(nullable=False)
    last_seen_at: datetime | None = _when(nullable=False)
    expires_at: datetime | None = _when(nullable=False, index=True)


class LoginAttempt(SQLModel, table=True):
    """A sign-in attempt, kept for the sign-in rate limit."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_email_at", "email", "at"),
                      Index("ix_login_attempt_address_at", "address", "at"))
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    address: str = Field(max_length=64)
    at: datetime | None = _when(nullable=False)
    ok: bool = False


class CrmField(SQLModel, table=True):
    """A CRM field's label and its picklist options' labels, as the CRM's metadata gives them."""

    __tablename__ = "crm_field"
    connection: str = Field(primary_key=True, max_length=64)
    object_type: str = Field(primary_key=True, max_length=16)
    name: str = Field(primary_key=True, max_length=128)
    label: str = Field(sa_column=Column(Text, nullable=False))
    options: dict[str, Any] = _json()
    money: bool = False
    read_at: datetime | None = _when()


class CrmPortal(SQLModel, table=True):
    """Account-wide settings of a connection's CRM: its currency and time zone, and when they were read."""

    __tablename__ = "crm_portal"
    connection: str = Field(primary_key=True, max_length=64)
    currency: str | None = Field(default=None, max_length=8)
    time_zone: str | None = Field(default=None, max_length=64)
    read_at: datetime | None = _when()


class AttributeHistory(SQLModel, table=True):
    """When an account's current value of a scoring attribute was set, from the CRM's property history.

    Refinement compares it with the close dates of the account's deals: a value set after a deal closed
    cannot have predicted that deal. ``set_at`` is None when the history showed no current value.
    """

    __tablename__ = "attribute_history"
    connection: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(primary_key=True, max_length=64)
    attribute: str = Field(primary_key=True, max_length=128)
    set_at: datetime | None = _when()
    read_at: datetime | None = _when(nullable=False)


class AttributeDeclaration(SQLModel, table=True):
    """A mapping's declaration of when an attribute is known (``known: before_close | after_close``).

    Kept for attributes imported from CSV, whose mapping is not part of the connection's configuration.
    """

    __tablename__ = "attribute_declaration"
    connection: str = Field(primary_key=True, max_length=64)
    attribute: str = Field(primary_key=True, max_length=128)
    known: str = Field(max_length=16)
    source: str = Field(max_length=256)
    declared_at: datetime | None = _when(nullable=False)


class ScoringState(SQLModel, table=True):
    """What the last completed scoring of a connection covered, so the next one rescores only what changed.

    ``inputs_key`` fingerprints what every account's score and reasons depend on besides its own
    attributes (the CRM's field and option labels, the currency); when it or ``version`` differs,
    or ``full_at`` is older than the full-rescore period, everything is rescored.
    """

    __tablename__ = "scoring_state"
    connection: str = Field(primary_key=True, max_length=64)
    version: int
    inputs_key: str = Field(max_length=64)
    scored_through: datetime | None = _when()
    full_at: datetime | None = _when()
