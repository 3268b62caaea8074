"""Refinement as a job: evidence from the store in, a proposed version and its brief out.

The job never approves anything. It stores a proposed version (when the evidence
supports one) together with its brief in every format (:mod:`worker.govern.briefs`),
exactly as rendered, and its account-by-account impact, in one transaction: a run killed half-way leaves either
all of it or nothing. A proposal that scores exactly like the version in force or a
pending one is not stored again, so re-running on unchanged evidence adds no version.
The leadership review tasks are recorded by the versions' recorders in that same
transaction (see :meth:`worker.context.Context.version_recorders`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from worker.context import Context
from worker.govern.briefs import BRIEF_FORMATS, read_brief, store_briefs, vocabulary_for, write_briefs
from worker.govern.impact import store_impact
from worker.ingest.history import attribute_timing
from worker.ingest.mapping import KnownWhen, MappingError
from worker.ingest.records import AccountRecord, DealRecord, EvidenceNote
from worker.ingest.scorecard_check import mapped_kinds, scorecard_problems, stored_kinds
from worker.ingest.vocabulary import load_field_labels
from worker.logs import get_logger
from worker.refine import Analysis, RefinementInput, RefineSettings, refine
from worker.refine.brief import BriefContext
from worker.refine.card import with_option_labels
from worker.refine.vocabulary import Vocabulary
from worker.score.scorecard import Scorecard, ScorecardError
from worker.score.scorecard.diff import diff_scorecards
from worker.score.signoff import WORKER, Actor
from worker.score.versions import VersionInfo, Versions
from worker.settings import ConfigError
from worker.store import Account, Deal, EvidenceNoteRow, Run, ScorecardVersionRow, session_scope

log = get_logger("worker.govern.proposals")
__all__ = [
    "BRIEF_FORMATS",
    "RefinementOutcome",
    "brief_context",
    "check_against_evidence",
    "identical_version",
    "load_evidence",
    "option_labels",
    "parse_as_of",
    "read_brief",
    "refine_as_of",
    "refine_settings",
    "run_refinement",
    "store_proposal",
]


@dataclass(frozen=True)
class RefinementOutcome:
    """What one refinement produced."""

    run_id: str
    analysis: Analysis
    version: VersionInfo | None
    brief_label: str
    new_version: bool = True

    def to_json(self) -> dict[str, Any]:
        """The machine-readable summary of ``icp refine --json``."""
        return {"run_id": self.run_id, "version": self.version.label if self.version else None,
                "new_version": self.new_version and self.version is not None, "brief": self.brief_label,
                **self.analysis.to_json()}


def refine_settings(ctx: Context) -> RefineSettings:
    """The connection's refinement settings (``connections.<name>.refine`` in the config), validated."""
    try:
        return RefineSettings(**{k: v for k, v in ctx.config.refine.items() if k != "as_of"})
    except ValidationError as exc:
        problems = "; ".join(f"connections.{ctx.name}.refine.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors())
        raise ConfigError(problems) from None


def parse_as_of(value: Any, where: str = "as_of") -> datetime | None:
    """The end of the day ``value`` (an ISO date or a date) names, UTC; None for nothing; ConfigError otherwise.

    Refinement on historical data takes its window back from this moment instead of today.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value).strip())
        except ValueError:
            raise ConfigError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None
    return datetime.combine(day, time.max, tzinfo=UTC)


def refine_as_of(ctx: Context) -> datetime | None:
    """``connections.<name>.refine.as_of`` of the config, as the end of that day UTC (None when unset)."""
    return parse_as_of(ctx.config.refine.get("as_of"), f"connections.{ctx.name}.refine.as_of")


def declared_timing(ctx: Context) -> dict[str, KnownWhen]:
    """The CRM mapping's ``known:`` declarations of account attributes (none when the mapping is unusable)."""
    try:
        attributes = ctx.mapping.accounts.attributes
    except (ConfigError, MappingError) as exc:
        log.warning("refine.no_mapping", reason=str(exc))
        return {}
    return {name: ref.known for name, ref in attributes.items() if ref.known is not None}


def load_evidence(engine: Engine, connection: str) -> tuple[list[AccountRecord], list[DealRecord], list[EvidenceNote]]:
    """Every live account, deal and evidence note of a connection as canonical records."""
    with Session(engine) as session:
        accounts = [AccountRecord(id=a.id, name=a.name, owner_id=a.owner_id, modified_at=a.modified_at,
                                  attributes=a.attributes, health=a.health)
                    for a in session.execute(select(Account).where(
                        col(Account.connection) == connection, col(Account.deleted) == False)).scalars()]  # noqa: E712
        deals = [DealRecord(id=d.id, account_id=d.account_id, outcome=d.outcome, owner_id=d.owner_id,
                            amount=d.amount, created_at=d.created_at, closed_at=d.closed_at, stage=d.stage,
                            pipeline=d.pipeline, loss_reason=d.loss_reason, competitor=d.competitor,
                            lead_source=d.lead_source, attributes=d.attributes)
                 for d in session.execute(select(Deal).where(
                     col(Deal.connection) == connection, col(Deal.deleted) == False)).scalars()]  # noqa: E712
        notes = [EvidenceNote(id=n.id, text=n.text, account_id=n.account_id, deal_id=n.deal_id, kind=n.kind,
                              author=n.author, created_at=n.created_at, source=n.source)
                 for n in session.execute(select(EvidenceNoteRow).where(
                     col(EvidenceNoteRow.connection) == connection)).scalars()]
    return accounts, deals, notes


def option_labels(ctx: Context) -> Mapping[str, Mapping[str, str]]:
    """The CRM's option labels per attribute (none when the vocabulary cannot be read)."""
    try:
        return load_field_labels(ctx.engine, ctx.name, ctx.mapping, ctx.config.currency).options
    except ConfigError as exc:
        log.warning("refine.no_option_labels", reason=str(exc))
        return {}


def brief_context(ctx: Context, label: str, analysis: Analysis, current: VersionInfo | None) -> BriefContext:
    """How the brief presents ``analysis``: the CRM's labels and names, and the version in force."""
    try:
        labels = load_field_labels(ctx.engine, ctx.name, ctx.mapping, ctx.config.currency)
        vocabulary = vocabulary_for(ctx.engine, ctx.name, ctx.mapping, analysis, labels)
    except ConfigError as exc:
        log.warning("brief.no_vocabulary", reason=str(exc))
        vocabulary = Vocabulary()
    return BriefContext(label, vocabulary, current.scorecard if current else None, current.label if current else None)


def identical_version(versions: Versions, card: Scorecard) -> VersionInfo | None:
    """The version in force or a pending proposal that scores exactly like ``card``, if any."""
    candidates = [v for v in (versions.in_force(), *versions.pending()) if v is not None]
    return next((v for v in candidates if not diff_scorecards(v.scorecard, card)), None)


def check_against_evidence(ctx: Context, card: Scorecard, source: str) -> None:
    """Refuse a hand-written scorecard that does not fit the mapping's and the evidence's attributes.

    Known attributes are the mapping's account attributes (with their declared types) and any attribute
    stored for the connection's accounts (CSV imports); see :mod:`worker.ingest.scorecard_check`.

    Raises:
        ScorecardError: Listing every problem with its place in ``source``.
    """
    with Session(ctx.engine) as session:
        stored = session.execute(select(col(Account.attributes)).where(col(Account.connection) == ctx.name).limit(5000))
        known = stored_kinds(row[0] or {} for row in stored)
    try:
        known |= mapped_kinds(ctx.mapping)
    except (ConfigError, MappingError) as exc:
        log.warning("propose.no_mapping", reason=str(exc))
    problems = scorecard_problems(card, known)
    if problems:
        raise ScorecardError(problems, source)


def store_proposal(ctx: Context, card: Scorecard, *, by: str | Actor, now: datetime, evidence: dict[str, Any],
                   note: str | None = None, analysis: Analysis | None = None,
                   run_id: str | None = None, source: str = "proposed scorecard") -> VersionInfo:
    """Store ``card`` as a proposed version with its brief (when analysed) and its impact, in one transaction.

    Every proposal, hand-written or from the refinement engine, is first checked against the mapping's
    and the evidence's attributes and types (:func:`check_against_evidence`). The new proposal supersedes
    any older pending one.

    Raises:
        ScorecardError: ``card`` names an attribute nobody maps, scores a date or a category by ranges, ...
    """
    check_against_evidence(ctx, card, source)
    current = ctx.versions.in_force()
    presentation = brief_context(ctx, "", analysis, current) if analysis is not None else None

    def attach(session: Session, number: int) -> None:
        if analysis is not None and presentation is not None:
            write_briefs(session, ctx.name, analysis, replace(presentation, label=f"v{number}"), run_id, now)
        summary = store_impact(session, ctx.name, number, card,
                               (current.version, current.scorecard) if current else None, now)
        row = session.get(ScorecardVersionRow, (ctx.name, number))
        assert row is not None
        row.evidence = {**row.evidence, "tier_impact": summary.to_json()}
        session.add(row)

    return ctx.versions.create(card, by=by, now=now, evidence=evidence, note=note, attach=attach)


def run_refinement(ctx: Context, *, force: bool = False, by: str = "icp refine",
                   now: datetime | None = None, as_of: datetime | None = None) -> RefinementOutcome:
    """Analyse the connection's evidence; store a proposed version when the evidence supports one.

    ``as_of`` (default: the config's ``refine.as_of``, else now) is the end of the analysis window, for
    historical data; the version and its brief are still stamped with the real time.
    """
    moment = now or datetime.now(UTC)
    run_id = uuid.uuid4().hex[:16]
    settings = refine_settings(ctx)
    reference = as_of or refine_as_of(ctx) or moment
    accounts, deals, notes = load_evidence(ctx.engine, ctx.name)
    timing = attribute_timing(ctx.engine, ctx.name, deals, declared_timing(ctx))
    data = RefinementInput.from_records(accounts, deals, notes, now=reference, window_months=settings.window_months,
                                        timing=timing)
    current = ctx.versions.in_force()
    analysis = refine(data, settings, current.scorecard if current else None, force=force)
    version, new = None, False
    if analysis.proposed is not None:
        card = with_option_labels(analysis.proposed.with_meanings(current.scorecard if current else None),
                                  option_labels(ctx))
        version = identical_version(ctx.versions, card)
        if version is None:
            evidence = {**analysis.to_json(), "alignment_checked": True, "refine_run": run_id}
            version, new = store_proposal(ctx, card, by=Actor(by, WORKER), now=moment,
                                          evidence=evidence, note=analysis.headline, analysis=analysis,
                                          run_id=run_id), True
            log.info("refine.stored", version=version.label)
    label = version.label if version else f"run-{run_id}"
    if version is None:
        store_briefs(ctx.engine, ctx.name, analysis, brief_context(ctx, label, analysis, current), run_id, moment)
    with session_scope(ctx.engine) as session:
        session.add(Run(id=run_id, connection=ctx.name, kind="refine-analysis", status="ok", started_at=moment,
                        finished_at=datetime.now(UTC), summary={"status": analysis.status, "version": label,
                                                                "new_version": new, "headline": analysis.headline}))
    log.info("refine.done", status=analysis.status, version=label, new_version=new, headline=analysis.headline)
    return RefinementOutcome(run_id, analysis, version, label, new)
