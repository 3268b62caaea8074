"""The brief's public API: the file, the fragment for a page and the executive summary carry the same first screen."""

from __future__ import annotations

import html as htmllib
import re

import pytest

from tests.refine.planted import in_force_card
from worker.refine import Analysis
from worker.refine.brief import brief_summary, first_screen, render_brief, render_brief_fragment
from worker.refine.summary import BriefContext
from worker.refine.text import md_escape, plain

SECTIONS = ("What changes", "Why", "How sure", "Who is affected", "Risks")


@pytest.fixture(scope="module")
def renderings(analysis: Analysis) -> dict[str, str]:
    kwargs = {"current": in_force_card(), "current_label": "v1"}
    summary = brief_summary(analysis, "v2", **kwargs)  # type: ignore[arg-type]
    return {"html": render_brief(analysis, "v2", "html", **kwargs),  # type: ignore[arg-type]
            "md": render_brief(analysis, "v2", "md", **kwargs),  # type: ignore[arg-type]
            "fragment": str(render_brief_fragment(analysis, "v2", **kwargs)),  # type: ignore[arg-type]
            "text": summary.text, "summary_md": summary.markdown}


def test_every_rendering_carries_every_first_screen_sentence(analysis: Analysis, renderings: dict[str, str]) -> None:
    """The HTML file, the page fragment, the Markdown brief and the summary all say the same things."""
    screen = first_screen(analysis, BriefContext("v2", current=in_force_card(), current_label="v1"))
    for fact in screen.facts():
        assert fact in htmllib.unescape(renderings["html"]), fact
        assert fact in htmllib.unescape(renderings["fragment"]), fact
        assert md_escape(fact) in renderings["md"], fact
        assert plain(fact) in renderings["text"], fact
        assert md_escape(fact) in renderings["summary_md"], fact


def test_summary_opens_with_the_verdict_and_fits_a_task(renderings: dict[str, str]) -> None:
    """The first line is the recommendation with the comparison; five titled blocks follow; short enough for a task."""
    first = renderings["text"].splitlines()[0]
    assert first.startswith("Recommended: approve v2. It ranks") and "against" in first and "for v1" in first
    assert re.search(r"\(\+\d+ points, 95% CI (?:[+-]\d+|0) to \+\d+\)", first), first
    for title in SECTIONS:
        assert f"{title}:" in renderings["text"] and f"**{title}**" in renderings["summary_md"]
    assert len(renderings["text"]) <= 3_000 and len(renderings["summary_md"]) <= 3_000


def test_fragment_embeds_in_a_page(renderings: dict[str, str]) -> None:
    """The fragment is one scoped article with its styles, no document around it; the file wraps the same body."""
    fragment = renderings["fragment"]
    assert "<html" not in fragment and "<body" not in fragment and '<article class="icp-brief"' in fragment
    assert fragment.lstrip().startswith("<style>") and ".icp-brief" in fragment
    body = fragment[fragment.index("<article"):]
    assert body.strip() in renderings["html"]


def test_a_proposal_no_better_than_the_version_in_force_says_so_first(analysis: Analysis) -> None:
    """When the version in force ranks as well, the first line says the proposal is no improvement."""
    assert analysis.validation is not None and analysis.validation.current is not None
    better = analysis.validation.current.__class__(**{**analysis.validation.current.__dict__,
                                                       "auc": (analysis.validation.proposed.auc or 0) + 0.02})
    worse = analysis.__class__(**{**analysis.__dict__,
                                  "validation": analysis.validation.__class__(**{**analysis.validation.__dict__,
                                                                                 "current": better})})
    summary = brief_summary(worse, "v2", current=in_force_card(), current_label="v1")
    assert summary.headline.startswith("No improvement over v1, the version in force")
    for fmt in ("html", "md"):
        text = render_brief(worse, "v2", fmt, current=in_force_card(), current_label="v1")  # type: ignore[arg-type]
        assert text.index("No improvement over v1") < text.index("What changes")
