"""Note generation: short texts from templates that reflect each record's real outcome."""

from __future__ import annotations

import numpy as np

from sandbox import _text as txt
from sandbox._worldgen import DAY_MS, Columns

_REASON_GROUP = {
    "Price": "price",
    "Missing feature": "missing feature",
    "Lost to competitor": "competitor",
    "Timing": "timing",
    "No budget": "no budget",
}


def _after(rng: np.random.Generator, start: np.ndarray, low: float, high: float, now_ms: int) -> np.ndarray:
    return np.asarray(np.minimum(start + (rng.uniform(low, high, len(start)) * DAY_MS).astype(np.int64), now_ms))


def _deal_texts(rng: np.random.Generator, idx: np.ndarray, names: list[str], d: Columns) -> list[str]:
    pick = rng.integers(0, 1000, len(idx)).tolist()
    out = []
    for i, t in zip(idx.tolist(), pick, strict=True):
        company = names[d["account_index"][i]]
        if d["is_won"][i]:
            days = int((d["closed_at"][i] - d["created_at"][i]) // DAY_MS)
            template = txt.WIN_NOTES[t % len(txt.WIN_NOTES)]
            out.append(template.format(company=company, days=days, amount=f"${d['amount'][i]:,.0f}"))
        else:
            group = txt.LOSS_NOTES[_REASON_GROUP.get(d["loss_reason"][i], "generic")]
            competitor = d["competitor"][i] or "a competitor"
            out.append(group[t % len(group)].format(company=company, competitor=competitor))
    return out


def _pick_texts(rng: np.random.Generator, templates: tuple[str, ...], **columns: list[object]) -> list[str]:
    count = len(next(iter(columns.values())))
    pick = rng.integers(0, len(templates), count).tolist()
    keys = list(columns)
    return [templates[t].format(**{k: columns[k][j] for k in keys}) for j, t in enumerate(pick)]


def notes(rng: np.random.Generator, names: list[str], acc_owner: np.ndarray, d: Columns, h: Columns,
          owner_names: list[str], now_ms: int) -> Columns:
    """Win/loss, interview, churn and delivery notes, sorted by creation time."""
    n, m = len(names), len(d["is_closed"])
    win_loss = np.flatnonzero(d["is_closed"] & (rng.random(m) < 0.45))
    interview = np.flatnonzero(d["is_closed"] & (rng.random(m) < 0.08))
    churn = np.flatnonzero((h["retention_status"] == "churned") & (rng.random(n) < 0.75))
    delivery = np.flatnonzero(h["has_won"] & (rng.random(n) < 0.35))
    fits = [h["delivery_fit"][i] for i in delivery.tolist()]
    texts = (
        _deal_texts(rng, win_loss, names, d)
        + _pick_texts(rng, txt.INTERVIEW_NOTES, company=[names[d["account_index"][i]] for i in interview.tolist()])
        + _pick_texts(rng, txt.CHURN_NOTES, company=[names[i] for i in churn.tolist()])
        + [
            txt.DELIVERY_NOTES[f][t % 2].format(company=names[i], ttv=int(h["time_to_value_days"][i]))
            for i, f, t in zip(delivery.tolist(), fits, rng.integers(0, 2, len(delivery)).tolist(), strict=True)
        ]
    )
    account = np.concatenate([d["account_index"][win_loss], d["account_index"][interview], churn, delivery])
    deal = np.concatenate([win_loss, interview, np.full(len(churn) + len(delivery), -1)])
    kind = np.repeat(np.array(["win_loss", "interview", "churn", "delivery_fit"], dtype=object),
                     [len(win_loss), len(interview), len(churn), len(delivery)])
    created = np.concatenate([
        _after(rng, d["closed_at"][win_loss], 0, 5, now_ms),
        _after(rng, d["closed_at"][interview], 3, 30, now_ms),
        _after(rng, h["churn_date"][churn], 0, 10, now_ms),
        _after(rng, h["first_win"][delivery], 30, 200, now_ms),
    ])
    author_owner = np.where(deal >= 0, d["owner_id"][np.maximum(deal, 0)], acc_owner[account])
    order = np.argsort(created, kind="stable")
    return {
        "account_index": account[order].astype(np.int64),
        "deal_index": deal[order].astype(np.int64),
        "kind": kind[order],
        "author": np.array(owner_names, dtype=object)[author_owner[order] - 1],
        "created_at": created[order],
        "text": np.array(texts, dtype=object)[order],
    }
