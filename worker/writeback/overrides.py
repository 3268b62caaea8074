"""Manual overrides: which one wins, and what the record and the owner are told when one is ignored.

A person's override (0-100, with a reason) wins over the computed score. One that is not a number
or outside 0-100, or (``writeback.override_needs_reason``) has no reason, is ignored: the record
shows the computed score, the owned status field says why the override was ignored, and the
account's owner gets a review task saying the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from connectors.base import TaskRequest
from worker.writeback.outbox import record_task, task_key

OVERRIDE_KIND = "override"

__all__ = ["OVERRIDE_KIND", "override_decision", "record_override_task"]


def override_decision(account: Any, needs_reason: bool) -> tuple[int | None, str]:
    """(the override to apply, or None; the status to show on the record, empty when there is nothing to say)."""
    issue = getattr(account, "override_issue", None)
    if issue:
        return None, (f"Manual override ignored: {issue}. The computed score is shown; correct or clear the "
                      "override.")
    if account.override_score is None:
        return None, ""
    if needs_reason and not (account.override_reason or "").strip():
        return None, (f"Manual override {account.override_score} ignored: an override needs a reason. The computed "
                      "score is shown; add the reason to apply it.")
    return int(account.override_score), ""


def record_override_task(session: Session, connection: str, account_id: str, owner_id: str | None, status: str,
                         run_id: str, now: datetime, due_days: int = 7) -> bool:
    """Ask the account's owner, through the outbox, to look at an ignored override (once per status)."""
    if not owner_id or not status:
        return False
    request = TaskRequest(key=task_key(connection, "override", account_id, status), owner_id=owner_id,
                          account_id=account_id, due=now + timedelta(days=due_days),
                          subject="ICP review: a manual fit-score override on this account was ignored",
                          body=f"{status}\n\nThe ICP fit fields on the record say the same. Nothing else was changed.")
    return record_task(session, connection, OVERRIDE_KIND, request, None, run_id, now)
