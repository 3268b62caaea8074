"""Everything one connection's work needs: settings, store, mapping, versions and a connector factory."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine

from connectors.base import Connector
from connectors.hubspot import HubSpotConnector, HubSpotSettings
from worker.logs import REDACTOR, get_logger
from worker.mapping import FieldMapping, load_mapping
from worker.settings import ConfigError, ConnectionConfig, Settings, read_secret
from worker.store import make_engine, migrate
from worker.versions import Versions

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
    def versions(self) -> Versions:
        """The connection's scorecard versions."""
        return Versions(self.engine, self.name, self.config.approvers)

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
        raise ConfigError(f"connections.{self.name}.crm: {self.config.crm!r} is not available in this build")
