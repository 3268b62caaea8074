"""The review pages in a real headless Chromium: sign-off by role, and every refusal, as a person meets them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from oidc_provider_mock import run_server_in_thread
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import Engine

from tests.contract.harness import HubSpotHarness, hubspot_harness
from tests.web.browser import chromium, click_and_wait, decide, free_port, serving, sign_in, sign_out, text
from tests.web.world import (
    ANALYST,
    CRO,
    CS,
    FAST_HASHER,
    PASSWORD,
    Clock,
    add_people,
    seed_accounts,
    seed_versions,
    settings_for,
)
from worker.govern.tasks import ReviewTasks, ensure_leadership_tasks
from worker.store import Owner, session_scope, upsert
from worker.web.app import Services, build_services, create_app


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def base_url(engine: Engine, tmp_path: Path, driver: WebDriver) -> Iterator[tuple[str, Services]]:
    port = free_port()
    clock = Clock()
    services = build_services(settings_for(tmp_path, f"http://127.0.0.1:{port}"), engine, clock, FAST_HASHER)
    seed_accounts(engine, "main", 200)
    seed_versions(services.contexts["main"], clock)
    add_people(engine, clock)
    driver.delete_all_cookies()
    with serving(create_app(services), port) as url:
        yield url, services


@pytest.fixture
def crm() -> Iterator[HubSpotHarness]:
    with hubspot_harness(accounts=20) as harness:
        yield harness


def leadership_tasks_in_crm(services: Services, crm: HubSpotHarness) -> dict[str | None, dict[str, object]]:
    """Run the worker's task step (as the nightly run does) and return the CRM's tasks by review key."""
    ctx = services.contexts["main"]
    with session_scope(ctx.engine) as db:  # the reviewers are CRM users
        upsert(db, Owner, [{"connection": "main", "id": owner, "email": who, "name": who, "active": True, "raw": {}}
                           for who, owner in ((CRO, crm.owner_ids()[0]), (CS, crm.owner_ids()[1]))])
    tasks = ReviewTasks.of(ctx, crm.connector, "browser-test")
    ensure_leadership_tasks(tasks, ctx.versions.list(), services.clock())
    return {str(t["owner"]): t for t in crm.tasks()}


def test_sign_off_by_sales_then_delivery(driver: WebDriver, base_url: tuple[str, Services],
                                         crm: HubSpotHarness) -> None:
    """Sign in, read the proposal, approve as sales (still pending), approve as delivery (now in force);
    the CRM tasks of both roles are then completed with the outcome."""
    url, services = base_url
    opened = leadership_tasks_in_crm(services, crm)
    assert len(opened) == 2 and not any(t["done"] for t in opened.values())
    assert f"{url}/connections/main/versions/2" in str(opened[crm.owner_ids()[0]]["body"])
    driver.get(f"{url}/connections/main/versions/2")
    assert driver.current_url.startswith(f"{url}/signin?next=")
    sign_in(driver, CRO, PASSWORD)
    assert driver.current_url == f"{url}/connections/main/versions/2"
    assert driver.find_element(By.ID, "summary-h").text == "Executive summary"
    page = text(driver)
    assert "Weight firmographics more." in page and "Your sign-off as sales is needed" in page
    decide(driver, "approve", "Fits the pipeline we see.")
    page = text(driver)
    assert "Your approval of v2 is recorded; still needed: delivery." in page
    assert "PROPOSED" in driver.find_element(By.CSS_SELECTOR, "h1 .status").text.upper()
    driver.get(f"{url}/connections/main")
    assert "v1" in driver.find_element(By.CSS_SELECTOR, "table.facts").text
    sign_out(driver)
    driver.get(f"{url}/connections/main/versions/2")
    sign_in(driver, CS, PASSWORD)
    assert "Your sign-off as delivery is needed" in text(driver)
    decide(driver, "approve", "We can onboard these.")
    assert "v2 approved: it is now in force" in text(driver)
    driver.get(f"{url}/connections/main")
    assert "v2" in driver.find_element(By.CSS_SELECTOR, "table.facts").text
    assert services.contexts["main"].versions.in_force().version == 2  # type: ignore[union-attr]
    driver.get(f"{url}/connections/main/history")
    history = text(driver)
    assert "We can onboard these." in history and "Fits the pipeline we see." in history
    closed = leadership_tasks_in_crm(services, crm)
    assert len(closed) == 2 and all(t["done"] for t in closed.values())
    assert "Outcome: approved for sales by cro@example.com (web)" in str(closed[crm.owner_ids()[0]]["body"])
    assert "Outcome: approved by cs-lead@example.com (web)" in str(closed[crm.owner_ids()[1]]["body"])


def test_refusals(driver: WebDriver, base_url: tuple[str, Services]) -> None:
    """A viewer gets no decision form and a posted one is refused; a form without its CSRF token is refused;
    five wrong passwords lock sign-in."""
    url, services = base_url
    driver.get(f"{url}/connections/main/versions/2")
    sign_in(driver, ANALYST, PASSWORD)
    assert "only the connection's approvers can approve or reject" in text(driver)
    assert not driver.find_elements(By.NAME, "decision")
    driver.execute_script(  # a viewer crafting the approval form by hand, with a valid token
        "const f = document.createElement('form'); f.method = 'post'; f.action = location.pathname + '/decision';"
        "for (const [k, v] of [['decision', 'approve'], ['note', 'sneaky'], ['csrf_token', "
        "document.querySelector('input[name=csrf_token]').value]]) { const i = document.createElement('input');"
        "i.name = k; i.value = v; f.appendChild(i); } document.body.appendChild(f); f.submit();")
    WebDriverWait(driver, 30).until(lambda d: "/decision" in d.current_url)
    assert "Not allowed" in driver.title or "Not allowed" in text(driver)
    sign_out(driver)
    driver.get(f"{url}/connections/main/versions/2")
    sign_in(driver, CRO, PASSWORD)
    driver.execute_script("document.querySelector('form.decide input[name=csrf_token]').remove();")
    decide(driver, "approve", "forged")
    assert "did not come from this site" in text(driver)
    assert services.contexts["main"].versions.signoffs(2) == []
    sign_out(driver)
    for attempt in range(5):
        sign_in(driver, CS, "not the password")
        assert "Wrong e-mail or password." in text(driver), attempt
    sign_in(driver, CS, PASSWORD)
    assert "Too many failed sign-ins" in text(driver)
    assert driver.current_url.startswith(f"{url}/signin")


def test_openid_connect_sign_in(driver: WebDriver, engine: Engine, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Sign in through a local OpenID provider: state, nonce and ID token checked, identity from the e-mail."""
    monkeypatch.setenv("ICP_OIDC_CLIENT_ID", "icp-worker")
    monkeypatch.setenv("ICP_OIDC_CLIENT_SECRET", "local-test-secret")
    with run_server_in_thread(port=free_port(), require_nonce=True) as provider:
        issuer = f"http://localhost:{provider.server_port}"
        port = free_port()
        extra = f'\n[web.oidc]\nlabel = "Acme SSO"\nserver_metadata_url = "{issuer}/.well-known/openid-configuration"\n'
        clock = Clock()
        services = build_services(settings_for(tmp_path, f"http://127.0.0.1:{port}", extra), engine, clock)
        seed_versions(services.contexts["main"], clock)
        driver.delete_all_cookies()
        with serving(create_app(services), port) as url:
            driver.get(f"{url}/connections/main/history")
            click_and_wait(driver, driver.find_element(By.LINK_TEXT, "Sign in with Acme SSO"))
            assert driver.current_url.startswith(issuer)
            driver.find_element(By.NAME, "sub").send_keys(CS)
            click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "button[type=submit]"))
            assert driver.current_url == f"{url}/connections/main/history", text(driver)
            assert CS in driver.find_element(By.CSS_SELECTOR, ".who").text
            driver.get(f"{url}/auth/oidc/callback?code=forged&state=forged")
            assert "refused" in text(driver)
