"""Turn a CRM-neutral World into a HubSpot portal without copying its columns."""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from sandbox._catalog import PIPELINES
from sandbox.clock import Clock
from sandbox.hubspot import values as fmt
from sandbox.hubspot.portal import Portal
from sandbox.hubspot.seed import seed_registries
from sandbox.hubspot.store import AssociationGraph, Column, Link, ObjectStore
from sandbox.world import World

__all__ = ["load_portal", "ID_BASES", "OWNER_ID_BASE", "USER_ID_BASE", "hubspot_owner_id"]

ID_BASES: dict[str, int] = {
    "companies": 10_000_000_000,
    "deals": 30_000_000_000,
    "notes": 50_000_000_000,
    "tasks": 70_000_000_000,
}
OWNER_ID_BASE = 80_000_000
USER_ID_BASE = 9_000_000


def hubspot_owner_id(world_owner_id: int) -> str:
    """HubSpot owner id of a world owner."""
    return str(OWNER_ID_BASE + world_owner_id)


def _as_strings(values: Any) -> np.ndarray:
    """Object array of strings (shared per distinct value) with None where missing."""
    data = np.ma.getdata(values)
    missing = np.ma.getmaskarray(values)
    uniq, inverse = np.unique(data, return_inverse=True)
    out = np.array([str(int(u)) for u in uniq] or [""], dtype=object)[inverse] if len(data) else np.empty(0, object)
    out[missing] = None
    return out


def _owner_strings(owner_ids: Any) -> np.ndarray:
    shifted = np.ma.MaskedArray(np.ma.getdata(owner_ids) + OWNER_ID_BASE, mask=np.ma.getmaskarray(owner_ids))
    return _as_strings(shifted)


def _owner_json(world: World) -> list[dict[str, Any]]:
    return [{
        "id": hubspot_owner_id(o.id), "email": o.email, "firstName": o.first_name, "lastName": o.last_name,
        "userId": USER_ID_BASE + o.id, "userIdIncludingInactive": USER_ID_BASE + o.id, "type": "PERSON",
        "teams": [{"id": "4012", "name": "Sales", "primary": True}], "archived": False,
        "createdAt": fmt.iso_ms(int(o.created_at.timestamp() * 1000)),
        "updatedAt": fmt.iso_ms(int(o.created_at.timestamp() * 1000)),
    } for o in world.owners]


def _company_columns(world: World) -> dict[str, Column]:
    a = world.accounts
    return {
        "name": Column(a.name), "domain": Column(a.domain), "industry": Column(a.industry),
        "numberofemployees": Column(a.employees), "annualrevenue": Column(a.annual_revenue, fmt.format_number),
        "country": Column(a.country), "founded_year": Column(_as_strings(a.founded_year)),
        "hubspot_owner_id": Column(_owner_strings(a.owner_id)),
        "createdate": Column(a.created_at, fmt.iso_ms), "hs_lastmodifieddate": Column(a.modified_at, fmt.iso_ms),
        "funding_stage": Column(a.funding_stage), "crm_system": Column(a.crm_system),
        "uses_data_warehouse": Column(a.uses_data_warehouse, fmt.format_bool),
        "web_visits_30d": Column(a.web_visits_30d), "retention_status": Column(a.retention_status),
        "churn_date": Column(a.churn_date, fmt.iso_date), "nps_score": Column(a.nps),
        "support_tickets_90d": Column(a.support_tickets_90d), "time_to_value_days": Column(a.time_to_value_days),
        "delivery_fit": Column(a.delivery_fit), "gross_margin_pct": Column(a.gross_margin_pct, fmt.format_number),
    }


def _deal_columns(world: World) -> dict[str, Column]:
    d = world.deals
    probability = {s.id: s.probability for p in PIPELINES for s in p.stages}
    stages, inverse = np.unique(d.stage.astype(str), return_inverse=True)
    prob = np.array([probability.get(s, np.nan) for s in stages] or [0.0])[inverse] if len(d) else np.empty(0)
    return {
        "dealname": Column(d.name), "amount": Column(d.amount, fmt.format_number), "dealstage": Column(d.stage),
        "pipeline": Column(d.pipeline), "closedate": Column(d.closed_at, fmt.iso_ms),
        "createdate": Column(d.created_at, fmt.iso_ms), "hs_lastmodifieddate": Column(d.modified_at, fmt.iso_ms),
        "hubspot_owner_id": Column(_owner_strings(d.owner_id)),
        "hs_is_closed_won": Column(d.is_won, fmt.format_bool), "hs_is_closed": Column(d.is_closed, fmt.format_bool),
        "hs_deal_stage_probability": Column(prob, lambda v: repr(float(v))),
        "closed_lost_reason": Column(d.loss_reason), "competitor": Column(d.competitor),
        "lead_source": Column(d.lead_source),
    }


def _note_columns(world: World) -> dict[str, Column]:
    n = world.notes
    owner_by_name = {o.full_name: hubspot_owner_id(o.id) for o in world.owners}
    names, inverse = np.unique(n.author.astype(str), return_inverse=True)
    owners = np.array([owner_by_name.get(x) for x in names] or [None], dtype=object)[inverse] if len(n) else n.author
    return {
        "hs_note_body": Column(n.text, lambda t: f"<p>{html.escape(t, quote=False)}</p>"),
        "hs_timestamp": Column(n.created_at, fmt.iso_ms), "hs_createdate": Column(n.created_at, fmt.iso_ms),
        "hs_lastmodifieddate": Column(n.created_at, fmt.iso_ms), "hubspot_owner_id": Column(owners),
    }


def load_portal(world: World, clock: Clock) -> Portal:
    """A portal serving `world`; the world's arrays are shared, never modified."""
    graph = AssociationGraph()
    graph.add_link("deals", "companies", Link(world.deals.account_id - 1))
    graph.add_link("notes", "companies", Link(world.notes.account_id - 1))
    graph.add_link("notes", "deals", Link(np.ma.getdata(world.notes.deal_id.filled(0)) - 1))
    graph.add_link("tasks", "companies", Link())
    portal = Portal(clock, seed_registries(), graph, _owner_json(world))
    columns = {"companies": _company_columns(world), "deals": _deal_columns(world), "notes": _note_columns(world),
               "tasks": {}}
    sizes = {"companies": len(world.accounts), "deals": len(world.deals), "notes": len(world.notes), "tasks": 0}
    for object_type, cols in columns.items():
        created = "createdate" if object_type in ("companies", "deals") else "hs_createdate"
        portal.stores[object_type] = ObjectStore(object_type, ID_BASES[object_type], created, sizes[object_type],
                                                 cols, portal.registries[object_type])
    return portal
