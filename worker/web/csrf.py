"""CSRF protection: every form carries the session's token, and every form post is checked against it.

The token is random, kept server-side in the session, and compared in constant time. Forms are
only accepted through :func:`checked_form`, so a handler cannot forget the check. The session
cookie is also ``SameSite=Lax``, a second line that stops cross-site posts in current browsers.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request

FIELD = "csrf_token"
KEY = "csrf"
MAX_FORM_BYTES = 64 * 1024


def token(conn: HTTPConnection) -> str:
    """The session's CSRF token, created on first use."""
    value = conn.session.get(KEY)
    if not isinstance(value, str) or len(value) < 32:
        value = secrets.token_urlsafe(32)
        conn.session[KEY] = value
    return value


async def checked_form(request: Request) -> FormData:
    """The posted form, if it carries this session's CSRF token; 403 otherwise (400 when too large)."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_FORM_BYTES):
        raise HTTPException(400, "form too large")
    form = await request.form(max_files=0, max_fields=50)
    sent = form.get(FIELD)
    expected = request.session.get(KEY)
    if not isinstance(sent, str) or not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "This form has expired or did not come from this site. Reload the page and "
                                 "try again.")
    return form
