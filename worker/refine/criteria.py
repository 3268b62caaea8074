"""Per-bin statistics of a candidate criterion and the univariate screen with its reasons.

A candidate passes the screen only when it has at least two groups of the minimum size, its
association with the target is significant after Benjamini-Hochberg correction over all
candidates, its fitted bins keep at least two estimable bins, and its effect is large enough
(information value and rate spread). Strength alone is not leakage: an attribute is held back as
post-close only on evidence (see :mod:`worker.refine.leakage`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from worker.refine.binning import Binning, BinningFit, fit_binning
from worker.refine.dataset import Column
from worker.refine.leakage import judge, separation_auc
from worker.refine.outcomes import Outcomes
from worker.refine.settings import RefineSettings
from worker.refine.stats import (
    TestResult,
    benjamini_hochberg,
    g_test,
    greater_proportion_pvalue,
    group_medians,
    weight_of_evidence,
    wilson_interval,
)
from worker.refine.timing import AttributeTiming
from worker.score.scorecard import Criterion
from worker.score.scorecard.model import Condition, normalise_category
from worker.score.scorecard.scorer import match_bins

IntArray = npt.NDArray[np.int64]
Matcher = Literal["range", "values", "other", "missing"]
Status = Literal["selected", "under_review"]
MISSING_ALPHA = 0.05


@dataclass(frozen=True)
class BinStats:
    """Evidence of one bin. Rates named ``target_*`` refer to the run's target; ``won_*`` to closing.

    ``woe`` is zero (the base rate) when the bin holds fewer deals than the minimum bin size:
    too few deals to estimate, so the scorecard treats them as average. The missing bin is the
    exception: it never sits above a known bin it does not significantly beat.
    """

    index: int
    label: str
    matcher: Matcher
    low: float | None
    high: float | None
    values: tuple[str, ...]
    n: int
    won: int
    won_rate: float | None
    target_positives: int
    target_rate: float | None
    target_ci: tuple[float, float] | None
    lift: float | None
    woe: float
    iv_part: float
    estimable: bool
    churn_rate: float | None
    churn_n: int
    problematic_rate: float | None
    health_n: int
    median_deal_size: float | None
    median_cycle_days: float | None
    deal_ids: tuple[str, ...]
    points: int | None = None


@dataclass(frozen=True)
class Candidate:
    """A candidate criterion fitted on some rows: its binning, bin codes and bin statistics."""

    column: Column
    source: Literal["account", "deal"]
    fit: BinningFit
    codes: IntArray
    bins: tuple[BinStats, ...]
    iv: float
    rate_spread: float
    base_rate: float
    separation: float = 0.5

    @property
    def name(self) -> str:
        """The attribute name."""
        return self.column.name

    @property
    def binning(self) -> Binning:
        """The fitted binning."""
        return self.fit.binning

    @property
    def woe(self) -> npt.NDArray[np.float64]:
        """WoE per bin (zero for bins below the minimum size)."""
        return np.array([b.woe for b in self.bins])

    @property
    def estimable_bins(self) -> int:
        """Bins holding at least the minimum number of deals."""
        return sum(b.estimable for b in self.bins)


@dataclass(frozen=True)
class Screened:
    """A candidate with its corrected significance and, when it fails the screen, why."""

    candidate: Candidate
    q_value: float
    reason: str | None
    rule: str | None = None
    confirm: str | None = None
    conditional: bool = False


@dataclass(frozen=True)
class CriterionResult:
    """A candidate criterion as reported: its statistics and whether it is proposed."""

    attribute: str
    kind: str
    source: str
    dimension: str
    n: int
    n_present: int
    coverage: float
    test: str
    statistic: float
    df: int
    p_value: float
    q_value: float
    iv: float
    rate_spread: float
    base_rate: float
    status: Status
    reason: str
    rule: str | None
    bins: tuple[BinStats, ...]
    coefficient: float | None = None
    coefficient_z: float | None = None
    max_points: int | None = None
    replication: float | None = None
    confirm_timing: str | None = None


def _rate(k: npt.NDArray[np.float64], n: npt.NDArray[np.float64]) -> list[float | None]:
    return [float(a / b) if b > 0 else None for a, b in zip(k, n, strict=True)]


def _matcher(binning: Binning, index: int) -> tuple[Matcher, float | None, float | None, tuple[str, ...]]:
    if index == binning.missing_index:
        return "missing", None, None, ()
    if binning.kind == "numeric":
        low, high = binning.interval(index)
        return "range", low, high, ()
    if index == binning.other_index:
        return "other", None, None, ()
    return "values", None, None, binning.groups[index]


def _sample_ids(codes: IntArray, outcomes: Outcomes, rows: IntArray, n_bins: int, size: int) -> list[tuple[str, ...]]:
    """The ids of each bin's most recently closed deals."""
    if size == 0:
        return [() for _ in range(n_bins)]
    closed = np.nan_to_num(outcomes.closed_at[rows], nan=-np.inf)
    ids = outcomes.deal_ids[rows]
    samples = []
    for b in range(n_bins):
        members = np.flatnonzero(codes == b)
        if len(members) > size:
            members = members[np.argpartition(-closed[members], size - 1)[:size]]
        members = members[np.lexsort((ids[members].astype(str), -closed[members]))]
        samples.append(tuple(str(i) for i in ids[members]))
    return samples


def _missing_woe(
    woe: npt.NDArray[np.float64],
    pos: npt.NDArray[np.float64],
    n: npt.NDArray[np.float64],
    binning: Binning,
    min_size: int,
) -> npt.NDArray[np.float64]:
    """Unknown is evidence too, but never scores above a known value unless the evidence says so.

    The missing bin keeps its own WoE when it holds at least ``min_size`` deals (neutral otherwise), capped
    at the lowest known bin whose rate it does not significantly exceed (one-sided Fisher test, 5%).
    """
    m = binning.missing_index
    known = [b for b in range(len(n)) if b != m and n[b] >= min_size]
    if not known:
        return woe
    not_beaten = [
        woe[b]
        for b in known
        if n[m] < min_size or greater_proportion_pvalue(int(pos[m]), int(n[m]), int(pos[b]), int(n[b])) > MISSING_ALPHA
    ]
    if not_beaten:
        woe = woe.copy()
        woe[m] = min(woe[m], min(not_beaten))
    return woe


def bin_statistics(
    binning: Binning, codes: IntArray, outcomes: Outcomes, rows: IntArray, min_size: int, id_sample: int
) -> tuple[BinStats, ...]:
    """Evidence of every bin: counts, rates with Wilson intervals, lift, WoE, IV part and health.

    Args:
        binning: The fitted binning.
        codes: Bin index of each row in ``rows``.
        outcomes: Outcomes of all deals.
        rows: The rows the statistics describe.
        min_size: Bins smaller than this get a neutral WoE.
        id_sample: Deal ids kept per bin (most recently closed first).
    """
    k = binning.n_bins

    def count(flags: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
        return np.bincount(codes, weights=flags[rows].astype(np.float64), minlength=k).astype(np.float64)

    n = np.bincount(codes, minlength=k).astype(np.float64)
    pos, won = count(outcomes.target), count(outcomes.won)
    churned, retention_n = count(outcomes.churned), count(outcomes.retention_known)
    problematic, health_n = count(outcomes.problematic), count(outcomes.health_known)
    woe = _missing_woe(np.where(n >= min_size, weight_of_evidence(pos, n - pos), 0.0), pos, n, binning, min_size)
    total_pos, total_neg = pos.sum(), (n - pos).sum()
    iv_parts = (pos / max(total_pos, 1) - (n - pos) / max(total_neg, 1)) * woe
    low, high = wilson_interval(pos, n)
    base = total_pos / max(n.sum(), 1)
    won_codes = np.where(outcomes.won[rows], codes, -1)
    amounts = group_medians(outcomes.amount[rows], won_codes, k)
    cycles = group_medians(outcomes.cycle_days[rows], won_codes, k)
    ids = _sample_ids(codes, outcomes, rows, k, id_sample)
    target_rate, won_rate = _rate(pos, n), _rate(won, n)
    churn_rate, problematic_rate = _rate(churned, retention_n), _rate(problematic, health_n)
    return tuple(
        BinStats(
            index=b,
            label=binning.label(b),
            matcher=m[0],
            low=m[1],
            high=m[2],
            values=m[3],
            n=int(n[b]),
            won=int(won[b]),
            won_rate=won_rate[b],
            target_positives=int(pos[b]),
            target_rate=target_rate[b],
            target_ci=(float(low[b]), float(high[b])) if n[b] > 0 else None,
            lift=float(target_rate[b] / base) if target_rate[b] is not None and base > 0 else None,
            woe=float(woe[b]),
            iv_part=float(iv_parts[b]),
            estimable=bool(n[b] >= min_size),
            churn_rate=churn_rate[b],
            churn_n=int(retention_n[b]),
            problematic_rate=problematic_rate[b],
            health_n=int(health_n[b]),
            median_deal_size=None if math.isnan(amounts[b]) else float(amounts[b]),
            median_cycle_days=None if math.isnan(cycles[b]) else float(cycles[b]),
            deal_ids=ids[b],
        )
        for b, m in ((b, _matcher(binning, b)) for b in range(k))
    )


def prior_test(
    prior: Criterion | Condition,
    column: Column,
    target: npt.NDArray[np.bool_],
    rows: IntArray,
    min_size: int,
    deff: float,
) -> TestResult:
    """Test of association on the bins the version in force already uses for this attribute.

    Those bins were not chosen on these deals, so they are a pre-stated hypothesis: no search to pay for.
    Unknown and unmatched values form one group; groups under ``min_size`` deals are left out.
    """
    codes = match_bins(prior, column.values[rows])
    codes = np.where(codes < 0, codes.max(initial=0) + 1, codes)
    y = target[rows].astype(np.float64)
    n = np.bincount(codes).astype(np.float64)
    pos = np.bincount(codes, weights=y, minlength=len(n))
    sizable = n >= min_size
    return g_test(pos[sizable] / deff, n[sizable] / deff)


def prior_binning(prior: Criterion | Condition, column: Column) -> Binning | None:
    """The version in force's bins on this attribute as a binning (None when they do not fit the column)."""
    if isinstance(prior, Condition):
        ranges = [prior.range] if prior.range is not None else []
        value_sets = [prior.values] if prior.values is not None else []
    else:
        ranges = [b.range for b in prior.bins if b.range is not None]
        value_sets = [b.values for b in prior.bins if b.values is not None]
    if column.kind == "numeric" and ranges and not value_sets:
        edges = sorted({float(e) for r in ranges for e in r if e is not None})
        return Binning(column.name, "numeric", edges=tuple(edges), integer_valued=all(e.is_integer() for e in edges))
    if column.kind == "categorical" and value_sets and not ranges:
        groups = tuple(
            tuple(v for v in (normalise_category(x) for x in values) if v is not None) for values in value_sets
        )
        return Binning(column.name, "categorical", groups=tuple(g for g in groups if g))
    return None


def _with_prior(test: TestResult, prior: TestResult) -> TestResult:
    if prior.p_value >= test.p_value:
        return test
    return TestResult(
        f"the bins of the version in force, {prior.test} (stronger than {test.test}; Bonferroni x2)",
        prior.statistic,
        prior.df,
        min(1.0, 2 * prior.p_value),
    )


def evaluate(
    column: Column,
    source: Literal["account", "deal"],
    outcomes: Outcomes,
    rows: IntArray,
    settings: RefineSettings,
    deff: float = 1.0,
    prior: Criterion | Condition | None = None,
    supervised: bool = True,
) -> Candidate:
    """Fit a candidate's binning on ``rows`` and compute its bin statistics there (tests use ``deff``).

    With ``prior`` (the version in force's criterion or exclusion on this attribute), the association is
    also tested on its bins, and the stronger of the two tests counts, doubled (Bonferroni).
    """
    monotonic = settings.monotonic.get(column.name)
    fit = fit_binning(column, outcomes.target, rows, settings, monotonic, supervised=supervised, deff=deff)
    if prior is not None and fit.groups_tested >= 2:
        stated = prior_test(prior, column, outcomes.target, rows, fit.min_size, deff)
        binning = prior_binning(prior, column) if stated.p_value < fit.test.p_value else None
        fit = replace(fit, test=_with_prior(fit.test, stated), binning=binning or fit.binning)
    codes = fit.binning.assign(column)[rows]
    bins = bin_statistics(fit.binning, codes, outcomes, rows, fit.min_size, settings.deal_id_sample)
    rates = [b.target_rate for b in bins if b.estimable and b.target_rate is not None]
    spread = max(rates) - min(rates) if len(rates) >= 2 else 0.0
    base = float(outcomes.target[rows].mean()) if len(rows) else 0.0
    woe = np.array([b.woe for b in bins])
    separation = separation_auc(woe, codes, outcomes.target[rows])
    iv = float(sum(b.iv_part for b in bins))
    return Candidate(column, source, fit, codes, bins, iv, spread, base, separation)


def screen(
    candidates: list[Candidate],
    settings: RefineSettings,
    timing: Mapping[str, AttributeTiming] | None = None,
) -> list[Screened]:
    """Correct the candidates' p-values (Benjamini-Hochberg) and give each failing one its reason.

    Args:
        candidates: The fitted candidates.
        settings: The statistical rules.
        timing: When each attribute is known (mapping declaration, CRM property history).
    """
    q_values = benjamini_hochberg([c.fit.test.p_value for c in candidates])
    known = timing or {}
    return [screen_one(c, float(q), settings, known.get(c.name)) for c, q in zip(candidates, q_values, strict=True)]


def screen_one(
    candidate: Candidate, q: float, settings: RefineSettings, timing: AttributeTiming | None
) -> Screened:
    leakage = judge(candidate.name, candidate.iv, candidate.separation, timing, settings)
    if leakage.reason is not None:
        return Screened(candidate, q, leakage.reason, leakage.rule)
    fit = candidate.fit
    if fit.groups_tested < 2:
        filled = sum(b.n for b in candidate.bins if b.matcher != "missing")
        return Screened(
            candidate,
            q,
            (
                f"minimum sample: fewer than two groups reach {fit.min_size} deals "
                f"({filled} deals have a value); one or two deals are an anecdote, not evidence"
            ),
            "min_sample",
        )
    if q > settings.alpha:
        return Screened(
            candidate,
            q,
            (
                f"not significant after Benjamini-Hochberg correction: q = {q:.3g} > {settings.alpha:g} "
                f"(p = {fit.test.p_value:.3g})"
            ),
            "not_significant",
        )
    if candidate.estimable_bins < 2:
        return Screened(candidate, q, "no two bins differ significantly once adjacent bins are merged", "no_separation")
    if candidate.iv < settings.min_iv or candidate.rate_spread < settings.min_rate_diff:
        return Screened(
            candidate,
            q,
            (
                f"effect too small: information value {candidate.iv:.3f} (needs {settings.min_iv:g}), "
                f"rate spread {100 * candidate.rate_spread:.1f} points (needs {100 * settings.min_rate_diff:.0f})"
            ),
            "small_effect",
        )
    return Screened(candidate, q, None, confirm=leakage.confirm)
