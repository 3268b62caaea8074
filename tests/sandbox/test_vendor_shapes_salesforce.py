"""The Salesforce sandbox answers in the shapes Salesforce documents, for every resource the connector calls.

Each test calls the sandbox over HTTPS and checks keys, nesting and value types against the example or
property table of the documentation page named in its docstring (never against the sandbox's own output).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import requests

from sandbox import SalesforceSandbox, start_salesforce_sandbox

VERSION = "62.0"
DATA = f"/services/data/v{VERSION}"
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "salesforce"
SF_ID = re.compile(r"^[0-9A-Za-z]{18}$")
SF_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")


class Org:
    """A logged-in HTTPS client of one sandbox org."""

    def __init__(self, server: SalesforceSandbox) -> None:
        self.server = server
        self.token = self.login().json()["access_token"]

    def login(self) -> requests.Response:
        form = {"grant_type": "client_credentials", "client_id": self.server.credentials.client_id,
                "client_secret": self.server.credentials.client_secret}
        return requests.post(self.server.url + "/services/oauth2/token", data=form, verify=str(self.server.ca_path),
                             timeout=10)

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, self.server.url + path, headers=headers, verify=str(self.server.ca_path),
                                timeout=10, **kwargs)

    def query(self, soql: str, endpoint: str = "query", batch: int = 2000) -> dict[str, Any]:
        response = self.call("GET", f"{DATA}/{endpoint}", params={"q": soql},
                             headers={"Sforce-Query-Options": f"batchSize={batch}"})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="module")
def org() -> Iterator[Org]:
    server = start_salesforce_sandbox(seed=5, accounts=250, now=datetime(2025, 6, 1, 12, tzinfo=UTC))
    server.deploy(DEPLOY)
    try:
        yield Org(server)
    finally:
        server.stop()


def _assert_error_list(response: requests.Response, status: int) -> None:
    assert response.status_code == status
    body = response.json()
    assert isinstance(body, list) and body
    for error in body:
        assert isinstance(error["message"], str) and isinstance(error["errorCode"], str)
        assert set(error) <= {"message", "errorCode", "fields"}
        assert isinstance(error.get("fields", []), list)


def _assert_save_result(result: dict[str, Any]) -> None:
    assert isinstance(result["success"], bool) and isinstance(result["errors"], list)
    if result["success"]:
        assert SF_ID.match(result["id"]) and result["errors"] == []
    else:
        assert result.get("id") is None or isinstance(result["id"], str)
        for error in result["errors"]:
            assert set(error) == {"statusCode", "message", "fields"}
            assert isinstance(error["statusCode"], str) and isinstance(error["message"], str)
            assert isinstance(error["fields"], list) and all(isinstance(f, str) for f in error["fields"])


def _account_ids(org: Org, count: int) -> list[str]:
    return [r["Id"] for r in org.query(f"SELECT Id FROM Account ORDER BY Id LIMIT {count}")["records"]]


def test_oauth_token_response(org: Org) -> None:
    """Token response of the client credentials flow: access_token, instance_url, id (the identity URL
    ``.../id/orgID/userID``), token_type Bearer, issued_at (milliseconds, as a string) and signature.

    Checked against https://jsforce.github.io/jsforce/types/oauth2.TokenResponse.html (the keys jsforce reads,
    from Salesforce's "OAuth 2.0 Client Credentials Flow") and the identity URL format of
    https://developer.salesforce.com/docs/atlas.en-us.mobile_sdk.meta/chatterapi/oauth_using_identity_urls.htm
    """
    body = org.login().json()
    assert {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"} <= set(body)
    assert body["token_type"] == "Bearer"
    assert re.match(r"^https://", body["instance_url"])
    assert re.match(r"^https://.+/id/00D[0-9A-Za-z]{15}/005[0-9A-Za-z]{15}$", body["id"])
    assert isinstance(body["issued_at"], str) and body["issued_at"].isdigit()
    assert all(isinstance(body[k], str) for k in ("access_token", "signature"))


def test_oauth_error_response(org: Org) -> None:
    """A refused token request answers 400 with ``{"error", "error_description"}`` (OAuth 2.0).

    Checked against https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flow_errors.htm&language=en_US&type=5
    ("OAuth 2.0 Authorization Errors": the token endpoint replies ``400 Bad Request`` with a standard OAuth error
    response, ``error`` and ``error_description``).
    """
    response = requests.post(org.server.url + "/services/oauth2/token", verify=str(org.server.ca_path), timeout=10,
                             data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error", "error_description"} and all(isinstance(v, str) for v in body.values())


def test_userinfo(org: Org) -> None:
    """UserInfo (OpenID Connect): ``sub`` (the identity URL), ``user_id``, ``organization_id``,
    ``preferred_username``, ``name``, ``email``, ``zoneinfo``, ``active``.

    Checked against https://help.salesforce.com/apex/HTViewHelpDoc?id=xcloud.remoteaccess_using_userinfo_endpoint.htm
    ("Query for User Information": the OpenID Connect Basic Client Profile values, Salesforce user ID, org ID) and
    the sample response of Salesforce's Platform APIs Postman collection as shown at
    https://tools.chilkat.io/PostmanCollection/nodejs/U2FsZXNmb3JjZSBQbGF0Zm9ybSBBUElzLnBvc3RtYW5fY29sbGVjdGlvbi5qc29u.QXV0aC9Vc2VyIEluZm8
    (``"sub": "https://login.salesforce.com/id/00D.../005..."``, ``"zoneinfo"``, ``"active"``, ...).
    """
    body = org.call("GET", "/services/oauth2/userinfo").json()
    assert SF_ID.match(body["user_id"]) and body["user_id"].startswith("005")
    assert SF_ID.match(body["organization_id"]) and body["organization_id"].startswith("00D")
    assert body["sub"].endswith(f"/id/{body['organization_id']}/{body['user_id']}")
    for key in ("preferred_username", "name", "email", "zoneinfo"):
        assert isinstance(body[key], str) and body[key]
    assert isinstance(body["active"], bool)


def test_limits(org: Org) -> None:
    """``GET limits``: one object per limit with integer ``Max`` and ``Remaining``.

    Checked against https://developer.salesforce.com/docs/platform/api-rest/guide/dome-limits.md
    (example: ``"DailyApiRequests": {"Max": 5000, "Remaining": 4937}``).
    """
    body = org.call("GET", f"{DATA}/limits").json()
    assert "DailyApiRequests" in body
    for limit in body.values():
        assert set(limit) >= {"Max", "Remaining"}
        assert isinstance(limit["Max"], int) and isinstance(limit["Remaining"], int)
        assert 0 <= limit["Remaining"] <= limit["Max"]


@pytest.mark.parametrize("endpoint", ["query", "queryAll"])
def test_query_pages(org: Org, endpoint: str) -> None:
    """Query / QueryAll: ``totalSize`` (int), ``done`` (bool), ``records``; while rows remain, ``done`` is false
    and ``nextRecordsUrl`` is ``/services/data/vXX.X/query/{locator}-{offset}`` (``query``, not ``queryAll``, for
    a QueryAll too), read with a GET.

    Checked against https://developer.salesforce.com/docs/platform/api-rest/guide/dome-query.md (example
    ``"nextRecordsUrl" : "/services/data/v68.0/query/01gD0000002HU6KIAW-2000"``),
    https://developer.salesforce.com/docs/platform/api-rest/guide/resources-queryall-more-results.md ("The URI
    specified in the nextRecordsUrl field of a QueryAll response body contains query instead of queryAll") and
    https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query.md; datetimes as in the record of
    https://developer.salesforce.com/docs/atlas.en-us.218.0.api_rest.meta/api_rest/headers_api_usage.htm
    (``"SystemModstamp" : "2013-05-20T20:49:32.000+0000"``).
    """
    first = org.query("SELECT Id, Name, SystemModstamp FROM Account", endpoint, batch=200)
    assert isinstance(first["totalSize"], int) and first["totalSize"] >= 250
    assert first["done"] is False and len(first["records"]) == 200
    assert re.match(rf"^/services/data/v{re.escape(VERSION)}/query/[0-9A-Za-z]+-200$", first["nextRecordsUrl"])
    rest = org.call("GET", first["nextRecordsUrl"]).json()
    assert rest["done"] is True and "nextRecordsUrl" not in rest and rest["totalSize"] == first["totalSize"]
    assert len(first["records"]) + len(rest["records"]) == first["totalSize"]
    for record in first["records"] + rest["records"]:
        assert record["attributes"] == {"type": "Account", "url": f"{DATA}/sobjects/Account/{record['Id']}"}
        assert SF_ID.match(record["Id"]) and isinstance(record["Name"], str)
        assert SF_DATETIME.match(record["SystemModstamp"])


def test_query_all_continuation_keeps_deleted_rows(org: Org) -> None:
    """Following a QueryAll's ``nextRecordsUrl`` (a ``query/`` address) goes on with the QueryAll results:
    deleted records that match are included, as the QueryAll More Results resource would answer.

    Checked against https://developer.salesforce.com/docs/platform/api-rest/guide/resources-queryall-more-results.md
    ("The remaining results include deleted records that match the initial query").
    """
    ids = _account_ids(org, 250)
    org.server.delete("Account", ids[-1])
    soql = "SELECT Id, IsDeleted FROM Account ORDER BY Id"
    first = org.query(soql, "queryAll", batch=200)
    rest = org.call("GET", first["nextRecordsUrl"]).json()
    rows = first["records"] + rest["records"]
    assert len(rows) == first["totalSize"] and any(r["Id"] == ids[-1] and r["IsDeleted"] is True for r in rows)
    assert first["totalSize"] == org.query(soql, "query")["totalSize"] + 1


def test_query_records_carry_their_url_without_id(org: Org) -> None:
    """Each record's ``attributes`` has ``type`` and ``url`` even when the query does not select Id.

    Checked against https://developer.salesforce.com/docs/platform/api-rest/guide/dome-query.md (the example
    ``SELECT name from Account`` answers records with ``attributes.url``
    ``/services/data/v68.0/sobjects/Account/001D000000IRFmaIAH`` and ``Name`` only).
    """
    body = org.query("SELECT Name FROM Account LIMIT 3")
    assert body["done"] is True and body["totalSize"] == 3
    for record in body["records"]:
        assert set(record) == {"attributes", "Name"}
        assert re.match(rf"^{re.escape(DATA)}/sobjects/Account/001[0-9A-Za-z]{{15}}$", record["attributes"]["url"])
        assert record["attributes"]["type"] == "Account"


def test_describe(org: Org) -> None:
    """sObject Describe: ``name``, ``label``, ``keyPrefix``, ``custom``, ``createable``, ``updateable``,
    ``customSetting``, ``urls``, ``childRelationships`` and ``fields``; each field has ``name``, ``label``,
    ``type``, ``length``, ``defaultValue``, ``updateable``, ``createable``, ``nillable``, ``custom``,
    ``externalId``, ``idLookup``, ``unique``, ``picklistValues`` (the Id field: type id, length 18).

    Checked against https://developer.salesforce.com/docs/platform/api-rest/guide/dome-sobject-describe
    (example response) and the DescribeSObjectResult Field properties it refers to.
    """
    body = org.call("GET", f"{DATA}/sobjects/Account/describe").json()
    assert body["name"] == "Account" and body["keyPrefix"] == "001" and isinstance(body["label"], str)
    for flag in ("custom", "createable", "updateable", "queryable", "customSetting"):
        assert isinstance(body[flag], bool)
    assert isinstance(body["urls"], dict) and body["urls"]["sobject"] == f"{DATA}/sobjects/Account"
    assert isinstance(body["childRelationships"], list)
    flags = ("updateable", "createable", "nillable", "custom", "externalId", "idLookup", "unique")
    for field in body["fields"]:
        assert isinstance(field["name"], str) and isinstance(field["label"], str) and isinstance(field["type"], str)
        assert isinstance(field["length"], int) and "defaultValue" in field
        assert all(isinstance(field[f], bool) for f in flags), field["name"]
        assert "externalIdField" not in field
        for entry in field["picklistValues"]:
            assert set(entry) >= {"active", "defaultValue", "label", "value"}
    id_field = next(f for f in body["fields"] if f["name"] == "Id")
    assert id_field["type"] == "id" and id_field["length"] == 18 and id_field["updateable"] is False
    task_fields = org.call("GET", f"{DATA}/sobjects/Task/describe").json()["fields"]
    key = next(f for f in task_fields if f["name"] == "ICP_Review_Key__c")
    assert key["externalId"] is True and key["custom"] is True


def test_get_record(org: Org) -> None:
    """``GET sobjects/Account/{id}?fields=...``: the requested fields by API name with their JSON values; the
    record's ``attributes`` (``type``, ``url``) and ``Id`` may come with them, as on query records.

    Checked against https://developer.salesforce.com/docs/platform/api-rest/guide/dome-get-field-values.md
    (example ``{"AccountNumber" : "CD656092", "BillingPostalCode" : "27215"}``) and the record ``attributes`` of
    https://developer.salesforce.com/docs/platform/api-rest/guide/dome-query.md
    """
    record_id = _account_ids(org, 1)[0]
    body = org.call("GET", f"{DATA}/sobjects/Account/{record_id}", params={"fields": "Name,SystemModstamp"}).json()
    assert set(body) - {"attributes", "Id"} == {"Name", "SystemModstamp"}
    assert isinstance(body["Name"], str) and SF_DATETIME.match(body["SystemModstamp"])
    assert body.get("Id", record_id) == record_id
    assert body["attributes"] == {"type": "Account", "url": f"{DATA}/sobjects/Account/{record_id}"}


def test_create_record(org: Org) -> None:
    """``POST sobjects/{sObject}``: 201 with ``{"id", "errors": [], "success": true}``.

    Checked against https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api/dome_sobject_create.htm
    (example response ``{"id" : "001D000000IqhSLIAZ", "errors" : [ ], "success" : true}``).
    """
    response = org.call("POST", f"{DATA}/sobjects/Account", json={"Name": "Express Logistics and Transport"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "errors", "success"} and body["success"] is True and body["errors"] == []
    assert SF_ID.match(body["id"]) and body["id"].startswith("001")


def test_collection_update(org: Org) -> None:
    """``PATCH composite/sobjects``: 200 with a list of SaveResult (``id``, ``success``, ``errors``), one per
    record in request order; an error has ``statusCode``, ``message`` and ``fields``.

    Checked against https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-update.html
    and the SaveResult / Error properties of
    https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_update_saveresult.htm
    """
    good = _account_ids(org, 1)[0]
    records = [{"attributes": {"type": "Account"}, "id": good, "Name": "Renamed"},
               {"attributes": {"type": "Account"}, "id": "001000000000000AAA", "Name": "Nobody"}]
    response = org.call("PATCH", f"{DATA}/composite/sobjects", json={"allOrNone": False, "records": records})
    assert response.status_code == 200
    results = response.json()
    assert isinstance(results, list) and len(results) == 2
    for result in results:
        _assert_save_result(result)
    assert results[0]["success"] is True and results[0]["id"] == good
    assert results[1]["success"] is False and results[1]["errors"]


def test_collection_create(org: Org) -> None:
    """``POST composite/sobjects``: 200 with one SaveResult per record, in request order.

    Checked against https://developer.salesforce.com/docs/atlas.en-us.264.0.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm
    (the sObject Collections family returns SaveResult lists) and
    https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_update_saveresult.htm
    """
    records = [{"attributes": {"type": "Account"}, "Name": "Collection one"}, {"attributes": {"type": "Account"}}]
    response = org.call("POST", f"{DATA}/composite/sobjects", json={"allOrNone": False, "records": records})
    assert response.status_code == 200
    results = response.json()
    assert len(results) == 2
    for result in results:
        _assert_save_result(result)
    assert results[0]["success"] is True and results[1]["success"] is False


def test_collection_upsert(org: Org) -> None:
    """``PATCH composite/sobjects/{sObject}/{externalIdField}``: 200 with UpsertResult per record: ``id``,
    ``success``, ``errors`` and ``created`` (true when the record was created, false when updated).

    Checked against https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-upsert.html
    and https://developer.salesforce.com/docs/atlas.en-us.api.meta/object_ref/sforce_api_calls_upsert_upsertresult.htm
    """
    what = _account_ids(org, 1)[0]
    record = {"attributes": {"type": "Task"}, "Subject": "Review", "ICP_Review_Key__c": "shape-key-1", "WhatId": what,
              "Status": "Not Started", "Priority": "Normal"}
    path = f"{DATA}/composite/sobjects/Task/ICP_Review_Key__c"
    first = org.call("PATCH", path, json={"allOrNone": False, "records": [record]})
    again = org.call("PATCH", path, json={"allOrNone": False, "records": [record]})
    assert first.status_code == again.status_code == 200
    created, updated = first.json()[0], again.json()[0]
    for result in (created, updated):
        _assert_save_result(result)
        assert result["success"] is True and isinstance(result["created"], bool)
    assert created["created"] is True and updated["created"] is False and created["id"] == updated["id"]


def test_tooling_create_custom_field(org: Org) -> None:
    """``POST tooling/sobjects/CustomField``: 201 with the create shape ``{"id", "errors", "success"}``.

    Checked against https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api/dome_sobject_create.htm
    (the Tooling API's sObject resources answer a create as the REST API does).
    """
    body = {"FullName": "Account.Shape_Check__c", "Metadata": {"type": "Text", "label": "Shape", "length": 20}}
    response = org.call("POST", f"{DATA}/tooling/sobjects/CustomField", json=body)
    assert response.status_code == 201
    result = response.json()
    assert result["success"] is True and result["errors"] == [] and SF_ID.match(result["id"])


def test_error_bodies(org: Org) -> None:
    """Errors are a JSON list of ``{"message", "errorCode"}`` (``fields`` when a field is concerned): 401
    INVALID_SESSION_ID, 400 MALFORMED_QUERY, 404 NOT_FOUND.

    Checked against https://developer.salesforce.com/docs/platform/api-rest/guide/errorcodes.html and the
    error example of https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api/dome_sobject_create.htm
    (``[{"message":"The Id field should not be specified in the sobject data.", "errorCode":"INVALID_FIELD"}]``).
    """
    expired = org.call("GET", f"{DATA}/limits", token="00D000000000000!expired")
    _assert_error_list(expired, 401)
    assert expired.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    malformed = org.call("GET", f"{DATA}/query", params={"q": "SELEC Id FROM Account"})
    _assert_error_list(malformed, 400)
    assert malformed.json()[0]["errorCode"] == "MALFORMED_QUERY"
    _assert_error_list(org.call("GET", f"{DATA}/sobjects/Account/001000000000000AAA"), 404)


def test_bulk_ingest_job_info(org: Org) -> None:
    """Bulk API 2.0 job info: ``id``, ``operation``, ``object``, ``createdById``, ``createdDate``,
    ``systemModstamp``, ``state``, ``concurrencyMode``, ``contentType``, ``apiVersion``, ``contentUrl``
    (``services/data/vXX.X/jobs/ingest/{id}/batches``), ``lineEnding``, ``columnDelimiter``; once processed,
    ``numberRecordsProcessed`` and ``numberRecordsFailed``.

    Checked against https://developer.salesforce.com/docs/platform/api-asynch/guide/create-job.html (response
    body properties) and https://developer.salesforce.com/docs/platform/api-asynch/guide/close-job.html
    """
    created = org.call("POST", f"{DATA}/jobs/ingest", json={"object": "Account", "operation": "update",
                                                            "contentType": "CSV", "lineEnding": "LF"})
    assert created.status_code == 200
    job = created.json()
    keys = {"id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state", "concurrencyMode",
            "contentType", "apiVersion", "contentUrl", "lineEnding", "columnDelimiter"}
    assert keys <= set(job)
    assert job["id"].startswith("750") and job["operation"] == "update" and job["object"] == "Account"
    assert job["state"] == "Open" and job["concurrencyMode"] == "Parallel" and job["contentType"] == "CSV"
    assert job["createdById"].startswith("005") and SF_DATETIME.match(job["createdDate"])
    assert SF_DATETIME.match(job["systemModstamp"]) and isinstance(job["apiVersion"], (int, float, str))
    assert job["contentUrl"] == f"services/data/v{VERSION}/jobs/ingest/{job['id']}/batches"
    record_id = _account_ids(org, 1)[0]
    org.call("PUT", f"{DATA}/jobs/ingest/{job['id']}/batches", data=f"Id,Name\n{record_id},Bulk\n",
             headers={"Content-Type": "text/csv"})
    closed = org.call("PATCH", f"{DATA}/jobs/ingest/{job['id']}", json={"state": "UploadComplete"}).json()
    assert keys <= set(closed) and closed["state"] == "UploadComplete"
    done = org.call("GET", f"{DATA}/jobs/ingest/{job['id']}").json()
    assert done["state"] == "JobComplete"
    assert isinstance(done["numberRecordsProcessed"], int) and isinstance(done["numberRecordsFailed"], int)


def test_limit_info_header(org: Org) -> None:
    """Every REST answer carries ``Sforce-Limit-Info: api-usage=used/limit``.

    Checked against https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
    (example ``Sforce-Limit-Info: api-usage=10018/100000``).
    """
    for path in (f"{DATA}/limits", f"{DATA}/sobjects/Account/describe"):
        header = org.call("GET", path).headers["Sforce-Limit-Info"]
        used, limit = re.fullmatch(r"api-usage=(\d+)/(\d+)", header).groups()  # type: ignore[union-attr]
        assert int(used) <= int(limit)


def test_soap_login_result(org: Org) -> None:
    """SOAP ``login()`` answers ``loginResponse/result`` with ``metadataServerUrl``, ``passwordExpired``,
    ``sandbox``, ``serverUrl`` (``.../services/Soap/u/{version}/{orgId}``), ``sessionId`` and ``userId``.

    Checked against https://developer.salesforce.com/docs/atlas.en-us.api.meta/object_ref/sforce_api_calls_login_loginresult.htm
    and the LoginResult schema of https://docs.jboss.org/teiid/7.7.0.Final/apidocs/com/sforce/soap/partner/LoginResult.html
    """
    creds = org.server.credentials
    envelope = ('<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"'
                ' xmlns:urn="urn:partner.soap.sforce.com"><env:Body><urn:login>'
                f"<urn:username>{creds.username}</urn:username>"
                f"<urn:password>{creds.password}{creds.security_token}</urn:password>"
                "</urn:login></env:Body></env:Envelope>")
    response = requests.post(f"{org.server.url}/services/Soap/u/62.0", data=envelope, verify=str(org.server.ca_path),
                             headers={"Content-Type": "text/xml", "SOAPAction": "login"}, timeout=10)
    assert response.status_code == 200
    result = ElementTree.fromstring(response.content).find(".//{urn:partner.soap.sforce.com}result")
    assert result is not None
    values = {child.tag.split("}")[1]: child.text or "" for child in result}
    assert {"metadataServerUrl", "passwordExpired", "sandbox", "serverUrl", "sessionId", "userId"} <= set(values)
    assert values["passwordExpired"] in ("true", "false") and values["sandbox"] in ("true", "false")
    assert re.match(r"^https://.+/services/Soap/u/62\.0/00D[0-9A-Za-z]{15}$", values["serverUrl"])
    assert re.match(r"^https://.+/services/Soap/m/62\.0/00D[0-9A-Za-z]{15}$", values["metadataServerUrl"])
    assert values["sessionId"] and SF_ID.match(values["userId"])


def test_bulk_result_csvs(org: Org) -> None:
    """``failedResults`` is CSV with ``sf__Id``, ``sf__Error`` and the uploaded columns; ``successfulResults``
    with ``sf__Id``, ``sf__Created`` and the uploaded columns.

    Checked against https://developer.salesforce.com/docs/platform/api-asynch/guide/get-job-failed-results.html
    and the Bulk API 2.0 reference of https://developer.salesforce.com/docs/atlas.en-us.244.0.api_asynch.meta/api_asynch/reference.htm
    ("Get Job Successful Record Results").
    """
    good = _account_ids(org, 1)[0]
    job = org.call("POST", f"{DATA}/jobs/ingest", json={"object": "Account", "operation": "update"}).json()
    org.call("PUT", f"{DATA}/jobs/ingest/{job['id']}/batches", headers={"Content-Type": "text/csv"},
             data=f"Id,NumberOfEmployees\n{good},12\n001000000000000AAA,13\n")
    org.call("PATCH", f"{DATA}/jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    assert org.call("GET", f"{DATA}/jobs/ingest/{job['id']}").json()["state"] == "JobComplete"
    failed = list(csv.DictReader(io.StringIO(org.call("GET", f"{DATA}/jobs/ingest/{job['id']}/failedResults").text)))
    ok = list(csv.DictReader(io.StringIO(org.call("GET", f"{DATA}/jobs/ingest/{job['id']}/successfulResults").text)))
    assert [list(r)[:2] for r in failed] == [["sf__Id", "sf__Error"]] and "NumberOfEmployees" in failed[0]
    assert failed[0]["sf__Error"] and failed[0]["Id"] == "001000000000000AAA"
    assert [list(r)[:2] for r in ok] == [["sf__Id", "sf__Created"]] and ok[0]["sf__Id"] == good
    assert ok[0]["sf__Created"] in ("true", "false")
