"""Lost-deal types, surprise wins and losses, and customer quotes: the material people review by hand."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

from worker.refine.cohorts import Cohorts
from worker.refine.dataset import RefinementInput
from worker.refine.readiness import is_generic_loss_reason
from worker.refine.settings import RefineSettings
from worker.score.scorecard import ScoreResult

LostKind = Literal[
    "wrong_fit",
    "right_fit_competitor",
    "right_fit_no_decision",
    "right_fit_other",
    "competitor",
    "no_decision",
    "other",
]
COMPETITOR_PATTERN = re.compile(
    r"compet|lost to|went with|chose (another|a different|other)|switched|incumbent|rival|other vendor"
)
NO_DECISION_PATTERN = re.compile(
    r"no decision|budget|timing|not (a )?priority|priorit|status quo|do nothing|went dark|ghost|unresponsive|"
    r"no response|postpon|on hold|delay|stall|not now|next year|freeze|froze|no need"
)
RIGHT_FIT: dict[str, LostKind] = {
    "competitor": "right_fit_competitor",
    "no_decision": "right_fit_no_decision",
    "other": "right_fit_other",
}
LOST_LABELS: dict[str, str] = {
    "wrong_fit": "wrong fit (scored low)",
    "right_fit_competitor": "right fit, lost to a competitor",
    "right_fit_no_decision": "right fit, gone to no decision",
    "right_fit_other": "right fit, other or generic reason",
    "competitor": "lost to a competitor (fit unknown)",
    "no_decision": "gone to no decision (fit unknown)",
    "other": "other or generic reason (fit unknown)",
}


@dataclass(frozen=True)
class LostDealType:
    """A kind of lost deal with its share and the evidence behind it."""

    kind: LostKind
    label: str
    n: int
    share: float
    deal_ids: tuple[str, ...]
    top_reasons: tuple[tuple[str, int], ...]
    top_competitors: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class LostDealTypes:
    """Lost deals split by fit (the reference scorecard) and by loss reason."""

    scored_with: str | None
    right_fit_min_score: int
    n_lost: int
    types: tuple[LostDealType, ...]


def loss_kind(reason: str | None, competitor: str | None) -> Literal["competitor", "no_decision", "other"]:
    """Classify a normalised loss reason (and competitor field) as competitor, no decision or other."""
    if competitor is not None or (reason is not None and COMPETITOR_PATTERN.search(reason)):
        return "competitor"
    if reason is not None and not is_generic_loss_reason(reason) and NO_DECISION_PATTERN.search(reason):
        return "no_decision"
    return "other"


def lost_deal_types(data: RefinementInput, result: ScoreResult | None, settings: RefineSettings) -> LostDealTypes:
    """Split lost deals into wrong fit and right fit lost to a competitor, to no decision or otherwise.

    Args:
        data: The closed deals.
        result: Scores of every closed deal with the reference scorecard, or None (fit unknown).
        settings: ``right_fit_min_score``.
    """
    lost = np.flatnonzero(~data.won)
    kinds: list[LostKind] = []
    for row in lost:
        by_reason = loss_kind(data.loss_reason[row], data.competitor[row])
        if result is None:
            kinds.append(by_reason)
        elif result.scores[row] < settings.right_fit_min_score:
            kinds.append("wrong_fit")
        else:
            kinds.append(RIGHT_FIT[by_reason])
    kind_array = np.array(kinds, dtype=object)
    order: tuple[LostKind, ...] = (
        ("wrong_fit", "right_fit_competitor", "right_fit_no_decision", "right_fit_other")
        if result is not None
        else ("competitor", "no_decision", "other")
    )
    types = tuple(_type(kind, lost[kind_array == kind], data, len(lost), settings) for kind in order)
    return LostDealTypes(
        result.scorecard.name if result is not None else None, settings.right_fit_min_score, len(lost), types
    )


def _type(
    kind: LostKind, rows: npt.NDArray[np.intp], data: RefinementInput, total: int, settings: RefineSettings
) -> LostDealType:
    recent = rows[np.argsort(-data.closed_at[rows], kind="stable")]
    reasons = Counter(str(r) for r in data.loss_reason_raw[rows] if r)
    competitors = Counter(str(c) for c in data.competitor[rows] if c)
    return LostDealType(
        kind,
        LOST_LABELS[kind],
        len(rows),
        len(rows) / total if total else 0.0,
        tuple(str(i) for i in data.deal_ids[recent][: settings.deal_id_sample]),
        tuple(reasons.most_common(5)),
        tuple(competitors.most_common(5)),
    )


@dataclass(frozen=True)
class Surprise:
    """A deal whose outcome contradicts its score."""

    deal_id: str
    account_id: str | None
    outcome: str
    score: int
    tier: str
    amount: float | None
    closed_on: str | None
    cohort: str | None
    loss_reason: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Surprises:
    """Wins that scored low and losses that scored high, for review."""

    scored_with: str
    win_max_score: int
    loss_min_score: int
    n_surprise_wins: int
    n_surprise_losses: int
    n_won: int
    n_lost: int
    wins: tuple[Surprise, ...]
    losses: tuple[Surprise, ...]


def surprises(data: RefinementInput, result: ScoreResult, cohorts: Cohorts, settings: RefineSettings) -> Surprises:
    """List won deals scoring under ``surprise_win_max_score`` and lost ones scoring ``surprise_loss_min_score``+."""
    scores = result.scores
    wins = np.flatnonzero(data.won & (scores < settings.surprise_win_max_score))
    losses = np.flatnonzero(~data.won & (scores >= settings.surprise_loss_min_score))
    wins = wins[np.lexsort((data.deal_ids[wins].astype(str), scores[wins]))]
    losses = losses[np.lexsort((data.deal_ids[losses].astype(str), -scores[losses]))]
    reasons = result.reasons()
    pick = settings.max_surprises

    def one(row: int) -> Surprise:
        amount = data.amount[row]
        return Surprise(
            deal_id=str(data.deal_ids[row]),
            account_id=data.account_ids[row],
            outcome="won" if data.won[row] else "lost",
            score=int(scores[row]),
            tier=str(result.tiers[row]),
            amount=None if np.isnan(amount) else float(amount),
            closed_on=None if np.isnan(data.closed_at[row])
            else datetime.fromtimestamp(data.closed_at[row], tz=UTC).date().isoformat(),
            cohort=cohorts.cohort[row],
            loss_reason=data.loss_reason_raw[row],
            reasons=tuple(reasons[row]),
        )

    return Surprises(
        result.scorecard.name,
        settings.surprise_win_max_score,
        settings.surprise_loss_min_score,
        len(wins),
        len(losses),
        int(data.won.sum()),
        int((~data.won).sum()),
        tuple(one(int(r)) for r in wins[:pick]),
        tuple(one(int(r)) for r in losses[:pick]),
    )


@dataclass(frozen=True)
class Quote:
    """A customer's words from an attached evidence note, with the deal it belongs to."""

    note_id: str
    text: str
    kind: str
    account_id: str | None
    deal_id: str | None
    outcome: str | None
    cohort: str | None
    created_on: str | None


def _trim(text: str, limit: int = 280) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " ..."


def quotes(data: RefinementInput, cohorts: Cohorts, settings: RefineSettings) -> tuple[Quote, ...]:
    """Up to ``max_quotes`` notes tied to analysed deals or accounts, newest first, balanced across kinds."""
    by_deal = {str(d): i for i, d in enumerate(data.deal_ids)}
    by_account = {str(a): i for i, a in enumerate(data.account_ids) if a is not None}
    linked: dict[str, list[Quote]] = {}
    for note in data.notes:
        row = by_deal.get(str(note.deal_id)) if note.deal_id else None
        if row is None and note.account_id:
            row = by_account.get(str(note.account_id))
        if row is None or not note.text.strip():
            continue
        kind = (note.kind or "note").lower()
        linked.setdefault(kind, []).append(
            Quote(
                note.id,
                _trim(note.text),
                kind,
                note.account_id,
                note.deal_id,
                "won" if data.won[row] else "lost",
                cohorts.cohort[row],
                note.created_at.date().isoformat() if note.created_at else None,
            )
        )
    for items in linked.values():
        items.sort(key=lambda q: (q.created_on or "", q.note_id), reverse=True)
    chosen: list[Quote] = []
    queues = [linked[k] for k in sorted(linked)]
    while len(chosen) < settings.max_quotes and any(queues):
        for queue in queues:
            if queue and len(chosen) < settings.max_quotes:
                chosen.append(queue.pop(0))
    return tuple(chosen)
