"""Binning of one attribute against a binary outcome.

Numeric attributes are cut at quantiles into pre-bins whose edges are the roundest numbers
that keep the same split; pre-bins under the minimum size are merged with their smaller
neighbour. Categorical values under the minimum size are pooled as "other". These
unsupervised groups are what the attribute's significance test uses, so its p-value is
valid: the outcome has not shaped the groups. Every test divides its counts by the design
effect of deals clustered in accounts, so an account with several deals does not count as
several independent pieces of evidence.

Then, for the scorecard, adjacent groups are merged while their rates do not differ
significantly (categories are ordered by rate first), a monotonic trend is enforced by pooling
adjacent violators (when configured, or when the monotone bins keep 90% of the information value:
points are monotone where the data are), and the most similar neighbours are merged until at
most ``max_bins`` remain. Missing values always have a bin of their own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from worker.refine.dataset import Column
from worker.refine.permutation import PERMUTATIONS, best_split_test
from worker.refine.settings import Monotonic, RefineSettings
from worker.refine.stats import TestResult, g_test, information_value, trend_test, two_proportion_pvalue
from worker.refine.text import group_words, number_for, title

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Run = tuple[int, int]
EDGE_TOLERANCE = 0.3
MONOTONE_IV_SHARE = 0.9
NAME_THE_REST_FROM = 3
MAX_REST_NAMED = 2


@dataclass(frozen=True)
class Binning:
    """A fitted binning: numeric intervals ``[edges[i-1], edges[i])`` or categorical value groups.

    Bin indices: numeric intervals ``0..len(edges)``, then missing; categorical groups
    ``0..len(groups)-1``, then other, then missing.
    """

    attribute: str
    kind: Literal["numeric", "categorical"]
    edges: tuple[float, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()
    integer_valued: bool = False

    @property
    def n_bins(self) -> int:
        """Bins including the other (categorical) and missing bins."""
        return len(self.edges) + 2 if self.kind == "numeric" else len(self.groups) + 2

    @property
    def missing_index(self) -> int:
        """Index of the missing bin."""
        return self.n_bins - 1

    @property
    def other_index(self) -> int | None:
        """Index of the other bin (categorical only)."""
        return len(self.groups) if self.kind == "categorical" else None

    def assign(self, column: Column) -> IntArray:
        """Bin index of every value of ``column``."""
        if self.kind == "numeric":
            values = column.values.astype(np.float64)
            index = np.searchsorted(np.asarray(self.edges, dtype=np.float64), values, side="right")
            return np.where(np.isnan(values), self.missing_index, index).astype(np.int64)
        levels, codes = column.factorized
        lookup = {v: g for g, group in enumerate(self.groups) for v in group}
        per_level = np.array([lookup.get(v, len(self.groups)) for v in levels] + [self.missing_index], dtype=np.int64)
        return per_level[codes]

    def _group_words(self, index: int, options: Mapping[str, str] | None = None) -> str:
        """Members in words; a large group also names the few named values it leaves out (``...; not seed``)."""
        members = self.groups[index]
        text = group_words(members, options)
        rest = [v for i, group in enumerate(self.groups) if i != index for v in group]
        if len(members) >= NAME_THE_REST_FROM and 0 < len(rest) < len(members) and len(rest) <= MAX_REST_NAMED:
            text += "; not " + group_words(rest, options, within=True)
        return text

    def interval(self, index: int) -> tuple[float | None, float | None]:
        """The ``[low, high)`` range of a numeric bin (None: open side)."""
        low = self.edges[index - 1] if index > 0 else None
        high = self.edges[index] if index < len(self.edges) else None
        return low, high

    def label(self, index: int, options: Mapping[str, str] | None = None) -> str:
        """A readable label of a bin; ``options`` are the CRM's option labels of a category's values."""
        name = title(self.attribute)
        if index == self.missing_index:
            return f"{name} unknown"
        if self.kind == "categorical":
            if index == self.other_index:
                named = [v for group in self.groups for v in group]
                if 0 < len(named) <= MAX_REST_NAMED and not set(named) <= {"true", "false"}:
                    return f"{name}: not {group_words(named, options, last=' or ', within=True)}"
                return f"{name}: other values"
            return f"{name}: {self._group_words(index, options)}"
        low, high = self.interval(index)
        if low is None and high is None:
            return f"{name} any value"
        if low is None:
            return f"{name} under {number_for(name, high)}"
        if high is None:
            return f"{name} {number_for(name, low)} and more"
        if self.integer_valued and float(low).is_integer() and float(high).is_integer():
            last = number_for(name, high - 1)
            return f"{name} {number_for(name, low)}-{last}" if high - low > 1 else f"{name} {number_for(name, low)}"
        return f"{name} {number_for(name, low)} to under {number_for(name, high)}"


@dataclass(frozen=True)
class RareValue:
    """A category value seen in too few deals to have a bin of its own."""

    value: str
    n: int
    positives: int


@dataclass(frozen=True)
class BinningFit:
    """A fitted binning with the significance test of its unsupervised groups."""

    binning: Binning
    test: TestResult
    groups_tested: int
    min_size: int
    rare_values: tuple[RareValue, ...]
    groups: IntArray | None = None
    n_groups: int = 0


def fit_binning(
    column: Column,
    target: BoolArray,
    rows: IntArray,
    settings: RefineSettings,
    monotonic: Monotonic | None = None,
    supervised: bool = True,
    deff: float = 1.0,
) -> BinningFit:
    """Fit the binning of ``column`` on ``rows`` against ``target``.

    Args:
        column: The attribute over all deals.
        target: The outcome over all deals.
        rows: The rows to fit on (a training split or all rows).
        settings: Minimum sizes, merge level, bin limit.
        monotonic: Optional trend the rates must follow.
        supervised: False keeps the unsupervised groups (size-merged pre-bins, kept categories).
        deff: Design effect of the rows (deals clustered in accounts); every test divides its counts by it.

    Returns:
        The binning, the test of association on the unsupervised groups, and rare values.
    """
    y = target[rows]
    if column.kind == "numeric":
        x = column.values[rows].astype(np.float64)
        return _fit_numeric(column.name, x, y, settings, monotonic, supervised, deff)
    levels, codes = column.factorized
    return _fit_categorical(column.name, levels, codes[rows], y, settings, supervised, deff)


def _fit_numeric(
    name: str,
    x: FloatArray,
    y: BoolArray,
    settings: RefineSettings,
    monotonic: Monotonic | None,
    supervised: bool,
    deff: float,
) -> BinningFit:
    min_size = settings.min_bin_size(len(x))
    present = ~np.isnan(x)
    edges = quantile_edges(x[present], settings.max_prebins)
    index = np.searchsorted(edges, x[present], side="right")
    n = np.bincount(index, minlength=len(edges) + 1).astype(np.float64)
    pos = np.bincount(index, weights=y[present], minlength=len(edges) + 1).astype(np.float64)
    runs = _merge_small([(i, i + 1) for i in range(len(n))], n, min_size)
    pos_runs, n_runs = _sums(pos, runs), _sums(n, runs)
    test, tested = _numeric_test(pos_runs, n_runs, y[~present], min_size, deff)
    run_of_prebin = np.repeat(np.arange(len(runs)), [b - a for a, b in runs])
    groups = np.full(len(x), len(runs), dtype=np.int64)
    groups[present] = run_of_prebin[index]
    test = _with_best_split(test, groups, len(runs) + 1, y, True, min_size, deff, settings.random_seed)
    if supervised:
        direction = _direction(monotonic, pos_runs, n_runs)
        final = _supervised_merge(pos_runs / deff, n_runs / deff, settings, direction)
        if monotonic is None:
            final = _monotone_if_close(final, pos_runs, n_runs, settings, deff)
    else:
        final = [(i, i + 1) for i in range(len(runs))]
    kept = [edges[runs[start][0] - 1] for start, _ in final[1:]]
    integer_valued = bool(np.all(np.mod(x[present], 1) == 0)) if present.any() else False
    binning = Binning(name, "numeric", edges=tuple(float(e) for e in kept), integer_valued=integer_valued)
    return BinningFit(binning, test, tested, min_size, (), groups, len(runs) + 1)


def _fit_categorical(
    name: str,
    levels: tuple[str, ...],
    codes: IntArray,
    y: BoolArray,
    settings: RefineSettings,
    supervised: bool,
    deff: float,
) -> BinningFit:
    present = codes >= 0
    n = np.bincount(codes[present], minlength=len(levels)).astype(np.float64)
    pos = np.bincount(codes[present], weights=y[present], minlength=len(levels)).astype(np.float64)
    keep_size = settings.min_category_size(len(codes))
    kept = np.flatnonzero(n >= keep_size)
    rare = np.flatnonzero((n > 0) & (n < keep_size))
    rare_values = tuple(RareValue(levels[i], int(n[i]), int(pos[i])) for i in rare)
    other_pos, other_n = float(pos[rare].sum()), float(n[rare].sum())
    missing_y = y[~present]
    group_pos = [*pos[kept], other_pos, float(missing_y.sum())]
    group_n = [*n[kept], other_n, float(len(missing_y))]
    sizable = np.array(group_n) >= keep_size
    test = g_test(np.array(group_pos)[sizable] / deff, np.array(group_n)[sizable] / deff)
    group_of_level = np.full(len(levels), len(kept), dtype=np.int64)
    group_of_level[kept] = np.arange(len(kept))
    unsupervised = np.where(present, group_of_level[np.maximum(codes, 0)], len(kept) + 1)
    test = _with_best_split(test, unsupervised, len(kept) + 2, y, False, keep_size, deff, settings.random_seed)
    order = kept[np.argsort(pos[kept] / np.maximum(n[kept], 1), kind="stable")]
    if supervised:
        final = _supervised_merge(pos[order] / deff, n[order] / deff, settings, 0)
    else:
        final = [(i, i + 1) for i in range(len(order))]
    groups = tuple(tuple(levels[i] for i in order[a:b]) for a, b in final)
    binning = Binning(name, "categorical", groups=groups)
    return BinningFit(binning, test, int(sizable.sum()), keep_size, rare_values, unsupervised, len(kept) + 2)


def _with_best_split(
    omnibus: TestResult,
    groups: IntArray,
    n_groups: int,
    y: BoolArray,
    ordered: bool,
    min_size: int,
    deff: float,
    seed: int,
) -> TestResult:
    """The stronger of the group test and the permutation test of the best split, Bonferroni x2."""
    statistic, p_value = best_split_test(groups, n_groups, y, ordered, min_size, deff, seed)
    if p_value >= omnibus.p_value:
        return TestResult(f"{omnibus.test}; best split checked too (Bonferroni x2)", omnibus.statistic, omnibus.df,
                          min(1.0, 2 * omnibus.p_value))
    return TestResult(
        f"best two-way split, permutation test ({PERMUTATIONS} permutations; stronger than {omnibus.test}, "
        "Bonferroni x2)",
        statistic,
        1,
        min(1.0, 2 * p_value),
    )


def _iv(pos: FloatArray, n: FloatArray, runs: list[Run]) -> float:
    p, t = _sums(pos, runs), _sums(n, runs)
    return information_value(p, t - p)[0]


def _monotone_if_close(
    final: list[Run], pos: FloatArray, n: FloatArray, settings: RefineSettings, deff: float
) -> list[Run]:
    """Monotone bins when the data are: kept if they hold at least ``MONOTONE_IV_SHARE`` of the free fit's IV."""
    direction = _direction("auto", pos, n)
    monotone = _supervised_merge(pos / deff, n / deff, settings, direction)
    if monotone == final or _iv(pos, n, monotone) >= MONOTONE_IV_SHARE * _iv(pos, n, final):
        return monotone
    return final


def _numeric_test(
    pos: FloatArray, n: FloatArray, missing_y: BoolArray, min_size: int, deff: float
) -> tuple[TestResult, int]:
    """Association test on the unsupervised groups holding at least ``min_size`` deals.

    The stronger of an omnibus (likelihood-ratio) test, which includes the missing group, and a
    trend test over the ordered groups; two tests are looked at, so the smaller p-value is doubled
    (Bonferroni).
    """
    sizable = n >= min_size
    pos, n = pos[sizable] / deff, n[sizable] / deff
    with_missing_pos, with_missing_n = list(pos), list(n)
    if len(missing_y) >= min_size:
        with_missing_pos.append(float(missing_y.sum()) / deff)
        with_missing_n.append(float(len(missing_y)) / deff)
    omnibus = g_test(np.array(with_missing_pos), np.array(with_missing_n))
    groups = len(with_missing_n)
    if len(n) < 3:
        return omnibus, groups
    trend = trend_test(pos, n)
    best = min(omnibus, trend, key=lambda t: t.p_value)
    combined = TestResult(
        f"{best.test} (best of likelihood ratio and trend, Bonferroni x2)",
        best.statistic,
        best.df,
        min(1.0, 2 * best.p_value),
    )
    return combined, groups


def quantile_edges(x: FloatArray, max_prebins: int) -> FloatArray:
    """Cut points near quantiles of ``x`` that never split tied values.

    Each cut point is the roundest number within ``EDGE_TOLERANCE`` of a pre-bin's share of the
    deals around its quantile, so edges read 200 or 2,000 rather than 183.
    """
    if len(x) == 0:
        return np.empty(0)
    uniq, counts = np.unique(x, return_counts=True)
    if len(uniq) < 2:
        return np.empty(0)
    cumulative = np.cumsum(counts) / len(x)
    targets = np.arange(1, max_prebins) / max_prebins
    slack = EDGE_TOLERANCE / max_prebins
    low = np.clip(np.searchsorted(cumulative, targets - slack - 1e-12, side="left"), 0, len(uniq) - 2)
    high = np.clip(np.searchsorted(cumulative, targets + slack - 1e-12, side="left"), 0, len(uniq) - 2)
    edges = sorted({_roundest_between(float(uniq[a]), float(uniq[b + 1])) for a, b in zip(low, high, strict=True)})
    return np.array(edges)


def _roundest_between(low: float, high: float) -> float:
    """The number with the fewest significant digits in ``(low, high]``."""
    scale = max(abs(low), abs(high))
    exponent = math.floor(math.log10(scale)) if scale > 0 else 0
    for digits in range(1, 16):
        power = exponent - digits + 1
        step = 10.0**power
        multiple = math.floor(low / step) + 1
        candidate = float(f"{multiple}e{power}")
        if low < candidate <= high:
            return candidate
    return high


def _sums(values: FloatArray, runs: list[Run]) -> FloatArray:
    return np.array([values[a:b].sum() for a, b in runs], dtype=np.float64)


def _merge_small(runs: list[Run], n: FloatArray, min_size: int) -> list[Run]:
    runs = list(runs)
    while len(runs) > 1:
        sizes = _sums(n, runs)
        smallest = int(np.argmin(sizes))
        if sizes[smallest] >= min_size:
            break
        if smallest == 0:
            neighbour = 1
        elif smallest == len(runs) - 1:
            neighbour = smallest - 1
        else:
            neighbour = smallest - 1 if sizes[smallest - 1] <= sizes[smallest + 1] else smallest + 1
        runs = _join(runs, min(smallest, neighbour))
    return runs


def _join(runs: list[Run], left: int) -> list[Run]:
    merged = (runs[left][0], runs[left + 1][1])
    return [*runs[:left], merged, *runs[left + 2 :]]


def _direction(monotonic: Monotonic | None, pos: FloatArray, n: FloatArray) -> int:
    if monotonic is None:
        return 0
    if monotonic == "ascending":
        return 1
    if monotonic == "descending":
        return -1
    return 1 if trend_test(pos, n).statistic >= 0 else -1


def _supervised_merge(pos: FloatArray, n: FloatArray, settings: RefineSettings, direction: int) -> list[Run]:
    """Runs over the input groups after the monotonic, significance and size merges."""
    runs: list[Run] = [(i, i + 1) for i in range(len(n))]
    if direction:
        runs = _pool_violators(pos, n, runs, direction)
    while len(runs) > 1:
        p_values = _adjacent_pvalues(pos, n, runs)
        worst = int(np.argmax(p_values))
        if p_values[worst] <= settings.adjacent_max_pvalue and len(runs) <= settings.max_bins:
            break
        runs = _join(runs, worst)
    return runs


def _adjacent_pvalues(pos: FloatArray, n: FloatArray, runs: list[Run]) -> FloatArray:
    p, t = _sums(pos, runs), _sums(n, runs)
    return np.array([two_proportion_pvalue(p[i], t[i], p[i + 1], t[i + 1]) for i in range(len(runs) - 1)])


def _pool_violators(pos: FloatArray, n: FloatArray, runs: list[Run], direction: int) -> list[Run]:
    while len(runs) > 1:
        rates = _sums(pos, runs) / np.maximum(_sums(n, runs), 1)
        steps = np.diff(rates) * direction
        violations = np.flatnonzero(steps < 0)
        if not len(violations):
            break
        runs = _join(runs, int(violations[0]))
    return runs
