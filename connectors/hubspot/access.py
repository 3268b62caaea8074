"""HubSpot access checks for ``icp doctor``: the token, its scopes, the owned and mapped properties, the clock.

Answers as HubSpot gives them:

- a wrong or revoked token: HTTP 401, category ``INVALID_AUTHENTICATION`` ("Authentication credentials
  not found...");
- a missing scope: HTTP 403, category ``MISSING_SCOPES``, the scopes the call needs in
  ``errors[].context.requiredGranularScopes`` (older answers: ``requiredScopes``). Body as quoted in
  HubSpot/hubspot-api-nodejs#268 and HubSpot's scopes guide (developers.hubspot.com/scopes);
- the private app's scopes: ``POST /oauth/v2/private-apps/get/access-token-info`` with ``{"tokenKey"}``
  answers ``{"userId", "hubId", "appId", "scopes": [...]}`` (developers.hubspot.com/docs/api/private-apps,
  cited in HubSpot/hubspot-api-php#171). When it does not answer, read probes alone show the missing
  read scopes, and write scopes are not checked in advance.

Every call is a read: nothing in the portal changes.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from connectors.base import AccessReport, AccessRequest, Finding

READ_SCOPES = {
    "crm.objects.companies.read": ("GET", "/crm/v3/objects/companies", {"limit": "1"}),
    "crm.objects.deals.read": ("GET", "/crm/v3/objects/deals", {"limit": "1"}),
    "crm.objects.owners.read": ("GET", "/crm/v3/owners/", {"limit": "1"}),
    "crm.schemas.companies.read": ("GET", "/crm/v3/properties/companies", {}),
}
"""The read scopes the worker needs, each with a cheap call that needs it."""
WRITE_SCOPES = ("crm.objects.companies.write",)
SETUP_SCOPES = ("crm.schemas.companies.write",)
TOKEN_INFO = "/oauth/v2/private-apps/get/access-token-info"
SCOPES_FIX = ("In HubSpot: Settings > Integrations > Private Apps > your app > Scopes, tick {scopes}, then Commit "
              "changes (the token stays the same).")


class HubSpotAccess:
    """Read-only checks of one portal with the worker's own token."""

    def __init__(self, base_url: str, token: str, timeout: tuple[float, float], calls: Counter[str]) -> None:
        self.base_url, self._token, self.timeout, self.calls = base_url.rstrip("/"), token, timeout, calls
        self.session = requests.Session()
        self.server_time: datetime | None = None
        self.local_time: datetime | None = None

    def _send(self, method: str, path: str, params: dict[str, str] | None = None,
              body: dict[str, Any] | None = None) -> requests.Response:
        self.calls[f"{method} {path}"] += 1
        response = self.session.request(method, self.base_url + path, params=params, json=body, timeout=self.timeout,
                                        headers={"Authorization": f"Bearer {self._token}"})
        self._clock(response)
        return response

    def _clock(self, response: requests.Response) -> None:
        try:
            stamp = parsedate_to_datetime(response.headers.get("Date", ""))
        except (TypeError, ValueError):
            return
        self.server_time, self.local_time = stamp.astimezone(UTC), datetime.now(UTC)

    def check(self, request: AccessRequest) -> AccessReport:
        """Every check, in the order that explains failures best (a bad token hides everything else)."""
        try:
            findings, properties = self._checks(request)
        except requests.RequestException as exc:
            findings = [Finding("connection", "fail", f"cannot reach {self.base_url}: {type(exc).__name__}",
                                "Check the network, proxy and base_url (HUBSPOT_BASE_URL).")]
            properties = []
        finally:
            self.session.close()
        return AccessReport(tuple(findings), self.server_time, self.local_time, _options(properties,
                                                                                         request.account_fields))

    def _checks(self, request: AccessRequest) -> tuple[list[Finding], list[dict[str, Any]]]:
        first = self._send("GET", "/crm/v3/owners/", {"limit": "1"})
        if first.status_code == 401:
            return [Finding("credentials", "fail", f"HubSpot rejected the token (HTTP 401 "
                            f"{_body(first).get('category', '')}): {_body(first).get('message', '')}"[:300],
                            f"Set {request.credential_source} to the access token of your private app (Settings > "
                            "Integrations > Private Apps > your app > Auth > Show token).")], []
        findings = [Finding("credentials", "ok", "HubSpot accepts the token")]
        granted = self._granted_scopes()
        findings += self._read_scopes(granted, first)
        properties = self._properties()
        findings += self._write_scopes(granted, request, properties)
        if properties is not None:
            findings += _owned(request, properties) + _mapped(request, properties)
        return findings, properties or []

    def _granted_scopes(self) -> set[str] | None:
        response = self._send("POST", TOKEN_INFO, body={"tokenKey": self._token})
        scopes = _body(response).get("scopes") if response.status_code == 200 else None
        return {str(s) for s in scopes} if isinstance(scopes, list) else None

    def _read_scopes(self, granted: set[str] | None, owners: requests.Response) -> list[Finding]:
        missing: list[str] = []
        for scope, (method, path, params) in READ_SCOPES.items():
            response = owners if path == "/crm/v3/owners/" else self._send(method, path, params)
            if response.status_code == 403:
                missing += _required_scopes(response) or [scope]
            elif granted is not None and scope not in granted:
                missing.append(scope)
        missing = list(dict.fromkeys(missing))
        if missing:
            return [Finding("scopes", "fail", f"the private app lacks the read scopes {', '.join(missing)}",
                            SCOPES_FIX.format(scopes=", ".join(missing)))]
        return [Finding("scopes", "ok", "the token can read companies, deals, owners and company properties")]

    def _write_scopes(self, granted: set[str] | None, request: AccessRequest,
                      properties: list[dict[str, Any]] | None) -> list[Finding]:
        if granted is None:
            return [Finding("scopes", "warn", "HubSpot did not list the token's scopes, so write access "
                            f"({', '.join(WRITE_SCOPES + SETUP_SCOPES)}) is checked only when the worker writes",
                            SCOPES_FIX.format(scopes=", ".join(WRITE_SCOPES + SETUP_SCOPES)))]
        findings = []
        missing = [s for s in WRITE_SCOPES if s not in granted]
        if missing:
            findings.append(Finding("scopes", "fail", f"the private app lacks {', '.join(missing)}: the worker "
                                    "cannot write scores", SCOPES_FIX.format(scopes=", ".join(missing))))
        existing = {p.get("name") for p in properties or []}
        needs_setup = any(f.name not in existing for f in request.owned)
        setup = [s for s in SETUP_SCOPES if s not in granted]
        if setup:
            why = ("`icp setup` cannot create the owned properties" if needs_setup
                   else "only needed by `icp setup`, and the owned properties exist")
            findings.append(Finding("scopes", "fail" if needs_setup else "warn",
                                    f"the private app lacks {', '.join(setup)}: {why}",
                                    SCOPES_FIX.format(scopes=", ".join(setup))))
        if not findings:
            findings.append(Finding("scopes", "ok", "the token can write company properties and create them"))
        return findings

    def _properties(self) -> list[dict[str, Any]] | None:
        response = self._send("GET", "/crm/v3/properties/companies")
        if response.status_code != 200:
            return None
        results = _body(response).get("results")
        return [p for p in results if isinstance(p, dict)] if isinstance(results, list) else None


def _body(response: requests.Response) -> dict[str, Any]:
    try:
        parsed = response.json()
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _required_scopes(response: requests.Response) -> list[str]:
    """The scopes a 403 ``MISSING_SCOPES`` answer names."""
    body = _body(response)
    found: list[str] = []
    for entry in [body, *(e for e in body.get("errors") or [] if isinstance(e, dict))]:
        context = entry.get("context") or {}
        for key in ("requiredGranularScopes", "requiredScopes"):
            found += [str(s) for s in context.get(key) or []]
    return list(dict.fromkeys(found))


def _owned(request: AccessRequest, properties: list[dict[str, Any]]) -> list[Finding]:
    by_name = {p.get("name"): p for p in properties}
    missing = [f.name for f in request.owned if f.name not in by_name]
    read_only = [f.name for f in request.owned if f.name in by_name
                 and (by_name[f.name].get("modificationMetadata") or {}).get("readOnlyValue")]
    findings = []
    if missing:
        findings.append(Finding("owned fields", "fail", f"company properties missing: {', '.join(missing)}",
                                "Run `icp setup` (needs crm.schemas.companies.write), or create them in Settings > "
                                "Properties > Companies."))
    if read_only:
        findings.append(Finding("owned fields", "fail", f"read-only company properties: {', '.join(read_only)}",
                                "Use properties the private app may write; change owned: in the mapping."))
    if not findings:
        findings.append(Finding("owned fields", "ok", f"all {len(request.owned)} owned company properties exist"))
    return findings


def _mapped(request: AccessRequest, properties: list[dict[str, Any]]) -> list[Finding]:
    names = {p.get("name") for p in properties}
    absent = [f for f in dict.fromkeys(request.account_fields) if f and f not in names]
    if not absent:
        return [Finding("mapped fields", "ok", "every company property the mapping reads exists")]
    return [Finding("mapped fields", "warn", f"the mapping reads company properties the portal does not have: "
                    f"{', '.join(absent)}; they read as empty",
                    "Map them to properties you have (accounts: in the mapping file), or remove them.")]


def _options(properties: list[dict[str, Any]], wanted: Any) -> dict[str, tuple[str, ...]]:
    names = set(wanted)
    return {str(p["name"]): tuple(str(o.get("value")) for o in p.get("options") or [] if isinstance(o, dict))
            for p in properties if p.get("name") in names and p.get("type") == "enumeration" and p.get("options")}
