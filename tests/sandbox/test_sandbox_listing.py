"""List and read endpoints, driven through the real hubspot-api-client."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.companies.exceptions import ApiException as CompanyApiException
from hubspot.crm.companies.exceptions import NotFoundException

from sandbox import HubSpotSandbox, World

T = 5


def _pull_all(api: Any, **kwargs: Any) -> tuple[list[Any], int]:
    records, after, pages = [], None, 0
    while True:
        page = api.get_page(limit=100, after=after, _request_timeout=T, **kwargs)
        records.extend(page.results)
        pages += 1
        if page.paging is None:
            return records, pages
        after = page.paging.next.after


def test_company_list_pages_through_every_record(client: HubSpot, small_world: World) -> None:
    """Paging with `after` returns each company once, in id order, and stops on the last page."""
    records, pages = _pull_all(client.crm.companies.basic_api, properties=["name", "industry"])
    ids = [int(r.id) for r in records]
    assert len(ids) == len(small_world.accounts) == len(set(ids))
    assert ids == sorted(ids)
    assert pages == -(-len(ids) // 100)
    first = records[0]
    assert first.properties["name"] == small_world.accounts.name[0]
    assert first.properties["hs_object_id"] == first.id
    assert first.properties["hs_lastmodifieddate"].endswith("Z")
    assert first.updated_at is not None and first.created_at is not None


def test_list_cursor_is_opaque(client: HubSpot) -> None:
    """The `after` cursor is not simply the next record id or an offset."""
    page = client.crm.companies.basic_api.get_page(limit=2, _request_timeout=T)
    cursor = page.paging.next.after
    assert not cursor.isdigit()
    nxt = client.crm.companies.basic_api.get_page(limit=2, after=cursor, _request_timeout=T)
    assert int(nxt.results[0].id) == int(page.results[-1].id) + 1


def test_requested_properties_without_value_come_back_null(client: HubSpot, hs: HubSpotSandbox) -> None:
    """A requested property that is empty on a record is present with value None; strings otherwise."""
    records, _ = _pull_all(client.crm.companies.basic_api, properties=["retention_status", "numberofemployees"])
    assert any(r.properties["retention_status"] is None for r in records)
    assert all(isinstance(r.properties["numberofemployees"], (str, type(None))) for r in records)
    assert "does_not_exist" not in client.crm.companies.basic_api.get_page(
        limit=1, properties=["does_not_exist"], _request_timeout=T).results[0].properties


def test_deals_carry_company_associations(client: HubSpot, small_world: World) -> None:
    """associations=companies gives each deal its company under associations.companies.results."""
    deals, _ = _pull_all(client.crm.deals.basic_api, properties=["dealstage", "pipeline", "hs_is_closed_won"],
                         associations=["companies"])
    assert len(deals) == len(small_world.deals)
    first = deals[0]
    linked = {a.id for a in first.associations["companies"].results}
    assert linked == {str(10_000_000_000 + int(small_world.deals.account_id[0]))}
    assert {a.type for a in first.associations["companies"].results} == {"deal_to_company", "deal_to_company_unlabeled"}
    won = [d for d in deals if d.properties["hs_is_closed_won"] == "true"]
    assert len(won) == int(small_world.deals.is_won.sum())


def test_notes_link_to_companies_and_deals(client: HubSpot, small_world: World) -> None:
    """Notes list with associations for companies and deals; bodies are HTML paragraphs."""
    page = client.crm.objects.notes.basic_api.get_page(
        limit=100, properties=["hs_note_body", "hs_timestamp"], associations=["companies", "deals"], _request_timeout=T)
    note = page.results[0]
    assert note.properties["hs_note_body"].startswith("<p>")
    assert "companies" in note.associations
    with_deal = [n for n in page.results if n.associations and "deals" in n.associations]
    assert 0 < len(with_deal) <= len(page.results)


def test_read_one_company_and_missing_one(client: HubSpot, hs: HubSpotSandbox) -> None:
    """GET by id returns the record as a rep sees it; an unknown id raises NotFoundException."""
    company_id = hs.companies.ids()[5]
    record = client.crm.companies.basic_api.get_by_id(company_id, properties=["domain", "industry"], _request_timeout=T)
    assert record.properties["domain"] == hs.companies.value(company_id, "domain")
    with pytest.raises(NotFoundException):
        client.crm.companies.basic_api.get_by_id("999", _request_timeout=T)


def test_list_limit_above_100_is_rejected(client: HubSpot) -> None:
    """limit=101 answers 400 instead of silently truncating."""
    with pytest.raises(CompanyApiException) as info:
        client.crm.companies.basic_api.get_page(limit=101, _request_timeout=T)
    assert info.value.status == 400
