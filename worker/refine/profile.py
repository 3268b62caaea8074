"""Wins and losses side by side: deal size, cycle and each analysed account attribute."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from worker.refine.dataset import Column, RefinementInput
from worker.refine.text import number_for, percent, title

PRIORITY = re.compile(r"industry|vertical|employee|headcount|size|revenue")
TOP_VALUES = 3


@dataclass(frozen=True)
class SideBySide:
    """One field summarised for won and for lost deals."""

    field: str
    kind: str
    won_n: int
    lost_n: int
    won_summary: str
    lost_summary: str


def _numeric_summary(values: npt.NDArray[np.float64], name: str) -> str:
    values = values[~np.isnan(values)]
    if not len(values):
        return "no data"
    q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    return f"median {number_for(name, median)} (middle half {number_for(name, q1)}-{number_for(name, q3)})"


def _categorical_summary(values: npt.NDArray[np.object_]) -> str:
    filled = [v for v in values.tolist() if v is not None]
    if not filled:
        return "no data"
    counts = Counter(filled).most_common(TOP_VALUES)
    return ", ".join(f"{value} {percent(count / len(filled))}" for value, count in counts)


def _row(name: str, kind: str, values: npt.NDArray[np.generic], won: npt.NDArray[np.bool_]) -> SideBySide:
    if kind == "numeric":
        numeric = values.astype(np.float64)
        present = ~np.isnan(numeric)
        won_text, lost_text = _numeric_summary(numeric[won], name), _numeric_summary(numeric[~won], name)
    else:
        categorical = values.astype(object)
        present = categorical != None  # noqa: E711
        won_text, lost_text = _categorical_summary(categorical[won]), _categorical_summary(categorical[~won])
    return SideBySide(name, kind, int((present & won).sum()), int((present & ~won).sum()), won_text, lost_text)


def side_by_side(data: RefinementInput, columns: Sequence[Column]) -> tuple[SideBySide, ...]:
    """Deal size, sales cycle and the analysed attributes (industry, size and revenue first) for won vs lost."""
    rows = [
        _row("deal size", "numeric", data.amount, data.won),
        _row("sales cycle (days)", "numeric", data.cycle_days, data.won),
    ]
    ordered = sorted(columns, key=lambda c: (PRIORITY.search(c.name.lower()) is None, c.name))
    rows += [_row(title(c.name), c.kind, c.values, data.won) for c in ordered]
    return tuple(rows)
