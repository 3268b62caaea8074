"""What every page shares: settings, the store, sign-in, sessions and the templates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authlib.integrations.starlette_client import OAuth
from jinja2 import Environment
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse

from worker.context import Context
from worker.settings import Settings
from worker.web import csrf
from worker.web.access import signed_in
from worker.web.accounts import Accounts
from worker.web.ratelimit import SignInLimiter
from worker.web.sessions import SessionStore


@dataclass
class Services:
    """What the pages share: settings, the store, sign-in, sessions and the templates."""

    settings: Settings
    engine: Engine
    clock: Callable[[], datetime]
    contexts: dict[str, Context]
    accounts: Accounts
    limiter: SignInLimiter
    sessions: SessionStore
    templates: Environment
    oauth: OAuth | None

    def render(self, request: Request, name: str, values: dict[str, Any], status: int = 200) -> HTMLResponse:
        """A page from its template, with the signed-in person and the CSRF token every form carries."""
        html = self.templates.get_template(name).render(
            request=request, user=signed_in(request), csrf_token=csrf.token(request),
            connections=list(self.contexts), **values)
        return HTMLResponse(html, status)


def services(request: Request) -> Services:
    """The app's services."""
    found: Services = request.app.state.services
    return found
