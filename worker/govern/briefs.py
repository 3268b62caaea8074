"""Briefs kept in the store, exactly as rendered for the approver, in every form a reader needs.

At refinement, :func:`store_briefs` renders and keeps, under the version's label:

========== ==========================================================================================
format     what it is
========== ==========================================================================================
``html``   the whole brief as one self-contained HTML file (``icp brief V``, ``icp refine --output``)
``md``     the same brief in Markdown
``fragment`` the brief's HTML body to embed in a review page (``<article class="icp-brief">``)
``sum.txt`` the executive summary (first screen) as plain text, for a CRM task body
``sum.md``  the executive summary in Markdown
========== ==========================================================================================

Read them with :func:`read_brief`, :func:`read_fragment` and :func:`read_summary`. Briefs stored
before the fragment and the summary existed have only ``html`` and ``md``: those readers return None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup
from sqlalchemy import Engine
from sqlmodel import Session

from worker.ingest.mapping import FieldMapping
from worker.ingest.vocabulary import record_names
from worker.refine import Analysis
from worker.refine.brief import BriefContext, brief_summary, render_brief, render_brief_fragment
from worker.refine.vocabulary import Vocabulary
from worker.score.scorecard.labels import FieldLabels
from worker.store import Brief, session_scope, upsert

BRIEF_FORMATS = ("html", "md", "fragment", "sum.txt", "sum.md")


@dataclass(frozen=True)
class StoredSummary:
    """A version's executive summary as stored: the headline, plain text and Markdown."""

    headline: str
    text: str
    markdown: str


def referenced_ids(analysis: Analysis) -> tuple[set[str], set[str]]:
    """The account and deal ids a brief mentions, so their names can be looked up."""
    deals: set[str] = set()
    accounts: set[str] = set()
    for criterion in analysis.criteria:
        for b in criterion.bins:
            deals.update(b.deal_ids)
    for exclusion in analysis.exclusions:
        deals.update(exclusion.deal_ids)
    if analysis.lost_deal_types is not None:
        for kind in analysis.lost_deal_types.types:
            deals.update(kind.deal_ids)
    if analysis.surprises is not None:
        for s in analysis.surprises.wins + analysis.surprises.losses:
            deals.add(s.deal_id)
            if s.account_id:
                accounts.add(s.account_id)
    for q in analysis.quotes:
        if q.deal_id:
            deals.add(q.deal_id)
        if q.account_id:
            accounts.add(q.account_id)
    return accounts, deals


def vocabulary_for(engine: Engine, connection: str, mapping: FieldMapping, analysis: Analysis,
                   labels: FieldLabels | None = None) -> Vocabulary:
    """The CRM's words for one analysis: labels, currency, and the names of the records it mentions."""
    account_ids, deal_ids = referenced_ids(analysis)
    accounts, deals = record_names(engine, connection, mapping, account_ids, deal_ids)
    return Vocabulary(labels or FieldLabels(), accounts, deals, mapping.crm)


def render_all(analysis: Analysis, context: BriefContext) -> dict[str, str]:
    """Every stored form of the brief, by format."""
    kwargs = {"vocabulary": context.vocabulary, "current": context.current, "current_label": context.current_label}
    summary = brief_summary(analysis, context.label, **kwargs)  # type: ignore[arg-type]
    return {
        "html": render_brief(analysis, context.label, "html", **kwargs),  # type: ignore[arg-type]
        "md": render_brief(analysis, context.label, "md", **kwargs),  # type: ignore[arg-type]
        "fragment": str(render_brief_fragment(analysis, context.label, **kwargs)),  # type: ignore[arg-type]
        "sum.txt": summary.text,
        "sum.md": summary.markdown,
    }


def write_briefs(session: Session, connection: str, analysis: Analysis, context: BriefContext, run_id: str | None,
                 now: datetime) -> None:
    """Render the brief in every format and add it, under ``context.label``, to ``session``'s transaction."""
    rows = [{"connection": connection, "label": context.label, "format": fmt, "text": text, "created_at": now,
             "run_id": run_id} for fmt, text in render_all(analysis, context).items()]
    upsert(session, Brief, rows)


def store_briefs(engine: Engine, connection: str, analysis: Analysis, context: BriefContext, run_id: str | None,
                 now: datetime) -> None:
    """Render the brief in every format and keep it under ``context.label`` (its own transaction)."""
    with session_scope(engine) as session:
        write_briefs(session, connection, analysis, context, run_id, now)


def read_brief(source: Engine | Session, connection: str, label: str, fmt: str) -> str | None:
    """A stored brief in one of :data:`BRIEF_FORMATS`, or None.

    ``source`` is an engine, or a session when the brief was written in a transaction not yet
    committed (a version's recorders run in the transaction that stores the proposal and its brief).
    """
    if isinstance(source, Session):
        row = source.get(Brief, (connection, label, fmt))
        return row.text if row else None
    with Session(source) as session:
        return read_brief(session, connection, label, fmt)


def read_fragment(source: Engine | Session, connection: str, label: str) -> Markup | None:
    """The brief's HTML body to embed in a page (already escaped, styles scoped to ``.icp-brief``), or None."""
    text = read_brief(source, connection, label, "fragment")
    return Markup(text) if text is not None else None  # noqa: S704 - rendered by our autoescaping template


def read_summary(source: Engine | Session, connection: str, label: str) -> StoredSummary | None:
    """The executive summary of a version (plain text and Markdown), or None when none was stored."""
    text = read_brief(source, connection, label, "sum.txt")
    markdown = read_brief(source, connection, label, "sum.md")
    if text is None or markdown is None:
        return None
    return StoredSummary(text.split("\n", 1)[0], text, markdown)


__all__ = ["BRIEF_FORMATS", "StoredSummary", "read_brief", "read_fragment", "read_summary", "referenced_ids",
           "render_all", "store_briefs", "vocabulary_for", "write_briefs"]
