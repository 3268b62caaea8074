"""Logging in: OAuth 2.0 client credentials and JWT bearer, legacy SOAP login(), or an existing session.

The connector logs in itself and hands simple-salesforce only a session id and instance URL, so
the library never takes its own (recursive) re-login path. A rejected login raises
:class:`~connectors.errors.AuthenticationError` saying which mode failed and why; a login that
failed on the network or with a 5xx is retriable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import jwt
import requests
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import SalesforceLogin

from connectors.errors import AuthenticationError, ConnectorError
from connectors.http import Failure, classify, network_failure
from connectors.salesforce.settings import SalesforceSettings

__all__ = ["Login", "login"]

TOKEN_PATH = "/services/oauth2/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_HINTS = {
    "client_credentials": "check the connected app's consumer key and secret, that the client credentials flow is "
                          "enabled with a run-as user, and that login_url is the org's My Domain URL",
    "jwt_bearer": "check the consumer key, that the certificate uploaded to the connected app matches the private "
                  "key, that the integration user is pre-authorized (admin-approved) for the app, and jwt_audience",
    "password": "check the username, password and security token (reset it after a password change), and the "
                "org's IP restrictions",
}


@dataclass(frozen=True)
class Login:
    """A session: its id and the instance URL to call."""

    session_id: str
    instance_url: str


def _failed(mode: str, endpoint: str, status: int, code: str | None, message: str) -> ConnectorError:
    """A login failure: retriable on the network or a 5xx, otherwise an authentication error with a hint."""
    if status == 0 or status >= 500:
        return classify(Failure(endpoint, status, message, code))
    text = f"Salesforce login ({mode}) failed: {code or status}: {message or 'no reason given'}"
    return AuthenticationError(f"{text}. {_HINTS.get(mode, '')}".rstrip(". ") + ".", endpoint=endpoint,
                               status=status)


def _token(session: requests.Session, settings: SalesforceSettings, data: dict[str, str],
           auth: tuple[str, str] | None = None) -> Login:
    mode = settings.credentials.mode
    endpoint = f"POST {TOKEN_PATH}"
    try:
        response = session.post(settings.login_url.rstrip("/") + TOKEN_PATH, data=data, auth=auth)
    except requests.RequestException as exc:
        raise classify(network_failure(endpoint, exc, settings.login_url)) from None
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    body = parsed if isinstance(parsed, dict) else {}
    if response.status_code != 200 or not body.get("access_token") or not body.get("instance_url"):
        raise _failed(mode, endpoint, response.status_code, body.get("error"),
                      str(body.get("error_description") or response.reason or "")[:300])
    instance = str(body["instance_url"]).rstrip("/")
    if not instance.lower().startswith("https://"):
        raise AuthenticationError(f"Salesforce login answered with instance_url {instance!r}, which is not https://; "
                                  "refusing to send the session over plain http", endpoint=endpoint, status=200)
    return Login(str(body["access_token"]), instance)


def _assertion(settings: SalesforceSettings) -> str:
    credentials = settings.credentials
    try:
        key = Path(str(credentials.private_key_file)).read_bytes()
    except OSError as exc:
        raise AuthenticationError(f"Salesforce JWT login: cannot read the private key file: {exc.strerror}") from None
    claims = {"iss": credentials.client_id, "sub": credentials.username, "aud": settings.jwt_audience,
              "exp": int(time.time()) + 180}
    try:
        return jwt.encode(claims, key, algorithm="RS256")
    except (ValueError, TypeError) as exc:
        raise AuthenticationError(f"Salesforce JWT login: the private key cannot sign RS256: {exc}") from None


def _soap(session: requests.Session, settings: SalesforceSettings) -> Login:
    credentials = settings.credentials
    try:
        session_id, instance = SalesforceLogin(
            username=credentials.username, password=credentials.password,
            security_token=credentials.security_token, sf_version=settings.api_version, session=session,
            scratch_url=settings.login_url.rstrip("/"))
    except SalesforceAuthenticationFailed as exc:
        status = 500 if str(exc.code).isdigit() and int(str(exc.code)) >= 500 else 401
        raise _failed("password", "POST Soap/u/login", status, str(exc.code), exc.auth_message[:300]) from None
    except requests.RequestException as exc:
        raise classify(network_failure("POST Soap/u/login", exc, settings.login_url)) from None
    return Login(session_id, f"https://{instance}")


def login(session: requests.Session, settings: SalesforceSettings) -> Login:
    """A new session in the configured auth mode (no network for ``session_id``)."""
    settings.validate()
    credentials = settings.credentials
    if credentials.mode == "session_id":
        return Login(str(credentials.session_id), str(settings.instance_url).rstrip("/"))
    if credentials.mode == "client_credentials":
        return _token(session, settings, {"grant_type": "client_credentials"},
                      auth=(str(credentials.client_id), str(credentials.client_secret)))
    if credentials.mode == "jwt_bearer":
        return _token(session, settings, {"grant_type": JWT_GRANT, "assertion": _assertion(settings)})
    return _soap(session, settings)
