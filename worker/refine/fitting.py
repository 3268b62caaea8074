"""Logistic regression on WoE-coded criteria and the scaling of its contributions to integer points.

WoE is already on the log-odds scale, so an independent criterion has a coefficient near 1.
A coefficient that comes out non-positive, or whose 95% Wald interval reaches zero, means the
criterion adds nothing once the others are in the model (its evidence overlaps theirs); it is
dropped and the model refitted, one criterion at a time.

Points: each criterion's contribution ``coefficient x WoE`` is shifted so its worst bin gives
0, and scaled at ``POINTS_PER_LOGIT`` (20 points double the odds, the credit-scorecard "PDO"),
or less when the criteria together would then exceed 100 points. Each criterion's maximum is an
integer share of the total (largest remainders), and its bins are rounded within it. Base points
put a deal whose every criterion sits at the base rate near 50, so a card with one binary
criterion scores, say, 41 or 67 rather than 0 or 100.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

from worker.refine.criteria import Candidate
from worker.refine.settings import RefineSettings

NEAR_UNPENALISED_C = 1e6
MAX_SCORE = 100
POINTS_PER_LOGIT = 20 / math.log(2)
NEUTRAL_SCORE = 50


@dataclass(frozen=True)
class ModelFit:
    """The logistic regression kept after dropping redundant criteria."""

    attributes: tuple[str, ...]
    coefficients: tuple[float, ...]
    z_values: tuple[float, ...]
    intercept: float
    dropped: dict[str, str]


def _design(candidates: Sequence[Candidate]) -> npt.NDArray[np.float64]:
    return np.column_stack([c.woe[c.codes] for c in candidates])


def _wald_z(model: LogisticRegression, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    p = model.predict_proba(x)[:, 1]
    design = np.column_stack([np.ones(len(x)), x])
    hessian = design.T @ (design * (p * (1 - p))[:, None])
    covariance = np.linalg.pinv(hessian)
    se = np.sqrt(np.maximum(np.diag(covariance)[1:], 1e-300))
    return model.coef_[0] / se


def fit_logistic(candidates: Sequence[Candidate], target: npt.NDArray[np.bool_], settings: RefineSettings) -> ModelFit:
    """Fit the target on the WoE-coded candidates, dropping the weakest until all are positive and stable.

    Args:
        candidates: Criteria that passed the screen, fitted on the same rows as ``target``.
        target: The outcome of those rows.
        settings: ``min_coefficient_z``.

    Returns:
        The kept criteria with coefficients and Wald z, and the reason each dropped one left.
    """
    kept = list(candidates)
    dropped: dict[str, str] = {}
    while kept:
        x = _design(kept)
        model = LogisticRegression(C=NEAR_UNPENALISED_C, max_iter=1000).fit(x, target)
        coefficients, z = model.coef_[0], _wald_z(model, x)
        weakest = int(np.argmin(np.where(coefficients <= 0, -np.inf, z)))
        if coefficients[weakest] > 0 and z[weakest] >= settings.min_coefficient_z:
            return ModelFit(
                tuple(c.name for c in kept),
                tuple(map(float, coefficients)),
                tuple(map(float, z)),
                float(model.intercept_[0]),
                dropped,
            )
        others = ", ".join(c.name for i, c in enumerate(kept) if i != weakest) or "none"
        dropped[kept[weakest].name] = (
            f"redundant: coefficient {coefficients[weakest]:.2f} (Wald z {z[weakest]:.2f}, needs a positive "
            f"coefficient with z >= {settings.min_coefficient_z:g}) once these are in the model: {others}"
        )
        kept.pop(weakest)
    return ModelFit((), (), (), 0.0, dropped)


def _largest_remainder(shares: npt.NDArray[np.float64], total: int) -> npt.NDArray[np.int64]:
    exact = shares / shares.sum() * total
    whole = np.floor(exact).astype(np.int64)
    remainder = total - int(whole.sum())
    order = np.argsort(-(exact - whole), kind="stable")
    whole[order[:remainder]] += 1
    return whole


def scale_points(
    candidates: Sequence[Candidate], model: ModelFit
) -> tuple[dict[str, list[int]], dict[str, str], int]:
    """Integer points per bin (missing bin last) for every criterion in ``model``, and the base points.

    Returns:
        Points per attribute, the criteria that would get no points at all (to be dropped), and the base.
    """
    by_name = {c.name: c for c in candidates}
    shifted: dict[str, npt.NDArray[np.float64]] = {}
    for name, coefficient in zip(model.attributes, model.coefficients, strict=True):
        contribution = coefficient * by_name[name].woe
        shifted[name] = contribution - contribution.min()
    ranges = np.array([s.max() for s in shifted.values()])
    if not len(ranges) or ranges.sum() <= 0:
        return {}, {name: "contributes no points" for name in shifted}, 0
    total = int(min(MAX_SCORE, max(len(ranges), round(POINTS_PER_LOGIT * ranges.sum()))))
    maxima = _largest_remainder(ranges, total)
    lowest = sum(float((c * by_name[name].woe).min())
                 for name, c in zip(model.attributes, model.coefficients, strict=True))
    base = int(min(max(round(NEUTRAL_SCORE + total / ranges.sum() * lowest), 0), MAX_SCORE - total))
    points: dict[str, list[int]] = {}
    too_small: dict[str, str] = {}
    for (name, values), top, spread in zip(shifted.items(), maxima, ranges, strict=True):
        if top == 0 or spread <= 0:
            too_small[name] = "its contribution rounds to less than one point out of 100"
            continue
        points[name] = [int(min(top, math.floor(v / spread * top + 0.5))) for v in values]
    return points, too_small, base
