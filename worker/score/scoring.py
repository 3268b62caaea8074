"""The scoring job: the accounts in the store against the version in force.

Loads accounts column-wise, scores them with the pure :class:`~worker.score.scorecard.Scorer`,
and stores the latest score per account. Only accounts whose inputs changed since the last scoring
(or every account, after a new version or new labels and once a week) get their reasons worked out
and compared; ``scored_at`` moves only when the score, tier, reasons or version change, so an
unchanged account is never rewritten.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, and_, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from worker.score.scorecard import Scorecard, Scorer, ScoreResult
from worker.score.scorecard.labels import NO_LABELS, FieldLabels
from worker.score.versions import VersionInfo
from worker.store import Account, AccountScore, ScoringState, refresh_statistics, session_scope, upsert


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
        return cls(ids, result, dict(zip(ids, result.tiers.astype(str).tolist(), strict=True)))


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
    rescored: int = 0
    """Accounts whose reasons were worked out and compared with their stored score this time."""
    full: bool = True
    """Whether every account was compared (see :func:`score_store`)."""


@dataclass(frozen=True)
class AccountFrame:
    """Accounts as columns, ready for the scorer."""

    ids: list[str]
    owners: list[str | None]
    columns: dict[str, np.ndarray]


def load_accounts(session: Session, connection: str, attributes: list[str]) -> AccountFrame:
    """Every live account's attributes as columns (missing attributes as None).

    Rows are streamed in partitions of :data:`LOAD_BATCH` and turned into columns as they come, so the
    rows (and their attribute documents) of every account are never held at once.
    """
    query = select(col(Account.id), col(Account.owner_id), col(Account.attributes)).where(
        col(Account.connection) == connection, col(Account.deleted) == False).order_by(col(Account.id))  # noqa: E712
    ids: list[str] = []
    owners: list[str | None] = []
    values: dict[str, list[Any]] = {a: [] for a in attributes}
    shared: dict[str, dict[tuple[type, Any], Any]] = {a: {} for a in attributes}
    result = session.execute(query.execution_options(yield_per=LOAD_BATCH))
    for partition in result.partitions():
        for r in partition:
            ids.append(r.id)
            owners.append(r.owner_id)
            found = r.attributes or {}
            for a, column in values.items():
                column.append(_shared(shared[a], found.get(a)))
    columns = {a: _object_array(column) for a, column in values.items()}
    return AccountFrame(ids, owners, columns)


def _shared(seen: dict[tuple[type, Any], Any], value: Any) -> Any:
    """One object per distinct value of an attribute (up to :data:`SHARED_VALUES` of them): a million
    accounts in a few industries hold a few strings, not a million copies."""
    if value is None or not isinstance(value, str | int | float):
        return value
    key = (type(value), value)
    found = seen.get(key)
    if found is not None:
        return found
    if len(seen) < SHARED_VALUES:
        seen[key] = value
    return value


def _object_array(values: list[Any]) -> np.ndarray:
    """A one-dimensional object array of ``values`` (never split into more dimensions)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


LOAD_BATCH = 10_000
"""Accounts read per partition when loading the store's accounts as columns."""
SHARED_VALUES = 10_000
"""Distinct values per attribute kept as one shared object when loading accounts."""
SCORE_BATCH = 20_000
"""Accounts whose reasons are worked out, compared with the stored scores and written together: memory
stays bounded at any number of accounts (a million accounts' reasons and rows are never held at once)."""
FULL_RESCORE_EVERY = timedelta(days=7)
"""Even when nothing seems to have changed, every account is rescored at least this often."""
_IN_CHUNK = 500


def inputs_key(labels: FieldLabels) -> str:
    """A fingerprint of what every account's reasons depend on besides its own attributes."""
    document = {"fields": dict(labels.fields), "options": {k: dict(v) for k, v in labels.options.items()},
                "money": sorted(labels.money), "currency": labels.currency}
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()[:32]


def needs_full(state: ScoringState | None, version: int, key: str, now: datetime) -> bool:
    """Whether every account must be rescored: a new version or labels, no earlier scoring, or the period is up."""
    if state is None or state.scored_through is None or state.full_at is None:
        return True
    return state.version != version or state.inputs_key != key or now - state.full_at >= FULL_RESCORE_EVERY


def changed_since(session: Session, connection: str, version: int, through: datetime) -> set[str]:
    """Live accounts stored after ``through`` (their inputs changed), or with no score under ``version``."""
    score = aliased(AccountScore)
    query = select(col(Account.id)).outerjoin(score, and_(col(score.connection) == col(Account.connection),
                                                     col(score.account_id) == col(Account.id))).where(
        col(Account.connection) == connection, col(Account.deleted) == False,  # noqa: E712
        or_(col(Account.synced_at) > through, col(score.account_id).is_(None), col(score.version) != version))
    return set(session.execute(query).scalars())


def _previous(session: Session, connection: str, ids: list[str], dense: bool = False) -> dict[str, tuple[Any, ...]]:
    """(version, score, tier, reasons) of the stored scores of ``ids`` (in the store's order), without ORM
    objects. ``dense``: ``ids`` are most of the accounts between the first and the last, read as one range."""
    if not ids:
        return {}
    columns = select(col(AccountScore.account_id), col(AccountScore.version), col(AccountScore.score),
                     col(AccountScore.tier), col(AccountScore.reasons)).where(
                         col(AccountScore.connection) == connection)
    if dense and len(ids) > _IN_CHUNK:
        wanted = set(ids)
        rows = session.execute(columns.where(col(AccountScore.account_id) >= ids[0],
                                             col(AccountScore.account_id) <= ids[-1]))
        return {r[0]: tuple(r[1:]) for r in rows if r[0] in wanted}
    found: dict[str, tuple[Any, ...]] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start:start + _IN_CHUNK]
        rows = session.execute(columns.where(col(AccountScore.account_id).in_(chunk)))
        found.update({r[0]: tuple(r[1:]) for r in rows})
    return found


def score_store(engine: Engine, connection: str, version: VersionInfo, now: datetime,
                labels: FieldLabels = NO_LABELS,
                on_store: Callable[[Session, ScoringReport], object] | None = None,
                full: bool | None = None) -> ScoringReport:
    """Score the accounts whose inputs changed and store the results; report tier counts and tier changes.

    Every live account is scored in bulk (the distribution feeds drift and measurement), but reasons,
    the comparison with the stored scores and the writes cover only the accounts stored since the
    last scoring or not yet scored under this version; all of them when the version or the labels
    changed, when there is no earlier scoring, or every :data:`FULL_RESCORE_EVERY` (``full`` forces
    either). ``labels`` are the CRM's field and option labels and currency, so reasons read as the
    CRM shows values. ``scored_at`` moves only when the score, tier, reasons or version change.
    ``on_store`` runs in the transaction that stores the scores, so what the new tiers imply (owner
    review tasks, in the outbox) is committed with them or not at all.
    """
    card, key = version.scorecard, inputs_key(labels)
    with Session(engine) as session:
        frame = load_accounts(session, connection, card.attributes)
        state = session.get(ScoringState, connection)
        full = needs_full(state, version.version, key, now) if full is None else full
        changed = None if full or state is None or state.scored_through is None else changed_since(
            session, connection, version.version, state.scored_through)
    positions = list(range(len(frame.ids))) if changed is None else [
        i for i, account_id in enumerate(frame.ids) if account_id in changed]
    del changed
    result = Scorer(card).score(frame.columns, n=len(frame.ids))
    report = ScoringReport(version=version.version, accounts=ScoredAccounts.of(frame.ids, result),
                           scored=len(frame.ids), by_tier=result.tier_counts(), rescored=len(positions), full=full)
    for c, criterion in enumerate(card.criteria):
        report.missing_by_attribute[criterion.attribute] = int(result.missing[:, c].sum())
    with session_scope(engine) as session:
        for start in range(0, len(positions), SCORE_BATCH):
            batch = positions[start:start + SCORE_BATCH]
            dense = batch[-1] - batch[0] < 2 * len(batch)
            previous = _previous(session, connection, [frame.ids[i] for i in batch], dense)
            subset = Scorer(card).score({a: column[batch] for a, column in frame.columns.items()}, n=len(batch))
            rows = _changed_rows(report, connection, version.version, now, frame, batch,
                                 subset.reasons(labels=labels), previous)
            upsert(session, AccountScore, rows)
        if on_store is not None:
            on_store(session, report)
        upsert(session, ScoringState, [{"connection": connection, "version": version.version, "inputs_key": key,
                                        "scored_through": now,
                                        "full_at": now if full or state is None else state.full_at}])
    refresh_statistics(engine, report.changed, AccountScore)
    return report


def _changed_rows(report: ScoringReport, connection: str, version: int, now: datetime, frame: AccountFrame,
                  positions: list[int], reasons: list[list[str]],
                  previous: dict[str, tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Score rows for the accounts at ``positions`` whose score changed; tier changes go into ``report``."""
    result = report.accounts.result
    rows: list[dict[str, Any]] = []
    for k, i in enumerate(positions):
        account_id = frame.ids[i]
        score, tier, why = int(result.scores[i]), str(result.tiers[i]), list(reasons[k])
        old = previous.get(account_id)
        if old is not None and old == (version, score, tier, why):
            continue
        report.changed += 1
        old_version, old_score, old_tier = (old[0], old[1], old[2]) if old is not None else (None, None, None)
        if old is not None and old_tier != tier:  # a first score is not a change (and a million of them add up)
            report.tier_changes.append(TierChange(account_id, frame.owners[i], old_tier, tier, old_score, score,
                                                  tuple(why), old_version))
        rows.append({"connection": connection, "account_id": account_id, "version": version,
                     "score": score, "tier": tier, "reasons": why, "scored_at": now})
    return rows


def score_accounts(engine: Engine, connection: str, scorecard: Scorecard) -> ScoredAccounts:
    """Score every live account of ``connection`` with ``scorecard`` (nothing is stored)."""
    with Session(engine) as session:
        frame = load_accounts(session, connection, scorecard.attributes)
    return ScoredAccounts.of(frame.ids, Scorer(scorecard).score(frame.columns, n=len(frame.ids)))


def preview_change(engine: Engine, connection: str, version: VersionInfo) -> Counter[tuple[str | None, str]]:
    """Accounts per (current tier, tier under ``version``): what the next run will change if it is in force."""
    with Session(engine) as session:
        current = dict(session.execute(select(col(AccountScore.account_id), col(AccountScore.tier)).where(
            col(AccountScore.connection) == connection)).all())
    scored = score_accounts(engine, connection, version.scorecard)
    return Counter((current.get(account_id), tier) for account_id, tier in scored.tier_of.items())
