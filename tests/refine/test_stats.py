"""Statistical primitives against reference values and libraries."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.metrics import roc_auc_score

from worker.refine.stats import (
    auc_delong,
    benjamini_hochberg,
    g_test,
    information_value,
    ks_statistic,
    trend_test,
    weight_of_evidence,
    wilson_interval,
)


def test_wilson_interval_matches_the_textbook_value() -> None:
    """8 of 10: Wilson 95% interval is about 0.490-0.943 (Newcombe 1998)."""
    low, high = wilson_interval([8, 0], [10, 0])
    assert low[0] == pytest.approx(0.4902, abs=1e-4)
    assert high[0] == pytest.approx(0.9433, abs=1e-4)
    assert math.isnan(low[1]) and math.isnan(high[1])


def test_benjamini_hochberg_matches_the_step_up_rule() -> None:
    """q-values of the step-up procedure, in input order."""
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.5])
    q = benjamini_hochberg(p)
    expected = np.array([0.025, 0.05, 0.05, 0.025, 0.5])
    assert np.allclose(q, expected)
    assert benjamini_hochberg([]).size == 0


def test_delong_auc_matches_sklearn_and_covers_the_truth() -> None:
    rng = np.random.default_rng(0)
    y = rng.random(800) < 0.3
    scores = np.round(rng.normal(y * 0.8, 1.0) * 10)
    result = auc_delong(scores, y)
    assert result.auc == pytest.approx(roc_auc_score(y, scores))
    assert result.low < result.auc < result.high
    a, m, n = result.auc, int(y.sum()), int((~y).sum())
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    hanley_mcneil = math.sqrt((a * (1 - a) + (m - 1) * (q1 - a * a) + (n - 1) * (q2 - a * a)) / (m * n))
    assert result.se == pytest.approx(hanley_mcneil, rel=0.2)


def test_auc_of_constant_scores_is_one_half() -> None:
    y = np.array([True, False] * 50)
    assert auc_delong(np.zeros(100), y).auc == 0.5


def test_g_test_matches_scipy() -> None:
    positives, totals = np.array([30, 45, 60]), np.array([100, 100, 100])
    table = np.stack([positives, totals - positives], axis=1)
    reference = sps.chi2_contingency(table, correction=False, lambda_="log-likelihood")
    result = g_test(positives, totals)
    assert result.statistic == pytest.approx(reference.statistic)
    assert result.p_value == pytest.approx(reference.pvalue)
    assert g_test([5], [10]).p_value == 1.0


def test_trend_test_sees_a_monotone_rate() -> None:
    assert trend_test([10, 20, 30, 40], [100, 100, 100, 100]).p_value < 1e-6
    assert trend_test([25, 25, 25, 25], [100, 100, 100, 100]).p_value == pytest.approx(1.0)


def test_woe_sign_and_iv() -> None:
    """Positive WoE marks a group with more than its share of positives; IV is zero without signal."""
    woe = weight_of_evidence([40, 10], [60, 90])
    assert woe[0] > 0 > woe[1]
    iv_none, _ = information_value([25, 25], [75, 75])
    assert iv_none == pytest.approx(0.0)
    iv_some, parts = information_value([40, 10], [60, 90])
    assert iv_some > 0.2 and parts.sum() == pytest.approx(iv_some)


def test_ks_statistic() -> None:
    y = np.array([True] * 5 + [False] * 5)
    assert ks_statistic(np.arange(10)[::-1], y) == 1.0
    assert ks_statistic(np.zeros(10), y) == 0.0
