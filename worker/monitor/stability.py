"""Stability of the account distribution: PSI of scores (or the tier mix) and of every criterion's bins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from worker.monitor.baseline import Distribution
from worker.monitor.psi import Reading, psi, psi_reading
from worker.monitor.settings import DriftSettings


@dataclass(frozen=True)
class Stability:
    """PSI of one distribution against its baseline, bin by bin."""

    psi: float
    reading: Reading
    basis: str
    baseline_source: str
    baseline_at: str | None
    n_baseline: int
    n_current: int
    bins: tuple[tuple[str, float, float], ...]


@dataclass(frozen=True)
class CriterionStability:
    """PSI of one criterion's bin mix against the baseline."""

    id: str
    label: str
    stability: Stability


def _stability(baseline: Sequence[int], current: Sequence[int], labels: Sequence[str], basis: str,
               source: Distribution, n_current: int, settings: DriftSettings) -> Stability:
    value = psi(baseline, current)
    total_b, total_c = max(sum(baseline), 1), max(sum(current), 1)
    bins = tuple((label, b / total_b, c / total_c) for label, b, c in zip(labels, baseline, current, strict=True))
    return Stability(round(value, 6), psi_reading(value, settings.psi_investigate, settings.psi_alarm), basis,
                     source.source, source.at, source.n, n_current, bins)


def score_stability(baseline: Distribution | None, current: Distribution,
                    settings: DriftSettings) -> tuple[Stability | None, list[str]]:
    """PSI of the score distribution (or, lacking that, the tier mix) against the baseline."""
    if baseline is None:
        return None, ["No baseline: the version stores no account distribution from its approval or "
                      "refinement, so score stability cannot be measured until one is recorded."]
    if min(baseline.n, current.n) < settings.min_psi_accounts:
        return None, [f"Score stability not measured: {min(baseline.n, current.n)} accounts on one side "
                      f"(needs {settings.min_psi_accounts})."]
    if baseline.score_counts and current.score_counts and baseline.score_edges == current.score_edges:
        edges = baseline.score_edges or ()
        labels = [f"{edges[i]:g}-{min(edges[i + 1], 101) - 1:g}" for i in range(len(edges) - 1)]
        return _stability(baseline.score_counts, current.score_counts, labels, "score bins", baseline,
                          current.n, settings), []
    if baseline.tier_counts and current.tier_counts:
        tiers = list(current.tier_counts)
        found = _stability([baseline.tier_counts.get(t, 0) for t in tiers], [current.tier_counts[t] for t in tiers],
                           tiers, "tiers", baseline, current.n, settings)
        return found, ["Score stability is read on the tier mix only (the baseline has no score histogram)."]
    return None, ["No comparable baseline: its bins do not match the current score bins."]


def criterion_stability(baseline: Distribution | None, current: Distribution,
                        settings: DriftSettings) -> tuple[tuple[CriterionStability, ...], list[str]]:
    """PSI of every criterion's bin mix against the baseline, where the baseline has it."""
    if baseline is None or not baseline.criteria or not current.criteria:
        return (), ([] if baseline is None else
                    ["Per-criterion stability needs the approval snapshot; this version's baseline has none."])
    if min(baseline.n, current.n) < settings.min_psi_accounts:
        return (), []
    found, notes = [], []
    for key, now in current.criteria.items():
        then = baseline.criteria.get(key)
        if then is None or len(then.counts) != len(now.counts) or not sum(then.counts) or not sum(now.counts):
            notes.append(f"Criterion '{now.label}' has no comparable baseline.")
            continue
        stability = _stability(then.counts, now.counts, now.bin_labels, "criterion bins", baseline, current.n,
                               settings)
        found.append(CriterionStability(key, now.label, stability))
    return tuple(found), notes
