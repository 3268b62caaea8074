"""The account's fit on its open deals: score and tier in owned deal fields, written only when they change.

A rep working a deal sees its account's fit without opening the account. The values are those last
written on the account (so a valid manual override shows there too); a deal gets them while it is
open, and keeps what it had when it closes. What each deal was last sent is kept in
``written_deal``, so an unchanged deal costs no call. Turned off by ``writeback.deal_fields = false``
or a mapping without ``owned_deals``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, and_, select
from sqlmodel import Session, col

from connectors.base import Connector
from connectors.errors import FatalError, MissingFieldsError, SkippableError
from worker.ingest.mapping import OwnedDealFields
from worker.logs import get_logger
from worker.store import Deal, QuarantineRow, WrittenDeal, WrittenSnapshot, session_scope, upsert

log = get_logger("worker.writeback.deals")
READ_BATCH = 5_000

__all__ = ["DealReport", "DealWriteBack", "write_deal_fields"]


@dataclass
class DealReport:
    """What deal write-back sent, left alone, or could not write."""

    written: int = 0
    unchanged: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    skipped: str | None = None


class DealWriteBack:
    """Writes one connection's account fit onto its open deals."""

    def __init__(self, engine: Engine, connection: str, connector: Connector, owned: OwnedDealFields,
                 run_id: str) -> None:
        self.engine, self.connection, self.connector = engine, connection, connector
        self.owned, self.run_id = owned, run_id

    def pending(self) -> tuple[dict[str, dict[str, str]], int]:
        """(deal id → the values it should show, for deals whose values changed; how many are unchanged).

        Open deals are read joined with their account's snapshot and what each was last sent, streamed
        :data:`READ_BATCH` at a time: the snapshots of every account are never held at once."""
        query = select(col(Deal.id), col(WrittenSnapshot.values), col(WrittenDeal.values)).join(
            WrittenSnapshot, and_(col(WrittenSnapshot.connection) == col(Deal.connection),
                                  col(WrittenSnapshot.account_id) == col(Deal.account_id))).outerjoin(
            WrittenDeal, and_(col(WrittenDeal.connection) == col(Deal.connection),
                              col(WrittenDeal.deal_id) == col(Deal.id))).where(
            col(Deal.connection) == self.connection, col(Deal.outcome) == "open", col(Deal.deleted) == False)  # noqa: E712
        changes: dict[str, dict[str, str]] = {}
        unchanged = 0
        with Session(self.engine) as session:
            for rows in session.execute(query.execution_options(yield_per=READ_BATCH)).partitions():
                for deal_id, values, sent in rows:
                    if not values or not values.get("score"):
                        continue
                    desired = {"score": str(values["score"]), "tier": str(values.get("tier") or "")}
                    if sent == desired:
                        unchanged += 1
                    else:
                        changes[deal_id] = desired
        return changes, unchanged

    def run(self, now: datetime) -> DealReport:
        """Send the changed deals in chunks, keeping what each successful write sent."""
        report = DealReport()
        changes, report.unchanged = self.pending()
        ids = sorted(changes)
        size = max(1, self.connector.write_chunk(len(ids)))  # a CRM batch, or everything in one bulk job
        try:
            for start in range(0, len(ids), size):
                self._send({i: changes[i] for i in ids[start:start + size]}, report, now)
        except FatalError as exc:  # the deal fields are missing (no `icp setup` since they were added)
            if not isinstance(exc, MissingFieldsError) and exc.status != 400:
                raise
            report.skipped = f"deal fields not written: {exc} (run `icp setup` to create them)"
            log.warning("deals.skipped", reason=report.skipped)
        log.info("deals.written", written=report.written, failed=len(report.failed), unchanged=report.unchanged)
        return report

    def _send(self, chunk: dict[str, dict[str, str]], report: DealReport, now: datetime) -> None:
        payload = {i: {self.owned.score: v["score"], self.owned.tier: v["tier"]} for i, v in chunk.items()}
        try:
            outcome = self.connector.write_deals(payload)
            failed, succeeded = dict(outcome.failed), outcome.succeeded
        except SkippableError as exc:
            failed, succeeded = {exc.record_id: str(exc)}, tuple(i for i in chunk if i != exc.record_id)
        with session_scope(self.engine) as session:
            upsert(session, WrittenDeal, [{"connection": self.connection, "deal_id": i, "values": chunk[i],
                                           "written_at": now, "run_id": self.run_id} for i in succeeded])
            for deal_id, reason in failed.items():
                session.add(QuarantineRow(connection=self.connection, run_id=self.run_id, object_type="writeback",
                                          record_id=deal_id, field="owned deal values", reason=reason,
                                          raw=chunk.get(deal_id, {}), at=now))
        report.written += len(succeeded)
        report.failed.update(failed)


def write_deal_fields(engine: Engine, connection: str, connector: Connector, owned: OwnedDealFields | None,
                      enabled: bool, run_id: str, now: datetime) -> DealReport:
    """Deal write-back for a connection, when its mapping names owned deal fields and it is enabled."""
    if owned is None or not enabled:
        return DealReport(skipped="off")
    return DealWriteBack(engine, connection, connector, owned, run_id).run(now)
