"""Assembly of the proposed scorecard document, validated through :func:`parse_scorecard`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from worker.refine.binning import Binning
from worker.refine.criteria import BinStats, CriterionResult
from worker.refine.exclusions import ExclusionResult, describe_effect
from worker.refine.settings import RefineSettings
from worker.refine.text import slug, title
from worker.score.scorecard.model import Criterion, Dimension, Scorecard, ScorecardKind, parse_scorecard

DIMENSION_HINTS: tuple[tuple[Dimension, tuple[str, ...]], ...] = (
    (
        "technographic",
        (
            "tech",
            "uses_",
            "stack",
            "crm",
            "warehouse",
            "cloud",
            "erp",
            "tool",
            "platform",
            "integration",
            "software_used",
        ),
    ),
    (
        "behavioural",
        (
            "visit",
            "web",
            "email",
            "click",
            "download",
            "event",
            "webinar",
            "engagement",
            "intent",
            "page",
            "session",
            "trial",
            "signup",
        ),
    ),
    (
        "firmographic",
        (
            "industry",
            "employee",
            "revenue",
            "size",
            "country",
            "region",
            "state",
            "city",
            "funding",
            "stage",
            "founded",
            "vertical",
            "headcount",
            "location",
            "segment",
            "ownership",
        ),
    ),
)


def dimension_of(attribute: str, settings: RefineSettings) -> Dimension:
    """The dimension of an attribute: configured, else guessed from its name, else ``other``."""
    if attribute in settings.dimensions:
        return settings.dimensions[attribute]
    key = attribute.lower()
    for dimension, hints in DIMENSION_HINTS:
        if any(h in key for h in hints):
            return dimension
    return "other"


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), digits)


def _bin_evidence(b: BinStats) -> dict[str, Any]:
    return {
        "label": b.label,
        "n": b.n,
        "won": b.won,
        "target_positives": b.target_positives,
        "target_rate": _round(b.target_rate),
        "target_ci95": [_round(v) for v in b.target_ci] if b.target_ci else None,
        "lift": _round(b.lift, 3),
        "woe": _round(b.woe),
        "points": b.points,
        "churn_rate": _round(b.churn_rate),
        "deal_ids": list(b.deal_ids),
    }


def criterion_evidence(result: CriterionResult, target: str) -> dict[str, Any]:
    """The evidence dict stored on a proposed criterion."""
    return {
        "target": target,
        "n": result.n,
        "won": sum(b.won for b in result.bins),
        "base_rate": _round(result.base_rate),
        "test": result.test,
        "p_value": float(f"{result.p_value:.4g}"),
        "q_value": float(f"{result.q_value:.4g}"),
        "information_value": _round(result.iv),
        "rate_spread": _round(result.rate_spread),
        "coefficient": _round(result.coefficient, 3),
        "wald_z": _round(result.coefficient_z, 2),
        "bins": [_bin_evidence(b) for b in result.bins],
    }


def _criterion_document(result: CriterionResult, settings: RefineSettings, target: str) -> dict[str, Any]:
    bins: list[dict[str, Any]] = []
    missing: dict[str, Any] = {"points": 0, "label": f"{title(result.attribute)} unknown"}
    for b in result.bins:
        entry: dict[str, Any] = {"points": int(b.points or 0), "label": b.label}
        if b.matcher == "missing":
            missing = entry
            continue
        if b.matcher == "range":
            entry = {"range": [b.low, b.high], **entry}
        elif b.matcher == "values":
            entry = {"values": list(b.values), **entry}
        else:
            entry = {"other": True, **entry}
        bins.append(entry)
    return {
        "id": slug(result.attribute),
        "attribute": result.attribute,
        "dimension": dimension_of(result.attribute, settings),
        "label": title(result.attribute).capitalize(),
        "bins": bins,
        "missing": missing,
        "evidence": criterion_evidence(result, target),
    }


def _exclusion_document(result: ExclusionResult, settings: RefineSettings) -> dict[str, Any]:
    when: dict[str, Any] = {"attribute": result.attribute}
    if result.values:
        when["values"] = list(result.values)
    else:
        when["range"] = [result.low, result.high]
    effect: dict[str, Any] = {}
    if settings.exclusion_points is not None:
        effect["points"] = settings.exclusion_points
    if settings.exclusion_cap_tier is not None:
        effect["cap_tier"] = settings.exclusion_cap_tier
    return {
        "id": result.id,
        "label": f"{result.label} (won accounts often problematic)",
        "when": when,
        "effect": effect,
        "evidence": {
            "outcome": "problematic cohort among won accounts with health data",
            "summary": describe_effect(result),
            "n_health": result.n_health,
            "problematic": result.problematic,
            "problematic_rate": _round(result.problematic_rate),
            "problematic_ci95": [_round(v) for v in result.problematic_ci],
            "rest_rate": _round(result.rest_rate),
            "churn_rate": _round(result.churn_rate),
            "n_deals": result.n_deals,
            "won_rate": _round(result.won_rate),
            "p_value": float(f"{result.p_value:.4g}"),
            "q_value": float(f"{result.q_value:.4g}"),
            "deal_ids": list(result.deal_ids),
        },
    }


def dimension_weights(criteria: Sequence[CriterionResult], settings: RefineSettings) -> dict[str, float]:
    """Share of the best possible score each dimension carries."""
    weights: dict[str, float] = {}
    total = sum(c.max_points or 0 for c in criteria)
    for c in criteria:
        dimension = dimension_of(c.attribute, settings)
        weights[dimension] = weights.get(dimension, 0.0) + (c.max_points or 0) / max(total, 1)
    return {k: round(v, 4) for k, v in weights.items()}


def build_card(
    selected: Sequence[CriterionResult],
    exclusions: Sequence[ExclusionResult],
    settings: RefineSettings,
    name: str,
    kind: ScorecardKind,
    description: str,
    target: str,
    evidence: dict[str, Any] | None = None,
    base_points: int = 0,
    bands: Sequence[tuple[str, int]] | None = None,
) -> Scorecard:
    """Build and validate the scorecard of the selected criteria and exclusions.

    ``base_points`` go to every account; ``bands`` (tier, lowest score) replace the configured cut points.
    """
    criteria = [_criterion_document(c, settings, target) for c in selected]
    seen: set[str] = set()
    for document_criterion in criteria:
        base, k = document_criterion["id"], 2
        while document_criterion["id"] in seen:
            document_criterion["id"], k = f"{base}_{k}", k + 1
        seen.add(document_criterion["id"])
    document = {
        "name": name,
        "kind": kind,
        "description": description,
        "base_points": base_points,
        "criteria": criteria,
        "exclusions": [_exclusion_document(e, settings) for e in exclusions],
        "bands": [{"tier": t, "min": m} for t, m in (bands or [(b.tier, b.min) for b in settings.bands])],
        "dimension_weights": dimension_weights(selected, settings),
        "evidence": evidence,
    }
    return parse_scorecard(document, source="proposed scorecard")


def with_option_labels(card: Scorecard, options: Mapping[str, Mapping[str, str]]) -> Scorecard:
    """``card`` with its category bins named by the CRM's option labels where the CRM has them
    (``industry: Computer Software, Retail``); values without a label read as words, as before."""
    criteria = tuple(_relabelled(c, options.get(c.attribute) or {}) for c in card.criteria)
    return card if criteria == card.criteria else card.model_copy(update={"criteria": criteria})


def _relabelled(criterion: Criterion, labels: Mapping[str, str]) -> Criterion:
    groups = tuple(tuple(str(v) for v in b.values) for b in criterion.bins if b.values is not None)
    if not labels or not groups or any(b.range is not None for b in criterion.bins):
        return criterion
    binning = Binning(criterion.attribute, "categorical", groups=groups)
    bins, group = [], 0
    for b in criterion.bins:
        index = group if b.values is not None else binning.other_index
        group += b.values is not None
        bins.append(b.model_copy(update={"label": binning.label(index if index is not None else 0, labels)}))
    return criterion.model_copy(update={"bins": tuple(bins)})
