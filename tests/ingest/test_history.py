"""CRM property history as leakage evidence (issue 9, item 2), against both sandbox CRMs over real HTTP.

The sync reads when each account's current scoring-attribute values were set (HubSpot
``propertiesWithHistory`` on the companies batch read, Salesforce AccountHistory), economically: only the
mapped scoring attributes, only accounts with closed deals, only again when an account changed, in
batches. Refinement then counts the closed deals whose account's value was set after the deal closed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import yaml
from sqlalchemy import Engine, select
from sqlmodel import Session

from connectors.base import ValueChange
from tests.contract.harness import WORLD_NOW, hubspot_harness, make_context, ready_context, salesforce_harness
from tests.salesforce.conftest import DEPLOY
from worker.context import Context
from worker.govern.proposals import declared_timing, load_evidence
from worker.ingest.csv_import import CsvImport, load_csv_mapping
from worker.ingest.history import attribute_timing, current_since
from worker.ingest.mapping import FieldMapping
from worker.ingest.sync import Sync
from worker.settings import DEFAULT_CONFIG
from worker.store import AttributeHistory, Deal

BATCH_READ = "POST /crm/v3/objects/companies/batch/read"
EDITED_AT = WORLD_NOW + timedelta(minutes=90)


def closed_accounts(engine: Engine) -> dict[str, int]:
    """Closed (won or lost) deals per account, from the store."""
    counts: dict[str, int] = {}
    with Session(engine) as session:
        for deal in session.execute(select(Deal).where(Deal.outcome.in_(("won", "lost")))).scalars():  # type: ignore[attr-defined]
            if deal.account_id and deal.closed_at is not None:
                counts[deal.account_id] = counts.get(deal.account_id, 0) + 1
    return counts


def timing(ctx: Any) -> dict[str, Any]:
    _, deals, _ = load_evidence(ctx.engine, ctx.name)
    return attribute_timing(ctx.engine, ctx.name, deals, declared_timing(ctx))


@pytest.fixture
def hubspot(engine: Engine) -> Iterator[tuple[Any, Any]]:
    with hubspot_harness(accounts=200) as harness:
        yield harness, ready_context(engine, harness.connector)


def sync(ctx: Any, connector: Any, at: datetime) -> None:
    Sync(ctx.engine, ctx.name, connector, ctx.mapping, "r").run(at)


def test_hubspot_history_counts_values_set_after_close(hubspot: tuple[Any, Any]) -> None:
    """Funding stage edited after five accounts' deals closed: exactly their closed deals are counted."""
    hs, ctx = hubspot
    sync(ctx, hs.connector, WORLD_NOW + timedelta(hours=1))
    closed = closed_accounts(ctx.engine)
    expected_calls = math.ceil(len(closed) / 50)
    assert hs.server.calls[BATCH_READ] == expected_calls
    before = timing(ctx)
    checked = sum(closed.values())
    assert before["funding_stage"].history_checked > 0
    edited = sorted(closed)[:5]
    for account_id in edited:
        current = hs.server.companies.value(account_id, "funding_stage")
        hs.server.update_company(account_id, {"funding_stage": "public" if current != "public" else "seed"},
                                 modified_at=EDITED_AT)
    hs.server.reset_calls()
    sync(ctx, hs.connector, WORLD_NOW + timedelta(hours=2))
    assert hs.server.calls[BATCH_READ] == 1  # only the five changed accounts are read again
    after = timing(ctx)
    newly = sum(closed[a] for a in edited)
    assert after["funding_stage"].set_after_close - before["funding_stage"].set_after_close == newly
    assert after["employees"].set_after_close == before["employees"].set_after_close
    assert after["funding_stage"].history_checked <= checked
    hs.server.reset_calls()
    sync(ctx, hs.connector, WORLD_NOW + timedelta(hours=3))
    assert hs.server.calls[BATCH_READ] == 0  # nothing changed, nothing read


def test_mapping_declaration_reaches_the_timing_and_skips_history(engine: Engine, tmp_path: Any) -> None:
    """``known: after_close`` in the CRM mapping is passed on, and that attribute's history is not read."""
    with hubspot_harness(accounts=60) as hs:
        document = yaml.safe_load((DEFAULT_CONFIG / "hubspot-mapping.yaml").read_text(encoding="utf-8"))
        document["accounts"]["attributes"]["web_visits_30d"]["known"] = "after_close"
        document["accounts"]["attributes"]["industry"]["known"] = "before_close"
        path = tmp_path / "mapping.yaml"
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        base = make_context(engine)
        ctx = Context(base.settings, base.name, base.config.model_copy(update={"mapping": path}), engine)
        assert isinstance(ctx.mapping, FieldMapping)
        hs.connector.setup_fields(ctx.mapping.setup_specs())
        sync(ctx, hs.connector, WORLD_NOW + timedelta(hours=1))
        result = timing(ctx)
        assert result["web_visits_30d"].declared == "after_close" and result["web_visits_30d"].history_checked == 0
        assert result["industry"].declared == "before_close" and result["industry"].history_checked > 0
        with Session(engine) as session:
            attributes = {r.attribute for r in session.execute(select(AttributeHistory)).scalars()}
        assert "web_visits_30d" not in attributes and "industry" in attributes


def test_hubspot_sandbox_history_shape_and_batch_limit(hubspot: tuple[Any, Any]) -> None:
    """The sandbox answers propertiesWithHistory as HubSpot documents it and refuses more than 50 inputs."""
    hs, _ = hubspot
    ids = hs.account_ids()
    url = f"{hs.server.url}/crm/v3/objects/companies/batch/read"
    headers = {"Authorization": "Bearer t0ken-sandbox"}
    body = {"inputs": [{"id": i} for i in ids[:2]], "properties": ["industry"], "propertiesWithHistory": ["industry"]}
    answer = requests.post(url, json=body, headers=headers, timeout=10)
    assert answer.status_code == 200
    entry = answer.json()["results"][0]["propertiesWithHistory"]["industry"][0]
    assert {"value", "timestamp", "sourceType"} <= set(entry)
    too_many = dict(body, inputs=[{"id": i} for i in ids[:51]])
    refused = requests.post(url, json=too_many, headers=headers, timeout=10)
    assert refused.status_code == 400 and refused.json()["category"] == "VALIDATION_ERROR"


def test_salesforce_account_history(engine: Engine) -> None:
    """Salesforce: AccountHistory rows of tracked fields show the values set after close; an org that
    tracks nothing gives no history and no error."""
    with salesforce_harness(accounts=120) as sf:
        sf.server.deploy(DEPLOY)
        ctx = ready_context(engine, sf.connector, "salesforce")
        sync(ctx, sf.connector, WORLD_NOW + timedelta(hours=1))
        assert timing(ctx).get("funding_stage") is None or timing(ctx)["funding_stage"].history_checked == 0
        closed = closed_accounts(engine)
        edited = sorted(closed)[:4]
        for account_id in edited:
            current = sf.server.values("Account", account_id).get("Funding_Stage__c")
            sf.server.update_record("Account", account_id,
                                    {"Funding_Stage__c": "Public" if current != "Public" else "Seed"},
                                    modified_at=EDITED_AT)
        sync(ctx, sf.connector, WORLD_NOW + timedelta(hours=2))
        result = timing(ctx)["funding_stage"]
        assert result.history_checked == result.set_after_close == sum(closed[a] for a in edited)
        sf.server.org.tracked.clear()
        sf.server.org.tables.pop("AccountHistory")
        sf.server.update_record("Account", edited[0], {"NumberOfEmployees": 5}, modified_at=EDITED_AT)
        sync(ctx, sf.connector, WORLD_NOW + timedelta(hours=3))  # INVALID_TYPE: no history, no failure


def test_csv_declarations_are_kept_for_refinement(engine: Engine, tmp_path: Any) -> None:
    """A CSV mapping's ``known:`` declarations are stored with the import and reach the timing."""
    document = yaml.safe_load((DEFAULT_CONFIG / "csv-mapping.example.yaml").read_text(encoding="utf-8"))
    document["accounts"]["attributes"]["country"]["known"] = "after_close"
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("Company ID,Company name,Company owner,Industry,Number of employees,Annual revenue,Country,"
                        "Uses a data warehouse,Customer status,Churn date,NPS,Support tickets (90 days),"
                        "Gross margin %,Days to first value,Delivery fit\nC1,A,o,x,1,1,DE,yes,,,,,,,\n",
                        encoding="utf-8")
    CsvImport(engine, "main", load_csv_mapping(path), "r").run(None, accounts)
    result = attribute_timing(engine, "main", [], {})
    assert result["country"].declared == "after_close" and result["industry"].declared == "before_close"


def test_current_since_takes_the_oldest_of_the_newest_run() -> None:
    """A value saved again unchanged keeps its first date; an emptied field has none."""
    t = [datetime(2026, m, 1, tzinfo=UTC) for m in (1, 2, 3)]
    assert current_since([ValueChange(t[2], "b"), ValueChange(t[1], "b"), ValueChange(t[0], "a")]) == t[1]
    assert current_since([ValueChange(t[2], ""), ValueChange(t[0], "a")]) is None
    assert current_since([]) is None
