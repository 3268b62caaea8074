"""The scoring job: every account in the store against the version in force.

Loads accounts column-wise, scores them with the pure :class:`~worker.score.scorecard.Scorer`,
and stores the latest score per account. ``scored_at`` moves only when the score,
tier, reasons or version change, so an unchanged account is never rewritten.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, select
from sqlmodel import Session

from worker.score.scorecard import Scorecard, Scorer, ScoreResult
from worker.score.scorecard.labels import NO_LABELS, FieldLabels
from worker.score.versions import VersionInfo
from worker.store import Account, AccountScore, session_scope, upsert


@dataclass(frozen=True)
class TierChange:
    """An account whose tier changed in this scoring."""

    account_id: str
    owner_id: str | None
    old_tier: str | None
    new_tier: str
    old_score: int | None
    new_score: int
    reasons: tuple[str, ...]
    old_version: int | None = None


@dataclass(frozen=True)
class ScoredAccounts:
    """Every live account scored with one scorecard; ``tier_of`` maps account id to tier."""

    ids: list[str]
    result: ScoreResult
    tier_of: dict[str, str]

    @classmethod
    def of(cls, ids: list[str], result: ScoreResult) -> ScoredAccounts:
        """Pair account ids with their scores."""
        return cls(ids, result, dict(zip(ids, result.tiers.astype(str).tolist())))


@dataclass
class ScoringReport:
    """What scoring produced; ``accounts`` is the scored batch, for drift and measurement."""

    version: int
    accounts: ScoredAccounts
    scored: int = 0
    by_tier: dict[str, int] = field(default_factory=dict)
    changed: int = 0
    overrides: int = 0
    tier_changes: list[TierChange] = field(default_factory=list)
    missing_by_attribute: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class AccountFrame:
    """Accounts as columns, ready for the scorer."""

    ids: list[str]
    owners: list[str | None]
    columns: dict[str, np.ndarray]


def load_accounts(session: Session, connection: str, attributes: list[str]) -> AccountFrame:
    """Every live account's attributes as columns (missing attributes as None)."""
    rows = session.execute(select(Account.id, Account.owner_id, Account.attributes).where(
        Account.connection == connection, Account.deleted == False).order_by(Account.id)).all()  # noqa: E712
    columns = {a: np.array([r.attributes.get(a) for r in rows], dtype=object) for a in attributes}
    return AccountFrame([r.id for r in rows], [r.owner_id for r in rows], columns)


def score_store(engine: Engine, connection: str, version: VersionInfo, now: datetime,
                labels: FieldLabels = NO_LABELS,
                on_store: Callable[[Session, ScoringReport], None] | None = None) -> ScoringReport:
    """Score every account and store the results; report tier counts and tier changes.

    ``labels`` are the CRM's field and option labels and currency, so reasons read as the CRM shows values.
    ``on_store`` runs in the transaction that stores the scores, so what the new tiers imply (owner
    review tasks, in the outbox) is committed with them or not at all.
    """
    card = version.scorecard
    with Session(engine) as session:
        frame = load_accounts(session, connection, card.attributes)
        previous = {s.account_id: s for s in session.execute(
            select(AccountScore).where(AccountScore.connection == connection)).scalars()}
    result = Scorer(card).score(frame.columns, n=len(frame.ids))
    reasons = result.reasons(labels=labels)
    report = ScoringReport(version=version.version, accounts=ScoredAccounts.of(frame.ids, result),
                           scored=len(frame.ids), by_tier=result.tier_counts())
    for c, criterion in enumerate(card.criteria):
        report.missing_by_attribute[criterion.attribute] = int(result.missing[:, c].sum())
    rows: list[dict[str, Any]] = []
    for i, account_id in enumerate(frame.ids):
        score, tier, why = int(result.scores[i]), str(result.tiers[i]), list(reasons[i])
        old = previous.get(account_id)
        same = old is not None and (old.version, old.score, old.tier, old.reasons) == (version.version, score, tier, why)
        if same:
            continue
        report.changed += 1
        if old is None or old.tier != tier:
            report.tier_changes.append(TierChange(account_id, frame.owners[i], old.tier if old else None, tier,
                                                  old.score if old else None, score, tuple(why),
                                                  old.version if old else None))
        rows.append({"connection": connection, "account_id": account_id, "version": version.version,
                     "score": score, "tier": tier, "reasons": why, "scored_at": now})
    with session_scope(engine) as session:
        upsert(session, AccountScore, rows)
        if on_store is not None:
            on_store(session, report)
    return report


def score_accounts(engine: Engine, connection: str, scorecard: Scorecard) -> ScoredAccounts:
    """Score every live account of ``connection`` with ``scorecard`` (nothing is stored)."""
    with Session(engine) as session:
        frame = load_accounts(session, connection, scorecard.attributes)
    return ScoredAccounts.of(frame.ids, Scorer(scorecard).score(frame.columns, n=len(frame.ids)))


def preview_change(engine: Engine, connection: str, version: VersionInfo) -> Counter[tuple[str | None, str]]:
    """Accounts per (current tier, tier under ``version``): what the next run will change if it is in force."""
    with Session(engine) as session:
        current = dict(session.execute(select(AccountScore.account_id, AccountScore.tier).where(
            AccountScore.connection == connection)).all())
    scored = score_accounts(engine, connection, version.scorecard)
    return Counter((current.get(account_id), tier) for account_id, tier in scored.tier_of.items())
