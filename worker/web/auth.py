"""Sign-in and sign-out: local accounts (argon2) and OpenID Connect (Authlib), both rate-limited and CSRF-checked.

OpenID Connect uses the authorization code flow with state and nonce (Authlib keeps both in the
server-side session) and takes the person's identity from the ID token's ``email`` claim; an
e-mail the provider marks unverified is refused. A successful sign-in always starts a new session.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.base_client.errors import OAuthError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from worker.logs import get_logger
from worker.web import csrf, sessions
from worker.web.access import safe_next, signed_in
from worker.web.accounts import AccountError, normalise_email
from worker.web.services import services

log = get_logger("worker.web.auth")
OIDC_CLIENT = "idp"


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def sign_in_page(request: Request, error: str | None = None, status: int = 200, email: str = "") -> Response:
    """The sign-in form (and the identity provider's button when one is configured)."""
    found = services(request)
    oidc = found.settings.web.oidc
    return found.render(request, "signin.html", {
        "error": error, "email": email, "next": safe_next(request.query_params.get("next")),
        "oidc_label": oidc.label if oidc and found.oauth else None}, status)


async def show_sign_in(request: Request) -> Response:
    """GET /signin."""
    if signed_in(request):
        return RedirectResponse(safe_next(request.query_params.get("next")), 303)
    return sign_in_page(request)


async def submit_sign_in(request: Request) -> Response:
    """POST /signin: check the CSRF token, the rate limit, then the password."""
    found = services(request)
    form = await csrf.checked_form(request)
    raw_email, password = str(form.get("email") or ""), str(form.get("password") or "")
    try:
        email = normalise_email(raw_email)
    except AccountError:
        return sign_in_page(request, "Enter the e-mail address of your account.", 400, raw_email)
    address = _address(request)
    lockout = found.limiter.locked(email, address)
    if lockout is not None:
        log.warning("web.signin_locked", email=email, address=address)
        minutes = lockout.minutes_left(found.clock())
        return sign_in_page(request, f"Too many failed sign-ins. Try again in {minutes} minute(s).", 429, email)
    ok = found.accounts.verify(email, password)
    found.limiter.record(email, address, ok)
    if not ok:
        log.info("web.signin_failed", email=email, address=address)
        return sign_in_page(request, "Wrong e-mail or password.", 401, email)
    log.info("web.signin", email=email, method="password")
    sessions.begin(request, email, "password")
    return RedirectResponse(safe_next(str(form.get("next") or "/")), 303)


async def sign_out(request: Request) -> Response:
    """POST /signout."""
    await csrf.checked_form(request)
    sessions.end(request)
    return RedirectResponse("/signin", 303)


async def oidc_start(request: Request) -> Response:
    """GET /auth/oidc: send the browser to the identity provider."""
    found = services(request)
    if found.oauth is None:
        return sign_in_page(request, "Sign-in with an identity provider is not configured.", 404)
    request.session["next"] = safe_next(request.query_params.get("next"))
    client: Any = found.oauth.create_client(OIDC_CLIENT)
    redirect: Response = await client.authorize_redirect(request, f"{found.settings.public_url}/auth/oidc/callback")
    return redirect


async def oidc_callback(request: Request) -> Response:
    """GET /auth/oidc/callback: check state and ID token, then sign the person in by their verified e-mail."""
    found = services(request)
    if found.oauth is None:
        return sign_in_page(request, "Sign-in with an identity provider is not configured.", 404)
    client: Any = found.oauth.create_client(OIDC_CLIENT)
    address = _address(request)
    try:
        token = await client.authorize_access_token(request)
    except OAuthError as exc:
        log.warning("web.oidc_failed", error=exc.error, address=address)
        return sign_in_page(request, f"The identity provider's answer was refused ({exc.error}). Try again.", 401)
    claims = token.get("userinfo") or {}
    try:
        email = normalise_email(str(claims.get("email") or ""))
    except AccountError:
        return sign_in_page(request, "The identity provider gave no e-mail address for you.", 401)
    if claims.get("email_verified") is False:
        return sign_in_page(request, f"The identity provider has not verified {email}.", 401)
    found.limiter.record(email, address, True)
    next_path = safe_next(request.session.get("next"))
    log.info("web.signin", email=email, method="oidc")
    sessions.begin(request, email, "oidc")
    return RedirectResponse(next_path, 303)


ROUTES = [
    Route("/signin", show_sign_in, methods=["GET"]),
    Route("/signin", submit_sign_in, methods=["POST"]),
    Route("/signout", sign_out, methods=["POST"]),
    Route("/auth/oidc", oidc_start, methods=["GET"]),
    Route("/auth/oidc/callback", oidc_callback, methods=["GET"]),
]
