"""Salesforce access checks for ``icp doctor``: login, permission set, field-level security, fields, limits, clock.

Answers as Salesforce gives them:

- a wrong client id or secret: the token endpoint answers HTTP 400 ``{"error": "invalid_client",
  "error_description": "invalid client credentials"}`` (OAuth 2.0 client credentials flow, Salesforce Help
  "OAuth 2.0 Client Credentials Flow for Server-to-Server Integration");
- a field the integration user may not see (not deployed, or hidden by field-level security) is absent from
  the sObject describe and from SOQL, exactly as if it did not exist; a field it may read but not edit has
  ``updateable: false`` (sObject Describe, REST API Developer Guide; fields created through the Metadata or
  Tooling API have no field-level security until a permission set grants it);
- which permission sets the user holds: ``PermissionSetAssignment`` rows, and what a permission set grants:
  ``FieldPermissions`` rows (Object Reference), both readable with View Setup and Configuration.

Every call is a read: nothing in the org changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

from simple_salesforce.format import format_soql

from connectors.base import AccessReport, AccessRequest, Finding
from connectors.errors import AuthenticationError, ConnectorError, QuotaExhaustedError
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.fields import Schema
from connectors.salesforce.settings import SalesforceSettings

DEPLOY = "sf project deploy start --source-dir deploy/salesforce/force-app --target-org <org alias>"
PICKLISTS = frozenset({"picklist", "multipicklist"})


class SalesforceAccess:
    """Read-only checks of one org as the integration user."""

    def __init__(self, client: SalesforceClient, schema: Schema, settings: SalesforceSettings) -> None:
        self.client, self.schema, self.settings = client, schema, settings
        self.permission_set = settings.permission_set

    def check(self, request: AccessRequest) -> AccessReport:
        """Every check, in the order that explains failures best."""
        findings: list[Finding] = []
        options: dict[str, tuple[str, ...]] = {}
        try:
            findings += self._checks(request, options)
        except AuthenticationError as exc:
            findings.append(Finding("credentials", "fail", str(exc), f"Check {request.credential_source}."))
        except QuotaExhaustedError as exc:
            findings.append(Finding("API limits", "fail", str(exc), "Wait for the rolling 24 hours to free requests, "
                                    "or lower daily_reserve."))
        except ConnectorError as exc:
            findings.append(Finding("connection", "fail", str(exc), "Check the network, login_url / domain and "
                                    "ca_bundle of the connection."))
        server, local = self._clock()
        return AccessReport(tuple(findings), server, local, options)

    def _clock(self) -> tuple[Any, Any]:
        seen = self.client.session.last_date
        if seen is None:
            return None, None
        try:
            return parsedate_to_datetime(seen[0]).astimezone(UTC), seen[1]
        except (TypeError, ValueError):
            return None, None

    def _checks(self, request: AccessRequest, options: dict[str, tuple[str, ...]]) -> list[Finding]:
        self.client.sf()
        identity = self.client.call("GET oauth2/userinfo", lambda sf: sf.oauth2("userinfo")) or {}
        username = str(identity.get("preferred_username") or identity.get("user_id") or "the integration user")
        findings = [Finding("credentials", "ok", f"logged in to Salesforce as {username} "
                            f"({self.settings.credentials.mode})")]
        granted, assigned, permission = self._permission_set(str(identity.get("user_id") or ""), username)
        findings.append(permission)
        account = self.schema.fields("Account", refresh=True)
        task = self.schema.fields("Task", refresh=True)
        findings += self._owned(request, account, task, granted, assigned)
        findings += self._mapped(request, account)
        findings.append(self._limits())
        wanted = set(request.account_fields)
        for name, entry in account.items():
            values = tuple(str(v.get("value")) for v in entry.get("picklistValues") or [] if v.get("active"))
            if name in wanted and entry.get("type") in PICKLISTS and values:
                options[name] = values
        return findings

    def _query(self, soql: str) -> list[dict[str, Any]]:
        result = self.client.call("GET query", lambda sf: sf.query(soql))
        return list(result.get("records") or [])

    def _permission_set(self, user_id: str, username: str) -> tuple[set[str] | None, bool, Finding]:
        """(fields the permission set grants Read and Edit on, whether it is assigned, the finding)."""
        name = self.permission_set
        try:
            sets = self._query(format_soql("SELECT Id FROM PermissionSet WHERE Name = {name}", name=name))
            if not sets:
                return None, False, Finding("permission set", "fail", f"the org has no {name} permission set",
                                            f"Deploy deploy/salesforce ({DEPLOY}), then assign {name} to {username}.")
            set_id = str(sets[0]["Id"])
            assigned = bool(self._query(format_soql(
                "SELECT Id FROM PermissionSetAssignment WHERE PermissionSetId = {set_id} AND AssigneeId = {user}",
                set_id=set_id, user=user_id)))
            rows = self._query(format_soql("SELECT Field, PermissionsRead, PermissionsEdit FROM FieldPermissions "
                                           "WHERE ParentId = {set_id}", set_id=set_id))
        except ConnectorError as exc:
            return None, False, Finding("permission set", "warn", f"cannot read permission sets: {exc}",
                                        f"Assign {name} to {username}: it grants View Setup and Configuration.")
        granted = {str(r.get("Field")) for r in rows if r.get("PermissionsRead") and r.get("PermissionsEdit")}
        if not assigned:
            return granted, False, Finding(
                "permission set", "fail", f"{name} is not assigned to {username}, so the fields it grants stay hidden",
                f"sf org assign permset --name {name} --on-behalf-of {username} --target-org <org alias>")
        return granted, True, Finding("permission set", "ok", f"{name} is assigned to {username}")

    def _owned(self, request: AccessRequest, account: dict[str, dict[str, Any]], task: dict[str, dict[str, Any]],
               granted: set[str] | None, assigned: bool) -> list[Finding]:
        wanted = [(f"Account.{f.name}", account.get(f.name)) for f in request.owned]
        key = self.settings.review_key_field
        wanted.append((f"Activity.{key}", task.get(key)))
        findings = [self._field(name, entry, granted, assigned) for name, entry in wanted]
        problems = [f for f in findings if f is not None]
        return problems or [Finding("owned fields", "ok", f"all {len(wanted)} owned fields are visible and writable")]

    def _field(self, name: str, entry: dict[str, Any] | None, granted: set[str] | None,
               assigned: bool) -> Finding | None:
        ps = self.permission_set
        if entry is not None:
            if entry.get("updateable") or entry.get("createable"):
                return None
            return Finding("owned fields", "fail", f"{name} is visible but not writable",
                           f"Grant Edit on {name} in {ps} (Setup > Permission Sets > {ps} > Object Settings).")
        if not assigned:
            return Finding("owned fields", "fail", f"{name} is hidden: {ps} is not assigned",
                           f"Assign {ps} (see the permission set finding).")
        if granted is not None and name in granted:
            return Finding("owned fields", "fail", f"{name} does not exist in the org", f"Deploy deploy/salesforce "
                           f"({DEPLOY}), or run `icp setup` as a user with Customize Application.")
        return Finding("owned fields", "fail", f"{name} is missing, or hidden by field-level security ({ps} does "
                       "not grant it)", f"Deploy deploy/salesforce ({DEPLOY}): it creates the field and grants Read "
                       f"and Edit in {ps}. Or grant them on {name} in {ps} if the field exists.")

    def _mapped(self, request: AccessRequest, account: dict[str, dict[str, Any]]) -> list[Finding]:
        findings = [self._hidden("Account", request.account_fields, lambda: account)]
        findings.append(self._hidden("Opportunity", request.deal_fields,
                                     lambda: self.schema.fields("Opportunity", refresh=True)))
        return [f for f in findings if f is not None] or [
            Finding("mapped fields", "ok", "every Account and Opportunity field the mapping reads is visible")]

    def _hidden(self, sobject: str, names: Sequence[str],
                described: Callable[[], dict[str, dict[str, Any]]]) -> Finding | None:
        if not names:
            return None
        known = {n.lower() for n in described()}
        absent = [n for n in dict.fromkeys(names) if n and n.lower() not in known]
        if not absent:
            return None
        return Finding("mapped fields", "warn", f"the mapping reads {sobject} fields the integration user cannot "
                       f"see: {', '.join(absent)}; they read as empty", "Map them to fields you have (in the "
                       f"mapping file), or grant Read on them in {self.permission_set} if they exist.")

    def _limits(self) -> Finding:
        try:
            limits = self.client.call("GET limits", lambda sf: sf.limits()) or {}
        except ConnectorError as exc:
            return Finding("API limits", "warn", f"cannot read /limits: {exc}",
                           f"Assign {self.permission_set}: it grants View Setup and Configuration.")
        daily = limits.get("DailyApiRequests") or {}
        if "Max" not in daily or "Remaining" not in daily:
            return Finding("API limits", "warn", "the org did not report its daily API requests")
        remaining, maximum = int(daily["Remaining"]), int(daily["Max"])
        reserve = self.settings.daily_reserve
        if remaining < reserve:
            return Finding("API limits", "warn", f"{remaining:,} of {maximum:,} daily API requests left, under the "
                           f"reserve of {reserve:,}: a run would stop at once", "Wait for the rolling 24 hours to "
                           "free requests, or lower daily_reserve.")
        return Finding("API limits", "ok", f"{remaining:,} of {maximum:,} daily API requests left")
