"""Owned fields: checks through describe, setup through the Tooling API and a permission set, value coercion.

A custom field the integration user cannot see through field-level security is absent from
describe and from SOQL exactly like a field that does not exist, so "missing" means either;
the fix is the same deployment (fields plus the ``ICP_Worker`` permission set, assigned).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from simple_salesforce.format import format_soql

from connectors.base import FieldSpec, OwnedFieldStatus
from connectors.errors import FatalError
from connectors.salesforce.client import SalesforceClient

__all__ = ["Schema", "HOW_TO_FIX", "coerce"]

NUMERIC = frozenset({"double", "currency", "percent", "int", "long"})
SOBJECTS = {"accounts": "Account", "deals": "Opportunity"}
HOW_TO_FIX = ("Deploy deploy/salesforce (`sf project deploy start --source-dir deploy/salesforce/force-app`) and "
              "assign the {permission_set} permission set to the integration user (README, '## Salesforce'), or run "
              "`icp setup` as a user with Customize Application. A field that exists but is hidden by field-level "
              "security counts as missing: grant Read and Edit on it in {permission_set}.")
_METADATA: dict[str, dict[str, Any]] = {
    "number": {"type": "Number", "precision": 3, "scale": 0},  # fit scores are whole numbers 0-100
    "string": {"type": "Text", "length": 255},
    "text": {"type": "LongTextArea", "length": 32768, "visibleLines": 5},
    "datetime": {"type": "DateTime"},
}


def coerce(value: str | None, field_type: str | None) -> Any:
    """A worker value (text) in the JSON type the field takes; empty means null."""
    if value is None or value == "":
        return None
    if field_type in NUMERIC:
        number = float(value)
        return int(number) if number.is_integer() else number
    if field_type == "boolean":
        return value.strip().lower() in ("true", "1", "yes")
    return value


class Schema:
    """Describes of the org's objects, read once per connector, and the field setup."""

    def __init__(self, client: SalesforceClient, review_key_field: str, permission_set: str) -> None:
        self.client = client
        self.review_key_field, self.permission_set = review_key_field, permission_set
        self._describes: dict[str, dict[str, dict[str, Any]]] = {}

    def fields(self, sobject: str, refresh: bool = False) -> dict[str, dict[str, Any]]:
        """Field name → describe entry, for the fields the integration user can see."""
        if refresh or sobject not in self._describes:
            described = self.client.call(f"GET sobjects/{sobject}/describe",
                                         lambda sf: sf.restful(f"sobjects/{sobject}/describe"))
            self._describes[sobject] = {f["name"]: f for f in (described or {}).get("fields", [])}
        return self._describes[sobject]

    def selectable(self, sobject: str, names: Sequence[str]) -> tuple[list[str], list[str]]:
        """(fields that can be selected, fields the org does not show), in the order asked, without repeats."""
        known = self.fields(sobject)
        lowered = {name.lower(): name for name in known}
        present: list[str] = []
        absent: list[str] = []
        for name in dict.fromkeys(names):
            (present if name.lower() in lowered else absent).append(lowered.get(name.lower(), name))
        return present, absent

    def field_type(self, sobject: str, name: str) -> str | None:
        """The describe type of a field, if visible."""
        entry = self.fields(sobject).get(name)
        return None if entry is None else str(entry.get("type"))

    def check(self, owned: Sequence[FieldSpec]) -> OwnedFieldStatus:
        """Owned Account (and Opportunity) fields and the Task review key: present, visible and writable."""
        missing: list[str] = []
        for sobject in dict.fromkeys(SOBJECTS[f.object_type] for f in owned):
            described = self.fields(sobject, refresh=True)
            missing += [f.name if sobject == "Account" else f"{sobject}.{f.name}" for f in owned
                        if SOBJECTS[f.object_type] == sobject and not described.get(f.name, {}).get("updateable")]
        key = self.fields("Task", refresh=True).get(self.review_key_field, {})
        if not key.get("createable"):
            missing.append(f"Task.{self.review_key_field}")
        how = HOW_TO_FIX.format(permission_set=self.permission_set)
        return OwnedFieldStatus(tuple(missing), how if missing else "")

    def setup(self, specs: Sequence[FieldSpec]) -> list[str]:
        """Create missing fields through the Tooling API and grant them on the permission set. Idempotent."""
        missing = set(self.check(specs).missing)
        if not missing:
            return []
        wanted = [(f"{SOBJECTS[s.object_type]}.{s.name}", {**_METADATA[s.type], "label": s.label,
                                                              "description": s.description})
                  for s in specs if s.name in missing or f"{SOBJECTS[s.object_type]}.{s.name}" in missing]
        if f"Task.{self.review_key_field}" in missing:
            wanted.append((f"Activity.{self.review_key_field}",
                           {"type": "Text", "length": 80, "externalId": True, "unique": True, "caseSensitive": False,
                            "label": "ICP review key", "description": "Makes ICP Worker review tasks idempotent."}))
        created = [name for name, metadata in wanted if self._create_field(name, metadata)]
        self._grant([name for name, _ in wanted])
        for sobject in ("Account", "Task", *(SOBJECTS[s.object_type] for s in specs)):
            self.fields(sobject, refresh=True)
        return [name.partition(".")[2] if name.startswith("Account.") else
                f"Task.{name.partition('.')[2]}" if name.startswith("Activity.") else name for name in created]

    def _create_field(self, full_name: str, metadata: Mapping[str, Any]) -> bool:
        """True if created; False if it already existed (hidden by field-level security)."""
        body = {"FullName": full_name, "Metadata": dict(metadata)}
        try:
            self.client.call("POST tooling/sobjects/CustomField",
                             lambda sf: sf.restful("tooling/sobjects/CustomField", method="POST", json=body))
        except FatalError as exc:
            if "DUPLICATE_DEVELOPER_NAME" in str(exc):
                return False
            raise
        return True

    def _grant(self, full_names: Sequence[str]) -> None:
        set_id = self._permission_set_id()
        soql = format_soql("SELECT Id, Field FROM FieldPermissions WHERE ParentId = {set_id}", set_id=set_id)
        existing = {r["Field"] for r in self._query(soql)}
        for full_name in full_names:
            if full_name in existing:
                continue
            self._create("FieldPermissions", {"ParentId": set_id, "SobjectType": full_name.partition(".")[0],
                                              "Field": full_name, "PermissionsRead": True, "PermissionsEdit": True})
        identity = self.client.call("GET oauth2/userinfo", lambda sf: sf.oauth2("userinfo")) or {}
        user_id = str(identity.get("user_id", ""))
        soql = format_soql("SELECT Id FROM PermissionSetAssignment WHERE PermissionSetId = {set_id} "
                           "AND AssigneeId = {user_id}", set_id=set_id, user_id=user_id)
        if not self._query(soql):
            self._create("PermissionSetAssignment", {"PermissionSetId": set_id, "AssigneeId": user_id})

    def _permission_set_id(self) -> str:
        soql = format_soql("SELECT Id FROM PermissionSet WHERE Name = {name}", name=self.permission_set)
        rows = self._query(soql)
        if rows:
            return str(rows[0]["Id"])
        created = self._create("PermissionSet", {"Name": self.permission_set,
                                                 "Label": self.permission_set.replace("_", " ")})
        if not created.get("id"):
            raise FatalError(f"could not create the {self.permission_set} permission set")
        return str(created["id"])

    def _create(self, sobject: str, body: dict[str, Any]) -> dict[str, Any]:
        result = self.client.call(f"POST sobjects/{sobject}",
                                  lambda sf: sf.restful(f"sobjects/{sobject}", method="POST", json=body))
        return dict(result or {})

    def _query(self, soql: str) -> list[dict[str, Any]]:
        result = self.client.call("GET query", lambda sf: sf.query(soql))
        return list(result.get("records", []))
