"""Property definitions and groups per object type, and value validation against them."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sandbox.hubspot import values as fmt

__all__ = ["PropertyDef", "GroupDef", "PropertyRegistry", "InvalidValue", "PROPERTY_TYPES", "FIELD_TYPES"]

PROPERTY_TYPES = ("string", "number", "date", "datetime", "enumeration", "bool")
FIELD_TYPES = ("textarea", "text", "date", "file", "number", "select", "radio", "checkbox",
               "booleancheckbox", "calculation_equation", "html", "phonenumber")
NUMERIC_TYPES = frozenset({"number", "date", "datetime", "bool"})


class InvalidValue(ValueError):
    """A property value HubSpot would reject; `error` is HubSpot's error code."""

    def __init__(self, name: str, error: str, message: str) -> None:
        super().__init__(message)
        self.name, self.error, self.message = name, error, message

    def to_json(self) -> dict[str, Any]:
        """The per-property entry of a VALIDATION_ERROR message."""
        return {"isValid": False, "message": self.message, "error": self.error, "name": self.name,
                "localizedErrorMessage": self.message}


@dataclass
class GroupDef:
    """A property group."""

    name: str
    label: str
    display_order: int = -1
    archived: bool = False

    def to_json(self) -> dict[str, Any]:
        """Shape of the properties API."""
        return {"name": self.name, "label": self.label, "displayOrder": self.display_order, "archived": self.archived}


@dataclass
class PropertyDef:
    """A property definition; `options` are dicts with label/value/hidden/displayOrder/description.

    Number properties carry ``showCurrencySymbol`` (shown in the portal's company currency), as in
    HubSpot's CRM properties API.
    """

    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    description: str = ""
    options: list[dict[str, Any]] = field(default_factory=list)
    display_order: int = -1
    hubspot_defined: bool = False
    read_only: bool = False
    calculated: bool = False
    external_options: bool = False
    has_unique_value: bool = False
    show_currency_symbol: bool = False
    hidden: bool = False
    form_field: bool = False
    created_at: str = "2019-08-06T02:41:52.000Z"
    updated_at: str = "2019-08-06T02:41:52.000Z"

    @property
    def numeric(self) -> bool:
        """Whether search compares this property as a number (numbers, dates, booleans)."""
        return self.type in NUMERIC_TYPES

    def to_json(self) -> dict[str, Any]:
        """Shape of the properties API."""
        body: dict[str, Any] = {
            "name": self.name, "label": self.label, "type": self.type, "fieldType": self.field_type,
            "description": self.description, "groupName": self.group_name, "options": self.options,
            "displayOrder": self.display_order, "calculated": self.calculated,
            "externalOptions": self.external_options, "hasUniqueValue": self.has_unique_value,
            "hidden": self.hidden, "formField": self.form_field, "archived": False,
            "createdAt": self.created_at, "updatedAt": self.updated_at,
            "modificationMetadata": {"archivable": not self.hubspot_defined, "readOnlyDefinition": self.hubspot_defined,
                                     "readOnlyOptions": self.hubspot_defined, "readOnlyValue": self.read_only},
        }
        if self.hubspot_defined:
            body["hubspotDefined"] = True
        if self.type == "number":
            body["showCurrencySymbol"] = self.show_currency_symbol
        return body

    def normalize(self, raw: Any, owner_ids: frozenset[str] = frozenset()) -> str | None:
        """The stored string for `raw`, None to clear; raises InvalidValue like HubSpot would."""
        if self.read_only:
            raise InvalidValue(self.name, "READ_ONLY_VALUE", f'Property "{self.name}" is read-only')
        if raw is None or raw == "":
            return None
        try:
            return self._normalize(raw, owner_ids)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, InvalidValue):
                raise
            code = {"number": "INVALID_DOUBLE", "bool": "INVALID_BOOLEAN"}.get(self.type, "INVALID_DATE")
            raise InvalidValue(self.name, code, f'{raw!r} is not a valid {self.type} value for "{self.name}"') from exc

    def _normalize(self, raw: Any, owner_ids: frozenset[str]) -> str:
        if self.type == "number":
            number = float(raw)
            if not math.isfinite(number):
                raise ValueError(raw)
            return fmt.format_number(number)
        if self.type == "bool":
            return fmt.format_bool(fmt.parse_bool(raw))
        if self.type == "datetime":
            return fmt.iso_ms(fmt.parse_instant(raw))
        if self.type == "date":
            ms = fmt.parse_instant(raw)
            if ms % fmt.DAY_MS:
                raise InvalidValue(self.name, "INVALID_DATE", f'{raw!r} is not midnight UTC; "{self.name}" is a date')
            return fmt.iso_date(ms)
        text = str(raw).lower() if isinstance(raw, bool) else str(raw)
        if self.type == "enumeration":
            self._check_option(text, owner_ids)
        return text

    def _check_option(self, text: str, owner_ids: frozenset[str]) -> None:
        allowed = owner_ids if self.name == "hubspot_owner_id" else {o["value"] for o in self.options}
        chosen = text.split(";") if self.field_type == "checkbox" else [text]
        bad = [c for c in chosen if c not in allowed]
        if bad:
            raise InvalidValue(self.name, "INVALID_OPTION",
                               f'{bad[0]} was not one of the allowed options for "{self.name}"')


def options(values: Iterable[str], labels: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Option dicts for an enumeration."""
    vals = list(values)
    labs = list(labels) if labels is not None else [v.replace("_", " ").title() for v in vals]
    return [{"label": lab, "value": val, "hidden": False, "displayOrder": i, "description": ""}
            for i, (lab, val) in enumerate(zip(labs, vals, strict=True))]


class PropertyRegistry:
    """Property definitions and groups of one object type."""

    def __init__(self, object_type: str) -> None:
        self.object_type = object_type
        self.properties: dict[str, PropertyDef] = {}
        self.groups: dict[str, GroupDef] = {}

    def get(self, name: str) -> PropertyDef | None:
        """The definition named `name`, if it exists."""
        return self.properties.get(name)

    def add(self, definition: PropertyDef) -> PropertyDef:
        """Add a definition (overwriting one of the same name)."""
        self.properties[definition.name] = definition
        return definition

    def number_parser(self, name: str) -> Callable[[str], float]:
        """How search reads the strings of property `name` as numbers."""
        definition = self.properties.get(name)
        kind = definition.type if definition else "number"
        if kind in ("date", "datetime"):
            return fmt.parse_instant
        if kind == "bool":
            return lambda text: 1.0 if fmt.parse_bool(text) else 0.0
        return float

    def remove(self, name: str) -> bool:
        """Delete a definition; True if it existed."""
        return self.properties.pop(name, None) is not None

    def add_group(self, group: GroupDef) -> GroupDef:
        """Add a group (overwriting one of the same name)."""
        self.groups[group.name] = group
        return group
