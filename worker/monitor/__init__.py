"""Drift monitoring and measurement of the approved scorecard version.

:func:`monitor_store` assesses drift once per nightly run (PSI of scores and of every criterion,
win rate and health by tier of newly closed deals against the version's evidence, wins outside
and losses inside the ICP, staleness against the review cadence). :func:`measure_store` returns the
figures of the run's measurement event. :func:`assess_drift` and :func:`psi` are the pure parts.
"""

from worker.monitor.baseline import (
    CriterionBins,
    Distribution,
    TierExpectation,
    baseline_from_evidence,
    baseline_snapshot,
    distribution_of,
    expectations_from_evidence,
)
from worker.monitor.checks import RateCheck
from worker.monitor.drift import (
    ClosedDeals,
    CriterionStability,
    DriftReport,
    OutsideIcp,
    Stability,
    TierOutcome,
    assess_drift,
)
from worker.monitor.measure import measure_store
from worker.monitor.psi import histogram, psi, psi_reading
from worker.monitor.settings import DriftSettings
from worker.monitor.store import monitor_store, snapshot_store, version_age_days

__all__ = [
    "ClosedDeals",
    "CriterionBins",
    "CriterionStability",
    "Distribution",
    "DriftReport",
    "DriftSettings",
    "OutsideIcp",
    "RateCheck",
    "Stability",
    "TierExpectation",
    "TierOutcome",
    "assess_drift",
    "baseline_from_evidence",
    "baseline_snapshot",
    "distribution_of",
    "expectations_from_evidence",
    "histogram",
    "measure_store",
    "monitor_store",
    "psi",
    "psi_reading",
    "snapshot_store",
    "version_age_days",
]
