"""A small store for the review pages: accounts with owners and open deals, a version in force, a proposal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import Engine

from worker.context import Context
from worker.govern.approval import approve_version
from worker.govern.proposals import store_proposal
from worker.score.scorecard import Scorecard, load_scorecard, parse_scorecard
from worker.score.signoff import CLI, Actor
from worker.score.versions import VersionInfo
from worker.settings import DEFAULT_CONFIG, Settings, load_settings
from worker.store import Account, Deal, Owner, WebUser, session_scope, upsert

PASSWORD = "correct horse battery staple"
FOUNDER, CRO, CS, ANALYST = "founder@example.com", "cro@example.com", "cs-lead@example.com", "analyst@example.com"
CONFIG = """
public_url = "{public_url}"
[web]
max_failed_logins = 5
lockout_minutes = 15
[connections.main]
approvers = ["founder@example.com"]
viewers = ["analyst@example.com"]
[connections.main.review]
leadership_owner = "founder@example.com"
required_roles = ["sales", "delivery"]
[connections.main.review.roles]
sales = ["cro@example.com"]
delivery = ["cs-lead@example.com"]
"""
INDUSTRIES = ["COMPUTER_SOFTWARE", "FINANCIAL_SERVICES", "RETAIL", "INSURANCE"]


@dataclass
class Clock:
    """A clock the tests move by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 2, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def settings_for(tmp_path: Path, public_url: str = "http://127.0.0.1:8080", extra: str = "") -> Settings:
    config = tmp_path / "icp.toml"
    config.write_text(CONFIG.format(public_url=public_url) + extra)
    return load_settings(config)


def variant(points: int) -> Scorecard:
    """The starter scorecard with its first bin worth ``points``."""
    document = load_scorecard(DEFAULT_CONFIG / "starter-scorecard.yaml").model_dump(mode="json", exclude_none=True)
    document["criteria"][0]["bins"][0]["points"] = points
    document["name"] = f"Starter, first bin {points}"
    return parse_scorecard(document)


def seed_accounts(engine: Engine, connection: str, n: int, chunk: int = 5000) -> None:
    """``n`` accounts across four owners, every third with an open deal."""
    with session_scope(engine) as db:
        upsert(db, Owner, [{"connection": connection, "id": f"o{i}", "email": f"rep{i}@example.com",
                            "name": f"Rep {i}", "active": True, "raw": {}} for i in range(4)])
    for start in range(0, n, chunk):
        accounts, deals = [], []
        for i in range(start, min(n, start + chunk)):
            attributes = {"industry": INDUSTRIES[i % 4], "employees": (i * 37) % 5000,
                          "annual_revenue": (i * 7919) % 90_000_000, "uses_data_warehouse": i % 2 == 0,
                          "web_visits_30d": i % 80}
            accounts.append({"connection": connection, "id": f"a{i}", "name": f"Company {i:06d}",
                             "owner_id": f"o{i % 4}", "attributes": attributes, "health": {}, "owned_values": {},
                             "raw": {}, "deleted": False})
            if i % 3 == 0:
                deals.append({"connection": connection, "id": f"d{i}", "account_id": f"a{i}", "outcome": "open",
                              "amount": float(1000 + (i % 50) * 500), "attributes": {}, "raw": {},
                              "deleted": False})
        with session_scope(engine) as db:
            upsert(db, Account, accounts)
            upsert(db, Deal, deals)


def seed_versions(context: Context, clock: Callable[[], datetime]) -> VersionInfo:
    """v1 in force (approved by both roles on the command line), v2 proposed with its impact; returns v2."""
    evidence = {"alignment_checked": True, "status": "proposed", "headline": "Software and fintech win more.",
                "readiness": {"stop_reasons": [], "warnings": ["few delivery-fit notes"]}}
    v1 = store_proposal(context, variant(10), by=Actor("revops@example.com", CLI, "ops"), now=clock(),
                        evidence=evidence)
    for who in (CRO, CS):
        approve_version(context.versions, v1.version, by=Actor(who, CLI, "ops"), now=clock(), note="first")
    return store_proposal(context, variant(25), by="icp refine", now=clock(),
                          evidence={**evidence, "headline": "Weight firmographics more."})


FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""argon2 with small costs, so the tests' many sign-ins stay quick; production uses argon2's defaults."""


@cache
def password_hash() -> str:
    """The argon2 hash of :data:`PASSWORD`."""
    return FAST_HASHER.hash(PASSWORD)


def add_people(engine: Engine, clock: Callable[[], datetime]) -> None:
    """Local accounts for everyone in the config, and one person the config does not name."""
    with session_scope(engine) as db:
        for email in (FOUNDER, CRO, CS, ANALYST, "stranger@example.com"):
            db.add(WebUser(email=email, password_hash=password_hash(), created_at=clock(),
                           password_changed_at=clock()))
