"""The HubSpot sandbox answers in the shapes HubSpot documents, for every endpoint the connector calls.

Each test calls the sandbox over HTTP and checks keys, nesting and value types against the example response
of the developers.hubspot.com page named in its docstring (never against the sandbox's own output).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox import HubSpotSandbox, World

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
NUMERIC_ID = re.compile(r"^\d+$")


class Portal:
    """A private-app HTTP client of one sandbox portal."""

    def __init__(self, server: HubSpotSandbox) -> None:
        self.server = server

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, self.server.url + path, headers={"Authorization": "Bearer shape-token"},
                                timeout=10, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.status_code == status, response.text
        return response.json()


@pytest.fixture()
def portal(small_world: World) -> Iterator[Portal]:
    with HubSpotSandbox(small_world) as server:
        yield Portal(server)


def _assert_object(record: dict[str, Any]) -> None:
    """A SimplePublicObject: string id, string-or-null property values, ISO-8601 Z stamps, archived flag."""
    assert NUMERIC_ID.match(record["id"])
    assert isinstance(record["properties"], dict)
    assert all(isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in record["properties"].items())
    assert ISO_Z.match(record["createdAt"]) and ISO_Z.match(record["updatedAt"])
    assert record["archived"] is False


def _assert_error(body: dict[str, Any], category: str) -> None:
    assert body["status"] == "error" and body["category"] == category
    assert isinstance(body["message"], str) and body["message"]
    assert re.match(r"^[0-9a-f-]{36}$", body["correlationId"])


def _assert_standard_error(error: dict[str, Any]) -> None:
    assert error["status"] == "error"
    assert isinstance(error["category"], str) and isinstance(error["message"], str)
    assert isinstance(error["context"], dict) and isinstance(error["errors"], list) and isinstance(error["links"], dict)


def _assert_batch(body: dict[str, Any]) -> None:
    assert body["status"] in ("PENDING", "PROCESSING", "CANCELED", "COMPLETE")
    assert ISO_Z.match(body["startedAt"]) and ISO_Z.match(body["completedAt"])
    assert isinstance(body["results"], list)


def test_list_objects_page(portal: Portal) -> None:
    """``GET /crm/v3/objects/companies``: ``results`` of SimplePublicObject (``id`` string, ``properties`` of
    strings, ``createdAt``/``updatedAt`` ISO-8601, ``archived``), ``associations.{type}.results[].{id,type}``
    and ``paging.next.after`` / ``paging.next.link`` strings while more pages remain.

    Checked against https://developers.hubspot.com/docs/api-reference/latest/crm/objects/companies/get-companies
    """
    body = portal.ok("GET", "/crm/v3/objects/companies", params={"limit": 5, "associations": "deals"})
    assert len(body["results"]) == 5
    for record in body["results"]:
        _assert_object(record)
        for collection in record.get("associations", {}).values():
            assert all(NUMERIC_ID.match(a["id"]) and isinstance(a["type"], str) for a in collection["results"])
    assert any("associations" in r for r in body["results"])
    after = body["paging"]["next"]["after"]
    assert isinstance(after, str) and isinstance(body["paging"]["next"]["link"], str)
    second = portal.ok("GET", "/crm/v3/objects/companies", params={"limit": 5, "after": after})
    assert {r["id"] for r in second["results"]}.isdisjoint(r["id"] for r in body["results"])


def test_get_object(portal: Portal) -> None:
    """``GET /crm/v3/objects/companies/{id}``: one SimplePublicObject.

    Checked against https://developers.hubspot.com/docs/api-reference/latest/crm/objects/companies/get-companies
    (the SimplePublicObject of its results) and the object reads of
    https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/companies/batch/update-companies
    """
    first = portal.ok("GET", "/crm/v3/objects/companies", params={"limit": 1})["results"][0]
    record = portal.ok("GET", f"/crm/v3/objects/companies/{first['id']}", params={"properties": "name,domain"})
    _assert_object(record)
    assert record["id"] == first["id"] and {"name", "domain"} <= set(record["properties"])


def test_search_page(portal: Portal) -> None:
    """``POST /crm/v3/objects/{type}/search``: ``total`` (int), ``results`` and, while more remain,
    ``paging.next.after`` and ``paging.next.link`` (``"?after=..."``) strings.

    Checked against https://developers.hubspot.com/docs/api-reference/crm-contracts-v3/search/post-crm-v3-objects-contracts-search
    (CRM search example: ``{"total": 123, "paging": {"next": {"after": "NTI1Cg%3D%3D", "link": "?after=NTI1Cg%3D%3D"}},
    "results": [...]}``).
    """
    body = portal.ok("POST", "/crm/v3/objects/companies/search", json={"limit": 3, "properties": ["name"]})
    assert isinstance(body["total"], int) and body["total"] > 3 and len(body["results"]) == 3
    for record in body["results"]:
        _assert_object(record)
    after, link = body["paging"]["next"]["after"], body["paging"]["next"]["link"]
    assert isinstance(after, str) and isinstance(link, str) and link.endswith(f"after={after}")


def test_batch_read_with_history(portal: Portal) -> None:
    """``POST /crm/v3/objects/companies/batch/read``: ``status``, ``results``, ``startedAt``, ``completedAt``;
    ``propertiesWithHistory.{name}`` lists ``{value, timestamp, sourceType}``; unknown ids give 207 with
    ``numErrors`` and StandardError ``errors`` (``status``, ``category``, ``message``, ``context``).

    Checked against https://developers.hubspot.com/docs/api-reference/latest/crm/objects/objects/batch/get-objects
    and the 207 errors of https://developers.hubspot.com/docs/api-reference/latest/crm/objects/companies/batch/update-companies;
    the history entries against hubspot-api-client's ValueWithTimestamp model (``value``, ``timestamp``,
    ``sourceType`` required), the page showing ``propertiesWithHistory`` only as ``{}``.
    """
    ids = [r["id"] for r in portal.ok("GET", "/crm/v3/objects/companies", params={"limit": 2})["results"]]
    body = portal.ok("POST", "/crm/v3/objects/companies/batch/read",
                     json={"inputs": [{"id": i} for i in ids], "properties": ["name"],
                           "propertiesWithHistory": ["name"]})
    _assert_batch(body)
    assert sorted(r["id"] for r in body["results"]) == sorted(ids)
    for record in body["results"]:
        _assert_object(record)
        for entry in record["propertiesWithHistory"]["name"]:
            assert isinstance(entry["value"], str) and ISO_Z.match(entry["timestamp"])
            assert isinstance(entry["sourceType"], str)
    partial = portal.ok("POST", "/crm/v3/objects/companies/batch/read", status=207,
                        json={"inputs": [{"id": ids[0]}, {"id": "1"}]})
    _assert_batch(partial)
    assert partial["numErrors"] == 1
    _assert_standard_error(partial["errors"][0])


def test_batch_update_200_and_207(portal: Portal) -> None:
    """``POST /crm/v3/objects/companies/batch/update``: 200 with ``status``/``results``/``startedAt``/
    ``completedAt``; 207 Multi-Status adds ``numErrors`` (int) and ``errors`` of StandardError.

    Checked against https://developers.hubspot.com/docs/api-reference/latest/crm/objects/companies/batch/update-companies
    and https://developers.hubspot.com/changelog/simplifying-batch-update-response-codes-for-crm-v3-apis (200 when
    all succeed, 207 when one or more fail).
    """
    good = portal.ok("GET", "/crm/v3/objects/companies", params={"limit": 1})["results"][0]["id"]
    body = portal.ok("POST", "/crm/v3/objects/companies/batch/update",
                     json={"inputs": [{"id": good, "properties": {"nps_score": "7"}}]})
    _assert_batch(body)
    assert "errors" not in body and [r["id"] for r in body["results"]] == [good]
    _assert_object(body["results"][0])
    multi = portal.ok("POST", "/crm/v3/objects/companies/batch/update", status=207,
                      json={"inputs": [{"id": good, "properties": {"nps_score": "8"}},
                                       {"id": "1", "properties": {"nps_score": "8"}}]})
    _assert_batch(multi)
    assert isinstance(multi["numErrors"], int) and multi["numErrors"] == len(multi["errors"]) == 1
    _assert_standard_error(multi["errors"][0])
    context = multi["errors"][0]["context"]
    assert all(isinstance(v, list) and all(isinstance(i, str) for i in v) for v in context.values())
    assert "1" in [i for v in context.values() for i in v]


def test_tasks_batch_create(portal: Portal) -> None:
    """``POST /crm/v3/objects/tasks/batch/create`` with ``associations``: 201 with ``status``, ``results``
    (SimplePublicObject), ``startedAt``, ``completedAt``.

    Checked against https://developers.hubspot.com/docs/api-reference/latest/crm/activities/tasks/batch/upsert-tasks
    (the tasks batch response: ``completedAt``, ``results[]`` with ``id``/``properties``/``createdAt``/``updatedAt``/
    ``archived``, ``startedAt``, ``status``).
    """
    company = portal.ok("GET", "/crm/v3/objects/companies", params={"limit": 1})["results"][0]["id"]
    task = {"properties": {"hs_timestamp": "2025-06-02T09:00:00.000Z", "hs_task_subject": "Review",
                           "hs_task_body": "body", "hs_task_priority": "HIGH"},
            "associations": [{"to": {"id": company},
                              "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}]}]}
    body = portal.ok("POST", "/crm/v3/objects/tasks/batch/create", status=201, json={"inputs": [task]})
    _assert_batch(body)
    assert body["status"] == "COMPLETE" and len(body["results"]) == 1
    _assert_object(body["results"][0])


def test_associations_v4_batch_read(portal: Portal) -> None:
    """``POST /crm/v4/associations/deals/companies/batch/read``: ``results[].from.id`` (string),
    ``results[].to[].toObjectId`` (string) and ``associationTypes[]`` of ``{category, typeId (int), label}``.

    Checked against https://developers.hubspot.com/docs/api-reference/legacy/crm/associations/associate-records/batch/get-associations
    (``"toObjectId": "<string>"``, ``"typeId": 123``; the client's MultiAssociatedObjectWithLabel reads
    ``to_object_id`` as ``str``).
    """
    deals = [r["id"] for r in portal.ok("GET", "/crm/v3/objects/deals", params={"limit": 3})["results"]]
    body = portal.ok("POST", "/crm/v4/associations/deals/companies/batch/read",
                     json={"inputs": [{"id": d} for d in deals]})
    _assert_batch(body)
    assert sorted(r["from"]["id"] for r in body["results"]) == sorted(deals)
    for result in body["results"]:
        for link in result["to"]:
            assert isinstance(link["toObjectId"], str) and NUMERIC_ID.match(link["toObjectId"])
            for kind in link["associationTypes"]:
                assert kind["category"] in ("HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED")
                assert isinstance(kind["typeId"], int) and (kind["label"] is None or isinstance(kind["label"], str))


def test_properties_and_groups(portal: Portal) -> None:
    """``GET``/``POST /crm/v3/properties/companies`` and ``.../groups``: a Property has ``name``, ``label``,
    ``type``, ``fieldType``, ``description``, ``groupName``, ``options[]`` (``label``, ``value``, ``hidden``,
    ``displayOrder``), ``displayOrder``, ``hasUniqueValue``, ``hidden``, ``formField`` and
    ``modificationMetadata`` (``archivable``, ``readOnlyDefinition``, ``readOnlyOptions``, ``readOnlyValue``);
    a group has ``name``, ``label``, ``displayOrder``, ``archived``.

    Checked against https://developers.hubspot.com/docs/api-reference/legacy/crm/properties/get-properties
    and https://developers.hubspot.com/docs/api-reference/latest/crm/properties/get-properties; the group keys
    against hubspot-api-client's PropertyGroup model (``archived``, ``name``, ``display_order``, ``label``, all
    required), no group example being on those pages.
    """
    properties = portal.ok("GET", "/crm/v3/properties/companies")["results"]
    created = portal.ok("POST", "/crm/v3/properties/companies", status=201, json={
        "name": "shape_fit", "label": "Shape fit", "type": "enumeration", "fieldType": "select",
        "groupName": "companyinformation", "options": [{"label": "Good", "value": "good"}]})
    for prop in [*properties, created]:
        for key in ("name", "label", "type", "fieldType", "description", "groupName"):
            assert isinstance(prop[key], str), (prop["name"], key)
        for key in ("hasUniqueValue", "hidden", "formField", "calculated", "externalOptions", "archived"):
            assert isinstance(prop[key], bool), (prop["name"], key)
        assert isinstance(prop["displayOrder"], int) and ISO_Z.match(prop["createdAt"])
        assert set(prop["modificationMetadata"]) == {"archivable", "readOnlyDefinition", "readOnlyOptions",
                                                     "readOnlyValue"}
        for option in prop["options"]:
            assert isinstance(option["label"], str) and isinstance(option["value"], str)
            assert isinstance(option["hidden"], bool) and isinstance(option["displayOrder"], int)
    groups = portal.ok("GET", "/crm/v3/properties/companies/groups")["results"]
    new_group = portal.ok("POST", "/crm/v3/properties/companies/groups", status=201,
                          json={"name": "shapes", "label": "Shapes"})
    for group in [*groups, new_group]:
        assert set(group) == {"name", "label", "displayOrder", "archived"}
        assert isinstance(group["displayOrder"], int) and group["archived"] is False


def test_owners(portal: Portal) -> None:
    """``GET /crm/v3/owners/``: ``results[]`` with ``id`` (string), ``email``, ``type``, ``firstName``,
    ``lastName``, ``userId`` (int), ``userIdIncludingInactive``, ``createdAt``, ``updatedAt``, ``archived``,
    ``teams[]`` (``id``, ``name``, ``primary``); ``paging.next.after`` while more remain.

    Checked against https://developers.hubspot.com/docs/api-reference/crm-crm-owners-v3/guide (example
    ``"id": "41629779"``, ``"userId": 9586504``, ``"createdAt": "2019-12-25T13:01:35.228Z"``).
    """
    body = portal.ok("GET", "/crm/v3/owners/", params={"limit": 2})
    for owner in body["results"]:
        assert NUMERIC_ID.match(owner["id"]) and isinstance(owner["userId"], int)
        assert isinstance(owner["userIdIncludingInactive"], int) and owner["type"] == "PERSON"
        assert all(isinstance(owner[k], str) for k in ("email", "firstName", "lastName"))
        assert ISO_Z.match(owner["createdAt"]) and ISO_Z.match(owner["updatedAt"]) and owner["archived"] is False
        for team in owner["teams"]:
            assert isinstance(team["id"], str) and isinstance(team["name"], str) and isinstance(team["primary"], bool)
    assert isinstance(body["paging"]["next"]["after"], str)


def test_deal_pipelines(portal: Portal) -> None:
    """``GET /crm/v3/pipelines/deals``: ``results[]`` with ``id``, ``label``, ``displayOrder`` (int),
    ``createdAt``, ``updatedAt``, ``archived`` and ``stages[]`` (the same keys plus ``metadata`` and
    ``writePermissions``).

    Checked against https://developers.hubspot.com/docs/api-reference/latest/crm/pipelines/get-pipelines and
    https://developers.hubspot.com/docs/api-reference/legacy/crm/pipelines/get-pipeline
    """
    for pipeline in portal.ok("GET", "/crm/v3/pipelines/deals")["results"]:
        for item in [pipeline, *pipeline["stages"]]:
            assert isinstance(item["id"], str) and isinstance(item["label"], str)
            assert isinstance(item["displayOrder"], int) and item["archived"] is False
            assert ISO_Z.match(item["createdAt"]) and ISO_Z.match(item["updatedAt"])
        for stage in pipeline["stages"]:
            assert isinstance(stage["metadata"], dict) and stage["writePermissions"] == "CRM_PERMISSIONS_ENFORCEMENT"
            assert all(isinstance(v, str) for v in stage["metadata"].values())


def test_account_details(portal: Portal) -> None:
    """``GET /account-info/v3/details``: ``portalId`` (int), ``accountType``, ``timeZone``, ``companyCurrency``,
    ``additionalCurrencies[]``, ``utcOffset``, ``utcOffsetMilliseconds`` (int), ``uiDomain``,
    ``dataHostingLocation`` (all required).

    Checked against https://developers.hubspot.com/docs/api-reference/latest/account/account-information/get-account-details
    """
    body = portal.ok("GET", "/account-info/v3/details")
    assert isinstance(body["portalId"], int)
    assert body["accountType"] in ("APP_DEVELOPER", "DEVELOPER_TEST", "SANDBOX", "STANDARD")
    for key in ("timeZone", "companyCurrency", "utcOffset", "uiDomain", "dataHostingLocation"):
        assert isinstance(body[key], str) and body[key]
    assert isinstance(body["additionalCurrencies"], list) and isinstance(body["utcOffsetMilliseconds"], int)
    assert re.match(r"^[+-]\d\d:\d\d$", body["utcOffset"])


def test_access_token_info(portal: Portal) -> None:
    """``POST /oauth/v2/private-apps/get/access-token-info``: ``userId``, ``hubId``, ``appId`` (ints) and
    ``scopes`` (strings).

    Checked against https://developers.HubSpot.com/docs/API/private-apps (the private app's access token and its
    scopes); the field types follow the OAuth token metadata example of
    https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/get-oauth-token-metadata
    (``"hub_id": 123``, ``"app_id": 123``, ``"scopes": ["<string>"]``).
    """
    body = portal.ok("POST", "/oauth/v2/private-apps/get/access-token-info", json={"tokenKey": "shape-token"})
    assert all(isinstance(body[k], int) for k in ("userId", "hubId", "appId"))
    assert body["scopes"] and all(isinstance(s, str) for s in body["scopes"])


def test_error_bodies(portal: Portal) -> None:
    """Errors: ``{"status": "error", "message", "correlationId", "category"}`` (404 OBJECT_NOT_FOUND,
    400 VALIDATION_ERROR, 401 INVALID_AUTHENTICATION, 403 MISSING_SCOPES with ``errors[].context``).

    Checked against https://developers.hubspot.com/docs/faq/api-error-responses (example
    ``{"status": "error", "message": ..., "errors": [...], "category": "VALIDATION_ERROR", "correlationId": ...}``).
    """
    missing = portal.call("GET", "/crm/v3/objects/companies/1")
    assert missing.status_code == 404
    _assert_error(missing.json(), "OBJECT_NOT_FOUND")
    invalid = portal.call("POST", "/crm/v3/objects/companies/search", json={"limit": 1000})
    assert invalid.status_code == 400
    _assert_error(invalid.json(), "VALIDATION_ERROR")
    portal.server.token = "the-real-token"
    unauthorized = portal.call("GET", "/crm/v3/owners/")
    assert unauthorized.status_code == 401
    _assert_error(unauthorized.json(), "INVALID_AUTHENTICATION")
    portal.server.token = None
    portal.server.grant_scopes(["crm.objects.companies.read"])
    forbidden = portal.call("GET", "/crm/v3/owners/")
    assert forbidden.status_code == 403
    _assert_error(forbidden.json(), "MISSING_SCOPES")
    assert all(isinstance(e["message"], str) and isinstance(e["context"], dict) for e in forbidden.json()["errors"])


def test_rate_limit_body(portal: Portal) -> None:
    """429: ``{"status": "error", "message", "errorType": "RATE_LIMIT", "correlationId", "policyName"}`` where
    ``policyName`` names the limit hit (TEN_SECONDLY_ROLLING, DAILY, SECONDLY).

    Checked against https://developers.hubspot.com/docs/api/usage-details as quoted in
    https://community.hubspot.com/rss/message?board.id=integrations&message.id=47812 (example
    ``{"status": "error", "message": "You have reached your daily limit.", "errorType": "RATE_LIMIT",
    "correlationId": ..., "policyName": "DAILY", ...}``).
    """
    portal.server.rate_limit(per_10s=1)
    portal.ok("GET", "/crm/v3/owners/")
    limited = portal.call("GET", "/crm/v3/owners/")
    assert limited.status_code == 429
    body = limited.json()
    assert body["status"] == "error" and body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] in ("TEN_SECONDLY_ROLLING", "DAILY", "SECONDLY")
    assert isinstance(body["message"], str) and re.match(r"^[0-9a-f-]{36}$", body["correlationId"])
