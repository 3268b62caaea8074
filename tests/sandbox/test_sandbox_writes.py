"""Writes: batch update (200/207), batch read, v4 associations, tasks, and Python-side state changes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInput,
    BatchReadInputSimplePublicObjectId,
    BatchResponseSimplePublicObject,
    BatchResponseSimplePublicObjectWithErrors,
)
from hubspot.crm.companies.exceptions import ApiException
from hubspot.crm.objects.tasks import PublicObjectSearchRequest, SimplePublicObjectInputForCreate

from sandbox import HubSpotSandbox, ValidationFailed

T = 5


def _update(client: HubSpot, rows: list[tuple[str, dict[str, str]]]) -> Any:
    batch = BatchInputSimplePublicObjectBatchInput(inputs=[{"id": i, "properties": p} for i, p in rows])
    return client.crm.companies.batch_api.update(batch, _request_timeout=T)


def test_batch_update_writes_and_stamps_only_changes(client: HubSpot, hs: HubSpotSandbox, now: datetime) -> None:
    """200 COMPLETE; changed records get the clock's time, unchanged values keep their old stamp."""
    hs.clock.set(now)
    a, b = [i for i in hs.companies.ids() if hs.companies.value(i, "industry")][:2]
    same = str(hs.companies.value(b, "industry"))
    before_b = hs.companies.value(b, "hs_lastmodifieddate")
    new = "1" if hs.companies.value(a, "nps_score") == "0" else "0"
    result = _update(client, [(a, {"nps_score": new}), (b, {"industry": same})])
    assert isinstance(result, BatchResponseSimplePublicObject) and result.status == "COMPLETE"
    assert {r.id for r in result.results} == {a, b}
    assert hs.companies.value(a, "nps_score") == new
    assert hs.companies.modified_at(a) == now
    assert hs.companies.value(b, "hs_lastmodifieddate") == before_b


def test_batch_update_unknown_ids_give_207(client: HubSpot, hs: HubSpotSandbox) -> None:
    """Unknown ids come back in a 207 whose errors[].context.ids name them; the rest is written."""
    good = hs.companies.ids()[3]
    result = _update(client, [(good, {"delivery_fit": "good"}), ("42", {"delivery_fit": "poor"})])
    assert isinstance(result, BatchResponseSimplePublicObjectWithErrors)
    assert result.num_errors == 1 and result.errors[0].category == "OBJECT_NOT_FOUND"
    assert result.errors[0].context == {"ids": ["42"]}
    assert [r.id for r in result.results] == [good]


def test_fail_ids_on_update_hook(client: HubSpot, hs: HubSpotSandbox) -> None:
    """fail_ids_on_update makes chosen ids fail for the given number of calls, then succeed."""
    a, b = hs.companies.ids()[5:7]
    hs.fail_ids_on_update({b}, times=1, category="VALIDATION_ERROR")
    first = _update(client, [(a, {"nps_score": "11"}), (b, {"nps_score": "11"})])
    assert first.errors[0].context["ids"] == [b] and first.errors[0].category == "VALIDATION_ERROR"
    assert [r.id for r in first.results] == [a]
    assert hs.companies.value(b, "nps_score") != "11"
    second = _update(client, [(b, {"nps_score": "11"})])
    assert not getattr(second, "errors", None) and hs.companies.value(b, "nps_score") == "11"


def test_batch_update_rejects_bad_input(client: HubSpot, hs: HubSpotSandbox) -> None:
    """More than 100 inputs, unknown properties and invalid enumeration values answer 400."""
    ids = hs.companies.ids()
    cases = [
        [(i, {"nps_score": "1"}) for i in ids[:101]],
        [(ids[0], {"icp_fit_score": "80"})],
        [(ids[0], {"delivery_fit": "excellent"})],
    ]
    for rows in cases:
        with pytest.raises(ApiException) as info:
            _update(client, rows)
        assert info.value.status == 400
    with pytest.raises(ApiException) as info:
        _update(client, cases[1])
    assert "PROPERTY_DOESNT_EXIST" in json.loads(info.value.body)["message"]


def test_batch_read(client: HubSpot, hs: HubSpotSandbox) -> None:
    """Batch read returns requested properties for known ids and a 207 error for unknown ones."""
    ids = hs.companies.ids()[:3]
    request = BatchReadInputSimplePublicObjectId(inputs=[{"id": i} for i in ids + ["7"]],
                                                 properties=["domain"], properties_with_history=[])
    result = client.crm.companies.batch_api.read(request, _request_timeout=T)
    assert [r.properties["domain"] for r in result.results] == [hs.companies.value(i, "domain") for i in ids]
    assert result.errors[0].context["ids"] == ["7"]


def test_v4_association_batch_read(client: HubSpot, hs: HubSpotSandbox) -> None:
    """v4 deal->company batch read gives typed associations; unassociated ids come back as errors."""
    deal_ids = hs.deals.ids()[:5]
    request = BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": i} for i in deal_ids + ["1"]])
    result = client.crm.associations.v4.batch_api.get_page("deals", "companies", request, _request_timeout=T)
    assert {r._from.id for r in result.results} == set(deal_ids)
    first = next(r for r in result.results if r._from.id == deal_ids[0])
    assert [str(t.to_object_id) for t in first.to] == hs.associated_ids("deals", deal_ids[0], "companies")
    assert {a.type_id for a in first.to[0].association_types} == {5, 341}
    assert result.errors[0].context["fromObjectId"] == ["1"]
    with pytest.raises(Exception) as info:
        too_many = BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": str(i)} for i in range(1001)])
        client.crm.associations.v4.batch_api.get_page("deals", "companies", too_many, _request_timeout=T)
    assert getattr(info.value, "status", None) == 400


def test_task_create_and_find_by_token(client: HubSpot, hs: HubSpotSandbox) -> None:
    """Task create answers 201 with the record; search with CONTAINS_TOKEN finds it by a body token."""
    company = hs.companies.ids()[0]
    owner = hs.portal.owners[0]["id"]
    task = client.crm.objects.tasks.basic_api.create(SimplePublicObjectInputForCreate(
        properties={"hs_task_subject": "Review ICP fit", "hs_task_body": "Score moved. ref icpref-abc123",
                    "hs_timestamp": "2025-06-02T09:00:00Z", "hubspot_owner_id": owner, "hs_task_priority": "HIGH"},
        associations=[{"to": {"id": company},
                       "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}]}],
    ), _request_timeout=T)
    assert task is not None and task.properties["hs_task_status"] == "NOT_STARTED"
    assert hs.associated_ids("tasks", task.id, "companies") == [company]
    found = client.crm.objects.tasks.search_api.do_search(PublicObjectSearchRequest(filter_groups=[{"filters": [
        {"propertyName": "hs_task_body", "operator": "CONTAINS_TOKEN", "value": "icpref-abc123"}]}]),
        _request_timeout=T)
    assert [r.id for r in found.results] == [task.id]
    listed = client.crm.objects.tasks.basic_api.get_page(_request_timeout=T)
    assert [r.id for r in listed.results] == [task.id]


def test_task_without_timestamp_is_rejected(client: HubSpot) -> None:
    """hs_timestamp is required on tasks."""
    with pytest.raises(Exception) as info:
        client.crm.objects.tasks.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"hs_task_subject": "x"}), _request_timeout=T)
    assert getattr(info.value, "status", None) == 400


def test_python_side_state_changes(hs: HubSpotSandbox, now: datetime) -> None:
    """update_company, add_deal and touch change what the API serves, with controlled timestamps."""
    company = hs.companies.ids()[1]
    at = now - timedelta(hours=1)
    industry = "RETAIL" if hs.companies.value(company, "industry") != "RETAIL" else "INSURANCE"
    assert hs.update_company(company, {"industry": industry}, modified_at=at)
    assert hs.companies.value(company, "industry") == industry and hs.companies.modified_at(company) == at
    assert not hs.update_company(company, {"industry": industry})
    assert hs.companies.modified_at(company) == at
    with pytest.raises(ValidationFailed):
        hs.update_company(company, {"industry": "SPACE_TRAVEL"})
    deal = hs.add_deal(company, {"dealstage": "closedwon", "amount": "1200"}, created_at=at)
    assert hs.deals.value(deal, "hs_is_closed_won") == "true"
    assert company in hs.associated_ids("deals", deal, "companies")
    assert deal in hs.associated_ids("companies", company, "deals")
