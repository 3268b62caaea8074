"""Rates actual against expected: Wilson intervals, exact tests and Holm's correction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from scipy import stats as sps

from worker.refine.stats import greater_proportion_pvalue, two_proportion_pvalue, wilson_interval

Alternative = Literal["two-sided", "less"]


@dataclass(frozen=True)
class RateCheck:
    """A rate seen since the version took effect, against what its evidence predicted.

    Attributes:
        k: Successes seen (won deals, or healthy won accounts).
        n: Trials seen (closed deals, or won accounts with health data).
        rate: ``k / n``, or None when ``n`` is zero.
        ci: Wilson 95% interval of ``rate``.
        expected_rate: The evidence's rate, or None when the evidence has none.
        expected_k: Successes behind ``expected_rate``, when known.
        expected_n: Trials behind ``expected_rate``, when known.
        difference: ``rate - expected_rate``, when both exist.
        test: The test used, or None when the rate was not tested.
        p_value: The test's p-value before correction.
        p_adjusted: After Holm's correction over every tier test of the run.
        significant: The deviation is significant after correction and at least the minimum difference.
        not_tested: Why the rate was not tested, when it was not.
    """

    k: int
    n: int
    rate: float | None
    ci: tuple[float, float] | None
    expected_rate: float | None
    expected_k: int | None
    expected_n: int | None
    difference: float | None = None
    test: str | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    significant: bool = False
    not_tested: str | None = None


def _interval(k: int, n: int) -> tuple[float, float] | None:
    if n == 0:
        return None
    low, high = wilson_interval(k, n)
    return float(low), float(high)


def _p_value(k: int, n: int, expected_rate: float, expected_k: int | None, expected_n: int | None,
             alternative: Alternative) -> tuple[str, float]:
    if expected_k is not None and expected_n:
        if alternative == "less":
            return "one-sided Fisher exact test against the evidence's deals", greater_proportion_pvalue(
                expected_k, expected_n, k, n)
        return "two-proportion test against the evidence's deals", two_proportion_pvalue(k, n, expected_k, expected_n)
    result = sps.binomtest(k, n, min(max(expected_rate, 0.0), 1.0), alternative=alternative)
    return f"{alternative} binomial test against the expected rate", float(result.pvalue)


def rate_check(k: int, n: int, expected_rate: float | None, expected_k: int | None, expected_n: int | None, *,
               min_n: int, min_expected_n: int, alternative: Alternative = "two-sided",
               hold: str | None = None) -> RateCheck:
    """Compare ``k`` of ``n`` against an expected rate; test only with enough deals on both sides.

    ``hold`` names a reason not to test at all (the rate is still reported).
    """
    rate = k / n if n else None
    difference = rate - expected_rate if rate is not None and expected_rate is not None else None
    base = RateCheck(k, n, rate, _interval(k, n), expected_rate, expected_k, expected_n, difference)
    if hold is not None:
        return replace(base, not_tested=hold)
    if expected_rate is None:
        return replace(base, not_tested="the version's evidence predicts no rate here")
    if n < min_n:
        return replace(base, not_tested=f"only {n} deal(s) so far (tested from {min_n})")
    if expected_n is not None and expected_n < min_expected_n:
        return replace(base, not_tested=f"the evidence held only {expected_n} deal(s) (needs {min_expected_n})")
    test, p = _p_value(k, n, expected_rate, expected_k, expected_n, alternative)
    return replace(base, test=test, p_value=p)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (family-wise error control), in the input order."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out.tolist()


def settle(checks: Sequence[RateCheck], alpha: float, min_difference: float) -> list[RateCheck]:
    """Apply Holm's correction across ``checks`` and mark the significant, material deviations."""
    tested = [i for i, c in enumerate(checks) if c.p_value is not None]
    adjusted = holm([checks[i].p_value for i in tested])  # type: ignore[misc]
    out = list(checks)
    for i, p in zip(tested, adjusted, strict=True):
        difference = checks[i].difference or 0.0
        out[i] = replace(checks[i], p_adjusted=p, significant=p <= alpha and abs(difference) >= min_difference)
    return out
