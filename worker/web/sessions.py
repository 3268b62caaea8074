"""Server-side sessions for the review pages.

The cookie carries only a random token; the store keeps its SHA-256, the signed-in person, and a
small dict (the CSRF token, an OpenID Connect sign-in in progress). Nothing in the cookie can be
forged into a session, signing out or removing a user ends the session everywhere, and a session
ends ``session_hours`` after sign-in or ``idle_minutes`` after its last request, whichever is first.
A session is only stored once it holds something, so unauthenticated requests write nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

from sqlalchemy import Engine, delete
from sqlmodel import col
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worker.store import WebSession, session_scope

ANONYMOUS_MINUTES = 30
"""How long a session that holds no sign-in (a sign-in form, an OpenID Connect redirect) lives."""
TOUCH_SECONDS = 60
"""The last-seen time is written at most this often, so reading pages costs no write per request."""
STATE_KEY = "icp.session"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class SessionState:
    """The session of one request: who is signed in, and what the request changed."""

    token: str | None = None
    email: str | None = None
    method: str | None = None
    expires_at: datetime | None = None
    rotate: bool = False
    end: bool = False
    original: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionPolicy:
    """Lifetimes and the cookie's attributes."""

    session_hours: float = 12.0
    idle_minutes: float = 120.0
    secure: bool = False

    @property
    def cookie_name(self) -> str:
        """``__Host-icp_session`` over https (bound to this host, Secure, path /), else ``icp_session``."""
        return "__Host-icp_session" if self.secure else "icp_session"


class SessionStore:
    """Sessions in the store's ``web_session`` table."""

    def __init__(self, engine: Engine, policy: SessionPolicy, clock: Callable[[], datetime]) -> None:
        self.engine, self.policy, self.clock = engine, policy, clock

    def load(self, token: str) -> tuple[WebSession | None, bool]:
        """The live session for ``token`` (None when unknown or expired), and whether it was touched."""
        now = self.clock()
        with session_scope(self.engine) as db:
            row = db.get(WebSession, _digest(token))
            if row is None:
                return None, False
            idle_limit = timedelta(minutes=self.policy.idle_minutes if row.email else ANONYMOUS_MINUTES)
            if row.expires_at is None or row.expires_at <= now or (row.last_seen_at or now) + idle_limit <= now:
                db.delete(row)
                return None, False
            touched = (now - (row.last_seen_at or now)).total_seconds() >= TOUCH_SECONDS
            if touched:
                row.last_seen_at = now
                db.add(row)
            return row, touched

    def save(self, state: SessionState, data: dict[str, Any]) -> str | None:
        """Write the request's changes; the token the cookie must now carry (None: clear the cookie)."""
        now = self.clock()
        with session_scope(self.engine) as db:
            anonymous_and_empty = not data and not state.email
            if state.token and (state.rotate or state.end or anonymous_and_empty):
                db.execute(delete(WebSession).where(col(WebSession.token_hash) == _digest(state.token)))
            if state.end or anonymous_and_empty:
                return None
            token = state.token
            if token is None or state.rotate:
                token = secrets.token_urlsafe(32)
                lifetime = (timedelta(hours=self.policy.session_hours) if state.email
                            else timedelta(minutes=ANONYMOUS_MINUTES))
                state.expires_at = now + lifetime
                db.add(WebSession(token_hash=_digest(token), email=state.email, method=state.method, data=data,
                                  created_at=now, last_seen_at=now, expires_at=state.expires_at))
                return token
            row = db.get(WebSession, _digest(token))
            if row is not None:
                row.data, row.last_seen_at = data, now
                db.add(row)
            return token

    def end_all(self, email: str) -> int:
        """End every session of ``email`` (after a password change or removal); how many ended."""
        with session_scope(self.engine) as db:
            result = db.execute(delete(WebSession).where(col(WebSession.email) == email.strip().lower()))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def purge(self) -> None:
        """Delete expired sessions."""
        with session_scope(self.engine) as db:
            db.execute(delete(WebSession).where(col(WebSession.expires_at) <= self.clock()))


class SessionMiddleware:
    """Loads the session before the request and stores its changes before the response starts."""

    def __init__(self, app: ASGIApp, store: SessionStore) -> None:
        self.app, self.store = app, store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie_name = self.store.policy.cookie_name
        token = HTTPConnection(scope).cookies.get(cookie_name)
        row, _ = await run_in_threadpool(self.store.load, token) if token else (None, False)
        state = SessionState(token if row else None, row.email if row else None, row.method if row else None,
                             row.expires_at if row else None, original=dict(row.data) if row else {})
        scope["session"] = dict(state.original)
        scope[STATE_KEY] = state

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                await self._finish(scope, state, message, cookie_name)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    async def _finish(self, scope: Scope, state: SessionState, message: Message, cookie_name: str) -> None:
        data = dict(scope["session"])
        changed = state.rotate or state.end or data != state.original or (state.token is None and bool(data))
        if not changed:
            return
        token = await run_in_threadpool(self.store.save, state, data)
        headers = MutableHeaders(scope=message)
        if token != state.token or state.rotate or state.end:
            headers.append("Set-Cookie", self._cookie(cookie_name, token))
        state.token = token

    def _cookie(self, name: str, token: str | None) -> str:
        cookie: SimpleCookie = SimpleCookie()
        cookie[name] = token or ""
        morsel = cookie[name]
        morsel["path"], morsel["httponly"], morsel["samesite"] = "/", True, "Lax"
        morsel["max-age"] = int(self.store.policy.session_hours * 3600) if token else 0
        if self.store.policy.secure:
            morsel["secure"] = True
        return morsel.OutputString()


def session_of(conn: HTTPConnection) -> SessionState:
    """The request's session state."""
    state: SessionState = conn.scope[STATE_KEY]
    return state


def begin(conn: HTTPConnection, email: str, method: str) -> None:
    """Sign ``email`` in: a new token (never the one used before sign-in), a fresh session lifetime."""
    state = session_of(conn)
    state.email, state.method, state.rotate = email.strip().lower(), method, True
    conn.session.clear()


def end(conn: HTTPConnection) -> None:
    """Sign out: the session is deleted and the cookie cleared."""
    session_of(conn).end = True
    conn.session.clear()
