"""The property definitions and groups a fresh sandbox portal starts with."""

from __future__ import annotations

from typing import Any

from sandbox import _catalog as cat
from sandbox.hubspot.schema import GroupDef, PropertyDef, PropertyRegistry, options

__all__ = ["seed_registries"]

_BOOL_OPTIONS = options(["true", "false"], ["Yes", "No"])


def _std(name: str, label: str, type_: str, field_type: str, group: str, **kw: Any) -> PropertyDef:
    return PropertyDef(name, label, type_, field_type, group, hubspot_defined=True, **kw)


def _custom(name: str, label: str, type_: str, field_type: str, group: str, **kw: Any) -> PropertyDef:
    return PropertyDef(name, label, type_, field_type, group, **kw)


def _system(created: str, group: str) -> list[PropertyDef]:
    return [
        _std(created, "Create Date", "datetime", "date", group, read_only=True),
        _std("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", group, read_only=True),
        _std("hs_object_id", "Record ID", "number", "number", group, read_only=True),
        _std("hubspot_owner_id", "Owner", "enumeration", "select", group, external_options=True),
    ]


def _companies() -> PropertyRegistry:
    reg = PropertyRegistry("companies")
    for name, label in (("companyinformation", "Company information"), ("enrichment", "Enrichment"),
                        ("customer_health", "Customer health")):
        reg.add_group(GroupDef(name, label))
    g = "companyinformation"
    defs = _system("createdate", g) + [
        _std("name", "Company name", "string", "text", g),
        _std("domain", "Company Domain Name", "string", "text", g),
        _std("industry", "Industry", "enumeration", "select", g,
             options=options(cat.INDUSTRIES, [cat.INDUSTRY_LABELS[i] for i in cat.INDUSTRIES])),
        _std("numberofemployees", "Number of Employees", "number", "number", g),
        _std("annualrevenue", "Annual Revenue", "number", "number", g, show_currency_symbol=True),
        _std("country", "Country/Region", "string", "text", g),
        _std("city", "City", "string", "text", g),
        _std("phone", "Phone Number", "string", "phonenumber", g),
        _std("website", "Website URL", "string", "text", g),
        _std("description", "Description", "string", "textarea", g),
        _std("founded_year", "Year Founded", "string", "text", g),
        _std("type", "Type", "enumeration", "select", g,
             options=options(["PROSPECT", "PARTNER", "RESELLER", "VENDOR", "OTHER"])),
        _std("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", g, options=options(
            ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer",
             "evangelist", "other"])),
        _std("hs_ideal_customer_profile", "Ideal Customer Profile Tier", "enumeration", "radio", g,
             options=options(["tier_1", "tier_2", "tier_3"], ["Tier 1", "Tier 2", "Tier 3"])),
        _std("hs_is_target_account", "Target Account", "bool", "booleancheckbox", g, options=_BOOL_OPTIONS),
        _custom("funding_stage", "Funding stage", "enumeration", "select", "enrichment",
                options=options(cat.FUNDING_STAGES, [cat.FUNDING_STAGE_LABELS[f] for f in cat.FUNDING_STAGES])),
        _custom("uses_data_warehouse", "Uses a data warehouse", "bool", "booleancheckbox", "enrichment",
                options=_BOOL_OPTIONS),
        _custom("crm_system", "CRM system", "enumeration", "select", "enrichment", options=options(cat.CRM_SYSTEMS)),
        _custom("web_visits_30d", "Web visits (30 days)", "number", "number", "enrichment"),
        _custom("retention_status", "Retention status", "enumeration", "select", "customer_health",
                options=options(cat.RETENTION_STATUSES)),
        _custom("churn_date", "Churn date", "date", "date", "customer_health"),
        _custom("nps_score", "NPS score", "number", "number", "customer_health"),
        _custom("support_tickets_90d", "Support tickets (90 days)", "number", "number", "customer_health"),
        _custom("time_to_value_days", "Time to value (days)", "number", "number", "customer_health"),
        _custom("delivery_fit", "Delivery fit", "enumeration", "select", "customer_health",
                options=options(cat.DELIVERY_FITS)),
        _custom("gross_margin_pct", "Gross margin %", "number", "number", "customer_health"),
    ]
    for d in defs:
        reg.add(d)
    return reg


def _deals() -> PropertyRegistry:
    reg = PropertyRegistry("deals")
    reg.add_group(GroupDef("dealinformation", "Deal information"))
    reg.add_group(GroupDef("deal_insights", "Deal insights"))
    g = "dealinformation"
    stages = [s for p in cat.PIPELINES for s in p.stages]
    defs = _system("createdate", g) + [
        _std("dealname", "Deal Name", "string", "text", g),
        _std("amount", "Amount", "number", "number", g, show_currency_symbol=True),
        _std("dealstage", "Deal Stage", "enumeration", "radio", g,
             options=options([s.id for s in stages], [s.label for s in stages])),
        _std("pipeline", "Pipeline", "enumeration", "select", g,
             options=options([p.id for p in cat.PIPELINES], [p.label for p in cat.PIPELINES])),
        _std("closedate", "Close Date", "datetime", "date", g),
        _std("hs_is_closed_won", "Is Closed Won", "bool", "booleancheckbox", g, read_only=True, calculated=True,
             options=_BOOL_OPTIONS),
        _std("hs_is_closed", "Is Deal Closed?", "bool", "booleancheckbox", g, read_only=True, calculated=True,
             options=_BOOL_OPTIONS),
        _std("hs_deal_stage_probability", "Deal probability", "number", "number", g, read_only=True, calculated=True),
        _std("closed_lost_reason", "Closed Lost Reason", "string", "textarea", g),
        _custom("competitor", "Competitor", "string", "text", "deal_insights"),
        _custom("lead_source", "Lead source", "enumeration", "select", "deal_insights",
                options=options(cat.LEAD_SOURCES)),
    ]
    for d in defs:
        reg.add(d)
    return reg


def _engagements(object_type: str, group: str, label: str, extra: list[PropertyDef]) -> PropertyRegistry:
    reg = PropertyRegistry(object_type)
    reg.add_group(GroupDef(group, label))
    timestamp = _std("hs_timestamp", "Activity date", "datetime", "date", group)
    for d in [*_system("hs_createdate", group), timestamp, *extra]:
        reg.add(d)
    return reg


def seed_registries() -> dict[str, PropertyRegistry]:
    """Fresh registries for companies, deals, notes and tasks."""
    notes = _engagements("notes", "engagement", "Engagement", [
        _std("hs_note_body", "Note body", "string", "html", "engagement"),
    ])
    tasks = _engagements("tasks", "task", "Task information", [
        _std("hs_task_subject", "Task Title", "string", "text", "task"),
        _std("hs_task_body", "Notes", "string", "html", "task"),
        _std("hs_task_status", "Task Status", "enumeration", "select", "task",
             options=options(["NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"])),
        _std("hs_task_priority", "Priority", "enumeration", "select", "task",
             options=options(["NONE", "LOW", "MEDIUM", "HIGH"])),
        _std("hs_task_type", "Task Type", "enumeration", "select", "task",
             options=options(["EMAIL", "CALL", "TODO", "LINKED_IN"])),
    ])
    return {"companies": _companies(), "deals": _deals(), "notes": notes, "tasks": tasks}
