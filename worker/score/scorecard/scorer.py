"""The scorer: pure, vectorised scoring of many accounts against one scorecard.

Input is columnar (attribute name → sequence of values, one per account), so a
million accounts score with a handful of numpy operations per criterion. Reasons
are rendered once per distinct combination of matched bins, not once per account.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from worker.score.scorecard.model import MAX_SCORE, Bin, Condition, Criterion, Scorecard, normalise_category

Columns = Mapping[str, Sequence[Any] | npt.NDArray[Any]]
MISSING = -1


def to_float_array(values: Sequence[Any] | npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Numeric view of a column; missing or unparseable values become NaN."""
    array = np.asarray(values)
    if array.dtype.kind in "fiu":
        return array.astype(np.float64, copy=False)
    if array.dtype.kind == "b":
        return array.astype(np.float64)
    out = np.full(len(array), np.nan)
    for i, v in enumerate(array):
        if v is None or v == "" or isinstance(v, bool):
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            continue
    return out


def to_category_array(values: Sequence[Any] | npt.NDArray[Any]) -> npt.NDArray[np.object_]:
    """Categorical view of a column in comparable form; missing values become None."""
    array = np.asarray(values, dtype=object)
    if not len(array):
        return np.empty(0, dtype=object)
    _, first, inverse = np.unique(array.astype(str), return_index=True, return_inverse=True)
    lookup = np.array([normalise_category(array[i]) for i in first], dtype=object)
    return lookup[inverse.reshape(-1)]


def _match_numeric(bins: Sequence[Bin], values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    index = np.full(len(values), MISSING, dtype=np.int64)
    present = ~np.isnan(values)
    other = next((i for i, b in enumerate(bins) if b.other), None)
    if other is not None:
        index[present] = other
    for i, b in enumerate(bins):
        if b.range is None:
            continue
        low, high = b.range
        hit = present.copy()
        if low is not None:
            hit &= values >= low
        if high is not None:
            hit &= values < high
        index[hit] = i
    return index


def _match_categorical(bins: Sequence[Bin], values: npt.NDArray[np.object_]) -> npt.NDArray[np.int64]:
    lookup: dict[str, int] = {}
    for i, b in enumerate(bins):
        for v in b.normalised_values:
            lookup[v] = i
    other = next((i for i, b in enumerate(bins) if b.other), None)
    if not len(values):
        return np.empty(0, dtype=np.int64)
    missing = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    uniques, inverse = np.unique(np.where(missing, "", values).astype(str), return_inverse=True)
    per_unique = np.array([lookup.get(u, MISSING if other is None else other) for u in uniques], dtype=np.int64)
    index = per_unique[inverse.reshape(-1)]
    index[missing] = MISSING
    return index


def match_bins(criterion: Criterion | Condition, column: Sequence[Any] | npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """Index of the matched bin per value; ``MISSING`` (-1) when missing or unmatched."""
    if isinstance(criterion, Condition):
        as_bin = Bin(range=criterion.range, values=criterion.values, points=0, label="condition")
        bins: Sequence[Bin] = (as_bin,)
        numeric = criterion.range is not None
    else:
        bins, numeric = criterion.bins, criterion.kind == "numeric"
    if numeric:
        return _match_numeric(bins, to_float_array(column))
    return _match_categorical(bins, to_category_array(column))


@dataclass(frozen=True)
class ScoreResult:
    """Scores for a batch of accounts, with what produced them.

    ``bin_index[i, c]`` is the bin criterion ``c`` matched for account ``i`` (-1: missing);
    ``points[i, c]`` its points; ``excluded[i, e]`` whether exclusion ``e`` applied.
    """

    scorecard: Scorecard
    scores: npt.NDArray[np.int64]
    tiers: npt.NDArray[np.object_]
    bin_index: npt.NDArray[np.int64]
    points: npt.NDArray[np.int64]
    excluded: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def missing(self) -> npt.NDArray[np.bool_]:
        """Per account and criterion: was the attribute missing?"""
        return self.bin_index == MISSING

    def tier_counts(self) -> dict[str, int]:
        """Accounts per tier, best tier first, zeros included."""
        names, counts = np.unique(self.tiers.astype(str), return_counts=True)
        found = dict(zip(names.tolist(), counts.tolist()))
        return {t: int(found.get(t, 0)) for t in self.scorecard.tiers}

    def reasons(self, top_positive: int = 3, top_negative: int = 2) -> list[list[str]]:
        """Short human sentences per account: top positive then top negative contributions, then missing data."""
        keys = np.concatenate([self.bin_index, self.excluded.astype(np.int64)], axis=1)
        if len(keys) == 0:
            return []
        uniques, inverse = np.unique(keys, axis=0, return_inverse=True)
        rendered = [
            explain(self.scorecard, row[: self.bin_index.shape[1]], row[self.bin_index.shape[1]:].astype(bool),
                    top_positive, top_negative)
            for row in uniques
        ]
        return [rendered[k] for k in inverse.reshape(-1)]


def _signed(points: int) -> str:
    return f"+{points}" if points >= 0 else str(points)


def explain(
    card: Scorecard,
    bin_row: npt.NDArray[np.int64],
    excluded_row: npt.NDArray[np.bool_],
    top_positive: int = 3,
    top_negative: int = 2,
) -> list[str]:
    """Reasons for one account from its matched bins and applied exclusions."""
    positive: list[tuple[int, str]] = []
    negative: list[tuple[int, str]] = []
    missing: list[str] = []
    for criterion, index in zip(card.criteria, bin_row.tolist()):
        if index == MISSING:
            missing.append(f"missing: {criterion.missing_label}")
            continue
        chosen = criterion.bins[index]
        shortfall = criterion.max_points - chosen.points
        if chosen.points > 0:
            positive.append((chosen.points, f"{_signed(chosen.points)} {chosen.label}"))
        if chosen.points < 0 or (shortfall > 0 and chosen.points == criterion.min_points):
            text = f"{_signed(chosen.points)} {chosen.label} (up to {_signed(criterion.max_points)})"
            negative.append((shortfall - chosen.points, text))
    for exclusion, applied in zip(card.exclusions, excluded_row.tolist()):
        if applied:
            penalty = exclusion.effect.points or 0
            cap = f", tier at most {exclusion.effect.cap_tier}" if exclusion.effect.cap_tier else ""
            negative.append((MAX_SCORE - penalty, f"{_signed(penalty)} excluded: {exclusion.label}{cap}"))
    positive.sort(key=lambda p: -p[0])
    negative.sort(key=lambda p: -p[0])
    return [t for _, t in positive[:top_positive]] + [t for _, t in negative[:top_negative]] + missing


class Scorer:
    """Scores columns of account attributes against a scorecard. Pure: no I/O.

    Example::

        result = Scorer(card).score({"employees": [350, None], "industry": ["software", "retail"]})
        result.scores, result.tiers, result.reasons()
    """

    def __init__(self, scorecard: Scorecard) -> None:
        self.scorecard = scorecard
        self._band_mins = np.array(sorted(b.min for b in scorecard.bands))

    def score(self, columns: Columns, n: int | None = None) -> ScoreResult:
        """Score every account in ``columns``; an attribute absent from ``columns`` is missing for all."""
        card = self.scorecard
        size = n if n is not None else max((len(v) for v in columns.values()), default=0)
        empty = np.full(size, None, dtype=object)
        bin_index = np.empty((size, len(card.criteria)), dtype=np.int64)
        points = np.empty_like(bin_index)
        for c, criterion in enumerate(card.criteria):
            idx = match_bins(criterion, columns.get(criterion.attribute, empty))
            table = np.array([b.points for b in criterion.bins] + [criterion.missing.points], dtype=np.int64)
            bin_index[:, c] = idx
            points[:, c] = table[idx]  # -1 picks the trailing missing entry
        excluded = np.zeros((size, len(card.exclusions)), dtype=bool)
        penalty = np.zeros(size, dtype=np.int64)
        for e, exclusion in enumerate(card.exclusions):
            hit = match_bins(exclusion.when, columns.get(exclusion.when.attribute, empty)) != MISSING
            excluded[:, e] = hit
            penalty += np.where(hit, exclusion.effect.points or 0, 0)
        scores = np.clip(card.base_points + points.sum(axis=1) + penalty, 0, MAX_SCORE).astype(np.int64)
        tiers = self._tiers_for(scores, excluded)
        return ScoreResult(card, scores, tiers, bin_index, points, excluded)

    def _tiers_for(self, scores: npt.NDArray[np.int64], excluded: npt.NDArray[np.bool_]) -> npt.NDArray[np.object_]:
        best_first = self.scorecard.tiers
        rank = len(best_first) - np.searchsorted(self._band_mins, scores, side="right")
        for e, exclusion in enumerate(self.scorecard.exclusions):
            cap = exclusion.effect.cap_tier
            if cap is not None:
                rank = np.where(excluded[:, e], np.maximum(rank, best_first.index(cap)), rank)
        return np.array(best_first, dtype=object)[rank]
