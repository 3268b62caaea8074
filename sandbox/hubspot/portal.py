"""HubSpot-side state of one sandbox portal: stores, property registries, owners, associations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sandbox._catalog import find_stage
from sandbox.clock import Clock
from sandbox.hubspot import values as fmt
from sandbox.hubspot.schema import InvalidValue, PropertyRegistry
from sandbox.hubspot.store import AssociationGraph, ObjectStore

__all__ = ["Portal", "ValidationFailed", "ASSOCIATION_TYPES", "OBJECT_TYPES", "SINGULAR", "DEFAULT_PROPERTIES"]

OBJECT_TYPES: tuple[str, ...] = ("companies", "deals", "notes", "tasks")
SINGULAR: dict[str, str] = {"companies": "company", "deals": "deal", "notes": "note", "tasks": "task"}
PLURAL: dict[str, str] = {v: k for k, v in SINGULAR.items()}

DEFAULT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "companies": ("name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"),
    "deals": ("dealname", "amount", "dealstage", "pipeline", "closedate", "createdate",
              "hs_lastmodifieddate", "hs_object_id"),
    "notes": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    "tasks": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
}

ASSOCIATION_TYPES: dict[tuple[str, str], tuple[tuple[int, str | None, str], ...]] = {
    ("deals", "companies"): ((5, "Primary", "deal_to_company"), (341, None, "deal_to_company_unlabeled")),
    ("companies", "deals"): ((6, "Primary", "company_to_deal"), (342, None, "company_to_deal_unlabeled")),
    ("notes", "companies"): ((190, None, "note_to_company"),),
    ("companies", "notes"): ((189, None, "company_to_note"),),
    ("notes", "deals"): ((214, None, "note_to_deal"),),
    ("deals", "notes"): ((213, None, "deal_to_note"),),
    ("tasks", "companies"): ((192, None, "task_to_company"),),
    ("companies", "tasks"): ((191, None, "company_to_task"),),
    ("tasks", "deals"): ((216, None, "task_to_deal"),),
    ("deals", "tasks"): ((215, None, "deal_to_task"),),
}


class ValidationFailed(Exception):
    """One or more property values were rejected."""

    def __init__(self, errors: list[InvalidValue]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


class Portal:
    """Everything the HubSpot endpoints read and write."""

    def __init__(self, clock: Clock, registries: dict[str, PropertyRegistry], graph: AssociationGraph,
                 owners: list[dict[str, Any]]) -> None:
        self.clock = clock
        self.registries = registries
        self.graph = graph
        self.owners = owners
        self.owner_ids = frozenset(o["id"] for o in owners)
        self.stores: dict[str, ObjectStore] = {}
        self.changes: dict[tuple[str, int, str], list[tuple[int, str | None, str | None]]] = {}
        self.currency = "USD"
        self.time_zone = "US/Eastern"

    def validate(self, object_type: str, props: Mapping[str, Any]) -> dict[str, str | None]:
        """Normalise values against the property definitions; raises ValidationFailed."""
        registry = self.registries[object_type]
        errors: list[InvalidValue] = []
        out: dict[str, str | None] = {}
        for name, raw in props.items():
            definition = registry.get(name)
            if definition is None:
                errors.append(InvalidValue(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
                continue
            try:
                out[name] = definition.normalize(raw, self.owner_ids)
            except InvalidValue as exc:
                errors.append(exc)
        if errors:
            raise ValidationFailed(errors)
        return out

    def update(self, object_type: str, row: int, values: Mapping[str, str | None], at_ms: int | None = None) -> bool:
        """Write normalised values; stamp hs_lastmodifieddate if something changed (or `at_ms` is given)."""
        store = self.stores[object_type]
        before = {name: store.read(row, name) for name in values}
        changed = store.write(row, values)
        stamp_ms = at_ms if at_ms is not None else self.clock.now_ms()
        for name, old in before.items():
            new = store.read(row, name)
            if new != old and name != "hs_lastmodifieddate":
                self.changes.setdefault((object_type, row, name), []).append((stamp_ms, old, new))
        if object_type == "deals" and changed and {"dealstage", "pipeline"} & values.keys():
            self._derive_deal(row)
        if changed or at_ms is not None:
            stamp = at_ms if at_ms is not None else self.clock.now_ms()
            store.write(row, {"hs_lastmodifieddate": fmt.iso_ms(stamp)})
        return changed

    def create(self, object_type: str, values: Mapping[str, str | None],
               associations: Iterable[tuple[str, int]] = (), at_ms: int | None = None) -> int:
        """Add a record with normalised values and associations; returns its row."""
        store = self.stores[object_type]
        stamp = fmt.iso_ms(at_ms if at_ms is not None else self.clock.now_ms())
        row = store.append()
        store.write(row, {store.created_property: stamp, "hs_lastmodifieddate": stamp, **values})
        if object_type == "deals":
            self._derive_deal(row)
        for to_type, to_row in associations:
            self.graph.connect(object_type, row, to_type, to_row)
        return row

    def property_history(self, object_type: str, row: int, name: str) -> list[dict[str, Any]]:
        """A property's values, newest first, as HubSpot's ``propertiesWithHistory`` lists them.

        Each entry is a ValueWithTimestamp ``{value, timestamp, sourceType, sourceId, sourceLabel,
        updatedByUserId}`` (HubSpot CRM objects API, batch read: https://developers.hubspot.com/docs/
        api-reference/latest/crm/objects/objects/batch/get-objects). A value seeded with the portal
        dates from the record's creation; every later change through the API is listed when it happened.
        """
        store = self.stores[object_type]
        changes = self.changes.get((object_type, row, name), [])
        initial = changes[0][1] if changes else store.read(row, name)
        created = store.read(row, store.created_property)
        entries: list[dict[str, Any]] = []
        if initial not in (None, "") and created:
            entries.append({"value": initial, "timestamp": created, "sourceType": "IMPORT",
                            "sourceId": "sandbox-seed", "sourceLabel": "Import"})
        for at_ms, _old, new in changes:
            entries.append({"value": new or "", "timestamp": fmt.iso_ms(at_ms), "sourceType": "API",
                            "sourceId": "sandbox-api", "sourceLabel": "API", "updatedByUserId": None})
        return [{k: v for k, v in e.items() if v is not None} for e in reversed(entries)]

    def _derive_deal(self, row: int) -> None:
        store = self.stores["deals"]
        stage = find_stage(store.read(row, "pipeline") or "default", store.read(row, "dealstage") or "")
        store.write(row, {
            "hs_is_closed_won": None if stage is None else fmt.format_bool(stage.is_won),
            "hs_is_closed": None if stage is None else fmt.format_bool(stage.is_closed),
            "hs_deal_stage_probability": None if stage is None else repr(stage.probability),
        })

    def property_names(self, object_type: str, requested: Iterable[str]) -> list[str]:
        """Properties to return: the requested ones that exist (or the defaults) plus system ones."""
        store, registry = self.stores[object_type], self.registries[object_type]
        names = [n for n in dict.fromkeys(requested) if registry.get(n) is not None]
        if not names:
            names = list(DEFAULT_PROPERTIES[object_type])
        for name in (store.created_property, "hs_lastmodifieddate", "hs_object_id"):
            if name not in names:
                names.append(name)
        return names

    def record(self, object_type: str, row: int, names: Iterable[str]) -> dict[str, Any]:
        """A SimplePublicObject body."""
        store = self.stores[object_type]
        return {
            "id": store.id_of(row),
            "properties": store.snapshot(row, names),
            "createdAt": store.read(row, store.created_property),
            "updatedAt": store.read(row, "hs_lastmodifieddate"),
            "archived": False,
        }

    def associations(self, object_type: str, row: int, wanted: Iterable[str]) -> dict[str, Any]:
        """The `associations` member of a record for the requested object types."""
        out: dict[str, Any] = {}
        for name in wanted:
            to_type = PLURAL.get(name, name)
            kinds = ASSOCIATION_TYPES.get((object_type, to_type))
            if kinds is None:
                continue
            target = self.stores[to_type]
            rows = self.graph.targets(object_type, to_type, row)
            results = [{"id": target.id_of(r), "type": label} for r in rows for _, _, label in kinds]
            if results:
                out[name] = {"results": results}
        return out
