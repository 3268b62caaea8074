"""Settings: environment variables plus a TOML config file, validated at start-up.

Environment (documented in the README): ``ICP_CONFIG`` (config file path),
``ICP_DATABASE_URL`` (default a SQLite file), ``ICP_PUBLIC_URL`` (where people reach the
review pages), ``HUBSPOT_ACCESS_TOKEN``,
``HUBSPOT_BASE_URL``, ``ICP_LOG_FORMAT`` (auto / json / console).
Credentials are read only from the environment or from a secrets file named in
the config; they are held as ``SecretStr`` and never logged or stored.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CONFIG = Path(__file__).resolve().parent / "_config"
"""The shipped defaults: example config, default mappings, starter scorecard (the repository's config/)."""
DEFAULT_DATABASE_URL = "sqlite:///icp-worker.db"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080"
"""Where people reach the review pages (behind a proxy: its https URL); links in CRM tasks start with it."""
_ROLE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
STARTER_SCORECARDS = {"hubspot": "starter-scorecard.yaml", "salesforce": "salesforce-starter-scorecard.yaml"}
"""The shipped starter scorecard of each CRM, written in that CRM's standard field values."""
_CONNECTION_PATHS = (("mapping",), ("starter_scorecard",), ("hubspot", "token_file"), ("salesforce", "secrets_file"),
                     ("salesforce", "ca_bundle"))


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key and what is expected."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HubSpotOptions(_Section):
    """HubSpot connection options. The token itself never lives in the config file."""

    base_url: str | None = None
    token_env: str = "HUBSPOT_ACCESS_TOKEN"
    token_file: Path | None = None
    per_10s: int = Field(default=90, ge=1, le=250)
    search_per_second: int = Field(default=4, ge=1, le=5)
    timeout_seconds: float = Field(default=60.0, gt=0, le=600)


class SalesforceOptions(_Section):
    """Salesforce connection options.

    Credentials never live in the config file: only the names of the environment variables (or the
    keys of a ``NAME=value`` secrets file) that hold them.
    """

    auth: Literal["client_credentials", "jwt_bearer", "password", "session_id"] = "client_credentials"
    domain: str = Field(default="login", pattern=r"^[A-Za-z0-9.-]+$",
                        description="My Domain prefix (acme.my), or login / test")
    login_url: str | None = Field(default=None, description="full login URL; wins over domain")
    instance_url: str | None = Field(default=None, description="only for auth = session_id")
    api_version: str = Field(default="62.0", pattern=r"^\d{2,3}\.0$")
    jwt_audience: str | None = None
    client_id_env: str = "SALESFORCE_CLIENT_ID"
    client_secret_env: str = "SALESFORCE_CLIENT_SECRET"
    username_env: str = "SALESFORCE_USERNAME"
    private_key_file_env: str = "SALESFORCE_PRIVATE_KEY_FILE"
    password_env: str = "SALESFORCE_PASSWORD"
    security_token_env: str = "SALESFORCE_SECURITY_TOKEN"
    session_id_env: str = "SALESFORCE_SESSION_ID"
    secrets_file: Path | None = None
    ca_bundle: Path | None = None
    connect_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    daily_reserve: int = Field(default=1000, ge=0)
    bulk_threshold: int = Field(default=2000, ge=1)
    query_batch_size: int = Field(default=2000, ge=200, le=2000)
    window_days: int = Field(default=30, ge=1, le=366)
    lookback_seconds: int = Field(default=600, ge=0, le=86_400)
    review_key_field: str = Field(default="ICP_Review_Key__c", pattern=r"^[A-Za-z][A-Za-z0-9_]*__c$")
    permission_set: str = Field(default="ICP_Worker", pattern=r"^[A-Za-z][A-Za-z0-9_]*$")

    def resolved_login_url(self) -> str:
        """Where logins go: ``login_url`` if set, else ``https://{domain}.salesforce.com``."""
        return (self.login_url or f"https://{self.domain}.salesforce.com").rstrip("/")

    def resolved_audience(self) -> str:
        """The JWT ``aud``: as configured, else test.salesforce.com for sandboxes, login.salesforce.com otherwise."""
        if self.jwt_audience:
            return self.jwt_audience
        return "https://test.salesforce.com" if self.domain == "test" else "https://login.salesforce.com"


class TierChangeRule(_Section):
    """When an account's tier change deserves an owner review task."""

    drop_tiers: int = Field(default=2, ge=1)
    leaving_top_tier: bool = True
    max_tasks_per_run: int = Field(default=200, ge=0)


class ReviewOptions(_Section):
    """Who reviews proposals, whose sign-off a version needs, and how owner tasks are raised.

    ``required_roles`` names the roles that must each have approved a version before it takes
    effect; ``roles`` lists, per role, the approvers holding it (the first is the role's reviewer).
    With no required roles one approval suffices. ``cli_approvals = false`` makes approval web-only.
    """

    leadership_owner: str | None = None
    due_days: int = Field(default=7, ge=0, le=90)
    cadence_days: int = Field(default=91, ge=1)
    tier_change: TierChangeRule = TierChangeRule()
    required_roles: list[str] = []
    roles: dict[str, list[str]] = {}
    cli_approvals: bool = True

    @field_validator("roles")
    @classmethod
    def _people_lowercase(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        cleaned = {}
        for role, people in value.items():
            if not _ROLE.match(role):
                raise ValueError(f"role {role!r}: use lower-case letters, digits, - and _")
            lowered = [p.strip().lower() for p in people]
            if not lowered or any(not p for p in lowered):
                raise ValueError(f"role {role!r}: name at least one approver, and no empty names")
            if len(set(lowered)) != len(lowered):
                raise ValueError(f"role {role!r}: an approver is listed twice")
            cleaned[role] = lowered
        return cleaned

    @model_validator(mode="after")
    def _required_roles_have_people(self) -> ReviewOptions:
        if len(set(self.required_roles)) != len(self.required_roles):
            raise ValueError("required_roles: a role is listed twice")
        missing = [r for r in self.required_roles if r not in self.roles]
        if missing:
            raise ValueError(f"required_roles: {', '.join(missing)} has no approvers; list them under "
                             f"review.roles (e.g. {missing[0]} = [\"someone@example.com\"])")
        return self


class WritebackOptions(_Section):
    """Write-back behaviour."""

    max_records_per_run: int = Field(default=0, ge=0, description="0 means no cap")
    mirror_native_tier: bool = False
    override_needs_reason: bool = True
    """A manual override without a reason is ignored (and the rep told why on the record)."""
    deal_fields: bool = True
    """Also write the account's score and tier on its open deals (when the mapping names ``owned_deals``)."""


class ScheduleOptions(_Section):
    """When the scheduled worker runs this connection."""

    cron: str = "0 2 * * *"
    timezone: str = "UTC"
    misfire_grace_seconds: int = Field(default=3600, ge=1)


class ConnectionConfig(_Section):
    """One CRM connection (a HubSpot portal or a Salesforce org) and everything that is its own."""

    crm: Literal["hubspot", "salesforce"] = "hubspot"
    mapping: Path | None = None
    starter_scorecard: Path | None = None
    approvers: list[str] = []
    viewers: list[str] = []
    hubspot: HubSpotOptions = HubSpotOptions()
    salesforce: SalesforceOptions = SalesforceOptions()
    review: ReviewOptions = ReviewOptions()
    writeback: WritebackOptions = WritebackOptions()
    schedule: ScheduleOptions = ScheduleOptions()
    refine: dict[str, Any] = {}
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$",
                                 description="ISO 4217 code amounts are shown in; default: the CRM's own setting")

    @field_validator("approvers", "viewers")
    @classmethod
    def _people_unique(cls, value: list[str]) -> list[str]:
        lowered = [v.strip().lower() for v in value]
        if len(set(lowered)) != len(lowered):
            raise ValueError("a person is listed twice")
        return lowered


def checked_public_url(value: str) -> str:
    """``value`` without a trailing slash, if it is an http(s) URL with a host and no query."""
    if not re.match(r"^https?://[^/?#\s]+(/[^?#\s]*)?$", value.strip()):
        raise ValueError(f"{value!r}: give the http(s) address people use to reach the review pages, "
                         "e.g. https://icp.example.com")
    return value.strip().rstrip("/")


class OidcOptions(_Section):
    """Sign-in through an OpenID Connect identity provider. The client secret never lives in the config file."""

    label: str = "your identity provider"
    server_metadata_url: str = Field(description="the provider's /.well-known/openid-configuration URL")
    client_id_env: str = "ICP_OIDC_CLIENT_ID"
    client_secret_env: str = "ICP_OIDC_CLIENT_SECRET"
    secrets_file: Path | None = None
    scope: str = "openid email profile"


class WebOptions(_Section):
    """The review pages (``icp serve``): sessions and sign-in."""

    session_hours: float = Field(default=12.0, gt=0, le=24 * 30, description="a session ends this long after sign-in")
    idle_minutes: float = Field(default=120.0, gt=0, description="...or after this long without a request")
    max_failed_logins: int = Field(default=5, ge=1, description="failed sign-ins per account or address...")
    lockout_minutes: float = Field(default=15.0, gt=0, description="...within this window lock sign-in")
    forwarded_allow_ips: str = Field(default="127.0.0.1", description="proxies whose X-Forwarded-* are trusted")
    oidc: OidcOptions | None = None


class FileConfig(_Section):
    """The TOML config file."""

    database_url: str | None = None
    log_format: Literal["auto", "json", "console"] | None = None
    public_url: str = DEFAULT_PUBLIC_URL
    web: WebOptions = WebOptions()
    connections: dict[str, ConnectionConfig] = {"default": ConnectionConfig()}

    @field_validator("public_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        return checked_public_url(value)

    @field_validator("connections")
    @classmethod
    def _named(cls, value: dict[str, ConnectionConfig]) -> dict[str, ConnectionConfig]:
        if not value:
            raise ValueError("at least one connection is needed")
        for name in value:
            if not name.replace("-", "").replace("_", "").isalnum() or len(name) > 64:
                raise ValueError(f"connection name {name!r}: use letters, digits, - and _ (at most 64)")
        return value


class Environment(BaseSettings):
    """Settings taken from the environment."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)
    icp_config: Path | None = None
    icp_database_url: str | None = None
    icp_log_format: Literal["auto", "json", "console"] | None = None
    icp_public_url: str | None = None
    hubspot_base_url: str | None = None


class Settings(BaseModel):
    """Everything the worker needs, resolved from environment and file."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    database_url: str
    log_format: Literal["auto", "json", "console"]
    connections: dict[str, ConnectionConfig]
    config_dir: Path
    hubspot_base_url: str | None = None
    public_url: str = DEFAULT_PUBLIC_URL
    web: WebOptions = WebOptions()

    def proposal_url(self, connection: str, version: int) -> str:
        """The review page of a version: ``{public_url}/connections/{connection}/versions/{version}``."""
        return f"{self.public_url.rstrip('/')}/connections/{connection}/versions/{version}"

    def connection(self, name: str | None) -> tuple[str, ConnectionConfig]:
        """The named connection, or the only one when no name is given."""
        if name is None:
            if len(self.connections) == 1:
                return next(iter(self.connections.items()))
            raise ConfigError(f"several connections are configured ({', '.join(self.connections)}); name one")
        if name not in self.connections:
            raise ConfigError(f"connections.{name}: no such connection (configured: {', '.join(self.connections)})")
        return name, self.connections[name]

    def resolve(self, path: Path | None, default: str) -> Path:
        """A path from the config (relative to the config file), or the repo's default file."""
        if path is None:
            return DEFAULT_CONFIG / default
        return path if path.is_absolute() else (self.config_dir / path)

    def mapping_path(self, connection: ConnectionConfig) -> Path:
        """The field mapping file of a connection."""
        return self.resolve(connection.mapping, f"{connection.crm}-mapping.yaml")

    def starter_path(self, connection: ConnectionConfig) -> Path:
        """The starter (hypothesis) scorecard of a connection: by default the one written in its CRM's values."""
        return self.resolve(connection.starter_scorecard, STARTER_SCORECARDS[connection.crm])

    def hubspot_base(self, connection: ConnectionConfig) -> str:
        """HubSpot's base URL: the environment wins, then the config, then the public API."""
        return self.hubspot_base_url or connection.hubspot.base_url or "https://api.hubapi.com"


def _problems(exc: ValidationError, source: str) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"])
        lines.append(f"{source}: {key}: {error['msg']}")
    return "; ".join(lines)


def load_settings(config_path: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Read the environment and the config file; raise :class:`ConfigError` naming any bad key."""
    try:
        env = Environment()
    except ValidationError as exc:
        raise ConfigError(_problems(exc, "environment")) from None
    path = config_path or env.icp_config
    document: dict[str, Any] = {}
    config_dir = Path(path).resolve().parent if path else Path.cwd()
    if path is not None:
        try:
            document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"ICP_CONFIG: cannot read {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        document = anchor_paths(document, config_dir)
    document.update(overrides or {})
    try:
        file = FileConfig.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(_problems(exc, str(path or "config"))) from None
    _check_files(file, str(path or "config"))
    return Settings(
        database_url=checked_database_url(env.icp_database_url or file.database_url or DEFAULT_DATABASE_URL,
                                          "ICP_DATABASE_URL" if env.icp_database_url else "database_url"),
        log_format=env.icp_log_format or file.log_format or "auto",
        connections=file.connections,
        config_dir=config_dir,
        hubspot_base_url=env.hubspot_base_url,
        public_url=_public_url(env.icp_public_url) or file.public_url,
        web=file.web,
    )


def checked_database_url(value: str, source: str = "database_url") -> str:
    """``value`` when it is a SQLite or PostgreSQL URL; else a ConfigError naming ``source`` (never the password)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    example = "sqlite:///icp-worker.db or postgresql://user@host/db"
    try:
        backend = make_url(value).get_backend_name()
    except (ArgumentError, ValueError):
        raise ConfigError(f"{source}: not a database URL; expected e.g. {example}") from None
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"{source}: the {backend!r} database is not supported; expected e.g. {example}")
    return value


def _public_url(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return checked_public_url(value)
    except ValueError as exc:
        raise ConfigError(f"environment: ICP_PUBLIC_URL: {exc}") from None


def anchor_paths(document: dict[str, Any], base: Path) -> dict[str, Any]:
    """The config document with its relative paths made relative to ``base`` (the config file's folder).

    Covers each connection's files (mapping, starter scorecard, token and secrets files, CA bundle), the
    sign-in secrets file and a SQLite ``database_url``, so a config works from any working directory.
    """
    anchored = dict(document)
    if isinstance(anchored.get("database_url"), str):
        anchored["database_url"] = anchor_sqlite_url(anchored["database_url"], base)
    web = anchored.get("web")
    if isinstance(web, dict) and isinstance(web.get("oidc"), dict):
        anchored["web"] = {**web, "oidc": _anchor_connection(web["oidc"], base, (("secrets_file",),))}
    connections = anchored.get("connections")
    if not isinstance(connections, dict):
        return anchored
    anchored["connections"] = {name: _anchor_connection(value, base) if isinstance(value, dict) else value
                               for name, value in connections.items()}
    return anchored


def _anchor_connection(connection: dict[str, Any], base: Path,
                       paths: tuple[tuple[str, ...], ...] = _CONNECTION_PATHS) -> dict[str, Any]:
    result = dict(connection)
    for keys in paths:
        holder = result
        for key in keys[:-1]:
            if not isinstance(holder.get(key), dict):
                break
            holder[key] = holder = dict(holder[key])
        else:
            value = holder.get(keys[-1])
            if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
                holder[keys[-1]] = str(base / value)
    return result


def anchor_sqlite_url(url: str, base: Path) -> str:
    """A SQLite URL whose relative file path is taken relative to ``base``; any other URL unchanged."""
    scheme, sep, rest = url.partition(":///")
    database, query_sep, query = rest.partition("?")
    is_file = bool(sep) and scheme.split("+")[0] == "sqlite" and database not in ("", ":memory:")
    if not is_file or database.startswith(("/", "file:")):
        return url
    return f"{scheme}:///{(base / database).as_posix()}{query_sep}{query}"


def _check_files(file: FileConfig, source: str) -> None:
    """Files named in the config must exist: the error names the key and where it was looked for."""
    for name, connection in file.connections.items():
        for key in ("mapping", "starter_scorecard"):
            value: Path | None = getattr(connection, key)
            if value is not None and not value.is_file():
                raise ConfigError(f"{source}: connections.{name}.{key}: {value} does not exist (relative paths are "
                                  "taken from the config file's folder)")


def read_secret(env_name: str, file: Path | None, environ: dict[str, str] | None = None) -> SecretStr:
    """A credential from a secrets file (first line) or an environment variable; never from code."""
    import os

    source = environ if environ is not None else os.environ
    if file is not None:
        try:
            value = file.read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, IndexError):
            raise ConfigError(f"token_file: cannot read a token from {file}") from None
        if value:
            return SecretStr(value)
    value = source.get(env_name, "").strip()
    if not value:
        raise ConfigError(f"{env_name}: no credential set; export it or name a token_file in the config")
    return SecretStr(value)


def read_named_secret(env_name: str, secrets_file: Path | None, environ: dict[str, str] | None = None) -> str | None:
    """A credential from a ``NAME=value`` secrets file, else from the environment; None when neither has it."""
    import os

    if secrets_file is not None:
        try:
            lines = secrets_file.read_text(encoding="utf-8").splitlines()
        except OSError:
            raise ConfigError(f"secrets_file: cannot read {secrets_file}") from None
        for line in lines:
            name, sep, value = line.partition("=")
            if sep and name.strip() == env_name and value.strip():
                return value.strip()
    value = (environ if environ is not None else os.environ).get(env_name, "").strip()
    return value or None
