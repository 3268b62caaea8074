"""Approving a scorecard version: the checks, the drift baseline, and the transition, in that order."""

from __future__ import annotations

from datetime import datetime

from worker.monitor.store import snapshot_store
from worker.score.signoff import Actor
from worker.score.versions import VersionInfo, Versions


def approve_version(versions: Versions, version: int, *, by: str | Actor, now: datetime, note: str | None = None,
                    accept_risks: bool = False) -> VersionInfo:
    """Approve ``version`` for ``versions``' connection, keeping the scores as they stand as the drift baseline.

    With required roles, the approval signs for the roles ``by`` holds and the version takes
    effect only once every required role has signed; the returned version says which happened.
    Raises :class:`worker.score.versions.GovernanceError` when ``by`` may not approve it or its
    risks are not accepted; nothing is changed then.
    """
    target = versions.check_approvable(version, by=by, accept_risks=accept_risks)
    baseline = None
    if versions.completes(version, by):
        baseline = snapshot_store(versions.engine, versions.connection, target.scorecard, now)
    return versions.approve(version, by=by, now=now, note=note, accept_risks=accept_risks, baseline=baseline)
