"""The brief's decision sections: how sure, who is affected, the signals, the exclusions, readiness, wins vs losses.

Each function turns one part of the analysis into a :class:`Section` of plain sentences and
tables, in the CRM's words (labels, names, the portal's currency). Statistical terms are named
in plain words first; the glossary at the end of the brief explains them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from worker.refine.brief_view import Block, Bullets, Chart, Link, Paragraph, Section, Table
from worker.refine.criteria import BinStats, CriterionResult
from worker.refine.engine import Analysis
from worker.refine.metrics import ScoreMetrics
from worker.refine.summary import BriefContext
from worker.refine.text import slug
from worker.refine.vocabulary import Vocabulary, day, plural


@dataclass(frozen=True)
class Words:
    """What every section needs: the analysis, the context, and the names of the rates."""

    analysis: Analysis
    context: BriefContext

    @property
    def vocab(self) -> Vocabulary:
        """The CRM's words."""
        return self.context.vocabulary

    @property
    def target(self) -> str:
        """The target's name (``good_customer`` or ``won``)."""
        a = self.analysis
        return a.target.name if a.target else a.settings.target

    @property
    def rate(self) -> str:
        """What the target's rate is called."""
        return "good-customer rate" if self.target == "good_customer" else "win rate"


def pct(value: float | None, digits: int = 0) -> str:
    """A share as a percentage; ``n/a`` when missing."""
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def interval(ci: tuple[float, float] | list[float] | None) -> str:
    """A 95% interval of a rate: ``31-48%``."""
    return "n/a" if not ci else f"{100 * ci[0]:.0f}-{pct(ci[1])}"


def q_text(value: float | None) -> str:
    """A q-value (chance of a fluke): ``<0.001`` or three decimals."""
    if value is None or value != value:
        return "n/a"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def anchor(kind: str, name: str) -> str:
    """An element id for a criterion, exclusion, trigger or bin."""
    return f"{kind}-{slug(name, 64).replace('_', '-')}"


def bin_words(w: Words, attribute: str, b: BinStats) -> str:
    """What a bin covers, in the CRM's words."""
    if b.matcher == "missing":
        return f"{w.vocab.field(attribute)} unknown"
    if b.matcher == "other":
        return "other values"
    if b.matcher == "values":
        return w.vocab.values(attribute, list(b.values), limit=6)
    return w.vocab.range_words(attribute, b.low, b.high)


def deal_names(w: Words, ids: tuple[str, ...], limit: int = 5) -> str:
    """A few deals by name."""
    names = [w.vocab.deal(i) for i in ids[:limit]]
    more = len(ids) - limit
    return "; ".join(names) + (f"; and {more} more" if more > 0 else "")


def _metrics_row(w: Words, label: str, m: ScoreMetrics | None) -> tuple[str, ...] | None:
    if m is None:
        return None
    return (label, f"{m.n:,}", pct(m.auc), interval(m.auc_ci), pct(m.share_positives_high),
            pct(m.share_negatives_low))


def validation_section(w: Words) -> Section:
    """How sure: the design used and why, the comparison on the same held-out deals, the playbook check."""
    a, v, s = w.analysis, w.analysis.validation, w.analysis.settings
    explain = ("How well the proposal tells good deals from bad ones on deals it never learned from, "
               "compared with the version in force and with a plain statistical model on the same deals.")
    if v is None:
        return Section("validation", "How sure: validation", explain,
                       (Paragraph.of("Not validated: the run stopped before any analysis."),))
    blocks: list[Block] = [
        Paragraph.of(f"Design: {w.vocab.relabel(v.description)}."),
        Paragraph.of("Verdict: " + ("it ranks deals reliably better than chance" if v.lift else
                                    "no reliable lift: it does not rank deals reliably better than chance")
                     + f" ({w.vocab.relabel(v.verdict)})."),
    ]
    if v.train_period and v.test_period:
        blocks.append(Paragraph.of(f"Learned from deals closed {day(v.train_period[0])} to {day(v.train_period[1])}; "
                                   f"tested on deals closed {day(v.test_period[0])} to {day(v.test_period[1])}."))
    rows = [r for r in (
        _metrics_row(w, f"{w.context.label} (proposed)", v.proposed),
        _metrics_row(w, f"{w.context.in_force} (in force)", v.current),
        _metrics_row(w, "plain logistic regression (reference)", v.baseline),
        _metrics_row(w, "gradient boosting (ceiling)", v.boosting),
    ) if r is not None]
    high, low = s.high_score, s.low_score
    blocks.append(Table(("scores from", "test deals", "ranks a good deal above a bad one (AUC)", "95% range",
                         f"good deals scoring {high}+", f"bad deals under {low}"), tuple(rows),
                        frozenset({1, 2, 3, 4, 5})))
    if v.proposed_won is not None:
        m = v.proposed_won
        blocks.append(Paragraph.of(
            f"Against won and lost deals alone, {w.context.label} ranks a won deal above a lost one {pct(m.auc)} of "
            f"the time; {pct(m.share_positives_high)} of won deals score {high} or more and "
            f"{pct(m.share_negatives_low)} of lost deals score under {low} (the playbook asks for 70-80% of each)."))
    if len(v.repeat_aucs) > 1:
        blocks.append(Paragraph.of("Each repeat of the test: " + ", ".join(pct(x) for x in v.repeat_aucs) + ".",
                                   muted=True))
    blocks.append(Chart("bands"))
    blocks.append(Table(("tier", "from score", "test deals", f"{w.rate}", "95% range", "won", "win rate"),
                        tuple((b.tier, str(b.min_score), f"{b.n:,}", pct(b.rate, 1), interval(b.ci), f"{b.won:,}",
                               pct(b.won_rate, 1)) for b in v.proposed.bands),
                        frozenset({1, 2, 3, 4, 5, 6}), title="Held-out deals by tier"))
    blocks += [Chart("histogram"), Chart("histogram_won")]
    if a.in_sample_bands:
        blocks.append(Table(("tier", "deals", w.rate, "95% range", "win rate"),
                            tuple((b.tier, f"{b.n:,}", pct(b.rate, 1), interval(b.ci), pct(b.won_rate, 1))
                                  for b in a.in_sample_bands), frozenset({1, 2, 3, 4}),
                            title="All analysed deals by tier (the deals it was fitted on, for reference)",
                            collapsed=True))
    return Section("validation", "How sure: validation", explain, tuple(blocks))


def impact_section(w: Words) -> Section:
    """Who is affected: accounts and open pipeline changing tier, in the portal's currency."""
    impact, vocab = w.analysis.impact, w.vocab
    explain = "Every live account scored with both versions: how many change tier, and the open pipeline they carry."
    if impact is None:
        return Section("impact", "Impact if approved", explain, (Paragraph.of("Nothing is proposed, so nothing "
                                                                               "would change."),))
    compared = (f"compared with {w.context.in_force}" if impact.compared_with
                else "no version is in force yet, so every account gets its first tier")
    blocks: list[Block] = [Paragraph.of(
        f"{impact.accounts_changing:,} of {plural(impact.accounts, 'live account')} would change tier "
        f"({impact.upgrades:,} up, {impact.downgrades:,} down; {compared}), carrying "
        f"{vocab.money(impact.pipeline_changing)} of {vocab.money(impact.open_pipeline)} open pipeline.")]
    moves = [m for m in impact.moves if m.changed]
    if moves:
        blocks.append(Table(("from", "to", "accounts", "open deals", "open pipeline"),
                            tuple((m.from_tier, m.to_tier, f"{m.accounts:,}", f"{m.open_deals:,}",
                                   vocab.money(m.open_pipeline)) for m in moves),
                            frozenset({2, 3, 4}), collapsed=len(moves) > 8, title="Tier changes"))
    blocks.append(Paragraph.of("The review page lists the accounts that move, with their names and owners.",
                               muted=True))
    return Section("impact", "Impact if approved", explain, tuple(blocks))


def _best(criterion: CriterionResult) -> BinStats | None:
    estimable = [b for b in criterion.bins if b.estimable and b.target_rate is not None]
    return max(estimable, key=lambda b: b.woe) if estimable else None


def signals_section(w: Words) -> Section:
    """Best-fit signals: each proposed criterion, its strongest value and the evidence behind it."""
    a = w.analysis
    explain = (f"The account traits the proposal scores, strongest first, with how often deals having them became "
               f"good customers ({w.rate}), on how many deals, and against the rate overall.")
    if not a.selected:
        text = ("No criterion is backed by enough evidence; nothing is proposed. See what is under review."
                if a.criteria else "Not analysed.")
        return Section("signals", "Best-fit signals", explain, (Paragraph.of(text, Link("Under review",
                                                                                         "under-review")),))
    rows = []
    for c in sorted(a.selected, key=lambda x: -x.iv):
        best = _best(c)
        strongest = bin_words(w, c.attribute, best) if best else "n/a"
        rows.append((Link(w.vocab.field(c.attribute), anchor("criterion", c.attribute)), c.dimension,
                     str(c.max_points or 0), strongest,
                     f"{pct(best.target_rate)} ({best.target_positives:,} of {best.n:,})" if best else "n/a",
                     pct(c.base_rate), f"{c.iv:.2f}"))
    blocks: list[Block] = [
        Table(("criterion", "kind", "points up to", "strongest value", w.rate, "overall", "strength (IV)"),
              tuple(rows), frozenset({2, 4, 5, 6})),
        Chart("lift"),
    ]
    if a.proposed is not None and a.proposed.dimension_weights:
        weights = ", ".join(f"{k} {pct(v)}" for k, v in a.proposed.dimension_weights.items())
        blocks.append(Paragraph.of(f"Share of the points by kind of signal: {weights}.", muted=True))
    blocks.append(Chart("iv"))
    return Section("signals", "Best-fit signals", explain, tuple(blocks))


def exclusions_section(w: Words) -> Section:
    """Poor-fit exclusions: groups whose won accounts turn out problematic significantly more often."""
    a, s = w.analysis, w.analysis.settings
    explain = ("Groups of customers that were won but then churned, shrank or were hard to deliver for, far more "
               "often than the others. A person decides what to do with them; nothing is disqualified.")
    if not a.exclusions:
        thin = a.cohorts is not None and a.cohorts.health_coverage < s.min_health_coverage
        return Section("exclusions", "Poor-fit exclusions", explain, (Paragraph.of(
            "No group has significantly poor health outcomes" + (" (too little health data to tell)." if thin
                                                                 else "."),),))
    effect = " and ".join(e for e in (f"caps the tier at {s.exclusion_cap_tier}" if s.exclusion_cap_tier else "",
                                      f"subtracts {-s.exclusion_points} points" if s.exclusion_points else "") if e)
    rows = tuple((_exclusion_name(w, e.attribute, e.values, e.low, e.high),
                  f"{pct(e.problematic_rate)} ({e.problematic:,} of {e.n_health:,})", interval(e.problematic_ci),
                  pct(e.rest_rate), pct(e.churn_rate), f"{pct(e.won_rate)} of {e.n_deals:,}", q_text(e.q_value),
                  deal_names(w, e.deal_ids)) for e in a.exclusions)
    return Section("exclusions", "Poor-fit exclusions", explain, (
        Paragraph.of(f"In the proposal each exclusion {effect}." if effect else ""),
        Table(("customers whose", "problematic", "95% range", "other customers", "churned", "win rate",
               "fluke risk (q)", "recent deals"), rows, frozenset({1, 2, 3, 4, 5, 6}),
              row_anchors=tuple(anchor("exclusion", e.id) for e in a.exclusions)),
    ))


def _exclusion_name(w: Words, attribute: str, values: tuple[str, ...], low: float | None,
                    high: float | None) -> str:
    what = w.vocab.values(attribute, list(values), limit=6) if values else w.vocab.range_words(attribute, low, high)
    return f"{w.vocab.field(attribute)} is {what}"


def readiness_section(w: Words) -> Section:
    """Readiness and stop gates: enough evidence, of good enough quality, to analyse at all."""
    a, r, vocab = w.analysis, w.analysis.readiness, w.vocab
    explain = "Whether there is enough evidence to analyse: a failed stop gate stops the run, a warning does not."
    rows = tuple((c.name, f"{c.value:,.0f}" if c.unit == "count" else pct(c.value),
                  f"{c.threshold:,.0f}" if c.unit == "count" else pct(c.threshold),
                  "pass" if c.passed else ("STOP" if c.blocking else "warning"),
                  "stop gate" if c.blocking else "warning only", c.message) for c in r.checks)
    left_out = "; ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in r.excluded_deals.items() if v)
    blocks: list[Block] = [
        Table(("check", "value", "needed", "result", "kind", "detail"), rows, frozenset({1, 2})),
        Paragraph.of(f"Won accounts: {r.won_accounts:,}; with a retention status: {r.accounts_with_retention:,}; "
                     f"with a delivery-fit rating: {r.accounts_with_delivery_fit:,}. Deals left out: "
                     f"{left_out or 'none'}."),
    ]
    if a.cohorts is not None:
        counts = ", ".join(f"{k} {v:,}" for k, v in a.cohorts.counts.items())
        blocks.append(Paragraph.of(f"Won deals by customer cohort: {counts} (health data on "
                                   f"{pct(a.cohorts.health_coverage)} of them). Rule: {a.cohorts.rule}.", muted=True))
    if a.target is not None:
        fallback = f" Fallback: {a.target.fallback_reason}." if a.target.fallback_reason else ""
        blocks.append(Paragraph.of(f"What the scorecard predicts: {a.target.description} ({a.target.positives:,} "
                                   f"positives, {a.target.negatives:,} negatives).{fallback}"))
    if a.skipped:
        blocks.append(Table(("field", "from", "why it is not analysed"),
                            tuple((vocab.field(k.attribute), k.source, vocab.relabel(k.reason)) for k in a.skipped),
                            title=f"{plural(len(a.skipped), 'field')} not analysed", collapsed=True))
    return Section("readiness", "Readiness and stop gates", explain, tuple(blocks))


def wins_losses_section(w: Words) -> Section:
    """Wins vs losses side by side, with the CRM's labels for values."""
    vocab = w.vocab
    explain = ("Won and lost deals compared field by field: the middle value and range for numbers, "
               "the commonest values.")
    rows = tuple((_field_of(w, r.field), f"{_amounts(w, r.field, vocab.relabel(r.won_summary))} (n={r.won_n:,})",
                  f"{_amounts(w, r.field, vocab.relabel(r.lost_summary))} (n={r.lost_n:,})")
                 for r in w.analysis.side_by_side)
    return Section("wins-vs-losses", "Wins vs losses side by side", explain,
                   (Table(("field", "won deals", "lost deals"), rows),))


def _field_of(w: Words, name: str) -> str:
    """A side-by-side row's field as the CRM labels it (rows are named by attribute in words)."""
    attribute = name.replace(" ", "_")
    return w.vocab.field(attribute) if attribute in w.vocab.labels.fields else name


_NUMBER = re.compile(r"(?<![\w.])(-?\d[\d,]*(?:\.\d+)?)([KMB]?)(?![\w%])")
_SCALE = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9}


def _amounts(w: Words, field: str, text: str) -> str:
    """A summary's numbers as amounts in the portal's currency, for deal size and money fields."""
    money_fields = {"deal size", *(a.replace("_", " ") for a in w.vocab.labels.money)}
    if not w.vocab.currency or field.lower() not in money_fields:
        return text
    return _NUMBER.sub(lambda m: w.vocab.money(float(m.group(1).replace(",", "")) * _SCALE[m.group(2)]), text)


def bullets(lines: tuple[str, ...]) -> Bullets:
    """A list block."""
    return Bullets(lines)
