"""Logins in every auth mode, the single re-login on an expired session, and clean failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Engine

from connectors.base import PullRequest
from connectors.errors import AuthenticationError, FatalError
from connectors.salesforce import Credentials, SalesforceConnector
from tests.contract.harness import WORLD_NOW, SalesforceHarness, make_context, salesforce_settings
from tests.salesforce.conftest import DEPLOY, LIMITS, TOKEN
from worker.context import Context
from worker.operate.cycle import run_cycle
from worker.settings import ConfigError, ConnectionConfig, load_settings


def _connector(sf: SalesforceHarness, credentials: Credentials, **overrides: object) -> SalesforceConnector:
    return SalesforceConnector(salesforce_settings(sf.server, credentials=credentials, **overrides))


def _check(connector: SalesforceConnector) -> bool:
    """Whether the connector can read the org: the limits, the schema check and the users."""
    try:
        connector.check_fields([])
        owners = [r for page in connector.pull(PullRequest("owners", [], until=WORLD_NOW)) for r in page.records]
        return len(owners) > 1
    finally:
        connector.close()


def test_client_credentials_log_in_once_over_tls(sf: SalesforceHarness) -> None:
    """The OAuth client credentials flow logs in once and every later call reuses the session."""
    for _ in range(3):
        sf.connector.check_fields([])
    assert sf.server.calls[TOKEN] == 1 and sf.server.sessions.logins == 1
    assert sf.server.calls[LIMITS] == 3


def test_a_login_answered_with_a_503_is_retried(sf: SalesforceHarness) -> None:
    """The token endpoint failing once with a 5xx is retried, then the session is used."""
    sf.server.faults.add(TOKEN, 503)
    assert _check(sf.connector)
    assert sf.server.calls[TOKEN] == 2 and sf.server.sessions.logins == 1


def test_jwt_bearer_signs_with_the_private_key(sf: SalesforceHarness) -> None:
    """The JWT bearer flow signs an assertion the org verifies with the connected app's certificate."""
    key = sf.server.enable_jwt()
    credentials = Credentials("jwt_bearer", client_id=sf.server.credentials.client_id,
                              username=sf.server.credentials.username, private_key_file=str(key))
    assert _check(_connector(sf, credentials))
    assert sf.server.calls[TOKEN] == 1


def test_jwt_with_a_key_the_org_does_not_know_fails_clearly(sf: SalesforceHarness, tmp_path: Path) -> None:
    """An assertion signed with another key is refused with the reason and what to check."""
    sf.server.enable_jwt()
    other = tmp_path / "other.pem"
    other.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    credentials = Credentials("jwt_bearer", client_id=sf.server.credentials.client_id,
                              username=sf.server.credentials.username, private_key_file=str(other))
    with pytest.raises(AuthenticationError, match=r"jwt_bearer.*invalid_grant.*certificate"):
        _check(_connector(sf, credentials))


def test_legacy_password_login_goes_through_soap(sf: SalesforceHarness) -> None:
    """Username, password and security token log in through SOAP login() on API versions that still have it."""
    c = sf.server.credentials
    credentials = Credentials("password", username=c.username, password=c.password, security_token=c.security_token)
    assert _check(_connector(sf, credentials, api_version="62.0"))
    assert sf.server.calls["POST /services/Soap/u/{version}"] == 1


def test_wrong_security_token_fails_with_the_login_fault(sf: SalesforceHarness) -> None:
    """A rejected SOAP login names the fault code and what to check."""
    c = sf.server.credentials
    credentials = Credentials("password", username=c.username, password=c.password, security_token="WRONG")
    with pytest.raises(AuthenticationError, match=r"password.*INVALID_LOGIN.*security token"):
        _check(_connector(sf, credentials))


def test_password_login_is_refused_from_api_v65(sf: SalesforceHarness) -> None:
    """SOAP login() is gone from API v65.0: the connector says so before making any call."""
    c = sf.server.credentials
    credentials = Credentials("password", username=c.username, password=c.password, security_token=c.security_token)
    with pytest.raises(AuthenticationError, match="v65.0"):
        _connector(sf, credentials, api_version="65.0")
    assert sum(sf.server.calls.values()) == 0


def test_wrong_client_secret_fails_clearly(sf: SalesforceHarness) -> None:
    """A refused client credentials login is an authentication error naming the OAuth error."""
    credentials = Credentials("client_credentials", client_id=sf.server.credentials.client_id, client_secret="nope")
    with pytest.raises(AuthenticationError, match=r"client_credentials.*invalid_client"):
        _check(_connector(sf, credentials))


def test_untrusted_certificate_is_fatal_not_ignored(sf: SalesforceHarness) -> None:
    """Without the sandbox CA the TLS handshake fails and the error says to set ca_bundle."""
    with pytest.raises(FatalError, match="ca_bundle") as raised:
        _check(_connector(sf, sf.connector.settings.credentials, ca_bundle=None))
    assert not isinstance(raised.value, AuthenticationError) and sf.server.calls[TOKEN] == 0


def test_existing_session_id_works_without_logging_in(sf: SalesforceHarness) -> None:
    """A session id and instance URL are used as given; no login call is made."""
    credentials = Credentials("session_id", session_id=sf.server.issue_session())
    assert _check(_connector(sf, credentials, instance_url=sf.server.url))
    assert sf.server.calls[TOKEN] == 0


def test_an_expired_session_id_cannot_be_renewed(sf: SalesforceHarness) -> None:
    """With only a session id, expiry fails the call and says how to get a renewable login."""
    credentials = Credentials("session_id", session_id=sf.server.issue_session())
    connector = _connector(sf, credentials, instance_url=sf.server.url)
    sf.server.expire_sessions()
    with pytest.raises(AuthenticationError, match="cannot be renewed"):
        _check(connector)


def test_session_expiry_mid_run_logs_in_once_more_and_continues(ctx: Context, sf: SalesforceHarness) -> None:
    """Sessions end in the middle of a cycle: one new login, the failed call repeated, the run completes."""
    sf.server.expire_sessions_after(6)
    summary = run_cycle(ctx, sf.connector)
    assert summary.status == "ok", summary.message
    assert summary.pulled["accounts"] == 250 and summary.pulled["deals"] == len(sf.deal_ids())
    assert sf.server.calls[TOKEN] == 2 and summary.api_calls["POST oauth2/token"] == 2


def test_persistent_401_fails_the_run_cleanly_without_recursion(ctx: Context, sf: SalesforceHarness) -> None:
    """Every session refused: exactly one re-login, then the run fails with a clear message."""
    sf.server.reject_sessions()
    summary = run_cycle(ctx, sf.connector)
    assert summary.status == "failed" and "rejected a fresh session" in (summary.message or "")
    assert sf.server.calls[TOKEN] == 2 and sf.server.calls[LIMITS] == 2


def test_context_reads_credentials_from_a_secrets_file(engine: Engine, sf: SalesforceHarness, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`crm = "salesforce"` builds the connector from the options; secrets come from the file or the env."""
    sf.server.deploy(DEPLOY)
    secrets = tmp_path / "salesforce.env"
    secrets.write_text(f"SALESFORCE_CLIENT_ID={sf.server.credentials.client_id}\n")
    monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", sf.server.credentials.client_secret)
    options = {"login_url": sf.server.url, "ca_bundle": str(sf.server.ca_path), "secrets_file": str(secrets)}
    settings = load_settings(overrides={}).model_copy(update={"connections": {
        "main": ConnectionConfig(crm="salesforce", salesforce=options)}})  # type: ignore[arg-type]
    context = Context.open(settings, "main", engine)
    connector = context.connector()
    try:
        assert connector.check_fields(context.mapping.owned.specs() if context.mapping.owned else []).ok
    finally:
        connector.close()
    monkeypatch.delenv("SALESFORCE_CLIENT_SECRET")
    with pytest.raises(ConfigError, match="SALESFORCE_CLIENT_SECRET"):
        make_context(engine, "salesforce").connector()
