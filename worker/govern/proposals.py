"""Refinement as a job: evidence from the store in, a proposed version and its brief out.

The job never approves anything. It stores a proposed version (when the evidence
supports one), keeps the brief in both formats exactly as rendered, and records
the run; the leadership review task is raised by :mod:`worker.govern.tasks`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, select
from sqlmodel import Session

from worker.context import Context
from worker.ingest.records import AccountRecord, DealRecord, EvidenceNote
from worker.logs import get_logger
from worker.refine import Analysis, RefinementInput, RefineSettings, refine
from worker.refine.brief import render_brief
from worker.score.versions import VersionInfo
from worker.settings import ConfigError
from worker.store import Account, Brief, Deal, EvidenceNoteRow, Run, session_scope, upsert

log = get_logger("worker.govern.proposals")
BRIEF_FORMATS = ("html", "md")


@dataclass(frozen=True)
class RefinementOutcome:
    """What one refinement produced."""

    run_id: str
    analysis: Analysis
    version: VersionInfo | None
    brief_label: str

    def to_json(self) -> dict[str, Any]:
        """The machine-readable summary of ``icp refine --json``."""
        return {"run_id": self.run_id, "version": self.version.label if self.version else None,
                "brief": self.brief_label, **self.analysis.to_json()}


def refine_settings(ctx: Context) -> RefineSettings:
    """The connection's refinement settings (``connections.<name>.refine`` in the config), validated."""
    try:
        return RefineSettings(**ctx.config.refine)
    except ValidationError as exc:
        problems = "; ".join(f"connections.{ctx.name}.refine.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors())
        raise ConfigError(problems) from None


def load_evidence(engine: Engine, connection: str) -> tuple[list[AccountRecord], list[DealRecord], list[EvidenceNote]]:
    """Every live account, deal and evidence note of a connection as canonical records."""
    with Session(engine) as session:
        accounts = [AccountRecord(id=a.id, name=a.name, owner_id=a.owner_id, modified_at=a.modified_at,
                                  attributes=a.attributes, health=a.health)
                    for a in session.execute(select(Account).where(
                        Account.connection == connection, Account.deleted == False)).scalars()]  # noqa: E712
        deals = [DealRecord(id=d.id, account_id=d.account_id, outcome=d.outcome, owner_id=d.owner_id,  # type: ignore[arg-type]
                            amount=d.amount, created_at=d.created_at, closed_at=d.closed_at, stage=d.stage,
                            pipeline=d.pipeline, loss_reason=d.loss_reason, competitor=d.competitor,
                            lead_source=d.lead_source, attributes=d.attributes)
                 for d in session.execute(select(Deal).where(
                     Deal.connection == connection, Deal.deleted == False)).scalars()]  # noqa: E712
        notes = [EvidenceNote(id=n.id, text=n.text, account_id=n.account_id, deal_id=n.deal_id, kind=n.kind,
                              author=n.author, created_at=n.created_at, source=n.source)
                 for n in session.execute(select(EvidenceNoteRow).where(
                     EvidenceNoteRow.connection == connection)).scalars()]
    return accounts, deals, notes


def store_briefs(engine: Engine, connection: str, label: str, analysis: Analysis, run_id: str,
                 now: datetime) -> None:
    """Render the brief in every format and keep it."""
    rows = [{"connection": connection, "label": label, "format": fmt, "text": render_brief(analysis, label, fmt),
             "created_at": now, "run_id": run_id} for fmt in BRIEF_FORMATS]
    with session_scope(engine) as session:
        upsert(session, Brief, rows)


def read_brief(engine: Engine, connection: str, label: str, fmt: str) -> str | None:
    """A stored brief, or None."""
    with Session(engine) as session:
        row = session.get(Brief, (connection, label, fmt))
        return row.text if row else None


def run_refinement(ctx: Context, *, force: bool = False, by: str = "icp refine",
                   now: datetime | None = None) -> RefinementOutcome:
    """Analyse the connection's evidence; store a proposed version when the evidence supports one."""
    moment = now or datetime.now(UTC)
    run_id = uuid.uuid4().hex[:16]
    settings = refine_settings(ctx)
    accounts, deals, notes = load_evidence(ctx.engine, ctx.name)
    data = RefinementInput.from_records(accounts, deals, notes, now=moment, window_months=settings.window_months)
    current = ctx.versions.in_force()
    analysis = refine(data, settings, current.scorecard if current else None, force=force)
    version = None
    if analysis.proposed is not None:
        evidence = {**analysis.to_json(), "alignment_checked": True, "refine_run": run_id}
        version = ctx.versions.create(analysis.proposed, by=by, now=moment, evidence=evidence,
                                      note=analysis.headline)
    label = version.label if version else f"run-{run_id}"
    store_briefs(ctx.engine, ctx.name, label, analysis, run_id, moment)
    with session_scope(ctx.engine) as session:
        session.add(Run(id=run_id, connection=ctx.name, kind="refine-analysis", status="ok", started_at=moment,
                        finished_at=datetime.now(UTC), summary={"status": analysis.status, "version": label,
                                                                "headline": analysis.headline}))
    log.info("refine.done", status=analysis.status, version=label, headline=analysis.headline)
    return RefinementOutcome(run_id, analysis, version, label)
