"""Who may decide on a scorecard version, and whose sign-off it still needs. Pure: no store.

A connection names its approvers (who may approve or reject whatever the role), its viewers (who
may read the review pages), and, under ``review``, the roles whose sign-off a version needs
(``required_roles``) and who holds each role (``roles``; the first person is the role's reviewer).
A person listed under a role is an approver for that role. With no required roles one approval
suffices; with required roles a version takes effect when one holder of each has approved. Any
rejection rejects.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

WEB, CLI, WORKER = "web", "cli", "worker"
"""The channels a decision comes through: the review pages, the command line, the worker itself."""


@dataclass(frozen=True)
class Actor:
    """Who acts, and through which channel; on the command line also the operating-system user."""

    name: str
    channel: str = WORKER
    os_user: str | None = None

    @property
    def key(self) -> str:
        """The name as approvers are matched: trimmed and lower-case."""
        return self.name.strip().lower()

    def describe(self) -> str:
        """``cro@example.com (web)`` or ``cro@example.com (cli, OS user ana)``."""
        extra = f", OS user {self.os_user}" if self.os_user else ""
        return f"{self.name} ({self.channel}{extra})"


def command_line_actor(name: str) -> Actor:
    """An actor on the command line, with the operating-system user running the command beside the name.

    The user comes from the process's real user id, not from ``$USER``, which anyone can set.
    """
    try:
        import pwd

        os_user = pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):  # not POSIX, or a uid without a passwd entry
        os_user = f"uid {os.getuid()}" if hasattr(os, "getuid") else os.environ.get("USERNAME", "unknown")
    return Actor(name, CLI, os_user)


def as_actor(who: str | Actor) -> Actor:
    """``who`` as an :class:`Actor`; a bare name is the worker acting on its own."""
    return who if isinstance(who, Actor) else Actor(who, WORKER)


@dataclass(frozen=True)
class SignOff:
    """One approval on record for a version in its current round."""

    actor: str
    roles: tuple[str, ...]
    at: datetime | None
    channel: str | None
    note: str | None


@dataclass(frozen=True)
class SignOffPolicy:
    """The approvers, viewers and required roles of one connection."""

    approvers: frozenset[str] = frozenset()
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    viewers: frozenset[str] = frozenset()

    @classmethod
    def of(cls, approvers: Iterable[str], roles: Mapping[str, Sequence[str]] | None = None,
           required: Sequence[str] = (), viewers: Iterable[str] = ()) -> SignOffPolicy:
        """A policy from config values (names are matched trimmed and lower-case)."""
        return cls(frozenset(_key(a) for a in approvers),
                   {role: tuple(_key(p) for p in people) for role, people in (roles or {}).items()},
                   tuple(required), frozenset(_key(v) for v in viewers))

    def may_decide(self, who: str) -> bool:
        """Whether ``who`` may approve or reject: a listed approver or the holder of a role."""
        key = _key(who)
        return key in self.approvers or bool(self.roles_of(key))

    def may_read(self, who: str) -> bool:
        """Whether ``who`` may read the connection's review pages."""
        return self.may_decide(who) or _key(who) in self.viewers

    def roles_of(self, who: str) -> tuple[str, ...]:
        """The roles ``who`` holds, in configured order."""
        key = _key(who)
        return tuple(role for role, people in self.roles.items() if key in people)

    def reviewer(self, role: str) -> str | None:
        """The person who reviews for ``role``: the first listed under it."""
        people = self.roles.get(role) or ()
        return people[0] if people else None

    def deciders(self) -> list[str]:
        """Everyone who may decide, sorted."""
        return sorted(self.approvers | {p for people in self.roles.values() for p in people})

    def outstanding(self, signoffs: Sequence[SignOff]) -> tuple[str, ...]:
        """The required roles nobody has signed for yet (with none required: none, once anyone signed)."""
        signed = {role for s in signoffs for role in s.roles}
        return tuple(role for role in self.required if role not in signed)

    def complete(self, signoffs: Sequence[SignOff]) -> bool:
        """Whether these sign-offs put a version in force."""
        return bool(signoffs) and not self.outstanding(signoffs)


def _key(name: str) -> str:
    return name.strip().lower()


@dataclass(frozen=True)
class Transition:
    """One lifecycle change of a version, as recorded in ``version_event``.

    ``action`` is one of ``drafted``, ``proposed``, ``signed`` (an approval that still waits for other
    roles), ``approved``, ``rolled_back`` (an earlier version approved again), ``rejected``,
    ``superseded`` (a newer proposal replaced it) and ``retired`` (another version took effect).
    ``outstanding`` lists the required roles still to sign after this change.
    """

    connection: str
    version: int
    action: str
    from_status: str | None
    to_status: str
    actor: Actor
    at: datetime
    note: str | None = None
    roles: tuple[str, ...] = ()
    outstanding: tuple[str, ...] = ()
