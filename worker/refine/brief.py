"""The ICP refinement brief: one self-contained HTML file, an HTML fragment for a page, Markdown, a summary.

The public API, for the command line, the review pages and the CRM's leadership task:

- :func:`render_brief` — the whole brief as a self-contained HTML file (``html``) or Markdown (``md``);
- :func:`render_brief_fragment` — the same HTML body to embed in a page (styles scoped to ``.icp-brief``);
- :func:`brief_summary` / :func:`executive_summary` — the first screen as plain text and Markdown, short
  enough for a CRM task.

All of them open with the same first screen (:mod:`worker.refine.summary`): what changes, why, how
sure, who is affected and the risks. The sections below come from one :class:`BriefView`, so the
renderings carry the same facts. The HTML has no scripts, no external styles or fonts, and charts
drawn as inline SVG; CRM data is escaped in HTML (autoescape) and in Markdown (:func:`md_escape`).
"""

from __future__ import annotations

from typing import Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from worker.refine.brief_evidence import (
    alignment_section,
    evidence_section,
    lost_section,
    method_section,
    quotes_section,
    review_section,
    segments_section,
    surprises_section,
    triggers_section,
)
from worker.refine.brief_sections import (
    Words,
    bin_words,
    exclusions_section,
    impact_section,
    readiness_section,
    signals_section,
    validation_section,
    wins_losses_section,
)
from worker.refine.brief_view import BriefView
from worker.refine.engine import Analysis
from worker.refine.metrics import BandStats
from worker.refine.summary import BriefContext, ExecutiveSummary, FirstScreen, executive_summary, first_screen
from worker.refine.svg import RateBar, horizontal_bars, paired_histogram, rate_bars
from worker.refine.text import md_escape, plain, strip_controls
from worker.refine.vocabulary import Vocabulary, day, plural
from worker.score.scorecard import Scorecard

Format = Literal["html", "md"]


def _band_bars(bands: tuple[BandStats, ...]) -> list[RateBar]:
    return [RateBar(b.tier, b.rate, b.ci[0] if b.ci else None, b.ci[1] if b.ci else None, b.n) for b in bands]


def _charts(w: Words) -> dict[str, Markup]:
    """Inline SVG charts; each one's figures are also in a table of its section."""
    analysis, charts = w.analysis, {}
    validation = analysis.validation
    positive, negative = (("good customers", "not good (lost or problematic)") if w.target == "good_customer"
                          else ("won", "lost"))
    if validation is not None:
        proposed = validation.proposed
        charts["bands"] = rate_bars(_band_bars(proposed.bands), f"Held-out {w.rate} by tier, with 95% ranges",
                                    w.rate)
        charts["histogram"] = paired_histogram(proposed.histogram, "Held-out scores", positive, negative)
        if validation.proposed_won is not None:
            charts["histogram_won"] = paired_histogram(validation.proposed_won.histogram,
                                                       "Held-out scores: won vs lost", "won", "lost")
    if analysis.criteria:
        rows = [(w.vocab.field(c.attribute), c.iv, c.status == "selected")
                for c in sorted(analysis.criteria, key=lambda c: -c.iv)]
        charts["iv"] = horizontal_bars(rows, "Strength (IV) of every candidate field; proposed in blue",
                                       "minimum", analysis.settings.min_iv)
    lifts = [(f"{w.vocab.field(c.attribute)}: {bin_words(w, c.attribute, b)}", b.lift, True)
             for c in analysis.selected for b in c.bins if b.estimable and b.lift is not None]
    if lifts:
        charts["lift"] = horizontal_bars(lifts, f"Lift of each value over the overall {w.rate}", "overall", 1.0)
    return charts


def _meta(w: Words) -> str:
    a, ctx = w.analysis, w.context
    parts = [ctx.vocabulary.crm_name or "",
             f"closed deals {day(a.readiness.window_start)} to {day(a.readiness.window_end)}",
             f"{plural(a.n_deals, 'deal')} ({a.readiness.won:,} won, {a.readiness.lost:,} lost)",
             f"compared with {ctx.current_label}, in force" if ctx.current_label else "",
             f"amounts in {ctx.vocabulary.currency}" if ctx.vocabulary.currency else ""]
    return " · ".join(p for p in parts if p)


def build_view(analysis: Analysis, context: BriefContext) -> BriefView:
    """The whole brief as plain data: first screen, then the sections in reading order."""
    w = Words(analysis, context)
    rates = (f"Every rate says whether it is the win rate (closing) or the {w.rate} (what the scorecard predicts), "
             "and how many deals it rests on.")
    notes = (rates, *(context.vocabulary.relabel(m) for m in analysis.messages))
    sections = (validation_section(w), impact_section(w), signals_section(w), exclusions_section(w),
                readiness_section(w), wins_losses_section(w), triggers_section(w), segments_section(w),
                lost_section(w), surprises_section(w), quotes_section(w), review_section(w), alignment_section(w),
                evidence_section(w), method_section(w))
    return BriefView(f"ICP refinement brief: {context.label}", _meta(w), first_screen(analysis, context), notes,
                     sections)


def _clean(value: Any) -> Any:
    """Every value printed by a template loses control characters (CRM data may carry NUL or escape codes)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return strip_controls(value)
    return value


def _environment(fmt: Format) -> Environment:
    env = Environment(
        loader=PackageLoader("worker.refine", "templates"),
        autoescape=fmt == "html",
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_clean,
    )
    env.filters.update(md=md_escape, plain=plain)
    return env


def _values(analysis: Analysis, context: BriefContext, fmt: Format) -> dict[str, Any]:
    view = build_view(analysis, context)
    charts = _charts(Words(analysis, context)) if fmt == "html" else {}
    return {"view": view, "screen": view.screen, "label": context.label, "charts": charts}


def brief_context(version_label: str, vocabulary: Vocabulary | None = None, current: Scorecard | None = None,
                  current_label: str | None = None) -> BriefContext:
    """How to present a brief: the proposal's label, the CRM's words, and the version in force (if any)."""
    return BriefContext(version_label, vocabulary or Vocabulary(), current, current_label)


def render_brief(analysis: Analysis, version_label: str, fmt: Format, *, vocabulary: Vocabulary | None = None,
                 current: Scorecard | None = None, current_label: str | None = None) -> str:
    """Render the ICP refinement brief.

    Args:
        analysis: The result of :func:`worker.refine.refine`.
        version_label: The scorecard version the brief accompanies (e.g. ``v3``).
        fmt: ``html`` for one self-contained page with inline SVG charts, or ``md`` for Markdown.
        vocabulary: The CRM's labels, record names and currency (else values read as given).
        current: The scorecard in force when the analysis ran, to say what changes.
        current_label: Its label (e.g. ``v1``).

    Returns:
        The brief's text.
    """
    if fmt not in ("html", "md"):
        raise ValueError(f"unknown brief format {fmt!r}; use 'html' or 'md'")
    context = brief_context(version_label, vocabulary, current, current_label)
    return _environment(fmt).get_template(f"brief.{fmt}.j2").render(**_values(analysis, context, fmt))


def render_brief_fragment(analysis: Analysis, version_label: str, *, vocabulary: Vocabulary | None = None,
                          current: Scorecard | None = None, current_label: str | None = None,
                          with_style: bool = True) -> Markup:
    """The brief's HTML body to embed in a page: an ``<article class="icp-brief">``, its styles scoped to it.

    The same content as :func:`render_brief` in ``html``, without ``<html>``/``<head>``; ids are
    those of the file (``summary``, ``validation``, ...), so in-page links work when embedded.
    With ``with_style`` a ``<style>`` element scoped to ``.icp-brief`` comes first.
    """
    context = brief_context(version_label, vocabulary, current, current_label)
    values = _values(analysis, context, "html") | {"with_style": with_style}
    return Markup(_environment("html").get_template("brief_fragment.html.j2").render(**values))


def brief_summary(analysis: Analysis, version_label: str, *, vocabulary: Vocabulary | None = None,
                  current: Scorecard | None = None, current_label: str | None = None,
                  link: str | None = None) -> ExecutiveSummary:
    """The executive summary (first screen) as plain text and Markdown, for a CRM task or a page."""
    return executive_summary(analysis, brief_context(version_label, vocabulary, current, current_label), link)


__all__ = ["BriefContext", "BriefView", "ExecutiveSummary", "FirstScreen", "brief_context", "brief_summary",
           "build_view", "executive_summary", "first_screen", "render_brief", "render_brief_fragment"]
