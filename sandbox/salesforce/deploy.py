"""Read an SFDX source package (custom fields and permission sets) as an admin would deploy it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from sandbox.salesforce.org import FieldDef

__all__ = ["Package", "read_package", "METADATA_TYPES"]

METADATA_TYPES = {"Number": "double", "Text": "string", "LongTextArea": "textarea", "TextArea": "textarea",
                  "DateTime": "datetime", "Date": "date", "Checkbox": "boolean", "Picklist": "picklist",
                  "Currency": "currency", "Percent": "percent"}

_NS = "{http://soap.sforce.com/2006/04/metadata}"


@dataclass(frozen=True)
class Package:
    """Field definitions by object, and field permissions (object.field → (read, edit)) by permission set."""

    fields: dict[str, list[FieldDef]]
    permissions: dict[str, dict[str, tuple[bool, bool]]]


def _text(element: ET.Element, name: str, default: str = "") -> str:
    found = element.find(f"{_NS}{name}")
    return found.text or default if found is not None and found.text is not None else default


def _field(path: Path) -> FieldDef:
    root = ET.parse(path).getroot()
    kind = METADATA_TYPES.get(_text(root, "type"))
    if kind is None:
        raise ValueError(f"{path}: unsupported field type {_text(root, 'type')!r}")
    return FieldDef(_text(root, "fullName"), kind, _text(root, "label"), custom=True,
                    external_id=_text(root, "externalId") == "true", unique=_text(root, "unique") == "true",
                    length=int(_text(root, "length", "0")), readable_by_user=False, editable_by_user=False,
                    precision=int(_text(root, "precision", "0")), scale=int(_text(root, "scale", "0")))


def read_package(source: Path) -> Package:
    """The custom fields and permission sets under ``source`` (``objects/*/fields``, ``permissionsets``)."""
    fields: dict[str, list[FieldDef]] = {}
    for path in sorted(source.rglob("*.field-meta.xml")):
        fields.setdefault(path.parent.parent.name, []).append(_field(path))
    permissions: dict[str, dict[str, tuple[bool, bool]]] = {}
    for path in sorted(source.rglob("*.permissionset-meta.xml")):
        root = ET.parse(path).getroot()
        grants = {}
        for item in root.findall(f"{_NS}fieldPermissions"):
            grants[_text(item, "field")] = (_text(item, "readable") == "true", _text(item, "editable") == "true")
        permissions[path.name.removesuffix(".permissionset-meta.xml")] = grants
    return Package(fields, permissions)
