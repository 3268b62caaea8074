"""The monitor against the store: one call per nightly run, and the snapshot to keep at approval."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from worker.monitor.accounts import account_health, healthy, load_deals
from worker.monitor.baseline import (
    baseline_from_evidence,
    baseline_snapshot,
    distribution_of,
    expectations_from_evidence,
)
from worker.monitor.drift import ClosedDeals, DriftReport, assess_drift
from worker.monitor.settings import DriftSettings
from worker.score.scorecard import Scorecard
from worker.score.scoring import ScoredAccounts, score_accounts
from worker.score.versions import VersionInfo

DAY_SECONDS = 86_400.0


def in_force_since(version: VersionInfo) -> datetime | None:
    """When the version took effect: its effective time, else its decision, else its creation."""
    return version.effective_at or version.decided_at or version.created_at


def version_age_days(version: VersionInfo, now: datetime) -> float | None:
    """Days since the version took effect, or None when that is unknown."""
    since = in_force_since(version)
    return None if since is None else max((now - since).total_seconds() / DAY_SECONDS, 0.0)


def closed_since(engine: Engine, connection: str, since: datetime | None, now: datetime,
                 tier_of: dict[str, str]) -> ClosedDeals:
    """Deals closed between ``since`` and ``now``, with their account's tier and (for wins) health."""
    deals = load_deals(engine, connection, since=since, until=now)
    health = account_health(engine, connection, {d.account_id for d in deals if d.outcome == "won" and d.account_id})
    return ClosedDeals.of(
        tiers=[tier_of.get(d.account_id) if d.account_id else None for d in deals],
        won=[d.outcome == "won" for d in deals],
        healthy=[healthy(health[d.account_id]) if d.outcome == "won" and d.account_id in health else None
                 for d in deals],
        deal_ids=[d.id for d in deals])


def monitor_store(engine: Engine, connection: str, version: VersionInfo, now: datetime,
                  settings: DriftSettings | None = None, *, scored: ScoredAccounts | None = None) -> DriftReport:
    """Assess the drift of the version in force from the store.

    Args:
        engine: The store.
        connection: The CRM connection.
        version: The approved version (``Versions.in_force()``).
        now: The run's time; deals closed after it are ignored.
        settings: Thresholds (defaults when None; set ``cadence_days`` from ``review.cadence_days``).
        scored: Accounts already scored with ``version`` in this run, to avoid scoring twice.

    Returns:
        The drift report; store ``report.to_json()`` in the run summary under ``drift``.
    """
    card = version.scorecard
    scored = scored or score_accounts(engine, connection, card)
    closed = closed_since(engine, connection, in_force_since(version), now, scored.tier_of)
    return assess_drift(baseline_from_evidence(version.evidence, card), distribution_of(scored.result, at=now),
                        closed, expectations_from_evidence(version.evidence), settings, tiers=card.tiers,
                        age_days=version_age_days(version, now), version=version.version)


def snapshot_store(engine: Engine, connection: str, scorecard: Scorecard, now: datetime) -> dict[str, Any]:
    """The baseline snapshot of every live account scored with ``scorecard``, to keep at approval."""
    return baseline_snapshot(score_accounts(engine, connection, scorecard).result, at=now)
