"""Honest validation: the whole method refitted on older (or other-fold) deals and scored on unseen ones.

The design fits the data (see :mod:`worker.refine.design`): out-of-time only when close dates truly
separate training from test, otherwise repeated stratified k-fold grouped by account. On the same
held-out deals it measures the proposed method, the version in force, a plain logistic regression
(the accuracy target: the points card must come within 0.01 AUC of it) and gradient boosting (the
ceiling of what the data hold).

There is lift only when the proposed method's AUC reaches ``min_lift_auc`` and its DeLong 95%
interval lies above 0.5. It improves on the version in force only when the paired DeLong 95%
interval of the AUC difference on the same held-out deals lies above zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from worker.refine.baseline import baseline_scores, boosting_scores
from worker.refine.dataset import Column, RefinementInput
from worker.refine.design import Design, Method, Split, choose_design, group_keys, kfold_splits, replication_splits
from worker.refine.metrics import ScoreMetrics, score_metrics
from worker.refine.outcomes import Outcomes
from worker.refine.proposal import fit_card
from worker.refine.settings import RefineSettings
from worker.refine.stats import AucDifference, auc_difference
from worker.refine.timing import AttributeTiming
from worker.score.scorecard import Scorecard, Scorer

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
PASSED_SCREEN = frozenset({"selected", "redundant", "too_few_points", "max_criteria"})


@dataclass(frozen=True)
class Validation:
    """Held-out performance of the proposed method, the current version and the references.

    Attributes:
        method: ``out_of_time`` or ``repeated_kfold``.
        description: How the split was made, in words.
        reason: Why this design was chosen.
        proposed: Proposed method on the run's target (k-fold: the first repeat's out-of-fold scores).
        proposed_won: The same scores against won/lost, when the target is not ``won``.
        current: The currently approved scorecard on the same test deals (no refitting).
        baseline: Plain logistic regression fitted on the same training deals.
        boosting: Gradient boosting fitted on the same training deals (the ceiling).
        repeat_aucs: AUC of the proposed method in every repeat (one value out-of-time).
        baseline_aucs: AUC of the logistic regression in the same repeats.
        comparison: Proposed minus in-force AUC on the same held-out deals (paired DeLong), if a version is in force.
        improves: Whether the proposal beats the version in force (None when none is in force).
        selected_per_fit: The criteria each training fit selected (a stability check).
        screened_per_fit: The criteria that passed the univariate screen in each training fit.
        lift: Whether the proposed method shows reliable lift over chance.
        verdict: The lift decision in words.
    """

    method: Method
    description: str
    reason: str
    n_train: int
    n_test: int
    train_period: tuple[str, str] | None
    test_period: tuple[str, str] | None
    proposed: ScoreMetrics
    proposed_won: ScoreMetrics | None
    current: ScoreMetrics | None
    baseline: ScoreMetrics | None
    boosting: ScoreMetrics | None
    repeat_aucs: tuple[float, ...]
    baseline_aucs: tuple[float, ...]
    comparison: AucDifference | None
    improves: bool | None
    selected_per_fit: tuple[tuple[str, ...], ...]
    screened_per_fit: tuple[tuple[str, ...], ...]
    lift: bool
    verdict: str

    @property
    def mean_auc(self) -> float | None:
        """Mean AUC of the proposed method over the repeats."""
        return float(np.mean(self.repeat_aucs)) if self.repeat_aucs else None

    @property
    def mean_baseline_auc(self) -> float | None:
        """Mean AUC of the logistic regression over the same repeats."""
        return float(np.mean(self.baseline_aucs)) if self.baseline_aucs else None


@dataclass
class _Pass:
    """Held-out scores of one pass over the deals (one out-of-time split, or one k-fold repeat)."""

    rows: IntArray
    scores: FloatArray
    tiers: npt.NDArray[np.object_]
    baseline: FloatArray
    boosting: FloatArray | None


def _day(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).date().isoformat()


def _lowest_tier(settings: RefineSettings) -> str:
    return min(settings.bands, key=lambda b: b.min).tier


def _scores(
    card: Scorecard | None, data: RefinementInput, rows: IntArray, lowest_tier: str
) -> tuple[FloatArray, npt.NDArray[np.object_]]:
    if card is None:
        return np.zeros(len(rows)), np.full(len(rows), lowest_tier, dtype=object)
    result = Scorer(card).score(data.scoring_columns(rows), n=len(rows))
    return result.scores.astype(np.float64), result.tiers


class _Runner:
    """Fits the method on training rows and collects held-out scores and the criteria each fit chose."""

    def __init__(
        self,
        data: RefinementInput,
        outcomes: Outcomes,
        columns: Sequence[Column],
        settings: RefineSettings,
        timing: Mapping[str, AttributeTiming],
        prior: Scorecard | None,
    ) -> None:
        self.data, self.outcomes, self.columns, self.settings, self.timing = data, outcomes, columns, settings, timing
        self.prior = prior
        self.selected: list[tuple[str, ...]] = []
        self.screened: list[tuple[str, ...]] = []

    def fit(self, train: IntArray) -> Scorecard | None:
        fit = fit_card(
            self.columns, self.outcomes, train, self.settings, name="validation fit", timing=self.timing,
            prior=self.prior,
        )
        self.selected.append(tuple(c.attribute for c in fit.card.criteria) if fit.card else ())
        self.screened.append(tuple(c.attribute for c in fit.criteria if c.rule in PASSED_SCREEN))
        return fit.card

    def score_pass(self, splits: Sequence[Split], rows: IntArray, with_boosting: bool) -> _Pass:
        n = len(self.data)
        scores, tiers = np.zeros(n), np.full(n, _lowest_tier(self.settings), dtype=object)
        baseline, boosting = np.full(n, 0.5), (np.full(n, 0.5) if with_boosting else None)
        target = self.outcomes.target
        for split in splits:
            card = self.fit(split.train)
            scores[split.test], tiers[split.test] = _scores(card, self.data, split.test, _lowest_tier(self.settings))
            lr = baseline_scores(self.columns, target, split.train, split.test, self.settings.min_bin_count)
            if lr is not None:
                baseline[split.test] = lr
            if boosting is not None:
                gb = boosting_scores(self.columns, target, split.train, split.test, self.settings.random_seed)
                if gb is not None:
                    boosting[split.test] = gb
        return _Pass(rows, scores[rows], tiers[rows], baseline[rows], None if boosting is None else boosting[rows])


def validate(
    data: RefinementInput,
    outcomes: Outcomes,
    columns: Sequence[Column],
    settings: RefineSettings,
    target_name: str,
    current: Scorecard | None = None,
) -> Validation:
    """Validate the refinement method on deals it did not learn from.

    Args:
        data: The closed deals (``data.timing`` says when each attribute is known).
        outcomes: Their outcomes (the target included).
        columns: Candidate account attributes.
        settings: The statistical rules, split settings and seed.
        target_name: The target's name, for the report.
        current: The currently approved scorecard, if any.

    Returns:
        The validation report with the lift decision and the comparison with the version in force.
    """
    design = choose_design(data.closed_at, outcomes.target, settings)
    runner = _Runner(data, outcomes, columns, settings, data.timing, current)
    groups = group_keys(data.account_ids)
    if design.split is not None:
        split = design.split
        for train in replication_splits(split.train, groups, outcomes.target, settings.random_seed):
            runner.fit(train)
        passes = [runner.score_pass([split], split.test, with_boosting=True)]
    else:
        rows = np.arange(len(data), dtype=np.int64)
        passes = [
            runner.score_pass(
                list(kfold_splits(groups, outcomes.target, settings.kfold_splits, settings.random_seed + r)),
                rows,
                with_boosting=r == 0,
            )
            for r in range(settings.kfold_repeats)
        ]
    return _report(design, passes, runner, data, outcomes, settings, target_name, current)


def _auc(scores: FloatArray, y: npt.NDArray[np.bool_]) -> float | None:
    return score_metrics("", "", scores, y).auc


def _report(
    design: Design,
    passes: list[_Pass],
    runner: _Runner,
    data: RefinementInput,
    outcomes: Outcomes,
    settings: RefineSettings,
    target_name: str,
    current: Scorecard | None,
) -> Validation:
    first = passes[0]
    y, won = outcomes.target[first.rows], outcomes.won[first.rows]
    bands = [(b.tier, b.min) for b in sorted(settings.bands, key=lambda b: -b.min)]
    common = {"high_score": settings.high_score, "low_score": settings.low_score}
    on_card = {"card": bands, "tiers": first.tiers, "won": won, **common}
    proposed = score_metrics("proposed method", target_name, first.scores, y, **on_card)  # type: ignore[arg-type]
    proposed_won = None
    if target_name != "won":
        proposed_won = score_metrics("proposed method", "won", first.scores, won, **on_card)  # type: ignore[arg-type]
    current_metrics, comparison = None, None
    if current is not None:
        current_scores, current_tiers = _scores(current, data, first.rows, current.tiers[-1])
        current_metrics = score_metrics(
            "current approved version",
            target_name,
            current_scores,
            y,
            card=current,
            tiers=current_tiers,
            won=won,
            **common,
        )
        comparison = auc_difference(first.scores, current_scores, y)
    baseline = score_metrics("plain logistic regression", target_name, first.baseline, y)
    boosting = None if first.boosting is None else score_metrics("gradient boosting", target_name, first.boosting, y)
    repeat_aucs = tuple(a for a in (_auc(p.scores, outcomes.target[p.rows]) for p in passes) if a is not None)
    baseline_aucs = tuple(a for a in (_auc(p.baseline, outcomes.target[p.rows]) for p in passes) if a is not None)
    lift, verdict = _lift(proposed, settings)
    any_selected = any(runner.selected)
    improves = None if comparison is None else bool(np.isfinite(comparison.low) and comparison.low > 0)
    return Validation(
        method=design.method,
        description=_description(design, settings, len(passes)),
        reason=design.reason,
        n_train=len(design.split.train) if design.split else len(data) - len(data) // settings.kfold_splits,
        n_test=len(first.rows),
        train_period=_period(data, design.split.train) if design.split is not None else None,
        test_period=_period(data, design.split.test) if design.split is not None else None,
        proposed=proposed,
        proposed_won=proposed_won,
        current=current_metrics,
        baseline=baseline,
        boosting=boosting,
        repeat_aucs=repeat_aucs,
        baseline_aucs=baseline_aucs,
        comparison=comparison,
        improves=improves,
        selected_per_fit=tuple(runner.selected),
        screened_per_fit=tuple(runner.screened),
        lift=lift and any_selected,
        verdict=verdict if any_selected else "no lift: no training fit selected any criterion",
    )


def _period(data: RefinementInput, rows: IntArray) -> tuple[str, str]:
    closed = data.closed_at[rows]
    return _day(float(closed.min())), _day(float(closed.max()))


def _description(design: Design, settings: RefineSettings, repeats: int) -> str:
    if design.method == "out_of_time":
        assert design.split is not None
        return (
            f"out-of-time: fitted on the {len(design.split.train)} older closed deals, tested on the "
            f"{len(design.split.test)} that closed later (about {settings.holdout_fraction:.0%}), because "
            f"{design.reason}; "
            "replication measured on 5 account-grouped subsets of the older deals"
        )
    return (
        f"repeated stratified {settings.kfold_splits}-fold cross-validation ({repeats} repeats, all deals of an "
        f"account in one fold), because {design.reason}: every deal scored by a scorecard fitted without it; "
        "intervals and bands from the first repeat, AUC of each repeat listed"
    )


def _lift(metrics: ScoreMetrics, settings: RefineSettings) -> tuple[bool, str]:
    if metrics.auc is None or metrics.auc_ci is None:
        return False, "no lift: the test deals hold a single outcome, so the AUC cannot be measured"
    low, high = metrics.auc_ci
    text = f"AUC {metrics.auc:.3f} (95% CI {low:.3f}-{high:.3f}) on {metrics.n} held-out deals"
    if metrics.auc < settings.min_lift_auc or low <= 0.5:
        return False, (
            f"no reliable lift: {text}; a useful scorecard needs an AUC of at least "
            f"{settings.min_lift_auc:g} with the whole interval above 0.5"
        )
    return True, f"lift: {text}"
