"""Connection settings and credentials of one Salesforce org.

Credentials come from the environment or a secrets file (see ``worker.settings``), never from
code or the config file, and are masked in every ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from connectors.errors import AuthenticationError, FatalError
from connectors.http import RetryPolicy

AuthMode = Literal["client_credentials", "jwt_bearer", "password", "session_id"]
AUTH_MODES: tuple[AuthMode, ...] = ("client_credentials", "jwt_bearer", "password", "session_id")
SOAP_LOGIN_LAST_VERSION = 64.0
_NEEDS: dict[str, tuple[str, ...]] = {
    "client_credentials": ("client_id", "client_secret"),
    "jwt_bearer": ("client_id", "username", "private_key_file"),
    "password": ("username", "password", "security_token"),
    "session_id": ("session_id",),
}


@dataclass(frozen=True)
class Credentials:
    """The secrets of one auth mode; only the ones the mode needs are set.

    - ``client_credentials``: a connected app's client id and secret (the app's run-as user works);
    - ``jwt_bearer``: the connected app's client id, the integration username and its private key file;
    - ``password``: username, password and security token, through SOAP ``login()`` (legacy: not
      available from API v65.0, retiring in Summer '27);
    - ``session_id``: an existing session id (tests, short jobs); it cannot be renewed.
    """

    mode: AuthMode
    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    username: str | None = field(default=None, repr=False)
    private_key_file: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    session_id: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"Credentials(mode={self.mode!r}, secrets='***')"

    @property
    def can_login(self) -> bool:
        """Whether a new session can be had when one expires (every mode but ``session_id``)."""
        return self.mode != "session_id"

    def missing(self) -> list[str]:
        """The pieces this mode needs that are not set."""
        return [name for name in _NEEDS[self.mode] if not getattr(self, name)]

    def secrets(self) -> list[str]:
        """Every secret value set (for log redaction)."""
        return [v for v in (self.client_secret, self.password, self.security_token, self.session_id) if v]


@dataclass(frozen=True)
class SalesforceSettings:
    """How to reach and use one org.

    ``login_url`` is where logins go: the My Domain URL (``https://acme.my.salesforce.com``) for
    client credentials, ``https://login.salesforce.com`` or ``https://test.salesforce.com`` for
    JWT and password logins. ``instance_url`` is needed only with an existing session id.
    """

    credentials: Credentials
    login_url: str = "https://login.salesforce.com"
    instance_url: str | None = None
    api_version: str = "62.0"
    jwt_audience: str = "https://login.salesforce.com"
    ca_bundle: str | None = None
    timeout: tuple[float, float] = (5.0, 60.0)
    daily_reserve: int = 1000
    bulk_threshold: int = 2000
    bulk_poll_seconds: int = 2
    query_batch_size: int = 2000
    window: timedelta = timedelta(days=30)
    lookback: timedelta = timedelta(minutes=10)
    review_key_field: str = "ICP_Review_Key__c"
    permission_set: str = "ICP_Worker"
    retry: RetryPolicy = RetryPolicy()

    def validate(self) -> None:
        """Refuse settings that cannot work, naming what to fix."""
        missing = self.credentials.missing()
        if missing:
            raise AuthenticationError(f"Salesforce auth mode {self.credentials.mode!r} needs "
                                      f"{', '.join(missing)}; none set (environment or secrets file)")
        if self.credentials.mode == "session_id" and not self.instance_url:
            raise AuthenticationError("Salesforce auth mode 'session_id' needs instance_url")
        if self.credentials.mode == "password" and float(self.api_version) > SOAP_LOGIN_LAST_VERSION:
            raise AuthenticationError(
                f"Salesforce username-password login uses SOAP login(), which is not available from API v65.0 "
                f"(api_version is {self.api_version}) and retires in Summer '27; use client_credentials or "
                "jwt_bearer")
        for name, url in (("login_url", self.login_url), ("instance_url", self.instance_url)):
            if url is not None and not url.strip().lower().startswith("https://"):
                raise FatalError(f"Salesforce {name} must be an https:// URL (credentials and sessions never travel "
                                 f"over plain http); it is {url!r}")
        if not 200 <= self.query_batch_size <= 2000:
            raise FatalError("query_batch_size must be between 200 and 2000")
