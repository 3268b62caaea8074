"""Shared server features: auth, call counts, faults, rate limits, clock, lifecycle."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import urllib3
from hubspot import HubSpot
from hubspot.crm.companies import PublicObjectSearchRequest
from hubspot.crm.companies.exceptions import ApiException, UnauthorizedException

from sandbox import HubSpotSandbox, Response, SandboxServer, World

T = 5
LIST = "GET /crm/v3/objects/companies"


def _get(url: str, token: str | None = "x") -> urllib3.BaseHTTPResponse:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return urllib3.PoolManager().request("GET", url, headers=headers, retries=False)


def test_requests_need_a_bearer_token(hs: HubSpotSandbox) -> None:
    """No Authorization header gives 401 with HubSpot's INVALID_AUTHENTICATION body."""
    response = _get(f"{hs.url}/crm/v3/objects/companies", token=None)
    assert response.status == 401
    assert json.loads(response.data)["category"] == "INVALID_AUTHENTICATION"


def test_fixed_token_rejects_others(small_world: World) -> None:
    """A sandbox started with token= accepts only that token."""
    with HubSpotSandbox(small_world, token="secret") as hs:
        assert _get(f"{hs.url}/crm/v3/objects/companies", token="secret").status == 200
        with pytest.raises(UnauthorizedException):
            HubSpot(access_token="other", host=hs.url).crm.companies.basic_api.get_page(_request_timeout=T)


def test_calls_are_counted_per_route_and_resettable(client: HubSpot, hs: HubSpotSandbox) -> None:
    """Each endpoint has a stable route name in `calls`; reset_calls zeroes them."""
    api = client.crm.companies.basic_api
    api.get_page(_request_timeout=T)
    api.get_page(_request_timeout=T)
    api.get_by_id(hs.companies.ids()[0], _request_timeout=T)
    assert hs.calls[LIST] == 2 and hs.calls["GET /crm/v3/objects/companies/{id}"] == 1
    hs.reset_calls()
    assert sum(hs.calls.values()) == 0


def test_faults_replace_the_next_calls(client: HubSpot, hs: HubSpotSandbox) -> None:
    """An injected fault answers the next `times` matching calls, then normal service resumes."""
    hs.faults.add(LIST, 503, times=2)
    hs.faults.add(LIST, 418, body={"custom": True}, headers={"X-Test": "1"})
    api = client.crm.companies.basic_api
    statuses = []
    for _ in range(3):
        with pytest.raises(ApiException) as info:
            api.get_page(_request_timeout=T)
        statuses.append(info.value.status)
    assert statuses == [503, 503, 418]
    assert json.loads(info.value.body) == {"custom": True} and info.value.headers["X-Test"] == "1"
    assert len(api.get_page(limit=1, _request_timeout=T).results) == 1
    assert hs.calls[LIST] == 4


def test_fault_delay_triggers_client_timeout(client: HubSpot, hs: HubSpotSandbox) -> None:
    """A delayed fault outlasts the client's read timeout on every (default) urllib3 retry."""
    hs.faults.add(LIST, 200, body={"results": []}, times=4, delay=0.3)
    with pytest.raises(urllib3.exceptions.MaxRetryError) as info:
        client.crm.companies.basic_api.get_page(_request_timeout=(1, 0.05))
    assert isinstance(info.value.reason, urllib3.exceptions.ReadTimeoutError)
    assert hs.calls[LIST] == 4


def test_burst_limit_answers_429_with_policy(hs: HubSpotSandbox) -> None:
    """Over the 10-second limit: 429 with policyName TEN_SECONDLY_ROLLING and Retry-After."""
    hs.rate_limit(per_10s=3, retry_after=1)
    ok = [_get(f"{hs.url}/crm/v3/objects/companies") for _ in range(3)]
    assert [r.status for r in ok] == [200] * 3
    assert ok[0].headers["X-HubSpot-RateLimit-Max"] == "3"
    assert ok[2].headers["X-HubSpot-RateLimit-Remaining"] == "0"
    limited = _get(f"{hs.url}/crm/v3/objects/companies")
    body = json.loads(limited.data)
    assert limited.status == 429 and limited.headers["Retry-After"] == "1"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING" and body["errorType"] == "RATE_LIMIT"
    assert body["message"] == "You have reached your ten_secondly_rolling limit." and body["correlationId"]


def test_search_and_daily_limits(client: HubSpot, hs: HubSpotSandbox) -> None:
    """Search has its own per-second limit (SECONDLY) and is exempt from the burst window; DAILY caps all."""
    hs.rate_limit(per_10s=1, search_per_second=2)
    search = client.crm.companies.search_api
    for _ in range(2):
        search.do_search(PublicObjectSearchRequest(limit=1), _request_timeout=T)
    with pytest.raises(ApiException) as info:
        search.do_search(PublicObjectSearchRequest(limit=1), _request_timeout=T)
    assert info.value.status == 429 and json.loads(info.value.body)["policyName"] == "SECONDLY"
    hs.limiter.reset()
    hs.rate_limit(daily=1)
    assert _get(f"{hs.url}/crm/v3/objects/companies").status == 200
    daily = _get(f"{hs.url}/crm/v3/objects/companies")
    assert daily.status == 429 and json.loads(daily.data)["policyName"] == "DAILY"


def test_rate_limit_headers_on_normal_responses(hs: HubSpotSandbox) -> None:
    """Normal responses carry X-HubSpot-RateLimit-* headers even with limits off."""
    headers = _get(f"{hs.url}/crm/v3/objects/companies").headers
    assert {"X-HubSpot-RateLimit-Daily", "X-HubSpot-RateLimit-Daily-Remaining",
            "X-HubSpot-RateLimit-Interval-Milliseconds", "X-HubSpot-RateLimit-Max",
            "X-HubSpot-RateLimit-Remaining"} <= set(headers)


def test_clock_stamps_writes(client: HubSpot, hs: HubSpotSandbox, now: datetime) -> None:
    """A frozen clock stamps every write with the same instant; advance() moves it."""
    hs.clock.set(now)
    a, b = hs.companies.ids()[:2]
    hs.update_company(a, {"country": "Atlantis"})
    hs.update_company(b, {"country": "Atlantis"})
    assert hs.companies.modified_at(a) == hs.companies.modified_at(b) == now
    hs.clock.advance(timedelta(seconds=1.5))
    hs.update_company(a, {"country": "Lemuria"})
    assert hs.companies.modified_at(a) == now + timedelta(seconds=1.5)


def test_generic_server_routes_and_lifecycle() -> None:
    """The CRM-neutral base serves registered routes with path params and releases its port on stop."""
    server = SandboxServer()
    server.route("GET", "/things/{thing_id}", lambda req: Response(200, {"id": req.params["thing_id"],
                                                                           "tags": req.args("tag")}))
    with server:
        url = server.url
        data = json.loads(_get(f"{url}/things/7?tag=a&tag=b,c").data)
        assert data == {"id": "7", "tags": ["a", "b", "c"]}
        assert _get(f"{url}/nothing").status == 404
        assert server.calls["GET /things/{thing_id}"] == 1
    with pytest.raises(urllib3.exceptions.HTTPError):
        _get(f"{url}/things/7")
