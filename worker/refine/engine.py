"""The refinement run: readiness, cohorts, evidence per criterion, proposed scorecard, validation and review.

Order of work: the readiness gates; cohorts and the target; validation of the whole method on
deals it did not learn from; the final fit on every closed deal; then segments, buying
triggers, lost-deal types, surprises, quotes, the impact preview and evidence alignment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from threadpoolctl import threadpool_limits

from worker.refine.alignment import Alignment, alignment
from worker.refine.cohorts import Cohorts, CohortThresholds, TargetDefinition, assign_cohorts, build_target
from worker.refine.columns import SkippedAttribute, analysable
from worker.refine.criteria import Candidate, CriterionResult
from worker.refine.dataset import Column, RefinementInput
from worker.refine.exclusions import ExclusionResult
from worker.refine.impact import Impact, impact_preview
from worker.refine.metrics import BandStats, band_stats
from worker.refine.outcomes import Outcomes
from worker.refine.profile import SideBySide, side_by_side
from worker.refine.proposal import CardFit, fit_card
from worker.refine.readiness import Readiness, assess_readiness
from worker.refine.review import LostDealTypes, Quote, Surprises, lost_deal_types, quotes, surprises
from worker.refine.segments import Segments, find_segments
from worker.refine.serialize import to_plain
from worker.refine.settings import RefineSettings
from worker.refine.triggers import TriggerResult, find_triggers
from worker.refine.validation import Validation, validate
from worker.refine.vocabulary import plural
from worker.score.scorecard import Scorecard, Scorer, ScoreResult

Status = Literal["proposed", "no_improvement", "no_lift", "stopped", "hypothesis"]
RARE_VALUE_GAP = 0.1
MAX_RARE_VALUES = 30


@dataclass(frozen=True)
class CohortSummary:
    """How won accounts split into cohorts, and the rule used."""

    counts: dict[str, int]
    pain_counts: dict[str, int]
    thresholds: CohortThresholds
    rule: str
    health_coverage: float


@dataclass(frozen=True)
class ReviewItem:
    """Something held back for lack of evidence: a criterion, or a category value seen in too few deals."""

    kind: Literal["criterion", "value"]
    attribute: str
    value: str | None
    n: int
    won: int
    target_positives: int
    rule: str
    reason: str


@dataclass(frozen=True)
class Analysis:
    """Everything a refinement run found. ``to_json()`` is the stored evidence of a proposed version.

    Attributes:
        status: ``proposed``; ``no_improvement`` (a scorecard is proposed, but it does not beat the version in
            force on the same held-out deals: approving it means accepting that risk); ``no_lift`` (nothing
            reliable to propose); ``stopped`` (readiness failed); ``hypothesis`` (readiness failed and the run
            was forced: every output is a hypothesis).
        risks: What an approver must explicitly accept (stored as the version's ``evidence["risks"]``):
            a proposal that does not beat the version in force.
        flags: What the brief points out for the approver to weigh without blocking approval: a strong
            attribute whose timing should be confirmed, a failed playbook check, a single-dimension card.
        headline: The run's outcome in one or two sentences.
        proposed: The proposed scorecard, or None.
        criteria: Every candidate criterion with its statistics and verdict.
        under_review: Criteria and category values held back, each with the reason.
        in_sample_bands: The proposed version's bands on all analysed deals (in-sample).
        design_effect: How much deals clustered in accounts inflate the variance of the target's rates;
            the criteria's tests divide their counts by it.
    """

    status: Status
    headline: str
    n_deals: int
    target: TargetDefinition | None
    settings: RefineSettings
    readiness: Readiness
    skipped: tuple[SkippedAttribute, ...]
    cohorts: CohortSummary | None = None
    side_by_side: tuple[SideBySide, ...] = ()
    criteria: tuple[CriterionResult, ...] = ()
    under_review: tuple[ReviewItem, ...] = ()
    exclusions: tuple[ExclusionResult, ...] = ()
    proposed: Scorecard | None = None
    in_sample_bands: tuple[BandStats, ...] = ()
    validation: Validation | None = None
    segments: Segments | None = None
    triggers: tuple[TriggerResult, ...] = ()
    lost_deal_types: LostDealTypes | None = None
    surprises: Surprises | None = None
    quotes: tuple[Quote, ...] = ()
    impact: Impact | None = None
    alignment: tuple[Alignment, ...] = ()
    messages: tuple[str, ...] = field(default_factory=tuple)
    design_effect: float | None = None
    risks: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()

    @property
    def selected(self) -> tuple[CriterionResult, ...]:
        """The criteria in the proposed scorecard."""
        return tuple(c for c in self.criteria if c.status == "selected") if self.proposed else ()

    def alignment_of(self, role: Literal["proposed", "current"]) -> Alignment | None:
        """The alignment of the proposed or the current scorecard, if measured."""
        return next((a for a in self.alignment if a.role == role), None)

    def to_json(self) -> dict[str, Any]:
        """The whole analysis as JSON-serialisable values."""
        plain: dict[str, Any] = to_plain(self)
        plain["selected"] = [c.attribute for c in self.selected]
        plain["readiness"]["stop_reasons"] = list(self.readiness.stop_reasons)
        plain["readiness"]["warnings"] = list(self.readiness.warnings)
        return plain


def refine(
    data: RefinementInput, settings: RefineSettings, current: Scorecard | None = None, force: bool = False
) -> Analysis:
    """Run the refinement on closed deals and propose an evidence-backed scorecard.

    Args:
        data: Closed deals in the window with accounts, health and the live population.
        settings: The statistical rules.
        current: The currently approved scorecard, compared throughout.
        force: Continue past failed readiness gates; every output is then a hypothesis.

    Returns:
        The analysis; see :class:`Analysis` for its status values.
    """
    readiness = assess_readiness(data, settings)
    columns, skipped = analysable(data.account_columns, settings, "account")
    deal_columns, skipped_deal = analysable(data.deal_columns, settings, "deal")
    skipped_all = tuple(skipped + skipped_deal)
    if not readiness.passed and not force:
        reasons = "; ".join(readiness.stop_reasons)
        return Analysis(
            "stopped",
            f"Refinement stopped: {reasons}. Nothing is proposed.",
            len(data),
            None,
            settings,
            readiness,
            skipped_all,
            side_by_side=side_by_side(data, columns),
        )
    cohorts = assign_cohorts(data.won, data.health, settings)
    target, definition = build_target(data.won, cohorts, settings)
    if min(definition.positives, definition.negatives) < 2:
        return Analysis(
            "stopped" if readiness.passed else "hypothesis",
            "Refinement cannot run: the target has a single outcome in the window.",
            len(data),
            definition,
            settings,
            readiness,
            skipped_all,
            side_by_side=side_by_side(data, columns),
        )
    outcomes = Outcomes.build(data, cohorts, target)
    with threadpool_limits(limits=1):
        return _analyse(
            data, settings, current, readiness, columns, deal_columns, skipped_all, cohorts, definition, outcomes
        )


def _analyse(
    data: RefinementInput,
    settings: RefineSettings,
    current: Scorecard | None,
    readiness: Readiness,
    columns: list[Column],
    deal_columns: list[Column],
    skipped: tuple[SkippedAttribute, ...],
    cohorts: Cohorts,
    definition: TargetDefinition,
    outcomes: Outcomes,
) -> Analysis:
    hypothesis = not readiness.passed
    validation = validate(data, outcomes, columns, settings, definition.name, current)
    rows = np.arange(len(data))
    fit = fit_card(
        columns,
        outcomes,
        rows,
        settings,
        name=_card_name(hypothesis),
        kind="hypothesis" if hypothesis else "evidence",
        description=_description(definition, validation, hypothesis),
        target_name=definition.name,
        evidence=_card_evidence(data, definition, validation, readiness),
        replication=_replication(validation),
        timing=data.timing,
        prior=current,
    )
    status = _status(hypothesis, validation, fit.card is not None)
    proposed = fit.card if status in ("proposed", "no_improvement") or (hypothesis and fit.card) else None
    reference = proposed or current
    scored = Scorer(reference).score(data.scoring_columns(), n=len(data)) if reference else None
    return Analysis(
        status=status,
        headline=_headline(status, readiness, validation, proposed, current),
        n_deals=len(data),
        target=definition,
        settings=settings,
        readiness=readiness,
        skipped=skipped,
        cohorts=_cohort_summary(cohorts, data),
        side_by_side=side_by_side(data, columns),
        criteria=fit.criteria,
        under_review=_under_review(fit, data, outcomes),
        exclusions=fit.exclusions,
        proposed=proposed,
        in_sample_bands=_in_sample_bands(proposed, scored, outcomes) if proposed else (),
        validation=validation,
        segments=find_segments(_segment_candidates(fit, settings), outcomes, rows, settings),
        triggers=find_triggers(deal_columns, outcomes, rows, settings),
        lost_deal_types=lost_deal_types(data, scored, settings),
        surprises=surprises(data, scored, cohorts, settings) if scored else None,
        quotes=quotes(data, cohorts, settings),
        impact=impact_preview(data.population, proposed, current) if proposed else None,
        alignment=_alignments(proposed, current, data, outcomes, settings, definition.name),
        messages=_messages(definition, validation, hypothesis),
        design_effect=fit.design_effect,
        risks=_risks(status, validation, proposed),
        flags=_flags(validation, fit.criteria, proposed, settings),
    )


def _status(hypothesis: bool, validation: Validation, has_card: bool) -> Status:
    if hypothesis:
        return "hypothesis"
    if not (validation.lift and has_card):
        return "no_lift"
    return "no_improvement" if validation.improves is False else "proposed"


def _risks(status: Status, validation: Validation, proposed: Scorecard | None) -> tuple[str, ...]:
    if proposed is None or status != "no_improvement":
        return ()
    return (f"no_improvement: {comparison_words(validation, 'the version in force')}; it does not beat the "
            "version in force on the same held-out deals",)


def _flags(
    validation: Validation,
    criteria: tuple[CriterionResult, ...],
    proposed: Scorecard | None,
    settings: RefineSettings,
) -> tuple[str, ...]:
    if proposed is None:
        return ()
    found = [c.confirm_timing for c in criteria if c.status == "selected" and c.confirm_timing]
    check = playbook_check(validation, settings)
    if check is not None:
        found.append(check)
    dimensions = {c.dimension for c in criteria if c.status == "selected"}
    if len(dimensions) == 1:
        found.append(f"single dimension: every criterion is {dimensions.pop()}; a scorecard resting on one kind of "
                     "signal is the seed playbook's anti-pattern")
    return tuple(found)


def playbook_check(validation: Validation, settings: RefineSettings) -> str | None:
    """The seeds' validation check on held-out deals, as a risk when it fails (None when it passes)."""
    m = validation.proposed_won or validation.proposed
    high, low = m.share_positives_high, m.share_negatives_low
    if high is None or low is None:
        return None
    if high >= settings.check_min_share and low >= settings.check_min_share:
        return None
    return (f"validation check failed: on held-out deals {high:.0%} of won deals score {settings.high_score} or "
            f"more and {low:.0%} of lost deals score under {settings.low_score}; the playbook asks for "
            f"{settings.check_min_share:.0%}-80% of each, so the scores separate won from lost less than they should")


def comparison_words(validation: Validation, in_force: str) -> str:
    """``ranks a won deal above a lost one 76% of the time, against 71% for v1 (+5 points, 95% CI +1 to +9)``."""
    p = validation.proposed.auc
    positive, negative = (
        ("a won deal", "a lost one")
        if validation.proposed.target == "won"
        else ("a deal that became a good customer", "one that did not")
    )
    text = f"ranks {positive} above {negative} {_pct(p)} of the time"
    c = validation.comparison
    if c is None or validation.current is None:
        return text
    return (f"{text}, against {_pct(c.second)} for {in_force} ({_points(c.difference)} points, 95% CI "
            f"{_points(c.low)} to {_points(c.high)})")


def _pct(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{100 * value:.0f}%"


def _points(value: float) -> str:
    if value != value:
        return "n/a"
    whole = round(100 * value)
    return "0" if whole == 0 else f"{whole:+d}"


def _replication(validation: Validation) -> dict[str, float]:
    fits = validation.screened_per_fit
    shares: dict[str, float] = {}
    for chosen in fits:
        for name in chosen:
            shares[name] = shares.get(name, 0.0) + 1 / len(fits)
    return shares


def _segment_candidates(fit: CardFit, settings: RefineSettings) -> list[Candidate]:
    """The selected criteria, else the significant ones, strongest first."""
    selected = [c for c, r in zip(fit.candidates, fit.criteria, strict=True) if r.status == "selected"]
    significant = [c for c, r in zip(fit.candidates, fit.criteria, strict=True) if r.q_value <= settings.alpha]
    return sorted(selected or significant, key=lambda c: -c.iv)


def _card_name(hypothesis: bool) -> str:
    return "Evidence-based ICP scorecard (hypothesis)" if hypothesis else "Evidence-based ICP scorecard"


def _description(definition: TargetDefinition, validation: Validation, hypothesis: bool) -> str:
    prefix = "HYPOTHESIS: readiness gates failed and the run was forced. " if hypothesis else ""
    return (
        f"{prefix}Points from a logistic regression on WoE-coded criteria predicting {definition.name}; "
        f"validation: {validation.verdict}."
    )


def _card_evidence(
    data: RefinementInput, definition: TargetDefinition, validation: Validation, readiness: Readiness
) -> dict[str, Any]:
    proposed = validation.proposed
    return {
        "target": definition.name,
        "closed_deals": len(data),
        "won": readiness.won,
        "lost": readiness.lost,
        "window": [readiness.window_start, readiness.window_end],
        "validation": {
            "method": validation.method,
            "reason": validation.reason,
            "n_test": proposed.n,
            "auc": None if proposed.auc is None else round(proposed.auc, 4),
            "auc_ci95": None if proposed.auc_ci is None else [round(v, 4) for v in proposed.auc_ci],
            "lift": validation.lift,
        },
    }


def _headline(
    status: Status, readiness: Readiness, validation: Validation, proposed: Scorecard | None, current: Scorecard | None
) -> str:
    if status == "hypothesis":
        reasons = "; ".join(readiness.stop_reasons)
        what = (
            f"a hypothesis scorecard with {len(proposed.criteria)} criteria"
            if proposed
            else "no scorecard (no criterion survived)"
        )
        return f"HYPOTHESIS ONLY - readiness failed ({reasons}) and the run was forced: {what}. {validation.verdict}."
    if status == "no_lift":
        why = (
            "the held-out test showed lift, but no criterion passed every rule on all deals"
            if validation.lift
            else validation.verdict.split(": ", 1)[-1]
        )
        return f"No reliable lift: {why}. No scorecard is proposed, and the statistics below are not an ICP."
    criteria = plural(len(proposed.criteria) if proposed else 0, "criterion", "criteria")
    exclusions = plural(len(proposed.exclusions) if proposed else 0, "exclusion")
    compared = comparison_words(validation, "the version in force")
    if status == "no_improvement":
        return (f"No improvement over the version in force: the proposal {compared}. Approving it needs "
                f"--accept-risks. ({criteria} and {exclusions}.)")
    return f"Proposed: {criteria} and {exclusions}; it {compared}; {validation.verdict}."


def _messages(definition: TargetDefinition, validation: Validation, hypothesis: bool) -> tuple[str, ...]:
    messages = [f"Target: {definition.description}."]
    if definition.fallback_reason:
        messages.append(f"Target fallback: {definition.fallback_reason}.")
    if hypothesis:
        messages.append("Every output of this run is a hypothesis: the readiness gates failed.")
    fits = validation.selected_per_fit
    if fits:
        counts: dict[str, int] = {}
        for chosen in fits:
            for name in chosen:
                counts[name] = counts.get(name, 0) + 1
        stable = ", ".join(f"{k} {v}/{len(fits)}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
        messages.append(f"Criteria selected across the {len(fits)} validation fit(s): {stable or 'none'}.")
    return tuple(messages)


def _cohort_summary(cohorts: Cohorts, data: RefinementInput) -> CohortSummary:
    n_won = int(data.won.sum())
    coverage = float(cohorts.health_known.sum() / n_won) if n_won else 0.0
    return CohortSummary(cohorts.counts, cohorts.pain_counts, cohorts.thresholds, cohorts.rule, coverage)


def _under_review(fit: CardFit, data: RefinementInput, outcomes: Outcomes) -> tuple[ReviewItem, ...]:
    items = [
        ReviewItem(
            "criterion",
            r.attribute,
            None,
            r.n_present,
            int(sum(b.won for b in r.bins if b.matcher != "missing")),
            int(sum(b.target_positives for b in r.bins if b.matcher != "missing")),
            r.rule or "",
            r.reason,
        )
        for r in fit.criteria
        if r.status == "under_review"
    ]
    return tuple(items + _rare_values(fit, data, outcomes))


def _rare_values(fit: CardFit, data: RefinementInput, outcomes: Outcomes) -> list[ReviewItem]:
    base_won, base_target = float(data.won.mean()), float(outcomes.target.mean())
    found: list[ReviewItem] = []
    for candidate in fit.candidates:
        for rare in candidate.fit.rare_values:
            if rare.n < 2:
                continue
            won = int(data.won[candidate.column.values == rare.value].sum())
            if (
                abs(won / rare.n - base_won) < RARE_VALUE_GAP
                and abs(rare.positives / rare.n - base_target) < RARE_VALUE_GAP
            ):
                continue
            found.append(
                ReviewItem(
                    "value",
                    candidate.name,
                    rare.value,
                    rare.n,
                    won,
                    rare.positives,
                    "min_sample",
                    f"minimum sample: {rare.n} deals ({won} won) with {candidate.name} = {rare.value}, below the "
                    f"{candidate.fit.min_size} a bin needs; pooled under 'other values' until more deals close",
                )
            )
    found.sort(key=lambda item: (-item.n, item.attribute, item.value or ""))
    return found[:MAX_RARE_VALUES]


def _in_sample_bands(card: Scorecard, scored: ScoreResult | None, outcomes: Outcomes) -> tuple[BandStats, ...]:
    if scored is None or scored.scorecard is not card:
        return ()
    return band_stats(card, scored.tiers, outcomes.target, outcomes.won)


def _alignments(
    proposed: Scorecard | None,
    current: Scorecard | None,
    data: RefinementInput,
    outcomes: Outcomes,
    settings: RefineSettings,
    target_name: str,
) -> tuple[Alignment, ...]:
    measured = []
    if proposed is not None:
        measured.append(alignment(proposed, data, outcomes, settings, target_name, "proposed"))
    if current is not None:
        measured.append(alignment(current, data, outcomes, settings, target_name, "current"))
    return tuple(measured)
