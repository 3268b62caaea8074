"""The ICP refinement brief renders in both formats, self-contained, with every section and its evidence links."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from worker.refine import Analysis
from worker.refine.brief import render_brief

SECTIONS = (
    "readiness",
    "wins-vs-losses",
    "signals",
    "exclusions",
    "triggers",
    "segments",
    "lost-deals",
    "surprises",
    "quotes",
    "validation",
    "impact",
    "under-review",
    "alignment",
    "evidence",
    "method",
)


@pytest.fixture(scope="module")
def html(analysis: Analysis) -> str:
    return render_brief(analysis, "v2 (proposed)", "html")


@pytest.fixture(scope="module")
def markdown(analysis: Analysis) -> str:
    return render_brief(analysis, "v2 (proposed)", "md")


def test_html_is_self_contained(html: str) -> None:
    """No external scripts, styles, fonts or images: nothing to fetch over the network."""
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert "<script" not in html.lower()
    assert "@import" not in html and "url(" not in html
    assert html.count("<svg") >= 4


def test_html_has_every_section_and_no_broken_anchor(html: str) -> None:
    """Each section exists, and every in-page link points at an element id that exists."""
    ids = set(re.findall(r'id="([^"]+)"', html))
    for section in SECTIONS:
        assert section in ids
    links = set(re.findall(r'href="#([^"]+)"', html))
    assert links <= ids
    assert any(link.startswith("criterion-") for link in links)


def test_markdown_has_every_section_and_valid_tables(markdown: str) -> None:
    """The Markdown brief has the same sections, anchors and well-formed tables."""
    for section in SECTIONS:
        assert f'<a id="{section}"></a>' in markdown
    lines = markdown.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|---") or line.startswith("|--"):
            header = lines[i - 1]
            assert header.startswith("|") and (i < 2 or not lines[i - 2].startswith("|"))
            columns = header.count(" | ")
            j = i + 1
            while j < len(lines) and lines[j].startswith("|"):
                assert lines[j].replace("\\|", "").count(" | ") == columns, lines[j]
                j += 1


def test_brief_says_which_target_each_rate_refers_to(html: str, markdown: str) -> None:
    """Rates are labelled as the good-customer rate (target) or the win rate (closing)."""
    for text in (html, markdown):
        assert "good-customer rate" in text and "win rate (closing)" in text
        assert "AUC" in text and "95%" in text


def test_brief_links_claims_to_deal_ids(analysis: Analysis, html: str) -> None:
    """Deal ids behind each proposed criterion are printed in its evidence table."""
    criterion = analysis.selected[0]
    deal_id = next(i for b in criterion.bins for i in b.deal_ids)
    assert deal_id in html


def test_no_lift_is_said_prominently(shuffled: Analysis) -> None:
    """When nothing is reliable, the top of the brief says so and proposes nothing."""
    for fmt in ("html", "md"):
        text = render_brief(shuffled, "v2", fmt)
        head = text[: text.index("readiness")] if fmt == "md" else text[: text.index('id="readiness"')]
        assert "Nothing to approve: the evidence does not rank" in head
        assert "Nothing is proposed" in text or "nothing would change" in text


def test_html_escapes_data(analysis: Analysis) -> None:
    """Values from the CRM are escaped in HTML."""
    hostile = replace(analysis, messages=("<script>alert(1)</script>",))
    html = render_brief(hostile, "<b>v2</b>", "html")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;v2&lt;/b&gt;" in html


def test_unknown_format_is_refused(analysis: Analysis) -> None:
    with pytest.raises(ValueError):
        render_brief(analysis, "v2", "pdf")  # type: ignore[arg-type]
