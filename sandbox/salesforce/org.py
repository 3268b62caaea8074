"""A Salesforce org in memory: sObject schemas, records, ids, field-level security and value rules.

Record values are kept as Salesforce's JSON gives them (str, int, float, bool, None), except
datetimes, which are kept as epoch milliseconds and rendered ``2026-11-01T12:00:00.000+0000``.
A custom field created through the Tooling API is invisible to the integration user (absent from
describe and SOQL) until a permission set assigned to that user grants it, as in a real org.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from sandbox.clock import Clock, from_ms, to_ms

__all__ = ["FieldDef", "SObjectTable", "Org", "RecordError", "salesforce_id", "render_datetime", "parse_datetime"]

_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
NUMERIC = frozenset({"double", "currency", "percent", "int"})
TEXTUAL = frozenset({"string", "textarea", "picklist", "url", "email", "phone", "reference", "id", "combobox"})


def salesforce_id(prefix: str, number: int) -> str:
    """An 18-character Salesforce id: a 3-character key prefix, a pod, a number and the case checksum."""
    base = f"{prefix}Sb{number:010d}"
    suffix = ""
    for chunk in (base[0:5], base[5:10], base[10:15]):
        bits = sum(1 << i for i, c in enumerate(chunk) if "A" <= c <= "Z")
        suffix += _CHECKSUM[bits]
    return base + suffix


def render_datetime(ms: int) -> str:
    """Salesforce's JSON form of a datetime."""
    moment = from_ms(ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> int:
    """Epoch milliseconds of an ISO datetime (``Z``, ``+00:00`` or ``+0000``); ValueError if it is not one."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return to_ms(moment)


class RecordError(ValueError):
    """A record-level failure with Salesforce's status code and the fields concerned."""

    def __init__(self, code: str, message: str, fields: Iterable[str] = ()) -> None:
        self.code, self.message, self.fields = code, message, list(fields)
        super().__init__(f"{code}: {message}")

    def as_json(self) -> dict[str, Any]:
        """The ``errors[]`` entry of a record result."""
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


@dataclass(frozen=True)
class FieldDef:
    """One field of an sObject, with what the integration user may do with it."""

    name: str
    type: str
    label: str = ""
    custom: bool = False
    writable: bool = True
    nillable: bool = True
    external_id: bool = False
    unique: bool = False
    length: int = 0
    picklist: tuple[str, ...] = ()
    picklist_labels: tuple[str, ...] = ()
    readable_by_user: bool = True
    editable_by_user: bool = True
    precision: int = 0
    scale: int = 0

    def describe(self) -> dict[str, Any]:
        """The field's entry in an sObject describe.

        Key names follow Salesforce's DescribeSObjectResult Field (the Apex DescribeFieldResult's
        ``isExternalId()`` is the REST describe's ``externalId``, next to ``idLookup``, ``caseSensitive``
        and ``unique``: developer.salesforce.com/docs/platform/apex-ref/references/apex-ref/
        apex-methods-system-fields-describe.html, and the SOAP API's "DescribeSObjectResult" Field
        properties); ``picklistValues`` entries are PicklistEntry ``{active, defaultValue, label, validFor,
        value}`` (``label`` is what users see, ``value`` the API name stored on records). As in the REST
        describe example, every field has ``defaultValue`` and Id (and reference) fields have length 18.
        """
        updateable = self.writable and self.editable_by_user
        return {
            "name": self.name, "label": self.label or self.name, "type": self.type, "custom": self.custom,
            "updateable": updateable, "createable": updateable, "nillable": self.nillable,
            "externalId": self.external_id, "idLookup": self.external_id or self.name == "Id",
            "caseSensitive": False, "unique": self.unique, "defaultValue": None,
            "length": self.length or (18 if self.type in ("id", "reference") else 0),
            "precision": self.precision, "scale": self.scale,
            "picklistValues": [{"active": True, "defaultValue": False, "label": label, "validFor": None, "value": v}
                               for v, label in zip(self.picklist, self.picklist_labels or self.picklist,
                                                   strict=True)],
        }

    def coerce(self, value: Any) -> Any:
        """The stored form of a written value, or :class:`RecordError` when it does not fit the type."""
        if value is None or value == "":
            if not self.nillable:
                raise RecordError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{self.name}]",
                                  [self.name])
            return None
        try:
            if self.type in NUMERIC:
                number = float(value)
                if self.type == "int" or (self.precision and self.scale == 0):
                    return int(round(number))
                return round(number, self.scale) if self.precision else number
            if self.type == "boolean":
                if isinstance(value, bool):
                    return value
                return {"true": True, "false": False}[str(value).lower()]
            if self.type == "datetime":
                return value if isinstance(value, int) else parse_datetime(str(value))
            if self.type == "date":
                return date.fromisoformat(str(value)[:10]).isoformat()
        except (TypeError, ValueError, KeyError):
            raise RecordError("INVALID_TYPE_ON_FIELD_IN_RECORD",
                              f"{self.label or self.name}: value not of required type: {value}", [self.name]) from None
        text = str(value)
        if self.length and len(text) > self.length:
            raise RecordError("STRING_TOO_LONG", f"{self.label or self.name}: data value too large", [self.name])
        return text

    def render(self, value: Any) -> Any:
        """The JSON form of a stored value."""
        if value is not None and self.type == "datetime":
            return render_datetime(int(value))
        return value


@dataclass
class SObjectTable:
    """Records of one sObject, keyed by id in creation order."""

    name: str
    prefix: str
    fields: dict[str, FieldDef]
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_number: int = 1

    def field_named(self, name: str, visible_only: bool = True) -> FieldDef | None:
        """A field by case-insensitive name (only those the integration user can see, by default)."""
        found = self.fields.get(name) or next((f for k, f in self.fields.items() if k.lower() == name.lower()), None)
        if found is None or (visible_only and not found.readable_by_user):
            return None
        return found

    def visible_fields(self) -> list[FieldDef]:
        """The fields the integration user can see."""
        return [f for f in self.fields.values() if f.readable_by_user]

    def new_id(self) -> str:
        """The next record id."""
        record_id = salesforce_id(self.prefix, self.next_number)
        self.next_number += 1
        return record_id

    def live(self, record_id: str) -> dict[str, Any] | None:
        """A record that exists and is not deleted."""
        record = self.records.get(record_id)
        return record if record is not None and not record.get("IsDeleted") else None


class Org:
    """Every sObject of the org, the clock that stamps changes, and the permission model."""

    def __init__(self, clock: Clock, org_id: str, user_id: str) -> None:
        self.clock = clock
        self.org_id, self.user_id = org_id, user_id
        self.tables: dict[str, SObjectTable] = {}
        self.stages: dict[str, tuple[bool, bool, float]] = {}
        self.tracked: dict[str, frozenset[str]] = {}

    def track(self, table: SObjectTable, record: Mapping[str, Any], old: Mapping[str, Any],
              at: int | None = None) -> None:
        """Record changes of tracked fields as field history rows (``AccountHistory`` for Account).

        A history row is ``{Id, IsDeleted, AccountId, CreatedById, CreatedDate, Field, DataType, OldValue,
        NewValue}`` (StandardObjectNameHistory, Salesforce Object Reference:
        https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/
        sforce_api_associated_objects_history.htm); only fields with history tracking enabled get rows.
        """
        history = self.tables.get(f"{table.name}History")
        fields = self.tracked.get(table.name, frozenset())
        if history is None or not fields:
            return
        moment = self.clock.now_ms() if at is None else at
        for name, before in old.items():
            after = record.get(name)
            if name in fields and before != after:
                row_id = history.new_id()
                definition = table.fields[name]
                history.records[row_id] = {
                    "Id": row_id, "IsDeleted": False, f"{table.name}Id": record["Id"], "CreatedById": self.user_id,
                    "CreatedDate": moment, "Field": name, "DataType": definition.type.capitalize(),
                    "OldValue": before, "NewValue": after}

    def derive(self, table: SObjectTable, record: dict[str, Any]) -> None:
        """Fields Salesforce computes: an Opportunity's IsClosed, IsWon and Probability follow its stage."""
        if table.name == "Opportunity" and record.get("StageName") in self.stages:
            closed, won, probability = self.stages[record["StageName"]]
            record.update(IsClosed=closed, IsWon=won, Probability=probability)

    def add_table(self, name: str, prefix: str, fields: Iterable[FieldDef]) -> SObjectTable:
        """Define an sObject."""
        table = SObjectTable(name, prefix, {f.name: f for f in fields})
        self.tables[name] = table
        return table

    def table(self, name: str) -> SObjectTable | None:
        """An sObject by case-insensitive name; ``Activity`` (where Task custom fields are defined) is Task."""
        name = "Task" if name.lower() == "activity" else name
        return self.tables.get(name) or next((t for k, t in self.tables.items() if k.lower() == name.lower()), None)

    def stamp(self, record: dict[str, Any], at: int | None = None) -> None:
        """Move LastModifiedDate and SystemModstamp to ``at`` (default: now)."""
        moment = self.clock.now_ms() if at is None else at
        record["LastModifiedDate"] = record["SystemModstamp"] = moment

    def insert(self, table: SObjectTable, values: Mapping[str, Any], at: int | None = None) -> str:
        """Create a record from already-coerced values; returns its id."""
        moment = self.clock.now_ms() if at is None else at
        record_id = table.new_id()
        table.records[record_id] = {"Id": record_id, "IsDeleted": False, "CreatedDate": moment,
                                    "LastModifiedDate": moment, "SystemModstamp": moment, **values}
        return record_id

    def apply(self, table: SObjectTable, record_id: Any, values: Mapping[str, Any], creating: bool = False) -> bool:
        """Validate and write API values to a record; True if a value changed. Raises :class:`RecordError`."""
        record = table.live(str(record_id)) if isinstance(record_id, str) else None
        if record is None:
            code = "ENTITY_IS_DELETED" if str(record_id) in table.records else "MALFORMED_ID"
            raise RecordError(code, f"{table.name} ID: id value of incorrect type: {record_id}", ["Id"])
        coerced = self.coerce(table, values, creating)
        changed = {k: v for k, v in coerced.items() if record.get(k) != v}
        old = {k: record.get(k) for k in changed}
        record.update(changed)
        self.derive(table, record)
        if changed:
            self.stamp(record)
            self.track(table, record, old)
        return bool(changed)

    def coerce(self, table: SObjectTable, values: Mapping[str, Any], creating: bool = False) -> dict[str, Any]:
        """Validated stored values for API input (``attributes`` and ``Id`` ignored)."""
        out: dict[str, Any] = {}
        for name, value in values.items():
            if name in ("attributes", "Id", "id"):
                continue
            definition = table.field_named(name)
            if definition is None:
                raise RecordError("INVALID_FIELD", f"No such column '{name}' on sobject of type {table.name}", [name])
            if not (definition.writable and definition.editable_by_user):
                verb = "insert" if creating else "update"
                raise RecordError("INVALID_FIELD_FOR_INSERT_UPDATE",
                                  f"Unable to create/update fields: {definition.name}. Please check the security "
                                  f"settings of this field and verify that it is read/write for your profile or "
                                  f"permission set ({verb}).", [definition.name])
            out[definition.name] = definition.coerce(value)
        return out

    def add_field(self, object_name: str, definition: FieldDef) -> None:
        """Add (or replace) a field definition."""
        table = self.table(object_name)
        if table is None:
            raise KeyError(object_name)
        table.fields[definition.name] = definition

    def grant(self, object_name: str, field_name: str, read: bool, edit: bool) -> bool:
        """Field-level security for the integration user; False if there is no such field."""
        table = self.table(object_name)
        definition = None if table is None else table.field_named(field_name, visible_only=False)
        if table is None or definition is None:
            return False
        table.fields[definition.name] = replace(definition, readable_by_user=read or edit, editable_by_user=edit)
        return True
