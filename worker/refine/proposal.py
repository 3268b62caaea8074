"""From candidate attributes to a scorecard, on any set of rows.

The same procedure runs on each training split during validation and, last, on all closed
deals for the proposed version, so the validation measures the whole method (binning, WoE,
selection, regression, points and exclusions) on deals it never saw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from worker.refine.card import build_card, dimension_of
from worker.refine.criteria import Candidate, CriterionResult, Screened, evaluate, screen, screen_one
from worker.refine.dataset import Column
from worker.refine.exclusions import ExclusionResult, find_exclusions
from worker.refine.fitting import ModelFit, fit_logistic, scale_points
from worker.refine.outcomes import Outcomes
from worker.refine.settings import RefineSettings
from worker.refine.stepwise import forward_steps
from worker.refine.tiers import data_bands
from worker.refine.timing import AttributeTiming
from worker.score.scorecard.model import Condition, Criterion, Scorecard, ScorecardKind

IntArray = npt.NDArray[np.int64]
CONDITIONAL_RULES = frozenset({"not_significant", "small_effect"})


@dataclass(frozen=True)
class CardFit:
    """A fitted scorecard (None when no criterion survives) with every candidate's verdict."""

    card: Scorecard | None
    criteria: tuple[CriterionResult, ...]
    exclusions: tuple[ExclusionResult, ...]
    candidates: tuple[Candidate, ...]
    design_effect: float


def fit_card(
    columns: Sequence[Column],
    outcomes: Outcomes,
    rows: IntArray,
    settings: RefineSettings,
    *,
    name: str,
    kind: ScorecardKind = "evidence",
    description: str = "",
    target_name: str = "good_customer",
    evidence: dict[str, Any] | None = None,
    replication: Mapping[str, float] | None = None,
    timing: Mapping[str, AttributeTiming] | None = None,
    prior: Scorecard | None = None,
) -> CardFit:
    """Screen, model and scale the candidates on ``rows`` and assemble the scorecard.

    Args:
        columns: Candidate account attributes (already filtered by configuration).
        outcomes: Outcomes of all deals.
        rows: Rows to learn from.
        settings: The statistical rules.
        name: Name of the scorecard.
        kind: ``evidence``, or ``hypothesis`` when readiness gates were forced.
        description: Description of the scorecard.
        target_name: The target's name, recorded in each criterion's evidence.
        evidence: Card-level evidence to store on the scorecard.
        replication: Share of the validation's training fits that selected each attribute; when given,
            a criterion needs at least ``min_replication`` of them to be proposed.
        timing: When each attribute is known; held back as post-close only on this evidence or on
            near-perfect separation (see :mod:`worker.refine.leakage`).
        prior: The version in force; its bins are tested as pre-stated hypotheses on their attributes.

    Returns:
        The scorecard (or None) and the verdict on every candidate.
    """
    deff = outcomes.design_effect(rows)
    priors = _priors(prior)
    candidates = [evaluate(c, "account", outcomes, rows, settings, deff, priors.get(c.name)) for c in columns]
    screened = _with_conditional(screen(candidates, settings, timing), outcomes, rows, deff, settings, timing)
    passing = sorted((s for s in screened if s.reason is None), key=lambda s: -s.candidate.iv)
    reasons: dict[str, tuple[str, str]] = {
        s.candidate.name: (s.reason, s.rule or "") for s in screened if s.reason is not None
    }
    if replication is not None:
        passing = _replicated(passing, replication, settings, reasons)
    for s in passing[settings.max_criteria :]:
        reasons[s.candidate.name] = (f"outside the {settings.max_criteria} strongest criteria", "max_criteria")
    kept = [s.candidate for s in passing[: settings.max_criteria]]
    model, points, base = _model_and_points(kept, outcomes.target[rows], settings, reasons)
    results = tuple(_result(s, model, points, reasons, settings, replication) for s in screened)
    exclusions = find_exclusions(columns, outcomes, rows, settings)
    selected = sorted((r for r in results if r.status == "selected"), key=lambda r: -(r.max_points or 0))
    card = None
    if selected:
        scores = base + sum(np.asarray(points[c.name])[c.codes] for c in kept if c.name in points)
        bands = data_bands(np.asarray(scores), settings)
        card = build_card(
            selected, exclusions, settings, name, kind, description, target_name, evidence,
            base_points=base, bands=bands,
        )
    return CardFit(card, results, exclusions, tuple(candidates), deff)


def _with_conditional(
    screened: list[Screened],
    outcomes: Outcomes,
    rows: IntArray,
    deff: float,
    settings: RefineSettings,
    timing: Mapping[str, AttributeTiming] | None,
) -> list[Screened]:
    """Candidates that failed only for significance or marginal effect size, tested again given the ones that
    passed (forward steps); a driver diluted by a stronger one shows a small effect on its own. One that passes
    is screened again at ``conditional_alpha`` (its corrected conditional q-value), not at ``alpha``."""
    chosen = [s.candidate for s in screened if s.reason is None]
    waiting = [s.candidate for s in screened if s.rule in CONDITIONAL_RULES]
    found = forward_steps(chosen, waiting, outcomes.target[rows], deff, settings.conditional_alpha)
    known = timing or {}
    conditional = settings.model_copy(update={"alpha": settings.conditional_alpha})
    out = []
    for s in screened:
        if s.candidate.name in found:
            candidate = s.candidate
            if candidate.estimable_bins < 2:
                candidate = evaluate(candidate.column, "account", outcomes, rows, settings, deff, supervised=False)
            again = screen_one(candidate, found[candidate.name], conditional, known.get(candidate.name))
            if again.reason is None or again.rule == "small_effect":
                s = replace(again, reason=None, rule=None, conditional=True)
        out.append(s)
    return out


def _priors(card: Scorecard | None) -> dict[str, Criterion | Condition]:
    """The version in force's criterion (else exclusion condition) of each attribute."""
    if card is None:
        return {}
    found: dict[str, Criterion | Condition] = {e.when.attribute: e.when for e in card.exclusions}
    found.update({c.attribute: c for c in card.criteria})
    return found


def _replicated(
    passing: list[Screened],
    replication: Mapping[str, float],
    settings: RefineSettings,
    reasons: dict[str, tuple[str, str]],
) -> list[Screened]:
    kept = []
    for s in passing:
        share = replication.get(s.candidate.name, 0.0)
        if share >= settings.min_replication:
            kept.append(s)
        else:
            reasons[s.candidate.name] = (
                f"not replicated: passes on all deals, but passed the screen in only {share:.0%} of the "
                f"validation's training fits (needs {settings.min_replication:.0%})",
                "not_replicated",
            )
    return kept


def _model_and_points(
    chosen: list[Candidate],
    target: npt.NDArray[np.bool_],
    settings: RefineSettings,
    reasons: dict[str, tuple[str, str]],
) -> tuple[ModelFit | None, dict[str, list[int]], int]:
    while chosen:
        model = fit_logistic(chosen, target, settings)
        for name, reason in model.dropped.items():
            reasons[name] = (reason, "redundant")
        points, too_small, base = scale_points(chosen, model) if model.attributes else ({}, {}, 0)
        if not too_small:
            return (model if model.attributes else None), points, base
        for name, reason in too_small.items():
            reasons[name] = (reason, "too_few_points")
        chosen = [c for c in chosen if c.name in model.attributes and c.name not in too_small]
    return None, {}, 0


def _result(
    s: Screened,
    model: ModelFit | None,
    points: dict[str, list[int]],
    reasons: dict[str, tuple[str, str]],
    settings: RefineSettings,
    replication: Mapping[str, float] | None,
) -> CriterionResult:
    c = s.candidate
    selected = c.name in points
    coefficient = z = None
    bins = c.bins
    if selected and model is not None:
        i = model.attributes.index(c.name)
        coefficient, z = model.coefficients[i], model.z_values[i]
        bins = tuple(replace(b, points=p) for b, p in zip(c.bins, points[c.name], strict=True))
    reason, rule = reasons.get(c.name, (_selected_reason(c, s.q_value, s.conditional), "selected"))
    return CriterionResult(
        attribute=c.name,
        kind=c.column.kind,
        source=c.source,
        dimension=dimension_of(c.name, settings),
        n=int(sum(b.n for b in c.bins)),
        n_present=int(sum(b.n for b in c.bins if b.matcher != "missing")),
        coverage=float(sum(b.n for b in c.bins if b.matcher != "missing") / max(sum(b.n for b in c.bins), 1)),
        test=c.fit.test.test,
        statistic=c.fit.test.statistic,
        df=c.fit.test.df,
        p_value=c.fit.test.p_value,
        q_value=s.q_value,
        iv=c.iv,
        rate_spread=c.rate_spread,
        base_rate=c.base_rate,
        status="selected" if selected else "under_review",
        reason=reason,
        rule=rule,
        bins=bins,
        coefficient=coefficient,
        coefficient_z=z,
        max_points=max(points[c.name]) if selected else None,
        replication=None if replication is None else replication.get(c.name, 0.0),
        confirm_timing=s.confirm,
    )


def _selected_reason(candidate: Candidate, q: float, conditional: bool = False) -> str:
    given = " once the stronger criteria are accounted for" if conditional else ""
    return (
        f"significant{given} (q = {q:.2g}), information value {candidate.iv:.3f}, "
        f"rate spread {100 * candidate.rate_spread:.0f} points, replicated in validation, independent in the regression"
    )
