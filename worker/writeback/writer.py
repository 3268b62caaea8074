"""Write-back: send only the owned values that changed since the last successful write.

The desired values of an account come from its latest score, or from a person's
manual override, which always wins and is never overwritten. They are compared
with the last-written snapshot (and with what the CRM currently shows, so a value
someone edited by hand is restored); only differences are sent, in batches. The
snapshot of each record is saved as soon as its batch succeeds. A record the CRM
already shows as desired (a write that succeeded but was never recorded: the
worker was killed after the CRM acted) is not sent again; its snapshot is saved.
The store may not have seen such a write yet (the next pull may not reach it), so
after a cycle that did not finish each batch is read back from the CRM first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from connectors.base import Connector, WriteOutcome
from connectors.errors import SkippableError
from connectors.idempotent import same_value
from worker.ingest.mapping import NativeTier, OwnedFields
from worker.logs import get_logger
from worker.score.scorecard import Scorecard
from worker.store import Account, AccountScore, QuarantineRow, Run, WrittenSnapshot, session_scope, upsert
from worker.writeback.overrides import override_decision, record_override_task

COMPARED = ("score", "tier", "reasons", "version", "status")
MAX_LISTED = 10_000
"""Above this many candidates the write-back compares every account instead of listing them."""
WRITE_BATCH = 5_000
"""Accounts compared together (their scores, accounts and snapshots read at once)."""
SEND_AT = 50_000
"""Changes held before they are sent: bounded memory, and bulk paths still get large writes whole."""
SHOWN = ("score", "tier", "reasons", "version", "native_tier")
"""The owned values the store keeps as the CRM shows them (``col(Account.owned_values)``)."""
log = get_logger("worker.writeback.writer")


@dataclass
class WriteReport:
    """What write-back sent and what failed."""

    candidates: int = 0
    unchanged: int = 0
    written: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    capped: int = 0
    overrides: int = 0
    native_tier_kept: int = 0


def desired_values(score: Any, account: Any, card: Scorecard, label: str, needs_reason: bool = False,
                   with_status: bool = False) -> dict[str, str]:
    """The owned values an account should show; a valid manual override wins over the computed score.

    Scores are whole numbers. ``with_status`` adds the status field: why an override was ignored.
    """
    reasons = list(score.reasons)
    value, tier = int(score.score), score.tier
    override, status = override_decision(account, needs_reason)
    if override is not None:
        value = override
        bands = sorted(card.bands, key=lambda b: -b.min)
        tier = next(b.tier for b in bands if value >= b.min)
        why = account.override_reason or "no reason given"
        reasons = [f"manual override {value}: {why}", f"computed {score.score} ({score.tier})", *reasons[:3]]
    desired = {"score": str(value), "tier": tier, "reasons": "\n".join(reasons), "version": label,
               "scored_at": score.scored_at.isoformat().replace("+00:00", "Z") if score.scored_at else ""}
    if with_status:
        desired["status"] = status
    return desired


def changed_fields(desired: Mapping[str, str], snapshot: Mapping[str, Any] | None,
                   in_crm: Mapping[str, Any], read_after_write: bool = True) -> dict[str, str]:
    """The owned fields to send: those whose value differs from the last write or from the CRM.

    ``scored_at`` travels only with another change. A value someone edited by hand in the
    CRM is restored (numbers may come back as "72.0", so scores compare as numbers), and so is
    one someone cleared: a field the CRM shows empty although the worker wrote a value into it and
    the record was read after that write (``read_after_write``; before it, empty is just the old value).
    """
    previous = snapshot or {}
    compared = [k for k in COMPARED if k in desired]
    stale = {k for k in compared if (k not in previous and k != "status") or str(previous.get(k) or "") != desired[k]}
    if read_after_write:
        stale |= {k for k in compared if k in in_crm and in_crm[k] in (None, "") and previous.get(k) not in (None, "")}
    crm_score = in_crm.get("score")
    if crm_score not in (None, "") and _number(crm_score) != _number(desired["score"]):
        stale.add("score")
    stale |= {k for k in ("tier", "version") if in_crm.get(k) not in (None, "") and str(in_crm[k]) != desired[k]}
    if not stale:
        return {}
    return {k: desired[k] for k in (*compared, "scored_at") if k in stale or k == "scored_at"}


def crm_holds(desired: Mapping[str, str], snapshot: Mapping[str, Any] | None, in_crm: Mapping[str, Any]) -> bool:
    """Whether the CRM already shows every owned value ``desired`` asks for (``in_crm``: what the last pull
    read, or what the last recorded write sent, whichever came later).

    Then nothing is sent: the values got there by a write whose success was never recorded (the worker
    was killed after the CRM acted) or by a person typing the same. The status field is not read back,
    so it must equal the last write's.
    """
    for key in COMPARED:
        if key not in desired:
            continue
        if key == "status":
            if str((snapshot or {}).get("status") or "") != desired["status"]:
                return False
            continue
        shown = in_crm.get(key)
        if key not in in_crm or not same_value(desired[key], "" if shown is None else str(shown).strip()):
            return False
    return True


def mirror_native_tier(native: NativeTier, desired: dict[str, str], send: dict[str, str],
                       snapshot: Mapping[str, Any] | None, in_crm: Mapping[str, Any]) -> bool:
    """Add the native tier to ``send`` when it must change; False when a person's value is kept instead.

    A value in the CRM that differs from what the worker last wrote there was set by a person: it stays.
    """
    last = (snapshot or {}).get("native_tier") or ""
    current = in_crm.get("native_tier") or ""
    if current and current != last:
        desired["native_tier"] = last
        return False
    wanted = native.values.get(desired["tier"], "")
    desired["native_tier"] = wanted
    if wanted != last or current != wanted:
        send["native_tier"] = wanted
    return True


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _only(query: Any, column: Any, ids: list[str] | None) -> Any:
    """``query`` limited to ``ids`` (None: unlimited); long lists go as an IN of bound values, expanded once."""
    return query if ids is None else query.where(column.in_(bindparam("ids", ids, expanding=True)))


class WriteBack:
    """Writes one connection's changed scores to the CRM."""

    def __init__(self, engine: Engine, connection: str, connector: Connector, owned: OwnedFields,
                 run_id: str, max_records: int = 0, native_tier: NativeTier | None = None,
                 needs_reason: bool = False) -> None:
        self.engine, self.connection, self.connector = engine, connection, connector
        self.owned, self.run_id, self.max_records = owned, run_id, max_records
        self.native_tier, self.needs_reason = native_tier, needs_reason
        self.owners: dict[str, str | None] = {}
        self.report: WriteReport | None = None
        self._shown: dict[str, dict[str, Any]] = {}
        self.held: dict[str, dict[str, str]] = {}
        """Accounts whose CRM values already are the desired ones although no write of them was recorded."""
        self.verify = False
        """Read each batch back before sending it: the last cycle did not finish, and may have written some."""

    def crm_field(self, key: str) -> str:
        """The CRM field name of an owned value."""
        if key == "native_tier" and self.native_tier is not None:
            return self.native_tier.field
        return str(getattr(self.owned, key))

    def _compared(self, card: Scorecard, label: str, since: datetime | None, report: WriteReport
                  ) -> Iterator[dict[str, tuple[dict[str, str], dict[str, str]]]]:
        """For every account whose owned values must change: (all desired values, the fields to send),
        :data:`WRITE_BATCH` accounts at a time in account id order (memory stays bounded at any number of
        accounts); ``report``'s counts are complete once it is exhausted.

        With ``since`` only the candidates are compared: accounts stored at or after ``since`` (their
        CRM values or override may have changed) and accounts whose score is newer than their last
        successful write (new scores, earlier failures, capped writes). Rows are read as columns.
        """
        with Session(self.engine) as session:
            # mirroring the native tier reports every value a person keeps there: compare every account
            ids = None if since is None or self.native_tier is not None else self._candidates(session, since)
            if ids is not None and len(ids) > MAX_LISTED:
                ids = None  # as many candidates as accounts, near enough: compare them all
            for scores in self._score_batches(session, ids):
                yield self._compare(session, card, label, scores, report)
            if ids is not None:  # accounts that were not candidates need no write either
                live = self._live_scored(session)
                report.unchanged += live - report.candidates
                report.candidates = live
                report.overrides = self._overrides_in_force(session)

    def _score_batches(self, session: Session, ids: list[str] | None) -> Iterator[list[Any]]:
        """The latest scores (of ``ids``; all when None), :data:`WRITE_BATCH` at a time, by account id."""
        query = select(col(AccountScore.account_id), col(AccountScore.score), col(AccountScore.tier),
                       col(AccountScore.reasons), col(AccountScore.scored_at)).where(
            col(AccountScore.connection) == self.connection).order_by(col(AccountScore.account_id))
        if ids is None:
            for partition in session.execute(query.execution_options(yield_per=WRITE_BATCH)).partitions():
                yield list(partition)
            return
        for start in range(0, len(ids), WRITE_BATCH):
            yield list(session.execute(_only(query, col(AccountScore.account_id), ids[start:start + WRITE_BATCH])))

    def _compare(self, session: Session, card: Scorecard, label: str, scores: list[Any], report: WriteReport
                 ) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
        """The changes among one batch of scores (their accounts and snapshots read for them alone)."""
        ids = [s.account_id for s in scores]
        accounts = {a.id: a for a in session.execute(_only(select(
            col(Account.id), col(Account.override_score), col(Account.override_reason),
            col(Account.owned_values), col(Account.synced_at), col(Account.override_issue),
            col(Account.owner_id)).where(
            col(Account.connection) == self.connection, col(Account.deleted) == False),  # noqa: E712
            col(Account.id), ids)).all()}
        snapshots = {s.account_id: (s.values, s.written_at) for s in session.execute(_only(select(
            col(WrittenSnapshot.account_id), col(WrittenSnapshot.values), col(WrittenSnapshot.written_at)).where(
            col(WrittenSnapshot.connection) == self.connection), col(WrittenSnapshot.account_id), ids)).all()}
        changes: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
        for score in scores:
            account = accounts.get(score.account_id)
            if account is None:
                continue
            report.candidates += 1
            report.overrides += override_decision(account, self.needs_reason)[0] is not None
            desired = desired_values(score, account, card, label, self.needs_reason, bool(self.owned.status))
            snapshot, written_at = snapshots.get(score.account_id, (None, None))
            in_crm = account.owned_values or {}
            fresh = bool(written_at and account.synced_at and account.synced_at > written_at)
            send = changed_fields(desired, snapshot, in_crm, fresh)
            if send and crm_holds(desired, snapshot, in_crm):
                send = {}
                self.held[score.account_id] = desired
            if self.native_tier is not None and not mirror_native_tier(self.native_tier, desired, send,
                                                                       snapshot, in_crm):
                report.native_tier_kept += 1
            if send:
                self.held.pop(score.account_id, None)
                changes[score.account_id] = (desired, send)
                self._shown[score.account_id] = dict(in_crm)
                self.owners[score.account_id] = account.owner_id
            else:
                report.unchanged += 1
        return changes

    def _overrides_in_force(self, session: Session) -> int:
        """How many live scored accounts have a manual override that applies."""
        rows = session.execute(select(
            col(Account.override_score), col(Account.override_reason), col(Account.override_issue)).join(
            AccountScore, and_(col(AccountScore.connection) == col(Account.connection),
                               col(AccountScore.account_id) == col(Account.id))
        ).where(col(Account.connection) == self.connection, col(Account.deleted) == False,  # noqa: E712
                col(Account.override_score).is_not(None))).all()
        return sum(override_decision(row, self.needs_reason)[0] is not None for row in rows)

    def _live_scored(self, session: Session) -> int:
        """How many live accounts have a score."""
        query = select(func.count()).select_from(AccountScore).join(Account, and_(
            col(Account.connection) == col(AccountScore.connection),
            col(Account.id) == col(AccountScore.account_id))).where(
            col(AccountScore.connection) == self.connection, col(Account.deleted) == False)  # noqa: E712
        return int(session.execute(query).scalar_one())

    def _candidates(self, session: Session, since: datetime) -> list[str]:
        """Accounts stored at or after ``since``, or scored after their last successful write."""
        written = aliased(WrittenSnapshot)
        stored = select(col(Account.id)).where(
            col(Account.connection) == self.connection, col(Account.synced_at) >= since)
        rescored = select(col(AccountScore.account_id)).outerjoin(written, and_(
            col(written.connection) == col(AccountScore.connection),
            col(written.account_id) == col(AccountScore.account_id))).where(
            col(AccountScore.connection) == self.connection,
            or_(col(written.account_id).is_(None), col(written.written_at) < col(AccountScore.scored_at)))
        return sorted(set(session.execute(stored).scalars()) | set(session.execute(rescored).scalars()))

    def run(self, card: Scorecard, label: str, now: datetime, since: datetime | None = None) -> WriteReport:
        """Send every change, in chunks, as batches of accounts are compared; save snapshots of what
        succeeded as it goes (``since``: see :meth:`_compared`). Changes are sent once :data:`SEND_AT` are held
        (a connector's bulk path still sees large writes whole). Beyond ``max_records`` changes (in
        account id order) the rest are counted as capped and left for the next run."""
        report = WriteReport()
        self.report = report
        self.verify = self._after_interruption()
        if self.verify:
            log.info("writeback.verifying", reason="the last cycle did not finish: each batch is read back first")
        held: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
        wanted = 0
        for changes in self._compared(card, label, since, report):
            room = max(0, self.max_records - wanted) if self.max_records else len(changes)
            wanted += len(changes)
            held.update(dict(sorted(changes.items())[:room]) if room < len(changes) else changes)
            if len(held) >= SEND_AT:
                self._send_all(held, report, now)
                held = {}
        self._send_all(held, report, now)
        if self.max_records and wanted > self.max_records:
            report.capped = wanted - self.max_records
            log.warning("writeback.capped", held_back=report.capped, cap=self.max_records)
        return report

    def _send_all(self, changes: dict[str, tuple[dict[str, str], dict[str, str]]], report: WriteReport,
                  now: datetime) -> None:
        """Record what the CRM already holds; send held changes in the connector's chunks, by account id."""
        self._record_held(now)
        ids = sorted(changes)
        size = max(1, self.connector.write_chunk(len(ids)))
        for start in range(0, len(ids), size):
            chunk = {i: changes[i] for i in ids[start:start + size]}
            self._send(chunk, report, now)
            log.info("writeback.progress", written=report.written, failed=len(report.failed))
        self._shown.clear()
        self.owners.clear()

    def _after_interruption(self) -> bool:
        """Whether the connection's last cycle before this one ended ``failed`` or ``stopped``, or never ended
        (killed; closed as failed once the lock is taken over): it may have had a batch in flight that the CRM
        carried out but it never recorded."""
        with Session(self.engine) as session:
            status = session.execute(select(col(Run.status)).where(
                col(Run.connection) == self.connection, col(Run.kind) == "cycle", col(Run.id) != self.run_id)
                .order_by(col(Run.started_at).desc()).limit(1)).scalar()
        return status in ("failed", "stopped", "running")

    def _record_held(self, now: datetime) -> None:
        """Save the snapshot of accounts the CRM already shows as desired: they are written, without a call."""
        if not self.held:
            return
        with session_scope(self.engine) as session:
            upsert(session, WrittenSnapshot, [{"connection": self.connection, "account_id": i, "values": values,
                                               "written_at": now, "run_id": self.run_id}
                                              for i, values in self.held.items()])
        log.info("writeback.already_held", accounts=len(self.held))
        self.held.clear()

    def _record_shown(self, session: Session, sent: Mapping[str, Mapping[str, str]]) -> None:
        """Keep the store's copy of the owned values the CRM shows in step with what was just written.

        The next pull then recognises these records as changed only by the worker's own write
        (see :mod:`worker.ingest.unchanged`) instead of storing and rescoring them again.
        """
        if not sent:
            return
        table = Account.__table__  # type: ignore[attr-defined]
        statement = update(table).where(table.c.connection == bindparam("c"), table.c.id == bindparam("i")).values(
            owned_values=bindparam("shown", type_=table.c.owned_values.type))
        session.execute(statement, [
            {"c": self.connection, "i": i, "shown": {**self._shown.get(i, {}),
                                                     **{k: v for k, v in fields.items() if k in SHOWN}}}
            for i, fields in sent.items()])

    def _send(self, chunk: dict[str, tuple[dict[str, str], dict[str, str]]], report: WriteReport,
              now: datetime) -> None:
        payload = {i: {self.crm_field(k): v for k, v in send.items()} for i, (_, send) in chunk.items()}
        held = self.connector.holding(payload) if self.verify else set()
        payload = {i: values for i, values in payload.items() if i not in held}
        try:
            outcome = self.connector.write_accounts(payload) if payload else WriteOutcome((), {})
        except SkippableError as exc:
            outcome_failed = {exc.record_id: str(exc)}
            succeeded: tuple[str, ...] = tuple(i for i in payload if i != exc.record_id)
        else:
            outcome_failed, succeeded = dict(outcome.failed), outcome.succeeded
        succeeded = (*sorted(held), *succeeded)
        with session_scope(self.engine) as session:
            upsert(session, WrittenSnapshot, [{"connection": self.connection, "account_id": i, "values": chunk[i][0],
                                               "written_at": now, "run_id": self.run_id} for i in succeeded])
            for i in succeeded:  # an ignored override is answered in the owner's task, with the record
                if chunk[i][1].get("status"):
                    record_override_task(session, self.connection, i, self.owners.get(i), chunk[i][1]["status"],
                                         self.run_id, now)
            self._record_shown(session, {i: chunk[i][1] for i in succeeded})
            for record_id, reason in outcome_failed.items():
                session.add(QuarantineRow(connection=self.connection, run_id=self.run_id, object_type="writeback",
                                          record_id=record_id, field="owned values", reason=reason,
                                          raw=chunk[record_id][1] if record_id in chunk else {}, at=now))
        report.written += len(succeeded)
        report.failed.update(outcome_failed)
