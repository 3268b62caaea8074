"""Statistical primitives: intervals, weights of evidence, tests, multiple-comparison control, AUC.

All functions are vectorised over numpy arrays and free of I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Z95 = 1.959963984540054
WOE_SMOOTHING = 0.5


def wilson_interval(successes: npt.ArrayLike, totals: npt.ArrayLike, z: float = Z95) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval of a binomial proportion (NaN where the total is zero).

    Args:
        successes: Successes per group.
        totals: Trials per group.
        z: Normal quantile of the interval (1.96 for 95%).

    Returns:
        Lower and upper bounds per group.
    """
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(totals, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denominator = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denominator
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
    low = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
    high = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return low, high


def weight_of_evidence(positives: npt.ArrayLike, negatives: npt.ArrayLike) -> FloatArray:
    """WoE per group: ln(share of all positives / share of all negatives), with +0.5 smoothing.

    Positive WoE means the group holds more than its share of positives (good outcomes).
    """
    pos = np.asarray(positives, dtype=np.float64)
    neg = np.asarray(negatives, dtype=np.float64)
    k = len(pos)
    pos_share = (pos + WOE_SMOOTHING) / (pos.sum() + WOE_SMOOTHING * k)
    neg_share = (neg + WOE_SMOOTHING) / (neg.sum() + WOE_SMOOTHING * k)
    return np.log(pos_share / neg_share)


def information_value(positives: npt.ArrayLike, negatives: npt.ArrayLike) -> tuple[float, FloatArray]:
    """Information value of a binning and each group's contribution (with the same smoothing as WoE)."""
    pos = np.asarray(positives, dtype=np.float64)
    neg = np.asarray(negatives, dtype=np.float64)
    if pos.sum() == 0 or neg.sum() == 0:
        return 0.0, np.zeros(len(pos))
    woe = weight_of_evidence(pos, neg)
    parts = (pos / pos.sum() - neg / neg.sum()) * woe
    return float(parts.sum()), parts


@dataclass(frozen=True)
class TestResult:
    """A test statistic, its degrees of freedom and p-value."""

    test: str
    statistic: float
    df: int
    p_value: float


def g_test(positives: npt.ArrayLike, totals: npt.ArrayLike) -> TestResult:
    """Likelihood-ratio (G) test of independence of group and a binary outcome.

    Groups with no deals are ignored. Fewer than two groups, or an outcome with a single
    class, gives ``p = 1``.
    """
    pos = np.asarray(positives, dtype=np.float64)
    n = np.asarray(totals, dtype=np.float64)
    keep = n > 0
    pos, n = pos[keep], n[keep]
    total, positives_total = n.sum(), pos.sum()
    if len(n) < 2 or positives_total in (0, total):
        return TestResult("likelihood ratio", 0.0, max(len(n) - 1, 0), 1.0)
    observed = np.stack([pos, n - pos], axis=1)
    expected = np.outer(n, [positives_total, total - positives_total]) / total
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(observed > 0, observed * np.log(observed / expected), 0.0)
    statistic = float(2 * terms.sum())
    df = len(n) - 1
    return TestResult("likelihood ratio", statistic, df, float(sps.chi2.sf(statistic, df)))


def trend_test(positives: npt.ArrayLike, totals: npt.ArrayLike) -> TestResult:
    """Cochran-Armitage test for a linear trend of the rate over ordered groups (scores 0, 1, 2, ...)."""
    pos = np.asarray(positives, dtype=np.float64)
    n = np.asarray(totals, dtype=np.float64)
    scores = np.arange(len(n), dtype=np.float64)
    total = n.sum()
    if len(n) < 2 or total == 0:
        return TestResult("trend", 0.0, 1, 1.0)
    p = pos.sum() / total
    mean_score = (n * scores).sum() / total
    variance = p * (1 - p) * (n * (scores - mean_score) ** 2).sum()
    if variance <= 0:
        return TestResult("trend", 0.0, 1, 1.0)
    z = float((scores * (pos - n * p)).sum() / math.sqrt(variance))
    return TestResult("trend", z, 1, float(2 * sps.norm.sf(abs(z))))


def two_proportion_pvalue(k1: float, n1: float, k2: float, n2: float) -> float:
    """Two-sided p-value that two proportions are equal: chi-square, or Fisher's exact test when small."""
    table = np.array([[k1, n1 - k1], [k2, n2 - k2]], dtype=np.float64)
    if n1 == 0 or n2 == 0 or table.sum(axis=0).min() == 0:
        return 1.0
    rows, cols, total = table.sum(axis=1), table.sum(axis=0), table.sum()
    if min(rows.min(), 1e300) * cols.min() / total < 5:
        return float(sps.fisher_exact(table.astype(np.int64))[1])
    chi2 = total * (table[0, 0] * table[1, 1] - table[0, 1] * table[1, 0]) ** 2 / (rows.prod() * cols.prod())
    return math.erfc(math.sqrt(chi2 / 2))


def greater_proportion_pvalue(k1: int, n1: int, k2: int, n2: int) -> float:
    """One-sided Fisher exact p-value that the first proportion exceeds the second."""
    if n1 == 0 or n2 == 0:
        return 1.0
    table = np.array([[k1, n1 - k1], [k2, n2 - k2]], dtype=np.int64)
    return float(sps.fisher_exact(table, alternative="greater")[1])


def benjamini_hochberg(p_values: npt.ArrayLike) -> FloatArray:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if m == 0:
        return p.copy()
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.clip(adjusted, 0, 1)
    return q


def design_effect(outcome: npt.ArrayLike, clusters: npt.ArrayLike) -> float:
    """Kish design effect of a binary outcome observed in clusters (deals within accounts).

    ``1 + (m - 1) * rho``, with ``m`` the size-weighted mean cluster size and ``rho`` the ANOVA
    estimate of the intra-cluster correlation (clipped to 0-1). Tests of account-level attributes
    divide their counts by it, so several deals of one account do not count as independent evidence.
    Rows whose cluster is None are clusters of one. Returns 1.0 when every cluster has one row.
    """
    y = np.asarray(outcome, dtype=np.float64)
    keys = np.array([str(c) if c is not None else f"\x00{i}" for i, c in enumerate(np.asarray(clusters, dtype=object))])
    if len(y) == 0:
        return 1.0
    _, index, sizes = np.unique(keys, return_inverse=True, return_counts=True)
    k, n = len(sizes), len(y)
    if k == n or k < 2:
        return 1.0
    means = np.bincount(index, weights=y) / sizes
    within = float(((y - means[index]) ** 2).sum()) / (n - k)
    between = float((sizes * (means - y.mean()) ** 2).sum()) / (k - 1)
    m0 = (n - float((sizes**2).sum()) / n) / (k - 1)
    denominator = between + (m0 - 1) * within
    rho = min(max((between - within) / denominator, 0.0), 1.0) if denominator > 0 else 0.0
    weighted_size = float((sizes**2).sum()) / n
    return 1.0 + (weighted_size - 1.0) * rho


@dataclass(frozen=True)
class AucResult:
    """AUC with its DeLong standard error and 95% interval."""

    auc: float
    se: float
    low: float
    high: float


def auc_delong(scores: npt.ArrayLike, labels: npt.ArrayLike) -> AucResult:
    """AUC of ``scores`` for binary ``labels`` with the DeLong variance (ties count one half).

    Args:
        scores: Higher means more likely positive.
        labels: True for positives.

    Returns:
        The AUC and its 95% interval; NaN when a class is empty.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    pos, neg = s[y], s[~y]
    m, n = len(pos), len(neg)
    if m == 0 or n == 0:
        return AucResult(math.nan, math.nan, math.nan, math.nan)
    rank_all = sps.rankdata(np.concatenate([pos, neg]))
    rank_pos, rank_neg = sps.rankdata(pos), sps.rankdata(neg)
    auc = float((rank_all[:m].sum() - m * (m + 1) / 2) / (m * n))
    v10 = (rank_all[:m] - rank_pos) / n
    v01 = 1 - (rank_all[m:] - rank_neg) / m
    variance = (np.var(v10, ddof=1) / m if m > 1 else 0.0) + (np.var(v01, ddof=1) / n if n > 1 else 0.0)
    se = math.sqrt(max(variance, 0.0))
    return AucResult(auc, se, max(0.0, auc - Z95 * se), min(1.0, auc + Z95 * se))


def ks_statistic(scores: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Kolmogorov-Smirnov distance between the score distributions of positives and negatives."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    if y.all() or not y.any():
        return math.nan
    thresholds = np.unique(s)
    cdf_pos = np.searchsorted(np.sort(s[y]), thresholds, side="right") / y.sum()
    cdf_neg = np.searchsorted(np.sort(s[~y]), thresholds, side="right") / (~y).sum()
    return float(np.max(np.abs(cdf_pos - cdf_neg)))


def group_medians(values: FloatArray, codes: IntArray, n_groups: int) -> FloatArray:
    """Median of the non-missing ``values`` in each group ``0..n_groups-1`` (NaN when empty)."""
    keep = (codes >= 0) & ~np.isnan(values)
    order = np.argsort(codes[keep], kind="stable")
    sorted_codes, sorted_values = codes[keep][order], values[keep][order]
    bounds = np.searchsorted(sorted_codes, np.arange(n_groups + 1))
    return np.array([float(np.median(sorted_values[a:b])) if b > a else math.nan for a, b in pairwise(bounds)])


def kruskal_by_group(values: FloatArray, codes: IntArray, n_groups: int, min_size: int) -> tuple[float, float]:
    """Kruskal-Wallis test across groups with at least ``min_size`` values, and its eta-squared effect.

    Eta squared is ``(H - k + 1) / (n - k)``: about 0.01 is small, 0.06 medium and 0.14 large.

    Returns:
        ``(p_value, eta_squared)``; ``(1.0, 0.0)`` when fewer than two groups qualify.
    """
    keep = (codes >= 0) & ~np.isnan(values)
    samples = [values[keep & (codes == g)] for g in range(n_groups)]
    samples = [s for s in samples if len(s) >= min_size]
    total = sum(len(s) for s in samples)
    if len(samples) < 2 or len(np.unique(np.concatenate(samples))) < 2:
        return 1.0, 0.0
    statistic, p_value = sps.kruskal(*samples)
    return float(p_value), float(max(statistic - len(samples) + 1, 0.0) / (total - len(samples)))


@dataclass(frozen=True)
class AucDifference:
    """Paired difference of two AUCs on the same deals (first minus second), DeLong's paired variance."""

    first: float
    second: float
    difference: float
    se: float
    low: float
    high: float
    p_value: float


def _placements(s: FloatArray, y: npt.NDArray[np.bool_]) -> tuple[FloatArray, FloatArray]:
    pos, neg = s[y], s[~y]
    m, n = len(pos), len(neg)
    rank_all = sps.rankdata(np.concatenate([pos, neg]))
    v10 = (rank_all[:m] - sps.rankdata(pos)) / n
    v01 = 1 - (rank_all[m:] - sps.rankdata(neg)) / m
    return v10, v01


def auc_difference(first: npt.ArrayLike, second: npt.ArrayLike, labels: npt.ArrayLike) -> AucDifference:
    """AUC of ``first`` minus AUC of ``second`` on the same deals, with a 95% interval (DeLong, paired).

    Returns:
        Both AUCs, their difference, its standard error, 95% interval and two-sided p-value; NaN when a
        class is empty.
    """
    a, b = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    m, n = int(y.sum()), int((~y).sum())
    if m < 2 or n < 2:
        return AucDifference(math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)
    a10, a01 = _placements(a, y)
    b10, b01 = _placements(b, y)
    auc_a, auc_b = float(a10.mean()), float(b10.mean())
    s10, s01 = np.cov(np.vstack([a10, b10])), np.cov(np.vstack([a01, b01]))
    variance = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n
    se = math.sqrt(max(float(variance), 0.0))
    diff = auc_a - auc_b
    p = float(2 * sps.norm.sf(abs(diff) / se)) if se > 0 else (1.0 if diff == 0 else 0.0)
    return AucDifference(auc_a, auc_b, diff, se, diff - Z95 * se, diff + Z95 * se, p)
