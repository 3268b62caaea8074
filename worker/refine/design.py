"""Which validation design the data allow, and the splits it makes.

Out-of-time only when close dates truly separate training from test: every deal is dated, the
test deals closed strictly later than every training deal (the cut falls between two close days),
there are at least ``min_close_days`` distinct close days with some on each side, and each side
holds at least ``min_holdout_class`` positives and negatives. Otherwise repeated stratified k-fold
grouped by account (scikit-learn's ``StratifiedGroupKFold``, reshuffled with a new seed each repeat).
Either way the criteria's replication is measured over at least ``MIN_REPLICATION_FITS`` fits: out of
time, on k-fold subsets of the training deals.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import StratifiedGroupKFold

from worker.refine.settings import RefineSettings

IntArray = npt.NDArray[np.int64]
Method = Literal["out_of_time", "repeated_kfold"]
SECONDS_PER_DAY = 86_400
MIN_REPLICATION_FITS = 5
MIN_DAYS_PER_SIDE = 3


@dataclass(frozen=True)
class Split:
    """Training and test rows of one fit."""

    train: IntArray
    test: IntArray


@dataclass(frozen=True)
class Design:
    """The design chosen, why, and for out-of-time the one split."""

    method: Method
    reason: str
    split: Split | None = None


def _class_counts(target: npt.NDArray[np.bool_], rows: IntArray) -> tuple[int, int]:
    positives = int(target[rows].sum())
    return positives, len(rows) - positives


def choose_design(
    closed_at: npt.NDArray[np.float64], target: npt.NDArray[np.bool_], settings: RefineSettings
) -> Design:
    """Out-of-time when the close dates allow it (see the module docstring), else repeated k-fold, with why."""
    undated = int(np.isnan(closed_at).sum())
    if undated:
        return Design("repeated_kfold", f"{undated} closed deals have no close date, so time cannot order them")
    days = np.floor(closed_at / SECONDS_PER_DAY).astype(np.int64)
    distinct = np.unique(days)
    if len(distinct) < settings.min_close_days:
        return Design(
            "repeated_kfold",
            f"the deals closed on only {len(distinct)} distinct day(s) (out-of-time needs {settings.min_close_days}), "
            "so an older/newer split would be row order, not time",
        )
    n_test = math.ceil(settings.holdout_fraction * len(days))
    cut = np.sort(days)[len(days) - n_test]
    if cut == distinct[0]:
        cut = distinct[1]
    train, test = np.flatnonzero(days < cut), np.flatnonzero(days >= cut)
    if len(np.unique(days[test])) < MIN_DAYS_PER_SIDE or len(np.unique(days[train])) < MIN_DAYS_PER_SIDE:
        return Design("repeated_kfold", "too few distinct close days on one side of the newest slice")
    need = settings.min_holdout_class
    for side, rows in (("newest", test), ("older", train)):
        positives, negatives = _class_counts(target, rows)
        if positives < need or negatives < need:
            return Design(
                "repeated_kfold",
                f"the {side} deals hold {positives} positives and {negatives} negatives (out-of-time needs "
                f"{need} of each)",
            )
    return Design(
        "out_of_time",
        f"every deal is dated over {len(distinct)} distinct close days, and the newest slice closed strictly after "
        "every training deal with enough of each outcome",
        Split(train.astype(np.int64), test.astype(np.int64)),
    )


def group_keys(account_ids: npt.NDArray[np.object_]) -> npt.NDArray[np.str_]:
    """Account of each row as a group key (a deal without account is a group of its own)."""
    return np.array([str(g) if g is not None else f"\x00{i}" for i, g in enumerate(account_ids)])


def kfold_splits(
    groups: npt.NDArray[np.str_], target: npt.NDArray[np.bool_], splits: int, seed: int
) -> Iterator[Split]:
    """Stratified k-fold splits keeping each account's deals in one fold (fewer folds when a class is rare)."""
    positives, negatives = int(target.sum()), int((~target).sum())
    k = max(2, min(splits, positives, negatives, len(np.unique(groups))))
    folds = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for train, test in folds.split(np.zeros(len(target)), target, groups):
            if len(test) and len(train):
                yield Split(train.astype(np.int64), test.astype(np.int64))


def replication_splits(
    rows: IntArray, groups: npt.NDArray[np.str_], target: npt.NDArray[np.bool_], seed: int
) -> list[IntArray]:
    """At least ``MIN_REPLICATION_FITS`` training subsets of ``rows`` (k-fold training parts, account-grouped)."""
    found = [rows[s.train] for s in kfold_splits(groups[rows], target[rows], MIN_REPLICATION_FITS, seed)]
    return found
