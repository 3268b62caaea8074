"""Reasons a rep can act on: one short sentence per criterion, with the field's label and the value as the CRM shows it.

    Industry is Computer Software: +25 of 25
    Number of Employees 7: small for our best customers, +0 of 25
    Uses a data warehouse: No, +0 of 20
    Excluded: seed-stage company, -30 points

Which criteria are named depends only on the matched bins (top positive contributions, then the
largest shortfalls and exclusions, then every missing value), so that choice is made once per
distinct combination of bins. The sentences themselves depend on the value, so they are made once
per distinct value of each criterion and spread to the accounts with numpy indexing.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt

from worker.score.scorecard.labels import NO_LABELS, FieldLabels, attribute_title, money
from worker.score.scorecard.model import MAX_SCORE, Criterion, Exclusion, Scorecard

MISSING = -1
MAX_SENTENCE = 160
BOOLEAN_LEVELS = frozenset({"true", "false"})
Slot = tuple[str, int]  # ("value" | "missing" | "excluded", criterion or exclusion index)


@dataclass(frozen=True)
class Observed:
    """The values one criterion saw: numbers (NaN when missing), or category codes into ``levels``.

    ``levels`` are the normalised category values (as the scorer compares them) and ``originals``
    one value as given for each, so a reason can show the CRM's label or, failing that, the value.
    """

    numbers: npt.NDArray[np.float64] | None = None
    codes: npt.NDArray[np.int64] | None = None
    levels: tuple[str, ...] = ()
    originals: tuple[Any, ...] = ()


def signed(points: int) -> str:
    """``+25``, ``+0`` or ``-30``."""
    return f"+{points}" if points >= 0 else str(points)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_SENTENCE else text[: MAX_SENTENCE - 3].rstrip() + "..."


def _field(criterion: Criterion, labels: FieldLabels) -> str:
    return labels.field(criterion.attribute, criterion.label)


def _meaning(criterion: Criterion, label: str) -> str:
    """A bin's label without the field's name at its start: 'employees under 50' reads 'under 50'."""
    for name in (criterion.label, criterion.attribute.replace("_", " "), criterion.attribute):
        if name and label.lower().startswith(name.lower()):
            return label[len(name):].lstrip(" :,-")
    return label


def exclusion_sentence(exclusion: Exclusion) -> str:
    """``Excluded: companies over 1,170 employees often churn, so at most tier C``."""
    points, cap = exclusion.effect.points, exclusion.effect.cap_tier
    effects = [f"{points} points" if points else "", f"at most tier {cap}" if cap else ""]
    said = " and ".join(e for e in effects if e)
    joiner = ", so " if cap and not points else ", "
    return _clip(f"Excluded: {exclusion.label}{joiner + said if said else ''}")


def missing_sentence(criterion: Criterion, labels: FieldLabels = NO_LABELS) -> str:
    """``Number of Employees unknown: +0 of 25``."""
    text = criterion.missing.label or f"{_field(criterion, labels)} unknown"
    text = text[:1].upper() + text[1:]
    return _clip(f"{text}: {signed(criterion.missing.points)} of {criterion.max_points}")


def number_text(attribute: str, value: float, labels: FieldLabels = NO_LABELS) -> str:
    """A number as a rep reads it: ``1,170``; ``2012`` for a year; ``$12.5M`` for money."""
    if attribute in labels.money:
        return money(value, labels.currency)
    if "year" in attribute.lower() and 1000 <= abs(value) < 10000:
        return f"{value:.0f}"
    if float(value).is_integer() and abs(value) < 1e9:
        return f"{value:,.0f}"
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def value_sentence(criterion: Criterion, bin_index: int, shown: str, categorical: bool, boolean: bool,
                   labels: FieldLabels = NO_LABELS) -> str:
    """One criterion's reason for a matched value ``shown`` as the CRM shows it."""
    chosen = criterion.bins[bin_index]
    field = _field(criterion, labels)
    score = f"{signed(chosen.points)} of {criterion.max_points}"
    if boolean:
        return _clip(f"{field}: {shown}, {score}")
    if categorical:
        return _clip(f"{field} is {shown}: {score}")
    meaning = _meaning(criterion, chosen.label)
    return _clip(f"{field} {shown}: {meaning + ', ' if meaning else ''}{score}")


def reason_slots(card: Scorecard, bin_row: Sequence[int], excluded_row: Sequence[bool],
                 top_positive: int = 3, top_negative: int = 2) -> list[Slot]:
    """Which criteria and exclusions one account's reasons name, in order."""
    positive: list[tuple[int, Slot]] = []
    negative: list[tuple[int, Slot]] = []
    missing: list[Slot] = []
    for c, (criterion, index) in enumerate(zip(card.criteria, bin_row, strict=True)):
        if index == MISSING:
            missing.append(("missing", c))
            continue
        chosen = criterion.bins[index]
        shortfall = criterion.max_points - chosen.points
        if chosen.points > 0:
            positive.append((chosen.points, ("value", c)))
        if chosen.points < 0 or (shortfall > 0 and chosen.points == criterion.min_points):
            negative.append((shortfall - chosen.points, ("value", c)))
    for e, (exclusion, applied) in enumerate(zip(card.exclusions, excluded_row, strict=True)):
        if applied:
            negative.append((MAX_SCORE - (exclusion.effect.points or 0), ("excluded", e)))
    positive.sort(key=lambda p: -p[0])
    negative.sort(key=lambda p: -p[0])
    return [s for _, s in positive[:top_positive]] + [s for _, s in negative[:top_negative]] + missing


@dataclass(frozen=True)
class Matched:
    """What the scorer found for a batch: matched bins, applied exclusions and the values seen."""

    scorecard: Scorecard
    bin_index: npt.NDArray[np.int64]
    excluded: npt.NDArray[np.bool_]
    observed: tuple[Observed, ...] = ()

    def __len__(self) -> int:
        return len(self.bin_index)


def _combinations(result: Matched) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Each account's combination of bins and exclusions: (first account of each combination, inverse)."""
    card, n = result.scorecard, len(result)
    radices = [len(c.bins) + 1 for c in card.criteria] + [2] * len(card.exclusions)
    if math.prod(radices) < 2**62:
        keys = np.zeros(n, dtype=np.int64)
        for c, radix in enumerate(radices[: len(card.criteria)]):
            keys = keys * radix + (result.bin_index[:, c] + 1)
        for e in range(len(card.exclusions)):
            keys = keys * 2 + result.excluded[:, e]
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    else:
        stacked = np.concatenate([result.bin_index, result.excluded.astype(np.int64)], axis=1)
        _, first, inverse = np.unique(stacked, axis=0, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def _round_for_display(attribute: str, values: npt.NDArray[np.float64], labels: FieldLabels) -> npt.NDArray[np.float64]:
    """Values rounded as they will be shown (3 significant digits for money and large or fractional numbers)."""
    exact = (values == np.round(values)) & (np.abs(values) < 1e9) & (attribute not in labels.money)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 10.0 ** (np.floor(np.log10(np.abs(values))) - 2)
        rounded = np.round(values / scale) * scale
    return np.where(exact | (values == 0) | np.isnan(values), values, rounded)


def _value_texts(criterion: Criterion, bins: npt.NDArray[np.int64], observed: Observed,
                 labels: FieldLabels) -> npt.NDArray[np.object_]:
    """Every account's sentence for this criterion (None where its value is missing)."""
    if observed.codes is not None:
        boolean = bool(observed.levels) and set(observed.levels) <= BOOLEAN_LEVELS
        bins_of_levels = level_bins(criterion, observed.levels)
        table = np.array([value_sentence(criterion, b, labels.value(criterion.attribute, original), True, boolean,
                                         labels) if b != MISSING else None
                          for b, original in zip(bins_of_levels, observed.originals, strict=True)]
                         + [None], dtype=object)
        return table[observed.codes]
    assert observed.numbers is not None
    out = np.full(len(bins), None, dtype=object)
    shown = _round_for_display(criterion.attribute, observed.numbers, labels)
    for b in range(len(criterion.bins)):
        rows = np.flatnonzero(bins == b)
        if not len(rows):
            continue
        uniques, inverse = np.unique(shown[rows], return_inverse=True)
        table = np.array([value_sentence(criterion, b, number_text(criterion.attribute, u, labels), False, False,
                                         labels) for u in uniques.tolist()], dtype=object)
        out[rows] = table[inverse.reshape(-1)]
    return out


def level_bins(criterion: Criterion, levels: Sequence[str]) -> list[int]:
    """The bin each normalised category value falls in (``MISSING`` when none takes it)."""
    lookup = {v: i for i, b in enumerate(criterion.bins) for v in b.normalised_values}
    other = next((i for i, b in enumerate(criterion.bins) if b.other), MISSING)
    return [lookup.get(level, other) for level in levels]


def render_reasons(result: Matched, top_positive: int = 3, top_negative: int = 2,
                   labels: FieldLabels = NO_LABELS) -> list[list[str]]:
    """The reasons of every account in ``result``, as short sentences."""
    n, card = len(result), result.scorecard
    if n == 0:
        return []
    first, inverse = _combinations(result)
    slots = [reason_slots(card, result.bin_index[i].tolist(), result.excluded[i].tolist(), top_positive, top_negative)
             for i in first.tolist()]
    texts = _source_texts(result, list(dict.fromkeys(s for chosen in slots for s in chosen)), labels)
    order = np.argsort(inverse, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=len(slots)))]).tolist()
    out: list[list[str]] = [[]] * n
    collecting = gc.isenabled()
    gc.disable()  # a million new lists would otherwise trigger full collections over them again and again
    try:
        for u, chosen in enumerate(slots):
            rows = order[bounds[u]:bounds[u + 1]]
            columns = [texts[slot][rows] if isinstance(texts[slot], np.ndarray) else repeat(texts[slot], len(rows))
                       for slot in chosen]
            lists = map(list, zip(*columns, strict=True)) if columns else ([] for _ in range(len(rows)))
            for i, reasons in zip(rows.tolist(), lists, strict=False):
                out[i] = reasons
    finally:
        if collecting:
            gc.enable()
    return out


def _source_texts(result: Matched, slots: list[Slot], labels: FieldLabels) -> dict[Slot, Any]:
    card = result.scorecard
    texts: dict[Slot, Any] = {}
    for kind, k in slots:
        if kind == "excluded":
            texts[(kind, k)] = exclusion_sentence(card.exclusions[k])
        elif kind == "missing":
            texts[(kind, k)] = missing_sentence(card.criteria[k], labels)
        elif k < len(result.observed):
            texts[(kind, k)] = _value_texts(card.criteria[k], result.bin_index[:, k], result.observed[k], labels)
        else:
            texts[(kind, k)] = _label_texts(card.criteria[k], result.bin_index[:, k], labels)
    return texts


def _label_texts(criterion: Criterion, bins: npt.NDArray[np.int64], labels: FieldLabels) -> npt.NDArray[np.object_]:
    """Sentences from the bins alone, for results built without their input values."""
    table = np.array([f"{_field(criterion, labels)}: {b.label}, {signed(b.points)} of {criterion.max_points}"
                      for b in criterion.bins] + [None], dtype=object)
    return table[bins]


def reasons_text(reasons: Sequence[str], limit: int) -> str:
    """The reasons as the owned text field holds them: one per line, whole sentences only, within ``limit``."""
    kept: list[str] = []
    used = 0
    for reason in reasons:
        cost = len(reason) + (1 if kept else 0)
        if used + cost > limit:
            break
        kept.append(reason)
        used += cost
    return "\n".join(kept)


__all__ = ["Matched", "Observed", "attribute_title", "exclusion_sentence", "missing_sentence", "reason_slots",
           "reasons_text", "render_reasons", "signed", "value_sentence"]
