"""The brief's evidence sections: triggers, segments, lost deals, surprises, quotes, under review, alignment,
the evidence tables and the method with its glossary.

Long tables are collapsed (HTML ``<details>``); deals and companies appear by name, amounts in the
portal's currency, dates as dates.
"""

from __future__ import annotations

from worker.refine.brief_sections import Words, anchor, bin_words, deal_names, interval, pct, q_text
from worker.refine.brief_view import Block, Glossary, Heading, Link, Paragraph, Quote, Section, Table
from worker.refine.criteria import CriterionResult
from worker.refine.vocabulary import day, plural

LONG_TABLE = 8
RULE_WORDS = {
    "min_sample": "too few deals to tell",
    "not_significant": "the difference could be chance",
    "small_effect": "too small a difference to matter",
    "after_close": "known only after a deal closes (mapping or CRM history)",
    "perfect_separation": "separates won from lost almost perfectly: likely filled in at closing",
    "not_replicated": "did not hold on most subsets of the deals",
    "redundant": "says the same as a stronger criterion",
    "too_few_points": "earns too few points to change a tier",
    "max_criteria": "outside the strongest criteria kept",
}


def triggers_section(w: Words) -> Section:
    """Buying triggers: deal-level fields linked to winning and to shorter cycles (never scored)."""
    vocab = w.vocab
    explain = ("Facts about the deal itself (source, pipeline...), measured against winning and against the "
               "length of the sales cycle. They describe how deals are won, so they are never scored.")
    if not w.analysis.triggers:
        return Section("triggers", "Buying triggers", explain, (Paragraph.of("No deal-level fields to analyse."),))
    rows = []
    for t in w.analysis.triggers:
        values = "; ".join(f"{bin_words(w, t.field, b)}: {pct(b.won_rate)} won of {b.n:,}, "
                           f"{b.median_cycle_days:,.0f} days" if b.median_cycle_days is not None else
                           f"{bin_words(w, t.field, b)}: {pct(b.won_rate)} won of {b.n:,}"
                           for b in t.bins if b.n > 0)
        faster = ", ".join(vocab.relabel(f, [t.field]) for f in t.faster_bins)
        rows.append((vocab.field(t.field), "yes" if t.linked_to_wins else f"no: {vocab.relabel(t.win_reason)}",
                     f"yes: {faster}" if t.linked_to_shorter_cycles else "no", values))
    return Section("triggers", "Buying triggers", explain, (
        Table(("field", "linked to winning", "linked to shorter cycles", "by value: win rate, deals, median days"),
              tuple(rows), row_anchors=tuple(anchor("trigger", t.field) for t in w.analysis.triggers)),))


def segments_section(w: Words) -> Section:
    """Segment and qualification notes: groups of won accounts with distinct deal sizes, if any."""
    segments, vocab = w.analysis.segments, w.vocab
    explain = "Whether won customers fall into groups worth separate ICPs (distinct deal sizes, win rates or health)."
    if segments is None:
        return Section("segments", "Segments", explain, (Paragraph.of("Not analysed."),))
    summary = vocab.relabel(segments.summary, segments.attributes)
    blocks: list[Block] = [Paragraph.of(summary[:1].upper() + summary[1:] + ".")]
    if segments.cells:
        rows = tuple((vocab.relabel(c.label, segments.attributes), f"{c.n:,}",
                      f"{pct(c.won_rate)} ({interval(c.won_ci)})", pct(c.target_rate), vocab.money(c.median_deal_size),
                      f"{c.deal_size_ratio:.1f}x" if c.deal_size_ratio is not None else "n/a",
                      f"{c.median_cycle_days:,.0f}" if c.median_cycle_days is not None else "n/a",
                      pct(c.problematic_rate), vocab.relabel(c.note, segments.attributes)) for c in segments.cells)
        blocks.append(Table(("segment", "deals", "win rate (95% range)", w.rate, "median won deal", "vs overall",
                             "median cycle days", "problematic", "note"), rows, frozenset({1, 3, 4, 5, 6, 7})))
    return Section("segments", "Segments", explain, tuple(blocks))


def lost_section(w: Words) -> Section:
    """Lost-deal types: wrong fit, or right fit lost to a competitor, to no decision or otherwise."""
    lost = w.analysis.lost_deal_types
    explain = "Lost deals split by fit (their score) and by loss reason: which losses the ICP could have avoided."
    if lost is None:
        return Section("lost-deals", "Lost deals", explain, (Paragraph.of("Not analysed."),))
    scored = (f"Scored with {w.context.label if lost.scored_with == _proposed_name(w) else lost.scored_with}; "
              f"right fit means a score of {lost.right_fit_min_score} or more."
              if lost.scored_with else "No scorecard to judge fit, so they are split by loss reason only.")
    rows = tuple((t.label, f"{t.n:,}", pct(t.share), ", ".join(f"{r} ({n})" for r, n in t.top_reasons),
                  ", ".join(f"{r} ({n})" for r, n in t.top_competitors), deal_names(w, t.deal_ids, 3))
                 for t in lost.types)
    return Section("lost-deals", "Lost deals", explain, (
        Paragraph.of(f"{plural(lost.n_lost, 'lost deal')}. {scored}"),
        Table(("type", "deals", "share", "top loss reasons", "competitors", "recent deals"), rows,
              frozenset({1, 2})),
    ))


def _proposed_name(w: Words) -> str | None:
    return w.analysis.proposed.name if w.analysis.proposed else None


def surprises_section(w: Words) -> Section:
    """Surprise wins and losses: deals whose outcome contradicts their score, by name."""
    s, vocab = w.analysis.surprises, w.vocab
    explain = "Won deals that scored low and lost deals that scored high: worth a look before trusting the scores."
    if s is None:
        return Section("surprises", "Surprise wins and losses", explain,
                       (Paragraph.of("No scorecard to score deals with, so no surprises can be named."),))
    rows = tuple((vocab.deal(x.deal_id), vocab.account(x.account_id), x.outcome, str(x.score), x.tier,
                  vocab.money(x.amount), day(x.closed_on), vocab.relabel(x.cohort or x.loss_reason or ""),
                  "; ".join(vocab.relabel(r) for r in x.reasons)) for x in s.wins + s.losses)
    return Section("surprises", "Surprise wins and losses", explain, (
        Paragraph.of(f"{s.n_surprise_wins:,} of {s.n_won:,} won deals scored under {s.win_max_score}; "
                     f"{s.n_surprise_losses:,} of {s.n_lost:,} lost deals scored {s.loss_min_score} or more "
                     "(scored on the deals the proposal was fitted on)."),
        Table(("deal", "company", "outcome", "score", "tier", "amount", "closed", "cohort or loss reason", "why"),
              rows, frozenset({3, 5}), title=f"The first {len(rows)} for review", collapsed=len(rows) > LONG_TABLE),
    ))


def quotes_section(w: Words) -> Section:
    """Customer quotes from evidence notes, with the company and deal they belong to."""
    vocab = w.vocab
    explain = "Customers' and colleagues' own words from notes attached to the analysed deals and companies."
    if not w.analysis.quotes:
        return Section("quotes", "Customer quotes", explain,
                       (Paragraph.of("No evidence notes are attached to the analysed deals or companies."),))
    blocks: list[Block] = []
    for q in w.analysis.quotes:
        where = vocab.account(q.account_id) + (f", {vocab.deal(q.deal_id)}" if q.deal_id else "")
        status = q.outcome or "no deal"
        cohort = f", {q.cohort} customer" if q.cohort else ""
        kind = "" if q.kind in ("", "note") else vocab.relabel(q.kind).replace("_", " ") + " "
        source = f"{kind}note on {where} ({status}{cohort}), {day(q.created_on)}"
        blocks.append(Quote(q.text, source[:1].upper() + source[1:]))
    return Section("quotes", "Customer quotes", explain, tuple(blocks))


def review_section(w: Words) -> Section:
    """Under review: candidate criteria and values held back for lack of evidence, in plain words."""
    vocab = w.vocab
    explain = "What the data hints at but cannot yet support; nothing here changes the scorecard."
    items = w.analysis.under_review
    if not items:
        return Section("under-review", "Under review", explain, (Paragraph.of("Nothing is held back."),))
    rows = []
    for r in items:
        what: str | Link = (Link(vocab.field(r.attribute), anchor("criterion", r.attribute)) if r.kind == "criterion"
                            else f"{vocab.field(r.attribute)} is {vocab.value(r.attribute, r.value)}")
        rows.append((what, f"{r.n:,}", f"{r.won:,}", RULE_WORDS.get(r.rule, ""), vocab.relabel(r.reason)))
    return Section("under-review", "Under review", explain, (
        Table(("what", "deals with a value", "won", "why not yet", "detail"), tuple(rows), frozenset({1, 2}),
              title=f"{plural(len(rows), 'item')} held back", collapsed=len(rows) > LONG_TABLE),))


def alignment_section(w: Words) -> Section:
    """Evidence alignment: the share of each version's criteria and exclusions backed by the evidence."""
    vocab = w.vocab
    explain = "How much of each scorecard the evidence supports: the proposal and the version in force."
    blocks: list[Block] = []
    for al in w.analysis.alignment:
        name = w.context.label if al.role == "proposed" else w.context.in_force
        blocks.append(Paragraph.of(f"{name} ({al.kind}): {pct(al.rate)} of its criteria and exclusions "
                                   f"({al.backed} of {al.total}) are backed by enough significant evidence"
                                   + (" (measured on the deals it was fitted on)." if al.in_sample else ".")))
        blocks.append(Table(("item", "field", "backed", "detail"),
                            tuple((it.kind, vocab.field(it.attribute), "yes" if it.backed else "no",
                                   vocab.relabel(it.reason)) for it in al.items),
                            title=f"{name}: item by item", collapsed=len(al.items) > LONG_TABLE))
    if not blocks:
        blocks.append(Paragraph.of("No scorecard to measure."))
    return Section("alignment", "Evidence alignment", explain, tuple(blocks))


def _bins_table(w: Words, c: CriterionResult) -> Table:
    vocab = w.vocab
    rows = tuple((bin_words(w, c.attribute, b) + ("" if b.estimable else " (too few deals: scored as average)"),
                  f"{b.n:,} ({b.won:,} won)", pct(b.won_rate), f"{pct(b.target_rate, 1)} ({interval(b.target_ci)})",
                  f"{b.lift:.2f}" if b.lift is not None else "n/a", str(b.points) if b.points is not None else "-",
                  f"{pct(b.churn_rate)} / {pct(b.problematic_rate)}", vocab.money(b.median_deal_size),
                  f"{b.median_cycle_days:,.0f}" if b.median_cycle_days is not None else "n/a",
                  deal_names(w, b.deal_ids, 3)) for b in c.bins)
    return Table(("value", "deals", "win rate", f"{w.rate} (95% range)", "lift", "points",
                  "churned / problematic", "median won deal", "median cycle days", "recent deals"), rows,
                 frozenset(range(1, 9)), title=f"{vocab.field(c.attribute)}: every value", collapsed=True,
                 row_anchors=tuple(anchor("bin", f"{c.attribute}-{b.index}") for b in c.bins))


def evidence_section(w: Words) -> Section:
    """Evidence tables: every candidate criterion's values, collapsed."""
    a, vocab = w.analysis, w.vocab
    explain = (f"Every candidate criterion, fitted on all {plural(a.n_deals, 'analysed deal')}: each value's deals, "
               "rates and points, and recent deals by name. Open a table to see it.")
    blocks: list[Block] = []
    for c in a.criteria:
        status = "proposed" if c.status == "selected" and a.proposed else c.status.replace("_", " ")
        blocks.append(Heading(f"{vocab.field(c.attribute)}: {status}", anchor("criterion", c.attribute)))
        blocks.append(Paragraph.of(
            f"{vocab.relabel(c.reason)}. {c.n_present:,} of {c.n:,} deals have a value; strength (IV) {c.iv:.2f}; "
            f"fluke risk (q) {q_text(c.q_value)}; {w.rate} {pct(c.base_rate, 1)} overall.", muted=True))
        blocks.append(_bins_table(w, c))
    if not blocks:
        blocks.append(Paragraph.of("Not analysed."))
    return Section("evidence", "Evidence tables", explain, tuple(blocks))


GLOSSARY = (
    ("AUC (ranks a good deal above a bad one)", "Pick one deal that became a good customer and one that did not: the "
     "AUC is how often the scorecard scores the first higher. 50% is chance, 100% is perfect."),
    ("95% range (95% interval)", "Where the true figure very likely lies, given how many deals it rests on. DeLong's "
     "method for the AUC, Wilson's for rates."),
    ("good-customer rate", "The share of deals that were won and did not turn problematic (churn, contraction, poor "
     "delivery fit or several soft pains)."),
    ("lift", "A value's rate divided by the overall rate: 1.5 means half as often again."),
    ("strength (IV, information value)", "How strongly a field separates good from bad deals; under 0.02 is "
     "nothing, 0.1 to 0.3 medium, above 0.3 strong."),
    ("WoE (weight of evidence)", "The log of how much more often a value holds good deals than bad ones; points are "
     "proportional to it."),
    ("fluke risk (q-value)", "The chance the difference is a fluke, after checking many fields at once "
     "(Benjamini-Hochberg). Under 0.05 counts as real."),
    ("KS and Gini", "Other summaries of how well scores separate good from bad deals; Gini is 2 x AUC - 1."),
    ("eta squared", "The share of the spread in deal sizes explained by a segment split; 0.06 or more is a medium "
     "effect."),
    ("design effect", "How much deals of the same company repeat each other's evidence; counts are divided by it."),
    ("out-of-time test", "Fitted on older deals, tested on the most recent ones: how the scorecard would have done "
     "on deals it could not have seen."),
    ("cross-validation (k-fold)", "Deals split into groups (whole companies kept together); each group is scored by "
     "a scorecard fitted on the others."),
)


def method_section(w: Words) -> Section:
    """The method's rules in words, and the glossary of every statistical term used."""
    s, a = w.analysis.settings, w.analysis
    rules = (
        f"A field is proposed only when its difference is unlikely to be a fluke (q at most {s.alpha}), strong enough "
        f"(IV at least {s.min_iv}, rates {pct(s.min_rate_diff)} apart) and stays positive next to the other fields.",
        f"Numbers are cut into ranges with round edges holding at least {s.min_bin_count} deals; rare values are "
        f"pooled as 'other values'; neighbouring ranges that do not differ are merged (at most {s.max_bins}).",
        "Points come from a logistic regression on the weights of evidence, each field's worst value at 0, scaled "
        "so the best possible score is 100, rounded to whole points.",
        f"The test refits everything on the training deals only; the proposal counts only with an AUC of at least "
        f"{pct(s.min_lift_auc)} and its whole 95% range above 50%.",
        f"Deals of one company are not independent: tests divide their counts by the design effect"
        f"{f' ({a.design_effect:.2f} in this run)' if a.design_effect else ''}. Random seed {s.random_seed}: the "
        f"analysis gives the same result every time on the same data.",
    )
    return Section("method", "Method and glossary", "How the analysis decides, and what its terms mean.", (
        Paragraph.of(" ".join(rules)), Glossary(GLOSSARY)))
