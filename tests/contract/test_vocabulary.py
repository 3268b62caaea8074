"""The CRM's words, on every connector: field and option labels, money fields and the currency, in the reasons.

HubSpot serves them from its properties API and its account details; Salesforce from describe
and the Organization record. A rep then reads "Industry is Computer Software: +25 of 25" on the
record, never a raw option code.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from connectors.base import PortalDetails
from connectors.errors import FatalError
from tests.contract.harness import WORLD_NOW, CrmHarness, approve_starter
from worker.context import Context
from worker.ingest.vocabulary import load_field_labels, refresh_vocabulary
from worker.operate.cycle import run_cycle
from worker.store import AccountScore, CrmPortal

RAW_CODE = re.compile(r"\b[A-Z]{2,}(?:_[A-Z]+)+\b|\b[a-z]+_[a-z_]+\b")
SOFTWARE = {"hubspot": ("COMPUTER_SOFTWARE", "Computer Software"), "salesforce": ("Technology", "Technology")}
"""Each CRM's own value for software companies, and the label it shows (Salesforce's standard Industry picklist
shows its values as they are)."""


def test_connector_reads_labels_and_the_currency(ctx: Context, crm: CrmHarness) -> None:
    """Field labels, option labels keyed by stored value, money fields, and the portal's currency."""
    attributes = ctx.mapping.accounts.attributes
    names = [attributes[a].field for a in ("industry", "employees", "annual_revenue", "funding_stage")]
    found = {d.name.lower(): d for d in crm.connector.read_field_definitions("accounts", names)}
    industry = found[attributes["industry"].field.lower()]
    value, label = SOFTWARE[crm.crm]
    assert industry.label == "Industry" and industry.options[value] == label
    assert found[attributes["annual_revenue"].field.lower()].money
    assert not found[attributes["employees"].field.lower()].money
    assert found[attributes["funding_stage"].field.lower()].options["series_a"] == "Series A"
    assert crm.connector.read_portal_details().currency == "USD"


def test_reasons_on_the_record_use_the_crm_labels(ctx: Context, crm: CrmHarness) -> None:
    """After a cycle, every stored reason names fields and values as the CRM shows them, and the CRM holds them."""
    approve_starter(ctx)
    crm.set_clock(WORLD_NOW + timedelta(hours=2))
    assert run_cycle(ctx, crm.connector).status == "ok"
    labels = load_field_labels(ctx.engine, ctx.name, ctx.mapping)
    assert labels.currency == "USD" and "annual_revenue" in labels.money
    with Session(ctx.engine) as session:
        reasons = [r for s in session.execute(select(AccountScore)).scalars() for r in s.reasons]
    assert any(r.startswith(f"Industry is {SOFTWARE[crm.crm][1]}: +25 of 25") for r in reasons)
    assert any(r.startswith("Annual Revenue $") for r in reasons)
    assert not [r for r in reasons if RAW_CODE.search(r)]
    owned = ctx.mapping.owned
    assert owned is not None
    shown = "\n".join(str(crm.account_values(i)[owned.reasons]) for i in crm.account_ids()[:40])
    assert " of " in shown and not RAW_CODE.search(shown)


def test_labels_are_read_at_most_once_a_day(ctx: Context, crm: CrmHarness) -> None:
    """The labels are refreshed when older than a day, not on every run."""
    now = WORLD_NOW + timedelta(hours=2)
    assert refresh_vocabulary(ctx.engine, ctx.name, crm.connector, ctx.mapping, now)
    assert not refresh_vocabulary(ctx.engine, ctx.name, crm.connector, ctx.mapping, now + timedelta(hours=5))
    assert refresh_vocabulary(ctx.engine, ctx.name, crm.connector, ctx.mapping, now + timedelta(days=1, hours=1))
    with Session(ctx.engine) as session:
        portal = session.get(CrmPortal, ctx.name)
        assert portal is not None and portal.currency == "USD"


def test_a_crm_that_cannot_say_its_labels_never_stops_the_run(ctx: Context, crm: CrmHarness,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused call is logged; the cycle still scores and writes, with what the CRM could say."""
    def refuse() -> PortalDetails:
        raise FatalError("403 Forbidden: missing scope", endpoint="account details", status=403)

    monkeypatch.setattr(crm.connector, "read_portal_details", refuse)
    approve_starter(ctx)
    crm.set_clock(WORLD_NOW + timedelta(hours=2))
    summary = run_cycle(ctx, crm.connector)
    assert summary.status == "ok" and summary.written == len(crm.account_ids())
    with Session(ctx.engine) as session:
        portal = session.get(CrmPortal, ctx.name)
        reasons = [r for s in session.execute(select(AccountScore)).scalars() for r in s.reasons]
    assert portal is not None and portal.currency is None
    assert any(r.startswith(f"Industry is {SOFTWARE[crm.crm][1]}: +25 of 25") for r in reasons)
    assert not any("$" in r for r in reasons)
