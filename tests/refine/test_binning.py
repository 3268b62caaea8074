"""Binning: minimum sizes, merges, monotonic trends, rare categories, and agreement with the scorer."""

from __future__ import annotations

import numpy as np
import pytest

from tests.refine.planted import planted_input
from worker.refine import RefineSettings
from worker.refine.binning import fit_binning, quantile_edges
from worker.refine.dataset import infer_column
from worker.refine.text import number_for
from worker.score.scorecard.scorer import match_bins


def _numeric(values: np.ndarray, name: str = "x"):
    return infer_column(name, values.tolist())


def test_quantile_edges_never_split_ties_and_are_round() -> None:
    x = np.array([0] * 600 + list(range(1, 401)), dtype=float)
    edges = quantile_edges(x, 10)
    assert edges[0] == 1
    assert all(float(e).is_integer() for e in edges)
    assert len(edges) == len(set(edges))


def test_bins_hold_the_minimum_and_noise_collapses() -> None:
    """On noise, adjacent bins do not differ, so they merge into one; every bin meets the minimum."""
    rng = np.random.default_rng(4)
    column = _numeric(rng.normal(size=3000))
    y = rng.random(3000) < 0.3
    settings = RefineSettings()
    fit = fit_binning(column, y, np.arange(3000), settings)
    codes = fit.binning.assign(column)
    counts = np.bincount(codes, minlength=fit.binning.n_bins)[:-1]
    assert (counts >= settings.min_bin_size(3000)).all()
    assert fit.test.p_value > 0.001


def test_a_real_step_is_kept_and_tested_significant() -> None:
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 100, 3000)
    y = rng.random(3000) < np.where(x > 60, 0.5, 0.2)
    column = _numeric(x)
    fit = fit_binning(column, y, np.arange(3000), RefineSettings())
    assert fit.test.p_value < 1e-10
    assert any(50 <= e <= 70 for e in fit.binning.edges)


def test_monotonic_trend_is_enforced() -> None:
    rng = np.random.default_rng(6)
    x = rng.uniform(0, 100, 4000)
    rate = 0.2 + 0.004 * x + np.where((x > 40) & (x < 50), -0.15, 0)
    y = rng.random(4000) < rate
    column = _numeric(x, "size")
    settings = RefineSettings(monotonic={"size": "ascending"})
    fit = fit_binning(column, y, np.arange(4000), settings, settings.monotonic["size"])
    codes = fit.binning.assign(column)
    rates = [y[codes == b].mean() for b in range(fit.binning.n_bins - 1)]
    assert rates == sorted(rates)


def test_rare_categories_are_pooled_as_other() -> None:
    values = ["a"] * 500 + ["b"] * 480 + ["c"] * 5 + ["d"] * 15
    column = infer_column("kind", values)
    y = np.array([True, False] * 500)
    fit = fit_binning(column, y, np.arange(1000), RefineSettings())
    pooled = {v for group in fit.binning.groups for v in group}
    assert pooled == {"a", "b"}
    assert {r.value for r in fit.rare_values} == {"c", "d"}
    codes = fit.binning.assign(column)
    assert (codes[-20:] == fit.binning.other_index).all()


@pytest.mark.parametrize("attribute", ["employees", "annual_revenue", "industry", "funding_stage"])
def test_binning_agrees_with_the_scorer(analysis, attribute: str) -> None:
    """The deals a bin counts are exactly the deals the scorecard puts in that bin."""
    card = analysis.proposed
    criterion = next((c for c in card.criteria if c.attribute == attribute), None)
    if criterion is None:
        pytest.skip(f"{attribute} not proposed in this run")
    data = planted_input()
    matched = match_bins(criterion, data.account_columns[attribute].values)
    stats = next(c for c in analysis.criteria if c.attribute == attribute)
    scorer_counts = np.bincount(np.where(matched < 0, len(criterion.bins), matched), minlength=len(criterion.bins) + 1)
    counts = {b.label: b.n for b in stats.bins}
    for i, b in enumerate(criterion.bins):
        assert scorer_counts[i] == counts[b.label]
    assert scorer_counts[-1] == counts[criterion.missing.label or ""]


def test_a_numeric_attribute_filled_on_three_deals_is_not_testable() -> None:
    """Three filled values never form a group of their own, whatever their outcome."""
    values = [None] * 997 + [1.0, 2.0, 3.0]
    column = infer_column("tiny", values)
    y = np.zeros(1000, dtype=bool)
    y[-3:] = True
    fit = fit_binning(column, y, np.arange(1000), RefineSettings())
    assert fit.groups_tested < 2
    assert fit.test.p_value == 1.0


@pytest.mark.parametrize(("attribute", "value", "shown"), [
    ("founded_year", 2012.0, "2012"), ("founded year", 1999.0, "1999"), ("employees", 2012.0, "2,012"),
    ("founded_year", 12.5, "12.5"), ("annual_revenue", 2.5e9, "2.5B"), ("founded_year", None, "n/a"),
])
def test_years_read_as_years(attribute: str, value: float | None, shown: str) -> None:
    """Calendar years print without thousands separators; other numbers keep the compact form."""
    assert number_for(attribute, value) == shown
