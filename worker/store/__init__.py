"""The worker's store: SQLModel tables, Alembic migrations, sessions and upserts.

SQLite is the embedded default; any SQLAlchemy PostgreSQL URL works in production.
"""

from worker.store.db import StoreError, make_engine, migrate, session_scope, upsert
from worker.store.models import (
    Account,
    AccountScore,
    Brief,
    CrmField,
    CrmPortal,
    Deal,
    EvidenceNoteRow,
    LoginAttempt,
    MeasurementEvent,
    Owner,
    QuarantineRow,
    ReviewTask,
    Run,
    RunLock,
    ScorecardVersionRow,
    SyncWatermark,
    VersionEvent,
    VersionImpact,
    WebSession,
    WebUser,
    WrittenSnapshot,
)

__all__ = [
    "Account",
    "AccountScore",
    "Brief",
    "CrmField",
    "CrmPortal",
    "Deal",
    "EvidenceNoteRow",
    "LoginAttempt",
    "MeasurementEvent",
    "Owner",
    "QuarantineRow",
    "ReviewTask",
    "Run",
    "RunLock",
    "ScorecardVersionRow",
    "StoreError",
    "SyncWatermark",
    "VersionEvent",
    "VersionImpact",
    "WebSession",
    "WebUser",
    "WrittenSnapshot",
    "make_engine",
    "migrate",
    "session_scope",
    "upsert",
]
