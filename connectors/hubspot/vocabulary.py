"""HubSpot's words for its data: property and option labels, and the portal's currency.

- ``GET /crm/v3/properties/{objectType}`` returns every property with ``name``, ``label``, ``type``,
  ``showCurrencySymbol`` and ``options`` (``[{label, value, hidden, displayOrder, description}]``)
  (HubSpot CRM properties API, "Retrieve all properties"; hubspot-api-client's ``ModelProperty`` and
  ``Option``). A ``bool`` property's options label ``true``/``false`` (e.g. "Yes"/"No").
- ``GET /account-info/v3/details`` returns ``{portalId, accountType, timeZone, companyCurrency,
  additionalCurrencies, utcOffset, utcOffsetMilliseconds, uiDomain, dataHostingLocation}`` (HubSpot
  account information API, "Retrieve account details"). hubspot-api-client has no class for it, so
  the call goes through a generated client's ``call_api`` (same pacing, timeout and error mapping).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.base import FieldDefinition, PortalDetails
from connectors.hubspot.client import HubSpotClient

ACCOUNT_DETAILS = "/account-info/v3/details"


def field_definitions(client: HubSpotClient, hubspot_object: str, names: Sequence[str]) -> list[FieldDefinition]:
    """Labels of the named properties of ``hubspot_object`` that exist, with their options' labels."""
    api = client.api("crm.properties.core_api")
    response = client.call(f"GET /crm/v3/properties/{hubspot_object}", api.get_all, hubspot_object)
    wanted = set(names)
    found = []
    for prop in response.results or []:
        if prop.name not in wanted:
            continue
        options = {str(o.value): str(o.label) for o in prop.options or [] if o.value is not None and o.label}
        found.append(FieldDefinition(prop.name, str(prop.label or prop.name), options,
                                     bool(getattr(prop, "show_currency_symbol", False))))
    return found


def portal_details(client: HubSpotClient) -> PortalDetails:
    """The portal's company currency and time zone."""
    api_client = client.api("crm.properties.core_api").api_client

    def fetch(**kwargs: Any) -> Any:
        return api_client.call_api(ACCOUNT_DETAILS, "GET", header_params={"Accept": "application/json"},
                                   response_types_map={200: "object"}, auth_settings=["oauth2"],
                                   _return_http_data_only=True, **kwargs)

    details = client.call(f"GET {ACCOUNT_DETAILS}", fetch) or {}
    currency = details.get("companyCurrency") if isinstance(details, dict) else None
    zone = details.get("timeZone") if isinstance(details, dict) else None
    return PortalDetails(str(currency) if currency else None, str(zone) if zone else None)
