"""Turn the CRM-neutral World into a Salesforce org: standard objects plus the customer's custom fields.

Accounts carry the firmographics on standard fields (Industry, NumberOfEmployees, AnnualRevenue,
BillingCountry) and the rest on custom ``__c`` fields. Opportunity stages come from the world's
pipelines (IsClosed / IsWon follow the stage). The fields the worker owns are *not* in a new org:
`icp setup` or the admin's deployment of ``deploy/salesforce`` adds them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sandbox import _catalog as cat
from sandbox._catalog import PIPELINES
from sandbox.clock import Clock, from_ms, to_ms
from sandbox.salesforce.org import FieldDef, Org, salesforce_id
from sandbox.world import World

__all__ = ["load_org", "INTEGRATION_USERNAME", "TASK_STATUSES", "TASK_PRIORITIES", "PERMISSION_SET"]

INTEGRATION_USERNAME = "icp-integration@sandbox.invalid"
PERMISSION_SET = "ICP_Worker"
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
TASK_PRIORITIES = ("High", "Normal", "Low")
_STAGES = {s.id: s for p in PIPELINES for s in p.stages}
INDUSTRIES = ("Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications", "Construction",
              "Consulting", "Education", "Electronics", "Energy", "Engineering", "Entertainment", "Environmental",
              "Finance", "Food & Beverage", "Government", "Healthcare", "Hospitality", "Insurance", "Machinery",
              "Manufacturing", "Media", "Not For Profit", "Recreation", "Retail", "Shipping", "Technology",
              "Telecommunications", "Transportation", "Utilities", "Other")
"""Salesforce's standard Account Industry picklist, in its default order: the ``Industry`` standard value set as
Salesforce ships it (trailheadapps/dreamhouse-lwc, force-app/main/default/standardValueSets/
Industry.standardValueSet-meta.xml; the Account object reference types the field as a picklist)."""
INDUSTRY_OF_WORLD = {
    "COMPUTER_SOFTWARE": "Technology", "FINANCIAL_SERVICES": "Finance", "HOSPITAL_HEALTH_CARE": "Healthcare",
    "RETAIL": "Retail", "MARKETING_AND_ADVERTISING": "Media", "MECHANICAL_OR_INDUSTRIAL_ENGINEERING": "Engineering",
    "EDUCATION_MANAGEMENT": "Education", "REAL_ESTATE": "Other", "LOGISTICS_AND_SUPPLY_CHAIN": "Transportation",
    "TELECOMMUNICATIONS": "Telecommunications", "INSURANCE": "Insurance",
    "NONPROFIT_ORGANIZATION_MANAGEMENT": "Not For Profit",
}
"""The world's industries (HubSpot's codes) as a Salesforce org records them: the nearest standard value."""


def _system(*extra: FieldDef) -> list[FieldDef]:
    system = (("Id", "id", "Record ID"), ("IsDeleted", "boolean", "Deleted"),
              ("CreatedDate", "datetime", "Created Date"), ("LastModifiedDate", "datetime", "Last Modified Date"),
              ("SystemModstamp", "datetime", "System Modstamp"))
    return [*(FieldDef(name, kind, label, writable=False, nillable=False) for name, kind, label in system), *extra]


def _custom(name: str, kind: str, label: str, **extra: Any) -> FieldDef:
    return FieldDef(name, kind, label, custom=True, **extra)


ACCOUNT_FIELDS = _system(
    FieldDef("Name", "string", "Account Name", nillable=False, length=255),
    FieldDef("OwnerId", "reference", "Owner ID", nillable=False, length=18),
    FieldDef("Website", "url", "Website", length=255),
    FieldDef("Industry", "picklist", "Industry", length=255, picklist=INDUSTRIES),
    FieldDef("NumberOfEmployees", "int", "Employees"),
    FieldDef("AnnualRevenue", "currency", "Annual Revenue"),
    FieldDef("BillingCountry", "string", "Billing Country", length=80),
    _custom("Founded_Year__c", "double", "Founded Year"),
    _custom("Funding_Stage__c", "picklist", "Funding Stage", length=255, picklist=cat.FUNDING_STAGES,
            picklist_labels=tuple(cat.FUNDING_STAGE_LABELS[f] for f in cat.FUNDING_STAGES)),
    _custom("Uses_Data_Warehouse__c", "picklist", "Uses a Data Warehouse", length=255, picklist=("Yes", "No")),
    _custom("CRM_System__c", "picklist", "CRM System", length=255, picklist=cat.CRM_SYSTEMS),
    _custom("Web_Visits_30d__c", "double", "Web Visits (30 days)"),
    _custom("Retention_Status__c", "picklist", "Retention Status", length=255),
    _custom("Churn_Date__c", "date", "Churn Date"),
    _custom("NPS_Score__c", "double", "NPS Score"),
    _custom("Support_Tickets_90d__c", "double", "Support Tickets (90 days)"),
    _custom("Time_To_Value_Days__c", "double", "Time to Value (days)"),
    _custom("Delivery_Fit__c", "picklist", "Delivery Fit", length=255),
    _custom("Gross_Margin_Pct__c", "percent", "Gross Margin %"),
)
OPPORTUNITY_FIELDS = _system(
    FieldDef("Name", "string", "Name", nillable=False, length=120),
    FieldDef("AccountId", "reference", "Account ID", length=18),
    FieldDef("OwnerId", "reference", "Owner ID", nillable=False, length=18),
    FieldDef("StageName", "picklist", "Stage", nillable=False, length=255,
             picklist=tuple(dict.fromkeys(s.label for s in _STAGES.values()))),
    FieldDef("IsClosed", "boolean", "Closed", writable=False, nillable=False),
    FieldDef("IsWon", "boolean", "Won", writable=False, nillable=False),
    FieldDef("Probability", "percent", "Probability (%)"),
    FieldDef("Amount", "currency", "Amount"),
    FieldDef("CloseDate", "date", "Close Date"),
    FieldDef("LeadSource", "picklist", "Lead Source", length=255, picklist=cat.LEAD_SOURCES,
             picklist_labels=tuple(s.title() for s in cat.LEAD_SOURCES)),
    _custom("Loss_Reason__c", "picklist", "Loss Reason", length=255),
    _custom("Competitor__c", "string", "Competitor", length=255),
)
USER_FIELDS = _system(
    FieldDef("Username", "string", "Username", nillable=False, length=80),
    FieldDef("Email", "email", "Email", length=128), FieldDef("FirstName", "string", "First Name", length=40),
    FieldDef("LastName", "string", "Last Name", nillable=False, length=80),
    FieldDef("Name", "string", "Full Name", writable=False, length=121),
    FieldDef("IsActive", "boolean", "Active", nillable=False),
    FieldDef("UserType", "picklist", "User Type", writable=False, length=40),
)
NOTE_FIELDS = _system(
    FieldDef("ParentId", "reference", "Parent ID", nillable=False, length=18),
    FieldDef("Title", "string", "Title", nillable=False, length=80),
    FieldDef("Body", "textarea", "Body", length=32000),
    FieldDef("OwnerId", "reference", "Owner ID", nillable=False, length=18),
)
TASK_FIELDS = _system(
    FieldDef("Subject", "combobox", "Subject", length=255), FieldDef("Description", "textarea", "Description",
                                                                     length=32000),
    FieldDef("OwnerId", "reference", "Assigned To ID", nillable=False, length=18),
    FieldDef("WhatId", "reference", "Related To ID", length=18), FieldDef("WhoId", "reference", "Name ID", length=18),
    FieldDef("ActivityDate", "date", "Due Date Only"),
    FieldDef("Status", "picklist", "Status", nillable=False, length=255, picklist=TASK_STATUSES),
    FieldDef("Priority", "picklist", "Priority", nillable=False, length=255, picklist=TASK_PRIORITIES),
)
ACCOUNT_HISTORY_FIELDS = (
    FieldDef("Id", "id", "Account History ID", writable=False, nillable=False),
    FieldDef("IsDeleted", "boolean", "Deleted", writable=False, nillable=False),
    FieldDef("AccountId", "reference", "Account ID", writable=False, length=18),
    FieldDef("CreatedById", "reference", "Created By ID", writable=False, length=18),
    FieldDef("CreatedDate", "datetime", "Created Date", writable=False, nillable=False),
    FieldDef("Field", "picklist", "Changed Field", writable=False, length=255),
    FieldDef("DataType", "picklist", "Data Type", writable=False, length=40),
    FieldDef("OldValue", "anyType", "Old Value", writable=False, length=255),
    FieldDef("NewValue", "anyType", "New Value", writable=False, length=255),
)
"""AccountHistory as Salesforce's field reference lists it (https://developer.salesforce.com/docs/platform/
field-reference/references/field-reference/salesforce-field-reference-accountrolehistory.html shows the
StandardObjectNameHistory fields: Id, IsDeleted, <Object>Id, CreatedById, CreatedDate, Field, DataType,
OldValue, NewValue)."""
TRACKED_ACCOUNT_FIELDS = frozenset({"Industry", "NumberOfEmployees", "AnnualRevenue", "BillingCountry",
                                    "Founded_Year__c", "Funding_Stage__c", "Uses_Data_Warehouse__c",
                                    "CRM_System__c"})
"""Account fields whose history the sandbox org tracks (an org tracks at most 20 fields per object)."""
_SETUP_FIELDS = {
    "TaskStatus": _system(FieldDef("MasterLabel", "string"), FieldDef("ApiName", "string"),
                          FieldDef("IsDefault", "boolean"), FieldDef("IsClosed", "boolean"),
                          FieldDef("SortOrder", "int")),
    "TaskPriority": _system(FieldDef("MasterLabel", "string"), FieldDef("ApiName", "string"),
                            FieldDef("IsDefault", "boolean"), FieldDef("IsHighPriority", "boolean"),
                            FieldDef("SortOrder", "int")),
    "PermissionSet": _system(FieldDef("Name", "string", length=80), FieldDef("Label", "string", length=80)),
    "PermissionSetAssignment": _system(FieldDef("PermissionSetId", "reference"), FieldDef("AssigneeId", "reference")),
    "Organization": _system(FieldDef("Name", "string", "Name", writable=False, length=80),
                            FieldDef("DefaultCurrencyIsoCode", "picklist", "Currency", writable=False, length=255),
                            FieldDef("TimeZoneSidKey", "picklist", "Default Time Zone", writable=False, length=40)),
    "FieldPermissions": _system(FieldDef("ParentId", "reference"), FieldDef("SobjectType", "string"),
                                FieldDef("Field", "string"), FieldDef("PermissionsRead", "boolean"),
                                FieldDef("PermissionsEdit", "boolean")),
}
_PREFIXES = {"Organization": "00D", "Account": "001", "AccountHistory": "017", "Opportunity": "006", "User": "005",
             "Note": "002", "Task": "00T",
             "TaskStatus": "01J", "TaskPriority": "01K", "PermissionSet": "0PS", "PermissionSetAssignment": "0Pa",
             "FieldPermissions": "01k"}


def _value(array: Any, i: int) -> Any:
    value = array[i]
    if value is np.ma.masked or value is None:
        return None
    return value.item() if isinstance(value, np.generic) else value


def _industry(world_value: str | None) -> str | None:
    return None if world_value is None else INDUSTRY_OF_WORLD.get(world_value, "Other")


def _date(ms: Any) -> str | None:
    return None if ms is None else from_ms(int(ms)).date().isoformat()


def _accounts(org: Org, world: World, owner_ids: dict[int, str]) -> list[str]:
    a, table = world.accounts, org.tables["Account"]
    ids = []
    for i in range(len(a)):
        warehouse = _value(a.uses_data_warehouse, i)
        values = {
            "Name": _value(a.name, i), "Website": _value(a.domain, i),
            "OwnerId": owner_ids.get(_value(a.owner_id, i) or 0, org.user_id),
            "Industry": _industry(_value(a.industry, i)), "NumberOfEmployees": _value(a.employees, i),
            "AnnualRevenue": _value(a.annual_revenue, i), "BillingCountry": _value(a.country, i),
            "Founded_Year__c": _value(a.founded_year, i), "Funding_Stage__c": _value(a.funding_stage, i),
            "Uses_Data_Warehouse__c": None if warehouse is None else ("Yes" if warehouse else "No"),
            "CRM_System__c": _value(a.crm_system, i), "Web_Visits_30d__c": _value(a.web_visits_30d, i),
            "Retention_Status__c": _value(a.retention_status, i), "Churn_Date__c": _date(_value(a.churn_date, i)),
            "NPS_Score__c": _value(a.nps, i), "Support_Tickets_90d__c": _value(a.support_tickets_90d, i),
            "Time_To_Value_Days__c": _value(a.time_to_value_days, i),
            "Delivery_Fit__c": _value(a.delivery_fit, i), "Gross_Margin_Pct__c": _value(a.gross_margin_pct, i),
        }
        record_id = org.insert(table, values, int(a.created_at[i]))
        org.stamp(table.records[record_id], int(a.modified_at[i]))
        ids.append(record_id)
    return ids


def _opportunities(org: Org, world: World, account_ids: list[str], owner_ids: dict[int, str]) -> list[str]:
    d, table = world.deals, org.tables["Opportunity"]
    ids = []
    for i in range(len(d)):
        stage = _STAGES[str(d.stage[i])]
        values = {
            "Name": _value(d.name, i), "AccountId": account_ids[int(d.account_id[i]) - 1],
            "OwnerId": owner_ids.get(int(d.owner_id[i]), org.user_id), "StageName": stage.label,
            "IsClosed": stage.is_closed, "IsWon": stage.is_won, "Probability": stage.probability * 100,
            "Amount": _value(d.amount, i), "CloseDate": _date(_value(d.closed_at, i)),
            "LeadSource": _value(d.lead_source, i), "Loss_Reason__c": _value(d.loss_reason, i) or None,
            "Competitor__c": _value(d.competitor, i) or None,
        }
        record_id = org.insert(table, values, int(d.created_at[i]))
        org.stamp(table.records[record_id], int(d.modified_at[i]))
        ids.append(record_id)
    return ids


def _notes(org: Org, world: World, account_ids: list[str], deal_ids: list[str], owner_ids: dict[int, str]) -> None:
    n, table = world.notes, org.tables["Note"]
    by_name = {o.full_name: owner_ids[o.id] for o in world.owners}
    for i in range(len(n)):
        deal = _value(n.deal_id, i)
        parent = deal_ids[int(deal) - 1] if deal else account_ids[int(n.account_id[i]) - 1]
        values = {"ParentId": parent, "Title": str(n.kind[i]), "Body": str(n.text[i]),
                  "OwnerId": by_name.get(str(n.author[i]), org.user_id)}
        org.insert(table, values, int(n.created_at[i]))


def _users(org: Org, world: World) -> dict[int, str]:
    table = org.tables["User"]
    owner_ids = {}
    for owner in world.owners:
        stamp = to_ms(owner.created_at)
        owner_ids[owner.id] = org.insert(table, {
            "Username": owner.email, "Email": owner.email, "FirstName": owner.first_name,
            "LastName": owner.last_name, "Name": owner.full_name, "IsActive": True, "UserType": "Standard"}, stamp)
    return owner_ids


def _picklists(org: Org) -> None:
    for name, labels, flag in (("TaskStatus", TASK_STATUSES, "IsClosed"), ("TaskPriority", TASK_PRIORITIES,
                                                                            "IsHighPriority")):
        for order, label in enumerate(labels, start=1):
            marker = label == "Completed" if flag == "IsClosed" else label == "High"
            org.insert(org.tables[name], {"MasterLabel": label, "ApiName": label, "SortOrder": order,
                                          "IsDefault": label in ("Not Started", "Normal"), flag: marker})


def load_org(world: World, clock: Clock) -> Org:
    """An org holding ``world``; the integration user exists and owns nothing."""
    org = Org(clock, salesforce_id("00D", 1), salesforce_id("005", 9_000_000))
    for name, fields in (("Account", ACCOUNT_FIELDS), ("Opportunity", OPPORTUNITY_FIELDS), ("User", USER_FIELDS),
                         ("Note", NOTE_FIELDS), ("Task", TASK_FIELDS), ("AccountHistory", ACCOUNT_HISTORY_FIELDS),
                         *_SETUP_FIELDS.items()):
        org.add_table(name, _PREFIXES[name], fields)
    org.tracked["Account"] = TRACKED_ACCOUNT_FIELDS
    users = org.tables["User"]
    users.records[org.user_id] = {
        "Id": org.user_id, "IsDeleted": False, "Username": INTEGRATION_USERNAME, "Email": INTEGRATION_USERNAME,
        "FirstName": "ICP", "LastName": "Integration", "Name": "ICP Integration", "IsActive": True,
        "UserType": "Standard", "CreatedDate": world.now_ms, "LastModifiedDate": world.now_ms,
        "SystemModstamp": world.now_ms}
    owner_ids = _users(org, world)
    account_ids = _accounts(org, world, owner_ids)
    deal_ids = _opportunities(org, world, account_ids, owner_ids)
    _notes(org, world, account_ids, deal_ids, owner_ids)
    _picklists(org)
    org.insert(org.tables["Organization"], {"Name": "Sandbox Org", "DefaultCurrencyIsoCode": "USD",
                                            "TimeZoneSidKey": "America/New_York"}, world.now_ms)
    org.stages = {s.label: (s.is_closed, s.is_won, s.probability * 100) for s in _STAGES.values()}
    return org
