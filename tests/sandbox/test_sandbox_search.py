"""The search endpoints: filters, one sort, offset paging, totals and the result cap."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
import urllib3
from hubspot import HubSpot
from hubspot.crm.companies import PublicObjectSearchRequest
from hubspot.crm.companies.exceptions import ApiException
from hubspot.crm.deals import PublicObjectSearchRequest as DealSearchRequest

from sandbox import HubSpotSandbox, World

T = 5


def _search(client: HubSpot, filters: list[dict[str, Any]], **kw: Any) -> Any:
    request = PublicObjectSearchRequest(filter_groups=[{"filters": filters}] if filters else [], **kw)
    return client.crm.companies.search_api.do_search(request, _request_timeout=T)


def _all_pages(client: HubSpot, filters: list[dict[str, Any]], **kw: Any) -> list[Any]:
    results, after = [], None
    while True:
        page = _search(client, filters, after=after, limit=100, **kw)
        results.extend(page.results)
        if page.paging is None:
            return results
        after = page.paging.next.after
        assert after.isdigit()


def test_filters_match_the_data(client: HubSpot, small_world: World) -> None:
    """EQ plus BETWEEN select exactly the matching companies and `total` counts them."""
    accounts = small_world.accounts
    expected = sum(1 for a in accounts.rows() if a.industry == "COMPUTER_SOFTWARE"
                   and a.employees is not None and 200 <= a.employees <= 2000)
    page = _search(client, [
        {"propertyName": "industry", "operator": "EQ", "value": "computer_software"},
        {"propertyName": "numberofemployees", "operator": "BETWEEN", "value": "200", "highValue": "2000"},
    ], properties=["industry", "numberofemployees"], limit=200)
    assert page.total == expected == len(page.results) > 0
    assert all(200 <= int(r.properties["numberofemployees"]) <= 2000 for r in page.results)


def test_filter_groups_are_ored_and_in_works(client: HubSpot) -> None:
    """Two filter groups return the union; IN matches any listed value."""
    one = _search(client, [{"propertyName": "funding_stage", "operator": "EQ", "value": "seed"}]).total
    two = _search(client, [{"propertyName": "funding_stage", "operator": "EQ", "value": "growth"}]).total
    both = client.crm.companies.search_api.do_search(PublicObjectSearchRequest(filter_groups=[
        {"filters": [{"propertyName": "funding_stage", "operator": "EQ", "value": "seed"}]},
        {"filters": [{"propertyName": "funding_stage", "operator": "EQ", "value": "growth"}]},
    ]), _request_timeout=T).total
    listed = _search(client, [{"propertyName": "funding_stage", "operator": "IN", "values": ["seed", "growth"]}]).total
    assert both == listed == one + two > 0


def test_modified_date_accepts_ms_and_iso_and_sorts_with_id_tiebreak(client: HubSpot, hs: HubSpotSandbox,
                                                                       now: datetime) -> None:
    """hs_lastmodifieddate compares as epoch ms (ms or ISO values); equal stamps sort by ascending id."""
    instant = now - timedelta(days=2)
    tied = hs.companies.ids()[10:160]
    hs.touch(tied, instant)
    ms = str(int(instant.timestamp() * 1000))
    by_ms = _search(client, [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": ms}]).total
    by_iso = _search(client, [{"propertyName": "hs_lastmodifieddate", "operator": "GTE",
                               "value": instant.isoformat().replace("+00:00", "Z")}]).total
    assert by_ms == by_iso >= 150
    exact = _all_pages(client, [{"propertyName": "hs_lastmodifieddate", "operator": "EQ", "value": ms}],
                       sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}])
    assert [r.id for r in exact] == tied


def test_object_id_tiebreaker_pages_a_tie_group(client: HubSpot, hs: HubSpotSandbox, now: datetime) -> None:
    """hs_object_id GT with sort on hs_object_id walks through records sharing one timestamp."""
    tied = hs.companies.ids()[:120]
    hs.touch(tied, now)
    ms = str(int(now.timestamp() * 1000))
    page = _search(client, [
        {"propertyName": "hs_lastmodifieddate", "operator": "EQ", "value": ms},
        {"propertyName": "hs_object_id", "operator": "GT", "value": tied[99]},
    ], sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}], limit=100)
    assert [r.id for r in page.results] == tied[100:]


def test_descending_sort(client: HubSpot) -> None:
    """DESCENDING on a number property returns non-increasing values, missing values last."""
    page = _search(client, [], sorts=[{"propertyName": "annualrevenue", "direction": "DESCENDING"}],
                   properties=["annualrevenue"], limit=200)
    values = [float(r.properties["annualrevenue"]) for r in page.results if r.properties["annualrevenue"]]
    assert values == sorted(values, reverse=True) and len(values) > 100


def test_paging_past_the_result_cap_is_rejected(small_world: World) -> None:
    """Following paging beyond the cap answers 400 VALIDATION_ERROR naming the cap."""
    with HubSpotSandbox(small_world, search_result_cap=150) as capped:
        client = HubSpot(access_token="x", host=capped.url)
        first = _search(client, [], limit=100)
        second = _search(client, [], limit=100, after=first.paging.next.after)
        assert first.total == len(small_world.accounts) and len(second.results) == 50
        with pytest.raises(ApiException) as info:
            _search(client, [], limit=100, after=second.paging.next.after)
    assert info.value.status == 400
    body = json.loads(info.value.body)
    assert body["category"] == "VALIDATION_ERROR" and "150" in body["message"]


def test_default_cap_is_ten_thousand(client: HubSpot) -> None:
    """With default settings, after=10000 answers 400 mentioning the 10000 limit; 9900 is fine."""
    assert _search(client, [], after="9900").results == []
    with pytest.raises(ApiException) as info:
        _search(client, [], after="10000")
    assert info.value.status == 400 and "10000" in json.loads(info.value.body)["message"]


def test_invalid_requests_answer_400(client: HubSpot) -> None:
    """limit above 200, two sorts and unknown properties are rejected."""
    for kwargs in ({"limit": 201}, {"sorts": ["name", "domain"]}):
        with pytest.raises(ApiException) as info:
            _search(client, [], **kwargs)
        assert info.value.status == 400
    with pytest.raises(ApiException):
        _search(client, [{"propertyName": "nope", "operator": "EQ", "value": "1"}])


def test_deal_search_by_stage_and_presence(client: HubSpot, small_world: World) -> None:
    """Deals search: IN on dealstage and HAS_PROPERTY / NOT_HAS_PROPERTY on the loss reason."""
    lost_stages = ["closedlost", "75412099"]
    api = client.crm.deals.search_api
    lost = api.do_search(DealSearchRequest(filter_groups=[{"filters": [
        {"propertyName": "dealstage", "operator": "IN", "values": lost_stages}]}]), _request_timeout=T).total
    assert lost == int((small_world.deals.is_closed & ~small_world.deals.is_won).sum())
    with_reason = api.do_search(DealSearchRequest(filter_groups=[{"filters": [
        {"propertyName": "dealstage", "operator": "IN", "values": lost_stages},
        {"propertyName": "closed_lost_reason", "operator": "HAS_PROPERTY"}]}]), _request_timeout=T).total
    without = api.do_search(DealSearchRequest(filter_groups=[{"filters": [
        {"propertyName": "dealstage", "operator": "IN", "values": lost_stages},
        {"propertyName": "closed_lost_reason", "operator": "NOT_HAS_PROPERTY"}]}]), _request_timeout=T).total
    assert with_reason + without == lost and 0 < without < lost


def test_search_results_have_no_associations(hs: HubSpotSandbox) -> None:
    """Search ignores association requests, like the real API."""
    response = urllib3.PoolManager().request(
        "POST", f"{hs.url}/crm/v3/objects/deals/search", headers={"Authorization": "Bearer x"},
        json={"limit": 5, "associations": ["companies"]})
    body = json.loads(response.data)
    assert response.status == 200 and body["total"] == len(hs.deals)
    assert all("associations" not in r for r in body["results"])
