"""Conditional tests: a criterion that is weak on its own but clear once the strong ones are accounted for.

A strong attribute (an existing customer, say) leaves most of the variance in the outcome explained,
and a weaker, independent driver then looks "not significant" alone. Forward steps: the criteria
that passed the univariate screen form the model; each candidate that failed only for significance
is tested by a likelihood-ratio test of its unsupervised groups added to that model (the statistic
divided by the design effect), the p-values are corrected together (Benjamini-Hochberg), the
passing ones join the model, and the step repeats. With nothing passing the univariate screen no
step runs, so a world without any signal still proposes nothing at the screen's error rate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import stats as sps
from sklearn.linear_model import LogisticRegression

from worker.refine.criteria import Candidate
from worker.refine.stats import benjamini_hochberg

NEAR_UNPENALISED_C = 1e6
MAX_STEPS = 5


def _log_likelihood(x: npt.NDArray[np.float64], y: npt.NDArray[np.bool_]) -> float:
    model = LogisticRegression(C=NEAR_UNPENALISED_C, max_iter=500).fit(x, y)
    p = np.clip(model.predict_proba(x)[:, 1], 1e-12, 1 - 1e-12)
    return float(np.sum(np.where(y, np.log(p), np.log(1 - p))))


def _group_columns(candidate: Candidate) -> npt.NDArray[np.float64]:
    """One-hot of the candidate's unsupervised groups of at least the minimum size, first one left out."""
    fit = candidate.fit
    if fit.groups is None:
        return np.empty((len(candidate.codes), 0))
    counts = np.bincount(fit.groups, minlength=fit.n_groups)
    kept = np.flatnonzero(counts >= fit.min_size)
    return (fit.groups[:, None] == kept[None, 1:]).astype(np.float64)


def conditional_pvalue(
    chosen: Sequence[Candidate], candidate: Candidate, y: npt.NDArray[np.bool_], deff: float
) -> float:
    """p-value of adding ``candidate``'s groups to a model of the ``chosen`` criteria's WoE."""
    added = _group_columns(candidate)
    if added.shape[1] == 0 or y.all() or not y.any():
        return 1.0
    base = np.column_stack([c.woe[c.codes] for c in chosen])
    statistic = 2 * (_log_likelihood(np.column_stack([base, added]), y) - _log_likelihood(base, y)) / deff
    return float(sps.chi2.sf(max(statistic, 0.0), added.shape[1]))


def forward_steps(
    chosen: list[Candidate], waiting: list[Candidate], y: npt.NDArray[np.bool_], deff: float, alpha: float
) -> dict[str, float]:
    """Candidates from ``waiting`` that pass conditionally, with their corrected q-values.

    Args:
        chosen: Criteria that passed the univariate screen (the starting model); none means no step.
        waiting: Candidates that failed the screen for significance only.
        y: The outcome of the fitted rows.
        deff: Design effect of deals clustered in accounts.
        alpha: False discovery rate of each step.
    """
    model, rest, found = list(chosen), list(waiting), {}
    for _ in range(MAX_STEPS):
        if not model or not rest:
            break
        q = benjamini_hochberg([conditional_pvalue(model, c, y, deff) for c in rest])
        passing = [(c, float(v)) for c, v in zip(rest, q, strict=True) if v <= alpha]
        if not passing:
            break
        for c, v in passing:
            found[c.name] = v
        model += [c for c, _ in passing]
        rest = [c for c in rest if c.name not in found]
    return found
