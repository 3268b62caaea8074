"""What a VP reads: the CRM's labels and names, the portal's currency, plain dates, escaped CRM data, the same facts
in the HTML file, the page fragment and the Markdown brief, terms explained, long tables collapsed."""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import replace

import pytest

from tests.refine.planted import in_force_card
from worker.govern.briefs import referenced_ids
from worker.refine import Analysis
from worker.refine.brief import build_view, render_brief, render_brief_fragment
from worker.refine.summary import BriefContext
from worker.refine.synthetic import INDUSTRIES, SOURCES, STAGES
from worker.refine.text import md_escape
from worker.refine.vocabulary import Vocabulary
from worker.score.scorecard.labels import FieldLabels

INDUSTRY_LABELS = {code: code.replace("_", " ").title() + " (label)" for code in INDUSTRIES}
LABELS = FieldLabels.build(
    fields={"industry": "Industry", "funding_stage": "Funding Stage", "lead_source": "Lead Source",
            "annual_revenue": "Annual Revenue", "employees": "Number of Employees"},
    options={"industry": INDUSTRY_LABELS, "funding_stage": {s: s.replace("_", " ").title() for s in STAGES},
             "lead_source": {s: s.replace("_", " ").title() for s in SOURCES}},
    money={"annual_revenue"}, currency="EUR")
CODES = re.compile(r"computer_software|financial_services|COMPUTER_SOFTWARE|series_a|paid_ads", re.IGNORECASE)


def vocabulary(analysis: Analysis, accounts: dict[str, str] | None = None,
               deals: dict[str, str] | None = None) -> Vocabulary:
    account_ids, deal_ids = referenced_ids(analysis)
    return Vocabulary(LABELS, accounts or {i: f"Company {i[1:]}" for i in account_ids},
                      deals or {i: f"Deal for {i[1:]}" for i in deal_ids}, "hubspot")


@pytest.fixture(scope="module")
def named(analysis: Analysis) -> dict[str, object]:
    vocab = vocabulary(analysis)
    kwargs = {"vocabulary": vocab, "current": in_force_card(), "current_label": "v1"}
    return {"vocab": vocab, "html": render_brief(analysis, "v2", "html", **kwargs),  # type: ignore[arg-type]
            "md": render_brief(analysis, "v2", "md", **kwargs),  # type: ignore[arg-type]
            "fragment": str(render_brief_fragment(analysis, "v2", **kwargs)),  # type: ignore[arg-type]
            "view": build_view(analysis, BriefContext("v2", vocab, in_force_card(), "v1"))}


def visible(html: str) -> str:
    """The text a reader sees in HTML (tags dropped, entities decoded, spaces collapsed)."""
    text = re.sub(r"<style.*?</style>|<svg.*?</svg>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<(?!/?(a|strong|em)\b)[^>]+>", " ",
                                                     re.sub(r"</?(a|strong|em)\b[^>]*>", "", text))))


def test_first_screen_opens_the_brief_with_its_five_blocks(named: dict[str, object]) -> None:
    """Before any section: the recommendation with its comparison, then what, why, how sure, who, risks."""
    html = str(named["html"])
    head = visible(html[: html.index('id="validation"')])
    assert "Recommended: approve v2. It ranks a deal that became a good customer above one that did not" in head
    compared = r"\d+% of the time, against \d+% for v1 \((?:[+-]\d+|0) points, 95% CI (?:[+-]\d+|0) to (?:[+-]\d+|0)\)"
    assert re.search(compared + ", the version in force", head)
    for block in ("What changes", "Why", "How sure", "Who is affected", "Risks"):
        assert block in head
    assert re.search(r"\d[\d,]* of [\d,]+ accounts change tier .* open pipeline", head)
    assert "€" in head


def test_labels_and_names_replace_codes_and_ids(analysis: Analysis, named: dict[str, object]) -> None:
    """No raw option code and no bare deal or company id where the CRM has a label or a name."""
    account_ids, deal_ids = referenced_ids(analysis)
    for fmt in ("html", "md", "fragment"):
        text = visible(str(named[fmt])) if fmt != "md" else str(named[fmt])
        assert not CODES.search(text), CODES.search(text)
        assert not [i for i in deal_ids | account_ids if re.search(rf"\b{i}\b", text)]
        assert "Computer Software (label)" in text and "Paid Ads" in text
    md = str(named["md"])
    assert "Deal for " in md and "Company " in md


def test_amounts_in_the_portal_currency_and_dates_without_time(named: dict[str, object]) -> None:
    """Amounts carry the currency; dates read '29 May 2025', never a time or microseconds."""
    for fmt in ("html", "md"):
        text = visible(str(named[fmt])) if fmt == "html" else str(named[fmt])
        assert "amounts in EUR" in text and re.search(r"€[\d.,]+[KM]? of €[\d.,]+[KM]? open pipeline", text)
        assert not re.search(r"\d{2}:\d{2}:\d{2}|\.\d{6}|\d{4}-\d{2}-\d{2}T", text)
        assert re.search(r"\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}\b", text)


def test_the_three_renderings_carry_the_same_facts(named: dict[str, object]) -> None:
    """Every sentence and cell of the brief's content is in the HTML file, the fragment and the Markdown."""
    view = named["view"]
    html, fragment, md = (visible(str(named["html"])), visible(str(named["fragment"])),
                          re.sub(r"[ \t]+", " ", str(named["md"])))
    missing = []
    for text in view.texts():  # type: ignore[attr-defined]
        plain = re.sub(r"\s+", " ", text).strip()
        if plain not in html or plain not in fragment or md_escape(plain) not in md:
            missing.append(plain)
    assert missing == []


def test_statistical_terms_are_explained(named: dict[str, object]) -> None:
    """The glossary explains every statistical term the brief uses; the first screen uses none of them."""
    text = visible(str(named["html"]))
    glossary = text[text.index("Method and glossary", text.index("Contents") if "Contents" in text else 0):]
    for term in ("AUC", "95% range", "q-value", "WoE", "IV", "DeLong", "KS", "eta squared", "design effect"):
        assert term in glossary, term
    html = str(named["html"])
    first = visible(html[: html.index('id="validation"')])
    assert not re.search(r"\b(AUC|WoE|IV|q-value|DeLong|KS|eta squared)\b", first)


def test_long_evidence_tables_are_collapsed(analysis: Analysis, named: dict[str, object]) -> None:
    """Each candidate criterion's table is folded away in HTML; the sections stay in reading order."""
    html = str(named["html"])
    assert html.count("<details>") >= len(analysis.criteria)
    order = [html.index(f'id="{s}"') for s in ("summary", "validation", "impact", "signals", "evidence", "method")]
    assert order == sorted(order)


HOSTILE = "<script>alert(1)</script> a|b `code` **bold** [x](javascript:alert(1))\n# head\x00\x1b[31m"


def test_crm_data_is_escaped_in_markdown_and_html(analysis: Analysis) -> None:
    """Names, labels and notes from the CRM cannot inject HTML, break a table or start Markdown syntax."""
    account_ids, deal_ids = referenced_ids(analysis)
    hostile = Vocabulary(FieldLabels.build(fields={"industry": HOSTILE},
                                           options={"industry": {c: HOSTILE for c in INDUSTRIES}}),
                         {i: HOSTILE for i in account_ids}, {i: HOSTILE for i in deal_ids}, "hubspot")
    quotes = tuple(replace(q, text=HOSTILE, kind=HOSTILE) for q in analysis.quotes)
    loaded = replace(analysis, quotes=quotes, messages=(HOSTILE,))
    md = render_brief(loaded, "v2", "md", vocabulary=hostile, current=in_force_card(), current_label="v1")
    assert "<script" not in md and "\x00" not in md and "\x1b" not in md
    assert not re.search(r"(?<!\\)\]\(javascript", md) and "\n# head" not in md
    assert "`code`" not in md and "**bold**" not in md
    assert "&lt;script&gt;" in md
    lines = md.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^\|(-|-{3}:|:?-{3})+", line.replace("---:", "---")):
            columns = lines[i - 1].count(" |")
            j = i + 1
            while j < len(lines) and lines[j].startswith("|"):
                assert lines[j].replace("\\|", "").count(" |") == columns, lines[j]
                j += 1
    html = render_brief(loaded, "v2", "html", vocabulary=hostile, current=in_force_card(), current_label="v1")
    assert "<script" not in html and "&lt;script&gt;" in html and "\x00" not in html
