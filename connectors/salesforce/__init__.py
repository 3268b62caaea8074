"""Salesforce connector, built on simple-salesforce with the connector's own session, login and retries."""

from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.settings import AUTH_MODES, AuthMode, Credentials, SalesforceSettings

__all__ = ["AUTH_MODES", "AuthMode", "Credentials", "SalesforceConnector", "SalesforceSettings"]
