"""Exclusions (anti-personas): segments whose won accounts turn out significantly unhealthy.

Among won accounts with health data (one row per account), each attribute is cut into its unsupervised groups
(size-merged quantile pre-bins, or category values of the minimum size), and each group's
problematic rate is tested against the rest with a one-sided Fisher exact test. The
p-values of every group of every attribute form one Benjamini-Hochberg family. A group
becomes an exclusion when it is significant and its problematic rate exceeds the rest by
``min_health_rate_diff`` and by the factor ``min_health_ratio``. Adjacent numeric groups and
values of one attribute that qualify are joined into one exclusion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import groupby

import numpy as np
import numpy.typing as npt

from worker.refine.binning import fit_binning
from worker.refine.dataset import Column
from worker.refine.outcomes import Outcomes
from worker.refine.settings import RefineSettings
from worker.refine.stats import benjamini_hochberg, greater_proportion_pvalue, wilson_interval
from worker.refine.text import number, percent, slug, title

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ExclusionResult:
    """A segment with significantly poor health among its won accounts.

    Attributes:
        n_health: Won deals in the segment with health data (the test's sample).
        problematic_rate: Their share in the problematic cohort; ``rest_rate`` the same elsewhere.
        n_deals: All closed deals in the segment; ``won_rate`` their win rate (closing only).
    """

    id: str
    attribute: str
    label: str
    low: float | None
    high: float | None
    values: tuple[str, ...]
    n_deals: int
    won_rate: float | None
    n_health: int
    problematic: int
    problematic_rate: float
    problematic_ci: tuple[float, float]
    rest_rate: float
    churn_rate: float | None
    p_value: float
    q_value: float
    deal_ids: tuple[str, ...]


@dataclass(frozen=True)
class _Group:
    attribute: str
    order: int
    low: float | None
    high: float | None
    values: tuple[str, ...]
    p_value: float


def _segment(column: Column, group: _Group) -> BoolArray:
    if column.kind == "numeric":
        x = column.values.astype(np.float64)
        hit = ~np.isnan(x)
        if group.low is not None:
            hit &= x >= group.low
        if group.high is not None:
            hit &= np.nan_to_num(x, nan=np.inf) < group.high
        return hit
    return np.isin(column.values.astype(str), list(group.values)) & column.present


def _tested_groups(column: Column, outcomes: Outcomes, rows: IntArray, settings: RefineSettings) -> list[_Group]:
    fit = fit_binning(column, outcomes.problematic, rows, settings, supervised=False)
    binning = fit.binning
    codes = binning.assign(column)[rows]
    bad = outcomes.problematic[rows]
    groups: list[_Group] = []
    last = binning.missing_index if binning.kind == "numeric" else binning.other_index
    for b in range(last or 0):
        inside = codes == b
        n1, k1 = int(inside.sum()), int(bad[inside].sum())
        n2, k2 = int((~inside).sum()), int(bad[~inside].sum())
        low, high = binning.interval(b) if binning.kind == "numeric" else (None, None)
        values = binning.groups[b] if binning.kind == "categorical" else ()
        groups.append(_Group(column.name, b, low, high, values, greater_proportion_pvalue(k1, n1, k2, n2)))
    return groups


def find_exclusions(
    columns: Sequence[Column], outcomes: Outcomes, rows: IntArray, settings: RefineSettings
) -> tuple[ExclusionResult, ...]:
    """Segments of ``rows`` whose won accounts are significantly more often problematic.

    Args:
        columns: Candidate account attributes.
        outcomes: Outcomes of all deals.
        rows: Rows to learn from (a training split or all rows).
        settings: Significance and effect thresholds, the cap on how many are proposed.

    Returns:
        The exclusions, strongest first, at most ``max_exclusions``.
    """
    health_rows = _one_per_account(rows[outcomes.won[rows] & outcomes.health_known[rows]], outcomes)
    if settings.max_exclusions == 0 or len(health_rows) < 2 * settings.min_bin_count:
        return ()
    by_name = {c.name: c for c in columns}
    groups = [g for c in columns for g in _tested_groups(c, outcomes, health_rows, settings)]
    q_values = benjamini_hochberg([g.p_value for g in groups])
    results: list[ExclusionResult] = []
    qualifying = [(g, float(q)) for g, q in zip(groups, q_values, strict=True) if q <= settings.alpha]
    for attribute, items in groupby(qualifying, key=lambda item: item[0].attribute):
        column = by_name[attribute]
        for joined in _join(column, list(items)):
            result = _describe(column, joined, outcomes, rows, health_rows, settings)
            if _large_enough(result, settings):
                results.append(result)
    results.sort(key=lambda r: (r.q_value, -(r.problematic_rate - r.rest_rate)))
    return tuple(_unique_ids(results[: settings.max_exclusions]))


def _one_per_account(rows: IntArray, outcomes: Outcomes) -> IntArray:
    """One won deal per account: health and attributes belong to the account, not to each deal."""
    accounts = outcomes.account_ids[rows].tolist()
    keys = [str(a) if a is not None else f"\x00{r}" for r, a in zip(rows.tolist(), accounts, strict=True)]
    _, first = np.unique(np.array(keys), return_index=True)
    return rows[np.sort(first)]


def _join(column: Column, items: list[tuple[_Group, float]]) -> list[tuple[_Group, float]]:
    if column.kind == "categorical":
        values = tuple(v for g, _ in items for v in g.values)
        first = items[0][0]
        return [(_Group(first.attribute, first.order, None, None, values, 0.0), max(q for _, q in items))]
    joined: list[tuple[_Group, float]] = []
    for group, q in items:
        if joined and joined[-1][0].order + 1 == group.order and joined[-1][0].high == group.low:
            previous, previous_q = joined[-1]
            merged = _Group(group.attribute, group.order, previous.low, group.high, (), 0.0)
            joined[-1] = (merged, max(q, previous_q))
        else:
            joined.append((group, q))
    return joined


def _describe(
    column: Column,
    item: tuple[_Group, float],
    outcomes: Outcomes,
    rows: IntArray,
    health_rows: IntArray,
    settings: RefineSettings,
) -> ExclusionResult:
    group, q = item
    segment = _segment(column, group)
    inside = segment[health_rows]
    bad = outcomes.problematic[health_rows]
    n1, k1 = int(inside.sum()), int(bad[inside].sum())
    n2, k2 = int((~inside).sum()), int(bad[~inside].sum())
    low, high = wilson_interval(k1, n1)
    deal_rows = rows[segment[rows]]
    retention = deal_rows[outcomes.retention_known[deal_rows]]
    label = _label(column, group)
    recent = health_rows[inside][np.argsort(-outcomes.closed_at[health_rows[inside]], kind="stable")]
    return ExclusionResult(
        id=slug(f"exclude_{label}"),
        attribute=column.name,
        label=label,
        low=group.low,
        high=group.high,
        values=group.values,
        n_deals=len(deal_rows),
        won_rate=float(outcomes.won[deal_rows].mean()) if len(deal_rows) else None,
        n_health=n1,
        problematic=k1,
        problematic_rate=k1 / n1 if n1 else 0.0,
        problematic_ci=(float(low), float(high)),
        rest_rate=k2 / n2 if n2 else 0.0,
        churn_rate=float(outcomes.churned[retention].mean()) if len(retention) else None,
        p_value=greater_proportion_pvalue(k1, n1, k2, n2),
        q_value=q,
        deal_ids=tuple(str(i) for i in outcomes.deal_ids[recent][: settings.deal_id_sample]),
    )


def _large_enough(result: ExclusionResult, settings: RefineSettings) -> bool:
    excess = result.problematic_rate - result.rest_rate
    ratio = result.problematic_rate / result.rest_rate if result.rest_rate > 0 else np.inf
    return (
        result.n_health >= settings.min_bin_count
        and excess >= settings.min_health_rate_diff
        and ratio >= settings.min_health_ratio
    )


def _label(column: Column, group: _Group) -> str:
    name = title(column.name)
    if column.kind == "categorical":
        return f"{name}: {', '.join(group.values)}"
    if group.low is None:
        return f"{name} under {number(group.high)}"
    if group.high is None:
        return f"{name} {number(group.low)} and more"
    return f"{name} {number(group.low)} to under {number(group.high)}"


def _unique_ids(results: list[ExclusionResult]) -> list[ExclusionResult]:
    seen: set[str] = set()
    out: list[ExclusionResult] = []
    for r in results:
        base, candidate, k = r.id, r.id, 2
        while candidate in seen:
            candidate, k = f"{base}_{k}", k + 1
        seen.add(candidate)
        out.append(r if candidate == r.id else replace(r, id=candidate))
    return out


def describe_effect(result: ExclusionResult) -> str:
    """One sentence on an exclusion's evidence."""
    return (
        f"{percent(result.problematic_rate)} of {result.n_health} won accounts problematic "
        f"vs {percent(result.rest_rate)} elsewhere (q = {result.q_value:.2g})"
    )
