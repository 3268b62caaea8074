"""Fixtures: a small deterministic world, a running HubSpot sandbox and a real SDK client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hubspot import HubSpot

from sandbox import HubSpotSandbox, World, generate_world

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def small_world() -> World:
    return generate_world(seed=7, accounts=400, now=NOW)


@pytest.fixture()
def hs(small_world: World) -> Iterator[HubSpotSandbox]:
    with HubSpotSandbox(small_world) as sandbox:
        yield sandbox


@pytest.fixture()
def client(hs: HubSpotSandbox) -> HubSpot:
    return HubSpot(access_token="test-token", host=hs.url)
