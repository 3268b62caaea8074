"""Store readers shared by the monitor and the measurement: scored accounts, their health, closed deals."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from worker.ingest.records import HEALTH_FIELDS
from worker.score.scorecard.model import normalise_category
from worker.store import Account, Deal

CLOSED = ("won", "lost")
CHUNK = 1000


def health_known(health: Mapping[str, Any]) -> bool:
    """Whether an account has any customer-health field filled."""
    return any(normalise_category(health.get(f)) is not None for f in HEALTH_FIELDS)


def churned(health: Mapping[str, Any]) -> bool | None:
    """Churned (by status or a churn date); None when the retention is unknown."""
    status = normalise_category(health.get("retention_status"))
    if status == "churned" or normalise_category(health.get("churn_date")) is not None:
        return True
    return None if status is None else False


def healthy(health: Mapping[str, Any]) -> bool | None:
    """Free of hard pains (churned, contracted, poor delivery fit); None without health data."""
    if not health_known(health):
        return None
    status = normalise_category(health.get("retention_status"))
    pain = churned(health) is True or status == "contracted" or normalise_category(health.get("delivery_fit")) == "poor"
    return not pain


def account_health(engine: Engine, connection: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The health fields of the given live accounts, by id."""
    wanted = sorted(set(ids))
    out: dict[str, dict[str, Any]] = {}
    with Session(engine) as session:
        for start in range(0, len(wanted), CHUNK):
            rows = session.execute(select(col(Account.id), col(Account.health)).where(
                col(Account.connection) == connection, col(Account.deleted) == False,  # noqa: E712
                col(Account.id).in_(wanted[start:start + CHUNK]))).all()
            out.update({r.id: dict(r.health or {}) for r in rows})
    return out


@dataclass(frozen=True)
class DealRow:
    """The fields of a deal the monitor and the measurement read."""

    id: str
    account_id: str | None
    outcome: str
    amount: float | None
    created_at: datetime | None
    closed_at: datetime | None


def load_deals(engine: Engine, connection: str, since: datetime | None = None, until: datetime | None = None,
               outcomes: tuple[str, ...] = CLOSED) -> list[DealRow]:
    """Live deals with the given outcomes; closed ones limited to ``since <= closed_at <= until`` when given."""
    live = (col(Deal.connection) == connection) & (col(Deal.deleted) == False)  # noqa: E712
    query = select(col(Deal.id), col(Deal.account_id), col(Deal.outcome), col(Deal.amount), col(Deal.created_at),
                   col(Deal.closed_at)).where(
        live, col(Deal.outcome).in_(outcomes))
    if since is not None:
        query = query.where(col(Deal.closed_at) >= since)
    if until is not None:
        query = query.where(col(Deal.closed_at) <= until)
    with Session(engine) as session:
        rows = session.execute(query.order_by(col(Deal.id))).all()
    return [DealRow(r.id, r.account_id, r.outcome, r.amount, r.created_at, r.closed_at) for r in rows]
