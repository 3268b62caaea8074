"""The ICP refinement brief, as one self-contained HTML file or as Markdown.

The HTML has no scripts, no external styles or fonts, and charts drawn as inline SVG. Every
claim links to the evidence table it comes from, and every rate says which target it is.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from worker.refine.engine import Analysis
from worker.refine.metrics import BandStats
from worker.refine.svg import RateBar, horizontal_bars, paired_histogram, rate_bars
from worker.refine.text import number, percent, slug, title

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


def _md(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


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
    env.filters.update(pct=percent, num=number, ci=_ci, auc_ci=_auc_ci, p=_p, fixed=_fixed, md=_md, title=title)
    env.globals.update(anchor=_anchor, positive_name=_positive_name, negative_name=_negative_name)
    return env


def render_brief(analysis: Analysis, version_label: str, fmt: Format) -> str:
    """Render the ICP refinement brief.

    Args:
        analysis: The result of :func:`worker.refine.refine`.
        version_label: The scorecard version the brief accompanies (e.g. ``v3 (proposed)``).
        fmt: ``html`` for one self-contained page with inline SVG charts, or ``md`` for Markdown.

    Returns:
        The brief's text.
    """
    if fmt not in ("html", "md"):
        raise ValueError(f"unknown brief format {fmt!r}; use 'html' or 'md'")
    rate_name = _rate_name(analysis)
    context = {
        "a": analysis,
        "label": version_label,
        "status_text": STATUS_TEXT[analysis.status],
        "rate_name": rate_name,
        "target_name": analysis.target.name if analysis.target else analysis.settings.target,
        "charts": _charts(analysis, rate_name) if fmt == "html" else {},
        "selected": analysis.selected,
        "under_review_criteria": [c for c in analysis.criteria if c.status == "under_review"],
        "current_alignment": analysis.alignment_of("current"),
        "proposed_alignment": analysis.alignment_of("proposed"),
        "s": analysis.settings,
    }
    return _environment(fmt).get_template(f"brief.{fmt}.j2").render(**context)
