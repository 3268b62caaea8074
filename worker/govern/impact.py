"""The impact of a proposed version, account by account: which accounts change tier, and their open pipeline.

Computed once, when the version is proposed, and stored in ``version_impact`` (in the proposal's own
transaction), so the review page lists and searches them without scoring anything during a request.
Both scorecards score the same live accounts, as the refinement's impact preview does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from worker.score.scorecard import Scorecard, Scorer
from worker.score.scoring import load_accounts
from worker.store import Account, Deal, Owner, VersionImpact, upsert


@dataclass(frozen=True)
class ImpactSummary:
    """How many accounts and how much open pipeline a version would move, against which version."""

    compared_with: int | None
    computed_at: str
    accounts: int
    accounts_changing: int
    upgrades: int
    downgrades: int
    open_pipeline: float
    pipeline_changing: float

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (kept in the version's evidence under ``tier_impact``)."""
        return asdict(self)


def open_pipeline(session: Session, connection: str) -> dict[str, float]:
    """Open deal amounts per account."""
    rows = session.execute(select(col(Deal.account_id), func.sum(col(Deal.amount))).where(
        col(Deal.connection) == connection, col(Deal.outcome) == "open", col(Deal.deleted) == False,  # noqa: E712
        col(Deal.account_id).is_not(None)).group_by(col(Deal.account_id))).all()
    return {str(account): float(amount or 0.0) for account, amount in rows}


def store_impact(session: Session, connection: str, version: int, proposed: Scorecard,
                 current: tuple[int, Scorecard] | None, now: datetime) -> ImpactSummary:
    """Score every live account with both versions; store the accounts that change tier; summarise."""
    attributes = sorted(set(proposed.attributes) | set(current[1].attributes if current else ()))
    frame = load_accounts(session, connection, attributes)
    n = len(frame.ids)
    new = Scorer(proposed).score(frame.columns, n=n)
    old = Scorer(current[1]).score(frame.columns, n=n) if current else None
    names: dict[str, str | None] = dict(session.execute(select(col(Account.id), col(Account.name)).where(
        col(Account.connection) == connection)).all())
    owners = {owner_id: f"{name or ''} {email or ''}" for owner_id, name, email in session.execute(
        select(col(Owner.id), col(Owner.name), col(Owner.email)).where(col(Owner.connection) == connection)).all()}
    pipeline = open_pipeline(session, connection)
    order = {tier: i for i, tier in enumerate(proposed.tiers)}
    rows: list[dict[str, Any]] = []
    upgrades = downgrades = 0
    for i, account_id in enumerate(frame.ids):
        before = str(old.tiers[i]) if old is not None else None
        after = str(new.tiers[i])
        if before == after:
            continue
        if before is not None:
            if order.get(after, 0) < order.get(before, 0):
                upgrades += 1
            else:
                downgrades += 1
        rows.append({"connection": connection, "version": version, "account_id": account_id,
                     "name": names.get(account_id), "owner_id": frame.owners[i], "old_tier": before,
                     "new_tier": after, "old_score": int(old.scores[i]) if old is not None else None,
                     "new_score": int(new.scores[i]), "open_pipeline": pipeline.get(account_id, 0.0),
                     "search": " ".join([names.get(account_id) or "", owners.get(frame.owners[i], ""), account_id,
                                         f"tier {before or '-'} to {after}"]).lower()})
    session.execute(delete(VersionImpact).where(col(VersionImpact.connection) == connection,
                                                col(VersionImpact.version) == version))
    upsert(session, VersionImpact, rows)
    return ImpactSummary(current[0] if current else None, now.isoformat(), n, len(rows), upgrades, downgrades,
                         round(sum(pipeline.get(a, 0.0) for a in frame.ids), 2),
                         round(sum(r["open_pipeline"] for r in rows), 2))
