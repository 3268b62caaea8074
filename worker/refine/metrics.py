"""Discrimination and calibration-by-band of a set of scores against an outcome."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from worker.refine.stats import auc_delong, ks_statistic, wilson_interval
from worker.score.scorecard.model import Scorecard

BoolArray = npt.NDArray[np.bool_]
HISTOGRAM_WIDTH = 10


@dataclass(frozen=True)
class BandStats:
    """Deals in one score band and how often they were positives (and won)."""

    tier: str
    min_score: int
    n: int
    positives: int
    rate: float | None
    ci: tuple[float, float] | None
    won: int
    won_rate: float | None


@dataclass(frozen=True)
class ScoreMetrics:
    """How well one set of scores separates an outcome, with every sample size.

    Attributes:
        model: What produced the scores (proposed method, current approved version, baseline).
        target: The outcome the metrics refer to (``good_customer`` or ``won``).
        share_positives_high: Share of positives scoring ``high_score`` or more (playbook check).
        share_negatives_low: Share of negatives scoring under ``low_score`` (playbook check).
        histogram: ``(from_score, positives, negatives)`` per 10-point score bin.
    """

    model: str
    target: str
    n: int
    positives: int
    negatives: int
    auc: float | None
    auc_ci: tuple[float, float] | None
    gini: float | None
    ks: float | None
    bands: tuple[BandStats, ...] = ()
    high_score: int | None = None
    low_score: int | None = None
    share_positives_high: float | None = None
    share_negatives_low: float | None = None
    histogram: tuple[tuple[int, int, int], ...] = ()


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def band_stats(
    card: Scorecard | Sequence[tuple[str, int]], tiers: npt.NDArray[np.object_], y: BoolArray, won: BoolArray
) -> tuple[BandStats, ...]:
    """Per tier (best first): deals, positives, rate with Wilson interval, and won deals."""
    bands = (
        [(b.tier, b.min) for b in sorted(card.bands, key=lambda b: -b.min)]
        if isinstance(card, Scorecard)
        else list(card)
    )
    out = []
    for tier, minimum in bands:
        inside = tiers == tier
        n, k, w = int(inside.sum()), int(y[inside].sum()), int(won[inside].sum())
        low, high = wilson_interval(k, n)
        out.append(
            BandStats(
                tier,
                minimum,
                n,
                k,
                k / n if n else None,
                (float(low), float(high)) if n else None,
                w,
                w / n if n else None,
            )
        )
    return tuple(out)


def score_metrics(
    model: str,
    target: str,
    scores: npt.NDArray[np.float64],
    y: BoolArray,
    *,
    card: Scorecard | Sequence[tuple[str, int]] | None = None,
    tiers: npt.NDArray[np.object_] | None = None,
    won: BoolArray | None = None,
    high_score: int | None = None,
    low_score: int | None = None,
) -> ScoreMetrics:
    """AUC (DeLong 95% interval), Gini, KS, and for 0-100 scores the bands, playbook shares and histogram."""
    auc = auc_delong(scores, y)
    ks = ks_statistic(scores, y)
    positives, negatives = int(y.sum()), int((~y).sum())
    metrics = ScoreMetrics(
        model=model,
        target=target,
        n=len(y),
        positives=positives,
        negatives=negatives,
        auc=_finite(auc.auc),
        auc_ci=None if math.isnan(auc.auc) else (auc.low, auc.high),
        gini=None if math.isnan(auc.auc) else 2 * auc.auc - 1,
        ks=_finite(ks),
    )
    if card is None or tiers is None or high_score is None or low_score is None:
        return metrics
    edges = np.arange(0, 100, HISTOGRAM_WIDTH)
    index = np.clip(scores // HISTOGRAM_WIDTH, 0, len(edges) - 1).astype(np.int64)
    pos_hist = np.bincount(index[y], minlength=len(edges))
    neg_hist = np.bincount(index[~y], minlength=len(edges))
    return replace(
        metrics,
        bands=band_stats(card, tiers, y, won if won is not None else y),
        high_score=high_score,
        low_score=low_score,
        share_positives_high=float((scores[y] >= high_score).mean()) if positives else None,
        share_negatives_low=float((scores[~y] < low_score).mean()) if negatives else None,
        histogram=tuple((int(e), int(p), int(q)) for e, p, q in zip(edges, pos_hist, neg_hist, strict=True)),
    )
