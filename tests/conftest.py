"""Shared fixtures: a fresh store on SQLite and on PostgreSQL for every test that asks for one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import structlog
from sqlalchemy import Engine

from tests.postgres import postgres_url
from worker.store import make_engine, migrate

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """Every test starts with structlog's defaults and no bound context."""
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


@pytest.fixture(scope="session")
def pg_url() -> str:
    """A reachable PostgreSQL server (local, configured, or embedded)."""
    return postgres_url()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL for an empty store: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    base = request.getfixturevalue("pg_url")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    """A migrated store engine."""
    engine = make_engine(store_url)
    migrate(engine)
    yield engine
    engine.dispose()
