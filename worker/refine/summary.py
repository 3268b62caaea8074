"""The brief's first screen, for a VP: what changes, why, how sure, who is affected, and the risks.

:func:`first_screen` turns an analysis into plain sentences (no statistics jargon, counts with
every claim, the CRM's own labels, amounts in the portal's currency). The HTML brief, the
Markdown brief, the review page and the leadership task all show these same sentences:
:func:`executive_summary` renders them as plain text and Markdown short enough for a CRM task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from worker.refine.engine import Analysis, comparison_words
from worker.refine.metrics import ScoreMetrics
from worker.refine.text import md_escape, plain
from worker.refine.vocabulary import Vocabulary, plural
from worker.score.scorecard import Criterion, Exclusion, Scorecard
from worker.score.scorecard.model import Condition

Verdict = Literal["approve", "not_better", "nothing", "stopped", "hypothesis"]
MAX_SUMMARY_CHARS = 3_000
SMALL_TEST = 100
LR_GAP = 0.01


@dataclass(frozen=True)
class BriefContext:
    """How to present an analysis: the version's label, the version in force, and the CRM's words.

    Attributes:
        label: The proposal's label, e.g. ``v3``.
        vocabulary: Labels, names and currency from the CRM (see :class:`Vocabulary`).
        current: The scorecard in force when the analysis ran, if any.
        current_label: Its label, e.g. ``v1``.
    """

    label: str
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    current: Scorecard | None = None
    current_label: str | None = None

    @property
    def in_force(self) -> str:
        """How to name the version in force in a sentence."""
        return self.current_label or (self.current.name if self.current else "the version in force")


@dataclass(frozen=True)
class FirstScreen:
    """The first screen of the brief, as plain sentences (no markup)."""

    verdict: Verdict
    headline: str
    changes: tuple[str, ...]
    evidence: tuple[str, ...]
    confidence: tuple[str, ...]
    affected: tuple[str, ...]
    risks: tuple[str, ...]

    def sections(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The five blocks under the headline, titled."""
        return (("What changes", self.changes), ("Why", self.evidence), ("How sure", self.confidence),
                ("Who is affected", self.affected), ("Risks", self.risks))

    def facts(self) -> tuple[str, ...]:
        """Every sentence, headline first (what each rendering must carry)."""
        return (self.headline, *(s for _, block in self.sections() for s in block))


@dataclass(frozen=True)
class ExecutiveSummary:
    """The first screen as text for a CRM task or a page: ``text`` (plain) and ``markdown``."""

    headline: str
    text: str
    markdown: str
    screen: FirstScreen


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def _ranking(target: str) -> tuple[str, str]:
    if target == "won":
        return "a won deal", "a lost one"
    return "a deal that became a good customer", "one that did not"


def _target_of(analysis: Analysis) -> str:
    return analysis.target.name if analysis.target else analysis.settings.target


def _not_better(analysis: Analysis) -> bool:
    if analysis.status == "no_improvement":
        return True
    validation = analysis.validation
    if validation is None or validation.current is None or analysis.proposed is None:
        return False
    proposed, current = validation.proposed.auc, validation.current.auc
    return proposed is not None and current is not None and proposed <= current


def verdict_of(analysis: Analysis) -> Verdict:
    """What the brief recommends, in one word."""
    if analysis.status == "stopped":
        return "stopped"
    if analysis.status == "hypothesis":
        return "hypothesis"
    if analysis.proposed is None:
        return "nothing"
    return "not_better" if _not_better(analysis) else "approve"


def _headline(analysis: Analysis, ctx: BriefContext, verdict: Verdict) -> str:
    validation = analysis.validation
    pos, neg = _ranking(_target_of(analysis))
    if verdict == "stopped":
        reasons = "; ".join(analysis.readiness.stop_reasons)
        return f"Stopped: not enough evidence to propose a scorecard yet ({reasons})."
    if verdict == "hypothesis":
        return ("Hypothesis only, not evidence: the readiness checks failed "
                f"({'; '.join(analysis.readiness.stop_reasons)}) and the run was forced.")
    if validation is None:
        return "Nothing to approve: the analysis could not be validated."
    p = _pct(validation.proposed.auc)
    if verdict == "nothing":
        why = validation.verdict.split(": ", 1)[-1]
        return f"Nothing to approve: the evidence does not rank {pos} above {neg} reliably ({why})."
    current = validation.current
    if verdict == "not_better" and current is not None:
        return (f"No improvement over {ctx.in_force}, the version in force: {ctx.label} "
                f"{comparison_words(validation, ctx.in_force)}. Approving it means accepting that it is no "
                "improvement (--accept-risks).")
    if current is not None and current.auc is not None:
        return (f"Recommended: approve {ctx.label}. It {comparison_words(validation, ctx.in_force)}, "
                "the version in force.")
    return (f"Recommended: approve {ctx.label}, the first evidence-based scorecard. It ranks {pos} above {neg} "
            f"{p} of the time on {plural(validation.proposed.n, 'deal')} it never learned from (50% is chance).")


def _criterion_words(criterion: Criterion, vocab: Vocabulary) -> str:
    best = max(criterion.bins, key=lambda b: b.points)
    return (f"{vocab.criterion_name(criterion)}: {vocab.bin_words(criterion, best)} earns up to "
            f"{criterion.max_points} points")


def _changes(analysis: Analysis, ctx: BriefContext) -> tuple[str, ...]:
    proposed, current, vocab = analysis.proposed, ctx.current, ctx.vocabulary
    if proposed is None:
        kept = f"{ctx.in_force} stays in force" if current is not None else "no scorecard is in force yet"
        return (f"Nothing changes: {kept}.",)
    if current is None:
        lines = [f"Scores accounts on {plural(len(proposed.criteria), 'criterion', 'criteria')} for the first time."]
        lines += [_criterion_words(c, vocab) + "." for c in proposed.criteria]
    else:
        before = {c.attribute: c for c in current.criteria}
        after = {c.attribute: c for c in proposed.criteria}
        lines = [f"Adds {_criterion_words(c, vocab)}." for a, c in after.items() if a not in before]
        lines += [f"Drops {vocab.criterion_name(c)} (up to {c.max_points} points in {ctx.in_force})."
                  for a, c in before.items() if a not in after]
        lines += [f"{vocab.criterion_name(c)}: up to {c.max_points} points, was {before[a].max_points}."
                  for a, c in after.items() if a in before and c.max_points != before[a].max_points]
    old_exclusions = {e.when for e in current.exclusions} if current else set()
    for exclusion in proposed.exclusions:
        if exclusion.when not in old_exclusions:
            lines.append(f"New exclusion: {exclusion_words(exclusion, vocab)}.")
    if current is not None:
        new_conditions = {e.when for e in proposed.exclusions}
        lines += [f"Drops the exclusion of {condition_words(e.when, vocab)}." for e in current.exclusions
                  if e.when not in new_conditions]
    return tuple(lines) or ("The same criteria as the version in force, with new points.",)


def condition_words(condition: Condition, vocab: Vocabulary) -> str:
    """``companies whose Annual Revenue is 133M or more``."""
    field = vocab.field(condition.attribute)
    if condition.values is not None:
        return f"companies whose {field} is {vocab.values(condition.attribute, list(condition.values))}"
    low, high = condition.range or (None, None)
    return f"companies whose {field} is {vocab.range_words(condition.attribute, low, high)}"


def exclusion_words(exclusion: Exclusion, vocab: Vocabulary) -> str:
    """An exclusion in words, with its effect: ``companies whose Funding stage is Seed, at most tier C``."""
    effects = [f"at most tier {exclusion.effect.cap_tier}" if exclusion.effect.cap_tier else "",
               f"{exclusion.effect.points} points" if exclusion.effect.points else ""]
    return f"{condition_words(exclusion.when, vocab)}, " + " and ".join(e for e in effects if e)


def _evidence(analysis: Analysis, ctx: BriefContext) -> tuple[str, ...]:
    vocab = ctx.vocabulary
    rate_of = "became good customers" if _target_of(analysis) == "good_customer" else "were won"
    lines: list[str] = []
    for criterion in sorted(analysis.selected, key=lambda c: -c.iv)[:2]:
        estimable = [b for b in criterion.bins if b.estimable and b.target_rate is not None]
        if not estimable:
            continue
        best = max(estimable, key=lambda b: b.woe)
        if best.matcher == "other":
            words = best.label.split(": ", 1)[-1]
        elif best.values and set(best.values) <= {"true", "false"}:
            words = f"({vocab.values(criterion.attribute, list(best.values))})"
        elif best.values:
            words = f"is {vocab.values(criterion.attribute, list(best.values), limit=6)}"
        else:
            words = vocab.range_words(criterion.attribute, best.low, best.high)
        lines.append(f"{vocab.field(criterion.attribute)} {words}: {best.target_positives:,} of {best.n:,} deals "
                     f"{rate_of} ({_pct(best.target_rate)}), against {_pct(criterion.base_rate)} overall.")
    if analysis.exclusions and analysis.proposed is not None:
        e = max(analysis.exclusions, key=lambda x: x.problematic_rate - x.rest_rate)
        words = (vocab.values(e.attribute, list(e.values)) if e.values
                 else vocab.range_words(e.attribute, e.low, e.high))
        lines.append(f"Customers whose {vocab.field(e.attribute)} is {words}: {e.problematic:,} of {e.n_health:,} "
                     f"turned out problematic ({_pct(e.problematic_rate)}), against {_pct(e.rest_rate)} of the others.")
    if not lines:
        lines.append("No criterion has enough evidence behind it; see the criteria under review.")
    return tuple(lines[:3])


def _won_metrics(analysis: Analysis) -> ScoreMetrics | None:
    validation = analysis.validation
    if validation is None:
        return None
    return validation.proposed_won or validation.proposed


def _confidence(analysis: Analysis, ctx: BriefContext) -> tuple[str, ...]:
    validation = analysis.validation
    if validation is None or analysis.status == "stopped":
        return ("Not measured: the run stopped before any analysis.",)
    proposed = validation.proposed
    pos, neg = _ranking(_target_of(analysis))
    interval = (f" (95% range {_pct(proposed.auc_ci[0])} to {_pct(proposed.auc_ci[1])})"
                if proposed.auc_ci else "")
    lines = [f"Tested on {plural(validation.n_test, 'closed deal')} the scorecard never learned from: it ranks "
             f"{pos} above {neg} {_pct(proposed.auc)} of the time{interval}; 50% would be chance."]
    references = []
    if validation.current is not None:
        references.append(f"{ctx.in_force} (in force) {_pct(validation.current.auc)}")
    if validation.baseline is not None:
        references.append(f"a plain statistical model on the same data {_pct(validation.baseline.auc)}")
    if validation.boosting is not None:
        references.append(f"gradient boosting, the ceiling of what the data hold, {_pct(validation.boosting.auc)}")
    if references:
        lines.append("On the same deals: " + "; ".join(references) + ".")
    won = _won_metrics(analysis)
    s = analysis.settings
    if won is not None and won.share_positives_high is not None and won.share_negatives_low is not None:
        lines.append(f"{_pct(won.share_positives_high)} of won deals score {s.high_score} or more and "
                     f"{_pct(won.share_negatives_low)} of lost deals score under {s.low_score} "
                     "(the playbook asks for 70-80% of each).")
    return tuple(lines)


def _affected(analysis: Analysis, ctx: BriefContext) -> tuple[str, ...]:
    impact, vocab = analysis.impact, ctx.vocabulary
    if impact is None:
        return ("No account changes tier: nothing is proposed.",)
    if not impact.compared_with:
        tiers = ", ".join(f"{t} {n:,}" for t, n in impact.proposed_tiers.items())
        return (f"Every one of {plural(impact.accounts, 'account')} gets its first tier: {tiers}; "
                f"{vocab.money(impact.open_pipeline)} of open pipeline.",)
    lines = [f"{impact.accounts_changing:,} of {plural(impact.accounts, 'account')} change tier "
             f"({impact.upgrades:,} up, {impact.downgrades:,} down), carrying {vocab.money(impact.pipeline_changing)} "
             f"of {vocab.money(impact.open_pipeline)} open pipeline."]
    moves = sorted((m for m in impact.moves if m.changed), key=lambda m: -m.open_pipeline)[:2]
    lines += [f"{m.from_tier} to {m.to_tier}: {plural(m.accounts, 'account')}, {vocab.money(m.open_pipeline)} "
              f"open pipeline." for m in moves]
    return tuple(lines)


def _risks(analysis: Analysis, ctx: BriefContext, verdict: Verdict) -> tuple[str, ...]:
    validation = analysis.validation
    lines = [f"Stop gate: {r}." for r in analysis.readiness.stop_reasons]
    if verdict == "not_better":
        lines.append(f"No improvement over {ctx.in_force}: approving needs an explicit acceptance of that risk.")
    lines += [s for s in (_short_risk(r, ctx) for r in (*analysis.risks, *analysis.flags)) if s]
    if validation is not None and analysis.proposed is not None:
        if validation.n_test < SMALL_TEST:
            lines.append(f"Only {plural(validation.n_test, 'deal')} to test on: the figures above are rough.")
        card, lr = validation.proposed.auc, validation.baseline.auc if validation.baseline else None
        if card is not None and lr is not None and lr - card > LR_GAP:
            lines.append(f"The points card ranks worse than a plain statistical model ({_pct(card)} against "
                         f"{_pct(lr)}): rounding to points loses accuracy.")
    if analysis.proposed is not None and analysis.proposed.exclusions:
        count = len(analysis.proposed.exclusions)
        lines.append(f"{plural(count, 'exclusion')} {'holds' if count == 1 else 'hold'} accounts down; a person "
                     "decides what to do with them, and nothing is disqualified automatically.")
    lines += [f"Warning: {w}." for w in analysis.readiness.warnings]
    held = sum(1 for r in analysis.under_review if r.kind == "criterion")
    if held:
        lines.append(f"{plural(held, 'candidate criterion', 'candidate criteria')} held back for too little "
                     "evidence (listed under review).")
    return tuple(lines) or ("None found: the readiness checks passed and nothing is flagged.",)


def _short_risk(risk: str, ctx: BriefContext) -> str | None:
    """One short line of an engine risk for the first screen (the review page lists them in full)."""
    head = risk.split(":", 1)[0]
    if head == "no_improvement":
        return None
    if head == "validation check failed":
        return "Validation check failed: " + risk.split("held-out deals ", 1)[-1].split(";", 1)[0] + "."
    if head == "single dimension":
        return "Rests on one kind of signal only: " + risk.split("every criterion is ", 1)[-1].split(";", 1)[0] + "."
    if " is a very strong signal" in risk:
        name = risk.split(" is a very strong signal", 1)[0]
        return f"Confirm {ctx.vocabulary.field(name)} is known before a deal closes (a very strong signal)."
    return risk[:1].upper() + risk[1:] + "."


def first_screen(analysis: Analysis, context: BriefContext) -> FirstScreen:
    """The first screen of the brief as plain sentences."""
    verdict = verdict_of(analysis)
    return FirstScreen(verdict, _headline(analysis, context, verdict), _changes(analysis, context),
                       _evidence(analysis, context), _confidence(analysis, context), _affected(analysis, context),
                       _risks(analysis, context, verdict))


def executive_summary(analysis: Analysis, context: BriefContext, link: str | None = None,
                      limit: int = MAX_SUMMARY_CHARS) -> ExecutiveSummary:
    """The first screen as plain text and Markdown, within ``limit`` characters (whole lines only).

    Args:
        analysis: The refinement's result.
        context: The proposal's label, the version in force and the CRM's words.
        link: Where to read the whole brief (a review page URL or a command), appended last.
        limit: Most characters of each rendering; lines that do not fit are left out, the headline never.
    """
    screen = first_screen(analysis, context)
    text_lines, md_lines = [plain(screen.headline)], [f"**{md_escape(screen.headline)}**"]
    for title, block in screen.sections():
        text_lines += ["", f"{title}:"] + [f"- {plain(s)}" for s in block]
        md_lines += ["", f"**{title}**", ""] + [f"- {md_escape(s)}" for s in block]
    tail_text = ["", f"Read the full brief: {plain(link)}"] if link else []
    tail_md = ["", f"[Read the full brief]({link})"] if link and "(" not in link and ")" not in link else (
        ["", f"Read the full brief: {md_escape(link)}"] if link else [])
    return ExecutiveSummary(screen.headline, _within(text_lines, tail_text, limit),
                            _within(md_lines, tail_md, limit), screen)


def _within(lines: list[str], tail: list[str], limit: int) -> str:
    budget = limit - sum(len(t) + 1 for t in tail)
    kept: list[str] = []
    used = 0
    for line in lines:
        if kept and used + len(line) + 1 > budget:
            kept.append("…")
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept + tail)
