"""What ``icp status`` and ``icp report`` show: the version in force, recent runs and the figures over time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from worker.monitor.store import in_force_since, version_age_days
from worker.score.versions import VersionInfo, Versions
from worker.store import MeasurementEvent, Run

STATUS_KEYS = ("connection", "generated_at", "version", "runs", "tiers", "measurements", "drift", "psi_history")
"""The top-level keys of :func:`status_data`, always present."""


@dataclass(frozen=True)
class ReportSettings:
    """How much history the status and the report show.

    Attributes:
        runs: The most recent runs listed.
        measurements: The most recent measurement events charted (and runs read for the PSI history).
        cadence_days: The review cadence the version's age is read against (``review.cadence_days``).
    """

    runs: int = 10
    measurements: int = 90
    cadence_days: int = 91


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def version_data(version: VersionInfo | None, now: datetime, cadence_days: int) -> dict[str, Any] | None:
    """The version in force, its age and whether its review is due."""
    if version is None:
        return None
    age = version_age_days(version, now)
    return {"version": version.version, "label": version.label, "name": version.name, "kind": version.kind,
            "effective_at": _iso(in_force_since(version)), "decided_by": version.decided_by,
            "age_days": round(age, 1) if age is not None else None, "cadence_days": cadence_days,
            "review_due": age is not None and age > cadence_days}


def run_data(run: Run) -> dict[str, Any]:
    """One run as the status lists it."""
    summary: Mapping[str, Any] = run.summary or {}
    duration = summary.get("duration_seconds")
    if duration is None and run.started_at and run.finished_at:
        duration = round((run.finished_at - run.started_at).total_seconds(), 3)
    drift = summary.get("drift") if isinstance(summary.get("drift"), Mapping) else None
    return {"id": run.id, "kind": run.kind, "status": run.status, "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at), "duration_seconds": duration, "version": summary.get("version"),
            "written": summary.get("written"), "message": summary.get("message") or run.error,
            "drift_alarm": drift.get("alarm") if drift else None}


def _tier_entry(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {"accounts": value}


def measurement_data(event: MeasurementEvent) -> dict[str, Any]:
    """One measurement event: its counts and figures by tier (older events hold accounts per tier only)."""
    figures: Mapping[str, Any] = event.figures or {}
    found = figures.get("by_tier")
    by_tier: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    return {"at": _iso(event.at), "run_id": event.run_id, "version": event.version,
            "counts": dict(figures.get("counts") or {}), "tiers": list(figures.get("tiers") or by_tier),
            "by_tier": {str(t): _tier_entry(v) for t, v in by_tier.items()},
            "overall": dict(figures.get("overall") or {}), "disqualification": figures.get("disqualification")}


def _tiers(version: VersionInfo | None, measurements: list[dict[str, Any]]) -> list[str]:
    order = list(version.scorecard.tiers) if version else []
    for m in measurements:
        order += [t for t in m["tiers"] if t not in order]
    return order


def _drift(runs: list[Run]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    history, latest = [], None
    for run in runs:
        drift = (run.summary or {}).get("drift")
        if not isinstance(drift, Mapping):
            continue
        latest = {"run_id": run.id, "at": _iso(run.finished_at or run.started_at), **drift}
        score = drift.get("score") if isinstance(drift.get("score"), Mapping) else None
        history.append({"at": latest["at"], "run_id": run.id, "alarm": bool(drift.get("alarm")),
                        "psi": score.get("psi") if score else None, "reading": score.get("reading") if score else None})
    return latest, history


def status_data(engine: Engine, connection: str, settings: ReportSettings | None = None,
                now: datetime | None = None) -> dict[str, Any]:
    """Everything ``icp status --json`` prints and ``icp report`` renders, JSON-serialisable.

    Returns:
        A dict with the keys of :data:`STATUS_KEYS`: ``version`` (or None), ``runs`` (newest first),
        ``measurements`` (oldest first), ``tiers``, the latest ``drift`` report stored in a run summary
        (or None) and ``psi_history`` (oldest first).
    """
    settings = settings or ReportSettings()
    now = now or datetime.now(UTC)
    version = Versions(engine, connection, []).in_force()
    with Session(engine) as session:
        runs = list(session.execute(select(Run).where(col(Run.connection) == connection).order_by(
            col(Run.started_at).desc(), col(Run.id).desc()).limit(
            max(settings.runs, settings.measurements))).scalars())
        events = list(session.execute(select(MeasurementEvent).where(
            col(MeasurementEvent.connection) == connection).order_by(
            col(MeasurementEvent.at).desc(), col(MeasurementEvent.id).desc()).limit(
            settings.measurements)).scalars())
    measurements = [measurement_data(e) for e in reversed(events)]
    drift, history = _drift(list(reversed(runs)))
    return {"connection": connection, "generated_at": now.isoformat(),
            "version": version_data(version, now, settings.cadence_days),
            "runs": [run_data(r) for r in runs[:settings.runs]], "tiers": _tiers(version, measurements),
            "measurements": measurements, "drift": drift, "psi_history": history}
