"""A permutation test of the best two-way split of an attribute's unsupervised groups.

The omnibus test of an attribute's groups spends one degree of freedom per group, so a driver that
lifts two industries out of seven, or one band of company sizes, is often "not significant". The
statistic here is the chi-square of the best split into two sides (categories ordered by rate and
cut once; numeric groups as one contiguous range against the rest; or unknown against known), each
side holding at least ``min_size`` deals. Its null distribution comes from the same search on
permuted outcomes, so the search itself is paid for and the p-value stays valid. Deals clustered in
accounts shrink the observed statistic by the design effect, as the parametric tests do.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
PERMUTATIONS = 999


@lru_cache(maxsize=8)
def _permutations(n: int, seed: int) -> IntArray:
    rng = np.random.default_rng(seed)
    matrix = rng.permuted(np.tile(np.arange(n, dtype=np.int64), (PERMUTATIONS, 1)), axis=1)
    matrix.setflags(write=False)
    return matrix


def _chi2(pos_a: FloatArray, n_a: FloatArray, positives: float, total: float, min_size: float) -> FloatArray:
    """Chi-square of side A against the rest, for arrays of candidate sides (-inf where a side is too small)."""
    rest = total - n_a
    denominator = n_a * rest * positives * (total - positives)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = total * (pos_a * total - n_a * positives) ** 2 / denominator
    return np.where((n_a >= min_size) & (rest >= min_size) & (denominator > 0), value, -np.inf)


def _best_categorical(pos: FloatArray, n: FloatArray, positives: float, total: float, min_size: float) -> FloatArray:
    """Best split after ordering groups by rate; ``pos``/``n`` are (permutations x groups)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(n > 0, pos / n, 0.0)
    order = np.argsort(rates, axis=1, kind="stable")
    cum_pos = np.cumsum(np.take_along_axis(pos, order, axis=1), axis=1)[:, :-1]
    cum_n = np.cumsum(np.take_along_axis(n, order, axis=1), axis=1)[:, :-1]
    if cum_n.shape[1] == 0:
        return np.full(len(pos), -np.inf)
    return _chi2(cum_pos, cum_n, positives, total, min_size).max(axis=1)


def _best_ordered(pos: FloatArray, n: FloatArray, positives: float, total: float, min_size: float) -> FloatArray:
    """Best contiguous range of the ordered groups (all but the last, the unknowns) or the unknowns alone."""
    ordered = pos.shape[1] - 1
    cum_pos = np.concatenate([np.zeros((len(pos), 1)), np.cumsum(pos[:, :ordered], axis=1)], axis=1)
    cum_n = np.concatenate([np.zeros((len(n), 1)), np.cumsum(n[:, :ordered], axis=1)], axis=1)
    low, high = np.triu_indices(ordered + 1, k=1)
    ranges = _chi2(cum_pos[:, high] - cum_pos[:, low], cum_n[:, high] - cum_n[:, low], positives, total, min_size)
    unknown = _chi2(pos[:, -1:], n[:, -1:], positives, total, min_size)
    return np.maximum(ranges.max(axis=1, initial=-np.inf), unknown[:, 0])


def best_split_test(
    groups: IntArray, n_groups: int, y: npt.NDArray[np.bool_], ordered: bool, min_size: int, deff: float, seed: int
) -> tuple[float, float]:
    """Chi-square of the best split (shrunk by ``deff``) and its permutation p-value.

    Args:
        groups: Unsupervised group of each row; for ``ordered`` groups, the last index holds the unknowns.
        n_groups: Number of groups.
        y: The outcome of each row.
        ordered: Numeric groups (contiguous ranges) rather than categories (any set ordered by rate).
        min_size: Fewest deals on either side of a split.
        deff: Design effect of deals clustered in accounts.
        seed: Seed of the permutations.

    Returns:
        The observed statistic and ``(1 + permutations at least as large) / (1 + permutations)``;
        ``(0, 1)`` when no split has two sides of ``min_size``.
    """
    total, positives = float(len(y)), float(y.sum())
    if total == 0 or positives in (0.0, total):
        return 0.0, 1.0
    one_hot = np.zeros((len(y), n_groups), dtype=np.float64)
    one_hot[np.arange(len(y)), groups] = 1.0
    n = one_hot.sum(axis=0)
    best = _best_ordered if ordered else _best_categorical
    observed = float(best((y.astype(np.float64) @ one_hot)[None, :], n[None, :], positives, total, min_size)[0])
    if not np.isfinite(observed):
        return 0.0, 1.0
    observed /= deff
    permuted = y[_permutations(len(y), seed)].astype(np.float64) @ one_hot
    null = best(permuted, np.broadcast_to(n, permuted.shape), positives, total, min_size)
    return observed, float((1 + np.count_nonzero(null >= observed)) / (1 + PERMUTATIONS))
