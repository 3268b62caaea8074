"""HubSpot personality of the sandbox CRM."""

from sandbox.hubspot.app import DEFAULT_SEARCH_RESULT_CAP, HubSpotSandbox
from sandbox.hubspot.loader import ID_BASES, OWNER_ID_BASE, hubspot_owner_id
from sandbox.hubspot.portal import ValidationFailed
from sandbox.hubspot.store import ObjectStore

__all__ = [
    "HubSpotSandbox",
    "DEFAULT_SEARCH_RESULT_CAP",
    "ID_BASES",
    "OWNER_ID_BASE",
    "hubspot_owner_id",
    "ObjectStore",
    "ValidationFailed",
]
