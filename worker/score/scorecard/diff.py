"""What changed between two scorecard versions, criterion by criterion. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from worker.score.scorecard.model import Bin, Criterion, Exclusion, Scorecard


@dataclass(frozen=True)
class Change:
    """One difference: what it concerns and a readable sentence."""

    subject: str
    kind: str
    detail: str


def _bin_key(b: Bin) -> str:
    if b.range is not None:
        return f"range {b.range[0]}..{b.range[1]}"
    if b.values is not None:
        return "values " + ", ".join(sorted(str(v) for v in b.values))
    return "other"


def _criterion_changes(old: Criterion, new: Criterion) -> list[Change]:
    subject = f"criterion {new.id}"
    changes: list[Change] = []
    if old.attribute != new.attribute:
        changes.append(Change(subject, "changed", f"attribute {old.attribute} -> {new.attribute}"))
    if old.dimension != new.dimension:
        changes.append(Change(subject, "changed", f"dimension {old.dimension} -> {new.dimension}"))
    before = {_bin_key(b): b for b in old.bins}
    after = {_bin_key(b): b for b in new.bins}
    for key in after.keys() - before.keys():
        changes.append(Change(subject, "bin added", f"{key}: {after[key].points:+d} ({after[key].label})"))
    for key in before.keys() - after.keys():
        changes.append(Change(subject, "bin removed", f"{key}: {before[key].points:+d} ({before[key].label})"))
    for key in sorted(before.keys() & after.keys()):
        if before[key].points != after[key].points:
            changes.append(Change(subject, "points", f"{key}: {before[key].points:+d} -> {after[key].points:+d}"))
    if old.missing.points != new.missing.points:
        changes.append(Change(subject, "points", f"missing: {old.missing.points:+d} -> {new.missing.points:+d}"))
    return changes


def _exclusion_text(e: Exclusion) -> str:
    effect = ", ".join(x for x in (f"{e.effect.points:+d} points" if e.effect.points is not None else "",
                                   f"tier at most {e.effect.cap_tier}" if e.effect.cap_tier else "") if x)
    return f"{e.label} when {e.when.attribute} in {e.when.values or e.when.range}: {effect}"


def diff_scorecards(old: Scorecard, new: Scorecard) -> list[Change]:
    """Every difference between ``old`` and ``new``: criteria, bins, points, exclusions, bands."""
    changes: list[Change] = []
    before = {c.id: c for c in old.criteria}
    after = {c.id: c for c in new.criteria}
    for cid in [c.id for c in new.criteria if c.id not in before]:
        changes.append(Change(f"criterion {cid}", "added", f"{after[cid].attribute}, up to {after[cid].max_points:+d}"))
    for cid in [c.id for c in old.criteria if c.id not in after]:
        changes.append(Change(f"criterion {cid}", "removed", f"{before[cid].attribute}, was up to "
                                                             f"{before[cid].max_points:+d}"))
    for cid in [c.id for c in new.criteria if c.id in before]:
        changes.extend(_criterion_changes(before[cid], after[cid]))
    old_ex = {e.id: e for e in old.exclusions}
    new_ex = {e.id: e for e in new.exclusions}
    for eid in new_ex.keys() - old_ex.keys():
        changes.append(Change(f"exclusion {eid}", "added", _exclusion_text(new_ex[eid])))
    for eid in old_ex.keys() - new_ex.keys():
        changes.append(Change(f"exclusion {eid}", "removed", _exclusion_text(old_ex[eid])))
    for eid in sorted(old_ex.keys() & new_ex.keys()):
        if old_ex[eid] != new_ex[eid]:
            changes.append(Change(f"exclusion {eid}", "changed",
                                  f"{_exclusion_text(old_ex[eid])} -> {_exclusion_text(new_ex[eid])}"))
    old_bands = {b.tier: b.min for b in old.bands}
    new_bands = {b.tier: b.min for b in new.bands}
    if old_bands != new_bands:
        changes.append(Change("bands", "changed", f"{old_bands} -> {new_bands}"))
    if old.base_points != new.base_points:
        changes.append(Change("base points", "changed", f"{old.base_points} -> {new.base_points}"))
    return changes
