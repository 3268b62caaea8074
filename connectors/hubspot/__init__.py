"""HubSpot connector, built on hubspot-api-client."""

from connectors.hubspot.connector import HubSpotConnector, HubSpotSettings

__all__ = ["HubSpotConnector", "HubSpotSettings"]
