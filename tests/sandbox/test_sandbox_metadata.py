"""Owners, pipelines and the properties API."""

from __future__ import annotations

import pytest
from hubspot import HubSpot
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate
from hubspot.crm.properties.exceptions import ApiException, NotFoundException

from sandbox import HubSpotSandbox, World

T = 5


def test_owners_page_through_trailing_slash_path(client: HubSpot, hs: HubSpotSandbox, small_world: World) -> None:
    """Owners are served at /crm/v3/owners/ with after-paging until every owner is seen."""
    seen, after = [], None
    while True:
        page = client.crm.owners.owners_api.get_page(limit=4, after=after, _request_timeout=T)
        seen.extend(page.results)
        if page.paging is None:
            break
        after = page.paging.next.after
    assert len(seen) == len(small_world.owners)
    assert {o.email for o in seen} == {o.email for o in small_world.owners}
    assert all(o.type == "PERSON" and o.user_id for o in seen)
    assert hs.calls["GET /crm/v3/owners/"] == -(-len(seen) // 4)


def test_pipelines_classify_stages_by_metadata(client: HubSpot) -> None:
    """Stage metadata are strings; closed-won is probability "1.0" and isClosed "true" in both pipelines."""
    pipelines = client.crm.pipelines.pipelines_api.get_all("deals", _request_timeout=T).results
    assert {p.id for p in pipelines} == {"default", "75412093"}
    won = {p.id: [s.id for s in p.stages if s.metadata == {"isClosed": "true", "probability": "1.0"}]
           for p in pipelines}
    assert won == {"default": ["closedwon"], "75412093": ["75412098"]}
    custom = next(p for p in pipelines if p.id != "default")
    assert all(s.id.isdigit() for s in custom.stages)


def test_seeded_properties_exist(client: HubSpot) -> None:
    """Standard, custom and HubSpot's ICP tier properties are defined; a missing one is 404."""
    core = client.crm.properties.core_api
    names = {p.name for p in core.get_all("companies", _request_timeout=T).results}
    assert {"numberofemployees", "funding_stage", "nps_score", "hs_ideal_customer_profile"} <= names
    tier = core.get_by_name("companies", "hs_ideal_customer_profile", _request_timeout=T)
    assert [o.value for o in tier.options] == ["tier_1", "tier_2", "tier_3"]
    deal_names = {p.name for p in core.get_all("deals", _request_timeout=T).results}
    assert {"closed_lost_reason", "competitor", "lead_source", "hs_is_closed_won"} <= deal_names
    with pytest.raises(NotFoundException):
        core.get_by_name("companies", "icp_fit_score", _request_timeout=T)


def test_create_group_and_property_then_conflict(client: HubSpot, hs: HubSpotSandbox) -> None:
    """Group and property creation answer 201 and a second attempt 409; the property becomes writable."""
    groups, core = client.crm.properties.groups_api, client.crm.properties.core_api
    group = groups.create("companies", PropertyGroupCreate(name="icp_fit", label="ICP Fit", display_order=-1),
                          _request_timeout=T)
    assert group.name == "icp_fit"
    spec = PropertyCreate(name="icp_fit_score", label="ICP fit score", type="number", field_type="number",
                          group_name="icp_fit")
    created = core.create("companies", spec, _request_timeout=T)
    assert created is not None and created.type == "number"
    for call, args in ((groups.create, PropertyGroupCreate(name="icp_fit", label="x")), (core.create, spec)):
        with pytest.raises(ApiException) as info:
            call("companies", args, _request_timeout=T)
        assert info.value.status == 409
    assert groups.get_by_name("companies", "icp_fit", _request_timeout=T).label == "ICP Fit"
    company = hs.companies.ids()[0]
    hs.update_company(company, {"icp_fit_score": 87})
    assert hs.companies.value(company, "icp_fit_score") == "87"


def test_property_in_unknown_group_is_rejected(client: HubSpot) -> None:
    """Creating a property in a group that does not exist answers 400."""
    spec = PropertyCreate(name="x_score", label="x", type="number", field_type="number", group_name="nope")
    with pytest.raises(ApiException) as info:
        client.crm.properties.core_api.create("companies", spec, _request_timeout=T)
    assert info.value.status == 400


def test_delete_property_hides_it(client: HubSpot, hs: HubSpotSandbox) -> None:
    """After delete_property the definition is 404 and its values are no longer returned."""
    assert hs.delete_property("web_visits_30d")
    with pytest.raises(NotFoundException):
        client.crm.properties.core_api.get_by_name("companies", "web_visits_30d", _request_timeout=T)
    page = client.crm.companies.basic_api.get_page(limit=1, properties=["web_visits_30d"], _request_timeout=T)
    assert "web_visits_30d" not in page.results[0].properties
