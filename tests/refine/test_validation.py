"""Validation: out-of-time when dates allow, k-fold otherwise, no leakage, honest comparisons."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tests.refine.planted import planted_input, starter_card
from worker.refine import Analysis, RefineSettings
from worker.refine.cohorts import assign_cohorts, build_target
from worker.refine.columns import analysable
from worker.refine.outcomes import Outcomes
from worker.refine.validation import validate


def _setup(settings: RefineSettings):
    data = planted_input()
    cohorts = assign_cohorts(data.won, data.health, settings)
    target, definition = build_target(data.won, cohorts, settings)
    columns, _ = analysable(data.account_columns, settings, "account")
    return data, Outcomes.build(data, cohorts, target), columns, definition


def test_out_of_time_holdout_is_used_when_dates_allow(analysis: Analysis) -> None:
    validation = analysis.validation
    assert validation is not None and validation.method == "out_of_time"
    assert abs(validation.n_test - 500) <= 20 and validation.n_train + validation.n_test == 2000
    assert validation.train_period is not None and validation.test_period is not None
    assert validation.train_period[1] < validation.test_period[0]
    assert "distinct close days" in validation.reason
    assert validation.lift
    assert validation.proposed.auc is not None and validation.proposed.auc > 0.6
    assert validation.current is not None and validation.current.model == "current approved version"
    assert validation.current.n == validation.proposed.n
    assert validation.baseline is not None and validation.baseline.n == validation.proposed.n
    assert validation.proposed_won is not None and validation.proposed_won.target == "won"
    assert sum(b.n for b in validation.proposed.bands) == validation.n_test
    assert validation.proposed.share_positives_high is not None
    assert validation.proposed.share_negatives_low is not None


def test_training_fit_never_sees_the_test_outcomes() -> None:
    """Scrambling the outcomes of the held-out deals changes the test metrics, never the fitted criteria."""
    settings = RefineSettings()
    data, outcomes, columns, definition = _setup(settings)
    first = validate(data, outcomes, columns, settings, definition.name)
    newest = np.argsort(data.closed_at)[-first.n_test :]
    scrambled_target = outcomes.target.copy()
    scrambled_target[newest] = np.random.default_rng(9).permutation(scrambled_target[newest])
    scrambled = replace(outcomes, target=scrambled_target)
    second = validate(data, scrambled, columns, settings, definition.name)
    assert second.selected_per_fit == first.selected_per_fit
    assert second.screened_per_fit == first.screened_per_fit
    assert second.proposed.auc != first.proposed.auc


def test_repeated_kfold_when_the_newest_slice_is_too_thin() -> None:
    settings = RefineSettings(min_holdout_class=400, kfold_repeats=2)
    data, outcomes, columns, definition = _setup(settings)
    validation = validate(data, outcomes, columns, settings, definition.name, starter_card())
    assert validation.method == "repeated_kfold"
    assert len(validation.repeat_aucs) == 2
    assert len(validation.selected_per_fit) == 2 * settings.kfold_splits
    assert validation.proposed.n == len(data)
    assert validation.lift
    assert validation.current is not None and validation.current.n == len(data)
