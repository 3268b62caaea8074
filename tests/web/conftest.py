"""A review-pages app on a small store, with a person to sign in as."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.web.world import FAST_HASHER, PASSWORD, Clock, add_people, seed_accounts, seed_versions, settings_for
from worker.web.app import Services, build_services, create_app

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Site:
    """The app, its services and clock."""

    services: Services
    clock: Clock

    def client(self) -> TestClient:
        return TestClient(create_app(self.services), base_url="http://127.0.0.1:8080", follow_redirects=False)

    def signed_in(self, email: str) -> TestClient:
        client = self.client()
        page = client.get("/signin")
        response = client.post("/signin", data={"email": email, "password": PASSWORD, "csrf_token": token(page.text),
                                                "next": "/"})
        assert response.status_code == 303, response.text
        return client


def token(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


@pytest.fixture
def site(engine: Engine, tmp_path: Path) -> Iterator[Site]:
    clock = Clock()
    services = build_services(settings_for(tmp_path), engine, clock, FAST_HASHER)
    seed_accounts(engine, "main", 120)
    seed_versions(services.contexts["main"], clock)
    add_people(engine, clock)
    yield Site(services, clock)
