"""The review pages over HTTP: who may read and decide, sign-off by role, sessions, CSRF and the sign-in limit."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.web.conftest import Site, token
from tests.web.world import ANALYST, CRO, CS, FAST_HASHER, FOUNDER, PASSWORD, Clock, settings_for
from worker.web.app import build_services, create_app


def test_signed_out_requests_are_refused(site: Site) -> None:
    """Every page sends a signed-out browser to sign in; a signed-out decision is refused."""
    client = site.client()
    for path in ("/", "/connections/main", "/connections/main/versions/2", "/connections/main/history",
                 "/connections/main/drift", "/connections/main/versions/2/scorecard.yaml"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/signin?next="), path
    refused = client.post("/connections/main/versions/2/decision", data={"decision": "approve", "note": "x"})
    assert refused.status_code == 403
    assert site.services.contexts["main"].versions.signoffs(2) == []


def test_proposal_page_shows_summary_signoff_diff_gates_and_impact(site: Site) -> None:
    """The proposal reads summary first, then who still has to sign, the diff, stop gates and the impact."""
    client = site.signed_in(CRO)
    page = client.get("/connections/main/versions/2")
    assert page.status_code == 200
    html = page.text
    order = [html.index(f'id="{s}-h"') for s in ("summary", "signoff", "diff", "gates", "impact", "brief")]
    assert order == sorted(order)
    assert "Weight firmographics more." in html and "few delivery-fit notes" in html
    assert "Your sign-off as sales is needed" in html and "still needed" in html
    assert "Company 0000" in html and "Rep " in html
    search = client.get("/connections/main/versions/2", params={"q": "rep1@example.com"})
    assert search.status_code == 200 and "Rep 1" in search.text and "Rep 2<" not in search.text
    assert page.headers["cache-control"] == "no-store" and "script-src" not in page.headers[
        "content-security-policy"] and "default-src 'none'" in page.headers["content-security-policy"]


def test_sign_off_by_role_puts_the_version_in_force(site: Site) -> None:
    """Sales approves: still pending; delivery approves: the version in force changes."""
    sales = site.signed_in(CRO)
    page = sales.get("/connections/main/versions/2")
    done = sales.post("/connections/main/versions/2/decision",
                      data={"decision": "approve", "note": "fits our pipeline", "csrf_token": token(page.text)})
    assert done.status_code == 303
    after = sales.get("/connections/main/versions/2").text
    assert "still needed: delivery" in after.lower() and "PROPOSED" in after.upper()
    assert site.services.contexts["main"].versions.in_force().version == 1  # type: ignore[union-attr]
    delivery = site.signed_in(CS)
    page = delivery.get("/connections/main/versions/2")
    delivery.post("/connections/main/versions/2/decision",
                  data={"decision": "approve", "note": "we can deliver", "csrf_token": token(page.text)})
    assert site.services.contexts["main"].versions.in_force().version == 2  # type: ignore[union-attr]
    home = delivery.get("/connections/main").text
    assert "v2</a>" in home and "Nothing waits for you" in home
    history = delivery.get("/connections/main/history").text
    assert "we can deliver" in history and "command line" in history and "OS user ops" in history


def test_note_is_required_and_viewer_cannot_decide(site: Site) -> None:
    """No note: refused with a message; a viewer reads the page but any decision is refused."""
    sales = site.signed_in(CRO)
    page = sales.get("/connections/main/versions/2")
    empty = sales.post("/connections/main/versions/2/decision",
                       data={"decision": "approve", "note": "  ", "csrf_token": token(page.text)})
    assert empty.status_code == 400 and "Write a note" in empty.text
    viewer = site.signed_in(ANALYST)
    page = viewer.get("/connections/main/versions/2")
    assert page.status_code == 200 and 'name="decision"' not in page.text
    refused = viewer.post("/connections/main/versions/2/decision",
                          data={"decision": "approve", "note": "looks fine", "csrf_token": token(page.text)})
    assert refused.status_code == 403
    stranger = site.signed_in("stranger@example.com")
    assert stranger.get("/connections/main").status_code == 403
    assert site.services.contexts["main"].versions.signoffs(2) == []


def test_forged_form_without_csrf_token_is_refused(site: Site) -> None:
    """A post without the session's token, or with another session's token, changes nothing."""
    founder = site.signed_in(FOUNDER)
    other = site.signed_in(CRO)
    foreign = token(other.get("/connections/main/versions/2").text)
    forged = {"decision": "reject", "note": "forged"}
    for data in (forged, {**forged, "csrf_token": foreign}):
        assert founder.post("/connections/main/versions/2/decision", data=data).status_code == 403
    assert site.services.contexts["main"].versions.get(2).status == "proposed"


def test_wrong_password_five_times_locks_sign_in(site: Site) -> None:
    """Five wrong passwords are refused, and then even the right one is, until the lockout passes."""
    client = site.client()
    for _ in range(5):
        page = client.get("/signin")
        wrong = client.post("/signin", data={"email": CRO, "password": "wrong password!",
                                             "csrf_token": token(page.text)})
        assert wrong.status_code == 401 and "Wrong e-mail or password" in wrong.text
    page = client.get("/signin")
    locked = client.post("/signin", data={"email": CRO, "password": PASSWORD, "csrf_token": token(page.text)})
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text
    site.clock.advance(minutes=16)
    page = client.get("/signin")
    assert client.post("/signin", data={"email": CRO, "password": PASSWORD,
                                        "csrf_token": token(page.text)}).status_code == 303


def test_sessions_expire_rotate_and_end(site: Site) -> None:
    """Sign-in issues a new cookie; an idle session expires; signing out ends it."""
    client = site.client()
    page = client.get("/signin")
    before = client.cookies.get("icp_session")
    client.post("/signin", data={"email": CRO, "password": PASSWORD, "csrf_token": token(page.text)})
    after = client.cookies.get("icp_session")
    assert before and after and before != after
    assert client.get("/connections/main").status_code == 200
    site.clock.advance(minutes=121)
    assert client.get("/connections/main").status_code == 303
    client = site.signed_in(CRO)
    page = client.get("/connections/main")
    client.post("/signout", data={"csrf_token": token(page.text)})
    assert client.get("/connections/main").status_code == 303


def test_yaml_export_and_drift_page(site: Site) -> None:
    """Any version's YAML downloads as stored; the drift page shows the report."""
    client = site.signed_in(ANALYST)
    exported = client.get("/connections/main/versions/1/scorecard.yaml")
    assert exported.status_code == 200 and exported.text == site.services.contexts["main"].versions.get(1).document
    assert "attachment" in exported.headers["content-disposition"]
    drift = client.get("/connections/main/drift")
    assert drift.status_code == 200 and "Version in force" in drift.text


def test_cookie_behind_https_proxy_is_host_bound_and_secure(engine: Engine, tmp_path: Path) -> None:
    """With an https public_url the session cookie is __Host-, Secure, HttpOnly and SameSite=Lax."""
    services = build_services(settings_for(tmp_path, "https://icp.example.com"), engine, Clock(), FAST_HASHER)
    client = TestClient(create_app(services), base_url="https://icp.example.com", follow_redirects=False)
    response = client.get("/signin")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-icp_session=") and "Secure" in cookie and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie and "Path=/" in cookie and "Domain" not in cookie
    assert response.headers["strict-transport-security"].startswith("max-age=")
