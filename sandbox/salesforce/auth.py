"""Logins and sessions: the OAuth 2.0 token endpoint (client credentials, JWT bearer) and SOAP login().

Each login issues a fresh session id. Tests can expire every session (the next API call answers
401 ``INVALID_SESSION_ID``, as after a session timeout) or make every session fail (a persistent
401). SOAP ``login()`` is refused from API v65.0 on, as Salesforce announced.
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html import escape, unescape
from typing import Any

import jwt

from sandbox.server import Request, Response

__all__ = ["Credentials", "Sessions", "LoginEndpoints", "SOAP_LOGIN_LAST_VERSION"]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SOAP_LOGIN_LAST_VERSION = 64.0


@dataclass
class Credentials:
    """What the org accepts: a connected app (id, secret, certificate) and the integration user's login."""

    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"
    username: str = "icp-integration@sandbox.invalid"
    password: str = "sandbox-password"
    security_token: str = "SANDBOXTOKEN"
    jwt_public_keys: list[bytes] = field(default_factory=list)


class Sessions:
    """Issued session ids; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: set[str] = set()
        self.rejecting = False
        self.logins = 0
        self._countdown: int | None = None

    def issue(self) -> str:
        """A new session id."""
        token = "00DSb0000000001!" + secrets.token_urlsafe(48)
        with self._lock:
            self._live.add(token)
            self.logins += 1
        return token

    def valid(self, token: str) -> bool:
        """Whether the session id was issued and has not expired (counting down to a planned expiry)."""
        with self._lock:
            if self.rejecting or token not in self._live:
                return False
            if self._countdown is not None:
                self._countdown -= 1
                if self._countdown < 0:
                    self._live.clear()
                    self._countdown = None
                    return False
            return True

    def expire_after(self, calls: int) -> None:
        """Let ``calls`` more authenticated calls through, then end every session once."""
        with self._lock:
            self._countdown = calls

    def expire_all(self) -> None:
        """End every session (the next call with any of them answers 401)."""
        with self._lock:
            self._live.clear()


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response(status, {"error": error, "error_description": description})


class LoginEndpoints:
    """Handlers of ``/services/oauth2/token``, ``/services/oauth2/userinfo`` and ``/services/Soap/u/{version}``."""

    def __init__(self, credentials: Credentials, sessions: Sessions, base_url: Callable[[], str], org_id: str,
                 user_id: str) -> None:
        self.credentials, self.sessions, self.base_url = credentials, sessions, base_url
        self.org_id, self.user_id = org_id, user_id

    def _granted(self) -> Response:
        base = self.base_url()
        return Response(200, {"access_token": self.sessions.issue(), "instance_url": base,
                              "id": f"{base}/id/{self.org_id}/{self.user_id}", "token_type": "Bearer",
                              "issued_at": str(int(time.time() * 1000)), "scope": "api",
                              "signature": secrets.token_urlsafe(32)})

    def token(self, request: Request) -> Response:
        """The OAuth 2.0 token endpoint."""
        form: Mapping[str, Any] = request.body if isinstance(request.body, dict) else {}
        grant = form.get("grant_type")
        if grant == "client_credentials":
            return self._client_credentials(request, form)
        if grant == JWT_GRANT:
            return self._jwt_bearer(str(form.get("assertion", "")))
        return _oauth_error(400, "unsupported_grant_type", "grant type not supported")

    def _client_credentials(self, request: Request, form: Mapping[str, Any]) -> Response:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
            except ValueError:
                return _oauth_error(400, "invalid_client", "invalid client credentials")
        if client_id != self.credentials.client_id or secret != self.credentials.client_secret:
            return _oauth_error(400, "invalid_client", "invalid client credentials")
        return self._granted()

    def _jwt_bearer(self, assertion: str) -> Response:
        claims: dict[str, Any] | None = None
        for key in self.credentials.jwt_public_keys:
            try:
                claims = jwt.decode(assertion, key, algorithms=["RS256"], options={"verify_aud": False})
                break
            except jwt.ExpiredSignatureError:
                return _oauth_error(400, "invalid_grant", "expired authorization code")
            except jwt.InvalidTokenError:
                continue
        if claims is None:
            return _oauth_error(400, "invalid_grant", "invalid assertion")
        if claims.get("iss") != self.credentials.client_id:
            return _oauth_error(400, "invalid_client_id", "client identifier invalid")
        if claims.get("sub") != self.credentials.username:
            return _oauth_error(400, "invalid_grant", "user hasn't approved this consumer")
        if not str(claims.get("aud", "")).startswith("https://"):
            return _oauth_error(400, "invalid_grant", "audience is invalid")
        return self._granted()

    def userinfo(self, request: Request) -> Response:
        """The running user's identity, with the OpenID Connect claims Salesforce's UserInfo endpoint answers
        (``sub`` is the identity URL; help.salesforce.com "Query for User Information")."""
        username = self.credentials.username
        return Response(200, {
            "sub": f"{self.base_url()}/id/{self.org_id}/{self.user_id}", "user_id": self.user_id,
            "organization_id": self.org_id, "preferred_username": username, "nickname": username.split("@")[0],
            "name": "ICP Integration", "email": username, "email_verified": True, "given_name": "ICP",
            "family_name": "Integration", "zoneinfo": "America/Los_Angeles", "is_salesforce_integration_user": True,
            "active": True, "user_type": "STANDARD", "language": "en_US", "locale": "en_US", "utcOffset": -28800000})

    def soap_login(self, request: Request) -> Response:
        """SOAP ``login()``: a session for username + password + security token; refused from v65.0.

        The LoginResult carries ``metadataServerUrl``, ``passwordExpired``, ``sandbox``, ``serverUrl``,
        ``sessionId`` and ``userId`` (SOAP API Developer Guide, "LoginResult").
        """
        version = request.params.get("version", "")
        try:
            too_new = float(version) > SOAP_LOGIN_LAST_VERSION
        except ValueError:
            too_new = True
        if too_new:
            return _soap_fault("UNSUPPORTED_API_VERSION", f"SOAP API login() is not available in API version "
                                                          f"{version}; use OAuth 2.0")
        text = request.raw.decode("utf-8", "replace")
        username = _element(text, "username")
        password = _element(text, "password")
        expected = self.credentials.password + self.credentials.security_token
        if username != self.credentials.username or password != expected:
            return _soap_fault("INVALID_LOGIN", "INVALID_LOGIN: Invalid username, password, security token; or "
                                                "user locked out.")
        session = self.sessions.issue()
        server_url = f"{self.base_url()}/services/Soap/u/{version}/{self.org_id}"
        metadata_url = f"{self.base_url()}/services/Soap/m/{version}/{self.org_id}"
        body = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
                f'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com">'
                f"<soapenv:Body><loginResponse><result><metadataServerUrl>{escape(metadata_url)}</metadataServerUrl>"
                f"<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
                f"<serverUrl>{escape(server_url)}</serverUrl>"
                f"<sessionId>{escape(session)}</sessionId><userId>{self.user_id}</userId></result>"
                f"</loginResponse></soapenv:Body></soapenv:Envelope>")
        return Response(200, raw=body.encode(), headers={"Content-Type": "text/xml;charset=UTF-8"})


def _element(text: str, name: str) -> str | None:
    match = re.search(rf"<(?:\w+:)?{name}>(.*?)</(?:\w+:)?{name}>", text, re.DOTALL)
    return unescape(match.group(1)) if match else None


def _soap_fault(code: str, message: str) -> Response:
    body = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            f'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
            f"<faultcode>sf:{code}</faultcode><faultstring>{escape(message)}</faultstring><detail>"
            f"<sf:LoginFault><sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{escape(message)}"
            f"</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>")
    return Response(500, raw=body.encode(), headers={"Content-Type": "text/xml;charset=UTF-8"})
