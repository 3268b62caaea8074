"""The ICP refinement brief: one self-contained HTML file, an HTML fragment for a page, Markdown, a summary.

The public API, for the command line, the review pages and the CRM's leadership task:

- :func:`render_brief` — the whole brief as a self-contained HTML file (``html``) or Markdown (``md``);
- :func:`render_brief_fragment` — the same HTML body to embed in a page (styles scoped to ``.icp-brief``);
- :func:`executive_summary` — the first screen as plain text and Markdown, short enough for a CRM task.

All three open with the same first screen (:mod:`worker.refine.summary`): what changes, why, how
sure, who is affected and the risks. The HTML has no scripts, no external styles or fonts, and
charts drawn as inline SVG; CRM data is escaped in HTML (autoescape) and in Markdown (:func:`md_escape`).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from worker.refine.engine import Analysis
from worker.refine.metrics import BandStats
from worker.refine.summary import BriefContext, ExecutiveSummary, FirstScreen, executive_summary, first_screen
from worker.refine.svg import RateBar, horizontal_bars, paired_histogram, rate_bars
from worker.refine.text import md_escape, number, percent, plain, slug, title
from worker.refine.vocabulary import Vocabulary, day
from worker.score.scorecard import Scorecard

Format = Literal["html", "md"]
STATUS_TEXT = {
    "proposed": "Proposed for approval",
    "no_lift": "No reliable lift: nothing proposed",
    "stopped": "Stopped at the readiness gates",
    "hypothesis": "Hypothesis only: readiness gates failed and the run was forced",
}


def _p(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _ci(interval: tuple[float, float] | list[float] | None) -> str:
    if not interval:
        return "n/a"
    return f"{percent(interval[0])}-{percent(interval[1])}"


def _auc_ci(interval: tuple[float, float] | None) -> str:
    return "n/a" if not interval else f"{interval[0]:.3f}-{interval[1]:.3f}"


def _fixed(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _anchor(kind: str, name: str) -> str:
    return f"{kind}-{slug(name, 64).replace('_', '-')}"


def _band_bars(bands: tuple[BandStats, ...]) -> list[RateBar]:
    return [RateBar(b.tier, b.rate, b.ci[0] if b.ci else None, b.ci[1] if b.ci else None, b.n) for b in bands]


def _charts(analysis: Analysis, rate_name: str) -> dict[str, Markup]:
    charts: dict[str, Markup] = {}
    validation = analysis.validation
    if validation is not None:
        proposed = validation.proposed
        charts["bands"] = rate_bars(
            _band_bars(proposed.bands), f"Held-out {rate_name} by band, with 95% intervals", rate_name
        )
        charts["histogram"] = paired_histogram(
            proposed.histogram,
            "Held-out score distribution",
            _positive_name(proposed.target),
            _negative_name(proposed.target),
        )
        if validation.proposed_won is not None:
            charts["histogram_won"] = paired_histogram(
                validation.proposed_won.histogram, "Held-out score distribution: won vs lost", "won", "lost"
            )
    if analysis.criteria:
        rows = [(c.attribute, c.iv, c.status == "selected") for c in sorted(analysis.criteria, key=lambda c: -c.iv)]
        charts["iv"] = horizontal_bars(
            rows, "Information value per candidate criterion (proposed in blue)", "minimum IV", analysis.settings.min_iv
        )
    selected_bins = [
        (b.label, b.lift, True) for c in analysis.selected for b in c.bins if b.estimable and b.lift is not None
    ]
    if selected_bins:
        charts["lift"] = horizontal_bars(
            selected_bins, f"Lift of each bin over the base {rate_name}", "base rate, lift", 1.0
        )
    return charts


def _positive_name(target: str) -> str:
    return "good customers" if target == "good_customer" else "won"


def _negative_name(target: str) -> str:
    return "not good (lost or problematic)" if target == "good_customer" else "lost"


def _rate_name(analysis: Analysis) -> str:
    if analysis.target is not None and analysis.target.name == "good_customer":
        return "good-customer rate"
    return "win rate"


def _environment(fmt: Format) -> Environment:
    env = Environment(
        loader=PackageLoader("worker.refine", "templates"),
        autoescape=fmt == "html",
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(pct=percent, num=number, ci=_ci, auc_ci=_auc_ci, p=_p, fixed=_fixed, md=md_escape, title=title,
                       plain=plain)
    env.globals.update(anchor=_anchor, positive_name=_positive_name, negative_name=_negative_name, day=day)
    return env


def _context(analysis: Analysis, context: BriefContext, fmt: Format) -> dict[str, Any]:
    rate_name = _rate_name(analysis)
    return {
        "a": analysis,
        "label": context.label,
        "ctx": context,
        "vocab": context.vocabulary,
        "screen": first_screen(analysis, context),
        "status_text": STATUS_TEXT.get(analysis.status, analysis.status),
        "rate_name": rate_name,
        "target_name": analysis.target.name if analysis.target else analysis.settings.target,
        "charts": _charts(analysis, rate_name) if fmt == "html" else {},
        "selected": analysis.selected,
        "under_review_criteria": [c for c in analysis.criteria if c.status == "under_review"],
        "current_alignment": analysis.alignment_of("current"),
        "proposed_alignment": analysis.alignment_of("proposed"),
        "s": analysis.settings,
    }


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
    return _environment(fmt).get_template(f"brief.{fmt}.j2").render(**_context(analysis, context, fmt))


def render_brief_fragment(analysis: Analysis, version_label: str, *, vocabulary: Vocabulary | None = None,
                          current: Scorecard | None = None, current_label: str | None = None,
                          with_style: bool = True) -> Markup:
    """The brief's HTML body to embed in a page: an ``<article class="icp-brief">``, its styles scoped to it.

    The same content as :func:`render_brief` in ``html``, without ``<html>``/``<head>``; ids are
    those of the file (``summary``, ``readiness``, ...), so in-page links work when embedded.
    With ``with_style`` a ``<style>`` element scoped to ``.icp-brief`` comes first.
    """
    context = brief_context(version_label, vocabulary, current, current_label)
    values = _context(analysis, context, "html") | {"with_style": with_style}
    return Markup(_environment("html").get_template("brief_fragment.html.j2").render(**values))


def brief_summary(analysis: Analysis, version_label: str, *, vocabulary: Vocabulary | None = None,
                  current: Scorecard | None = None, current_label: str | None = None,
                  link: str | None = None) -> ExecutiveSummary:
    """The executive summary (first screen) as plain text and Markdown, for a CRM task or a page."""
    return executive_summary(analysis, brief_context(version_label, vocabulary, current, current_label), link)


__all__ = ["BriefContext", "ExecutiveSummary", "FirstScreen", "brief_context", "brief_summary", "executive_summary",
           "first_screen", "render_brief", "render_brief_fragment"]
