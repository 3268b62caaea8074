"""When scoring attributes were set: CRM property history in, leakage evidence for refinement out.

An attribute filled in after a deal closed (a renewal tier, an onboarding score) separates won from lost
perfectly and predicts nothing. The CRM's property history says when each account's current value was
set; refinement counts the closed deals whose account's value was set after the close.

Reading history costs API calls, so it is read economically: only the mapped scoring attributes (not
those the mapping already declares ``known: after_close``), only for accounts with closed deals, only
when the account changed since its history was last read, in the connector's batches (HubSpot 50
companies per call, Salesforce 200 accounts per AccountHistory query).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from connectors.base import Connector, ValueChange
from worker.ingest.mapping import FieldMapping, KnownWhen
from worker.ingest.records import DealRecord
from worker.logs import get_logger
from worker.refine.timing import AttributeTiming
from worker.store import Account, AttributeDeclaration, AttributeHistory, Deal, session_scope, upsert

log = get_logger("worker.ingest.history")
CHUNK = 500


@dataclass(frozen=True)
class HistoryReport:
    """What one history read did."""

    available: bool
    accounts: int = 0
    attributes: int = 0


def current_since(changes: Sequence[ValueChange]) -> datetime | None:
    """When the current (newest) value was first set: the oldest of the newest run of equal values.

    None when there is no history or the field is now empty.
    """
    if not changes or changes[0].value in (None, ""):
        return None
    since = changes[0].at
    for change in changes[1:]:
        if change.value != changes[0].value:
            break
        since = change.at
    return since


def history_fields(mapping: FieldMapping) -> dict[str, str]:
    """Attribute → CRM field, for the scoring attributes whose history is worth reading."""
    return {name: ref.field for name, ref in mapping.accounts.attributes.items() if ref.known != "after_close"}


def accounts_to_read(session: Session, connection: str) -> list[str]:
    """Accounts with closed deals whose history was never read or is older than their last change.

    The last change is when the account was last stored (``synced_at``, the start of the run that stored
    it): a record read back unchanged but for the worker's own write is not stored again, so its history
    is not read again either."""
    closed = select(col(Deal.account_id)).where(
        col(Deal.connection) == connection, col(Deal.deleted) == False, col(Deal.outcome).in_(("won", "lost")),  # noqa: E712
        col(Deal.account_id).is_not(None)).distinct()
    read = (select(col(AttributeHistory.account_id), func.min(col(AttributeHistory.read_at)).label("read_at"))
            .where(col(AttributeHistory.connection) == connection)
            .group_by(col(AttributeHistory.account_id)).subquery())
    rows = session.execute(
        select(col(Account.id), col(Account.synced_at), read.c.read_at)
        .join(read, read.c.account_id == col(Account.id), isouter=True)
        .where(col(Account.connection) == connection, col(Account.deleted) == False, col(Account.id).in_(closed))  # noqa: E712
        .order_by(col(Account.id)))
    return [account_id for account_id, modified, read_at in rows
            if read_at is None or (modified is not None and modified > read_at)]


def read_attribute_history(engine: Engine, connection: str, connector: Connector, mapping: FieldMapping,
                           now: datetime) -> HistoryReport:
    """Read and store when each account's current scoring-attribute values were set (see the module)."""
    fields = history_fields(mapping)
    if not fields:
        return HistoryReport(available=True)
    with Session(engine) as session:
        ids = accounts_to_read(session, connection)
    stored = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        history = connector.read_history(chunk, sorted(set(fields.values())))
        if history is None:
            log.info("history.unavailable", crm=connector.name)
            return HistoryReport(available=False, accounts=stored)
        rows = [{"connection": connection, "account_id": account_id, "attribute": name,
                 "set_at": current_since(history.get(account_id, {}).get(field, [])), "read_at": now}
                for account_id in chunk for name, field in fields.items()]
        with session_scope(engine) as session:
            upsert(session, AttributeHistory, rows)
        stored += len(chunk)
    log.info("history.read", accounts=stored, attributes=len(fields))
    return HistoryReport(available=True, accounts=stored, attributes=len(fields))


def declare(engine: Engine, connection: str, declarations: Mapping[str, KnownWhen], source: str,
            now: datetime) -> None:
    """Store ``known:`` declarations of attributes imported from a file (the latest import wins)."""
    rows = [{"connection": connection, "attribute": name, "known": known, "source": source[:256], "declared_at": now}
            for name, known in declarations.items()]
    if rows:
        with session_scope(engine) as session:
            upsert(session, AttributeDeclaration, rows)


def attribute_timing(engine: Engine, connection: str, deals: Iterable[DealRecord],
                     declared: Mapping[str, KnownWhen]) -> dict[str, AttributeTiming]:
    """Per attribute: its declaration (the CRM mapping's first, else an import's) and, over the closed,
    dated deals, how many had history for their account and how many of those had the account's current
    value set after the deal closed."""
    with Session(engine) as session:
        imported = {d.attribute: d.known for d in session.execute(select(AttributeDeclaration).where(
            col(AttributeDeclaration.connection) == connection)).scalars()}
        set_at: dict[str, dict[str, datetime]] = {}
        for row in session.execute(select(AttributeHistory).where(
                col(AttributeHistory.connection) == connection, col(AttributeHistory.set_at).is_not(None))).scalars():
            assert row.set_at is not None
            set_at.setdefault(row.account_id, {})[row.attribute] = row.set_at
    checked: Counter[str] = Counter()
    after: Counter[str] = Counter()
    for deal in deals:
        if deal.deleted or deal.outcome == "open" or deal.closed_at is None or deal.account_id is None:
            continue
        for name, moment in set_at.get(deal.account_id, {}).items():
            checked[name] += 1
            after[name] += moment > deal.closed_at
    known: dict[str, Any] = {**imported, **declared}
    names = sorted(set(known) | set(checked))
    return {name: AttributeTiming(known.get(name), checked[name], after[name]) for name in names}
