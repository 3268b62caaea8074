"""The scorer: pure, vectorised scoring of many accounts against one scorecard.

Input is columnar (attribute name → sequence of values, one per account), so a
million accounts score with a handful of numpy operations per criterion. Reasons
(:mod:`worker.score.scorecard.reasons`) are chosen once per distinct combination of matched
bins and worded once per distinct value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from worker.score.scorecard.labels import NO_LABELS, FieldLabels
from worker.score.scorecard.model import MAX_SCORE, Bin, Condition, Criterion, Scorecard, normalise_category
from worker.score.scorecard.reasons import (
    MISSING,
    Matched,
    Observed,
    exclusion_sentence,
    missing_sentence,
    reason_slots,
    render_reasons,
    signed,
)

Columns = Mapping[str, Sequence[Any] | npt.NDArray[Any]]


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


def distinct_text(array: npt.NDArray[np.object_]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The values' distinct texts, as ``np.unique(array.astype(str), return_index=True, return_inverse=True)``
    gives them (sorted; the first position of each; each value's index among them), without converting the
    column to a fixed-width text array: that takes the longest value's width times the number of accounts
    (hundreds of megabytes at a million accounts), twice over while sorting."""
    codes: dict[str, int] = {}
    seen = np.fromiter((codes.setdefault(str(v), len(codes)) for v in array), dtype=np.int64, count=len(array))
    _, first_seen = np.unique(seen, return_index=True)
    texts = list(codes)
    order = np.array(sorted(range(len(texts)), key=texts.__getitem__), dtype=np.int64)
    rank = np.empty(len(texts), dtype=np.int64)
    rank[order] = np.arange(len(texts), dtype=np.int64)
    return first_seen[order], rank[seen]


def to_category_array(values: Sequence[Any] | npt.NDArray[Any]) -> npt.NDArray[np.object_]:
    """Categorical view of a column in comparable form; missing values become None."""
    array = np.asarray(values, dtype=object)
    if not len(array):
        return np.empty(0, dtype=object)
    first, inverse = distinct_text(array)
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


def category_codes(values: Sequence[Any] | npt.NDArray[Any]) -> Observed:
    """Each value's code into the distinct comparable values (-1 when missing), with one original per code."""
    array = np.asarray(values, dtype=object)
    if not len(array):
        return Observed(codes=np.empty(0, dtype=np.int64))
    first, inverse = distinct_text(array)
    levels: dict[str, int] = {}
    originals: list[Any] = []
    per_raw = np.full(len(first), MISSING, dtype=np.int64)
    for j, i in enumerate(first.tolist()):
        key = normalise_category(array[i])
        if key is None:
            continue
        if key not in levels:
            levels[key] = len(levels)
            originals.append(array[i])
        per_raw[j] = levels[key]
    return Observed(codes=per_raw[inverse.reshape(-1)], levels=tuple(levels), originals=tuple(originals))


def _match_categorical(bins: Sequence[Bin], observed: Observed) -> npt.NDArray[np.int64]:
    assert observed.codes is not None
    lookup: dict[str, int] = {}
    for i, b in enumerate(bins):
        for v in b.normalised_values:
            lookup[v] = i
    other = next((i for i, b in enumerate(bins) if b.other), MISSING)
    per_level = np.array([lookup.get(level, other) for level in observed.levels] + [MISSING], dtype=np.int64)
    return per_level[observed.codes]  # code -1 picks the trailing MISSING


def _observe(criterion: Criterion | Condition, column: Sequence[Any] | npt.NDArray[Any]) -> tuple[
        npt.NDArray[np.int64], Observed]:
    if isinstance(criterion, Condition):
        bins: Sequence[Bin] = (Bin(range=criterion.range, values=criterion.values, points=0, label="condition"),)
        numeric = criterion.range is not None
    else:
        bins, numeric = criterion.bins, criterion.kind == "numeric"
    if numeric:
        numbers = to_float_array(column)
        return _match_numeric(bins, numbers), Observed(numbers=numbers)
    observed = category_codes(column)
    return _match_categorical(bins, observed), observed


def match_bins(criterion: Criterion | Condition, column: Sequence[Any] | npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """Index of the matched bin per value; ``MISSING`` (-1) when missing or unmatched."""
    return _observe(criterion, column)[0]


@dataclass(frozen=True)
class ScoreResult:
    """Scores for a batch of accounts, with what produced them.

    ``bin_index[i, c]`` is the bin criterion ``c`` matched for account ``i`` (-1: missing);
    ``points[i, c]`` its points; ``excluded[i, e]`` whether exclusion ``e`` applied;
    ``observed[c]`` the values criterion ``c`` saw, so that reasons can show them.
    """

    scorecard: Scorecard
    scores: npt.NDArray[np.int64]
    tiers: npt.NDArray[np.object_]
    bin_index: npt.NDArray[np.int64]
    points: npt.NDArray[np.int64]
    excluded: npt.NDArray[np.bool_]
    observed: tuple[Observed, ...] = field(default=(), repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def missing(self) -> npt.NDArray[np.bool_]:
        """Per account and criterion: was the attribute missing?"""
        return self.bin_index == MISSING

    def tier_counts(self) -> dict[str, int]:
        """Accounts per tier, best tier first, zeros included."""
        names, counts = np.unique(self.tiers.astype(str), return_counts=True)
        found = dict(zip(names.tolist(), counts.tolist(), strict=True))
        return {t: int(found.get(t, 0)) for t in self.scorecard.tiers}

    def reasons(self, top_positive: int = 3, top_negative: int = 2,
                labels: FieldLabels = NO_LABELS) -> list[list[str]]:
        """Short sentences per account, as a rep reads them: top positive, then top negative, then missing data.

        ``labels`` gives the CRM's field and option labels and the portal's currency (see
        :mod:`worker.score.scorecard.reasons`); without them, values read as given or as words.
        """
        matched = Matched(self.scorecard, self.bin_index, self.excluded, self.observed)
        return render_reasons(matched, top_positive, top_negative, labels)


def explain(card: Scorecard, bin_row: npt.NDArray[np.int64], excluded_row: npt.NDArray[np.bool_],
            top_positive: int = 3, top_negative: int = 2, labels: FieldLabels = NO_LABELS) -> list[str]:
    """Reasons for one account from its matched bins and applied exclusions (bins' labels, no values)."""
    texts = []
    for kind, k in reason_slots(card, bin_row.tolist(), excluded_row.tolist(), top_positive, top_negative):
        if kind == "excluded":
            texts.append(exclusion_sentence(card.exclusions[k]))
        elif kind == "missing":
            texts.append(missing_sentence(card.criteria[k], labels))
        else:
            criterion, chosen = card.criteria[k], card.criteria[k].bins[int(bin_row[k])]
            texts.append(f"{labels.field(criterion.attribute, criterion.label)}: {chosen.label}, "
                         f"{signed(chosen.points)} of {criterion.max_points}")
    return texts


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
        observed: list[Observed] = []
        for c, criterion in enumerate(card.criteria):
            idx, seen = _observe(criterion, columns.get(criterion.attribute, empty))
            observed.append(seen)
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
        return ScoreResult(card, scores, tiers, bin_index, points, excluded, tuple(observed))

    def _tiers_for(self, scores: npt.NDArray[np.int64], excluded: npt.NDArray[np.bool_]) -> npt.NDArray[np.object_]:
        best_first = self.scorecard.tiers
        rank = len(best_first) - np.searchsorted(self._band_mins, scores, side="right")
        for e, exclusion in enumerate(self.scorecard.exclusions):
            cap = exclusion.effect.cap_tier
            if cap is not None:
                rank = np.where(excluded[:, e], np.maximum(rank, best_first.index(cap)), rank)
        return np.array(best_first, dtype=object)[rank]
