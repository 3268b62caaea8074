"""The own-write check through stored fingerprints: equal content is skipped, any change is kept, and
accounts stored before fingerprints were kept are compared in full once and get theirs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from worker.ingest.unchanged import UnchangedAccounts
from worker.store import Account, migrate, session_scope, upsert

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _row(i: int, employees: int = 10, stamp: str = "2026-11-01T00:00:00Z") -> dict[str, Any]:
    return {"connection": "c", "id": str(i), "name": f"Company {i}", "owner_id": "o1", "modified_at": NOW,
            "attributes": {"employees": employees}, "health": {}, "override_score": None, "override_reason": None,
            "override_issue": None, "owned_values": {"score": "50"}, "deleted": False, "synced_at": NOW,
            "raw": {"numberofemployees": str(employees), "hs_lastmodifieddate": stamp, "icp_score": "50"}}


def _keys(engine: Engine) -> dict[str, str | None]:
    with Session(engine) as session:
        return {r[0]: r[1] for r in session.execute(select(col(Account.id), col(Account.content_key)))}


def test_fingerprints_skip_own_writes_and_keep_changes(engine: Engine) -> None:
    migrate(engine)
    check = UnchangedAccounts("c", ["icp_score"])
    first = [_row(1), _row(2)]
    check.keyed(first)
    with session_scope(engine) as session:
        upsert(session, Account, first)
    again = [_row(1, stamp="2026-11-02T00:00:00Z") | {"raw": _row(1)["raw"] | {"icp_score": "70",
                                                                              "hs_lastmodifieddate": "x"}},
             _row(2, employees=11)]
    check.keyed(again)
    with session_scope(engine) as session:
        kept, same = check.changed(session, again)
    assert [r["id"] for r in kept] == ["2"] and same == 1


def test_accounts_stored_without_a_fingerprint_are_compared_in_full_and_get_one(engine: Engine) -> None:
    migrate(engine)
    with session_scope(engine) as session:
        upsert(session, Account, [_row(1), _row(2)])  # as stored before fingerprints were kept
    assert _keys(engine) == {"1": None, "2": None}
    check = UnchangedAccounts("c", ["icp_score"])
    pulled = [_row(1), _row(2, employees=12)]
    check.keyed(pulled)
    with session_scope(engine) as session:
        kept, same = check.changed(session, pulled)
    assert [r["id"] for r in kept] == ["2"] and same == 1
    assert _keys(engine)["1"] == pulled[0]["content_key"]


def test_tables_written_in_bulk_get_planner_statistics(engine: Engine) -> None:
    from sqlalchemy import text

    from worker.store import refresh_statistics

    migrate(engine)
    refresh_statistics(engine, 10, Account)  # a few rows: nothing to do
    refresh_statistics(engine, 10_000, Account)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            analyzed = connection.execute(text(
                "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'account' "
                "AND schemaname = current_schema()")).scalar()
        assert analyzed is not None
