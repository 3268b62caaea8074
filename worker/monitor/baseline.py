"""What the monitor compares against: the account distribution at approval and the evidence's expected rates.

At approval the cycle stores :func:`baseline_snapshot` in the version's evidence under ``baseline``.
A version approved without one falls back to the refinement's impact preview (the tier mix of live
accounts when the version was proposed); a version with neither has no baseline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from worker.monitor.psi import SCORE_EDGES, histogram
from worker.score.scorecard import Scorecard, ScoreResult
from worker.score.scorecard.scorer import MISSING

SNAPSHOT = "approval snapshot"
IMPACT = "refinement impact preview"


@dataclass(frozen=True)
class CriterionBins:
    """Accounts per bin of one criterion: the scorecard's bins in order, then "missing"."""

    id: str
    label: str
    bin_labels: tuple[str, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class Distribution:
    """How accounts spread over scores, tiers and every criterion's bins.

    Attributes:
        n: Accounts counted.
        source: Where the figures come from (``now``, ``approval snapshot``, ``refinement impact preview``).
        at: When they were taken (ISO time), if known.
        score_edges: Edges of the score bins of ``score_counts``.
        score_counts: Accounts per score bin, or None when only the tier mix is known.
        tier_counts: Accounts per tier, or None.
        criteria: Accounts per bin of each criterion, by criterion id.
    """

    n: int
    source: str
    at: str | None = None
    score_edges: tuple[float, ...] | None = None
    score_counts: tuple[int, ...] | None = None
    tier_counts: Mapping[str, int] | None = None
    criteria: Mapping[str, CriterionBins] | None = None


@dataclass(frozen=True)
class TierExpectation:
    """What the version's evidence predicted for closed deals in one tier.

    ``healthy_rate`` is the share of won deals that became good customers (not churned, contracted,
    poorly delivered or otherwise painful), known only when the refinement targeted good customers.
    """

    tier: str
    n: int | None
    won: int | None
    win_rate: float | None
    won_n: int | None = None
    healthy: int | None = None
    healthy_rate: float | None = None


def criterion_counts(result: ScoreResult) -> dict[str, CriterionBins]:
    """Accounts per bin (then missing) of every criterion of ``result``'s scorecard."""
    out: dict[str, CriterionBins] = {}
    for c, criterion in enumerate(result.scorecard.criteria):
        index = result.bin_index[:, c].copy()
        index[index == MISSING] = len(criterion.bins)
        counts = np.bincount(index, minlength=len(criterion.bins) + 1) if len(index) else np.zeros(
            len(criterion.bins) + 1, dtype=np.int64)
        labels = tuple(b.label for b in criterion.bins) + (criterion.missing_label,)
        out[criterion.id] = CriterionBins(criterion.id, criterion.title, labels, tuple(int(v) for v in counts))
    return out


def distribution_of(result: ScoreResult, edges: tuple[float, ...] = SCORE_EDGES, source: str = "now",
                    at: datetime | None = None) -> Distribution:
    """The distribution of a scored population."""
    return Distribution(
        n=len(result), source=source, at=at.isoformat() if at else None, score_edges=tuple(edges),
        score_counts=tuple(histogram(result.scores, edges)), tier_counts=result.tier_counts(),
        criteria=criterion_counts(result))


def baseline_snapshot(result: ScoreResult, at: datetime | None = None) -> dict[str, Any]:
    """The JSON to store as ``evidence["baseline"]`` when a version is approved.

    Args:
        result: Every live account scored with the version being approved.
        at: The approval time.

    Returns:
        ``{"at", "n", "edges", "scores", "tiers", "criteria": {id: {"label", "labels", "counts"}}}``.
    """
    d = distribution_of(result, at=at)
    return {
        "at": d.at, "n": d.n, "edges": list(d.score_edges or ()), "scores": list(d.score_counts or ()),
        "tiers": dict(d.tier_counts or {}),
        "criteria": {k: {"label": v.label, "labels": list(v.bin_labels), "counts": list(v.counts)}
                     for k, v in (d.criteria or {}).items()},
    }


def _snapshot_criteria(raw: Any, card: Scorecard) -> dict[str, CriterionBins]:
    out: dict[str, CriterionBins] = {}
    if not isinstance(raw, Mapping):
        return out
    titles = {c.id: c.title for c in card.criteria}
    for key, entry in raw.items():
        counts = entry.get("counts") if isinstance(entry, Mapping) else entry
        if not isinstance(counts, list) or key not in titles:
            continue
        labels = entry.get("labels", []) if isinstance(entry, Mapping) else []
        out[key] = CriterionBins(key, titles[key], tuple(str(v) for v in labels), tuple(int(v) for v in counts))
    return out


def _from_snapshot(raw: Mapping[str, Any], card: Scorecard) -> Distribution | None:
    scores = raw.get("scores")
    edges = raw.get("edges") or (SCORE_EDGES if isinstance(scores, list) and len(scores) == len(SCORE_EDGES) - 1
                                 else None)
    valid_scores = isinstance(scores, list) and edges is not None and len(scores) == len(edges) - 1
    tiers = raw.get("tiers") if isinstance(raw.get("tiers"), Mapping) else None
    if not valid_scores and tiers is None:
        return None
    counts = tuple(int(v) for v in scores) if valid_scores and scores is not None else None
    n = int(raw.get("n") or (sum(counts) if counts else sum(int(v) for v in (tiers or {}).values())))
    return Distribution(n=n, source=SNAPSHOT, at=raw.get("at"),
                        score_edges=tuple(float(e) for e in edges) if valid_scores and edges else None,
                        score_counts=counts, tier_counts={str(k): int(v) for k, v in (tiers or {}).items()} or None,
                        criteria=_snapshot_criteria(raw.get("criteria"), card))


def baseline_from_evidence(evidence: Mapping[str, Any], card: Scorecard) -> Distribution | None:
    """The baseline stored with a version: its approval snapshot, else its refinement's tier mix, else None."""
    snapshot = evidence.get("baseline")
    if isinstance(snapshot, Mapping):
        found = _from_snapshot(snapshot, card)
        if found is not None:
            return found
    impact = evidence.get("impact")
    tiers = impact.get("proposed_tiers") if isinstance(impact, Mapping) else None
    if isinstance(tiers, Mapping) and sum(int(v) for v in tiers.values()) > 0:
        return Distribution(n=sum(int(v) for v in tiers.values()), source=IMPACT,
                            tier_counts={str(k): int(v) for k, v in tiers.items()})
    return None


def expectations_from_evidence(evidence: Mapping[str, Any]) -> dict[str, TierExpectation]:
    """Per tier, the win rate (and good-customer share of wins) the version's refinement measured.

    Read from ``in_sample_bands`` of a stored :meth:`worker.refine.Analysis.to_json`; empty for a
    hand-written version.
    """
    target = evidence.get("target")
    good_customer = isinstance(target, Mapping) and target.get("name") == "good_customer"
    out: dict[str, TierExpectation] = {}
    for band in evidence.get("in_sample_bands") or ():
        if not isinstance(band, Mapping) or "tier" not in band:
            continue
        n, won = band.get("n"), band.get("won")
        rate = band.get("won_rate")
        if rate is None and n and won is not None:
            rate = won / n
        healthy = band.get("positives") if good_customer else None
        healthy_rate = healthy / won if healthy is not None and won else None
        out[str(band["tier"])] = TierExpectation(str(band["tier"]), n, won, rate, won if good_customer else None,
                                                 healthy, healthy_rate)
    return out
