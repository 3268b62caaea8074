"""Readable criteria: stored category codes in words, grouped categories named by their members."""

from __future__ import annotations

import pytest

from worker.refine.binning import Binning
from worker.refine.card import with_option_labels
from worker.refine.text import collapse_series, group_words, humanise_value, value_words
from worker.refine.vocabulary import Vocabulary
from worker.score.scorecard import parse_scorecard
from worker.score.scorecard.labels import FieldLabels


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("series_a", "Series A"),
        ("SERIES_B", "Series B"),
        ("growth", "Growth"),
        ("COMPUTER_SOFTWARE", "Computer software"),
        ("it_services", "IT services"),
        ("saas", "SaaS"),
        ("b2b_marketplace", "B2B marketplace"),
        ("emea", "EMEA"),
        ("true", "Yes"),
        ("false", "No"),
        ("Computer Software", "Computer Software"),
        ("McKinsey & Co", "McKinsey & Co"),
    ],
)
def test_a_stored_code_reads_as_words_and_acronyms_are_kept(code: str, words: str) -> None:
    assert humanise_value(code) == words


def test_booleans_read_yes_and_no_inside_a_label() -> None:
    assert value_words("true") == "yes"
    assert value_words("false") == "no"


def test_consecutive_series_collapse_to_a_range() -> None:
    assert collapse_series(["Series C", "Series A", "Series B", "Growth"]) == ["Series A-C", "Growth"]
    assert collapse_series(["Tier 1", "Tier 2", "Tier 3", "Tier 5"]) == ["Tier 1-3", "Tier 5"]
    assert collapse_series(["Series A", "Series C", "Growth"]) == ["Series A", "Series C", "Growth"]
    assert collapse_series(["Series A", "Series B"]) == ["Series A", "Series B"]


def test_a_group_is_named_by_its_members() -> None:
    assert group_words(["series_c", "series_a", "series_b", "growth", "public"]) == "Series A-C, growth, public"
    assert group_words(["it_services", "saas", "retail"], last=" or ") == "IT services, SaaS or retail"
    assert group_words(["seed"], within=True) == "seed"


def test_the_crm_option_labels_are_used_as_written() -> None:
    labels = {"series_a": "Series A round", "growth": "Growth Equity"}
    assert group_words(["growth", "series_a", "public"], labels) == "Growth Equity, Series A round, public"


def test_a_card_bin_names_its_group_and_what_it_leaves_out() -> None:
    binning = Binning("funding_stage", "categorical",
                      groups=(("series_c", "series_a", "series_b", "growth", "public"), ("seed",)))
    assert binning.label(0) == "funding stage: Series A-C, growth, public; not seed"
    assert binning.label(1) == "funding stage: Seed"
    assert binning.label(binning.other_index or 0) == "funding stage: other values"
    flag = Binning("uses_data_warehouse", "categorical", groups=(("false",), ("true",)))
    assert [flag.label(i) for i in range(3)] == ["uses data warehouse: no", "uses data warehouse: yes",
                                                  "uses data warehouse: other values"]


def test_the_brief_lists_values_with_labels_and_ranges() -> None:
    plain = Vocabulary()
    assert plain.values("funding_stage", ["series_c", "series_a", "series_b", "growth"]) == "Series A-C or growth"
    assert plain.values("uses_data_warehouse", ["true"]) == "Yes"
    crm = Vocabulary(labels=FieldLabels.build(options={"industry": {"COMPUTER_SOFTWARE": "Computer Software"}}))
    assert crm.values("industry", ["computer_software", "it_services"]) == "Computer Software or IT services"


def test_a_proposed_card_takes_the_crm_option_labels() -> None:
    card = parse_scorecard({
        "name": "t", "kind": "evidence", "bands": [{"tier": "A", "min": 60}, {"tier": "B", "min": 0}],
        "criteria": [
            {"id": "industry", "attribute": "industry", "dimension": "firmographic", "bins": [
                {"values": ["computer_software", "it_services"], "points": 30, "label": "x"},
                {"values": ["retail"], "points": 0, "label": "x"},
                {"other": True, "points": 10, "label": "x"}]},
            {"id": "employees", "attribute": "employees", "dimension": "firmographic", "bins": [
                {"range": [None, 50], "points": 0, "label": "employees under 50"},
                {"range": [50, None], "points": 20, "label": "employees 50 and more"}]},
        ]}, source="test")
    options = FieldLabels.build(options={"industry": {"COMPUTER_SOFTWARE": "Computer Software"}}).options
    labelled = with_option_labels(card, options)
    assert [b.label for b in labelled.criteria[0].bins] == [
        "industry: Computer Software, IT services", "industry: Retail", "industry: other values"]
    assert labelled.criteria[1] == card.criteria[1]
    assert with_option_labels(card, {}) is card
