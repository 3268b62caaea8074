"""Honest validation: the whole method refitted on older (or other-fold) deals and scored on unseen ones.

Out-of-time when close dates allow: fit on the older deals, test on the newest
``holdout_fraction`` when that slice has at least ``min_holdout_class`` positives and negatives.
Otherwise repeated stratified k-fold, with all deals of one account kept in one fold. The
currently approved scorecard and a plain logistic regression are measured on the same split.

There is lift only when the proposed method's AUC reaches ``min_lift_auc`` and its DeLong 95%
interval lies above 0.5.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

from worker.refine.baseline import baseline_scores
from worker.refine.dataset import Column, RefinementInput
from worker.refine.metrics import ScoreMetrics, score_metrics
from worker.refine.outcomes import Outcomes
from worker.refine.proposal import fit_card
from worker.refine.settings import RefineSettings
from worker.score.scorecard import Scorecard, Scorer

IntArray = npt.NDArray[np.int64]
Method = Literal["out_of_time", "repeated_kfold"]
PASSED_SCREEN = frozenset({"selected", "redundant", "too_few_points", "max_criteria"})


@dataclass(frozen=True)
class Validation:
    """Held-out performance of the proposed method, the current version and a plain baseline.

    Attributes:
        method: ``out_of_time`` or ``repeated_kfold``.
        description: How the split was made, in words.
        n_train: Deals the (first) fit learned from; ``n_test`` deals it was scored on.
        proposed: Proposed method on the run's target.
        proposed_won: The same scores against won/lost, when the target is not ``won``.
        current: The currently approved scorecard on the same test deals (no refitting).
        baseline: Plain logistic regression fitted on the same training deals.
        repeat_aucs: AUC of every k-fold repeat (one value for out-of-time).
        selected_per_fit: The criteria each training fit selected (a stability check).
        screened_per_fit: The criteria that passed the univariate screen in each training fit.
        lift: Whether the proposed method shows reliable lift.
        verdict: The lift decision in words.
    """

    method: Method
    description: str
    n_train: int
    n_test: int
    train_period: tuple[str, str] | None
    test_period: tuple[str, str] | None
    proposed: ScoreMetrics
    proposed_won: ScoreMetrics | None
    current: ScoreMetrics | None
    baseline: ScoreMetrics | None
    repeat_aucs: tuple[float, ...]
    selected_per_fit: tuple[tuple[str, ...], ...]
    screened_per_fit: tuple[tuple[str, ...], ...]
    lift: bool
    verdict: str


@dataclass(frozen=True)
class _Split:
    train: IntArray
    test: IntArray


def _day(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).date().isoformat()


def _out_of_time_split(data: RefinementInput, target: npt.NDArray[np.bool_], settings: RefineSettings) -> _Split | None:
    order = np.argsort(data.closed_at, kind="stable")
    n_test = math.ceil(settings.holdout_fraction * len(order))
    train, test = np.sort(order[:-n_test]), np.sort(order[-n_test:])
    need = settings.min_holdout_class
    for rows in (train, test):
        positives = int(target[rows].sum())
        if positives < need or len(rows) - positives < need:
            return None
    return _Split(train, test)


def _group_folds(groups: npt.NDArray[np.object_], target: npt.NDArray[np.bool_], splits: int, seed: int) -> IntArray:
    """Fold of every row: whole accounts go to one fold, stratified by whether the account has a positive."""
    keys = np.array([g if g is not None else f"\x00{i}" for i, g in enumerate(groups)], dtype=object)
    unique, inverse = np.unique(keys.astype(str), return_inverse=True)
    has_positive = np.bincount(inverse, weights=target.astype(np.float64), minlength=len(unique)) > 0
    rng = np.random.default_rng(seed)
    fold_of_group = np.empty(len(unique), dtype=np.int64)
    for stratum in (True, False):
        members = rng.permutation(np.flatnonzero(has_positive == stratum))
        fold_of_group[members] = np.arange(len(members)) % splits
    return fold_of_group[inverse]


def _lowest_tier(settings: RefineSettings) -> str:
    return min(settings.bands, key=lambda b: b.min).tier


def _scores(
    card: Scorecard | None, data: RefinementInput, rows: IntArray, lowest_tier: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.object_]]:
    if card is None:
        return np.zeros(len(rows)), np.full(len(rows), lowest_tier, dtype=object)
    result = Scorer(card).score(data.scoring_columns(rows), n=len(rows))
    return result.scores.astype(np.float64), result.tiers


@dataclass(frozen=True)
class _Fold:
    scores: npt.NDArray[np.float64]
    tiers: npt.NDArray[np.object_]
    baseline: npt.NDArray[np.float64] | None
    selected: tuple[str, ...]
    screened: tuple[str, ...]


def _fit_and_score(
    split: _Split,
    data: RefinementInput,
    outcomes: Outcomes,
    columns: Sequence[Column],
    settings: RefineSettings,
    with_baseline: bool,
) -> _Fold:
    fit = fit_card(columns, outcomes, split.train, settings, name="validation fit")
    scores, tiers = _scores(fit.card, data, split.test, _lowest_tier(settings))
    baseline = None
    if with_baseline:
        baseline = baseline_scores(columns, outcomes.target, split.train, split.test, settings.min_bin_count)
    selected = tuple(c.attribute for c in fit.card.criteria) if fit.card else ()
    screened = tuple(c.attribute for c in fit.criteria if c.rule in PASSED_SCREEN)
    return _Fold(scores, tiers, baseline, selected, screened)


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
        data: The closed deals.
        outcomes: Their outcomes (the target included).
        columns: Candidate account attributes.
        settings: The statistical rules, split settings and seed.
        target_name: The target's name, for the report.
        current: The currently approved scorecard, if any.

    Returns:
        The validation report with the lift decision.
    """
    split = _out_of_time_split(data, outcomes.target, settings)
    if split is not None:
        return _out_of_time(split, data, outcomes, columns, settings, target_name, current)
    return _kfold(data, outcomes, columns, settings, target_name, current)


def _metrics_set(
    scores: npt.NDArray[np.float64],
    tiers: npt.NDArray[np.object_],
    baseline: npt.NDArray[np.float64] | None,
    rows: IntArray,
    data: RefinementInput,
    outcomes: Outcomes,
    settings: RefineSettings,
    target_name: str,
    current: Scorecard | None,
) -> tuple[ScoreMetrics, ScoreMetrics | None, ScoreMetrics | None, ScoreMetrics | None]:
    y, won = outcomes.target[rows], outcomes.won[rows]
    bands = [(b.tier, b.min) for b in sorted(settings.bands, key=lambda b: -b.min)]
    common = {"high_score": settings.high_score, "low_score": settings.low_score}
    proposed = score_metrics("proposed method", target_name, scores, y, card=bands, tiers=tiers, won=won, **common)
    proposed_won = None
    if target_name != "won":
        proposed_won = score_metrics("proposed method", "won", scores, won, card=bands, tiers=tiers, won=won, **common)
    current_metrics = None
    if current is not None:
        current_scores, current_tiers = _scores(current, data, rows, current.tiers[-1])
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
    baseline_metrics = None
    if baseline is not None:
        baseline_metrics = score_metrics("plain logistic regression", target_name, baseline, y)
    return proposed, proposed_won, current_metrics, baseline_metrics


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


def _out_of_time(
    split: _Split,
    data: RefinementInput,
    outcomes: Outcomes,
    columns: Sequence[Column],
    settings: RefineSettings,
    target_name: str,
    current: Scorecard | None,
) -> Validation:
    fold = _fit_and_score(split, data, outcomes, columns, settings, with_baseline=True)
    proposed, proposed_won, current_metrics, baseline = _metrics_set(
        fold.scores, fold.tiers, fold.baseline, split.test, data, outcomes, settings, target_name, current
    )
    lift, verdict = _lift(proposed, settings)
    closed = data.closed_at
    return Validation(
        method="out_of_time",
        description=(
            f"out-of-time: fitted on the {len(split.train)} older closed deals, tested on the "
            f"{len(split.test)} most recently closed ({settings.holdout_fraction:.0%}); recent wins have had "
            "less time to churn, so the good-customer target is least settled in the test slice"
        ),
        n_train=len(split.train),
        n_test=len(split.test),
        train_period=(_day(closed[split.train].min()), _day(closed[split.train].max())),
        test_period=(_day(closed[split.test].min()), _day(closed[split.test].max())),
        proposed=proposed,
        proposed_won=proposed_won,
        current=current_metrics,
        baseline=baseline,
        repeat_aucs=(proposed.auc,) if proposed.auc is not None else (),
        selected_per_fit=(fold.selected,),
        screened_per_fit=(fold.screened,),
        lift=lift and bool(fold.selected),
        verdict=verdict if fold.selected else "no lift: the training fit selected no criterion",
    )


def _kfold(
    data: RefinementInput,
    outcomes: Outcomes,
    columns: Sequence[Column],
    settings: RefineSettings,
    target_name: str,
    current: Scorecard | None,
) -> Validation:
    n = len(data)
    lowest = _lowest_tier(settings)
    repeat_aucs: list[float] = []
    selected: list[tuple[str, ...]] = []
    screened: list[tuple[str, ...]] = []
    first: tuple[npt.NDArray[np.float64], npt.NDArray[np.object_], npt.NDArray[np.float64] | None] | None = None
    for repeat in range(settings.kfold_repeats):
        folds = _group_folds(data.account_ids, outcomes.target, settings.kfold_splits, settings.random_seed + repeat)
        scores, tiers = np.zeros(n), np.full(n, lowest, dtype=object)
        baseline = np.full(n, 0.5) if repeat == 0 else None
        for k in range(settings.kfold_splits):
            split = _Split(np.flatnonzero(folds != k), np.flatnonzero(folds == k))
            if not len(split.test):
                continue
            fold = _fit_and_score(split, data, outcomes, columns, settings, with_baseline=repeat == 0)
            scores[split.test], tiers[split.test] = fold.scores, fold.tiers
            if baseline is not None and fold.baseline is not None:
                baseline[split.test] = fold.baseline
            selected.append(fold.selected)
            screened.append(fold.screened)
        auc = score_metrics("proposed method", target_name, scores, outcomes.target).auc
        if auc is not None:
            repeat_aucs.append(auc)
        if first is None:
            first = (scores, tiers, baseline)
    if first is None:
        raise ValueError("kfold_repeats must be at least 1")
    rows = np.arange(n)
    proposed, proposed_won, current_metrics, baseline_metrics = _metrics_set(
        first[0], first[1], first[2], rows, data, outcomes, settings, target_name, current
    )
    lift, verdict = _lift(proposed, settings)
    any_selected = any(selected)
    return Validation(
        method="repeated_kfold",
        description=(
            f"repeated stratified {settings.kfold_splits}-fold cross-validation ({settings.kfold_repeats} repeats, "
            "all deals of an account in one fold): every deal scored by a scorecard fitted without it; "
            "intervals and bands from the first repeat, AUC of each repeat listed"
        ),
        n_train=n - n // settings.kfold_splits,
        n_test=n,
        train_period=None,
        test_period=None,
        proposed=proposed,
        proposed_won=proposed_won,
        current=current_metrics,
        baseline=baseline_metrics,
        repeat_aucs=tuple(repeat_aucs),
        selected_per_fit=tuple(selected),
        screened_per_fit=tuple(screened),
        lift=lift and any_selected,
        verdict=verdict if any_selected else "no lift: no training fit selected any criterion",
    )
