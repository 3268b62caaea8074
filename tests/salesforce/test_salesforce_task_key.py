"""The review key is an External ID as Salesforce's describe reports it, and Tasks are upserted on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from connectors.base import TaskRequest
from tests.contract.harness import WORLD_NOW, SalesforceHarness, make_context, salesforce_harness
from worker.govern.tasks import task_key

UPSERT = "PATCH /services/data/v{version}/composite/sobjects/{sobject}/{field}"
CREATE = "POST /services/data/v{version}/composite/sobjects"
CREATE_ONE = "POST /services/data/v{version}/sobjects/{sobject}"


@pytest.fixture
def sf() -> Iterator[SalesforceHarness]:
    with salesforce_harness(accounts=20) as harness:
        yield harness


def test_describe_uses_salesforce_key_names(sf: SalesforceHarness, engine: object) -> None:
    """DescribeSObjectResult Field says ``externalId`` (and ``idLookup``), never ``externalIdField``."""
    sf.connector.setup_fields(make_context(engine, "salesforce").mapping.setup_specs())  # type: ignore[arg-type]
    key = sf.connector.schema.fields("Task", refresh=True)["ICP_Review_Key__c"]
    assert key["externalId"] is True and key["idLookup"] is True and key["unique"] is True
    assert "externalIdField" not in key
    name = sf.connector.schema.fields("Account")["Name"]
    assert name["externalId"] is False and {"caseSensitive", "nillable", "createable", "updateable"} <= set(name)


def test_tasks_are_upserted_on_the_review_key(sf: SalesforceHarness, engine: object) -> None:
    """With the key an External ID, creation is an upsert on it: the same key twice is one Task."""
    sf.connector.setup_fields(make_context(engine, "salesforce").mapping.setup_specs())  # type: ignore[arg-type]
    sf.server.reset_calls()
    owner = sf.owner_ids()[0]
    request = TaskRequest(key=task_key("sf", "upsert"), subject="Review", body="Please review.",
                          due=WORLD_NOW + timedelta(days=3), owner_id=owner, account_id=sf.account_ids()[0])
    first = sf.connector.create_task(request)
    assert sf.connector.create_task(request) == first
    assert sf.server.calls[UPSERT] == 2 and sf.server.calls[CREATE] == 0 and sf.server.calls[CREATE_ONE] == 0
    assert [t["key"] for t in sf.tasks()] == [request.key]
