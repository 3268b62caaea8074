"""The quality battery's targets on smaller worlds (``icp bench refine --quality`` runs the full-size ones).

Targets (issue 9): the points card within 0.01 AUC of a plain logistic regression on the same splits
on worlds of 300 deals or more; planted drivers recovered; no criterion on noise-only worlds in at
least 95% of seeds.
"""

from __future__ import annotations

import pytest

from worker.bench.refine_quality import WorldResult, measure, summary, world_means
from worker.refine.worlds import GENERATORS, World, small_world


def _run(world: World, seed: int, kfold: bool = False) -> WorldResult:
    return measure(world.name, seed, world.input(), world.drivers, world.non_drivers, kfold=kfold)


WEAK = {"uses_data_warehouse"}


@pytest.mark.parametrize(("name", "deals"), [("drivers", 1200), ("strong_categorical", 800), ("missing_values", 1200)])
def test_card_matches_the_regression_and_recovers_the_drivers(name: str, deals: int) -> None:
    """The weak data-warehouse driver (+0.45 log-odds) may stay under review when a third of the sizes and
    the stage are unknown at this sample size; every other planted driver must be found."""
    result = _run(GENERATORS[name](deals, 1), 1, kfold=True)
    assert result.design == "repeated_kfold"
    assert result.status in ("proposed", "no_improvement")
    assert result.accuracy_ok, (result.card_auc, result.lr_auc)
    assert result.lr_drivers_auc is not None and result.card_auc is not None
    assert result.card_auc >= result.lr_drivers_auc - 0.01, (result.card_auc, result.lr_drivers_auc)
    required = set(result.drivers) - (WEAK if name == "missing_values" else set())
    assert required <= set(result.recovered), result.selected
    assert not result.noise_proposed


def test_tied_and_missing_dates_validate_by_kfold() -> None:
    for name in ("tied_dates", "missing_dates"):
        result = _run(GENERATORS[name](600, 2), 2)
        assert result.design == "repeated_kfold"
        assert result.accuracy_ok, (name, result.card_auc, result.lr_auc)
        assert {"industry", "employees"} <= set(result.recovered)


def test_noise_only_worlds_propose_nothing() -> None:
    """Nine seeds of 400 deals: at most one may show a criterion (the target is 95% of seeds clean)."""
    results = [_run(GENERATORS["noise_only"](400, seed), seed) for seed in range(9)]
    assert sum(bool(r.selected) for r in results) <= 1
    assert summary(results)["noise_only_clean"].startswith(f"{sum(not r.selected for r in results)}/9")


def test_undated_evidence_refines_and_renders() -> None:
    """No close date at all: k-fold validation, a proposal, and a brief that says 'undated'."""
    from worker.refine import RefineSettings, refine
    from worker.refine.brief import render_brief

    analysis = refine(GENERATORS["missing_dates"](600, 5).input(), RefineSettings(kfold_repeats=1))
    assert analysis.validation is not None and "no close date" in analysis.validation.reason
    assert analysis.proposed is not None
    assert "no close date" in render_brief(analysis, "v2", "md")


def test_small_samples_are_reported_not_crashed() -> None:
    """50/50 deals still yield a validated result; 10/10 stop at the readiness gate, saying so."""
    fifty = _run(small_world(50, 50, 4), 4)
    assert fifty.deals == 100 and fifty.design == "repeated_kfold" and not fifty.noise_proposed
    ten = _run(small_world(10, 10, 4), 4)
    assert ten.status == "stopped" and ten.card_auc is None


def test_accuracy_is_judged_on_each_worlds_mean_over_its_seeds() -> None:
    """One seed below the tolerance does not fail a world whose mean over its seeds meets it; both are shown."""
    def run(seed: int, card: float, lr: float) -> WorldResult:
        return WorldResult("w", seed, 1000, "proposed", "repeated_kfold", card, lr, None, lr, ["a"], ["a"], [],
                           ["a"], None, None, 1.0)

    results = [run(1, 0.70, 0.72), run(2, 0.71, 0.70), run(3, 0.72, 0.71)]
    assert [r.accuracy_ok for r in results] == [False, True, True]
    assert world_means(results)["w"]["accuracy_ok"] is True
    assert summary(results)["card_within_lr_tolerance"].startswith("1/1 worlds")
    assert summary(results)["card_within_lr_tolerance_per_seed"] == "2/3 runs"
    assert world_means([run(1, 0.70, 0.72), run(2, 0.70, 0.72)])["w"]["accuracy_ok"] is False
