"""Leakage by evidence, not by strength: when a candidate criterion is held back as possibly post-close.

A strong attribute is not evidence of leakage: "existing customer" can carry an information value
above 1 and still be known long before a deal closes. An attribute is held back only on evidence:

* the field mapping declares it ``known: after_close``;
* the CRM's property history shows its current value was set after the deal closed for more than
  ``max_set_after_close_share`` of the deals checked;
* its bins separate the outcome (near-)perfectly, which no pre-close attribute does on real deals.

A merely strong attribute (information value above ``suspicious_iv``) is proposed, and the brief asks
the approver to confirm that it is known before a deal closes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from worker.refine.settings import RefineSettings
from worker.refine.stats import auc_delong
from worker.refine.timing import AttributeTiming

MIN_HISTORY_CHECKED = 10


@dataclass(frozen=True)
class LeakageVerdict:
    """Why a candidate is held back as post-close (``reason``/``rule``), or a request to confirm its timing."""

    reason: str | None = None
    rule: str | None = None
    confirm: str | None = None


def separation_auc(woe: npt.NDArray[np.float64], codes: npt.NDArray[np.int64], target: npt.NDArray[np.bool_]) -> float:
    """How well the bins alone rank positives above negatives (AUC of each row's bin WoE)."""
    if not len(codes) or target.all() or not target.any():
        return 0.5
    return float(auc_delong(woe[codes], target).auc)


def judge(
    name: str,
    iv: float,
    separation: float,
    timing: AttributeTiming | None,
    settings: RefineSettings,
) -> LeakageVerdict:
    """The leakage verdict of one candidate from its timing evidence and its separation of the outcome.

    Args:
        name: The attribute.
        iv: Its information value on the fitted rows.
        separation: AUC of its bins alone (see :func:`separation_auc`).
        timing: What the mapping and the CRM's property history say about when it is set.
        settings: ``max_set_after_close_share``, ``separation_auc`` and ``suspicious_iv``.
    """
    if timing is not None and timing.declared == "after_close":
        return LeakageVerdict(
            f"known only after a deal closes: the field mapping declares {name} 'known: after_close'",
            "after_close",
        )
    share = timing.share_set_after_close if timing is not None else None
    if (
        timing is not None
        and share is not None
        and timing.history_checked >= MIN_HISTORY_CHECKED
        and share > settings.max_set_after_close_share
    ):
        return LeakageVerdict(
            f"set after close: the CRM's property history shows the value was set after the deal closed for "
            f"{timing.set_after_close} of {timing.history_checked} deals checked ({share:.0%}, more than "
            f"{settings.max_set_after_close_share:.0%})",
            "after_close",
        )
    if separation >= settings.separation_auc and not (timing is not None and timing.declared == "before_close"):
        return LeakageVerdict(
            f"near-perfect separation: its bins alone rank the outcome right {separation:.0%} of the time, which "
            "a field known before a deal closes almost never does; declare it 'known: before_close' in the "
            "mapping if it truly is",
            "perfect_separation",
        )
    if iv > settings.suspicious_iv and not (timing is not None and timing.declared == "before_close"):
        return LeakageVerdict(
            confirm=(
                f"{name} is a very strong signal (information value {iv:.2f}): confirm it is known before a deal "
                "closes (declare 'known: before_close' in the mapping); if it is filled in at or after closing, "
                "reject this version"
            )
        )
    return LeakageVerdict()
