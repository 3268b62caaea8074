"""Pages decoded without SDK models: attribute access over plain JSON, and bodies that are not JSON."""

from __future__ import annotations

import pytest

from connectors.errors import RetriableError
from connectors.hubspot.client import _decode
from connectors.hubspot.jsonview import JsonView, json_name, view

PAGE = {"results": [{"id": "101", "properties": {"name": "Acme", "hs_lastmodifieddate": "2026-01-02T03:04:05.678Z"},
                     "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-02T03:04:05.678Z", "archived": False,
                     "associations": {"companies": {"results": [{"id": "7", "type": "deal_to_company"}]}}}],
        "paging": {"next": {"after": "101", "link": "?after=101"}}}


def test_sdk_attribute_names_map_to_json_keys() -> None:
    assert json_name("updated_at") == "updatedAt"
    assert json_name("_from") == "from"
    assert json_name("to_object_id") == "toObjectId"
    assert json_name("results") == "results"


def test_a_page_reads_like_the_sdk_models() -> None:
    page = view(PAGE)
    assert page.paging.next.after == "101"
    record = page.results[0]
    assert record.id == "101" and record.archived is False
    assert record.updated_at == "2026-01-02T03:04:05.678Z"
    assert dict(record.properties) == PAGE["results"][0]["properties"]
    links = {name: [a.id for a in collection.results] for name, collection in record.associations.items()}
    assert links == {"companies": ["7"]}


def test_absent_attributes_are_none_like_optional_model_fields() -> None:
    last_page = view({"results": []})
    assert last_page.paging is None
    assert getattr(last_page, "errors", None) is None
    assert not JsonView({})


def test_association_results_read_from_and_to_object_id() -> None:
    response = view({"status": "COMPLETE", "results": [{"from": {"id": "5"}, "to": [{"toObjectId": 9}]}]})
    result = response.results[0]
    assert result._from.id == "5" and [t.to_object_id for t in result.to] == [9]


def test_a_json_object_body_is_decoded() -> None:
    assert _decode("GET /crm/v3/objects/companies", b'{"results": []}', None).results == []


@pytest.mark.parametrize("body", [
    b"<html><body>502 Bad Gateway</body></html>",
    b'{"results": [{"id": "1", "properties": {"name": "Ac',
    b'{"results": [{"id": "1", "properties": {"name": "A\x01\x02c"}}]}',
    b'["not", "an", "object"]',
    b"",
    b"\xff\xfe\x00garbage",
])
def test_a_body_that_is_not_a_json_object_fails_the_call_naming_the_endpoint(body: bytes) -> None:
    with pytest.raises(RetriableError) as raised:
        _decode("POST /crm/v3/objects/companies/search", body, None)
    message = str(raised.value)
    assert "POST /crm/v3/objects/companies/search" in message and "not a JSON object" in message
    assert "\x01" not in message
