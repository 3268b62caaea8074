"""Customer cohorts (best / average / problematic) and the outcome a scorecard learns.

The rule, applied to every closed-won deal's account:

* **hard pains**: churned (status churned or a churn date), contracted, delivery fit poor;
* **soft pains**: support tickets in the heaviest tenth of won accounts, time to value in the
  slowest tenth, gross margin in the lowest tenth, NPS at or below 6 (a detractor).
  The tenths are set by ``RefineSettings`` and computed among won accounts with the field;
* **problematic**: any hard pain, or at least two soft pains (``soft_pains_for_problematic``);
* **best**: retention known to be active, no pain of any kind, delivery fit not fair or poor;
* **average**: every other won account with some health data;
* **unknown**: won accounts with no health data at all.

The ``good_customer`` target is *won and not problematic*; lost deals are negatives. So a
won-but-painful account counts against the attributes that brought it in, even when it paid more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from worker.refine.dataset import HealthColumns
from worker.refine.settings import RefineSettings, Target

Cohort = Literal["best", "average", "problematic", "unknown"]
COHORTS: tuple[Cohort, ...] = ("best", "average", "problematic", "unknown")
BoolArray = npt.NDArray[np.bool_]
MIN_VALUES_FOR_QUANTILE = 10


@dataclass(frozen=True)
class CohortThresholds:
    """Data-derived cut-offs of the soft pains (None when too few won accounts have the field)."""

    heavy_support_tickets: float | None
    slow_time_to_value_days: float | None
    low_gross_margin_pct: float | None
    detractor_nps: float


@dataclass(frozen=True)
class Cohorts:
    """Cohort of every row's account (None for lost deals) and the pains behind it."""

    cohort: npt.NDArray[np.object_]
    problematic: BoolArray
    churned: BoolArray
    health_known: BoolArray
    thresholds: CohortThresholds
    counts: dict[str, int]
    pain_counts: dict[str, int]
    rule: str


@dataclass(frozen=True)
class TargetDefinition:
    """What the scorecard predicts, and why when it differs from what was asked."""

    name: Target
    requested: Target
    description: str
    positives: int
    negatives: int
    fallback_reason: str | None = None


def _quantile(values: npt.NDArray[np.float64], mask: BoolArray, q: float) -> float | None:
    chosen = values[mask & ~np.isnan(values)]
    return float(np.quantile(chosen, q)) if len(chosen) >= MIN_VALUES_FOR_QUANTILE else None


def _at_least(values: npt.NDArray[np.float64], threshold: float | None) -> BoolArray:
    if threshold is None:
        return np.zeros(len(values), dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(values, nan=-math.inf) >= threshold


def _at_most(values: npt.NDArray[np.float64], threshold: float | None) -> BoolArray:
    if threshold is None:
        return np.zeros(len(values), dtype=bool)
    return np.nan_to_num(values, nan=math.inf) <= threshold


def assign_cohorts(won: BoolArray, health: HealthColumns, settings: RefineSettings) -> Cohorts:
    """Classify every won deal's account as best, average, problematic or unknown.

    Args:
        won: True for closed-won rows.
        health: The account health per row.
        settings: Quantiles and NPS cut-offs of the soft pains.

    Returns:
        The cohorts, with the thresholds used and how often each pain occurred among won deals.
    """
    thresholds = CohortThresholds(
        heavy_support_tickets=_quantile(health.support_tickets, won, settings.heavy_support_quantile),
        slow_time_to_value_days=_quantile(health.time_to_value_days, won, settings.slow_ttv_quantile),
        low_gross_margin_pct=_quantile(health.gross_margin_pct, won, settings.low_margin_quantile),
        detractor_nps=settings.detractor_nps,
    )
    hard = {
        "churned": health.churned,
        "contracted": health.retention_status == "contracted",
        "poor delivery fit": health.delivery_fit == "poor",
    }
    soft = {
        "heavy support": _at_least(health.support_tickets, thresholds.heavy_support_tickets),
        "slow time to value": _at_least(health.time_to_value_days, thresholds.slow_time_to_value_days),
        "low gross margin": _at_most(health.gross_margin_pct, thresholds.low_gross_margin_pct),
        "detractor NPS": _at_most(health.nps, thresholds.detractor_nps),
    }
    any_hard = np.logical_or.reduce(list(hard.values()))
    soft_count = np.sum(list(soft.values()), axis=0)
    known = health.any_known
    problematic = won & known & (any_hard | (soft_count >= settings.soft_pains_for_problematic))
    best = (
        won
        & known
        & ~problematic
        & (health.retention_status == "active")
        & (soft_count == 0)
        & (health.delivery_fit != "fair")
        & (health.delivery_fit != "poor")
    )
    cohort = np.full(len(won), None, dtype=object)
    cohort[won] = "average"
    cohort[won & ~known] = "unknown"
    cohort[best] = "best"
    cohort[problematic] = "problematic"
    counts: dict[str, int] = {c: int((cohort == c).sum()) for c in COHORTS}
    pain_counts = {name: int((flag & won).sum()) for name, flag in {**hard, **soft}.items()}
    return Cohorts(
        cohort, problematic, health.churned & won, known & won, thresholds, counts, pain_counts, _rule_text(settings)
    )


def _rule_text(settings: RefineSettings) -> str:
    return (
        "problematic: churned, contracted or poor delivery fit, or at least "
        f"{settings.soft_pains_for_problematic} of: support tickets at or above the "
        f"{settings.heavy_support_quantile:.0%} quantile of won accounts, time to value at or above the "
        f"{settings.slow_ttv_quantile:.0%} quantile, gross margin at or below the "
        f"{settings.low_margin_quantile:.0%} quantile, NPS at or below {settings.detractor_nps:g}; "
        "best: active, no pain, delivery fit good or unknown; average: other won accounts with health data; "
        "unknown: won accounts with no health data"
    )


def build_target(won: BoolArray, cohorts: Cohorts, settings: RefineSettings) -> tuple[BoolArray, TargetDefinition]:
    """The outcome the scorecard learns, falling back to ``won`` when health data is too thin.

    Returns:
        The positive flag per row and the definition (with the reason for any fallback).
    """
    n_won = int(won.sum())
    coverage = cohorts.health_known.sum() / n_won if n_won else 0.0
    if settings.target == "won":
        return won.copy(), _definition("won", "won", won, None)
    if coverage < settings.min_health_coverage:
        reason = (
            f"only {coverage:.0%} of won deals have health data (needs {settings.min_health_coverage:.0%}), "
            "so good customers cannot be told apart from won deals; the scorecard predicts winning"
        )
        return won.copy(), _definition("won", "good_customer", won, reason)
    target = won & ~cohorts.problematic
    return target, _definition("good_customer", "good_customer", target, None)


def _definition(name: Target, requested: Target, target: BoolArray, reason: str | None) -> TargetDefinition:
    description = (
        "good customer: won, and not in the problematic cohort (churned, contracted, poor delivery fit or "
        "several soft pains); lost deals and won-but-problematic accounts are negatives"
        if name == "good_customer"
        else "won: closed-won deals are positives and closed-lost deals negatives"
    )
    return TargetDefinition(name, requested, description, int(target.sum()), int((~target).sum()), reason)
