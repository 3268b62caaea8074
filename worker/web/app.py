"""The review pages' application: services, middleware, error pages and routes.

Server-rendered HTML (Starlette and Jinja2), no scripts: every page works without JavaScript.
Pages read the store only; nothing here calls the CRM during a request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from argon2 import PasswordHasher
from authlib.integrations.starlette_client import OAuth
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worker.context import Context
from worker.refine.text import number, percent
from worker.settings import ConfigError, Settings, read_named_secret
from worker.store import make_engine, migrate
from worker.web import auth
from worker.web.access import SignInRequired
from worker.web.accounts import Accounts
from worker.web.ratelimit import SignInLimiter
from worker.web.routes import ROUTES
from worker.web.services import Services
from worker.web.sessions import SessionMiddleware, SessionPolicy, SessionStore

STATIC = Path(__file__).parent / "static"


def utcnow() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


def _when(value: datetime | str | None) -> str:
    if value is None:
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _templates() -> Environment:
    env = Environment(loader=PackageLoader("worker.web", "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(when=_when, money=_money, pct=percent, num=number)
    env.tests["contains"] = lambda seq, item: item in (seq or ())
    return env


def _oauth(settings: Settings) -> OAuth | None:
    options = settings.web.oidc
    if options is None:
        return None
    client_id = read_named_secret(options.client_id_env, options.secrets_file)
    client_secret = read_named_secret(options.client_secret_env, options.secrets_file)
    if not client_id or not client_secret:
        raise ConfigError(f"web.oidc: set {options.client_id_env} and {options.client_secret_env} in the "
                          "environment or the secrets_file")
    oauth = OAuth()
    oauth.register(auth.OIDC_CLIENT, client_id=client_id, client_secret=client_secret,
                   server_metadata_url=options.server_metadata_url, client_kwargs={"scope": options.scope})
    return oauth


def build_services(settings: Settings, engine: Engine | None = None, clock: Callable[[], datetime] = utcnow,
                   hasher: PasswordHasher | None = None) -> Services:
    """Everything the pages need, with the store migrated (``hasher``: argon2's defaults unless given)."""
    engine = engine or make_engine(settings.database_url)
    migrate(engine)
    web = settings.web
    policy = SessionPolicy(web.session_hours, web.idle_minutes, settings.public_url.startswith("https://"))
    contexts = {name: Context(settings, name, config, engine) for name, config in settings.connections.items()}
    return Services(settings, engine, clock, contexts, Accounts(engine, clock, hasher),
                    SignInLimiter(engine, web.max_failed_logins, timedelta(minutes=web.lockout_minutes), clock),
                    SessionStore(engine, policy, clock), _templates(), _oauth(settings))


class SecurityHeaders:
    """Headers on every response: no scripts, no framing, no caching of signed-in pages."""

    def __init__(self, app: ASGIApp, secure: bool) -> None:
        self.app, self.secure = app, secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                extra = {
                    b"content-security-policy": b"default-src 'none'; style-src 'self' 'unsafe-inline'; "
                                                b"img-src 'self' data:; form-action 'self'; base-uri 'none'; "
                                                b"frame-ancestors 'none'",
                    b"x-content-type-options": b"nosniff", b"x-frame-options": b"DENY",
                    b"referrer-policy": b"same-origin", b"cache-control": b"no-store"}
                if self.secure:
                    extra[b"strict-transport-security"] = b"max-age=31536000"
                headers.extend(extra.items())
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)


def _error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, SignInRequired):
        return RedirectResponse(f"/signin?next={quote(exc.next_path, safe='/')}", 303)
    assert isinstance(exc, HTTPException)
    services: Services = request.app.state.services
    titles = {400: "Bad request", 401: "Sign in first", 403: "Not allowed", 404: "Not found", 405: "Not allowed"}
    return services.render(request, "error.html", {"status": exc.status_code, "title": titles.get(
        exc.status_code, "Something went wrong"), "detail": exc.detail}, exc.status_code)


def create_app(services: Services) -> Starlette:
    """The ASGI application of the review pages."""
    app = Starlette(
        routes=[*auth.ROUTES, *ROUTES, Mount("/static", StaticFiles(directory=STATIC), name="static")],
        middleware=[Middleware(SecurityHeaders, secure=services.settings.public_url.startswith("https://")),
                    Middleware(SessionMiddleware, store=services.sessions)],
        exception_handlers={HTTPException: _error, SignInRequired: _error})
    app.state.services = services
    return app
