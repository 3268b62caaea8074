"""What waits for whom: pending versions, their sign-offs, and what the signed-in person may do about them."""

from __future__ import annotations

from dataclasses import dataclass

from worker.score.signoff import SignOff
from worker.score.versions import APPROVABLE, VersionSummary
from worker.web.access import Access


@dataclass(frozen=True)
class SignOffView:
    """A version's sign-off: who signed, which required roles are still open, and who holds them."""

    signed: list[SignOff]
    needed: dict[str, tuple[str, ...]]
    required: tuple[str, ...]


@dataclass(frozen=True)
class Waiting:
    """A pending version, and what the signed-in person may do about it."""

    version: VersionSummary
    signoff: SignOffView
    yours: str | None


def signoff_view(access: Access, version: int, status: str) -> SignOffView:
    """Who has signed ``version`` in its current round and who is still needed."""
    versions = access.context.versions
    signed = versions.signoffs(version) if status in APPROVABLE else []
    policy = versions.policy
    outstanding = policy.outstanding(signed) if status in APPROVABLE else ()
    return SignOffView(signed, {role: policy.roles.get(role, ()) for role in outstanding}, policy.required)


def your_part(access: Access, view: SignOffView) -> str | None:
    """What the signed-in person is asked for on a pending version, or None when nothing."""
    if not access.may_decide or any(s.actor == access.email for s in view.signed):
        return None
    mine = [role for role in access.roles if role in view.needed]
    if mine:
        return f"your sign-off as {', '.join(mine)} is needed"
    if not view.required:
        return "your approval or rejection is needed"
    return "you may approve or reject"


def waiting(access: Access) -> list[Waiting]:
    """The connection's pending versions, newest first, with the signed-in person's part in each."""
    found = []
    for summary in access.context.versions.summaries():
        if summary.status != "proposed":
            continue
        view = signoff_view(access, summary.version, summary.status)
        found.append(Waiting(summary, view, your_part(access, view)))
    return found
