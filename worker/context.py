"""Everything one connection's work needs: settings, store, mapping, versions and a connector factory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from sqlalchemy import Engine

from connectors.base import Connector
from connectors.hubspot import HubSpotConnector, HubSpotSettings
from connectors.salesforce import Credentials, SalesforceConnector, SalesforceSettings
from worker.ingest.mapping import FieldMapping, load_mapping
from worker.logs import REDACTOR, get_logger
from worker.score.signoff import SignOffPolicy
from worker.score.versions import Recorder, Versions
from worker.settings import ConfigError, ConnectionConfig, Settings, read_named_secret, read_secret
from worker.store import make_engine, migrate

log = get_logger("worker.context")


@dataclass
class Context:
    """One CRM connection, resolved from settings."""

    settings: Settings
    name: str
    config: ConnectionConfig
    engine: Engine

    @classmethod
    def open(cls, settings: Settings, connection: str | None = None, engine: Engine | None = None) -> Context:
        """Resolve a connection and bring its store's schema up to date."""
        name, config = settings.connection(connection)
        engine = engine or make_engine(settings.database_url)
        migrate(engine)
        return cls(settings, name, config, engine)

    @cached_property
    def mapping(self) -> FieldMapping:
        """The connection's field mapping (validated)."""
        mapping = load_mapping(self.settings.mapping_path(self.config))
        if mapping.owned is None:
            raise ConfigError(f"{self.settings.mapping_path(self.config)}: owned: the fields the worker writes "
                              "must be named")
        if self.config.writeback.mirror_native_tier and mapping.native_tier is None:
            raise ConfigError(f"connections.{self.name}.writeback.mirror_native_tier: the mapping "
                              f"{self.settings.mapping_path(self.config)} has no native_tier section")
        return mapping

    @cached_property
    def policy(self) -> SignOffPolicy:
        """Who may read, approve and reject, and whose sign-off a version needs."""
        review = self.config.review
        return SignOffPolicy.of(self.config.approvers, review.roles, review.required_roles, self.config.viewers)

    @cached_property
    def versions(self) -> Versions:
        """The connection's scorecard versions, with the recorders of their side effects."""
        return Versions(self.engine, self.name, self.policy, recorders=self.version_recorders())

    def version_recorders(self) -> list[Recorder]:
        """What every version transition records in its own transaction, beside the transition.

        This is where CRM side effects of a proposal or a decision (review tasks to create or complete)
        are queued, so that a transition and the work it implies are committed together.
        """
        from worker.govern.leadership import LeadershipTasks, leadership_recorder

        config = LeadershipTasks(self.name, self.config.review, self.policy,
                                 lambda version: self.settings.proposal_url(self.name, version))
        return [leadership_recorder(config)]

    def connector(self) -> Connector:
        """A connector for this connection, with credentials from the environment or a secrets file."""
        if self.config.crm == "hubspot":
            options = self.config.hubspot
            token = read_secret(options.token_env, options.token_file)
            REDACTOR.register(token.get_secret_value())
            return HubSpotConnector(
                HubSpotSettings(access_token=token.get_secret_value(), base_url=self.settings.hubspot_base(self.config),
                                timeout=(5.0, options.timeout_seconds), per_10s=options.per_10s,
                                search_per_second=options.search_per_second),
                on_retry=lambda error, attempt, delay: log.warning(
                    "api.retry", endpoint=error.endpoint, status=error.status, attempt=attempt,
                    wait_seconds=round(delay, 2)))
        if self.config.crm == "salesforce":
            return self._salesforce()
        raise ConfigError(f"connections.{self.name}.crm: {self.config.crm!r} is not available in this build")

    def _salesforce(self) -> Connector:
        """The Salesforce connector, credentials from the environment or the secrets file."""
        options = self.config.salesforce
        names = {"client_id": options.client_id_env, "client_secret": options.client_secret_env,
                 "username": options.username_env, "private_key_file": options.private_key_file_env,
                 "password": options.password_env, "security_token": options.security_token_env,
                 "session_id": options.session_id_env}
        secrets = {key: read_named_secret(env, options.secrets_file) for key, env in names.items()}
        credentials = Credentials(options.auth, **secrets)
        if credentials.missing():
            wanted = ", ".join(names[m] for m in credentials.missing())
            raise ConfigError(f"connections.{self.name}.salesforce: auth {options.auth!r} needs {wanted}; export "
                              "them or put NAME=value lines in the secrets_file")
        for secret in credentials.secrets():
            REDACTOR.register(secret)
        settings = SalesforceSettings(
            credentials=credentials, login_url=options.resolved_login_url(),
            instance_url=options.instance_url or read_named_secret("SALESFORCE_INSTANCE_URL", options.secrets_file),
            api_version=options.api_version, jwt_audience=options.resolved_audience(),
            ca_bundle=str(options.ca_bundle) if options.ca_bundle else None,
            timeout=(options.connect_timeout_seconds, options.timeout_seconds),
            daily_reserve=options.daily_reserve, bulk_threshold=options.bulk_threshold,
            query_batch_size=options.query_batch_size, window=timedelta(days=options.window_days),
            lookback=timedelta(seconds=options.lookback_seconds), review_key_field=options.review_key_field,
            permission_set=options.permission_set)
        return SalesforceConnector(
            settings,
            on_retry=lambda error, attempt, delay: log.warning(
                "api.retry", endpoint=error.endpoint, status=error.status, attempt=attempt,
                wait_seconds=round(delay, 2)),
            on_event=lambda event, fields: log.info(event, **fields))
