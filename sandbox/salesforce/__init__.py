"""Salesforce personality of the sandbox CRM (REST, OAuth 2.0, SOAP login(), Bulk API 2.0, over TLS)."""

from sandbox.salesforce.app import SalesforceSandbox
from sandbox.salesforce.auth import Credentials
from sandbox.salesforce.org import salesforce_id

__all__ = ["SalesforceSandbox", "Credentials", "salesforce_id"]
