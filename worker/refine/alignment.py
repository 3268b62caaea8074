"""Evidence alignment of any scorecard: the share of its criteria and exclusions the data backs.

A **criterion** is backed when, with its own bins applied to the closed deals, at least two
bins (the missing group counts as one) hold ``min_category_size`` deals, its association with
the target is significant after Benjamini-Hochberg correction over the card's items, its
information value reaches ``min_iv``, and its points rise with the observed target rate
(a positive deal-weighted correlation across those bins, and no bin given more points than
another with a significantly lower rate).

An **exclusion** is backed when the accounts it matches hold at least ``min_bin_count`` deals
and are significantly worse than the rest (BH-corrected): a lower target rate, or a higher
problematic rate among their won accounts, by the minimum effects.

The rate is backed items over all items. For the proposed version it is in-sample: the
version was fitted on these deals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from worker.refine.dataset import RefinementInput
from worker.refine.outcomes import Outcomes
from worker.refine.settings import RefineSettings
from worker.refine.stats import (
    benjamini_hochberg,
    g_test,
    greater_proportion_pvalue,
    information_value,
    two_proportion_pvalue,
)
from worker.score.scorecard import Scorecard
from worker.score.scorecard.model import Criterion, Exclusion
from worker.score.scorecard.scorer import MISSING, match_bins


@dataclass(frozen=True)
class AlignmentItem:
    """One criterion or exclusion of a scorecard and whether the data backs it."""

    kind: Literal["criterion", "exclusion"]
    id: str
    attribute: str
    backed: bool
    reason: str
    n_present: int
    p_value: float
    q_value: float
    effect: float | None


@dataclass(frozen=True)
class Alignment:
    """The evidence alignment rate of a scorecard on this data."""

    scorecard: str
    kind: str
    role: Literal["proposed", "current"]
    target: str
    rate: float | None
    backed: int
    total: int
    items: tuple[AlignmentItem, ...]
    in_sample: bool


def _column(data: RefinementInput, attribute: str) -> npt.NDArray[np.generic] | None:
    column = data.account_columns.get(attribute)
    return column.values if column is not None else None


def _criterion(
    criterion: Criterion, data: RefinementInput, outcomes: Outcomes, settings: RefineSettings
) -> tuple[AlignmentItem, str | None]:
    values = _column(data, criterion.attribute)
    if values is None:
        return _item("criterion", criterion.id, criterion.attribute, 0, 1.0, None), "the attribute is not in the data"
    index = match_bins(criterion, values)
    groups = np.where(index == MISSING, len(criterion.bins), index)
    points = np.array([b.points for b in criterion.bins] + [criterion.missing.points], dtype=np.float64)
    n = np.bincount(groups, minlength=len(points)).astype(np.float64)
    pos = np.bincount(groups, weights=outcomes.target.astype(np.float64), minlength=len(points)).astype(np.float64)
    present = int((index != MISSING).sum())
    sizable = n >= settings.min_category_size(len(groups))
    if sizable.sum() < 2:
        return _item("criterion", criterion.id, criterion.attribute, present, 1.0, None), (
            f"minimum sample: fewer than two of its bins hold {settings.min_category_size(len(groups))} deals"
        )
    deff = outcomes.design_effect(np.arange(len(groups)))
    p_value = g_test(pos[sizable] / deff, n[sizable] / deff).p_value
    iv, _ = information_value(pos[sizable], n[sizable] - pos[sizable])
    correlation = _weighted_correlation(points[sizable], pos[sizable] / n[sizable], n[sizable])
    item = _item("criterion", criterion.id, criterion.attribute, present, p_value, iv)
    if iv < settings.min_iv:
        return item, f"effect too small: information value {iv:.3f} (needs {settings.min_iv:g})"
    if correlation is None:
        return item, "its bins with enough deals all give the same points"
    if correlation <= 0:
        return item, (
            f"points run against the evidence: the bins it rewards have lower target rates "
            f"(correlation {correlation:.2f})"
        )
    reversal = _reversal(criterion, points, pos, n, sizable, settings.alpha)
    if reversal is not None:
        return item, reversal
    return item, None


def _reversal(
    criterion: Criterion,
    points: npt.NDArray[np.float64],
    pos: npt.NDArray[np.float64],
    n: npt.NDArray[np.float64],
    sizable: npt.NDArray[np.bool_],
    alpha: float,
) -> str | None:
    """A pair of bins where the one given more points does significantly worse, if any."""
    labels = [b.label for b in criterion.bins] + [criterion.missing_label]
    groups = np.flatnonzero(sizable)
    for i in groups:
        for j in groups:
            if points[i] <= points[j] or pos[i] / n[i] >= pos[j] / n[j]:
                continue
            if two_proportion_pvalue(pos[i], n[i], pos[j], n[j]) < alpha:
                return (
                    f"points run against the evidence: '{labels[i]}' gets {points[i]:.0f} points but its target "
                    f"rate {pos[i] / n[i]:.0%} (n={n[i]:.0f}) is significantly below '{labels[j]}' "
                    f"({points[j]:.0f} points, {pos[j] / n[j]:.0%}, n={n[j]:.0f})"
                )
    return None


def _weighted_correlation(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], w: npt.NDArray[np.float64]
) -> float | None:
    mx, my = np.average(x, weights=w), np.average(y, weights=w)
    vx, vy = np.average((x - mx) ** 2, weights=w), np.average((y - my) ** 2, weights=w)
    if vx <= 0 or vy <= 0:
        return None
    return float(np.average((x - mx) * (y - my), weights=w) / math.sqrt(vx * vy))


def _exclusion(
    exclusion: Exclusion, data: RefinementInput, outcomes: Outcomes, settings: RefineSettings
) -> tuple[AlignmentItem, str | None]:
    attribute = exclusion.when.attribute
    values = _column(data, attribute)
    if values is None:
        return _item("exclusion", exclusion.id, attribute, 0, 1.0, None), "the attribute is not in the data"
    inside = match_bins(exclusion.when, values) != MISSING
    n_in = int(inside.sum())
    if n_in < settings.min_bin_count:
        return _item("exclusion", exclusion.id, attribute, n_in, 1.0, None), (
            f"minimum sample: it matches {n_in} closed deals (needs {settings.min_bin_count})"
        )
    y = outcomes.target
    target_gap = float(y[~inside].mean() - y[inside].mean()) if (~inside).any() else 0.0
    p_target = greater_proportion_pvalue(
        int((~y & inside).sum()), n_in, int((~y & ~inside).sum()), int((~inside).sum())
    )
    health = outcomes.won & outcomes.health_known
    bad = outcomes.problematic
    h_in, h_out = health & inside, health & ~inside
    health_gap = float(bad[h_in].mean() - bad[h_out].mean()) if h_in.any() and h_out.any() else 0.0
    p_health = greater_proportion_pvalue(int(bad[h_in].sum()), int(h_in.sum()), int(bad[h_out].sum()), int(h_out.sum()))
    p_value = min(1.0, 2 * min(p_target, p_health))
    effect = max(target_gap, health_gap)
    item = _item("exclusion", exclusion.id, attribute, n_in, p_value, effect)
    if target_gap < settings.min_rate_diff and health_gap < settings.min_health_rate_diff:
        return item, (
            f"effect too small: target rate {100 * target_gap:.1f} points below the rest, problematic rate "
            f"{100 * health_gap:.1f} points above"
        )
    return item, None


def _item(
    kind: Literal["criterion", "exclusion"],
    item_id: str,
    attribute: str,
    n_present: int,
    p: float,
    effect: float | None,
) -> AlignmentItem:
    return AlignmentItem(kind, item_id, attribute, False, "", n_present, p, 1.0, effect)


def alignment(
    card: Scorecard,
    data: RefinementInput,
    outcomes: Outcomes,
    settings: RefineSettings,
    target_name: str,
    role: Literal["proposed", "current"],
) -> Alignment:
    """Measure how much of ``card`` the closed deals back.

    Args:
        card: Any scorecard, hand-written or proposed.
        data: The closed deals.
        outcomes: Their outcomes and the target.
        settings: Sample, significance and effect rules.
        target_name: The target the evidence refers to.
        role: ``proposed`` (fitted on this data, so in-sample) or ``current``.
    """
    checked = [_criterion(c, data, outcomes, settings) for c in card.criteria]
    checked += [_exclusion(e, data, outcomes, settings) for e in card.exclusions]
    q_values = benjamini_hochberg([item.p_value for item, _ in checked])
    items = []
    for (item, problem), q in zip(checked, q_values, strict=True):
        if problem is None and q > settings.alpha:
            problem = f"not significant after Benjamini-Hochberg correction: q = {q:.3g} > {settings.alpha:g}"
        backed_text = (
            f"backed: q = {q:.2g}, enough deals, points follow the evidence"
            if item.kind == "criterion"
            else f"backed: q = {q:.2g}, the accounts it matches do significantly worse"
        )
        items.append(replace(item, q_value=float(q), backed=problem is None, reason=problem or backed_text))
    backed = sum(i.backed for i in items)
    rate = backed / len(items) if items else None
    return Alignment(
        card.name, card.kind, role, target_name, rate, backed, len(items), tuple(items), role == "proposed"
    )
