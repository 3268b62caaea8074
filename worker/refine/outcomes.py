"""The per-deal outcomes every statistic is computed from: target, win, health and economics."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from worker.refine.cohorts import Cohorts
from worker.refine.dataset import RefinementInput
from worker.refine.stats import design_effect

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Outcomes:
    """Outcome columns aligned with the closed deals.

    Attributes:
        target: The outcome the scorecard learns (won, or won and not problematic).
        won: Closed-won.
        churned: Won and churned.
        retention_known: Won with a retention status or churn date.
        problematic: Won and in the problematic cohort.
        health_known: Won with some health data.
        amount: Deal amount.
        cycle_days: Days from creation to close.
        deal_ids: Deal ids.
        closed_at: Close time (POSIX seconds), most recent evidence first in samples.
        account_ids: Account of each deal: deals of one account share its attributes and health, so
            they are not independent evidence (see :func:`worker.refine.stats.design_effect`).
    """

    target: BoolArray
    won: BoolArray
    churned: BoolArray
    retention_known: BoolArray
    problematic: BoolArray
    health_known: BoolArray
    amount: FloatArray
    cycle_days: FloatArray
    deal_ids: npt.NDArray[np.object_]
    closed_at: FloatArray
    account_ids: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return len(self.target)

    @classmethod
    def build(cls, data: RefinementInput, cohorts: Cohorts, target: BoolArray) -> Outcomes:
        """Assemble the outcomes of ``data`` with its cohorts and chosen target."""
        retention_known = data.won & ((data.health.retention_status != None) | data.health.churned)  # noqa: E711
        return cls(
            target=target,
            won=data.won,
            churned=cohorts.churned,
            retention_known=retention_known,
            problematic=cohorts.problematic,
            health_known=cohorts.health_known,
            amount=data.amount,
            cycle_days=data.cycle_days,
            deal_ids=data.deal_ids,
            closed_at=data.closed_at,
            account_ids=data.account_ids,
        )

    def with_target(self, target: BoolArray) -> Outcomes:
        """The same outcomes with another target (e.g. a shuffled or a won-only one)."""
        return replace(self, target=target)

    def design_effect(self, rows: npt.NDArray[np.int64]) -> float:
        """Variance inflation of the target's rates over ``rows`` from deals clustered in accounts."""
        return design_effect(self.target[rows], self.account_ids[rows])
