"""Org setup through the API: Tooling API custom fields and permission-set field-level security.

A field created through ``tooling/sobjects/CustomField`` exists but nobody can see it. A
``FieldPermissions`` row on a permission set assigned to the integration user makes it readable
(and editable); assigning a permission set applies the field permissions it already holds.
"""

from __future__ import annotations

from typing import Any

from sandbox.salesforce.deploy import METADATA_TYPES, Package
from sandbox.salesforce.org import FieldDef, Org, SObjectTable
from sandbox.salesforce.rest import sf_error
from sandbox.server import Request, Response

__all__ = ["SetupEndpoints"]



class SetupEndpoints:
    """Tooling API field creation and the side effects of permission records."""

    def __init__(self, org: Org) -> None:
        self.org = org

    def create_custom_field(self, request: Request) -> Response:
        """``POST tooling/sobjects/CustomField`` with ``FullName`` (``Object.Name__c``) and ``Metadata``."""
        body = request.body if isinstance(request.body, dict) else {}
        object_name, _, name = str(body.get("FullName", "")).partition(".")
        metadata: dict[str, Any] = body.get("Metadata") or {}
        table = self.org.table(object_name)
        kind = METADATA_TYPES.get(str(metadata.get("type")))
        if table is None or not name.endswith("__c") or kind is None:
            return sf_error(400, "FIELD_INTEGRITY_EXCEPTION", "FullName must be Object.Name__c and Metadata.type a "
                                                              "supported field type")
        if table.field_named(name, visible_only=False) is not None:
            return sf_error(400, "DUPLICATE_DEVELOPER_NAME", f"There is already a field named {name} on "
                                                             f"{table.name}.")
        self.org.add_field(table.name, FieldDef(
            name, kind, str(metadata.get("label") or name), custom=True, external_id=bool(metadata.get("externalId")),
            unique=bool(metadata.get("unique")), length=int(metadata.get("length") or 0),
            readable_by_user=False, editable_by_user=False, precision=int(metadata.get("precision") or 0),
            scale=int(metadata.get("scale") or 0)))
        return Response(201, {"id": f"00NSb{len(table.fields):010d}AAA", "success": True, "errors": []})

    def on_create(self, table: SObjectTable, record_id: str) -> None:
        """Apply field-level security when a FieldPermissions or PermissionSetAssignment row is created."""
        record = table.records[record_id]
        if table.name == "FieldPermissions" and self._assigned(str(record.get("ParentId"))):
            self._apply(record)
        elif table.name == "PermissionSetAssignment" and record.get("AssigneeId") == self.org.user_id:
            for permission in self.org.tables["FieldPermissions"].records.values():
                if permission.get("ParentId") == record.get("PermissionSetId"):
                    self._apply(permission)

    def _assigned(self, permission_set_id: str) -> bool:
        return any(a.get("PermissionSetId") == permission_set_id and a.get("AssigneeId") == self.org.user_id
                   for a in self.org.tables["PermissionSetAssignment"].records.values())

    def _apply(self, permission: dict[str, Any]) -> None:
        _, _, name = str(permission.get("Field", "")).partition(".")
        self.org.grant(str(permission.get("SobjectType")), name, bool(permission.get("PermissionsRead")),
                       bool(permission.get("PermissionsEdit")))

    def deploy(self, package: Package, assign: str | None = None) -> None:
        """What an admin's deployment does: add the package's fields and permission sets, assign one to the user."""
        for object_name, definitions in package.fields.items():
            table = self.org.table(object_name)
            for definition in definitions:
                if table is None or table.field_named(definition.name, visible_only=False) is None:
                    self.org.add_field(object_name, definition)
        sets = self.org.tables["PermissionSet"]
        for name, grants in package.permissions.items():
            set_id = next((r["Id"] for r in sets.records.values() if r.get("Name") == name), None)
            if set_id is None:
                set_id = self.org.insert(sets, {"Name": name, "Label": name.replace("_", " ")})
            permissions = self.org.tables["FieldPermissions"]
            for qualified, (read, edit) in grants.items():
                row = self.org.insert(permissions, {"ParentId": set_id, "SobjectType": qualified.partition(".")[0],
                                                    "Field": qualified, "PermissionsRead": read,
                                                    "PermissionsEdit": edit})
                self.on_create(permissions, row)
            if name == assign and not self._assigned(set_id):
                assignments = self.org.tables["PermissionSetAssignment"]
                row = self.org.insert(assignments, {"PermissionSetId": set_id, "AssigneeId": self.org.user_id})
                self.on_create(assignments, row)
