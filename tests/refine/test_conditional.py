"""Forward conditional steps: a weak driver masked by a strong one enters at the conditional rate."""

from __future__ import annotations

import numpy as np

from worker.refine import RefineSettings
from worker.refine.cohorts import assign_cohorts, build_target
from worker.refine.columns import analysable
from worker.refine.criteria import CriterionResult
from worker.refine.outcomes import Outcomes
from worker.refine.proposal import fit_card
from worker.refine.worlds import strong_world


def _criteria(conditional_alpha: float) -> dict[str, CriterionResult]:
    data = strong_world(800, 6).input()
    settings = RefineSettings(conditional_alpha=conditional_alpha)
    columns, _ = analysable(data.account_columns, settings, "account")
    cohorts = assign_cohorts(data.won, data.health, settings)
    target, _ = build_target(data.won, cohorts, settings)
    fit = fit_card(columns, Outcomes.build(data, cohorts, target), np.arange(len(data)), settings, name="test")
    return {c.attribute: c for c in fit.criteria}


def test_a_masked_driver_is_judged_at_the_conditional_rate() -> None:
    """The data warehouse (+0.6 log-odds beside an existing customer's +2.8) fails the univariate screen here;
    given the existing-customer criterion its conditional q-value lies between 0.05 and 0.1, so it enters at a
    conditional rate of 0.1 (the univariate screen staying at 0.05), and not at 0.05."""
    strict, loose = _criteria(0.05), _criteria(0.1)
    assert strict["uses_data_warehouse"].status == "under_review"
    assert strict["uses_data_warehouse"].rule == "not_significant"
    assert loose["uses_data_warehouse"].status == "selected"
    assert "once the stronger criteria are accounted for" in loose["uses_data_warehouse"].reason
    assert 0.05 < loose["uses_data_warehouse"].q_value <= 0.1
    assert loose["customer_type"].status == "selected"
