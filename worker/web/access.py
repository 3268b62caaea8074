"""Who is signed in, and what they may do on a connection's pages.

Every page needs a signed-in person. A person may read a connection's pages when its config names
them as a viewer, an approver or the holder of a role, and may decide only in the last two cases;
anyone else signed in is refused that connection (403). A signed-out browser is sent to sign in.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from worker.context import Context
from worker.web.sessions import session_of


class SignInRequired(Exception):  # noqa: N818 - a control signal, turned into a redirect
    """The request needs a signed-in person; the handler sends the browser to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class Access:
    """A signed-in person on one connection."""

    email: str
    context: Context
    may_decide: bool

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles the person holds on this connection."""
        return self.context.policy.roles_of(self.email)


def signed_in(conn: HTTPConnection) -> str | None:
    """The signed-in person's e-mail, or None."""
    return session_of(conn).email


def require_person(conn: HTTPConnection) -> str:
    """The signed-in person; :class:`SignInRequired` otherwise."""
    email = signed_in(conn)
    if email is None:
        path = conn.url.path + (f"?{conn.url.query}" if conn.url.query else "")
        raise SignInRequired(path)
    return email


def readable(conn: HTTPConnection, contexts: dict[str, Context]) -> list[Context]:
    """The connections the signed-in person may read, in configured order."""
    email = require_person(conn)
    return [c for c in contexts.values() if c.policy.may_read(email)]


def access(conn: HTTPConnection, contexts: dict[str, Context], name: str) -> Access:
    """The signed-in person's access to connection ``name``; 404 when unknown, 403 when not theirs."""
    email = require_person(conn)
    context = contexts.get(name)
    if context is None:
        raise HTTPException(404, f"no connection named {name!r}")
    if not context.policy.may_read(email):
        raise HTTPException(403, f"{email} is not a viewer or approver of connection {name!r}. Ask an "
                                 "administrator to add you to its viewers or approvers.")
    return Access(email, context, context.policy.may_decide(email))


def safe_next(value: str | None) -> str:
    """A local path to return to after sign-in; anything else (another site, a scheme) becomes ``/``."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return quote(value, safe="/?=&%-_.~")
