"""Local accounts for teams without an identity provider: e-mail plus an argon2-hashed password.

Passwords are never stored or logged; only their argon2id hash is kept. Checking a password for an
unknown e-mail costs the same as for a known one, so the sign-in form does not reveal who has an
account. Who may read or decide is not stored here: that comes from the connection's config.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from worker.store import WebUser, session_scope

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


class AccountError(ValueError):
    """A local account could not be created or changed; the message says why."""


def normalise_email(email: str) -> str:
    """The e-mail as accounts and approvers are matched: trimmed, lower-case; refused when malformed."""
    value = email.strip().lower()
    if not _EMAIL.match(value):
        raise AccountError(f"{email!r} is not an e-mail address")
    return value


def _checked_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"a password may have at most {MAX_PASSWORD} characters")
    return password


class Accounts:
    """The local accounts in the store."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime], hasher: PasswordHasher | None = None) -> None:
        self.engine, self.clock = engine, clock
        self.hasher = hasher or PasswordHasher()
        self._dummy = self.hasher.hash("not a password anyone has")

    def add(self, email: str, password: str) -> str:
        """Create an account; :class:`AccountError` when it exists or the password is too short."""
        key, secret = normalise_email(email), _checked_password(password)
        with session_scope(self.engine) as db:
            if db.get(WebUser, key) is not None:
                raise AccountError(f"{key} already has an account; use `icp users passwd {key}`")
            now = self.clock()
            db.add(WebUser(email=key, password_hash=self.hasher.hash(secret), created_at=now, password_changed_at=now))
        return key

    def set_password(self, email: str, password: str) -> str:
        """Replace an account's password."""
        key, secret = normalise_email(email), _checked_password(password)
        with session_scope(self.engine) as db:
            user = db.get(WebUser, key)
            if user is None:
                raise AccountError(f"{key} has no account; use `icp users add {key}`")
            user.password_hash, user.password_changed_at = self.hasher.hash(secret), self.clock()
            db.add(user)
        return key

    def remove(self, email: str) -> str:
        """Delete an account."""
        key = normalise_email(email)
        with session_scope(self.engine) as db:
            user = db.get(WebUser, key)
            if user is None:
                raise AccountError(f"{key} has no account")
            db.delete(user)
        return key

    def emails(self) -> list[str]:
        """Every account, sorted."""
        with Session(self.engine) as db:
            return list(db.execute(select(col(WebUser.email)).order_by(col(WebUser.email))).scalars())

    def verify(self, email: str, password: str) -> bool:
        """Whether ``password`` is the account's password (constant work whether or not the account exists)."""
        try:
            key = normalise_email(email)
        except AccountError:
            key = ""
        with Session(self.engine) as db:
            user = db.get(WebUser, key) if key else None
        stored = user.password_hash if user else self._dummy
        try:
            self.hasher.verify(stored, password[:MAX_PASSWORD])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        if user is None:
            return False
        if self.hasher.check_needs_rehash(stored):
            self._rehash(key, password)
        return True

    def _rehash(self, key: str, password: str) -> None:
        with session_scope(self.engine) as db:
            user = db.get(WebUser, key)
            if user is not None:
                user.password_hash = self.hasher.hash(password)
                db.add(user)
