"""Salesforce's words for its data: field and picklist labels, and the org's currency.

- An sObject describe (``GET sobjects/{sObject}/describe``) lists each visible field with ``name``,
  ``label``, ``type`` (``currency`` for amounts) and ``picklistValues``:
  ``[{active, defaultValue, label, validFor, value}]`` (Salesforce REST API, DescribeSObjectResult
  and its Field and PicklistEntry types). The connector already reads these describes, once each.
- The org's currency is ``Organization.DefaultCurrencyIsoCode``
  (``SELECT DefaultCurrencyIsoCode, TimeZoneSidKey FROM Organization``); an org with multiple
  currencies also has its corporate currency as ``CurrencyType`` with ``IsCorporate = true``
  (Salesforce object reference: Organization, CurrencyType).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.base import FieldDefinition, PortalDetails
from connectors.errors import FatalError
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.fields import Schema

ORGANIZATION = "SELECT DefaultCurrencyIsoCode, TimeZoneSidKey FROM Organization LIMIT 1"
CORPORATE_CURRENCY = "SELECT IsoCode FROM CurrencyType WHERE IsCorporate = true LIMIT 1"


def field_definitions(schema: Schema, sobject: str, names: Sequence[str]) -> list[FieldDefinition]:
    """Labels of the named fields of ``sobject`` the integration user can see, with picklist labels."""
    described = schema.fields(sobject)
    lowered = {name.lower(): entry for name, entry in described.items()}
    found = []
    for name in dict.fromkeys(names):
        entry = lowered.get(name.lower())
        if entry is None:
            continue
        options = {str(p["value"]): str(p.get("label") or p["value"])
                   for p in entry.get("picklistValues") or [] if p.get("value") is not None}
        found.append(FieldDefinition(str(entry["name"]), str(entry.get("label") or entry["name"]), options,
                                     entry.get("type") == "currency"))
    return found


def _first(client: SalesforceClient, soql: str) -> dict[str, Any]:
    result = client.call("GET query", lambda sf: sf.query(soql))
    records = (result or {}).get("records") or []
    return dict(records[0]) if records else {}


def portal_details(client: SalesforceClient) -> PortalDetails:
    """The org's default (or corporate) currency and its time zone."""
    try:
        org = _first(client, ORGANIZATION)
    except FatalError:
        org = {}
    currency = org.get("DefaultCurrencyIsoCode")
    if not currency:
        try:
            currency = _first(client, CORPORATE_CURRENCY).get("IsoCode")
        except FatalError:
            currency = None
    zone = org.get("TimeZoneSidKey")
    return PortalDetails(str(currency) if currency else None, str(zone) if zone else None)
